package dynamodb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
	"github.com/rivulet/rivulet/internal/kinesis"
)

// Error kinds. The handler maps each to its wire type, namespace and
// status in one table (errorTable); the message travels in *Error.
var (
	ErrValidation             = errors.New("ValidationException")
	ErrResourceNotFound       = errors.New("ResourceNotFoundException")
	ErrResourceInUse          = errors.New("ResourceInUseException")
	ErrConditionalCheckFailed = errors.New("ConditionalCheckFailedException")
	ErrLimitExceeded          = errors.New("LimitExceededException")
	ErrAccessDenied           = errors.New("AccessDeniedException")
	ErrSerialization          = errors.New("SerializationException")
	ErrUnknownOperation       = errors.New("UnknownOperationException")
	ErrInternal               = errors.New("InternalServerError")
)

// Error is a domain error: a kind, DynamoDB's message, and for a failed
// condition with ReturnValuesOnConditionCheckFailure=ALL_OLD the item.
type Error struct {
	Kind    error
	Message string
	Item    item.Item // nil leaves "Item" out, as for a missing old item
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func validationf(format string, args ...any) error {
	return &Error{Kind: ErrValidation, Message: fmt.Sprintf(format, args...)}
}

// Namespaces of the __type member: Coral's front end answers protocol
// and validation errors, the service itself the rest.
const (
	nsService  = "com.amazonaws.dynamodb.v20120810#"
	nsCoral    = "com.amazon.coral.service#"
	nsValidate = "com.amazon.coral.validate#"
)

// errorTable maps each kind to its wire form. msgKey is the body member
// that holds the message: Coral spells some "Message".
var errorTable = []struct {
	kind   error
	ns     string
	status int
	msgKey string
}{
	{ErrValidation, nsValidate, http.StatusBadRequest, "message"},
	{ErrResourceNotFound, nsService, http.StatusBadRequest, "message"},
	{ErrResourceInUse, nsService, http.StatusBadRequest, "message"},
	{ErrConditionalCheckFailed, nsService, http.StatusBadRequest, "message"},
	{ErrLimitExceeded, nsService, http.StatusBadRequest, "message"},
	{ErrAccessDenied, nsCoral, http.StatusBadRequest, "Message"},
	{ErrSerialization, nsCoral, http.StatusBadRequest, "Message"},
	{ErrUnknownOperation, nsCoral, http.StatusBadRequest, ""},
	{ErrInternal, nsService, http.StatusInternalServerError, "message"},
}

// internalMessage is what a client sees of an unexpected failure; the
// cause goes to the log.
const internalMessage = "Internal server error"

// wireError is an error as the client sees it.
type wireError struct {
	status int
	typ    string // with its namespace
	msgKey string // "" leaves the message out
	msg    string
	item   item.Item
}

// toWire classifies err; ok is false for errors that are not the
// client's (the caller logs them).
func toWire(err error) (w wireError, ok bool) {
	var ae *kinesis.Error
	if errors.As(err, &ae) && errors.Is(err, kinesis.ErrAccessDenied) {
		err = &Error{Kind: ErrAccessDenied, Message: ae.Message}
	}
	var de *Error
	if errors.As(err, &de) {
		for _, e := range errorTable {
			if errors.Is(de.Kind, e.kind) {
				w = wireError{status: e.status, typ: e.ns + e.kind.Error(), msgKey: e.msgKey, msg: de.Message, item: de.Item}
				if de.Message == "" && e.kind == ErrSerialization {
					w.msgKey = ""
				}
				return w, e.kind != ErrInternal
			}
		}
	}
	var ie *item.Error
	if errors.As(err, &ie) {
		return wireError{status: http.StatusBadRequest, typ: nsValidate + "ValidationException",
			msgKey: "message", msg: ie.Message}, true
	}
	return internalError(), false
}

func internalError() wireError {
	return wireError{status: http.StatusInternalServerError, typ: nsService + "InternalServerError",
		msgKey: "message", msg: internalMessage}
}

// body renders the error as DynamoDB's JSON, __type first.
func (w wireError) body() []byte {
	typ, _ := marshalJSON(w.typ)
	b := append([]byte(`{"__type":`), typ...)
	if w.msgKey != "" {
		msg, _ := marshalJSON(w.msg)
		b = append(b, `,"`+w.msgKey+`":`...)
		b = append(b, msg...)
	}
	if w.item != nil {
		// An item that cannot be rendered is dropped, not the error.
		if it, err := marshalJSON(w.item); err == nil {
			b = append(b, `,"Item":`...)
			b = append(b, it...)
		}
	}
	return append(b, '}')
}

// marshalJSON is json.Marshal without HTML escaping, as AWS writes.
func marshalJSON(v any) ([]byte, error) {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.b
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b, nil
}

type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) {
	j.b = append(j.b, p...)
	return len(p), nil
}
