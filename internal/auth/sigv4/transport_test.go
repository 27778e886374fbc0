package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestOverHTTP sends SDK-signed requests over real connections, HTTP/1.1,
// cleartext HTTP/2 and HTTP/2 over TLS, to a net/http server that
// verifies them: over HTTP/2 the host is the :authority pseudo-header.
func TestOverHTTP(t *testing.T) {
	v := New(Config{Service: "kinesis", MaxSkew: SkewKinesis, Keys: testKeys(t)})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if _, err := v.Verify(r, body); err != nil {
			http.Error(w, err.Error(), 403)
			return
		}
		io.WriteString(w, r.Proto)
	})

	h1 := httptest.NewServer(handler)
	defer h1.Close()

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := httptest.NewUnstartedServer(handler)
	h2c.Config.Protocols = &p
	h2c.Start()
	defer h2c.Close()
	h2cClient := &http.Client{Transport: &http.Transport{Protocols: &p}}

	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	for _, tc := range []struct {
		name, url, proto string
		client           *http.Client
	}{
		{"h1", h1.URL, "HTTP/1.1", h1.Client()},
		{"h2c", h2c.URL, "HTTP/2.0", h2cClient},
		{"h2", tlsSrv.URL, "HTTP/2.0", tlsSrv.Client()},
	} {
		for _, path := range []string{"/", "/a%20b/c?x=1&y=a%2Fb"} {
			body := `{"StreamName":"s"}`
			r, err := http.NewRequest("POST", tc.url+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
			r.Header.Set("X-Odd", " a   b ")
			if err := v4.NewSigner().SignHTTP(context.Background(), creds(alice), r, bodyHash([]byte(body)),
				"kinesis", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := tc.client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(got) != tc.proto {
				t.Errorf("%s %s: %d %s", tc.name, path, resp.StatusCode, got)
			}
		}
	}
	h2cClient.CloseIdleConnections()
}
