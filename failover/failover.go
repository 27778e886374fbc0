// Package failover builds aws-sdk-go-v2 Kinesis and DynamoDB clients that
// know several Rivulet cluster nodes and move to another node when the one
// they use stops answering.
//
// The SDK's retry loop wraps endpoint resolution and signing, so every
// attempt of a call asks the client's endpoint resolver again and is signed
// for the endpoint it gets. An [Endpoints] is that resolver, and it also
// wraps the client's HTTP transport: an attempt that fails at the
// connection (refused, reset, cut before a response, timed out) or is
// answered with HTTP 500, 502, 503 or 504 marks its endpoint down, and the
// SDK's next attempt goes to the next endpoint that is not. A down endpoint
// is tried again after a back-off (2 s by default), or at once when every
// endpoint is down.
//
// Failing over changes nothing about what a call means: a call reports
// success only for what a node acknowledged. As with any retry, a
// PutRecord or PutRecords whose attempt was cut after the node received it
// may be stored twice when the next attempt succeeds elsewhere.
package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/rivulet/rivulet/internal/client"
)

// Defaults of the options.
const (
	// DefaultRetryAfter is how long an endpoint that failed is skipped.
	DefaultRetryAfter = 2 * time.Second
	// DefaultDialTimeout bounds connecting to a node: a machine that is
	// gone answers nothing, and the next node should not wait for TCP's
	// own minutes-long timeout.
	DefaultDialTimeout = 5 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for a response's
	// headers, so a node that hangs counts as down. Rivulet answers every
	// call, SubscribeToShard included, without holding back its headers.
	DefaultResponseHeaderTimeout = 30 * time.Second
	// minAttempts is the least default MaxAttempts: the SDK's backoff
	// (50 ms doubling, jittered) then spans several seconds, long enough
	// for a cluster to move the leaders a lost node held.
	minAttempts = 10
)

// Option configures New.
type Option func(*Endpoints) error

// WithRetryAfter sets how long an endpoint that failed is skipped
// (default 2 s).
func WithRetryAfter(d time.Duration) Option {
	return func(e *Endpoints) error {
		if d <= 0 {
			return fmt.Errorf("failover: retry-after %v must be positive", d)
		}
		e.retryAfter = d
		return nil
	}
}

// WithMaxAttempts sets the attempts per call, retries included. The
// default is the larger of 10 and three per endpoint, so every endpoint is
// tried at least twice.
func WithMaxAttempts(n int) Option {
	return func(e *Endpoints) error {
		if n < 1 {
			return fmt.Errorf("failover: max attempts %d must be at least 1", n)
		}
		e.maxAttempts = n
		return nil
	}
}

// WithTransport sets the transport under the failover (default: an
// http.Transport with DefaultDialTimeout and DefaultResponseHeaderTimeout).
// Give it timeouts of its own: an attempt that hangs never fails over.
func WithTransport(rt http.RoundTripper) Option {
	return func(e *Endpoints) error {
		if rt == nil {
			return errors.New("failover: nil transport")
		}
		e.base = rt
		return nil
	}
}

// WithLogger receives a line each time an endpoint is marked down (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(e *Endpoints) error {
		if l == nil {
			return errors.New("failover: nil logger")
		}
		e.log = l
		return nil
	}
}

// Endpoints is a set of nodes' URLs and which of them is in use. Clients
// made from one Endpoints share it: when one finds a node down, all move.
// It is safe for concurrent use.
type Endpoints struct {
	urls        []*url.URL
	retryAfter  time.Duration
	maxAttempts int
	base        http.RoundTripper
	log         *slog.Logger
	hc          *http.Client

	mu   sync.Mutex
	cur  int
	down []time.Time // until when each endpoint is skipped
}

// New returns Endpoints for the given base URLs (http:// or https://, each
// node once), starting with the first.
func New(endpoints []string, opts ...Option) (*Endpoints, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("failover: no endpoints")
	}
	e := &Endpoints{retryAfter: DefaultRetryAfter, maxAttempts: max(minAttempts, 3*len(endpoints)), log: slog.Default()}
	seen := map[string]bool{}
	for _, s := range endpoints {
		u, err := parse(s)
		if err != nil {
			return nil, err
		}
		if seen[key(u)] {
			return nil, fmt.Errorf("failover: endpoint %q given twice", s)
		}
		seen[key(u)] = true
		e.urls = append(e.urls, u)
	}
	e.down = make([]time.Time, len(e.urls))
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	if e.base == nil {
		e.base = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   DefaultDialTimeout,
			ResponseHeaderTimeout: DefaultResponseHeaderTimeout,
		}
	}
	e.hc = &http.Client{Transport: &transport{e: e, rt: client.OwnBody(e.base)}}
	return e, nil
}

// parse accepts an absolute http or https URL with a host and nothing
// past its path.
func parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("failover: endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("failover: endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", s)
	}
	return u, nil
}

// key identifies an endpoint as a request's URL shows it.
func key(u *url.URL) string { return u.Scheme + "://" + strings.ToLower(u.Host) }

// URLs returns the endpoints in the order given.
func (e *Endpoints) URLs() []string {
	out := make([]string, len(e.urls))
	for i, u := range e.urls {
		out[i] = u.String()
	}
	return out
}

// Current is the endpoint the next attempt goes to.
func (e *Endpoints) Current() string { return e.urls[e.pick()].String() }

// MaxAttempts is the attempts per call the clients make.
func (e *Endpoints) MaxAttempts() int { return e.maxAttempts }

// HTTPClient is the failover HTTP client the SDK clients use. Another SDK
// client that takes it must also resolve its endpoint with Current on
// every attempt.
func (e *Endpoints) HTTPClient() *http.Client { return e.hc }

// CloseIdleConnections closes the idle connections of the transport under
// the failover.
func (e *Endpoints) CloseIdleConnections() {
	if c, ok := e.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// pick returns the endpoint in use if it is up, else the next one up,
// which becomes the one in use. With all down it is the one in use all
// the same: markDown moved that on, so attempts go round the nodes.
func (e *Endpoints) pick() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	n := len(e.urls)
	for i := range n {
		j := (e.cur + i) % n
		if !now.Before(e.down[j]) {
			e.cur = j
			return j
		}
	}
	return e.cur
}

// markDown skips the endpoint of u for retryAfter, and moves the next
// attempt on from it.
func (e *Endpoints) markDown(u *url.URL, why string) {
	k := key(u)
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, v := range e.urls {
		if key(v) != k {
			continue
		}
		now := time.Now()
		if !now.Before(e.down[i]) { // one line per outage is enough
			e.log.Warn("failover: endpoint down", "endpoint", v.String(), "reason", why, "retry_after", e.retryAfter)
		}
		e.down[i] = now.Add(e.retryAfter)
		if e.cur == i {
			e.cur = (i + 1) % len(e.urls)
		}
		return
	}
}

// markUp ends an endpoint's back-off once it answered.
func (e *Endpoints) markUp(u *url.URL) {
	k := key(u)
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, v := range e.urls {
		if key(v) == k {
			e.down[i] = time.Time{}
			return
		}
	}
}

// resolve is the endpoint of the next attempt, for either service.
func (e *Endpoints) resolve() smithyendpoints.Endpoint {
	u := *e.urls[e.pick()]
	return smithyendpoints.Endpoint{URI: u}
}

type kinesisResolver struct{ e *Endpoints }

func (r kinesisResolver) ResolveEndpoint(context.Context, kinesis.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return r.e.resolve(), nil
}

type dynamodbResolver struct{ e *Endpoints }

func (r dynamodbResolver) ResolveEndpoint(context.Context, dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return r.e.resolve(), nil
}

// Retryer is the SDK's standard retryer with e's attempts, no retry quota
// (a node loss fails many attempts at once, and a drained quota would turn
// them into errors) and a response cut short retried like a connection
// error.
func (e *Endpoints) Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = e.maxAttempts
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// Kinesis returns a Kinesis client on e. cfg gives the region and
// credentials; its endpoint settings, HTTP client and retryer are replaced
// (optFns run last and may set them again).
func (e *Endpoints) Kinesis(cfg aws.Config, optFns ...func(*kinesis.Options)) *kinesis.Client {
	own := func(o *kinesis.Options) {
		o.BaseEndpoint = nil
		o.EndpointResolver = nil //nolint:staticcheck // a legacy resolver would take precedence
		o.EndpointResolverV2 = kinesisResolver{e}
		o.HTTPClient = e.hc
		o.Retryer = e.Retryer()
		o.RetryMaxAttempts = 0
	}
	return kinesis.NewFromConfig(cfg, append([]func(*kinesis.Options){own}, optFns...)...)
}

// DynamoDB returns a DynamoDB client on e, such as the consumer's lease
// table needs; cfg and optFns as for Kinesis.
func (e *Endpoints) DynamoDB(cfg aws.Config, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	own := func(o *dynamodb.Options) {
		o.BaseEndpoint = nil
		o.EndpointResolver = nil //nolint:staticcheck // a legacy resolver would take precedence
		o.EndpointResolverV2 = dynamodbResolver{e}
		o.HTTPClient = e.hc
		o.Retryer = e.Retryer()
		o.RetryMaxAttempts = 0
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){own}, optFns...)...)
}

// transport marks the endpoint an attempt went to down when the attempt
// fails there.
type transport struct {
	e  *Endpoints
	rt http.RoundTripper
}

func (t *transport) CloseIdleConnections() { t.e.CloseIdleConnections() }

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		if r.Context().Err() == nil { // the caller's own cancel says nothing of the node
			t.e.markDown(r.URL, err.Error())
		}
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		t.e.markDown(r.URL, resp.Status)
	default:
		t.e.markUp(r.URL)
	}
	resp.Body = &body{ReadCloser: resp.Body, t: t, r: r}
	return resp, nil
}

// body marks the endpoint down when a response is cut short.
type body struct {
	io.ReadCloser
	t      *transport
	r      *http.Request
	closed atomic.Bool // a read after our own Close fails, and says nothing of the node
}

func (b *body) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !b.closed.Load() && b.r.Context().Err() == nil {
		b.t.e.markDown(b.r.URL, err.Error())
	}
	return n, err
}
