package firehose

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error kinds, named as AWS's __type. The handler maps each to its HTTP
// status in one table (errorStatus); the message travels in *Error.
var (
	ErrInvalidArgument        = errors.New("InvalidArgumentException")
	ErrResourceNotFound       = errors.New("ResourceNotFoundException")
	ErrResourceInUse          = errors.New("ResourceInUseException")
	ErrLimitExceeded          = errors.New("LimitExceededException")
	ErrConcurrentModification = errors.New("ConcurrentModificationException")
	ErrInvalidKMSResource     = errors.New("InvalidKMSResourceException")
	ErrServiceUnavailable     = errors.New("ServiceUnavailableException")
	ErrValidation             = errors.New("ValidationException")
	ErrSerialization          = errors.New("SerializationException")
	ErrUnknownOperation       = errors.New("UnknownOperationException")
	ErrAccessDenied           = errors.New("AccessDeniedException")
	ErrInternal               = errors.New("InternalFailure")
)

// errorStatus is each kind's HTTP status.
var errorStatus = map[error]int{
	ErrInvalidArgument:        http.StatusBadRequest,
	ErrResourceNotFound:       http.StatusBadRequest,
	ErrResourceInUse:          http.StatusBadRequest,
	ErrLimitExceeded:          http.StatusBadRequest,
	ErrConcurrentModification: http.StatusBadRequest,
	ErrInvalidKMSResource:     http.StatusBadRequest,
	ErrServiceUnavailable:     http.StatusServiceUnavailable,
	ErrValidation:             http.StatusBadRequest,
	ErrSerialization:          http.StatusBadRequest,
	ErrUnknownOperation:       http.StatusBadRequest,
	ErrAccessDenied:           http.StatusBadRequest,
	ErrInternal:               http.StatusInternalServerError,
}

// Error is a domain error: a kind plus AWS's message for it.
type Error struct {
	Kind    error
	Message string
	// Code is InvalidKMSResourceException's code member; "" leaves it out.
	Code string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func invalidArg(format string, args ...any) error {
	return errorf(ErrInvalidArgument, format, args...)
}

// internalMessage is what a client sees of an unexpected failure; the
// cause goes to the log.
const internalMessage = "The request processing has failed because of an unknown error, exception or failure."

// fullMessage tells a client why a write failed while storage is full.
const fullMessage = "Rivulet's storage is full; writes resume once space is freed " +
	"(delete streams or delivery streams, shorten retention, or a larger --max-storage)."

// notFound is AWS's ResourceNotFoundException for a delivery stream.
func notFound(name, account string) error {
	return errorf(ErrResourceNotFound, "Firehose %s under account %s not found.", name, account)
}

// validator collects Coral-style constraint violations:
//
//	1 validation error detected: Value 'x' at 'deliveryStreamName' failed
//	to satisfy constraint: Member must have length less than or equal to 64
type validator struct{ errs []string }

const maxValidationErrors = 10

func (v *validator) fail(path, shown, constraint string) {
	if len(v.errs) < maxValidationErrors {
		v.errs = append(v.errs, "Value "+shown+" at '"+path+"' failed to satisfy constraint: "+constraint)
	}
}

func quoted(s string) string { return "'" + s + "'" }

func (v *validator) null(path string) { v.fail(path, "null", "Member must not be null") }

// str checks an optional or required string's length and pattern.
func (v *validator) str(path string, s *string, required bool, min, max int, pattern func(string) bool, patternText string) {
	if s == nil {
		if required {
			v.null(path)
		}
		return
	}
	if pattern != nil && !pattern(*s) {
		v.fail(path, quoted(*s), "Member must satisfy regular expression pattern: "+patternText)
	}
	n := utf16Len(*s)
	if n < min {
		v.fail(path, quoted(*s), "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max > 0 && n > max {
		v.fail(path, quoted(*s), "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

func (v *validator) enum(path, s string, set ...string) {
	if s == "" {
		return
	}
	for _, x := range set {
		if s == x {
			return
		}
	}
	v.fail(path, quoted(s), "Member must satisfy enum value set: ["+strings.Join(set, ", ")+"]")
}

func (v *validator) num(path string, n *int32, min, max int32) {
	if n == nil {
		return
	}
	shown := quoted(strconv.Itoa(int(*n)))
	if *n < min {
		v.fail(path, shown, "Member must have value greater than or equal to "+strconv.Itoa(int(min)))
	}
	if *n > max {
		v.fail(path, shown, "Member must have value less than or equal to "+strconv.Itoa(int(max)))
	}
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	noun := "errors"
	if len(v.errs) == 1 {
		noun = "error"
	}
	return errorf(ErrValidation, "%d validation %s detected: %s", len(v.errs), noun, strings.Join(v.errs, "; "))
}

// utf16Len is Java's String.length().
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
