package cloudwatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/wire"
)

// The service's names in each protocol.
const (
	serviceName = "GraniteServiceVersion20100801"
	apiVersion  = "2010-08-01"
	rpcPrefix   = "/service/" + serviceName + "/operation/"

	contentTypeJSON = "application/x-amz-json-1.0"
	contentTypeCBOR = "application/cbor"
	contentTypeXML  = "text/xml"
	contentTypeForm = "application/x-www-form-urlencoded"
)

// maxBodyBytes caps a request: 500 metric queries with dimensions fit
// well within it.
const maxBodyBytes = 2 << 20

func isRequest(r *http.Request) bool {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		svc, _, _ := strings.Cut(t, ".")
		return svc == serviceName
	}
	if strings.HasPrefix(r.URL.Path, "/service/"+serviceName+"/") {
		return true
	}
	return r.Method == http.MethodPost && mediaType(r.Header.Get("Content-Type")) == contentTypeForm
}

func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// output is what every operation returns.
type output interface{ tree() obj }

// operation decodes an input from a tree and calls the service.
type operation func(ctx context.Context, s *Service, r *reader, root node) (output, error)

func op[I any, O output](read func(*reader, node) *I, call func(*Service, context.Context, *I) (O, error)) operation {
	return func(ctx context.Context, s *Service, r *reader, root node) (output, error) {
		in := read(r, root)
		if r.err != nil {
			return nil, r.err
		}
		return call(s, ctx, in)
	}
}

var operations = map[string]operation{
	"GetMetricStatistics": op(readGetMetricStatistics, (*Service).getMetricStatistics),
	"GetMetricData":       op(readGetMetricData, (*Service).getMetricData),
	"ListMetrics":         op(readListMetrics, (*Service).listMetrics),
}

// handler serves the three protocols.
type handler struct {
	svc      *Service
	log      *slog.Logger
	verifier *sigv4.Verifier
}

func newHandler(svc *Service, opts HandlerOptions) http.Handler {
	h := &handler{svc: svc, log: opts.Logger, verifier: opts.Verifier}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// exchange is one request in flight.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	id    string
	proto protocol
	op    string
	// status is what was answered, for the log.
	status int
	wrote  bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{w: w, r: r, id: requestID()}
	w.Header().Set("x-amzn-RequestId", x.id)
	wire.SetAmzID2(w.Header())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("cloudwatch: panic serving request", "op", x.op, "request_id", x.id,
				"panic", v, "stack", string(debug.Stack()))
			if !x.wrote {
				x.writeError(&Error{Kind: ErrInternal, Message: internalMessage})
			}
		}
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "cloudwatch request",
				slog.String("op", x.op), slog.Int("status", x.status),
				slog.Duration("duration", time.Since(start)), slog.String("request_id", x.id))
		}
	}()
	h.serve(x)
}

// serve is the transport: it finds the protocol and operation, checks
// the signature, decodes, calls the service and encodes the answer.
func (h *handler) serve(x *exchange) {
	r := x.r
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/"):
		x.proto = protoCBOR
	case r.Header.Get("X-Amz-Target") != "":
		x.proto = protoJSON
	default:
		x.proto = protoQuery
	}
	if r.Header.Get("Origin") != "" && x.cors() {
		return
	}
	body, err := wire.ReadBody(x.w, r, maxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			x.write(http.StatusRequestEntityTooLarge, "", nil)
			return
		}
		h.log.Debug("cloudwatch: reading request body", "request_id", x.id, "err", err)
		x.writeError(&Error{Kind: ErrSerialization, Message: "The request body could not be read."})
		return
	}
	if r.Method != http.MethodPost {
		x.writeError(&Error{Kind: ErrUnknownOperation, Message: "Operations are served on POST only.", status: http.StatusNotFound})
		return
	}

	var root node
	switch x.proto {
	case protoCBOR:
		name, ok := strings.CutPrefix(r.URL.Path, rpcPrefix)
		x.op = name
		if !ok || operations[name] == nil {
			x.writeError(&Error{Kind: ErrUnknownOperation, Message: "No such operation: " + r.URL.Path, status: http.StatusNotFound})
			return
		}
		if p := r.Header.Get("Smithy-Protocol"); p != "" && p != "rpc-v2-cbor" {
			x.writeError(&Error{Kind: ErrUnsupportedProtocol, Message: "Smithy-Protocol " + p + " is not supported; use rpc-v2-cbor."})
			return
		}
	case protoJSON:
		_, name, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		x.op = name
		if operations[name] == nil {
			x.writeError(&Error{Kind: ErrUnknownOperation, Message: "No such operation: " + name})
			return
		}
	default:
		form, err := parseForm(body)
		if err != nil {
			h.fail(x, err)
			return
		}
		root = node{v: form}
		action, version := formValue(form, "Action"), formValue(form, "Version")
		x.op = action
		if action == "" {
			x.writeError(&Error{Kind: ErrInvalidAction, Message: "The request is missing an action or a required parameter.", code: "MissingAction"})
			return
		}
		if version == "" {
			version = "NO_VERSION_SPECIFIED"
		}
		if operations[action] == nil || version != apiVersion {
			x.writeError(errorf(ErrInvalidAction, "Could not find operation %s for version %s", action, version))
			return
		}
	}

	caller, err := wire.Authenticate(r, body, h.verifier)
	if err != nil {
		x.writeError(authError(err))
		return
	}
	switch x.proto {
	case protoJSON:
		m, err := decodeJSONBody(body)
		if err != nil {
			h.fail(x, err)
			return
		}
		root = node{v: m}
	case protoCBOR:
		m, err := decodeCBORBody(body)
		if err != nil {
			h.fail(x, err)
			return
		}
		root = node{v: m}
	}

	ctx := kinesis.WithCaller(r.Context(), caller)
	out, err := operations[x.op](ctx, h.svc, &reader{p: x.proto}, root)
	if err != nil {
		h.fail(x, err)
		return
	}
	t := out.tree()
	switch x.proto {
	case protoQuery:
		x.write(http.StatusOK, contentTypeXML, encodeXML(x.op, x.id, t))
	case protoJSON:
		x.write(http.StatusOK, contentTypeJSON, encodeJSON(t))
	case protoCBOR:
		b, err := encodeCBOR(t)
		if err != nil {
			h.fail(x, err)
			return
		}
		x.write(http.StatusOK, contentTypeCBOR, b)
	}
}

func formValue(n *qnode, key string) string {
	if c := n.kids[key]; c != nil {
		return c.val
	}
	return ""
}

// fail renders err, logging the ones that are not the client's.
func (h *handler) fail(x *exchange, err error) {
	var ke *kinesis.Error
	if errors.As(err, &ke) && errors.Is(err, kinesis.ErrAccessDenied) {
		err = &Error{Kind: ErrAccessDenied, Message: ke.Message}
	}
	var ce *Error
	if !errors.As(err, &ce) || errors.Is(ce.Kind, ErrInternal) {
		if x.r.Context().Err() != nil {
			h.log.Debug("cloudwatch: request abandoned", "op", x.op, "request_id", x.id, "err", err)
		} else {
			h.log.Error("cloudwatch: internal error", "op", x.op, "request_id", x.id, "err", err)
		}
		ce = &Error{Kind: ErrInternal, Message: internalMessage}
	}
	x.writeError(ce)
}

// writeError renders every error, in the request's protocol.
func (x *exchange) writeError(e *Error) {
	code, shape, k := e.render()
	fault := "Sender"
	if k.receiver {
		fault = "Receiver"
	}
	hdr := x.w.Header()
	if x.proto != protoQuery && !k.noQueryCode {
		hdr.Set("x-amzn-query-error", code+";"+fault)
	}
	switch x.proto {
	case protoQuery:
		x.write(k.status, contentTypeXML, errorXML(fault, code, e.Message, x.id))
	case protoJSON:
		hdr.Set("X-Amzn-ErrorType", shape)
		x.write(k.status, contentTypeJSON, encodeJSON(obj{{"__type", shape}, {k.msgKey, e.Message}}))
	case protoCBOR:
		b, err := encodeCBOR(obj{{"__type", shape}, {k.msgKey, e.Message}})
		if err != nil { // strings always encode
			b = nil
		}
		x.write(k.status, contentTypeCBOR, b)
	}
}

// cors answers browser requests; true when the request is fully handled
// (a preflight).
func (x *exchange) cors() bool {
	x.w.Header().Set("Access-Control-Expose-Headers",
		"x-amzn-RequestId,x-amzn-ErrorType,x-amzn-query-error,Smithy-Protocol,Date")
	if !wire.Preflight(x.w.Header(), x.r) {
		return false
	}
	x.write(http.StatusOK, "", nil)
	return true
}

func (x *exchange) write(status int, contentType string, body []byte) {
	hdr := x.w.Header()
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	if x.proto == protoCBOR {
		// Smithy RPC v2 clients refuse responses without it.
		hdr.Set("Smithy-Protocol", "rpc-v2-cbor")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	x.status, x.wrote = status, true
	if len(body) > 0 && x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// requestID is a random UUID, as CloudWatch's request ids are.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
