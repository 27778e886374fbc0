// Package store defines what the Kinesis service needs from storage: stream
// metadata changed only by compare-and-swap, and one append-only log per
// shard whose stored messages each pack several records. Backends live in
// sub-packages; the contract tests in storetest run against each of them.
package store

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// Errors every backend returns, so the service can map them to AWS errors.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	// ErrConflict means a compare-and-swap lost: the revision was stale.
	ErrConflict = errors.New("store: revision conflict")
	// ErrClosed means the backend was closed.
	ErrClosed = errors.New("store: closed")
	// ErrTooLarge means one message would exceed the backend's payload limit.
	ErrTooLarge = errors.New("store: message too large")
	// ErrFull means storage refused a write for lack of space. It clears
	// by itself once space is freed (deleted logs, shorter retention).
	ErrFull = errors.New("store: storage full")
	// ErrReplicas means a log could not be placed: the cluster has fewer
	// live nodes than its replica count. It clears when nodes return.
	ErrReplicas = errors.New("store: fewer live nodes than replicas")
)

// Placer is implemented by a backend that may be unable to place new logs
// (a cluster short of live nodes); CanPlace then returns an error wrapping
// ErrReplicas.
type Placer interface {
	CanPlace(what string) error
}

// StreamKey names a stream inside an (account, region) namespace.
type StreamKey struct {
	Account string
	Region  string
	Name    string
}

// Stream is a stream's metadata, stored as one record.
type Stream struct {
	Key StreamKey
	// ID is unique to this incarnation of the stream. Backends name their
	// per-shard logs after it, so a deleted and re-created stream never sees
	// the old stream's data.
	ID      string
	Created time.Time
	// Status is CREATING, ACTIVE, UPDATING or DELETING. A transitional
	// status ends at StatusUntil; readers derive the current status from the
	// clock, so no process has to be awake to finish a transition.
	Status      string
	StatusUntil time.Time
	// NextStatus is what Status becomes at StatusUntil ("" means gone).
	NextStatus        string
	Mode              string
	RetentionHours    int
	MaxRecordSizeKiB  int
	Shards            []Shard
	NextShardIndex    int
	Tags              map[string]string
	ShardLevelMetrics []string
	// EncryptionType and KeyID are what the last Start- or
	// StopStreamEncryption asked for, as DescribeStream reports them
	// (KeyID as the caller gave it).
	EncryptionType string
	KeyID          string
	// DataKeys are the stream's data keys, each wrapped by its master
	// key; a stored entry names one by Index. Kept for as long as records
	// written with them may remain.
	DataKeys []DataKey `json:",omitempty"`
	// WriteKey is the Index of the data key new records are sealed with;
	// 0 stores them in the clear.
	WriteKey uint32 `json:",omitempty"`
	// NextWriteKey replaces WriteKey at StatusUntil: encryption starts or
	// stops when UPDATING ends, as on AWS.
	NextWriteKey *uint32 `json:",omitempty"`
	// KeyChanges and EncryptionStops are the times of recent Start- and
	// StopStreamEncryption calls, for their 24-hour limits.
	KeyChanges      []time.Time `json:",omitempty"`
	EncryptionStops []time.Time `json:",omitempty"`
	// Plan is a reshard waiting for StatusUntil; the first process to load
	// the stream after that applies it.
	Plan []ReshardStep `json:",omitempty"`
	// Scalings are the times of recent UpdateShardCount calls.
	Scalings []time.Time `json:",omitempty"`
	// Consumers are the stream's enhanced fan-out consumers.
	Consumers []Consumer `json:",omitempty"`
	// Policy is the stream's resource policy (PutResourcePolicy), "" for
	// none.
	Policy string `json:",omitempty"`
	// Warm is the warm throughput UpdateStreamWarmThroughput last asked
	// for; nil if never.
	Warm *WarmThroughput `json:",omitempty"`
	// Distribution is the record distribution strategy; "" is the
	// default, USER_PARTITION_KEY.
	Distribution string `json:",omitempty"`
}

// WarmThroughput is a stream's warm throughput in MiB/s: From until
// Until, then Target (readers derive which from the clock).
type WarmThroughput struct {
	Target int
	From   int
	Until  time.Time `json:",omitzero"`
}

// Clone returns a deep copy of s.
func (s *Stream) Clone() *Stream {
	c := *s
	c.Shards = slices.Clone(s.Shards)
	for i := range c.Shards {
		if t := c.Shards[i].Closed; t != nil {
			tc := *t
			c.Shards[i].Closed = &tc
		}
	}
	c.Tags = maps.Clone(s.Tags)
	c.ShardLevelMetrics = slices.Clone(s.ShardLevelMetrics)
	c.Plan = slices.Clone(s.Plan)
	c.Scalings = slices.Clone(s.Scalings)
	c.Consumers = slices.Clone(s.Consumers)
	for i := range c.Consumers {
		c.Consumers[i].Tags = maps.Clone(s.Consumers[i].Tags)
	}
	c.DataKeys = slices.Clone(s.DataKeys)
	for i := range c.DataKeys {
		c.DataKeys[i].Wrapped = slices.Clone(s.DataKeys[i].Wrapped)
		if t := c.DataKeys[i].Retired; t != nil {
			tc := *t
			c.DataKeys[i].Retired = &tc
		}
	}
	if s.NextWriteKey != nil {
		k := *s.NextWriteKey
		c.NextWriteKey = &k
	}
	if s.Warm != nil {
		w := *s.Warm
		c.Warm = &w
	}
	c.KeyChanges = slices.Clone(s.KeyChanges)
	c.EncryptionStops = slices.Clone(s.EncryptionStops)
	return &c
}

// DataKey is one of a stream's data keys for server-side encryption.
type DataKey struct {
	// Index is what stored entries carry (Entry.Key); never 0, never
	// reused within the stream.
	Index uint32
	// MasterKeyID is the GUID of the master key that wrapped it.
	MasterKeyID string
	// Wrapped is the 256-bit key sealed by the master key.
	Wrapped []byte
	Created time.Time
	// Retired is when new records stopped being sealed with it; nil while
	// it may still be used.
	Retired *time.Time `json:",omitempty"`
}

// Consumer is a registered enhanced fan-out consumer. Like a stream, it
// moves between statuses lazily: Status holds until StatusUntil, then
// becomes NextStatus ("" means the consumer is gone).
type Consumer struct {
	Name        string
	Created     time.Time
	Status      string
	StatusUntil time.Time         `json:",omitzero"`
	NextStatus  string            `json:",omitempty"`
	Tags        map[string]string `json:",omitempty"`
	Policy      string            `json:",omitempty"` // resource policy
}

// ReshardStep is one requested change of the shard map.
type ReshardStep struct {
	Kind     string // "split", "merge" or "scale"
	Shard    int
	Adjacent int    // merge: the other shard
	NewStart string // split: the second child's first hash key
	Target   int    // scale: the open shard count to reach
}

// Shard is one shard's metadata. Hash keys are decimal strings.
type Shard struct {
	Index          int
	Parent         int // -1 when none
	AdjacentParent int // -1 when none
	StartHash      string
	EndHash        string
	Created        time.Time
	// Closed is set once the shard accepts no more writes.
	Closed *time.Time
	// EndSeq is the last log position of a closed shard.
	EndSeq uint64
	// Pending marks a shard whose log work is not done yet: an open shard
	// whose log is still to be created, or a closed one whose log is still
	// to be closed. Parents are closed before children get logs, so no
	// record can land in a parent after one landed in its child.
	Pending bool `json:",omitempty"`
}

// Revision is a compare-and-swap token. Zero means "must not exist".
type Revision uint64

// Meta stores stream metadata. Every change is a compare-and-swap against
// the revision the caller read.
type Meta interface {
	Get(ctx context.Context, key StreamKey) (*Stream, Revision, error)
	// Cached is Get from a copy the backend keeps current by watching every
	// process's changes. A change made through this handle is seen at once;
	// one made by another process may be missed for a moment, so only the
	// data path uses it, where a stale shard map is caught by the log
	// itself (CloseShard fences writers; a missing log is ErrNotFound).
	// The returned stream is the caller's to change.
	Cached(ctx context.Context, key StreamKey) (*Stream, Revision, error)
	// Put writes s if the stored revision equals rev (0: if absent).
	// It returns ErrConflict (or ErrExists when rev is 0) otherwise.
	Put(ctx context.Context, s *Stream, rev Revision) (Revision, error)
	Delete(ctx context.Context, key StreamKey, rev Revision) error
	// List returns the streams of one namespace, sorted by name.
	List(ctx context.Context, account, region string) ([]*Stream, error)
	// Secret returns a random key shared by every process on this storage,
	// created on first use. Iterators and tokens are signed with it. Once
	// the key exists it must not need a write, so reads work while the
	// storage is full.
	Secret(ctx context.Context) ([]byte, error)

	// GetValue reads a small value (a few hundred bytes) stored under key,
	// with its revision; ErrNotFound when absent. Keys use the characters
	// [-_.a-zA-Z0-9], '.' separating tokens.
	GetValue(ctx context.Context, key string) ([]byte, Revision, error)
	// PutValue writes the value if the stored revision equals rev (0: if
	// absent), returning ErrConflict (or ErrExists when rev is 0) otherwise.
	PutValue(ctx context.Context, key string, val []byte, rev Revision) (Revision, error)
	// DeleteValue removes the value if its revision is still rev (0: in any
	// case). A missing value is not an error.
	DeleteValue(ctx context.Context, key string, rev Revision) error
	// WatchValue signals on the channel after PutValue or DeleteValue
	// changed the value under key, in any process; a GetValue after the
	// signal sees the change. Signals coalesce and may be spurious; the
	// channel is never closed. stop ends the watch.
	WatchValue(ctx context.Context, key string) (changed <-chan struct{}, stop func(), err error)
}

// ShardSpec is what a shard's log records about its place in the stream:
// enough to rebuild lost stream metadata from the logs alone.
type ShardSpec struct {
	Stream        StreamKey
	StreamCreated time.Time
	Mode          string
	Shard         Shard // index, parents, hash range, creation time
}

// SpecOf is the spec of shard sh of st.
func SpecOf(st *Stream, sh Shard) ShardSpec {
	sh.Closed, sh.EndSeq, sh.Pending = nil, 0, false
	return ShardSpec{Stream: st.Key, StreamCreated: st.Created, Mode: st.Mode, Shard: sh}
}

// ShardRef names one shard's log.
type ShardRef struct {
	StreamID string
	Shard    int
}

// Entry is one user record as stored.
type Entry struct {
	PartitionKey string
	Data         []byte
	// Key is 0 for a record stored in the clear. Otherwise Data is sealed
	// with the stream's data key of that index (Stream.DataKeys), in the
	// kinesis service's layout; storage only carries the number.
	Key uint32
}

// Position is where an appended entry landed: the stored message's sequence
// in the shard log, and the entry's index inside that message.
type Position struct {
	Seq uint64
	Sub int
	// Time is when the message was stored, exactly as Read reports it
	// (Message.Time): sequence numbers carry its second, so a write's
	// answer and a later read must agree. Zero on positions built by
	// readers.
	Time time.Time
}

// Message is one stored message, decoded.
type Message struct {
	Seq     uint64
	Time    time.Time
	Entries []Entry
}

// Tip describes a shard log's extent. An empty log has LastSeq = FirstSeq-1.
// LastTime is when storage took the last message: at or a moment after
// that message's Time.
type Tip struct {
	FirstSeq uint64
	LastSeq  uint64
	LastTime time.Time
}

// Log stores the records of every shard.
type Log interface {
	// CreateShard creates the log of one shard with the given retention.
	// Creating an existing log is not an error. A backend that can lose
	// its metadata keeps spec beside the log, so the stream can be rebuilt
	// from its logs.
	CreateShard(ctx context.Context, ref ShardRef, retention time.Duration, spec ShardSpec) error
	// DeleteShard removes a shard's log and its data.
	DeleteShard(ctx context.Context, ref ShardRef) error
	// CloseShard makes the shard's log refuse every later append, from any
	// process, with ErrNotFound (the writer re-reads the shard map and
	// routes to a child), and returns the sequence of its last message. Messages stay
	// readable until retention removes them. Closing twice is not an error.
	CloseShard(ctx context.Context, ref ShardRef) (lastSeq uint64, err error)
	// SetRetention changes how long a shard's messages are kept.
	SetRetention(ctx context.Context, ref ShardRef, retention time.Duration) error
	// Append stores entries in order and returns where each landed.
	// Concurrent appends to one shard are packed into as few stored
	// messages as possible (group commit); entries of one call stay in
	// order and contiguous. It returns only once the data is acknowledged
	// by storage.
	Append(ctx context.Context, ref ShardRef, entries []Entry) ([]Position, error)
	// Read returns stored messages with Seq >= from, at most maxMsgs of
	// them and about maxBytes of payload (at least one message if any).
	// The entries' Data belong to the caller, who may change them in
	// place (the service decrypts there).
	Read(ctx context.Context, ref ShardRef, from uint64, maxMsgs, maxBytes int) ([]Message, error)
	// Tip reports the log's first and last sequence and last write time.
	Tip(ctx context.Context, ref ShardRef) (Tip, error)
	// SeekTime returns the sequence of the first message stored at or
	// after t, or LastSeq+1 when there is none.
	SeekTime(ctx context.Context, ref ShardRef, t time.Time) (uint64, error)
	// Watch signals on the channel after appends to the shard have been
	// acknowledged by storage, by any process on this storage, so a reader
	// can wait for data instead of polling. Signals coalesce (the channel
	// has room for one) and may be spurious; the channel is never closed.
	// Watching a shard whose log does not exist is allowed. stop ends the
	// watch.
	Watch(ctx context.Context, ref ShardRef) (notify <-chan struct{}, stop func(), err error)
}

// Tapper is a store that can hand the messages it commits to one log to
// a reader in the same process, as they are acknowledged, so that a
// reader keeping up with the writers need not read them back (the
// Firehose engine's DirectPut buffers). fn gets each message's logical
// sequence, its time, as Read reports it (Message.Time), and its encoded entries
// (batch.Decode), which then belong to fn; calls come in sequence order
// from one goroutine and must not block. Messages other processes append
// are not tapped: readers still read when the tapped sequence skips.
type Tapper interface {
	Tap(ref ShardRef, fn func(seq uint64, at time.Time, data []byte)) (stop func())
}

// Backend is a whole storage: metadata plus logs.
type Backend interface {
	Meta
	Log
	Close() error
}

// AccountSettings are one account's Kinesis settings in one region
// (DescribeAccountSettings, UpdateAccountSettings).
type AccountSettings struct {
	// Commitment is the MinimumThroughputBillingCommitment as last
	// changed. A scheduled end (ENABLED_UNTIL_EARLIEST_ALLOWED_END) is
	// settled by readers from the clock, so no process has to be awake
	// when it falls due.
	Commitment Commitment `json:",omitzero"`
}

// Commitment is a MinimumThroughputBillingCommitment's state.
type Commitment struct {
	Status               string    `json:",omitempty"`
	StartedAt            time.Time `json:",omitzero"`
	EndedAt              time.Time `json:",omitzero"`
	EarliestAllowedEndAt time.Time `json:",omitzero"`
}

// Accounts stores AccountSettings per (account, region), changed only by
// compare-and-swap so that every process on one NATS sees the same ones.
type Accounts interface {
	// GetAccountSettings reads an account's settings; ErrNotFound if
	// they were never written.
	GetAccountSettings(ctx context.Context, account, region string) (*AccountSettings, Revision, error)
	// PutAccountSettings creates (rev 0; ErrExists if present) or
	// replaces (rev = the revision read; ErrConflict if stale) them.
	PutAccountSettings(ctx context.Context, account, region string, a *AccountSettings, rev Revision) (Revision, error)
}
