package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rivulet/rivulet/internal/kinesis"
)

// apiError is an error as the client sees it.
type apiError struct {
	status int
	typ    string
	msg    string
	// msgKey is the body member holding msg: "message", or "Message" for
	// SerializationException; empty leaves the member out, as AWS does for
	// protocol errors.
	msgKey string
}

func (e *apiError) Error() string {
	if e.msgKey == "" {
		return e.typ
	}
	return e.typ + ": " + e.msg
}

// errorTable maps each service error kind to its AWS error type and status.
var errorTable = []struct {
	kind   error
	typ    string
	status int
}{
	{kinesis.ErrResourceNotFound, "ResourceNotFoundException", http.StatusBadRequest},
	{kinesis.ErrResourceInUse, "ResourceInUseException", http.StatusBadRequest},
	{kinesis.ErrInvalidArgument, "InvalidArgumentException", http.StatusBadRequest},
	{kinesis.ErrLimitExceeded, "LimitExceededException", http.StatusBadRequest},
	{kinesis.ErrExpiredIterator, "ExpiredIteratorException", http.StatusBadRequest},
	{kinesis.ErrExpiredNextToken, "ExpiredNextTokenException", http.StatusBadRequest},
	{kinesis.ErrProvisionedThroughputExceeded, "ProvisionedThroughputExceededException", http.StatusBadRequest},
	{kinesis.ErrValidation, "ValidationException", http.StatusBadRequest},
	{kinesis.ErrAccessDenied, "AccessDeniedException", http.StatusBadRequest},
	{kinesis.ErrInternal, "InternalFailure", http.StatusInternalServerError},
	{kinesis.ErrKMSAccessDenied, "KMSAccessDeniedException", http.StatusBadRequest},
	{kinesis.ErrKMSDisabled, "KMSDisabledException", http.StatusBadRequest},
	{kinesis.ErrKMSInvalidState, "KMSInvalidStateException", http.StatusBadRequest},
	{kinesis.ErrKMSNotFound, "KMSNotFoundException", http.StatusBadRequest},
	{kinesis.ErrKMSOptIn, "KMSOptInRequired", http.StatusBadRequest},
	{kinesis.ErrKMSThrottling, "KMSThrottlingException", http.StatusBadRequest},
}

// internalFailureMessage is AWS's wording for InternalFailure; the real cause
// stays in the log.
const internalFailureMessage = "The request processing has failed because of an unknown error, exception or failure."

const accessDeniedMessage = "Unable to determine service/operation name to be authorized"

func messageError(typ, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typ, msg: msg, msgKey: "message"}
}

// unknownOperation is AWS's answer to a target it does not serve: 400 with
// the type and no message, in the request's protocol. Every public capture
// of a real response agrees, for Kinesis (aws/aws-sdk-ruby#633, 2014;
// mhart/kinesalite#95, 2019: the Java SDK shows a null message), Firehose
// (sharethrough/flume-kinesis#11, 2017: Content-Length 38, exactly this
// body) and CloudWatch Logs (aws/aws-sdk-net#1536, 2020).
func unknownOperation() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "UnknownOperationException"}
}

// serializationError is AWS's answer to a body it cannot read; type errors
// carry a Java-style message under "Message".
func serializationError(msg string) *apiError {
	e := &apiError{status: http.StatusBadRequest, typ: "SerializationException"}
	if msg != "" {
		e.msg, e.msgKey = msg, "Message"
	}
	return e
}

func internalFailure() *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: "InternalFailure",
		msg: internalFailureMessage, msgKey: "message"}
}

// toAPIError classifies any error from decoding or from an operation.
// Unknown errors become InternalFailure and are logged with the request id.
func (h *Handler) toAPIError(x *exchange, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *kinesis.Error
	msg := ""
	if errors.As(err, &se) {
		msg = se.Message
	}
	for _, e := range errorTable {
		if errors.Is(err, e.kind) {
			out := &apiError{status: e.status, typ: e.typ}
			if msg != "" {
				out.msg, out.msgKey = msg, "message"
			}
			if e.status >= 500 {
				h.log.Error("wire: internal failure", "op", x.op, "request_id", x.id, "err", err)
			}
			return out
		}
	}
	if contextDone(x.r.Context()) {
		h.log.Debug("wire: request abandoned", "op", x.op, "request_id", x.id, "err", err)
	} else {
		h.log.Error("wire: unexpected error", "op", x.op, "request_id", x.id, "err", err)
	}
	return internalFailure()
}

// writeError renders every JSON or CBOR error response.
func (h *Handler) writeError(x *exchange, e *apiError) {
	x.w.Header()[headerErrorType] = []string{e.typ}
	var body []byte
	if x.format == formatCBOR {
		body = e.cborBody()
	} else {
		body = e.jsonBody()
	}
	x.write(e.status, x.format.contentType(), body)
}

func (e *apiError) jsonBody() []byte {
	var b bytes.Buffer
	b.WriteString(`{"__type":`)
	writeJSONString(&b, e.typ)
	if e.msgKey != "" {
		b.WriteString(`,"` + e.msgKey + `":`)
		writeJSONString(&b, e.msg)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// cborBody writes an indefinite-length map, as AWS's CBOR front end does.
func (e *apiError) cborBody() []byte {
	var b bytes.Buffer
	enc := cborEnc.NewEncoder(&b)
	// Writes to a bytes.Buffer of strings cannot fail.
	_ = enc.StartIndefiniteMap()
	_ = enc.Encode("__type")
	_ = enc.Encode(e.typ)
	if e.msgKey != "" {
		_ = enc.Encode(e.msgKey)
		_ = enc.Encode(e.msg)
	}
	_ = enc.EndIndefinite()
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// writeXML renders the errors AWS's front end gives before it knows the
// protocol.
func (x *exchange) writeXML(status int, typ, msg string) {
	x.write(status, "", []byte("<"+typ+">\n  <Message>"+msg+"</Message>\n</"+typ+">\n"))
}

// writeCoral answers the legacy application/json content type: AWS parses
// the body, then refuses every operation with 404 (shared/reference,
// "Protocol-level errors").
func (x *exchange) writeCoral(body []byte) {
	var v any
	typ := "UnknownOperationException"
	if json.Unmarshal(body, &v) != nil || !isJSONObjectOrArray(v) {
		typ = "SerializationException"
	}
	x.write(http.StatusNotFound, contentTypePlainJSON,
		[]byte(`{"Output":{"__type":"com.amazon.coral.service#`+typ+`"},"Version":"1.0"}`))
}

func isJSONObjectOrArray(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}
