package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"hash/crc32"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/wire"
)

// TargetPrefix is the X-Amz-Target service of the DynamoDB API.
const TargetPrefix = "DynamoDB_20120810"

// ContentType is AWS JSON 1.0's media type.
const ContentType = "application/x-amz-json-1.0"

// DefaultMaxBodyBytes caps a request body, as DynamoDB does (16 MB).
const DefaultMaxBodyBytes = 16 << 20

// IsTarget reports whether a request with headers h is meant for the
// DynamoDB API, so a shared port can route it here.
func IsTarget(h http.Header) bool {
	svc, _, _ := strings.Cut(h.Get("X-Amz-Target"), ".")
	return svc == TargetPrefix
}

// HandlerOptions configures a Handler.
type HandlerOptions struct {
	// Logger receives a Debug line per request and an Error line per
	// unexpected failure; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Verifier checks SigV4 signatures (service "dynamodb"). Nil accepts
	// any complete signature unchecked and takes the caller from its
	// credential scope.
	Verifier *sigv4.Verifier
	// Internal makes every caller Rivulet itself (kinesis.Caller.Service),
	// for the delivery engine's in-process calls.
	Internal bool
}

// Handler serves the DynamoDB API on POST /.
type Handler struct {
	svc      *Service
	log      *slog.Logger
	maxBody  int64
	verifier *sigv4.Verifier
	internal bool
}

// NewHandler returns the HTTP handler for svc.
func NewHandler(svc *Service, opts HandlerOptions) *Handler {
	h := &Handler{svc: svc, log: opts.Logger, maxBody: opts.MaxBodyBytes, verifier: opts.Verifier, internal: opts.Internal}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h
}

// operation decodes a body into its input and calls the service.
type operation func(ctx context.Context, s *Service, body []byte) (any, error)

func op[I, O any](f func(*Service, context.Context, *I) (*O, error)) operation {
	return func(ctx context.Context, s *Service, body []byte) (any, error) {
		in := new(I)
		if err := decodeBody(body, in); err != nil {
			return nil, err
		}
		out, err := f(s, ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

type hostKey struct{}

// operations is the subset served; every other name is
// UnknownOperationException.
var operations = map[string]operation{
	"CreateTable":               op((*Service).CreateTable),
	"DescribeTable":             op((*Service).DescribeTable),
	"DeleteTable":               op((*Service).DeleteTable),
	"ListTables":                op((*Service).ListTables),
	"UpdateTable":               op((*Service).UpdateTable),
	"GetItem":                   op((*Service).GetItem),
	"PutItem":                   op((*Service).PutItem),
	"UpdateItem":                op((*Service).UpdateItem),
	"DeleteItem":                op((*Service).DeleteItem),
	"Scan":                      op((*Service).Scan),
	"Query":                     op((*Service).Query),
	"BatchGetItem":              op((*Service).BatchGetItem),
	"BatchWriteItem":            op((*Service).BatchWriteItem),
	"TagResource":               op((*Service).TagResource),
	"UntagResource":             op((*Service).UntagResource),
	"ListTagsOfResource":        op((*Service).ListTagsOfResource),
	"UpdateContinuousBackups":   op((*Service).UpdateContinuousBackups),
	"DescribeContinuousBackups": op((*Service).DescribeContinuousBackups),
	"DescribeTimeToLive":        op((*Service).DescribeTimeToLive),
	"DescribeLimits":            op((*Service).DescribeLimits),
	"DescribeEndpoints": func(ctx context.Context, s *Service, _ []byte) (any, error) {
		if err := s.authorize(ctx, "DescribeEndpoints", "*", nil); err != nil {
			return nil, err
		}
		host, _ := ctx.Value(hostKey{}).(string)
		return s.describeEndpoints(host), nil
	},
}

// Operations lists the operation names served, for documentation and
// routing tests.
func Operations() []string { return sortedKeys(operations) }

// exchange is one request in flight.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	id     string
	op     string
	ctype  string
	status int
	wrote  bool
}

const headerRequestID = "x-amzn-RequestId"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{w: w, r: r, id: requestID(), ctype: ContentType}
	w.Header()[headerRequestID] = []string{x.id}
	wire.SetAmzID2(w.Header())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("dynamodb: panic serving request", "op", x.op, "request_id", x.id,
				"panic", v, "stack", string(debug.Stack()))
			if !x.wrote {
				x.writeError(internalError())
			}
		}
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "dynamodb request",
				slog.String("op", x.op), slog.Int("status", x.status),
				slog.Duration("duration", time.Since(start)), slog.String("request_id", x.id))
		}
	}()
	h.serve(x)
}

func (h *Handler) serve(x *exchange) {
	r := x.r
	if r.Header.Get("Origin") != "" && x.cors() {
		return
	}
	if r.Method == http.MethodGet {
		x.write(http.StatusOK, "", []byte("healthy: dynamodb."+kinesis.DefaultCaller.Region+".amazonaws.com "))
		return
	}
	body, err := wire.ReadBody(x.w, x.r, h.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			x.write(http.StatusRequestEntityTooLarge, "", nil)
			return
		}
		h.log.Debug("dynamodb: reading request body", "request_id", x.id, "err", err)
		x.writeError(wireError{status: http.StatusBadRequest, typ: nsCoral + "SerializationException"})
		return
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(ct)
	if r.Method != http.MethodPost || (len(body) > 0 && ct != ContentType && ct != "application/json") {
		x.write(http.StatusNotFound, "", []byte("<UnknownOperationException/>\n"))
		return
	}
	if ct == "application/json" {
		x.ctype = ct
	}
	if len(body) > 0 && !json.Valid(body) {
		x.writeError(wireError{status: http.StatusBadRequest, typ: nsCoral + "SerializationException"})
		return
	}
	svc, name, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	x.op = name
	call, known := operations[name]
	if svc != TargetPrefix || !known {
		x.writeError(wireError{status: http.StatusBadRequest, typ: nsCoral + "UnknownOperationException"})
		return
	}
	caller, werr := h.authenticate(r, body)
	if werr != nil {
		x.writeError(*werr)
		return
	}
	if len(body) == 0 {
		x.writeError(wireError{status: http.StatusBadRequest, typ: nsCoral + "SerializationException"})
		return
	}
	ctx := kinesis.WithCaller(r.Context(), caller)
	ctx = context.WithValue(ctx, hostKey{}, r.Host)
	out, err := call(ctx, h.svc, body)
	if err != nil {
		h.fail(x, err)
		return
	}
	b, err := marshalJSON(out)
	if err != nil {
		h.fail(x, err)
		return
	}
	x.write(http.StatusOK, x.ctype, b)
}

// fail renders err, logging the ones that are not the client's.
func (h *Handler) fail(x *exchange, err error) {
	we, ok := toWire(err)
	if !ok {
		if x.r.Context().Err() != nil {
			h.log.Debug("dynamodb: request abandoned", "op", x.op, "request_id", x.id, "err", err)
		} else {
			h.log.Error("dynamodb: internal error", "op", x.op, "request_id", x.id, "err", err)
		}
		we = internalError()
	}
	x.writeError(we)
}

// authenticate finds the caller exactly as the Kinesis adapter does.
func (h *Handler) authenticate(r *http.Request, body []byte) (kinesis.Caller, *wireError) {
	c, err := wire.Authenticate(r, body, h.verifier)
	if err != nil {
		return kinesis.Caller{}, authError(err)
	}
	c.Service = h.internal
	return c, nil
}

// authError renders a signature failure in DynamoDB's words.
func authError(err error) *wireError {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		we := internalError()
		return &we
	}
	msg := e.Message
	if e.Type == sigv4.TypeMissingToken {
		msg = "Request is missing Authentication Token"
	}
	return &wireError{status: e.Status, typ: nsCoral + e.Type, msgKey: "message", msg: msg}
}

// cors answers browser requests as DynamoDB does; true when the request
// is fully handled (a preflight).
func (x *exchange) cors() bool {
	if !wire.Preflight(x.w.Header(), x.r) {
		return false
	}
	x.write(http.StatusOK, "", nil)
	return true
}

// writeError renders every error response.
func (x *exchange) writeError(e wireError) {
	x.write(e.status, x.ctype, e.body())
}

// write sends a complete response with its CRC32, which SDKs check.
func (x *exchange) write(status int, contentType string, body []byte) {
	hdr := x.w.Header()
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	} else {
		hdr["Content-Type"] = nil
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	x.w.WriteHeader(status)
	x.status, x.wrote = status, true
	if len(body) > 0 && x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// requestID is DynamoDB's style of id: 52 characters of [A-Z0-9].
func requestID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [52]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// decodeBody reads a request body into in, turning Go's type errors into
// Coral's SerializationException wording.
func decodeBody(body []byte, in any) error {
	if err := json.Unmarshal(body, in); err != nil {
		return serializationError(body, err)
	}
	return checkRawValues(reflect.ValueOf(in))
}

func serializationError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &Error{Kind: ErrSerialization}
	}
	target := "String"
	switch te.Type.Kind().String() {
	case "int64", "int", "int32":
		target = "Long"
		if f := strings.ToLower(te.Field); strings.HasSuffix(f, "limit") || strings.HasSuffix(f, "segment") || strings.HasSuffix(f, "segments") {
			target = "Integer"
		}
	case "bool":
		target = "Boolean"
	case "struct", "map":
		return &Error{Kind: ErrSerialization, Message: "Unexpected field type"}
	case "slice":
		return &Error{Kind: ErrSerialization, Message: "Unexpected field type"}
	}
	v := te.Value
	switch {
	case v == "object":
		return &Error{Kind: ErrSerialization, Message: "Start of structure or map found where not expected"}
	case v == "array":
		return &Error{Kind: ErrSerialization, Message: "Unrecognized collection type class java.lang." + target}
	case v == "string":
		if target == "Boolean" {
			return &Error{Kind: ErrSerialization, Message: "Unexpected token received from parser"}
		}
		return &Error{Kind: ErrSerialization, Message: "STRING_VALUE cannot be converted to " + target}
	case v == "bool":
		word := "FALSE_VALUE"
		if end := int(te.Offset); end <= len(body) && end >= 4 && string(body[end-4:end]) == "true" {
			word = "TRUE_VALUE"
		}
		return &Error{Kind: ErrSerialization, Message: word + " cannot be converted to " + target}
	case strings.HasPrefix(v, "number"):
		word := "NUMBER_VALUE"
		if strings.ContainsAny(strings.TrimPrefix(v, "number"), ".eE") {
			word = "DECIMAL_VALUE"
		}
		return &Error{Kind: ErrSerialization, Message: word + " cannot be converted to " + target}
	}
	return &Error{Kind: ErrSerialization}
}
