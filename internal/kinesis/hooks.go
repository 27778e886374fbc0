package kinesis

import (
	"context"

	"github.com/rivulet/rivulet/internal/store"
)

// Limiter enforces AWS's throughput limits. The service asks before it
// does work and reports what it did; a nil Limiter (--limits=off) allows
// everything. Implementations live in internal/limits.
type Limiter interface {
	// Write reserves records and bytes on one shard. It reports false when
	// the shard is over its write limit; nothing is reserved then.
	Write(k store.StreamKey, shard int, records, bytes int) bool
	// Read reports false when a GetRecords call on the shard is over the
	// call rate, or inside the penalty after a 10 MiB response.
	Read(k store.StreamKey, shard int) bool
	// ReadDone charges the bytes a GetRecords call returned.
	ReadDone(k store.StreamKey, shard int, bytes int)
	// ShardIterator reports false when a GetShardIterator call on the
	// shard is over its call rate.
	ShardIterator(k store.StreamKey, shard int) bool
	// Subscribe reports false when a SubscribeToShard call is over the
	// rate for its consumer and shard.
	Subscribe(consumerARN string, shard int) bool
	// Control reports false when a control-plane operation is over its
	// rate for the caller's account (and stream, where AWS counts per
	// stream).
	Control(c Caller, op string, stream string) bool
}

// Faults injects errors and latency for testing clients' retry logic.
// Before is called before every operation with the stream it names (""
// when none); it may sleep and may return a domain error to answer with.
type Faults interface {
	Before(ctx context.Context, op, stream string) error
	// Entry is asked once per PutRecords entry bound for a shard; a
	// non-empty code fails that entry alone with this ErrorCode and message.
	Entry(k store.StreamKey, shard int) (code, message string)
}
