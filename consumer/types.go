package consumer

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/domain/seqnum"
)

// Checkpoint sentinels, as the Java KCL writes them in the lease table.
const (
	SentinelTrimHorizon = "TRIM_HORIZON"
	SentinelLatest      = "LATEST"
	SentinelAtTimestamp = "AT_TIMESTAMP"
	SentinelShardEnd    = "SHARD_END"
)

// ExtendedSequenceNumber is a position in a shard: a record's sequence
// number plus its sub-sequence number inside a KPL aggregated record (0 for
// a plain record), or one of the sentinels.
type ExtendedSequenceNumber struct {
	SequenceNumber    string
	SubSequenceNumber uint64
}

// Sentinel positions.
var (
	TrimHorizon = ExtendedSequenceNumber{SequenceNumber: SentinelTrimHorizon}
	Latest      = ExtendedSequenceNumber{SequenceNumber: SentinelLatest}
	AtTimestamp = ExtendedSequenceNumber{SequenceNumber: SentinelAtTimestamp}
	ShardEnd    = ExtendedSequenceNumber{SequenceNumber: SentinelShardEnd}
)

// IsSentinel reports whether e is one of the sentinels rather than a record.
func (e ExtendedSequenceNumber) IsSentinel() bool {
	switch e.SequenceNumber {
	case SentinelTrimHorizon, SentinelLatest, SentinelAtTimestamp, SentinelShardEnd:
		return true
	}
	return false
}

func (e ExtendedSequenceNumber) String() string {
	if e.IsSentinel() || e.SubSequenceNumber == 0 {
		return e.SequenceNumber
	}
	return e.SequenceNumber + "." + uitoa(e.SubSequenceNumber)
}

// rank orders the kinds: starting sentinels, records, SHARD_END.
func (e ExtendedSequenceNumber) rank() int {
	switch e.SequenceNumber {
	case SentinelShardEnd:
		return 2
	case SentinelTrimHorizon, SentinelLatest, SentinelAtTimestamp, "":
		return 0
	}
	return 1
}

// Compare orders positions as the KCL does: the starting sentinels before
// every record, SHARD_END after; records by sequence number (as integers),
// then sub-sequence number. It returns -1, 0 or +1.
func (e ExtendedSequenceNumber) Compare(o ExtendedSequenceNumber) int {
	if r, s := e.rank(), o.rank(); r != s {
		return cmpInt(r, s)
	}
	if e.rank() != 1 {
		return 0
	}
	if c := compareSeq(e.SequenceNumber, o.SequenceNumber); c != 0 {
		return c
	}
	switch {
	case e.SubSequenceNumber < o.SubSequenceNumber:
		return -1
	case e.SubSequenceNumber > o.SubSequenceNumber:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareSeq compares decimal sequence numbers without big-integer parsing.
func compareSeq(a, b string) int {
	if c, ok := compareAcrossLayouts(a, b); ok {
		return c
	}
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return cmpInt(len(a), len(b))
	}
	return strings.Compare(a, b)
}

// compareAcrossLayouts orders a checkpoint written by a Rivulet from
// before AWS's sequence-number layout against a number in that layout, by
// their position in the shard: as integers every new number is above
// every old one, which would hand the checkpointed record out again.
// AWS's own numbers are never in the old layout.
func compareAcrossLayouts(a, b string) (int, bool) {
	if oldLayout(a) == oldLayout(b) {
		return 0, false
	}
	pa, err := seqnum.Parse(a)
	if err != nil {
		return 0, false
	}
	pb, err := seqnum.Parse(b)
	if err != nil || pa.Shard != pb.Shard {
		return 0, false
	}
	if pa.Seq != pb.Seq {
		return cmp.Compare(pa.Seq, pb.Seq), true
	}
	return cmpInt(pa.Sub, pb.Sub), true
}

// oldLayout is a cheap test for Rivulet's earlier layout: "49" and a
// zero-padded shard index; AWS-layout numbers start 4903 or higher.
func oldLayout(s string) bool { return len(s) == seqnum.Len && strings.HasPrefix(s, "4900") }

func validSeq(s string) bool {
	if s == "" || len(s) > 129 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func uitoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}

// InitialPosition is where a shard with no checkpoint yet starts: the
// lease's checkpoint is then the matching sentinel.
type InitialPosition struct {
	// Type is SentinelLatest (the KCL's default), SentinelTrimHorizon or
	// SentinelAtTimestamp.
	Type string
	// Timestamp is the time for SentinelAtTimestamp.
	Timestamp time.Time
}

// Record is one record handed to a processor: a plain Kinesis record, or
// one user record taken out of a KPL aggregated record.
type Record struct {
	SequenceNumber string
	// SubSequenceNumber is the position inside an aggregated record, 0
	// for a plain record.
	SubSequenceNumber uint64
	// Aggregated tells a user record from a plain record.
	Aggregated                  bool
	PartitionKey                string
	ExplicitHashKey             string
	Data                        []byte
	ApproximateArrivalTimestamp time.Time
}

// Position is the record's position, for checkpoints.
func (r Record) Position() ExtendedSequenceNumber {
	return ExtendedSequenceNumber{SequenceNumber: r.SequenceNumber, SubSequenceNumber: r.SubSequenceNumber}
}

// Checkpointer records progress in the lease table. It is valid only while
// the processor holds the shard's lease.
type Checkpointer interface {
	// Checkpoint records the last record delivered so far (the end of
	// the latest batch); in ShardEnded it records SHARD_END.
	Checkpoint(ctx context.Context) error
	// CheckpointAt records a position: not before the current checkpoint
	// and not beyond the last record delivered (ErrInvalidCheckpoint).
	CheckpointAt(ctx context.Context, sequenceNumber string, subSequenceNumber uint64) error
	// CheckpointRecord records r, which must have been delivered.
	CheckpointRecord(ctx context.Context, r Record) error
}

var (
	// ErrLeaseLost: the worker no longer holds the shard's lease, so it
	// may not checkpoint (the KCL's ShutdownException).
	ErrLeaseLost = errors.New("consumer: lease lost")
	// ErrInvalidCheckpoint: a position before the current checkpoint, past
	// the last record delivered, or not a sequence number.
	ErrInvalidCheckpoint = errors.New("consumer: invalid checkpoint")
	// ErrInvalidConfig is wrapped by New's error.
	ErrInvalidConfig = errors.New("consumer: invalid config")
)

// InitializeInput is what Processor.Initialize receives.
type InitializeInput struct {
	ShardID string
	// ExtendedSequenceNumber is the lease's checkpoint: processing starts
	// just after it, or at the sentinel's position.
	ExtendedSequenceNumber ExtendedSequenceNumber
	// PendingCheckpoint is the lease's pending checkpoint, if any.
	PendingCheckpoint *ExtendedSequenceNumber
}

// ProcessRecordsInput is one batch of a shard, in order.
type ProcessRecordsInput struct {
	ShardID            string
	Records            []Record
	MillisBehindLatest int64
	Checkpointer       Checkpointer
}

// ShardEndedInput is given when the shard was read to its end. The
// processor must call Checkpointer.Checkpoint, which records SHARD_END;
// until it does, its children are not processed and ShardEnded is called
// again.
type ShardEndedInput struct {
	ShardID      string
	Checkpointer Checkpointer
}

// LeaseLostInput is given when another worker took the lease, or renewals
// failed for longer than the failover time. Checkpointing is not possible.
type LeaseLostInput struct {
	ShardID string
}

// ShutdownRequestedInput is given when the worker shuts down gracefully:
// a last chance to checkpoint what was processed before the lease is
// released.
type ShutdownRequestedInput struct {
	ShardID      string
	Checkpointer Checkpointer
}

// Processor processes one shard. The worker calls it from one goroutine:
// Initialize, ProcessRecords any number of times, then exactly one of
// ShardEnded, LeaseLost or ShutdownRequested. The ctx given to
// ProcessRecords ends when the lease is lost.
type Processor interface {
	Initialize(ctx context.Context, in InitializeInput)
	ProcessRecords(ctx context.Context, in ProcessRecordsInput)
	ShardEnded(ctx context.Context, in ShardEndedInput)
	LeaseLost(ctx context.Context, in LeaseLostInput)
	ShutdownRequested(ctx context.Context, in ShutdownRequestedInput)
}

// ProcessorFactory makes the processor of each shard a worker starts.
type ProcessorFactory interface {
	NewProcessor(shardID string) Processor
}

// ProcessorFactoryFunc adapts a function to ProcessorFactory.
type ProcessorFactoryFunc func(shardID string) Processor

// NewProcessor calls f.
func (f ProcessorFactoryFunc) NewProcessor(shardID string) Processor { return f(shardID) }

// ProcessorFunc is the common case: a function called for every batch,
// which checkpoints as it likes through in.Checkpointer. At the end of a
// shard and at a graceful shutdown it checkpoints everything delivered
// (f has returned for all of it); when the lease is lost it does nothing.
// A ProcessorFunc is its own factory, shared by all shards, so f may be
// called from several goroutines at once (never for the same shard).
type ProcessorFunc func(ctx context.Context, in ProcessRecordsInput)

// NewProcessor returns f.
func (f ProcessorFunc) NewProcessor(string) Processor { return f }

// Initialize does nothing.
func (f ProcessorFunc) Initialize(context.Context, InitializeInput) {}

// ProcessRecords calls f.
func (f ProcessorFunc) ProcessRecords(ctx context.Context, in ProcessRecordsInput) { f(ctx, in) }

// ShardEnded checkpoints SHARD_END.
func (f ProcessorFunc) ShardEnded(ctx context.Context, in ShardEndedInput) {
	_ = in.Checkpointer.Checkpoint(ctx) // failing, the worker calls ShardEnded again
}

// LeaseLost does nothing.
func (f ProcessorFunc) LeaseLost(context.Context, LeaseLostInput) {}

// ShutdownRequested checkpoints the last record delivered.
func (f ProcessorFunc) ShutdownRequested(ctx context.Context, in ShutdownRequestedInput) {
	_ = in.Checkpointer.Checkpoint(ctx) // the records are delivered again after a failure
}
