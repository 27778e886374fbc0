// Package delivery is the Firehose delivery engine: it reads each delivery
// stream's source (its DirectPut buffer log, or a Kinesis stream through
// the consumer library), buffers by size and interval, processes,
// partitions, converts and compresses, and delivers to the destination,
// at least once, retrying and setting failures aside. Each source position
// has one owner at a time among the processes on one NATS.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/store"
)

// Storage is what the engine keeps in NATS: the delivery-stream records,
// the DirectPut buffer logs, owner leases and checkpoints (values).
type Storage interface {
	store.Resources
	store.Log
	GetValue(ctx context.Context, key string) ([]byte, store.Revision, error)
	PutValue(ctx context.Context, key string, val []byte, rev store.Revision) (store.Revision, error)
	DeleteValue(ctx context.Context, key string, rev store.Revision) error
	WatchValue(ctx context.Context, key string) (<-chan struct{}, func(), error)
}

// Clients are the Kinesis and lease-table clients a Kinesis source reads
// with, in the delivery stream's account and region.
type Clients func(account, region string) (consumer.KinesisAPI, consumer.DynamoDBAPI)

// Config configures an Engine.
type Config struct {
	Store Storage
	// Objects holds every bucket a BucketARN names.
	Objects dest.ObjectStore
	// Clients serve KinesisStreamAsSource delivery streams and channels.
	Clients Clients
	// HTTPClient reaches HTTP endpoints and Lambda URLs; nil means a
	// default with Firehose's 3-minute request timeout.
	HTTPClient *http.Client
	// LambdaEndpoint is where a Lambda ARN is invoked (process.Options).
	LambdaEndpoint string
	// Owner identifies this process in owner leases; "" means random.
	Owner string
	// LeaseTTL is how long an owner lease lasts without renewal
	// (default 10 s).
	LeaseTTL time.Duration
	// Scan is how often the engine looks for delivery streams it could
	// own (default 1 s).
	Scan   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Engine runs delivery for every delivery stream and channel it owns.
type Engine struct{ cfg Config }

// New returns an engine; Run starts it.
func New(cfg Config) *Engine { return &Engine{cfg: cfg} }

// Run delivers until ctx ends, then stops every delivery, releasing its
// leases, and returns.
func (e *Engine) Run(ctx context.Context) error { return errors.New("delivery: not implemented") }

// Batch is one buffer's worth of records from either source, ready for
// delivery.
type Batch struct {
	// ID is fixed by the batch's source position (the delivery stream or
	// shard, and the first record's position), so a retry after a crash
	// names the same objects and sends the same request ID.
	ID      string
	Records []process.Record
}
