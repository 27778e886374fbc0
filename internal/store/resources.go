package store

import "context"

// Resource kinds kept through Resources.
const (
	KindDeliveryStream = "firehose"
	KindChannel        = "channels"
)

// Resources stores small named records of a kind (Firehose delivery
// streams, Kinesis channels) per (account, region), each changed only by
// compare-and-swap, so that every process on one NATS sees the same ones.
// Values are opaque bytes; the owning service encodes them.
type Resources interface {
	// GetResource reads a record; ErrNotFound if there is none.
	GetResource(ctx context.Context, kind string, key TableKey) ([]byte, Revision, error)
	// PutResource creates (rev 0; ErrExists if present) or replaces (rev =
	// the revision read; ErrConflict if stale) a record.
	PutResource(ctx context.Context, kind string, key TableKey, val []byte, rev Revision) (Revision, error)
	// DeleteResource removes a record if it still has revision rev (0:
	// any); ErrConflict if stale. A missing record is not an error.
	DeleteResource(ctx context.Context, kind string, key TableKey, rev Revision) error
	// ListResources returns the keys of one kind, sorted by account,
	// region and name. An empty account lists every namespace (the
	// delivery engine's view); otherwise region must be set too.
	ListResources(ctx context.Context, kind, account, region string) ([]TableKey, error)
}

// BufferLogPrefix starts the log IDs (ShardRef.StreamID) of Firehose
// DirectPut buffers: "fh-<delivery stream id>", shard 0. They are logs
// like a shard's, but no Kinesis stream owns them; check and recover
// leave them alone.
const BufferLogPrefix = "fh-"
