package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/auth"
)

// Clock-skew windows AWS allows, by service.
const (
	SkewKinesis  = 5 * time.Minute
	SkewDynamoDB = 15 * time.Minute
)

// Messages of the errors a client can cause with a well-formed request.
const (
	msgUnknownKey   = "The security token included in the request is invalid."
	msgBadToken     = "The security token included in the request is invalid"
	msgExpiredToken = "The security token included in the request is expired"
	msgMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostUnsigned = "'Host' must be a 'SignedHeader' in the AWS Authorization."
)

const timeFormat = "20060102T150405Z"

// Keys finds the principal of an access key id; *auth.Keyring is one.
type Keys interface {
	Lookup(accessKeyID string) (*auth.Principal, bool)
}

// Config says what a Verifier accepts.
type Config struct {
	// Service is the credential scope's service, such as "kinesis".
	Service string
	// MaxSkew is how far the request's time may be from the server's
	// clock either way: SkewKinesis, SkewDynamoDB.
	MaxSkew time.Duration
	// Keys holds the known access keys.
	Keys Keys
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the signing keys kept; 0 means 4096.
	CacheSize int
}

// Verifier checks signed requests. It is safe for concurrent use.
type Verifier struct {
	service string
	skew    time.Duration
	keys    Keys
	now     func() time.Time
	cache   keyCache
}

// New returns a Verifier for cfg.
func New(cfg Config) *Verifier {
	v := &Verifier{service: cfg.Service, skew: cfg.MaxSkew, keys: cfg.Keys, now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	size := cfg.CacheSize
	if size <= 0 {
		size = 4096
	}
	v.cache = keyCache{max: size, m: make(map[cacheKey]cacheEntry)}
	return v
}

// Identity is who a verified request comes from.
type Identity struct {
	Principal *auth.Principal
	// Region is the credential scope's region.
	Region string
}

// Verify parses and checks the signature of r, whose body is body (read
// already, since it is signed).
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	sig, err := Parse(r)
	if err != nil {
		return Identity{}, err
	}
	return v.Check(r, body, &sig)
}

// Check verifies a signature Parse found in r. The checks run in AWS's
// order, so a request with several faults gets the error AWS would give.
func (v *Verifier) Check(r *http.Request, body []byte, sig *Signature) (Identity, error) {
	t, err := time.Parse(timeFormat, sig.Date)
	if err != nil || len(sig.Date) != len(timeFormat) {
		return Identity{}, newError(TypeIncompleteSignature,
			"Date must be in ISO-8601 'basic format'. Got '"+sig.Date+"'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	if err := v.checkSkew(t); err != nil {
		return Identity{}, err
	}
	if !signsHost(sig.SignedHeaders) {
		return Identity{}, newError(TypeInvalidSignature, msgHostUnsigned)
	}
	if sig.Algorithm != Algorithm {
		return Identity{}, newError(TypeIncompleteSignature,
			"Unsupported AWS 'algorithm': '"+sig.Algorithm+"' (only "+Algorithm+" for now). ")
	}
	scope, ok := ParseCredential(sig.Credential)
	if !ok {
		return Identity{}, newError(TypeIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+sig.Credential+"'")
	}
	if msg := v.checkScope(scope, sig.Date); msg != "" {
		return Identity{}, newError(TypeInvalidSignature, msg)
	}
	p, ok := v.keys.Lookup(scope.AccessKeyID)
	if !ok {
		return Identity{}, newError(TypeUnrecognizedClient, msgUnknownKey)
	}

	b := getBuilder()
	defer putBuilder(b)
	b.canonicalRequest(r, body, sig)
	canonicalLen := len(b.buf)
	canonicalHash := sha256.Sum256(b.buf)
	key := v.cache.signingKey(p, scope)
	// HMAC-SHA256 by its definition, without hmac.New's allocations: the
	// inner hash runs over the key's inner pad and the string to sign,
	// laid out one after the other in the buffer.
	for i := 0; i < sha256.BlockSize; i++ {
		b.buf = append(b.buf, padKey(&key, i)^0x36)
	}
	stsStart := len(b.buf)
	b.stringToSign(sig.Date, scope, &canonicalHash)
	inner := sha256.Sum256(b.buf[canonicalLen:])
	var outer [sha256.BlockSize + sha256.Size]byte
	for i := 0; i < sha256.BlockSize; i++ {
		outer[i] = padKey(&key, i) ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	mac := sha256.Sum256(outer[:])
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	if !equal(want[:], sig.Signature) {
		return Identity{}, newError(TypeInvalidSignature, msgMismatch+
			"\n\nThe Canonical String for this request should have been\n'"+string(b.buf[:canonicalLen])+
			"'\n\nThe String-to-Sign should have been\n'"+string(b.buf[stsStart:])+"'\n")
	}

	// Only a request signed with the secret learns about its token.
	if !equal(sig.SecurityToken, p.SessionToken) {
		return Identity{}, newError(TypeUnrecognizedClient, msgBadToken)
	}
	if p.Expired(v.now()) {
		return Identity{}, newError(TypeExpiredToken, msgExpiredToken)
	}
	return Identity{Principal: p, Region: scope.Region}, nil
}

func (v *Verifier) checkSkew(t time.Time) error {
	now := v.now().UTC().Truncate(time.Second)
	mins := strconv.Itoa(int(v.skew / time.Minute))
	if earliest := now.Add(-v.skew); t.Before(earliest) {
		return newError(TypeInvalidSignature, "Signature expired: "+t.Format(timeFormat)+" is now earlier than "+
			earliest.Format(timeFormat)+" ("+now.Format(timeFormat)+" - "+mins+" min.)")
	}
	if latest := now.Add(v.skew); t.After(latest) {
		return newError(TypeInvalidSignature, "Signature not yet current: "+t.Format(timeFormat)+" is still later than "+
			latest.Format(timeFormat)+" ("+now.Format(timeFormat)+" + "+mins+" min.)")
	}
	return nil
}

// checkScope returns AWS's message for every wrong element of the scope,
// or "".
func (v *Verifier) checkScope(s Scope, date string) string {
	var msg strings.Builder
	if !IsRegion(s.Region) {
		msg.WriteString("Credential should be scoped to a valid region, not '" + s.Region + "'. ")
	}
	if s.Service != v.service {
		msg.WriteString("Credential should be scoped to correct service: '" + v.service + "'. ")
	}
	if s.Terminator != "aws4_request" {
		msg.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + s.Terminator + "'. ")
	}
	if day := date[:8]; s.Date != day {
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			s.Date + "' != '" + day + "', from '" + date + "'.")
	}
	return msg.String()
}

// signsHost reports whether the signed headers include the host, as
// "host" or, over HTTP/2, ":authority"; case does not matter.
func signsHost(signed string) bool {
	for rest := signed; ; {
		name, more, found := strings.Cut(rest, ";")
		if strings.EqualFold(name, "host") || name == ":authority" {
			return true
		}
		if !found {
			return false
		}
		rest = more
	}
}

// padKey is byte i of the signing key zero-padded to a SHA-256 block.
func padKey(key *[sha256.Size]byte, i int) byte {
	if i < len(key) {
		return key[i]
	}
	return 0
}

// equal compares in time that depends on the lengths only.
func equal[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(d, 0) == 1
}

// keyCache keeps derived signing keys: deriving one is four HMACs, more
// than the rest of a small request's verification.
type keyCache struct {
	mu  sync.RWMutex
	m   map[cacheKey]cacheEntry
	max int
}

type cacheKey struct{ akid, date, region, service string }

type cacheEntry struct {
	secret string // the key is only good for the secret it came from
	key    [sha256.Size]byte
}

func (c *keyCache) signingKey(p *auth.Principal, s Scope) [sha256.Size]byte {
	k := cacheKey{s.AccessKeyID, s.Date, s.Region, s.Service}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.secret == p.SecretAccessKey {
		return e.key
	}
	e = cacheEntry{secret: p.SecretAccessKey, key: SigningKey(p.SecretAccessKey, s.Date, s.Region, s.Service)}
	// The strings may point into a request's headers; copies keep those
	// from living on in the cache.
	k = cacheKey{strings.Clone(k.akid), strings.Clone(k.date), strings.Clone(k.region), strings.Clone(k.service)}
	c.mu.Lock()
	if len(c.m) >= c.max {
		// Any entry will do: a full cache means keys come and go faster
		// than a day's worth of them, and each is cheap to derive again.
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e.key
}

// SigningKey derives the key for one day, region and service from a
// secret access key.
func SigningKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k[:], region)
	k = hmacSHA256(k[:], service)
	return hmacSHA256(k[:], "aws4_request")
}

func hmacSHA256(key []byte, data string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}
