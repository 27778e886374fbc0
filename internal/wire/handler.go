// Package wire is the HTTP transport of the Kinesis API. It turns AWS JSON 1.1
// and CBOR 1.1 requests into kinesis.Operation calls and renders results and
// errors the way AWS does, including AWS's answers to malformed requests
// (checked against kinesalite, which mirrors real AWS).
package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
)

// Target prefix and content types of the Kinesis API.
const (
	TargetPrefix    = "Kinesis_20131202"
	ContentTypeJSON = "application/x-amz-json-1.1"
	ContentTypeCBOR = "application/x-amz-cbor-1.1"

	// Plain JSON is the old Coral content type; AWS still answers it, but
	// never runs an operation for it.
	contentTypePlainJSON = "application/json"
)

// DefaultMaxBodyBytes caps a request body. The largest legal request is a
// PutRecords (or PutRecord) with 10 MiB of payload: base64 makes the data
// 13.4 MiB in JSON, and 500 partition keys of 256 characters written as
// escaped surrogate pairs add up to 1.5 MiB more.
const DefaultMaxBodyBytes = 16 << 20

// Options configures a Handler.
type Options struct {
	// Logger receives a Debug line per request and an Error line per
	// unexpected failure. Nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; larger ones get 413. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Verifier checks every request's SigV4 signature (auth sigv4). Nil
	// accepts any complete signature unchecked (auth none).
	Verifier *sigv4.Verifier
	// Internal makes every caller Rivulet itself (kinesis.Caller.Service):
	// for the handler the delivery engine calls in-process, never one
	// behind a listener.
	Internal bool
}

// Responder is an operation output that writes its own HTTP response, for
// example an event stream. The adapter has already decoded the input and
// set x-amzn-RequestId.
type Responder interface {
	Respond(w http.ResponseWriter, r *http.Request)
}

// Handler serves the Kinesis API on POST /.
type Handler struct {
	ops      map[string]kinesis.Operation
	log      *slog.Logger
	maxBody  int64
	verifier *sigv4.Verifier
	internal bool
}

// NewHandler returns the adapter for ops, keyed by operation name
// ("PutRecord", ...), with default options.
func NewHandler(ops map[string]kinesis.Operation, logger *slog.Logger) http.Handler {
	return New(ops, Options{Logger: logger})
}

// New returns the adapter for ops with the given options.
func New(ops map[string]kinesis.Operation, o Options) *Handler {
	h := &Handler{ops: ops, log: o.Logger, maxBody: o.MaxBodyBytes, verifier: o.Verifier, internal: o.Internal}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h
}

// Streaming reports whether a request with header hdr would run an
// operation declared kinesis.Operation.Streaming: its answer is an event
// stream, which needs a transport that flushes as it writes. It reads
// X-Amz-Target as ServeHTTP does; it is transport.Config.Streaming.
func (h *Handler) Streaming(hdr http.Header) bool {
	svc, name := splitTarget(hdr.Get("X-Amz-Target"))
	op, ok := h.ops[name]
	return ok && svc == TargetPrefix && op.Streaming
}

// Request ids come from a buffered pool of crypto/rand bytes, not one read
// per request; nothing else in the process draws random UUIDs before this
// runs, as EnableRandPool requires.
func init() { uuid.EnableRandPool() }

// exchange is one request in flight.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	id     string
	op     string
	format format
	status int
	wrote  bool
}

// Header names are set verbatim so HTTP/1.1 clients see AWS's spelling.
const (
	headerRequestID = "x-amzn-RequestId"
	headerErrorType = "x-amzn-ErrorType"
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Every answer, errors and event streams included, carries both ids.
	x := &exchange{w: w, r: r, id: StampResponse(w.Header())}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("wire: panic serving request", "op", x.op, "request_id", x.id,
				"panic", v, "stack", string(debug.Stack()))
			if !x.wrote {
				h.writeError(x, internalFailure())
			}
		}
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
				slog.String("op", x.op), slog.Int("status", x.status),
				slog.Duration("duration", time.Since(start)), slog.String("request_id", x.id))
		}
	}()
	h.serve(x)
}

func (h *Handler) serve(x *exchange) {
	r := x.r
	if r.Header.Get("Origin") != "" && h.cors(x) {
		return
	}
	if r.Method != http.MethodPost {
		x.writeXML(http.StatusForbidden, "AccessDeniedException", accessDeniedMessage)
		return
	}
	body, err := h.readBody(x)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			// AWS answers an oversized request with a bare 413.
			x.write(http.StatusRequestEntityTooLarge, "", nil)
			return
		}
		h.log.Debug("wire: reading request body", "request_id", x.id, "err", err)
		x.format = formatJSON
		h.writeError(x, serializationError(""))
		return
	}

	contentType := mediaType(r.Header.Get("Content-Type"))
	svc, opName := splitTarget(r.Header.Get("X-Amz-Target"))
	x.op = opName
	op, known := h.ops[opName]
	targetOK := svc == TargetPrefix && opName != "" && known

	// The order of the checks below is AWS's: each answer depends on the
	// ones before it having passed.
	if len(body) == 0 {
		x.format = formatCBOR
		if contentType == ContentTypeJSON {
			x.format = formatJSON
		}
		if targetOK {
			h.writeError(x, serializationError(""))
		} else {
			h.writeError(x, unknownOperation())
		}
		return
	}
	switch contentType {
	case ContentTypeJSON:
		x.format = formatJSON
	case ContentTypeCBOR:
		x.format = formatCBOR
	case contentTypePlainJSON:
		x.writeCoral(body)
		return
	default:
		if svc == "" || opName == "" {
			x.writeXML(http.StatusForbidden, "AccessDeniedException", accessDeniedMessage)
		} else {
			x.write(http.StatusNotFound, "", []byte("<UnknownOperationException/>\n"))
		}
		return
	}

	top, ok := x.format.top(body)
	if !ok {
		h.writeError(x, serializationError(""))
		return
	}
	if !targetOK {
		h.writeError(x, unknownOperation())
		return
	}
	caller, aerr := h.authenticate(r, body)
	if aerr != nil {
		h.writeError(x, aerr)
		return
	}

	in := op.NewInput()
	if err := x.format.decode(top, in); err != nil {
		h.writeError(x, h.toAPIError(x, err))
		return
	}
	ctx := kinesis.WithCaller(r.Context(), caller)
	out, err := op.Call(ctx, in)
	if err != nil {
		h.writeError(x, h.toAPIError(x, err))
		return
	}
	if resp, ok := out.(Responder); ok && !isNilPointer(out) {
		x.wrote, x.status = true, http.StatusOK
		resp.Respond(x.w, r.WithContext(ctx))
		return
	}
	if x.format == formatJSON {
		if n, ok := hotJSONSize(out); ok {
			h.writeStream(x, n, out)
			return
		}
	}
	b, err := x.format.encode(out)
	if err != nil {
		h.writeError(x, h.toAPIError(x, err))
		return
	}
	x.write(http.StatusOK, x.format.contentType(), b)
}

func (h *Handler) readBody(x *exchange) ([]byte, error) {
	return ReadBody(x.w, x.r, h.maxBody)
}

// ReadBody reads a request body of at most max bytes; a larger one is an
// *http.MaxBytesError, which AWS answers with a bare 413. The lease-table
// and Firehose handlers read theirs with it too.
func ReadBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	if r.ContentLength >= 0 {
		// The length frames the body, so it is read into a slice of just
		// that size: bytes.Buffer would grow (and copy) once more to look
		// for the end.
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf.Bytes(), nil
}

// cors answers browser requests the way AWS does; it reports whether the
// request is fully handled (a preflight).
func (h *Handler) cors(x *exchange) bool {
	if !Preflight(x.w.Header(), x.r) {
		x.w.Header().Set("Access-Control-Expose-Headers",
			"x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date")
		return false
	}
	x.write(http.StatusOK, "", nil)
	return true
}

// Preflight sets the CORS headers every AWS JSON API answers browsers
// with, into the response headers hdr. For a preflight (OPTIONS) it adds
// the allowed headers and methods and reports true: the caller answers
// 200 with no body.
func Preflight(hdr http.Header, r *http.Request) bool {
	hdr.Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodOptions {
		return false
	}
	if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
		hdr.Set("Access-Control-Allow-Headers", v)
	}
	if v := r.Header.Get("Access-Control-Request-Method"); v != "" {
		hdr.Set("Access-Control-Allow-Methods", v)
	}
	hdr.Set("Access-Control-Max-Age", "172800")
	return true
}

// write sends a complete response. An empty contentType sends none (and
// stops net/http from sniffing one).
func (x *exchange) write(status int, contentType string, body []byte) {
	hdr := x.w.Header()
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	} else {
		hdr["Content-Type"] = nil
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.w.WriteHeader(status)
	x.status, x.wrote = status, true
	if len(body) > 0 && x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

// writeStream sends a hot JSON output of exactly n bytes through a pooled
// buffer, so a 14 MB GetRecords never exists whole in memory. The size pass
// has already checked out, so nothing can fail once the header is sent.
func (h *Handler) writeStream(x *exchange, n int, out any) {
	hdr := x.w.Header()
	hdr.Set("Content-Type", ContentTypeJSON)
	hdr.Set("Content-Length", strconv.Itoa(n))
	x.w.WriteHeader(http.StatusOK)
	x.status, x.wrote = http.StatusOK, true
	if x.r.Method == http.MethodHead {
		return
	}
	s := newJSONStream(x.w)
	writeHotJSON(s, out)
	s.close()
	if s.err == nil && s.written != int64(n) {
		h.log.Error("wire: response length differs from Content-Length", "op", x.op,
			"request_id", x.id, "content_length", n, "written", s.written)
	}
}

// mediaType is the Content-Type without parameters, as AWS compares it.
func mediaType(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// splitTarget splits "Service.Operation"; extra dotted parts are ignored as
// AWS does.
func splitTarget(v string) (svc, op string) {
	svc, rest, _ := strings.Cut(v, ".")
	op, _, _ = strings.Cut(rest, ".")
	return svc, op
}

// contextDone reports whether the request's client has gone away, in which
// case failures are not worth an error log.
func contextDone(ctx context.Context) bool { return ctx.Err() != nil }
