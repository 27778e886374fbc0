package cloudwatch

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rivulet/rivulet/internal/auth/sigv4"
)

// Error kinds, named as the awsQuery error code. CloudWatch is
// awsQueryCompatible: the JSON and CBOR protocols answer with the
// modeled shape as __type and the query code in x-amzn-query-error, so
// one table (errorTable) describes each kind in all three protocols.
var (
	ErrInvalidParameterValue       = errors.New("InvalidParameterValue")
	ErrMissingParameter            = errors.New("MissingParameter")
	ErrInvalidParameterCombination = errors.New("InvalidParameterCombination")
	ErrInvalidNextToken            = errors.New("InvalidNextToken")
	ErrValidation                  = errors.New("ValidationError")
	ErrAccessDenied                = errors.New("AccessDenied")
	ErrInternal                    = errors.New("InternalServiceError")
	// Protocol-level errors: the request could not be read or names no
	// operation.
	ErrInvalidAction       = errors.New("InvalidAction")
	ErrMalformedQuery      = errors.New("MalformedQueryString")
	ErrSerialization       = errors.New("SerializationException")
	ErrUnknownOperation    = errors.New("UnknownOperationException")
	ErrUnsupportedProtocol = errors.New("UnsupportedProtocolException")
)

// errorKind is how one kind is rendered.
type errorKind struct {
	// shape is the JSON and CBOR __type: the Smithy shape's ID.
	shape  string
	status int
	// receiver marks faults that are the server's, not the caller's.
	receiver bool
	// msgKey is the JSON and CBOR member holding the message.
	msgKey string
	// noQueryCode leaves x-amzn-query-error out: protocol errors have no
	// awsQuery equivalent.
	noQueryCode bool
}

const ns = "com.amazonaws.cloudwatch#"

var errorTable = map[error]errorKind{
	ErrInvalidParameterValue:       {shape: ns + "InvalidParameterValueException", status: http.StatusBadRequest, msgKey: "message"},
	ErrMissingParameter:            {shape: ns + "MissingRequiredParameterException", status: http.StatusBadRequest, msgKey: "message"},
	ErrInvalidParameterCombination: {shape: ns + "InvalidParameterCombinationException", status: http.StatusBadRequest, msgKey: "message"},
	ErrInvalidNextToken:            {shape: ns + "InvalidNextToken", status: http.StatusBadRequest, msgKey: "message"},
	ErrValidation:                  {shape: ns + "ValidationException", status: http.StatusBadRequest, msgKey: "message"},
	ErrAccessDenied:                {shape: "com.amazon.coral.service#AccessDeniedException", status: http.StatusForbidden, msgKey: "message"},
	ErrInternal:                    {shape: ns + "InternalServiceFault", status: http.StatusInternalServerError, receiver: true, msgKey: "Message"},
	ErrInvalidAction:               {shape: "com.amazon.coral.service#InvalidAction", status: http.StatusBadRequest, msgKey: "message"},
	ErrMalformedQuery:              {shape: "com.amazon.coral.service#MalformedQueryString", status: http.StatusNotFound, msgKey: "message"},
	ErrSerialization:               {shape: "com.amazon.coral.service#SerializationException", status: http.StatusBadRequest, msgKey: "message", noQueryCode: true},
	ErrUnknownOperation:            {shape: "com.amazon.coral.service#UnknownOperationException", status: http.StatusBadRequest, msgKey: "message", noQueryCode: true},
	ErrUnsupportedProtocol:         {shape: "com.amazon.coral.service#UnsupportedProtocolException", status: http.StatusBadRequest, msgKey: "message", noQueryCode: true},
}

// Error is a failure as the client sees it: a kind plus AWS's message.
type Error struct {
	Kind    error
	Message string
	// code overrides the kind's query code (sign-in failures, whose codes
	// differ between the query and the JSON protocols); shape its __type.
	code, shape string
	status      int
}

func (e *Error) Error() string { return e.code0() + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// code0 is the awsQuery error code.
func (e *Error) code0() string {
	if e.code != "" {
		return e.code
	}
	return e.Kind.Error()
}

func (e *Error) render() (code, shape string, k errorKind) {
	k, ok := errorTable[e.Kind]
	if !ok {
		k = errorTable[ErrInternal]
	}
	shape = k.shape
	if e.shape != "" {
		shape = e.shape
	}
	if e.status != 0 {
		k.status = e.status
	}
	return e.code0(), shape, k
}

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// internalMessage is what a client sees of an unexpected failure; the
// cause goes to the log.
const internalMessage = "The request processing has failed because of an unknown error, exception or failure."

// authCodes are the awsQuery codes and statuses of SigV4 failures, which
// the Kinesis-style verifier names by their JSON types.
var authCodes = map[string]struct {
	code   string
	status int
}{
	sigv4.TypeMissingToken:        {"MissingAuthenticationToken", http.StatusForbidden},
	sigv4.TypeIncompleteSignature: {"IncompleteSignature", http.StatusBadRequest},
	sigv4.TypeInvalidSignature:    {"SignatureDoesNotMatch", http.StatusForbidden},
	sigv4.TypeUnrecognizedClient:  {"InvalidClientTokenId", http.StatusForbidden},
	sigv4.TypeExpiredToken:        {"ExpiredToken", http.StatusForbidden},
}

// authError converts a SigV4 failure into the CloudWatch error.
func authError(err error) *Error {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return &Error{Kind: ErrInternal, Message: internalMessage}
	}
	c, ok := authCodes[se.Type]
	if !ok {
		c.code, c.status = strings.TrimSuffix(se.Type, "Exception"), http.StatusForbidden
	}
	return &Error{Kind: ErrAccessDenied, Message: se.Message, code: c.code,
		shape: "com.amazon.coral.service#" + se.Type, status: c.status}
}

// validation collects ValidationError messages, which GetMetricData
// reports together, one per line.
type validation struct{ msgs []string }

const maxValidationMessages = 100

func (v *validation) add(format string, args ...any) {
	if len(v.msgs) < maxValidationMessages {
		v.msgs = append(v.msgs, fmt.Sprintf(format, args...))
	}
}

func (v *validation) err() error {
	if len(v.msgs) == 0 {
		return nil
	}
	return &Error{Kind: ErrValidation, Message: strings.Join(v.msgs, "\n")}
}
