// Package rawclient is a lightweight Kinesis client for load generation.
// It has the method set of aws-sdk-go-v2's *kinesis.Client and takes and
// returns the SDK's structs, but PutRecord, PutRecords, GetRecords and
// GetShardIterator skip the SDK's middleware: the JSON 1.1 body is written
// straight into a pooled buffer, signed with SigV4, sent over a shared
// keep-alive transport, and the response read by a scanner for its known
// shape. On a machine where the load generator shares the cores with the
// server under test, that leaves the CPU to the server.
//
// The requests are what the SDK sends (the same members, order and
// escaping), so every Kinesis endpoint accepts them, and failures are the
// errors the SDK returns after one attempt: the same types, codes,
// messages and wrapping, so code that classifies SDK errors classifies
// these the same way. Every other operation is the SDK's own, through the
// embedded *kinesis.Client.
//
// The hot operations make exactly one attempt (the SDK with MaxAttempts
// 1, whatever client.Config says), do not follow redirects (Kinesis sends
// none), ignore their ...func(*kinesis.Options) arguments, and return
// outputs without ResultMetadata.
package rawclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"

	"github.com/rivulet/rivulet/internal/client"
)

// Client is a Kinesis client whose data-plane calls are cheap. It is safe
// for concurrent use; Close releases its idle connections.
type Client struct {
	*kinesis.Client // every operation not written here

	rt       http.RoundTripper // tr, or a stand-in in benchmarks
	tr       *http.Transport
	h1       *h1Transport  // for plain http:// endpoints over HTTP/1.1
	timeout  time.Duration // per call, as http.Client.Timeout
	signer   signer
	creds    aws.CredentialsProvider
	region   string
	protocol smithyhttp.ClientProtocol // decodes error responses
	retryer  aws.Retryer               // says which errors the SDK wraps as retryable
	resolver kinesis.EndpointResolverV2
	params   kinesis.EndpointParameters // what every call shares

	endpoint  url.URL  // for calls naming no stream ARN or id
	endpoints sync.Map // endpointKey → *url.URL
}

// New returns a client for cfg; the embedded SDK client is client.New's.
func New(cfg client.Config) (*Client, error) {
	sdk, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	o := sdk.Options()
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	tr := transport(cfg)
	c := &Client{
		Client:   sdk,
		rt:       tr,
		tr:       tr,
		h1:       lean(cfg),
		timeout:  timeout,
		creds:    o.Credentials,
		region:   o.Region,
		protocol: o.Protocol,
		retryer:  o.Retryer,
		resolver: o.EndpointResolverV2,
		params: kinesis.EndpointParameters{
			Region:                aws.String(o.Region),
			UseDualStack:          aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
			UseFIPS:               aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
			Endpoint:              o.BaseEndpoint,
			AccountIdEndpointMode: aws.String(string(o.AccountIDEndpointMode)),
			OperationType:         aws.String("data"),
		},
	}
	if c.h1 != nil {
		c.rt = c.h1
	}
	if c.protocol == nil {
		c.protocol = awsjson.New11(schemas.Kinesis_20131202)
	}
	if c.resolver == nil {
		c.resolver = kinesis.NewDefaultEndpointResolverV2()
	}
	if c.creds == nil {
		return nil, fmt.Errorf("rawclient: no credentials")
	}
	u, err := c.resolve(context.Background(), endpointKey{})
	if err != nil {
		return nil, err
	}
	c.endpoint = *u
	return c, nil
}

// Close closes the idle connections of the data-plane transport.
func (c *Client) Close() {
	c.tr.CloseIdleConnections()
	if c.h1 != nil {
		c.h1.CloseIdleConnections()
	}
}

// lean returns the small HTTP/1.1 transport where it can serve the
// endpoint (plain http://, HTTP/1.1, no proxy), else nil.
func lean(cfg client.Config) *h1Transport {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || !strings.EqualFold(u.Scheme, "http") || cfg.HTTP2 {
		return nil
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
		return nil
	}
	conns := cfg.MaxConns
	if conns <= 0 {
		conns = 64
	}
	return newH1Transport(conns)
}

// transport is client.HTTPClient's transport without its body copy,
// which this client does not need: it never closes a body the transport
// may still be writing.
func transport(cfg client.Config) *http.Transport {
	tr := client.Transport(cfg)
	// Fewer, larger writes and reads for bodies of megabytes.
	tr.WriteBufferSize, tr.ReadBufferSize = 64<<10, 64<<10
	return tr
}

// endpointKey is what a call's endpoint depends on beyond the client's
// settings (AWS routes stream ARNs to account endpoints).
type endpointKey struct {
	arn, id, account string
	hasARN, hasID    bool
}

func (c *Client) resolve(ctx context.Context, k endpointKey) (*url.URL, error) {
	p := c.params
	if k.hasARN {
		p.StreamARN = aws.String(k.arn)
	}
	if k.hasID {
		p.StreamId = aws.String(k.id)
	}
	if k.account != "" && aws.AccountIDEndpointMode(aws.ToString(p.AccountIdEndpointMode)) != aws.AccountIDEndpointModeDisabled {
		p.AccountId = aws.String(k.account)
	}
	ep, err := c.resolver.ResolveEndpoint(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve service endpoint, %w", err)
	}
	u := ep.URI
	u.Path = smithyhttp.JoinPath(u.Path, "/")
	if u.RawPath != "" {
		u.RawPath = smithyhttp.JoinPath(u.RawPath, "/")
	}
	return &u, nil
}

func (c *Client) endpointFor(ctx context.Context, arn, id *string, account string) (*url.URL, error) {
	if arn == nil && id == nil && account == "" {
		return &c.endpoint, nil
	}
	k := endpointKey{arn: aws.ToString(arn), id: aws.ToString(id), account: account, hasARN: arn != nil, hasID: id != nil}
	if u, ok := c.endpoints.Load(k); ok {
		return u.(*url.URL), nil
	}
	u, err := c.resolve(ctx, k)
	if err != nil {
		return nil, err
	}
	c.endpoints.Store(k, u)
	return u, nil
}

// operation is what a call needs to know about its operation.
type operation struct {
	name   string
	target []string // X-Amz-Target; shared, never modified
	schema *smithy.OperationSchema
}

func newOperation(name string, op, in, out *smithy.Schema) *operation {
	return &operation{name: name, target: []string{"Kinesis_20131202." + name}, schema: smithy.NewOperationSchema(op, in, out)}
}

var (
	opPutRecord        = newOperation("PutRecord", schemas.PutRecord, schemas.PutRecordInput, schemas.PutRecordOutput)
	opPutRecords       = newOperation("PutRecords", schemas.PutRecords, schemas.PutRecordsInput, schemas.PutRecordsOutput)
	opGetRecords       = newOperation("GetRecords", schemas.GetRecords, schemas.GetRecordsInput, schemas.GetRecordsOutput)
	opGetShardIterator = newOperation("GetShardIterator", schemas.GetShardIterator, schemas.GetShardIteratorInput, schemas.GetShardIteratorOutput)

	contentType = []string{"application/x-amz-json-1.1"}
)

// response is a 2xx answer: its body in a pooled buffer, to be put back
// with done.
type response struct {
	http *http.Response
	body *[]byte
}

func (r *response) done() { responseBufs.put(r.body) }

// send signs and sends the JSON body in buf (a requestBufs buffer, which
// send takes over) and reads the answer. Every failure is returned as the
// SDK would return it.
func (c *Client) send(ctx context.Context, op *operation, arn, id *string, buf *[]byte) (response, error) {
	// The h1 transport has written the body by the time it returns, so it
	// sends it from buf; any other may still be reading it (payload).
	h1, _ := c.rt.(*h1Transport)
	var p *payload
	body := *buf
	if h1 != nil {
		defer requestBufs.put(buf)
	} else {
		p = newPayload(buf)
		defer p.release()
		body = p.bytes()
	}
	if err := ctx.Err(); err != nil {
		return response{}, opError(op, err) // as the SDK, which checks before it signs
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return response{}, opError(op, fmt.Errorf("failed to retrieve credentials: %w", err))
	}
	u, err := c.endpointFor(ctx, arn, id, creds.AccountID)
	if err != nil {
		return response{}, opError(op, err)
	}
	sum := sha256.Sum256(body)
	var hash [2 * sha256.Size]byte
	hex.Encode(hash[:], sum[:])
	// The transport is called directly: http.Client would copy the
	// headers for redirects, which Kinesis never sends. Its Timeout is
	// kept, with its errors; a context deadline that comes first makes it
	// moot.
	now := time.Now()
	deadline := time.Time{}
	if c.timeout > 0 {
		deadline = now.Add(c.timeout)
		if d, ok := ctx.Deadline(); ok && !deadline.Before(d) {
			deadline = time.Time{}
		}
	}
	req := &http.Request{
		Method:     http.MethodPost,
		URL:        u, // never modified
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header: http.Header{
			"Content-Type": contentType,
			"X-Amz-Target": op.target,
		},
		ContentLength: int64(len(body)),
		Host:          u.Host,
	}
	c.signer.signHex(req, creds, c.region, hash[:], now)
	var resp *http.Response
	if h1 != nil {
		// The timeout goes to the connection's deadline, and ctx is
		// watched only if it can end: no context is made.
		resp, err = h1.do(ctx, req, body, deadline)
	} else {
		rctx := ctx
		if !deadline.IsZero() {
			var cancel context.CancelFunc
			rctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		reqURL := *u
		req.URL = &reqURL
		req.Body = p.body()
		req.GetBody = func() (io.ReadCloser, error) { return p.body(), nil }
		resp, err = c.rt.RoundTrip(req.WithContext(rctx))
	}
	if err != nil {
		if !deadline.IsZero() && time.Now().After(deadline) {
			err = &timeoutError{err.Error() + " (Client.Timeout exceeded while awaiting headers)"}
		}
		err = &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: u.Redacted(), Err: err}}
		if ctx.Err() != nil {
			err = &smithy.CanceledError{Err: ctx.Err()}
		}
		return response{}, c.fail(op, nil, err)
	}
	rb, err := readBody(resp)
	if err != nil && !deadline.IsZero() && time.Now().After(deadline) {
		err = &timeoutError{err.Error() + " (Client.Timeout or context cancellation while reading body)"}
	}
	if err != nil {
		return response{}, c.fail(op, resp, &smithy.DeserializationError{Err: err})
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		err := c.apiError(ctx, op, resp, *rb)
		responseBufs.put(rb)
		return response{}, err
	}
	return response{http: resp, body: rb}, nil
}

// timeoutError is http.Client's error for its Timeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string        { return e.msg }
func (e *timeoutError) Timeout() bool        { return true }
func (e *timeoutError) Temporary() bool      { return true }
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// readBody reads and closes resp.Body into a pooled buffer.
func readBody(resp *http.Response) (*[]byte, error) {
	defer resp.Body.Close()
	rb := responseBufs.get()
	b := *rb
	if n := resp.ContentLength; n > 0 {
		// Room for the body and the read that sees its end; a length
		// past what the pool keeps is not trusted up front.
		b = growTo(b, int(min(n, maxPooled))+512)
	}
	for {
		if len(b) == cap(b) {
			b = growTo(b, max(2*cap(b), 4096))
		}
		n, err := resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*rb = b
			responseBufs.put(rb)
			return nil, err
		}
	}
	*rb = b
	resp.Body = http.NoBody // the errors keep resp, not the pooled bytes
	return rb, nil
}

// growTo returns b with a capacity of at least n.
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}

// apiError decodes an error response with the SDK's own protocol, so the
// error has the type, code, message and fault the SDK gives it.
func (c *Client) apiError(ctx context.Context, op *operation, resp *http.Response, body []byte) error {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	err := c.protocol.DeserializeResponse(ctx, op.schema, kinesis.TypeRegistry, &smithyhttp.Response{Response: resp}, nil)
	resp.Body = http.NoBody
	if err == nil { // cannot happen for a status outside 2xx
		err = fmt.Errorf("unexpected HTTP status %d", resp.StatusCode)
	}
	return c.fail(op, resp, err)
}

// decodeError is a 2xx response whose body could not be read.
func (c *Client) decodeError(op *operation, r response, err error) error {
	return c.fail(op, r.http, &smithy.DeserializationError{Err: err})
}

// fail wraps err as the SDK does for a call that got as far as sending:
// a response error (with an empty response when there was none), marked
// as the last attempt when the SDK would have retried it, inside the
// operation error.
func (c *Client) fail(op *operation, resp *http.Response, err error) error {
	if resp == nil {
		resp = &http.Response{Header: http.Header{}, Body: http.NoBody}
	}
	err = &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err},
		RequestID:     requestID(resp.Header),
	}
	if c.retryer != nil && c.retryer.IsErrorRetryable(err) {
		err = &retry.MaxAttemptsError{Attempt: 1, Err: err}
	}
	return opError(op, err)
}

func opError(op *operation, err error) error {
	return &smithy.OperationError{ServiceID: kinesis.ServiceID, OperationName: op.name, Err: err}
}

func requestID(h http.Header) string {
	if v := h.Get("X-Amzn-Requestid"); v != "" {
		return v
	}
	return h.Get("X-Amz-Requestid")
}
