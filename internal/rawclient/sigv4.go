package rawclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// signer signs requests with AWS Signature Version 4. Every request this
// client sends has one shape (POST, no query, the headers below), so the
// canonical request is written straight out, and the day's signing key is
// derived once: the SDK's general signer was 60% of a PutRecord's client
// CPU.
type signer struct {
	mu  sync.Mutex
	day string // the cached key's scope
	reg string
	sec string
	key []byte
}

const signedBase = "content-length;content-type;host;x-amz-date"

// sign sets X-Amz-Date, X-Amz-Security-Token (for session credentials) and
// Authorization on req, whose Content-Type and X-Amz-Target are set.
func (s *signer) sign(req *http.Request, creds aws.Credentials, region, payloadHash string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := amzDate[:8]
	req.Header["X-Amz-Date"] = []string{amzDate}
	signed := signedBase + ";x-amz-target"
	if creds.SessionToken != "" {
		req.Header["X-Amz-Security-Token"] = []string{creds.SessionToken}
		signed = signedBase + ";x-amz-security-token;x-amz-target"
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}

	var b strings.Builder
	b.Grow(512)
	b.WriteString("POST\n")
	b.WriteString(path)
	b.WriteString("\n\ncontent-length:")
	b.WriteString(strconv.FormatInt(req.ContentLength, 10))
	b.WriteString("\ncontent-type:")
	b.WriteString(strings.TrimSpace(req.Header.Get("Content-Type")))
	b.WriteString("\nhost:")
	b.WriteString(signingHost(req))
	b.WriteString("\nx-amz-date:")
	b.WriteString(amzDate)
	if creds.SessionToken != "" {
		b.WriteString("\nx-amz-security-token:")
		b.WriteString(strings.TrimSpace(creds.SessionToken))
	}
	b.WriteString("\nx-amz-target:")
	b.WriteString(strings.TrimSpace(req.Header.Get("X-Amz-Target")))
	b.WriteString("\n\n")
	b.WriteString(signed)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	canon := sha256.Sum256([]byte(b.String()))

	scope := day + "/" + region + "/kinesis/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canon[:])
	mac := hmac.New(sha256.New, s.signingKey(day, region, creds.SecretAccessKey))
	mac.Write([]byte(toSign))
	req.Header["Authorization"] = []string{"AWS4-HMAC-SHA256 Credential=" + creds.AccessKeyID + "/" + scope +
		", SignedHeaders=" + signed + ", Signature=" + hex.EncodeToString(mac.Sum(nil))}
}

// signingKey derives (or reuses) the key for one day, region and secret.
func (s *signer) signingKey(day, region, secret string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil && s.day == day && s.reg == region && s.sec == secret {
		return s.key
	}
	k := hmacSum([]byte("AWS4"+secret), day)
	k = hmacSum(k, region)
	k = hmacSum(k, "kinesis")
	s.key, s.day, s.reg, s.sec = hmacSum(k, "aws4_request"), day, region, secret
	return s.key
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
