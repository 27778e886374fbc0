package sigv4

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthorization: the header parser never panics, takes the
// first piece as the algorithm, and agrees with a plain map-based reading.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		", Credential=a Signature=b=c,SignedHeaders=",
		"Credential=first Credential=second",
		"AWS4 \tCredential=t\t,Signature==x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		got := ParseAuthorization(authz)
		pieces := strings.FieldsFunc(authz, func(r rune) bool { return r == ',' || r == ' ' })
		alg := ""
		if len(pieces) > 0 && authz[0] != ',' && authz[0] != ' ' {
			alg, pieces = pieces[0], pieces[1:]
		}
		want := map[string]string{}
		for _, p := range pieces {
			kv := strings.Split(strings.TrimSpace(p), "=")
			v := ""
			if len(kv) > 1 {
				v = kv[1]
			}
			want[kv[0]] = v
		}
		if got.Algorithm != alg || got.Credential != want["Credential"] || got.Signature != want["Signature"] ||
			got.SignedHeaders != want["SignedHeaders"] {
			t.Fatalf("%q: got %+v, want algorithm %q and %q", authz, got, alg, want)
		}
		if s, ok := ParseCredential(got.Credential); ok && s.AccessKeyID+"/"+s.String() != strings.TrimRight(got.Credential, "/") {
			t.Fatalf("credential %q read as %+v", got.Credential, s)
		}
	})
}

// FuzzVerify: any request, however malformed, gets an answer and no panic.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "/", "", "AWS4-HMAC-SHA256 Credential=AKIAALICE/20260204/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
		"20260204T133420Z", "x", []byte("{}"))
	f.Add("GET", "/a/../b//c", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAALICE%2F20260204%2Fus-east-1%2Fkinesis%2Faws4_request&X-Amz-Date=20260204T133420Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
		"", "", "", []byte(nil))
	f.Add("POST", "/", "a=%zz&b", "AWS4-HMAC-SHA256 Credential=AKIAALICE/20260204/us-east-1/kinesis/aws4_request/, SignedHeaders=:authority;;HOST;content-length, Signature=",
		"20260204T133420Z", "  a  b  ", []byte("body"))
	v := New(Config{Service: "kinesis", MaxSkew: SkewKinesis, Keys: testKeys(f), Now: func() time.Time { return signTime }})
	f.Fuzz(func(t *testing.T, method, path, query, authz, date, odd string, body []byte) {
		r := &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path, RawQuery: query},
			Host:          "127.0.0.1:4567",
			Header:        http.Header{"X-Odd": {odd}},
			ContentLength: int64(len(body)),
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		_, err := v.Verify(r, body)
		if err == nil {
			t.Fatalf("a fuzzed signature verified: %+v", r)
		}
		if e := verifyErr(err); e == nil || e.Status != http.StatusBadRequest || e.Type == "" || e.Message == "" {
			t.Fatalf("error %#v", err)
		}
	})
}

// FuzzMatchesSDK signs fuzzed requests with aws-sdk-go-v2 and verifies
// them as a server receives them: the two must agree on everything that
// survives HTTP/1.1.
func FuzzMatchesSDK(f *testing.F) {
	f.Add("/", "a=1&b=2", "value", []byte("{}"), false)
	f.Add("/a%20b/~c", "x=%2F&y=a+b&z", "  two   spaces ", []byte{}, true)
	f.Add("/%E2%82%AC", "k=v&k=u", "tab\there", []byte{0, 1, 2}, false)
	v := testVerifier(f, signTime)
	f.Fuzz(func(t *testing.T, path, query, value string, body []byte, presign bool) {
		u, err := url.Parse("http://127.0.0.1:4567" + path + "?" + query)
		if err != nil || u.Host != "127.0.0.1:4567" || normalizePath(u.EscapedPath()) != u.EscapedPath() && u.EscapedPath() != "" {
			return // the SDK does not normalize paths; AWS and we do
		}
		if strings.Contains(u.RawQuery, ";") || strings.Contains(u.RawQuery, "X-Amz-") {
			return // url.Values drops pairs with ';'; presigning owns X-Amz-*
		}
		if !validValue(value) || len(body) > 1024 {
			return // a large body only slows minimizing down
		}
		c := clientRequest{method: "POST", url: u.String(), body: body, header: http.Header{"X-Odd": {value}}}
		r := sign(t, c, alice, "us-east-1", signTime, presign)
		sr, got, ok := tryWire(r)
		if !ok {
			return
		}
		if _, err := v.Verify(sr, got); err != nil {
			t.Fatalf("%s %q: %v", u, value, err)
		}
	})
}

// validValue is a header value net/http sends as it is.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
