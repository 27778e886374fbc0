// Package client builds aws-sdk-go-v2 Kinesis clients for the rivulet
// command-line tools, from flags and the usual AWS environment variables,
// and classifies the errors they return. The same client works against
// Rivulet, other emulators and AWS itself.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// DefaultEndpoint is where `rivulet serve` listens by default.
const DefaultEndpoint = "http://127.0.0.1:4567"

// Dummy credentials for local endpoints, which do not check signatures. The
// access key is not 12 digits, so Rivulet and kinesis-mock use their
// default account.
const (
	dummyAccessKey = "rivulet"
	dummySecretKey = "rivulet"
)

// Config says how to reach an endpoint.
type Config struct {
	// Endpoint is the base URL; "" (or "aws") means AWS's own endpoint for
	// Region.
	Endpoint string
	// DynamoDBEndpoint is the DynamoDB base URL for NewDynamoDB; "" means
	// Endpoint.
	DynamoDBEndpoint string
	Region           string
	// HTTP2 speaks HTTP/2: with prior knowledge (h2c) to an http://
	// endpoint, negotiated by TLS to an https:// one. Otherwise http://
	// uses HTTP/1.1 and https:// negotiates as Go does by default.
	HTTP2 bool
	// Insecure skips TLS certificate verification, for self-signed
	// certificates such as `rivulet serve --tls-port` creates.
	Insecure bool
	// Timeout bounds one HTTP attempt; 0 means 60 s.
	Timeout time.Duration
	// MaxConns is the number of idle connections kept to the endpoint;
	// 0 means 64. Load generators set it to their concurrency.
	MaxConns int
	// MaxAttempts is the SDK's attempts per call, retries included: 1
	// turns the SDK's retries off for callers that retry themselves; 0
	// means the SDK default (3). Retries are never limited by the SDK's
	// retry quota, which would turn a burst of throttling into failures.
	MaxAttempts int
	// LookupEnv reads credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// AWS_SESSION_TOKEN); nil means none are set, so dummy ones are used.
	LookupEnv func(string) (string, bool)
}

// AddFlags registers --endpoint, --region, --http2, --no-verify-ssl and
// --timeout on fs, with defaults from RIVULET_ENDPOINT, AWS_REGION and
// AWS_DEFAULT_REGION as lookupEnv reports them.
func (c *Config) AddFlags(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) {
	c.LookupEnv = lookupEnv
	endpoint := DefaultEndpoint
	if v, ok := lookupEnv("RIVULET_ENDPOINT"); ok {
		endpoint = v
	}
	region := "us-east-1"
	for _, k := range []string{"AWS_DEFAULT_REGION", "AWS_REGION"} {
		if v, ok := lookupEnv(k); ok && v != "" {
			region = v
		}
	}
	fs.StringVar(&c.Endpoint, "endpoint", endpoint, `Kinesis endpoint URL; "aws" for AWS's own endpoint (env RIVULET_ENDPOINT)`)
	fs.StringVar(&c.Region, "region", region, "AWS region (env AWS_REGION, AWS_DEFAULT_REGION)")
	fs.BoolVar(&c.HTTP2, "http2", false, "use HTTP/2 (cleartext h2c with prior knowledge for http:// endpoints)")
	fs.BoolVar(&c.Insecure, "no-verify-ssl", false, "do not verify the endpoint's TLS certificate")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "timeout of one HTTP request")
}

// Validate checks the endpoint and region.
func (c *Config) Validate() error {
	if c.Region == "" {
		return errors.New("--region must not be empty")
	}
	if c.Timeout < 0 {
		return errors.New("--timeout must not be negative")
	}
	if c.awsEndpoint() {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid --endpoint %q: want http://HOST:PORT or https://HOST:PORT", c.Endpoint)
	}
	return nil
}

func (c *Config) awsEndpoint() bool { return c.Endpoint == "" || strings.EqualFold(c.Endpoint, "aws") }

// New returns a Kinesis client for c.
func New(c Config) (*kinesis.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	hc := HTTPClient(c)
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = retry.DefaultMaxAttempts
	}
	o := kinesis.Options{
		Region:      c.Region,
		Credentials: credentials(c.LookupEnv),
		HTTPClient:  hc,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.RateLimiter = ratelimit.None
		}),
	}
	if !c.awsEndpoint() {
		o.BaseEndpoint = aws.String(c.Endpoint)
	}
	return kinesis.New(o), nil
}

// HTTPClient is the HTTP client New uses.
func HTTPClient(c Config) *http.Client {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	return &http.Client{Transport: OwnBody(Transport(c)), Timeout: timeout}
}

// Transport is the transport under HTTPClient: c.MaxConns idle connections
// and the protocols c asks for.
func Transport(c Config) *http.Transport {
	conns := c.MaxConns
	if conns <= 0 {
		conns = 64
	}
	var p http.Protocols
	https := c.awsEndpoint() || strings.HasPrefix(strings.ToLower(c.Endpoint), "https:")
	switch {
	case c.HTTP2 && !https:
		p.SetUnencryptedHTTP2(true)
	case c.HTTP2:
		p.SetHTTP2(true)
	case https:
		p.SetHTTP1(true)
		p.SetHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: c.Insecure}, //nolint:gosec // opt-in flag for self-signed local servers
		Protocols:           &p,
	}
}

// OwnBody wraps rt so that the transport gets its own copy of each
// request body. smithy-go closes the body it built as soon as response
// headers arrive, and its closed body then answers net/http's check for
// bytes past Content-Length with io.EOF as an error; net/http closes the
// connection while the response to a request that succeeded is still
// being read ("StatusCode: 200 ... use of closed network connection").
// Only bodies larger than the transport's write buffer (4 KiB) are at
// risk, and only against a server that answers fast: on loopback, about
// once in 100 runs. The SDK retries that, and a retried PutRecords stores
// its records twice.
func OwnBody(rt http.RoundTripper) http.RoundTripper { return ownBody{rt} }

type ownBody struct{ rt http.RoundTripper }

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (o ownBody) CloseIdleConnections() {
	if c, ok := o.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (o ownBody) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return o.rt.RoundTrip(r)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // room to see EOF without growing
	}
	_, err := buf.ReadFrom(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	b := buf.Bytes()
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return o.rt.RoundTrip(r)
}

// credentials are the static ones from the environment, or dummy ones.
// A real AWS account needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
func credentials(lookupEnv func(string) (string, bool)) aws.CredentialsProvider {
	get := func(k string) string {
		if lookupEnv == nil {
			return ""
		}
		v, _ := lookupEnv(k)
		return v
	}
	cr := aws.Credentials{
		AccessKeyID:     get("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: get("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    get("AWS_SESSION_TOKEN"),
		Source:          "EnvironmentVariables",
	}
	if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		cr = aws.Credentials{AccessKeyID: dummyAccessKey, SecretAccessKey: dummySecretKey, Source: "rivulet-dummy"}
	}
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return cr, nil })
}
