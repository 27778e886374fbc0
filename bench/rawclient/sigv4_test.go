package rawclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The hand-written signer must give exactly the SDK signer's headers.
func TestSignerMatchesSDK(t *testing.T) {
	body := `{"StreamName":"s","PartitionKey":"k","Data":"eA=="}`
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	newReq := func(url string) *http.Request {
		r, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header["Content-Type"] = contentType
		r.Header["X-Amz-Target"] = []string{"Kinesis_20131202.PutRecord"}
		return r
	}
	var s signer
	for _, tc := range []struct {
		url   string
		creds aws.Credentials
		at    time.Time
	}{
		{"http://127.0.0.1:4567", aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC)},
		{"http://127.0.0.1:4567/", aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, time.Date(2026, 12, 2, 0, 0, 1, 0, time.UTC)}, // next day: a new key
		{"https://kinesis.eu-west-1.amazonaws.com", aws.Credentials{AccessKeyID: "123456789012", SecretAccessKey: "other", SessionToken: "tok/en+="}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
		{"http://localhost:80", aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)},
	} {
		want, got := newReq(tc.url), newReq(tc.url)
		if err := v4.NewSigner().SignHTTP(context.Background(), tc.creds, want, hash, "kinesis", "eu-west-1", tc.at); err != nil {
			t.Fatal(err)
		}
		s.sign(got, tc.creds, "eu-west-1", hash, tc.at)
		for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
			if g, w := got.Header.Get(h), want.Header.Get(h); g != w {
				t.Errorf("%s %s:\n got %q\nwant %q", tc.url, h, g, w)
			}
		}
	}
}

// The signer is shared by every call: signatures made at once, with keys
// and dates changing under them, are each what a signer of their own
// makes.
func TestSignerConcurrent(t *testing.T) {
	type input struct {
		creds aws.Credentials
		at    time.Time
	}
	inputs := []input{
		{aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC)},
		{aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
		{aws.Credentials{AccessKeyID: "B", SecretAccessKey: "other", SessionToken: "tok"}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
	}
	sign := func(s *signer, in input) string {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4567/", strings.NewReader("{}"))
		r.Header["Content-Type"] = contentType
		r.Header["X-Amz-Target"] = opPutRecord.target
		s.sign(r, in.creds, "eu-west-1", strings.Repeat("0", 64), in.at)
		return r.Header.Get("Authorization") + r.Header.Get("X-Amz-Date") + r.Header.Get("X-Amz-Security-Token")
	}
	want := make([]string, len(inputs))
	for i, in := range inputs {
		want[i] = sign(new(signer), in)
	}
	var shared signer
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				k := (g + i) % len(inputs)
				if got := sign(&shared, inputs[k]); got != want[k] {
					t.Errorf("input %d: %q, want %q", k, got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSign(b *testing.B) {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4567/", strings.NewReader("{}"))
	r.Header["Content-Type"] = contentType
	r.Header["X-Amz-Target"] = opPutRecord.target
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}
	hash := strings.Repeat("0", 64)
	now := time.Now()
	var s signer
	b.ReportAllocs()
	for range b.N {
		s.sign(r, creds, "us-east-1", hash, now)
	}
}
