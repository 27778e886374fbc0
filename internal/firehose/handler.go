package firehose

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/wire"
)

// TargetPrefix is the X-Amz-Target service of the Firehose API.
const TargetPrefix = "Firehose_20150804"

// ContentType is AWS JSON 1.1's media type.
const ContentType = "application/x-amz-json-1.1"

// DefaultMaxBodyBytes caps a request body: a full PutRecordBatch (4 MiB
// of data) is about 5.6 MB once base64-encoded.
const DefaultMaxBodyBytes = 8 << 20

// IsTarget reports whether a request with headers h is meant for the
// Firehose API, so a shared port can route it here.
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
	// Verifier checks SigV4 signatures (it should be configured for
	// service "firehose"). Nil accepts any complete signature unchecked
	// and takes the caller from its credential scope.
	Verifier *sigv4.Verifier
}

// Handler serves the Firehose API on POST /.
type Handler struct {
	svc      *Service
	log      *slog.Logger
	maxBody  int64
	verifier *sigv4.Verifier
}

// NewHandler returns the HTTP handler for svc.
func NewHandler(svc *Service, opts HandlerOptions) *Handler {
	h := &Handler{svc: svc, log: opts.Logger, maxBody: opts.MaxBodyBytes, verifier: opts.Verifier}
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
		if err := decodeJSON(body, in); err != nil {
			return nil, err
		}
		return f(s, ctx, in)
	}
}

// putOp is op for PutRecord and PutRecordBatch, the data path: their
// bodies decode with the Kinesis API's one-pass decoder.
func putOp[I, O any](f func(*Service, context.Context, *I) (*O, error)) operation {
	return func(ctx context.Context, s *Service, body []byte) (any, error) {
		in := new(I)
		if err := wire.DecodeJSON(body, in); err != nil {
			if de, ok := errors.AsType[*wire.DecodeError](err); ok {
				return nil, &Error{Kind: ErrSerialization, Message: de.Message}
			}
			return nil, err
		}
		return f(s, ctx, in)
	}
}

var operations = map[string]operation{
	"CreateDeliveryStream":          op((*Service).CreateDeliveryStream),
	"DeleteDeliveryStream":          op((*Service).DeleteDeliveryStream),
	"DescribeDeliveryStream":        op((*Service).DescribeDeliveryStream),
	"ListDeliveryStreams":           op((*Service).ListDeliveryStreams),
	"UpdateDestination":             op((*Service).UpdateDestination),
	"PutRecord":                     putOp((*Service).PutRecord),
	"PutRecordBatch":                putOp((*Service).PutRecordBatch),
	"TagDeliveryStream":             op((*Service).TagDeliveryStream),
	"UntagDeliveryStream":           op((*Service).UntagDeliveryStream),
	"ListTagsForDeliveryStream":     op((*Service).ListTagsForDeliveryStream),
	"StartDeliveryStreamEncryption": op((*Service).StartDeliveryStreamEncryption),
	"StopDeliveryStreamEncryption":  op((*Service).StopDeliveryStreamEncryption),
}

// Operations lists the operation names served.
func Operations() []string {
	names := make([]string, 0, len(operations))
	for n := range operations {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// exchange is one request in flight.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	id     string
	op     string
	status int
	wrote  bool
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{w: w, r: r, id: requestID()}
	w.Header().Set("x-amzn-RequestId", x.id)
	wire.SetAmzID2(w.Header())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("firehose: panic serving request", "op", x.op, "request_id", x.id,
				"panic", v, "stack", string(debug.Stack()))
			if !x.wrote {
				x.writeError(&Error{Kind: ErrInternal, Message: internalMessage})
			}
		}
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "firehose request",
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
	body, err := wire.ReadBody(x.w, x.r, h.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			x.write(http.StatusRequestEntityTooLarge, "", nil)
			return
		}
		h.log.Debug("firehose: reading request body", "request_id", x.id, "err", err)
		x.writeError(&Error{Kind: ErrSerialization})
		return
	}
	if r.Method != http.MethodPost {
		x.write(http.StatusNotFound, "", []byte("<UnknownOperationException/>\n"))
		return
	}
	svc, name, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	x.op = name
	call, known := operations[name]
	if svc != TargetPrefix || !known {
		x.writeError(&Error{Kind: ErrUnknownOperation})
		return
	}
	caller, err := wire.Authenticate(r, body, h.verifier)
	if err != nil {
		x.writeAuthError(err)
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	ctx := kinesis.WithCaller(r.Context(), caller)
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
	x.write(http.StatusOK, ContentType, b)
}

// fail renders err, logging the ones that are not the client's.
func (h *Handler) fail(x *exchange, err error) {
	var ke *kinesis.Error
	if errors.As(err, &ke) && errors.Is(err, kinesis.ErrAccessDenied) {
		err = &Error{Kind: ErrAccessDenied, Message: ke.Message}
	}
	var fe *Error
	if !errors.As(err, &fe) || errors.Is(fe.Kind, ErrInternal) {
		if x.r.Context().Err() != nil {
			h.log.Debug("firehose: request abandoned", "op", x.op, "request_id", x.id, "err", err)
		} else {
			h.log.Error("firehose: internal error", "op", x.op, "request_id", x.id, "err", err)
		}
		fe = &Error{Kind: ErrInternal, Message: internalMessage}
	}
	x.writeError(fe)
}

func (x *exchange) writeAuthError(err error) {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		x.writeError(&Error{Kind: ErrInternal, Message: internalMessage})
		return
	}
	x.w.Header().Set("X-Amzn-ErrorType", e.Type)
	x.write(e.Status, ContentType, errorBody(e.Type, "message", e.Message, ""))
}

// cors answers browser requests; true when the request is fully handled
// (a preflight).
func (x *exchange) cors() bool {
	x.w.Header().Set("Access-Control-Expose-Headers", "x-amzn-RequestId,x-amzn-ErrorType,Date")
	if !wire.Preflight(x.w.Header(), x.r) {
		return false
	}
	x.write(http.StatusOK, "", nil)
	return true
}

// writeError renders every service error: {"__type","message"}, the
// message left out when there is none (protocol errors).
func (x *exchange) writeError(e *Error) {
	status, ok := errorStatus[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	typ := e.Kind.Error()
	x.w.Header().Set("X-Amzn-ErrorType", typ)
	key := "message"
	if e.Message == "" {
		key = ""
	}
	x.write(status, ContentType, errorBody(typ, key, e.Message, e.Code))
}

// errorBody is {"__type","code","message"}: code only when given, the
// message only with a key.
func errorBody(typ, key, msg, code string) []byte {
	t, _ := marshalJSON(typ)
	b := append([]byte(`{"__type":`), t...)
	if code != "" {
		c, _ := marshalJSON(code)
		b = append(b, `,"code":`...)
		b = append(b, c...)
	}
	if key != "" {
		m, _ := marshalJSON(msg)
		b = append(b, `,"`+key+`":`...)
		b = append(b, m...)
	}
	return append(b, '}')
}

func (x *exchange) write(status int, contentType string, body []byte) {
	hdr := x.w.Header()
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	x.status, x.wrote = status, true
	if len(body) > 0 && x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// requestID is a random UUID, as Firehose's request ids are.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// marshalJSON is json.Marshal without HTML escaping, as AWS writes.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeJSON reads a request body (or a member of one) into in. Bodies
// that are not JSON objects, values of the wrong type and bad base64 are
// SerializationException, in the words of AWS's Java front end.
func decodeJSON(body []byte, in any) error {
	if !json.Valid(body) {
		return &Error{Kind: ErrSerialization}
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return &Error{Kind: ErrSerialization, Message: "Start of structure or map expected"}
	}
	err := json.Unmarshal(body, in)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Kind: ErrSerialization, Message: typeMessage(te)}
	}
	var be base64.CorruptInputError
	if errors.As(err, &be) {
		return &Error{Kind: ErrSerialization, Message: "Data can not be converted to a Blob: invalid Base64 at byte " + strconv.FormatInt(int64(be), 10)}
	}
	return &Error{Kind: ErrSerialization}
}

// typeMessage words a type mismatch as AWS's Java front end does.
func typeMessage(te *json.UnmarshalTypeError) string {
	class := "java.lang.String"
	switch {
	case te.Value == "object":
		return "Start of structure or map found where not expected."
	case te.Value == "array":
		return "Start of list found where not expected"
	case te.Value == "bool":
		class = "java.lang.Boolean"
	case strings.HasPrefix(te.Value, "number"):
		class = "java.math.BigDecimal"
		if te.Type != nil && strings.HasPrefix(te.Type.Kind().String(), "int") {
			return "NUMBER_VALUE can not be converted to an Integer: " + strings.TrimSpace(strings.TrimPrefix(te.Value, "number"))
		}
	}
	target := "String"
	if te.Type != nil {
		switch k := te.Type.Kind().String(); {
		case k == "bool":
			target = "Boolean"
		case strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint"):
			target = "Integer"
		case k == "slice" && te.Type.Elem().Kind().String() == "uint8":
			target = "Blob"
		case k == "slice":
			return "Expected list or null"
		case k == "struct" || k == "ptr":
			return "Expected null"
		case k == "map":
			return "Expected map or null"
		}
	}
	return "class " + class + " can not be converted to an " + target
}
