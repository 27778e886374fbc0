package kinesis

// SubscribeToShard: enhanced fan-out's push delivery.
//
// The operation checks everything that can fail before the response
// starts (consumer, shard, starting position, the subscription lease), so
// those errors are ordinary HTTP errors. Its output is a *Subscription,
// which writes the event stream itself (wire.Responder): the
// initial-response, then SubscribeToShardEvents as records are stored.
//
// A subscription waits on the store's append notifications (store.Log
// Watch), which the write path publishes after storage acknowledged the
// data, from whichever process wrote it; it never polls for records. A
// ticker keeps idle streams alive with empty events and re-reads the
// stream's metadata, which is how it sees a closed shard, a deleted stream
// or a deregistered consumer.
//
// Only one subscription per consumer and shard may run, across all
// processes: the holder keeps a lease in the store's value space. A new
// subscription within 5 s of the holder's start is refused; a later one
// overwrites the lease, and the old holder, watching its lease, ends with
// ResourceInUseException.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/iterator"
	"github.com/rivulet/rivulet/internal/domain/seqnum"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/wire/eventstream"
)

const (
	// subscriptionLifetime is how long one subscription lasts on AWS.
	subscriptionLifetime = 5 * time.Minute
	// takeoverAfter is how long a subscription is protected from being
	// replaced by another one for the same consumer and shard.
	takeoverAfter = 5 * time.Second
	// subscribeTick is how often an idle subscription sends an empty event
	// and re-reads the stream's metadata.
	subscribeTick = 2 * time.Second
	// maxEventBytes caps the record bytes of one event (one record may
	// exceed it); maxEventRecords its record count.
	maxEventBytes   = 1 << 20
	maxEventRecords = 10000
	// fanoutRate is each consumer's read throughput per shard with
	// --limits=aws: 2 MiB/s.
	fanoutRate = 2 << 20
	// eventWriteTimeout bounds how long a client may leave one event
	// unread before the subscription gives up on it.
	eventWriteTimeout = 30 * time.Second
	// Event and exception types on the stream.
	eventInitialResponse = "initial-response"
	eventSubscribe       = "SubscribeToShardEvent"
)

// fanout is the service's subscription state: timings (shortened by
// tests) and the signal that ends every subscription on shutdown.
type fanout struct {
	lifetime time.Duration
	tick     time.Duration
	rate     float64 // bytes/s per subscription with limits on

	drain     chan struct{}
	drainOnce sync.Once
	servers   sync.Map // *http.Server whose shutdown drains us
}

func newFanout() *fanout {
	return &fanout{lifetime: subscriptionLifetime, tick: subscribeTick, rate: fanoutRate, drain: make(chan struct{})}
}

func (f *fanout) close() { f.drainOnce.Do(func() { close(f.drain) }) }

// followShutdown ends every subscription when the HTTP server serving r
// shuts down, so its graceful drain does not wait minutes for them. The
// clients see a clean end of stream and subscribe again elsewhere.
func (f *fanout) followShutdown(r *http.Request) {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok || srv == nil {
		return
	}
	if _, loaded := f.servers.LoadOrStore(srv, struct{}{}); !loaded {
		srv.RegisterOnShutdown(f.close)
	}
}

// lease is the stored holder of a (consumer, shard) subscription.
type lease struct {
	Owner string `json:"o"`
	Start int64  `json:"s"` // epoch ms
}

// leaseKey names the lease of a consumer's subscriptions to one shard;
// the consumer ARN is hashed into a short, key-safe token.
func leaseKey(consumerARN string, shard int) string {
	h := sha256.Sum256([]byte(consumerARN))
	return "fanout." + hex.EncodeToString(h[:16]) + "." + strconv.Itoa(shard)
}

func anotherSubscription(r consumerRef, shard int) error {
	return Errorf(ErrResourceInUse, "Another active subscription exists for this consumer: %s:%s:%s:%s",
		r.Stream.Account, r.Stream.Name, ShardID(shard), r.Name)
}

// subscribeThrottled answers a SubscribeToShard call over the rate of one
// per second per consumer and shard. It is an ordinary HTTP error: the
// event stream has no LimitExceededException event. No public record
// shows AWS's message; this one follows AWS's "Rate exceeded for ..."
// messages.
func subscribeThrottled(r consumerRef, shard int) error {
	return Errorf(ErrLimitExceeded, "Rate exceeded for consumer %s and shard %s.", r.arn(), ShardID(shard))
}

// acquire takes the lease for a new subscription: free, or held since
// takeoverAfter or longer.
func (s *Service) acquire(ctx context.Context, key, owner string, r consumerRef, shard int) (store.Revision, error) {
	for attempt := 0; ; attempt++ {
		val, rev, err := s.be.GetValue(ctx, key)
		now := s.now()
		switch {
		case errors.Is(err, store.ErrNotFound):
			rev = 0
		case err != nil:
			return 0, err
		default:
			var l lease
			if json.Unmarshal(val, &l) == nil && now.Sub(time.UnixMilli(l.Start)) < takeoverAfter {
				return 0, anotherSubscription(r, shard)
			}
		}
		body, _ := json.Marshal(lease{Owner: owner, Start: now.UnixMilli()})
		nrev, err := s.be.PutValue(ctx, key, body, rev)
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)) && attempt < 5 {
			continue // someone else moved first: judge their lease
		}
		return nrev, err
	}
}

// Subscription is SubscribeToShard's output: an accepted subscription
// that writes its own event-stream response.
type Subscription struct {
	s         *Service
	consumer  consumerRef
	st        *store.Stream
	shard     int
	pos       store.Position
	notBefore time.Time
	key       string
	owner     string
	rev       store.Revision
	// unleased marks a subscription accepted without a lease because the
	// storage was full; it yields to any lease taken after its start.
	unleased bool
	started  time.Time
	// rec counts the consumer's events (and the shard's outgoing
	// records); shardID names the shard in them.
	rec     recorder
	shardID string
}

func validateSubscribeToShard(in *api.SubscribeToShardInput) error {
	var v validator
	v.str("consumerARN", in.ConsumerARN, true, vConsumerARN)
	v.str("shardId", in.ShardId, true, vShardID)
	if p := in.StartingPosition; p == nil {
		v.null("startingPosition")
	} else {
		v.str("startingPosition.type", p.Type, true, vIterType)
		v.str("startingPosition.sequenceNumber", p.SequenceNumber, false, vSeqNum)
	}
	return v.err()
}

// SubscribeToShard accepts a subscription of an ACTIVE consumer to one
// shard from a starting position.
func (s *Service) SubscribeToShard(ctx context.Context, in *api.SubscribeToShardInput) (*Subscription, error) {
	if err := validateSubscribeToShard(in); err != nil {
		return nil, err
	}
	r, ok := parseConsumerARN(*in.ConsumerARN)
	if !ok {
		return nil, Errorf(ErrInvalidArgument, "ConsumerARN %s is invalid.", *in.ConsumerARN)
	}
	k := r.Stream
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	settleConsumers(st, s.now())
	c := consumerByRef(st, r)
	if c == nil {
		return nil, consumerNotFound(k, r.Name)
	}
	m := s.consumerRecorder(r, st)
	sub, busy, err := s.subscribe(ctx, in, r, st, c)
	m.subscribe(err == nil, busy)
	if err != nil {
		return nil, err
	}
	sub.rec, sub.shardID = m, ShardID(sub.shard)
	return sub, nil
}

// subscribe is SubscribeToShard for a registered consumer. busy reports a
// refusal because another subscription holds the shard.
func (s *Service) subscribe(ctx context.Context, in *api.SubscribeToShardInput, r consumerRef, st *store.Stream, c *store.Consumer) (_ *Subscription, busy bool, _ error) {
	k := r.Stream
	if c.Status != api.ConsumerStatusActive {
		return nil, false, consumerNotActive(k, c)
	}
	// The starting position means what a shard iterator of that type
	// means, with the same checks and messages.
	sp := in.StartingPosition
	gsi, err := s.shardIterator(ctx, &api.GetShardIteratorInput{
		StreamARN: ptr(StreamARN(k)), ShardId: in.ShardId, ShardIteratorType: sp.Type,
		StartingSequenceNumber: sp.SequenceNumber, Timestamp: sp.Timestamp,
	}, false)
	if err != nil {
		return nil, false, err
	}
	key, err := s.secretKey(ctx)
	if err != nil {
		return nil, false, err
	}
	it, err := iterator.Decode(key, gsi.ShardIterator)
	if err != nil {
		return nil, false, err
	}
	if it.StreamID != st.ID {
		// Re-created between the two reads.
		return nil, false, notFound(k)
	}
	// Before the lease: a second call within the second is throttled
	// rather than told another subscription holds the shard.
	if s.cfg.Limits != nil && !s.cfg.Limits.Subscribe(r.arn(), it.Shard) {
		return nil, false, subscribeThrottled(r, it.Shard)
	}
	sub := &Subscription{
		s: s, consumer: r, st: st, shard: it.Shard,
		pos: store.Position{Seq: it.Seq, Sub: it.Sub}, notBefore: it.NotBefore,
		key: leaseKey(r.arn(), it.Shard), owner: newOwnerID(),
	}
	sub.started = s.now()
	sub.rev, err = s.acquire(ctx, sub.key, sub.owner, r, it.Shard)
	if errors.Is(err, ErrResourceInUse) {
		return nil, true, err // anotherSubscription
	}
	if errors.Is(err, store.ErrFull) {
		// Reading must not need space: go on without exclusivity.
		s.log.Warn("storage full: subscription runs without its lease", "key", sub.key)
		sub.unleased, err = true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return sub, false, nil
}

func newOwnerID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Respond writes the event stream until the subscription ends: after its
// lifetime, at the end of a closed shard, when the client goes away, when
// the server shuts down, or with an exception event.
func (sub *Subscription) Respond(w http.ResponseWriter, r *http.Request) {
	s := sub.s
	defer sub.release()
	s.fan.followShutdown(r)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", eventstream.ContentType)
	w.WriteHeader(http.StatusOK)
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	out := eventstream.NewWriter(deadlineWriter{w: w, rc: rc}, rc.Flush, strings.ToLower(strings.TrimSpace(ct)))
	err := sub.run(r.Context(), out)
	if err == nil || r.Context().Err() != nil {
		return
	}
	typ, msg := "InternalFailureException", "Internal Service Failure"
	var e *Error
	if errors.As(err, &e) && (errors.Is(err, ErrResourceNotFound) || errors.Is(err, ErrResourceInUse) || isKMS(err)) {
		typ, msg = e.Kind.Error(), e.Message
	} else {
		s.log.Warn("subscription failed", "consumer", sub.consumer.arn(), "shard", sub.shard, "err", err)
	}
	_ = out.Exception(typ, msg)
}

// deadlineWriter gives every event a write deadline, so a client that
// stops reading cannot hold the subscription forever.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)) // unsupported writers just have none
	return d.w.Write(p)
}

// release gives the lease back, unless another subscription took it.
func (sub *Subscription) release() {
	if sub.unleased {
		return // nothing of ours to give back
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := sub.s.be.DeleteValue(ctx, sub.key, sub.rev)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		sub.s.log.Debug("release subscription lease", "key", sub.key, "err", err)
	}
}

// errEnded ends a subscription cleanly from inside the loop.
var errEnded = errors.New("subscription ended")

// run sends the initial response, then events until the subscription
// ends. A nil error is a clean end.
func (sub *Subscription) run(ctx context.Context, out *eventstream.Writer) error {
	s := sub.s
	// Watch before anything is read or checked, so no change is missed.
	data, stopData, err := s.be.Watch(ctx, store.ShardRef{StreamID: sub.st.ID, Shard: sub.shard})
	if err == nil {
		defer stopData()
	}
	leaseChanged, stopLease, lerr := s.be.WatchValue(ctx, sub.key)
	if lerr == nil {
		defer stopLease()
	}
	// Clients expect the initial response first, also before an exception.
	if err := out.Event(eventInitialResponse, struct{}{}); err != nil {
		return nil // the client is gone
	}
	if err := errors.Join(err, lerr); err != nil {
		return err
	}
	// A takeover before the watch started is only visible in the lease.
	if err := sub.checkLease(ctx); err != nil {
		return err
	}
	life := time.NewTimer(s.fan.lifetime)
	defer life.Stop()
	tick := time.NewTicker(s.fan.tick)
	defer tick.Stop()
	var bucket *tokenBucket
	if s.cfg.Limits != nil {
		bucket = newTokenBucket(s.fan.rate)
	}
	sentSinceTick, ticked := false, false
	for {
		sent, err := sub.deliver(ctx, out, bucket)
		if errors.Is(err, errEnded) {
			return nil
		}
		if err != nil {
			return err
		}
		sentSinceTick = sentSinceTick || sent
		if ticked {
			// Idle: an empty event every tick keeps the stream alive and
			// the continuation current.
			if !sentSinceTick {
				if err := sub.send(out, nil, 0, 0); err != nil {
					return nil // the client is gone
				}
			}
			sentSinceTick, ticked = false, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.fan.drain:
			return nil
		case <-life.C:
			return nil
		case <-data:
		case <-leaseChanged:
			if err := sub.checkLease(ctx); err != nil {
				return err
			}
		case <-tick.C:
			if err := sub.refresh(ctx); err != nil {
				return err
			}
			ticked = true
		}
	}
}

// deliver sends everything stored after the current position, in events
// of at most maxEventBytes, and the final event at the end of a closed
// shard (then it returns errEnded). It reports whether it sent anything.
func (sub *Subscription) deliver(ctx context.Context, out *eventstream.Writer, bucket *tokenBucket) (bool, error) {
	s := sub.s
	sent := false
	for {
		select {
		case <-ctx.Done():
			return sent, errEnded
		case <-s.fan.drain:
			return sent, errEnded
		default:
		}
		res, err := s.readShard(ctx, sub.st, sub.shard, sub.pos, sub.notBefore, maxEventRecords, maxEventBytes)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return sent, notFound(sub.consumer.Stream) // the stream was deleted
			}
			if ctx.Err() != nil {
				return sent, errEnded
			}
			return sent, err
		}
		sub.pos = res.Next
		if len(res.Records) == 0 { // a read without records reached the end
			if sh := findShard(sub.st, sub.shard); sh != nil && sh.Closed != nil && !sh.Pending {
				// SHARD_END: where to go next, and no continuation.
				ev := &api.SubscribeToShardEvent{Records: []api.Record{}, ChildShards: childShards(sub.st, sub.shard)}
				err := out.Event(eventSubscribe, ev)
				sub.rec.event(sub.shardID, 0, 0, 0, err == nil)
				if err != nil {
					return sent, errEnded
				}
				return true, errEnded
			}
			return sent, nil
		}
		if bucket != nil {
			if err := bucket.take(ctx, s.fan.drain, res.Bytes); err != nil {
				return sent, errEnded
			}
		}
		behind := int64(0)
		if !res.CaughtUp {
			tip, err := s.be.Tip(ctx, store.ShardRef{StreamID: sub.st.ID, Shard: sub.shard})
			if err == nil && res.Next.Seq <= tip.LastSeq {
				behind = max(0, tip.LastTime.Sub(res.LastTime).Milliseconds())
			}
		}
		if err := sub.send(out, res.Records, res.Bytes, behind); err != nil {
			return sent, errEnded
		}
		sent = true
		if res.CaughtUp {
			return sent, nil
		}
	}
}

// send writes one SubscribeToShardEvent of records totalling bytes (data
// and partition keys). Its continuation is the last record sent, or,
// without records, the position just before the next record: either way,
// AFTER_SEQUENCE_NUMBER resumes with the next record.
func (sub *Subscription) send(out *eventstream.Writer, recs []api.Record, bytes int, behind int64) error {
	var cont string
	if n := len(recs); n > 0 {
		cont = recs[n-1].SequenceNumber
		if p, err := seqnum.Parse(cont); err == nil && !follows(sub.pos, store.Position{Seq: p.Seq, Sub: p.Sub}) {
			cont = sub.seqBefore(sub.pos) // records after it were skipped
		}
	} else {
		cont = sub.seqBefore(sub.pos)
		recs = []api.Record{}
	}
	err := out.Event(eventSubscribe, &api.SubscribeToShardEvent{Records: recs, ContinuationSequenceNumber: &cont, MillisBehindLatest: behind})
	sub.rec.event(sub.shardID, len(recs), bytes, behind, err == nil)
	return err
}

// follows reports whether next is the reading position right after the
// record at p.
func follows(next, p store.Position) bool {
	return next == store.Position{Seq: p.Seq, Sub: p.Sub + 1} || next == store.Position{Seq: p.Seq + 1}
}

// seqBefore is the sequence number just before a reading position.
func (sub *Subscription) seqBefore(p store.Position) string {
	switch {
	case p.Sub > 0:
		p.Sub = min(p.Sub-1, seqnum.MaxSub)
	case p.Seq <= 1:
		p = store.Position{}
	default:
		p = store.Position{Seq: p.Seq - 1, Sub: seqnum.MaxSub}
	}
	return sub.s.seqFor(sub.st, sub.shard, p, time.Time{})
}

// checkLease ends the subscription if another one took its lease.
func (sub *Subscription) checkLease(ctx context.Context) error {
	val, _, err := sub.s.be.GetValue(ctx, sub.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return errEnded
		}
		return err
	}
	var l lease
	if json.Unmarshal(val, &l) != nil || l.Owner == sub.owner {
		return nil
	}
	if sub.unleased && l.Start < sub.started.UnixMilli() {
		return nil // a holder from before we started, which we displaced
	}
	return anotherSubscription(sub.consumer, sub.shard)
}

// refresh re-reads the stream's metadata: a deleted stream or a consumer
// that is no longer ACTIVE ends the subscription, and a closed shard is
// noticed. It also re-checks the lease, in case a change was missed.
func (sub *Subscription) refresh(ctx context.Context) error {
	s := sub.s
	st, _, err := s.load(ctx, sub.consumer.Stream)
	if ctx.Err() != nil {
		return errEnded
	}
	if err != nil {
		return err
	}
	if st.ID != sub.st.ID || st.Status == api.StatusDeleting {
		return notFound(sub.consumer.Stream)
	}
	settleConsumers(st, s.now())
	if c := consumerByRef(st, sub.consumer); c == nil || c.Status != api.ConsumerStatusActive {
		return consumerNotFound(sub.consumer.Stream, sub.consumer.Name)
	}
	sub.st = st
	sub.rec.levels = st.ShardLevelMetrics // enhanced monitoring may have changed
	return sub.checkLease(ctx)
}

// errClosed reports that the wait for tokens was cut short.
var errClosed = errors.New("closed")

// tokenBucket paces a subscription to rate bytes per second, with a burst
// of one second. A large event may take it into debt; the wait repays it.
type tokenBucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64) *tokenBucket {
	return &tokenBucket{rate: rate, tokens: rate, last: time.Now()}
}

// take charges n bytes, waiting as long as the bucket is in debt.
func (b *tokenBucket) take(ctx context.Context, stop <-chan struct{}, n int) error {
	wait := b.charge(time.Now(), n)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errClosed
	case <-stop:
		return errClosed
	case <-t.C:
		return nil
	}
}

// charge refills the bucket for the time up to now, charges n bytes and
// returns how long the debt takes to repay: 0 for none.
func (b *tokenBucket) charge(now time.Time, n int) time.Duration {
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// readResult is one read of a shard from a position.
type readResult struct {
	Records  []api.Record
	Next     store.Position // the first record not returned
	Bytes    int            // data plus partition keys returned
	CaughtUp bool           // the read reached the end of the log
	LastTime time.Time      // arrival of the last record returned
}

// readShard reads records from a position: at most limit records and
// about maxBytes (at least one record if any), skipping records that
// arrived before notBefore. GetRecords and SubscribeToShard share it;
// errors are the store's.
func (s *Service) readShard(ctx context.Context, st *store.Stream, shard int, from store.Position, notBefore time.Time, limit, maxBytes int) (readResult, error) {
	ref := store.ShardRef{StreamID: st.ID, Shard: shard}
	// Sized up front: growing by append to 10,000 records was most of
	// GetRecords' own allocation.
	res := readResult{Records: make([]api.Record, 0, min(limit, maxEventRecords)), Next: from}
	next := &res.Next
	sealed := opener{s: s, st: st, shard: shard}
read:
	for len(res.Records) < limit && res.Bytes < maxBytes {
		msgs, err := s.be.Read(ctx, ref, next.Seq, min(readBatch, limit-len(res.Records)), min(readChunk, maxBytes-res.Bytes))
		if err != nil {
			return readResult{}, err
		}
		if len(msgs) == 0 {
			res.CaughtUp = true
			break
		}
		for _, m := range msgs {
			start := 0
			if m.Seq == next.Seq {
				start = next.Sub
			}
			if m.Time.Before(notBefore) {
				*next = store.Position{Seq: m.Seq + 1}
				continue
			}
			for i := start; i < len(m.Entries); i++ {
				e := m.Entries[i]
				var enc *string
				if e.Key != 0 {
					if err := sealed.open(ctx, &e); err != nil {
						return readResult{}, err
					}
					enc = &kmsType
				}
				size := len(e.Data) + len(e.PartitionKey)
				if len(res.Records) == limit || (res.Bytes+size > maxBytes && len(res.Records) > 0) {
					*next = store.Position{Seq: m.Seq, Sub: i}
					break read
				}
				res.Records = append(res.Records, api.Record{
					SequenceNumber:              s.seqFor(st, shard, store.Position{Seq: m.Seq, Sub: i}, m.Time),
					ApproximateArrivalTimestamp: api.Time{Time: m.Time.Truncate(time.Millisecond)},
					Data:                        e.Data,
					PartitionKey:                e.PartitionKey,
					EncryptionType:              enc,
				})
				res.Bytes += size
				res.LastTime = m.Time
			}
			*next = store.Position{Seq: m.Seq + 1}
		}
	}
	return res, nil
}
