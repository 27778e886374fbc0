// Package httpendpoint delivers batches to an HTTP endpoint with Firehose's
// HTTP endpoint delivery protocol 1.0: one JSON POST per batch, answered by
// a JSON body echoing the request ID.
//
// Unlike Firehose, which takes only https on port 443, any http or https
// URL is accepted, so an endpoint on a laptop or in a test can receive.
package httpendpoint

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

// Error codes, as Firehose writes them to error records and logs.
const (
	CodeDestinationException = "HttpEndpoint.DestinationException"
	CodeInvalidResponse      = "HttpEndpoint.InvalidResponseFromDestination"
	CodeResponseTooLarge     = "HttpEndpoint.ResponseTooLarge"
	CodeRequestTimeout       = "HttpEndpoint.RequestTimeout"
	CodeConnectionFailed     = "HttpEndpoint.ConnectionFailed"
	CodeConnectionReset      = "HttpEndpoint.ConnectionReset"
	CodeSSLHandshakeFailure  = "HttpEndpoint.SSLHandshakeFailure"
	CodeMakeRequestFailure   = "HttpEndpoint.MakeRequestFailure"
)

const (
	// ProtocolVersion is X-Amz-Firehose-Protocol-Version.
	ProtocolVersion = "1.0"
	// RequestTimeout is how long Firehose gives an endpoint to answer.
	RequestTimeout = 3 * time.Minute
	// MaxResponseBytes is the largest response body Firehose reads.
	MaxResponseBytes = 1 << 20
	// MaxAccessKeyBytes is Firehose's limit on AccessKey.
	MaxAccessKeyBytes = 4096
	// MaxErrorMessage is the longest errorMessage Firehose keeps.
	MaxErrorMessage = 8192
	// rawInMessage bounds the raw response quoted in a failure message.
	rawInMessage = 1024
)

// Headers of the protocol.
const (
	HeaderProtocolVersion  = "X-Amz-Firehose-Protocol-Version"
	HeaderRequestID        = "X-Amz-Firehose-Request-Id"
	HeaderSourceARN        = "X-Amz-Firehose-Source-Arn"
	HeaderAccessKey        = "X-Amz-Firehose-Access-Key"
	HeaderCommonAttributes = "X-Amz-Firehose-Common-Attributes"
)

// Config configures a Sink.
type Config struct {
	URL       string
	Name      string
	AccessKey string
	// ContentEncoding is NONE (or empty) or GZIP.
	ContentEncoding  string
	CommonAttributes map[string]string
	SourceARN        string
	// HTTPClient nil means a client with Firehose's 3-minute per-request
	// timeout. Redirects are never followed, whatever the client says.
	HTTPClient *http.Client
	// Now stamps requests; nil means time.Now.
	Now func() time.Time
}

// Sink posts batches to one endpoint. It is safe for concurrent use.
type Sink struct {
	url        string
	name       string
	accessKey  string
	gzip       bool
	commonAttr string // the header's value, "" when there are none
	sourceARN  string
	client     *http.Client
	now        func() time.Time
}

var _ dest.Sink = (*Sink)(nil)

// New checks cfg and makes a Sink; it does not contact the endpoint.
func New(cfg Config) (*Sink, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("httpendpoint: URL %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("httpendpoint: URL %q: scheme must be https or http", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("httpendpoint: URL %q has no host", cfg.URL)
	}
	s := &Sink{url: cfg.URL, name: cfg.Name, accessKey: cfg.AccessKey, sourceARN: cfg.SourceARN, now: cfg.Now}
	switch strings.ToUpper(cfg.ContentEncoding) {
	case "", "NONE":
	case "GZIP":
		s.gzip = true
	default:
		return nil, fmt.Errorf("httpendpoint: ContentEncoding %q: must be NONE or GZIP", cfg.ContentEncoding)
	}
	if len(cfg.AccessKey) > MaxAccessKeyBytes {
		return nil, fmt.Errorf("httpendpoint: AccessKey is %d bytes, more than %d", len(cfg.AccessKey), MaxAccessKeyBytes)
	}
	if err := headerSafe("AccessKey", cfg.AccessKey); err != nil {
		return nil, err
	}
	if err := headerSafe("SourceARN", cfg.SourceARN); err != nil {
		return nil, err
	}
	if len(cfg.CommonAttributes) > 0 {
		b, err := json.Marshal(struct {
			CommonAttributes map[string]string `json:"commonAttributes"`
		}{cfg.CommonAttributes})
		if err != nil {
			return nil, fmt.Errorf("httpendpoint: CommonAttributes: %w", err)
		}
		// json.Marshal escapes control characters, so the header is safe.
		s.commonAttr = string(b)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// The transport would otherwise ask for gzip and undo it behind our
		// back, hiding a content-encoded response that Firehose rejects.
		t.DisableCompression = true
		s.client = &http.Client{Transport: t, Timeout: RequestTimeout}
	} else {
		c := *cfg.HTTPClient
		s.client = &c
	}
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return s, nil
}

func headerSafe(field, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("httpendpoint: %s has a control character, not allowed in an HTTP header", field)
		}
	}
	return nil
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

type requestBody struct {
	RequestID string   `json:"requestId"`
	Timestamp int64    `json:"timestamp"`
	Records   []record `json:"records"`
}

type record struct {
	Data []byte `json:"data"` // base64 by encoding/json
}

// Send posts the batch once. Only a 200 with a well-formed body echoing
// b.ID is success; a 413 fails permanently; everything else is retryable.
func (s *Sink) Send(ctx context.Context, b dest.Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	rb := requestBody{RequestID: b.ID, Timestamp: s.now().UnixMilli(), Records: make([]record, len(b.Records))}
	for i, r := range b.Records {
		rb.Records[i].Data = r
	}
	body, err := json.Marshal(rb)
	if err != nil {
		return &dest.Failure{Code: CodeMakeRequestFailure, Message: err.Error(), Err: err}
	}
	if s.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body) // a bytes.Buffer does not fail
		_ = zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &dest.Failure{Code: CodeMakeRequestFailure, Message: err.Error(), Err: err}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	if s.gzip {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set(HeaderProtocolVersion, ProtocolVersion)
	h.Set(HeaderRequestID, b.ID)
	h.Set(HeaderSourceARN, s.sourceARN)
	if s.accessKey != "" {
		h.Set(HeaderAccessKey, s.accessKey)
	}
	if s.commonAttr != "" {
		h.Set(HeaderCommonAttributes, s.commonAttr)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return transportFailure(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return transportFailure(ctx, err)
	}
	return judge(b.ID, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), raw)
}

// judge turns a response into nil or the *dest.Failure Firehose reports.
func judge(requestID string, status int, contentType, contentEncoding string, raw []byte) error {
	if status == http.StatusRequestEntityTooLarge {
		return &dest.Failure{Code: CodeDestinationException, Message: received(status, raw), Err: dest.ErrPermanent}
	}
	if len(raw) > MaxResponseBytes {
		return &dest.Failure{Code: CodeResponseTooLarge, Message: fmt.Sprintf(
			"The response received from the endpoint is too large: more than %d bytes. Status %d.", MaxResponseBytes, status)}
	}
	if status != http.StatusOK {
		msg := received(status, raw)
		// The body is already quoted, but maybe cut short before errorMessage.
		if len(raw) > rawInMessage {
			var e struct {
				ErrorMessage string `json:"errorMessage"`
			}
			if json.Unmarshal(raw, &e) == nil && e.ErrorMessage != "" {
				msg += " errorMessage: " + truncate(e.ErrorMessage, MaxErrorMessage)
			}
		}
		return &dest.Failure{Code: CodeDestinationException, Message: msg}
	}
	r, err := ParseResponse(contentType, contentEncoding, raw)
	if err == nil && r.RequestID != requestID {
		err = fmt.Errorf("requestId %q does not match the request's %q", r.RequestID, requestID)
	}
	if err != nil {
		return &dest.Failure{Code: CodeInvalidResponse, Message: fmt.Sprintf(
			"The response received from the specified endpoint is invalid. Contact the owner of the endpoint to resolve the issue. Response for request %s is not recognized as valid: %v. Raw response received: %d %s",
			requestID, err, status, truncate(string(raw), rawInMessage))}
	}
	return nil
}

func received(status int, raw []byte) string {
	return fmt.Sprintf("The following response was received from the endpoint destination. %d: %s", status, truncate(string(raw), rawInMessage))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Response is an endpoint's answer.
type Response struct {
	RequestID    string
	Timestamp    int64
	ErrorMessage string
}

// ParseResponse checks a response as Firehose does: an uncompressed
// application/json body of at most 1 MiB holding exactly one object with a
// string requestId, a numeric timestamp, an optional string errorMessage
// and nothing else. On error, the fields read so far are returned too.
func ParseResponse(contentType, contentEncoding string, body []byte) (Response, error) {
	var r Response
	if len(body) > MaxResponseBytes {
		return r, fmt.Errorf("body is larger than %d bytes", MaxResponseBytes)
	}
	if contentEncoding != "" && !strings.EqualFold(contentEncoding, "identity") {
		return r, fmt.Errorf("response is content-encoded (%s)", contentEncoding)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return r, fmt.Errorf("content-type is %q, not application/json", contentType)
	}
	var w struct {
		RequestID    *string          `json:"requestId"`
		Timestamp    *json.RawMessage `json:"timestamp"`
		ErrorMessage *string          `json:"errorMessage"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return r, fmt.Errorf("not valid JSON or has unexpected fields: %v", err)
	}
	if w.ErrorMessage != nil {
		r.ErrorMessage = *w.ErrorMessage
	}
	if w.RequestID != nil {
		r.RequestID = *w.RequestID
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, errors.New("data after the JSON object")
	}
	if w.RequestID == nil {
		return r, errors.New("missing requestId")
	}
	if w.Timestamp == nil {
		return r, errors.New("missing timestamp")
	}
	// A number, not a string holding one.
	ts, err := strconv.ParseInt(string(*w.Timestamp), 10, 64)
	if err != nil {
		var f float64
		if json.Unmarshal(*w.Timestamp, &f) != nil {
			return r, fmt.Errorf("timestamp %s is not a number", truncate(string(*w.Timestamp), 64))
		}
		ts = int64(f)
	}
	r.Timestamp = ts
	return r, nil
}

// transportFailure names a failed exchange as Firehose does.
func transportFailure(ctx context.Context, err error) error {
	f := &dest.Failure{Message: err.Error(), Err: err}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil:
		f.Code = CodeRequestTimeout
		f.Err = errors.Join(err, ctx.Err())
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		errors.As(err, &recErr), errors.As(err, &alert):
		f.Code = CodeSSLHandshakeFailure
	case errors.As(err, &opErr) && opErr.Op == "dial":
		f.Code = CodeConnectionFailed
	case errors.As(err, &netErr) && netErr.Timeout():
		f.Code = CodeRequestTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.EPIPE):
		f.Code = CodeConnectionReset
	default:
		f.Code = CodeConnectionFailed
	}
	return f
}
