// Package limits enforces AWS's Kinesis throughput limits (--limits=aws):
// per-shard write and read rates, the penalty after a 10 MiB GetRecords
// response, the GetShardIterator and SubscribeToShard call rates, and the
// control-plane call rates. Every limit is a token
// bucket that holds at most one second of its rate.
//
// Several processes on one storage each enforce 1/peers of every limit,
// which is right only when clients spread their calls evenly over the
// processes; docs/LIMITS.md explains why that trade was made.
package limits

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// AWS's per-shard limits.
const (
	WriteRecordsPerSec = 1000
	WriteBytesPerSec   = 1 << 20
	ReadCallsPerSec    = 5
	ReadBytesPerSec    = 2 << 20
	// BigRead is the response size after which a shard refuses reads for
	// Penalty.
	BigRead = 10 << 20
	Penalty = 5 * time.Second
	// IteratorCallsPerSec is GetShardIterator's rate per shard.
	IteratorCallsPerSec = 5
	// SubscribeCallsPerSec is SubscribeToShard's rate per consumer and
	// shard.
	SubscribeCallsPerSec = 1
)

// Scope says what a control-plane rate is counted per.
type Scope string

const (
	PerAccount Scope = "account"
	PerStream  Scope = "stream"
)

// ControlRate is one operation's control-plane rate.
type ControlRate struct {
	PerSec float64 `json:"perSecond"`
	Scope  Scope   `json:"per"`
}

// ControlRates are AWS's documented control-plane rates, per account and
// region unless Scope says otherwise. Operations not listed are not
// limited.
var ControlRates = map[string]ControlRate{
	"CreateStream":           {5, PerAccount},
	"DeleteStream":           {5, PerAccount},
	"SplitShard":             {5, PerAccount},
	"MergeShards":            {5, PerAccount},
	"UpdateShardCount":       {5, PerAccount},
	"ListStreams":            {5, PerAccount},
	"AddTagsToStream":        {5, PerAccount},
	"RemoveTagsFromStream":   {5, PerAccount},
	"ListTagsForStream":      {5, PerAccount},
	"RegisterStreamConsumer": {5, PerAccount},
	"DescribeStream":         {10, PerAccount},
	"DescribeStreamSummary":  {20, PerAccount},
	"DescribeLimits":         {1, PerAccount},
	"ListShards":             {1000, PerStream},
	"CreateChannel":          {5, PerAccount},
	"DescribeChannel":        {5, PerAccount},
	"ListChannels":           {5, PerAccount},
	"UpdateChannel":          {5, PerAccount},
	"DeleteChannel":          {5, PerAccount},

	"DescribeAccountSettings":    {5, PerAccount},
	"UpdateAccountSettings":      {5, PerAccount},
	"UpdateStreamWarmThroughput": {5, PerAccount},
}

// Config tunes a Limiter.
type Config struct {
	// Now is the clock; tests replace it. Default time.Now.
	Now func() time.Time
	// Peers counts the live rivulet processes sharing the storage; each
	// enforces 1/Peers of every limit. Nil means 1. A result below 1
	// means "unknown": the last good count stays in force.
	Peers func() int
}

// peersRefresh is how often Peers is asked.
const peersRefresh = time.Second

// sweepEvery is how often idle buckets are looked for.
const sweepEvery = 10 * time.Second

// Limiter implements kinesis.Limiter with AWS's limits.
type Limiter struct {
	now      func() time.Time
	peersFn  func() int
	peers    atomic.Int64
	peersAt  atomic.Int64 // unix nanos of the last refresh
	fetching atomic.Bool

	mu        sync.Mutex
	shards    map[shardKey]*shardState
	control   map[controlKey]*bucket
	subs      map[subKey]*bucket
	nextSweep time.Time
}

var _ kinesis.Limiter = (*Limiter)(nil)

type shardKey struct {
	stream store.StreamKey
	shard  int
}

type subKey struct {
	consumerARN string
	shard       int
}

type controlKey struct {
	op                    string
	account, region, name string
}

type shardState struct {
	records, bytes bucket // writes
	calls, read    bucket // reads
	iterators      bucket // GetShardIterator calls
	penaltyUntil   time.Time
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	l := &Limiter{
		now:     cfg.Now,
		peersFn: cfg.Peers,
		shards:  make(map[shardKey]*shardState),
		control: make(map[controlKey]*bucket),
		subs:    make(map[subKey]*bucket),
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.peers.Store(1)
	return l
}

// Peers is the process count currently dividing the limits.
func (l *Limiter) Peers() int { return int(l.peers.Load()) }

// refreshPeers asks Peers at most once per peersRefresh, from one caller
// at a time and outside l.mu: counting may be a storage round trip.
func (l *Limiter) refreshPeers(now time.Time) {
	if l.peersFn == nil {
		return
	}
	last := l.peersAt.Load()
	if last != 0 && now.UnixNano()-last < int64(peersRefresh) {
		return
	}
	if !l.fetching.CompareAndSwap(false, true) {
		return
	}
	defer l.fetching.Store(false)
	if n := l.peersFn(); n >= 1 {
		l.peers.Store(int64(n))
	}
	l.peersAt.Store(now.UnixNano())
}

// rates are the limits divided among the processes. Counts keep a
// capacity of at least one call, so a small rate still lets calls through
// now and then rather than never.
type rates struct {
	div float64
}

func (r rates) rate(perSec float64) float64 { return perSec / r.div }
func (r rates) calls(perSec float64) float64 {
	return max(perSec/r.div, 1)
}

func (l *Limiter) begin() (time.Time, rates) {
	now := l.now()
	l.refreshPeers(now)
	return now, rates{div: float64(l.peers.Load())}
}

// Write reserves records and bytes on a shard, both or neither.
func (l *Limiter) Write(k store.StreamKey, shard int, records, bytes int) bool {
	now, r := l.begin()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, r)
	s := l.shard(k, shard)
	recRate, byteRate := r.rate(WriteRecordsPerSec), r.rate(WriteBytesPerSec)
	recCap, byteCap := r.calls(WriteRecordsPerSec), r.rate(WriteBytesPerSec)
	s.records.refill(now, recRate, recCap)
	s.bytes.refill(now, byteRate, byteCap)
	if !s.records.has(float64(records), recCap) || !s.bytes.has(float64(bytes), byteCap) {
		return false
	}
	s.records.tokens -= float64(records)
	s.bytes.tokens -= float64(bytes)
	return true
}

// Read admits a GetRecords call unless the shard is over its call rate,
// still paying off bytes read beyond its byte rate, or in the penalty
// after a 10 MiB response.
func (l *Limiter) Read(k store.StreamKey, shard int) bool {
	now, r := l.begin()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, r)
	s := l.shard(k, shard)
	callCap := r.calls(ReadCallsPerSec)
	s.calls.refill(now, r.rate(ReadCallsPerSec), callCap)
	s.read.refill(now, r.rate(ReadBytesPerSec), r.rate(ReadBytesPerSec))
	if now.Before(s.penaltyUntil) || s.read.tokens < 0 || !s.calls.has(1, callCap) {
		return false
	}
	s.calls.tokens--
	return true
}

// ReadDone charges what a GetRecords call returned. The byte bucket may go
// into debt: a response is never cut short, the next calls wait instead.
func (l *Limiter) ReadDone(k store.StreamKey, shard int, bytes int) {
	now, r := l.begin()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.shard(k, shard)
	s.read.refill(now, r.rate(ReadBytesPerSec), r.rate(ReadBytesPerSec))
	s.read.tokens -= float64(bytes)
	if bytes >= BigRead {
		s.penaltyUntil = now.Add(Penalty)
	}
}

// Control admits a control-plane call unless its operation is over its
// rate for the caller's account and region (or stream, for ListShards).
func (l *Limiter) Control(c kinesis.Caller, op string, stream string) bool {
	cr, ok := ControlRates[op]
	if !ok {
		return true
	}
	now, r := l.begin()
	k := controlKey{op: op, account: c.Account, region: c.Region}
	if cr.Scope == PerStream {
		k.name = stream
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, r)
	b := l.control[k]
	if b == nil {
		b = &bucket{}
		l.control[k] = b
	}
	capacity := r.calls(cr.PerSec)
	b.refill(now, r.rate(cr.PerSec), capacity)
	if !b.has(1, capacity) {
		return false
	}
	b.tokens--
	return true
}

// ShardIterator admits a GetShardIterator call unless the shard is over
// its call rate.
func (l *Limiter) ShardIterator(k store.StreamKey, shard int) bool {
	now, r := l.begin()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, r)
	return l.shard(k, shard).iterators.take(now, r.rate(IteratorCallsPerSec), r.calls(IteratorCallsPerSec))
}

// Subscribe admits a SubscribeToShard call unless the consumer is over its
// call rate on the shard. Consumer ARNs name the account, region and
// stream, so the ARN and shard are the whole key.
func (l *Limiter) Subscribe(consumerARN string, shard int) bool {
	now, r := l.begin()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, r)
	k := subKey{consumerARN, shard}
	b := l.subs[k]
	if b == nil {
		b = &bucket{}
		l.subs[k] = b
	}
	return b.take(now, r.rate(SubscribeCallsPerSec), r.calls(SubscribeCallsPerSec))
}

func (l *Limiter) shard(k store.StreamKey, shard int) *shardState {
	key := shardKey{k, shard}
	s := l.shards[key]
	if s == nil {
		s = &shardState{}
		l.shards[key] = s
	}
	return s
}

// sweep drops buckets that have refilled completely: a fresh bucket
// starts full, so forgetting them changes nothing and memory stays
// proportional to recent traffic.
func (l *Limiter) sweep(now time.Time, r rates) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(sweepEvery)
	for k, s := range l.shards {
		if now.Before(s.penaltyUntil) {
			continue
		}
		if s.records.full(now, r.rate(WriteRecordsPerSec), r.calls(WriteRecordsPerSec)) &&
			s.bytes.full(now, r.rate(WriteBytesPerSec), r.rate(WriteBytesPerSec)) &&
			s.calls.full(now, r.rate(ReadCallsPerSec), r.calls(ReadCallsPerSec)) &&
			s.read.full(now, r.rate(ReadBytesPerSec), r.rate(ReadBytesPerSec)) &&
			s.iterators.full(now, r.rate(IteratorCallsPerSec), r.calls(IteratorCallsPerSec)) {
			delete(l.shards, k)
		}
	}
	for k, b := range l.subs {
		if b.full(now, r.rate(SubscribeCallsPerSec), r.calls(SubscribeCallsPerSec)) {
			delete(l.subs, k)
		}
	}
	for k, b := range l.control {
		cr := ControlRates[k.op]
		if b.full(now, r.rate(cr.PerSec), r.calls(cr.PerSec)) {
			delete(l.control, k)
		}
	}
}

// Size is the number of buckets held, for tests and the admin endpoint.
func (l *Limiter) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.shards) + len(l.control) + len(l.subs)
}

// bucket is a token bucket; a zero bucket is full on first use.
type bucket struct {
	tokens float64
	last   time.Time
	used   bool
}

func (b *bucket) refill(now time.Time, rate, capacity float64) {
	if !b.used {
		b.used, b.tokens, b.last = true, capacity, now
		return
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Seconds() * rate
		b.last = now
	}
	b.tokens = min(b.tokens, capacity)
}

// has reports whether n tokens can be taken. A request bigger than the
// whole bucket (a 10 MiB record against 1 MiB/s) passes when the bucket is
// full and leaves it in debt, so it costs its time without being
// impossible.
func (b *bucket) has(n, capacity float64) bool {
	return b.tokens >= min(n, capacity)
}

// take takes one call's token if there is one.
func (b *bucket) take(now time.Time, rate, capacity float64) bool {
	b.refill(now, rate, capacity)
	if !b.has(1, capacity) {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) full(now time.Time, rate, capacity float64) bool {
	if !b.used {
		return true
	}
	b.refill(now, rate, capacity)
	return b.tokens >= capacity
}
