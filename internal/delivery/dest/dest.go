// Package dest defines where delivered data goes. Object stores (S3 and a
// local directory) take whole objects by key; sinks (an HTTP endpoint,
// PostgreSQL) take batches of records. One package per backend, each with
// its SDK confined to it; desttest holds the contract suite all object
// stores pass.
package dest

import (
	"context"
	"errors"
	"time"
)

// ObjectStore stores objects by bucket and key.
type ObjectStore interface {
	// Put writes body under bucket/key, replacing any object there, so a
	// retried delivery overwrites rather than duplicates. Readers see
	// either the old object or all of the new one. Put must not keep
	// body once it returns: the engine reuses it for the next object.
	Put(ctx context.Context, bucket, key string, body []byte) error
	// Get reads an object; an error wrapping ErrNotFound when absent.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// ErrNotFound is wrapped by Get for a missing object or bucket.
var ErrNotFound = errors.New("dest: not found")

// Batch is what a sink receives.
type Batch struct {
	// ID is fixed by the batch's source position, so a retry carries the
	// same ID (the HTTP endpoint's X-Amz-Firehose-Request-Id).
	ID      string
	Records [][]byte
	// Arrival is the oldest record's arrival time.
	Arrival time.Time
	// Staged is where the batch was staged before a load (PostgreSQL's
	// COPY, as Redshift's from S3); nil for other sinks.
	Staged *ObjectRef
}

// ObjectRef names one stored object.
type ObjectRef struct {
	Bucket, Key string
}

// Sink delivers batches of records.
type Sink interface {
	// Send delivers the batch once; the engine retries and backs off.
	// An error wrapping ErrPermanent is not retried.
	Send(ctx context.Context, b Batch) error
	Close() error
}

// ErrPermanent marks a failure that a retry cannot fix (an HTTP endpoint's
// 413): the batch goes to the error output at once.
var ErrPermanent = errors.New("dest: permanent failure")

// Failure is a sink's error: Code is what the error record's errorCode
// carries (such as "HttpEndpoint.InvalidResponseFromDestination").
type Failure struct {
	Code    string
	Message string
	Err     error // may wrap ErrPermanent
}

func (f *Failure) Error() string { return f.Code + ": " + f.Message }
func (f *Failure) Unwrap() error { return f.Err }
