package rawclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// signer signs requests with AWS Signature Version 4. Every request this
// client sends has one shape (POST, no query, the headers below), so the
// canonical request is written straight out, and the day's signing key is
// derived once: the SDK's general signer was 60% of a PutRecord's client
// CPU. A signature then makes two allocations (one string for its header
// values, one slice for them): the texts are built in stack buffers, and
// the HMAC is two sha256.Sum256 over pads kept with the cached key.
type signer struct {
	key  atomic.Pointer[signingKey] // read by every call, lock-free
	date atomic.Pointer[stamp]      // the last second's X-Amz-Date
}

const amzDateLayout = "20060102T150405Z"

// stamp is a second's X-Amz-Date, formatted once.
type stamp struct {
	unix int64
	text [len(amzDateLayout)]byte
}

// amzDate appends now's X-Amz-Date to b.
func (s *signer) amzDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	d := s.date.Load()
	if d == nil || d.unix != sec {
		t := now.UTC().AppendFormat(b, amzDateLayout)
		if len(t)-len(b) != len(amzDateLayout) {
			return t // a year past 9999
		}
		d = &stamp{unix: sec}
		copy(d.text[:], t[len(b):])
		s.date.Store(d)
	}
	return append(b, d.text[:]...)
}

// signingKey is one day's key for a region and secret as HMAC-SHA256's
// inner and outer pads: the key zero-padded to the hash's block, XORed
// with 0x36 and 0x5c. It is never modified once stored.
type signingKey struct {
	day, reg, sec string
	ipad, opad    [sha256.BlockSize]byte
}

const signedBase = "content-length;content-type;host;x-amz-date"

// sign sets X-Amz-Date, X-Amz-Security-Token (for session credentials) and
// Authorization on req, whose Content-Type and X-Amz-Target are set;
// payloadHash is the body's SHA-256 in hex.
func (s *signer) sign(req *http.Request, creds aws.Credentials, region, payloadHash string, now time.Time) {
	s.signHex(req, creds, region, []byte(payloadHash), now)
}

// signHex is sign with the hash as bytes, which send keeps on its stack.
func (s *signer) signHex(req *http.Request, creds aws.Credentials, region string, payloadHash []byte, now time.Time) {
	// The date and the Authorization value share one string: one
	// allocation for both.
	var outBuf [512]byte
	out := s.amzDate(outBuf[:0], now)
	amzDate := out
	day := amzDate[:8]
	signed := signedBase + ";x-amz-target"
	if creds.SessionToken != "" {
		signed = signedBase + ";x-amz-security-token;x-amz-target"
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}

	var canonBuf [1024]byte // longer (a session token) moves to the heap
	b := append(canonBuf[:0], "POST\n"...)
	b = append(b, path...)
	b = append(b, "\n\ncontent-length:"...)
	b = strconv.AppendInt(b, req.ContentLength, 10)
	b = append(b, "\ncontent-type:"...)
	b = append(b, strings.TrimSpace(first(req.Header, "Content-Type"))...)
	b = append(b, "\nhost:"...)
	b = append(b, signingHost(req)...)
	b = append(b, "\nx-amz-date:"...)
	b = append(b, amzDate...)
	if creds.SessionToken != "" {
		b = append(b, "\nx-amz-security-token:"...)
		b = append(b, strings.TrimSpace(creds.SessionToken)...)
	}
	b = append(b, "\nx-amz-target:"...)
	b = append(b, strings.TrimSpace(first(req.Header, "X-Amz-Target"))...)
	b = append(b, "\n\n"...)
	b = append(b, signed...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	canon := sha256.Sum256(b)

	key := s.signingKey(day, region, creds.SecretAccessKey)
	// HMAC(key, toSign) = H(opad ‖ H(ipad ‖ toSign)); scope starts at
	// the offset recorded so the Authorization can reuse it.
	var msgBuf [512]byte
	m := append(msgBuf[:0], key.ipad[:]...)
	m = append(m, "AWS4-HMAC-SHA256\n"...)
	m = append(m, amzDate...)
	m = append(m, '\n')
	scopeAt := len(m)
	m = append(m, day...)
	m = append(m, '/')
	m = append(m, region...)
	m = append(m, "/kinesis/aws4_request"...)
	scope := m[scopeAt:]
	m = append(m, '\n')
	m = hex.AppendEncode(m, canon[:])
	inner := sha256.Sum256(m)
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], key.opad[:])
	copy(outer[sha256.BlockSize:], inner[:])
	sig := sha256.Sum256(outer[:])

	out = append(out, "AWS4-HMAC-SHA256 Credential="...)
	out = append(out, creds.AccessKeyID...)
	out = append(out, '/')
	out = append(out, scope...)
	out = append(out, ", SignedHeaders="...)
	out = append(out, signed...)
	out = append(out, ", Signature="...)
	out = hex.AppendEncode(out, sig[:])
	both := string(out)

	vals := make([]string, 3) // one array for the header values
	vals[0], vals[1], vals[2] = both[:len(amzDate)], both[len(amzDate):], creds.SessionToken
	req.Header["X-Amz-Date"] = vals[0:1:1]
	if creds.SessionToken != "" {
		req.Header["X-Amz-Security-Token"] = vals[2:3:3]
	}
	req.Header["Authorization"] = vals[1:2:2]
}

// first is h.Get(key) for a canonical key.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// signingKey derives (or reuses) the key for one day, region and secret.
// Keys are immutable and swapped whole, so racing callers need no lock:
// the last one stored wins, and a caller that needs another derives it.
func (s *signer) signingKey(day []byte, region, secret string) *signingKey {
	if k := s.key.Load(); k != nil && k.day == string(day) && k.reg == region && k.sec == secret {
		return k
	}
	k := hmacSum([]byte("AWS4"+secret), string(day))
	k = hmacSum(k, region)
	k = hmacSum(k, "kinesis")
	k = hmacSum(k, "aws4_request")
	sk := &signingKey{day: string(day), reg: region, sec: secret}
	for i := range sk.ipad {
		var c byte
		if i < len(k) {
			c = k[i]
		}
		sk.ipad[i], sk.opad[i] = c^0x36, c^0x5c
	}
	s.key.Store(sk)
	return sk
}

func hmacSum(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// signingHost is the Host header as signed: without a port that is the
// scheme's default, as the SDK does.
func signingHost(req *http.Request) string {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if req.URL.Scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	} else if req.URL.Scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}
