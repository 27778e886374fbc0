package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/aggregation"
)

// KinesisAPI is the part of *kinesis.Client the producer uses.
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

var _ KinesisAPI = (*kinesis.Client)(nil)

// Record is a user record.
type Record struct {
	// PartitionKey is 1 to 256 Unicode characters; it picks the shard
	// unless ExplicitHashKey is set.
	PartitionKey string
	// ExplicitHashKey is an optional decimal hash key in [0, 2^128-1].
	ExplicitHashKey string
	// Data is not copied: do not change it until the record's Future is
	// done.
	Data []byte
}

// urec is a user record inside the producer.
type urec struct {
	id        uint64 // Put order; every queue is sorted by it
	rec       Record
	hash      hashKey
	size      int // data plus partition key
	arrival   time.Time
	attempts  int
	sent      bool // sent at least once
	held      bool // counts in Producer.held (ordering)
	lastErr   error
	notBefore time.Time // retry backoff
	fut       *Future
}

func (r *urec) expiry(ttl time.Duration) time.Time { return r.arrival.Add(ttl) }

type mapState int

const (
	// mapLoading: a listing is awaited (the first, or after a reshard was
	// detected with aggregation on); new records wait unassigned and
	// predicted shards are not sent to.
	mapLoading mapState = iota
	mapReady
	// mapFailed: listing failed; records go out unaggregated and
	// unlimited, as Kinesis routes them.
	mapFailed
)

// shardQueue holds the records predicted for one open shard, or, with id
// "", those with no prediction.
type shardQueue struct {
	id             string
	q              []*urec
	records, bytes bucket
}

// flushWaiter is a Flush or Close waiting for the records accepted before
// it (ids below mark) to finish.
type flushWaiter struct {
	mark      uint64
	remaining int
	t         tally
	done      chan struct{}
}

// Producer batches, aggregates, rate-limits and retries records into
// PutRecords calls on one stream. It is safe for concurrent use. Close it
// to stop its goroutines.
type Producer struct {
	client KinesisAPI
	stream string
	cfg    config
	log    *slog.Logger
	agg    *aggregation.Aggregator // used by the dispatcher under mu

	runCtx    context.Context // canceled when Close gives up: aborts calls
	cancelRun context.CancelFunc
	wg        sync.WaitGroup
	wake      chan struct{} // capacity 1: "look again"
	stop      chan struct{}

	mu       sync.Mutex
	closing  bool
	aborting bool
	closedCh chan struct{} // closed when Close starts
	space    chan struct{} // closed and replaced when records finish
	waiting  int           // Puts blocked on space
	nextID   uint64

	buffered, bufferedBytes  int
	queuedCount, queuedBytes int // in shard queues

	state          mapState
	smap           *shardMap
	refreshing     bool
	refreshAgain   bool
	nextRefresh    time.Time // zero: none scheduled
	refreshFailure int

	shards     map[string]*shardQueue
	order      []*shardQueue // shards, for round-robin batch building
	rr         int
	unknown    *shardQueue
	unassigned []*urec // waiting for the shard map

	held   map[string]int     // ordering: records per key in flight or waiting to retry
	parked map[string][]*urec // ordering: records behind a held key

	retries    retryHeap
	unverified []*landing // aggregated records on an unexpected shard, awaiting the map
	inflight   int
	flushers   []*flushWaiter
	nextWakeAt time.Time
	stats      Stats
}

// landing is an aggregated entry that landed on an unexpected shard.
type landing struct {
	e          *entry
	shard, seq string
}

// farFuture stands for "no wake-up planned".
var farFuture = time.Unix(1<<62, 0)

// New returns a Producer writing to stream (a name, or an ARN starting
// with "arn:") through client. It lists the stream's shards in the
// background; records put meanwhile wait for the listing.
func New(client KinesisAPI, stream string, opts ...Option) (*Producer, error) {
	if client == nil {
		return nil, invalid("nil client")
	}
	if stream == "" {
		return nil, invalid("empty stream name")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	agg, err := aggregation.NewAggregator(aggregation.WithMaxSize(cfg.aggregationMaxSize), aggregation.WithMaxCount(cfg.aggregationMaxCount))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Producer{
		client:     client,
		stream:     stream,
		cfg:        cfg,
		log:        cfg.logger.With("stream", stream),
		agg:        agg,
		runCtx:     ctx,
		cancelRun:  cancel,
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		closedCh:   make(chan struct{}),
		space:      make(chan struct{}),
		held:       make(map[string]int),
		parked:     make(map[string][]*urec),
		nextWakeAt: farFuture,
	}
	p.unknown = p.newShard("")
	p.shards = map[string]*shardQueue{"": p.unknown}
	p.order = []*shardQueue{p.unknown}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

func (p *Producer) newShard(id string) *shardQueue {
	pct := float64(p.cfg.rateLimit) / 100
	sq := &shardQueue{id: id}
	sq.records.init(shardRecordsPerSec * pct)
	sq.bytes.init(shardBytesPerSec * pct)
	return sq
}

// check validates rec as Kinesis would and computes its hash key.
func (p *Producer) check(rec Record) (int, hashKey, error) {
	if err := aggregation.ValidateRecord(aggregation.Record{PartitionKey: rec.PartitionKey, ExplicitHashKey: rec.ExplicitHashKey}); err != nil {
		return 0, hashKey{}, fmt.Errorf("%w: %v", ErrInvalidRecord, strings.TrimPrefix(err.Error(), "aggregation: invalid record: "))
	}
	size := len(rec.Data) + len(rec.PartitionKey)
	if size > p.cfg.maxRecordSize {
		return 0, hashKey{}, fmt.Errorf("%w: %d bytes of data and partition key, limit %d", ErrInvalidRecord, size, p.cfg.maxRecordSize)
	}
	if rec.ExplicitHashKey != "" {
		h, err := parseHashKey(rec.ExplicitHashKey)
		if err != nil {
			return 0, hashKey{}, fmt.Errorf("%w: explicit hash key: %v", ErrInvalidRecord, err)
		}
		return size, h, nil
	}
	return size, hashOfPartitionKey(rec.PartitionKey), nil
}

// Put queues rec and returns its Future. It fails at once for an invalid
// record or a closed producer. When the buffer is full it waits for room
// until ctx is done (WithBlockOnFull(true), the default) or returns
// ErrBufferFull. ctx bounds only this wait: once accepted, a record lives
// until it is acknowledged, fails, or outlives RecordTTL.
func (p *Producer) Put(ctx context.Context, rec Record) (*Future, error) {
	size, hash, err := p.check(rec)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	for {
		if p.closing {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if p.buffered == 0 || (p.buffered < p.cfg.maxBufferedRecords && p.bufferedBytes+size <= p.cfg.maxBufferedBytes) {
			break
		}
		if !p.cfg.blockOnFull {
			p.mu.Unlock()
			return nil, ErrBufferFull
		}
		space, closed := p.space, p.closedCh
		p.waiting++
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.waiting--
			p.mu.Unlock()
			return nil, ctx.Err()
		case <-space:
		case <-closed:
		}
		p.mu.Lock()
		p.waiting--
	}
	now := time.Now()
	r := &urec{id: p.nextID, rec: rec, hash: hash, size: size, arrival: now, fut: newFuture()}
	p.nextID++
	p.buffered++
	p.bufferedBytes += size
	wasFull := p.full()
	p.admit(r)
	kick := len(p.flushers) > 0 || (!wasFull && p.full()) ||
		r.arrival.Add(p.cfg.recordMaxBufferedTime).Before(p.nextWakeAt)
	p.mu.Unlock()
	if kick {
		p.kick()
	}
	return r.fut, nil
}

// PutSync puts rec and waits for its outcome. If ctx ends first, the
// record stays in the producer and ctx's error is returned.
func (p *Producer) PutSync(ctx context.Context, rec Record) (Result, error) {
	f, err := p.Put(ctx, rec)
	if err != nil {
		return Result{Err: err}, err
	}
	return f.Wait(ctx)
}

// Flush sends every record accepted so far without waiting for
// RecordMaxBufferedTime and waits until they are all finished. It returns
// a *FlushError if some of them failed, or ctx's error.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return ErrClosed
	}
	w := p.addFlusher()
	p.mu.Unlock()
	if w == nil {
		return nil
	}
	p.kick()
	select {
	case <-w.done:
		return w.t.err()
	case <-ctx.Done():
		p.mu.Lock()
		p.removeFlusher(w)
		p.mu.Unlock()
		return ctx.Err()
	}
}

// Close refuses new records, flushes, and stops the producer. If ctx ends
// before every record is finished, calls in flight are abandoned and the
// records still held fail with ErrClosed. It returns a *FlushError listing
// the records accepted before Close that failed, joined with ctx's error
// if ctx ended. A second Close returns ErrClosed.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closing = true
	close(p.closedCh)
	w := p.addFlusher()
	p.mu.Unlock()
	p.kick()

	var err error
	if w != nil {
		select {
		case <-w.done:
			err = w.t.err()
		case <-ctx.Done():
			p.mu.Lock()
			p.abort()
			p.mu.Unlock()
			p.cancelRun() // calls in flight return and fail their records
			<-w.done
			err = errors.Join(ctx.Err(), w.t.err())
		}
	}
	p.cancelRun()
	close(p.stop)
	p.wg.Wait()
	return err
}

// Stats returns a snapshot of the counters.
func (p *Producer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Buffered, s.BufferedBytes = int64(p.buffered), int64(p.bufferedBytes)
	return s
}

func (p *Producer) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// full reports whether the queues hold at least a PutRecords call's worth.
func (p *Producer) full() bool {
	if p.queuedBytes >= p.cfg.collectionMaxSize {
		return true
	}
	return !p.cfg.aggregation && p.queuedCount >= p.cfg.collectionMaxCount
}

func (p *Producer) addFlusher() *flushWaiter {
	if p.buffered == 0 {
		return nil
	}
	w := &flushWaiter{mark: p.nextID, remaining: p.buffered, done: make(chan struct{})}
	p.flushers = append(p.flushers, w)
	return w
}

func (p *Producer) removeFlusher(w *flushWaiter) {
	for i, x := range p.flushers {
		if x == w {
			p.flushers = append(p.flushers[:i], p.flushers[i+1:]...)
			return
		}
	}
}

// finish completes r's Future and releases what r held.
func (p *Producer) finish(r *urec, res Result) {
	if r.held {
		p.unhold(r)
	}
	if res.Attempts == 0 {
		res.Attempts = r.attempts
	}
	r.fut.complete(res)
	p.buffered--
	p.bufferedBytes -= r.size
	if p.waiting > 0 {
		close(p.space)
		p.space = make(chan struct{})
	}
	if res.Err == nil {
		p.stats.UserRecordsPut++
	} else {
		p.stats.UserRecordsFailed++
		if errors.Is(res.Err, ErrExpired) {
			p.stats.UserRecordsExpired++
		}
	}
	if len(p.flushers) == 0 {
		return
	}
	keep := p.flushers[:0]
	for _, w := range p.flushers {
		if r.id < w.mark {
			w.remaining--
			if res.Err != nil {
				w.t.add(res.Err)
			}
			if w.remaining == 0 {
				close(w.done)
				continue
			}
		}
		keep = append(keep, w)
	}
	clear(p.flushers[len(keep):])
	p.flushers = keep
}

// fail finishes r with err.
func (p *Producer) fail(r *urec, err error) {
	p.finish(r, Result{Err: err})
}

// expired finishes r with ErrExpired and its last failure.
func (p *Producer) expired(r *urec) {
	if r.lastErr != nil {
		p.fail(r, fmt.Errorf("%w after %d attempts: %w", ErrExpired, r.attempts, r.lastErr))
		return
	}
	p.fail(r, fmt.Errorf("%w after %d attempts", ErrExpired, r.attempts))
}

// abort fails every record not in flight; calls in flight fail theirs
// when they return.
func (p *Producer) abort() {
	p.aborting = true
	for _, sq := range p.order {
		for _, r := range p.takeAll(sq) {
			p.fail(r, ErrClosed)
		}
	}
	for _, r := range p.unassigned {
		p.fail(r, ErrClosed)
	}
	p.unassigned = nil
	for len(p.retries) > 0 {
		p.fail(p.retries.popMin(), ErrClosed)
	}
	for _, l := range p.unverified {
		for _, r := range l.e.recs {
			p.fail(r, fmt.Errorf("%w: outcome unknown, written to %s", ErrClosed, l.shard))
		}
	}
	p.unverified = nil
	for k, rs := range p.parked {
		delete(p.parked, k)
		for _, r := range rs {
			p.fail(r, ErrClosed)
		}
	}
}
