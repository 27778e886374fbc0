package kinesis

import (
	"errors"
	"fmt"

	"github.com/rivulet/rivulet/internal/store"
)

// Error kinds. The wire adapter maps each kind to an AWS error type and
// status in one table; the message travels in *Error.
var (
	ErrResourceNotFound              = errors.New("ResourceNotFoundException")
	ErrResourceInUse                 = errors.New("ResourceInUseException")
	ErrInvalidArgument               = errors.New("InvalidArgumentException")
	ErrLimitExceeded                 = errors.New("LimitExceededException")
	ErrExpiredIterator               = errors.New("ExpiredIteratorException")
	ErrExpiredNextToken              = errors.New("ExpiredNextTokenException")
	ErrProvisionedThroughputExceeded = errors.New("ProvisionedThroughputExceededException")
	ErrValidation                    = errors.New("ValidationException")
	ErrAccessDenied                  = errors.New("AccessDeniedException")
	ErrInternal                      = errors.New("InternalFailure")
	// Server-side encryption's key errors (encryption.go).
	ErrKMSAccessDenied = errors.New("KMSAccessDeniedException")
	ErrKMSDisabled     = errors.New("KMSDisabledException")
	ErrKMSInvalidState = errors.New("KMSInvalidStateException")
	ErrKMSNotFound     = errors.New("KMSNotFoundException")
	ErrKMSOptIn        = errors.New("KMSOptInRequired")
	ErrKMSThrottling   = errors.New("KMSThrottlingException")
)

// Error is a domain error: a kind plus AWS's message for it.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds a domain error of the given kind.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// fullMessage tells a client why a write failed while storage is full.
// AWS documents no such error; InternalFailure is what SDKs retry, and the
// condition clears by itself once space is freed.
const fullMessage = "Rivulet's storage is full; writes resume once space is freed " +
	"(DeleteStream, DecreaseStreamRetentionPeriod, or a larger --max-storage)."

// tooFewNodes turns a store.ErrReplicas (a cluster with fewer live nodes
// than replicas could not place a shard's log) into LimitExceededException:
// a 400 whose message names the cause, which clears when nodes return.
func tooFewNodes(err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, store.ErrReplicas) {
		return err
	}
	return Errorf(ErrLimitExceeded, "Cannot place the stream's shards: the cluster has fewer live nodes than "+
		"--replicas (%v). Start the missing nodes, or lower --replicas.", err)
}

// storageFull turns a store.ErrFull that reached an operation's caller
// into InternalFailure with fullMessage.
func storageFull(err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, store.ErrFull) {
		return err
	}
	return Errorf(ErrInternal, "%s", fullMessage)
}
