package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rivulet/rivulet/internal/auth"
)

var (
	signTime = time.Date(2026, 2, 4, 13, 34, 20, 0, time.UTC)
	alice    = auth.Principal{AccessKeyID: "AKIAALICE", SecretAccessKey: "alice/secret+KEY", Account: "123456789012"}
	temp     = auth.Principal{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "session token/+=",
		Account: "210987654321", Expiration: signTime.Add(time.Hour)}
)

func testKeys(t testing.TB) *auth.Keyring {
	t.Helper()
	k, err := auth.NewKeyring([]auth.Principal{alice, temp})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testVerifier(t testing.TB, now time.Time) *Verifier {
	return New(Config{Service: "kinesis", MaxSkew: SkewKinesis, Keys: testKeys(t), Now: func() time.Time { return now }})
}

func creds(p auth.Principal) aws.Credentials {
	return aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken}
}

func bodyHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// clientRequest is a request as an SDK builds it before signing.
type clientRequest struct {
	method, url string
	header      http.Header
	body        []byte
	host        string // overrides the URL's host, if set
}

func (c clientRequest) build(t testing.TB) *http.Request {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	r, err := http.NewRequest(c.method, c.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.header {
		r.Header[k] = append([]string(nil), vs...)
	}
	if c.host != "" {
		r.Host = c.host
	}
	return r
}

// sign signs with aws-sdk-go-v2's signer, in the header or presigned.
func sign(t testing.TB, c clientRequest, p auth.Principal, region string, at time.Time, presign bool) *http.Request {
	t.Helper()
	r := c.build(t)
	s := v4.NewSigner()
	if !presign {
		if err := s.SignHTTP(context.Background(), creds(p), r, bodyHash(c.body), "kinesis", region, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	uri, hdr, err := s.PresignHTTP(context.Background(), creds(p), r, bodyHash(c.body), "kinesis", region, at)
	if err != nil {
		t.Fatal(err)
	}
	c.url = uri
	c.header = c.header.Clone()
	if c.header == nil {
		c.header = http.Header{}
	}
	for k, vs := range hdr {
		if !strings.EqualFold(k, "host") && !strings.EqualFold(k, "content-length") {
			c.header[k] = vs
		}
	}
	return c.build(t)
}

// wireRequest sends r through HTTP/1.1 serialization and back, as a
// server receives it.
func wireRequest(t testing.TB, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	sr, body, ok := tryWire(r)
	if !ok {
		t.Fatalf("%s %s does not survive HTTP/1.1", r.Method, r.URL)
	}
	return sr, body
}

func tryWire(r *http.Request) (*http.Request, []byte, bool) {
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, nil, false
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		return nil, nil, false
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		return nil, nil, false
	}
	return sr, body, true
}

func verifyErr(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// cases are requests of every shape the verifier must agree with the
// SDK on: methods, paths, queries, odd and repeated headers, bodies.
func cases() []clientRequest {
	json := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Kinesis_20131202.ListStreams"}}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	return []clientRequest{
		{method: "POST", url: "http://127.0.0.1:4567/", header: json, body: []byte("{}")},
		{method: "POST", url: "http://localhost:4567", header: json, body: []byte(`{"StreamName":"s"}`)},
		{method: "POST", url: "http://kinesis.us-east-1.amazonaws.com/", header: json, body: big},
		{method: "POST", url: "http://127.0.0.1:4567/", header: json, body: []byte{}},
		{method: "GET", url: "http://127.0.0.1:4567/"},
		{method: "GET", url: "http://127.0.0.1:4567/?Action=ListStreams&Version=2013-12-02"},
		{method: "GET", url: "http://127.0.0.1:4567/a/b/c?b=2&a=1&a=0&c"},
		{method: "GET", url: "http://127.0.0.1:4567/a%20b/%E2%82%AC/~x-y_z.w?sp=a%20b&plus=a+b&slash=%2F%3D&empty=&u=%E2%82%AC"},
		{method: "PUT", url: "http://127.0.0.1:4567/a:b@c/d$e&f=g/", body: []byte("put body")},
		{method: "DELETE", url: "http://127.0.0.1:4567/x%2Fy?k=v&k=u&K=w"},
		{method: "POST", url: "http://127.0.0.1:4567/", body: []byte("odd"), header: http.Header{
			"X-Odd":        {"  a   b    c  "},
			"X-Multi":      {"1", " 2 ", "three  four"},
			"X-Empty":      {""},
			"X-Tab":        {"a\tb"},
			"X-Amz-Target": {"Kinesis_20131202.PutRecord"},
			"Content-Type": {"application/x-amz-cbor-1.1"},
		}},
		{method: "POST", url: "http://127.0.0.1:4567/", header: json, body: []byte("{}"), host: "rivulet.example:8443"},
		{method: "POST", url: "http://[::1]:4567/", header: json, body: []byte("{}")},
	}
}

// TestMatchesSDK signs every case with aws-sdk-go-v2, in the header and
// presigned, with and without a session token, and verifies it as the
// server receives it.
func TestMatchesSDK(t *testing.T) {
	v := testVerifier(t, signTime.Add(90*time.Second))
	for i, c := range cases() {
		for _, presign := range []bool{false, true} {
			for _, p := range []auth.Principal{alice, temp} {
				name := fmt.Sprintf("%d/%s %s/presign=%v/%s", i, c.method, c.url, presign, p.AccessKeyID)
				sr, body := wireRequest(t, sign(t, c, p, "eu-west-2", signTime, presign))
				id, err := v.Verify(sr, body)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if id.Principal.AccessKeyID != p.AccessKeyID || id.Region != "eu-west-2" {
					t.Errorf("%s: identity %+v", name, id)
				}
			}
		}
	}
}

// TestAnyByteChanged changes each signed byte of signed requests, one at
// a time: every change must fail verification.
func TestAnyByteChanged(t *testing.T) {
	v := testVerifier(t, signTime)
	c := clientRequest{method: "POST", url: "http://127.0.0.1:4567/p/q?b=2&a=x%20y", header: http.Header{
		"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Kinesis_20131202.PutRecord"}, "X-Odd": {"a  b"},
	}, body: []byte(`{"StreamName":"s","Data":"AAE="}`)}
	for _, presign := range []bool{false, true} {
		signed := sign(t, c, temp, "us-east-1", signTime, presign)
		var raw bytes.Buffer
		if err := signed.Write(&raw); err != nil {
			t.Fatal(err)
		}
		orig := raw.Bytes()
		sr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(orig)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(sr.Body)
		if _, err := v.Verify(sr, body); err != nil {
			t.Fatalf("presign=%v: unchanged request fails: %v", presign, err)
		}
		head, _, _ := bytes.Cut(orig, []byte("\r\n\r\n"))
		sig, err := Parse(sr)
		if err != nil {
			t.Fatal(err)
		}
		signedNames := map[string]bool{"authorization": true}
		for _, n := range strings.Split(sig.SignedHeaders, ";") {
			signedNames[n] = true
		}
		checked := 0
		for i := range orig {
			if !signedByte(orig, len(head), i, signedNames) {
				continue
			}
			m := bytes.Clone(orig)
			m[i] = mutate(m[i])
			sr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(m)))
			if err != nil {
				continue // not a request any more
			}
			body, _ := io.ReadAll(sr.Body)
			if _, err := v.Verify(sr, body); err == nil {
				t.Errorf("presign=%v: byte %d changed %q→%q and the request still verifies:\n%s", presign, i, orig[i], m[i], m)
			}
			checked++
		}
		if checked < 200 {
			t.Fatalf("presign=%v: only %d changes checked", presign, checked)
		}
	}
}

// signedByte reports whether changing byte i of a serialized request must
// break its signature: the method and target, the signed headers (by
// lower-case name) and the body; not line ends, nor a change of letter
// case in a header's name.
func signedByte(raw []byte, headLen, i int, signed map[string]bool) bool {
	switch {
	case i >= headLen+4:
		return true
	case i >= headLen || raw[i] == '\r' || raw[i] == '\n':
		return false
	}
	start := bytes.LastIndexByte(raw[:i], '\n') + 1
	end := start + bytes.IndexByte(raw[start:], '\r')
	line, col := string(raw[start:end]), i-start
	if start == 0 {
		return col < len(line)-len(" HTTP/1.1")
	}
	name, _, _ := strings.Cut(line, ":")
	if !signed[strings.ToLower(name)] {
		return false
	}
	return col >= len(name) || lower(mutate(raw[i])) != lower(raw[i])
}

// mutate changes a byte to another that is not white space, so the
// change cannot be undone by trimming.
func mutate(c byte) byte {
	if c == 'z' {
		return 'y'
	}
	return 'z'
}

// TestKnownAnswer checks a signature computed by hand, independently of
// any SDK: an HTTP/2 request signed the way the JS SDK v3 signs it, with
// ":authority" in place of host.
func TestKnownAnswer(t *testing.T) {
	body := []byte(`{}`)
	canonical := "POST\n/\n\n" +
		":authority:127.0.0.1:4567\n" +
		"content-length:2\n" +
		"content-type:application/x-amz-json-1.1\n" +
		"x-amz-date:20260204T133420Z\n" +
		"x-amz-target:Kinesis_20131202.ListStreams\n" +
		"\n:authority;content-length;content-type;x-amz-date;x-amz-target\n" + bodyHash(body)
	crHash := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n20260204T133420Z\n20260204/us-east-1/kinesis/aws4_request\n" + hex.EncodeToString(crHash[:])
	key := SigningKey(alice.SecretAccessKey, "20260204", "us-east-1", "kinesis")
	mac := hmacSHA256(key[:], sts)
	sig := hex.EncodeToString(mac[:])

	r := &http.Request{
		Method: "POST", URL: &url.URL{Path: "/"}, Host: "127.0.0.1:4567", ProtoMajor: 2, RequestURI: "/",
		ContentLength: 2, Header: http.Header{
			"Content-Type":  {"application/x-amz-json-1.1"},
			"X-Amz-Date":    {"20260204T133420Z"},
			"X-Amz-Target":  {"Kinesis_20131202.ListStreams"},
			"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIAALICE/20260204/us-east-1/kinesis/aws4_request, SignedHeaders=:authority;content-length;content-type;x-amz-date;x-amz-target, Signature=" + sig},
		},
	}
	v := testVerifier(t, signTime)
	if _, err := v.Verify(r, body); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), sig[:4], "0000", 1))
	_, err := v.Verify(r, body)
	e := verifyErr(err)
	if e == nil || e.Type != TypeInvalidSignature {
		t.Fatalf("wrong signature: %v", err)
	}
	wantMsg := msgMismatch + "\n\nThe Canonical String for this request should have been\n'" + canonical +
		"'\n\nThe String-to-Sign should have been\n'" + sts + "'\n"
	if e.Message != wantMsg || e.Status != http.StatusBadRequest {
		t.Fatalf("message\n%q\nwant\n%q", e.Message, wantMsg)
	}
}

// TestAWSExample is the example request of AWS's SigV4 documentation
// (IAM ListUsers), with its published signature.
func TestAWSExample(t *testing.T) {
	keys, err := auth.NewKeyring([]auth.Principal{{AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Account: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	v := New(Config{Service: "iam", MaxSkew: SkewDynamoDB, Keys: keys,
		Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) }})
	r, _ := http.NewRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
	if _, err := v.Verify(wireRequest(t, r)); err != nil {
		t.Fatal(err)
	}
}

// TestErrors checks each failure's type and message, in AWS's order.
func TestErrors(t *testing.T) {
	base := clientRequest{method: "POST", url: "http://127.0.0.1:4567/", body: []byte("{}"),
		header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}}}
	good := func() *http.Request { return sign(t, base, alice, "us-east-1", signTime, false) }
	setAuth := func(r *http.Request, from, to string) *http.Request {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), from, to, 1))
		return r
	}
	soon := auth.Principal{AccessKeyID: "ASIASOON", SecretAccessKey: "s", SessionToken: "t", Account: "123456789012", Expiration: signTime.Add(time.Minute)}
	stale := auth.Principal{AccessKeyID: "ASIASTALE", SecretAccessKey: "s", SessionToken: "t", Account: "123456789012", Expiration: signTime}
	wrongSecret := alice
	wrongSecret.SecretAccessKey = "not alice's"

	tests := []struct {
		name     string
		req      func() *http.Request
		now      time.Time
		typ, msg string
	}{
		{"no auth", func() *http.Request { return base.build(t) }, signTime,
			TypeMissingToken, "Missing Authentication Token"},
		{"both", func() *http.Request {
			r := good()
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return r
		}, signTime, TypeInvalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		{"incomplete", func() *http.Request {
			r := base.build(t)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=a/b")
			return r
		}, signTime, TypeIncompleteSignature, "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=a/b"},
		{"incomplete query", func() *http.Request {
			r := base.build(t)
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260204T133420Z"
			return r
		}, signTime, TypeIncompleteSignature, "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. " +
			"AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."},
		{"bad date", func() *http.Request {
			r := good()
			r.Header.Set("X-Amz-Date", "2026-02-04T13:34:20Z")
			return r
		}, signTime, TypeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '2026-02-04T13:34:20Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"http date", func() *http.Request {
			r := good()
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Wed, 04 Feb 2026 13:34:20 GMT")
			return r
		}, signTime, TypeIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got 'Wed, 04 Feb 2026 13:34:20 GMT'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"expired", good, signTime.Add(5*time.Minute + time.Second),
			TypeInvalidSignature, "Signature expired: 20260204T133420Z is now earlier than 20260204T133421Z (20260204T133921Z - 5 min.)"},
		{"not yet current", good, signTime.Add(-5*time.Minute - 2*time.Second),
			TypeInvalidSignature, "Signature not yet current: 20260204T133420Z is still later than 20260204T133418Z (20260204T132918Z + 5 min.)"},
		{"no host", func() *http.Request {
			return setAuth(good(), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;")
		},
			signTime, TypeInvalidSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization."},
		{"algorithm", func() *http.Request { return setAuth(good(), "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA512 ") },
			signTime, TypeIncompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{"credential parts", func() *http.Request { return setAuth(good(), "/us-east-1/kinesis/", "/us-east-1/") },
			signTime, TypeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIAALICE/20260204/us-east-1/aws4_request'"},
		{"service", func() *http.Request { return setAuth(good(), "/kinesis/", "/dynamodb/") },
			signTime, TypeInvalidSignature, "Credential should be scoped to correct service: 'kinesis'. "},
		{"scope", func() *http.Request {
			return setAuth(good(), "/20260204/us-east-1/kinesis/aws4_request", "/20260203/US/kinesis/aws5_request")
		},
			signTime, TypeInvalidSignature, "Credential should be scoped to a valid region, not 'US'. " +
				"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. " +
				"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260203' != '20260204', from '20260204T133420Z'."},
		{"unknown key", func() *http.Request { return setAuth(good(), "AKIAALICE", "AKIANOBODY") },
			signTime, TypeUnrecognizedClient, "The security token included in the request is invalid."},
		{"wrong secret", func() *http.Request { return sign(t, base, wrongSecret, "us-east-1", signTime, false) },
			signTime, TypeInvalidSignature, msgMismatch},
		{"missing token", func() *http.Request {
			noToken := temp
			noToken.SessionToken = ""
			return sign(t, base, noToken, "us-east-1", signTime, false)
		}, signTime, TypeUnrecognizedClient, "The security token included in the request is invalid"},
		{"wrong token", func() *http.Request {
			other := temp
			other.SessionToken = "another"
			return sign(t, base, other, "us-east-1", signTime, false)
		}, signTime, TypeUnrecognizedClient, "The security token included in the request is invalid"},
		{"token on a long-term key", func() *http.Request {
			withToken := alice
			withToken.SessionToken = "x"
			return sign(t, base, withToken, "us-east-1", signTime, false)
		}, signTime, TypeUnrecognizedClient, "The security token included in the request is invalid"},
		{"expired token", func() *http.Request { return sign(t, base, soon, "us-east-1", signTime, false) },
			signTime.Add(2 * time.Minute), TypeExpiredToken, "The security token included in the request is expired"},
		{"expired at its second", func() *http.Request { return sign(t, base, stale, "us-east-1", signTime, false) },
			signTime, TypeExpiredToken, "The security token included in the request is expired"},
	}
	keys, err := auth.NewKeyring([]auth.Principal{alice, temp, soon, stale})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Config{Service: "kinesis", MaxSkew: SkewKinesis, Keys: keys, Now: func() time.Time { return tc.now }})
			_, err := v.Verify(wireRequest(t, tc.req()))
			e := verifyErr(err)
			if e == nil {
				t.Fatalf("got %v, want %s", err, tc.typ)
			}
			if e.Type != tc.typ || e.Status != http.StatusBadRequest {
				t.Errorf("type %s %d, want %s 400", e.Type, e.Status, tc.typ)
			}
			if tc.msg == msgMismatch {
				if !strings.HasPrefix(e.Message, msgMismatch+"\n\nThe Canonical String for this request should have been\n'POST\n/\n") {
					t.Errorf("message %q", e.Message)
				}
			} else if e.Message != tc.msg {
				t.Errorf("message\n%q\nwant\n%q", e.Message, tc.msg)
			}
		})
	}
}

// TestSkewParameter: DynamoDB's window is 15 minutes, and says so.
func TestSkewParameter(t *testing.T) {
	c := clientRequest{method: "POST", url: "http://127.0.0.1:4567/", body: []byte("{}")}
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{14 * time.Minute, true}, {15 * time.Minute, true}, {15*time.Minute + time.Second, false}} {
		v := New(Config{Service: "dynamodb", MaxSkew: SkewDynamoDB, Keys: testKeys(t), Now: func() time.Time { return signTime.Add(tc.after) }})
		r := sign(t, c, alice, "us-east-1", signTime, false)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/kinesis/", "/dynamodb/", 1))
		_, err := v.Verify(wireRequest(t, r))
		e := verifyErr(err)
		switch {
		case e == nil:
			t.Fatalf("after %v: %v", tc.after, err)
		case tc.ok && e.Type != TypeInvalidSignature: // the signature is for kinesis
			t.Errorf("after %v: %v", tc.after, e)
		case tc.ok && strings.HasPrefix(e.Message, "Signature expired"):
			t.Errorf("after %v: %v", tc.after, e)
		case !tc.ok && !strings.HasSuffix(e.Message, "- 15 min.)"):
			t.Errorf("after %v: %v", tc.after, e)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"/":          "/",
		"//":         "/",
		"/a//b/":     "/a/b/",
		"/a/./b":     "/a/b",
		"/a/../b":    "/b",
		"/../a":      "/a",
		"/a/b/..":    "/a",
		"/a/b/../":   "/a/",
		"/a%2F..%2F": "/a%2F..%2F",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKeyCache: a changed secret is not served a stale key, and the cache
// stays within its bound.
func TestKeyCache(t *testing.T) {
	c := keyCache{max: 3, m: map[cacheKey]cacheEntry{}}
	s := Scope{"AKID", "20260204", "us-east-1", "kinesis", "aws4_request"}
	p := &auth.Principal{AccessKeyID: "AKID", SecretAccessKey: "one"}
	if c.signingKey(p, s) != SigningKey("one", s.Date, s.Region, s.Service) {
		t.Fatal("wrong key")
	}
	p.SecretAccessKey = "two"
	if c.signingKey(p, s) != SigningKey("two", s.Date, s.Region, s.Service) {
		t.Fatal("stale key after the secret changed")
	}
	for i := 0; i < 10; i++ {
		s.Region = fmt.Sprintf("r%d", i)
		c.signingKey(p, s)
	}
	if len(c.m) > 3 {
		t.Fatalf("cache holds %d keys, bound 3", len(c.m))
	}
}

// BenchmarkVerify: a PutRecord-sized body (1 KiB) and a PutRecords one
// (500 records of 1 KiB, base64 in JSON).
func BenchmarkVerify(b *testing.B) {
	for _, size := range []int{1 << 10, 690 << 10} {
		b.Run(fmt.Sprintf("body=%dKiB", size>>10), func(b *testing.B) {
			body := bytes.Repeat([]byte("x"), size)
			c := clientRequest{method: "POST", url: "http://127.0.0.1:4567/", body: body, header: http.Header{
				"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Kinesis_20131202.PutRecord"},
				"X-Amz-User-Agent": {"aws-sdk-go-v2/1.0"}, "Amz-Sdk-Invocation-Id": {"e0c5a1c4-2d2c-4a64-9d0e-1b7c9a4a1d2f"},
				"Amz-Sdk-Request": {"attempt=1; max=3"},
			}}
			sr, got := wireRequest(b, sign(b, c, alice, "us-east-1", signTime, false))
			v := testVerifier(b, signTime)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(sr, got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
