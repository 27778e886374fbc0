package wire

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
)

// sigv4Handler is testHandler with signatures verified against one key,
// AKIAALICE, of account 123456789012; clock is the server's.
func sigv4Handler(t *testing.T, clock func() time.Time) (*Handler, *recorder) {
	t.Helper()
	keys, err := auth.NewKeyring([]auth.Principal{{AccessKeyID: "AKIAALICE", SecretAccessKey: "secret",
		Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/alice"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	v := sigv4.New(sigv4.Config{Service: "kinesis", MaxSkew: sigv4.SkewKinesis, Keys: keys, Now: clock})
	return New(fakeOps(rec), Options{Logger: slog.New(slog.DiscardHandler), Verifier: v}), rec
}

func sdkClientSecret(url string, hc *http.Client, akid, secret string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(url),
		Region:       "eu-west-2",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, nil
		}),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// TestSigV4Caller: a verified request's caller is its principal's
// account, the scope's region, with the source address and transport, in
// HTTP/1.1 and over TLS (HTTP/2).
func TestSigV4Caller(t *testing.T) {
	h, rec := sigv4Handler(t, nil)
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(h)
	secure.EnableHTTP2 = true
	secure.StartTLS()
	t.Cleanup(secure.Close)
	for _, srv := range []*httptest.Server{plain, secure} {
		c := sdkClientSecret(srv.URL, srv.Client(), "AKIAALICE", "secret")
		if _, err := c.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		_, got := rec.last()
		if got.Account != "123456789012" || got.Region != "eu-west-2" || got.Principal == nil ||
			got.Principal.ARN != "arn:aws:iam::123456789012:user/alice" || got.SourceIP != "127.0.0.1" ||
			got.SecureTransport != (srv == secure) {
			t.Errorf("%s: caller %+v", srv.URL, got)
		}
		srv.Client().CloseIdleConnections()
	}
}

// TestSigV4Errors: failures reach the SDK with AWS's type and message.
func TestSigV4Errors(t *testing.T) {
	var skew atomic.Int64 // the server's clock runs this far ahead
	h, _ := sigv4Handler(t, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, akid, secret string
		skew               time.Duration
		typ, msg           string
	}{
		{"wrong secret", "AKIAALICE", "not the secret", 0, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. " +
				"Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/\n"},
		{"unknown key", "AKIANOBODY", "secret", 0, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"an account as key", "123456789012", "secret", 0, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"clock", "AKIAALICE", "secret", 20 * time.Minute, "InvalidSignatureException", "Signature expired: "},
	} {
		skew.Store(int64(tc.skew))
		c := sdkClientSecret(srv.URL, srv.Client(), tc.akid, tc.secret)
		_, err := c.ListStreams(context.Background(), &kinesis.ListStreamsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.typ || !strings.HasPrefix(ae.ErrorMessage(), tc.msg) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	skew.Store(0)

	// No signature at all, in CBOR.
	r := serve(t, h, "POST", "/", map[string]string{"X-Amz-Target": TargetPrefix + ".ListStreams", "Content-Type": ContentTypeCBOR}, []byte{0xa0})
	var e struct {
		Type    string `cbor:"__type"`
		Message string `cbor:"message"`
	}
	if err := cbor.Unmarshal(r.body, &e); err != nil || r.status != 400 || e.Type != "MissingAuthenticationTokenException" ||
		e.Message != "Missing Authentication Token" || r.get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("%d %+v %v %v", r.status, e, r.header, err)
	}
}
