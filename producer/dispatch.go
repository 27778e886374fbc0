package producer

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet/aggregation"
)

// One goroutine, run, owns the decisions: it wakes on Put (when a record
// makes a batch due sooner), on call and listing completions and on a
// timer, and under mu it expires old records, builds PutRecords batches
// and starts a goroutine per call. Completions update the state under mu
// from their own goroutines.

// minTokenWait is the shortest wait for a shard's rate limit to allow more:
// waking for each token would send a stream of tiny calls.
const minTokenWait = 25 * time.Millisecond

const (
	codeThrottled = "ProvisionedThroughputExceededException"
	codeInternal  = "InternalFailure"
)

// entry is one PutRecords entry: a plain user record or an aggregated one.
type entry struct {
	shard      string // predicted shard; "" for none
	recs       []*urec
	aggregated bool
	pk, ehk    string
	data       []byte
	size       int // data plus partition key, as Kinesis counts it
}

func plainEntry(shard string, r *urec) *entry {
	return &entry{shard: shard, recs: []*urec{r}, pk: r.rec.PartitionKey, ehk: r.rec.ExplicitHashKey, data: r.rec.Data, size: r.size}
}

// batch is one PutRecords call.
type batch struct {
	entries []*entry
	bytes   int
	full    bool
	keys    map[string]bool // ordering: keys already in an entry
}

func (b *batch) add(e *entry) {
	b.entries = append(b.entries, e)
	b.bytes += e.size
}

// openEntry is an aggregated entry being filled; its records are in p.agg.
type openEntry struct {
	recs  []*urec
	keys  map[string]bool
	pk    string // outer partition key: the first record's
	limit int    // largest blob allowed
}

func (p *Producer) run() {
	defer p.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		p.mu.Lock()
		next := p.step(time.Now())
		p.nextWakeAt = next
		p.mu.Unlock()
		t.Reset(time.Until(next))
		select {
		case <-p.wake:
		case <-t.C:
		case <-p.stop:
			return
		}
	}
}

// step does what is due and says when to look again.
func (p *Producer) step(now time.Time) time.Time {
	if p.aborting {
		return farFuture
	}
	p.maybeRefresh(now)
	p.promoteRetries(now)
	p.expire(now)
	for p.inflight < p.cfg.maxConnections {
		b := p.collect(now)
		if b == nil {
			break
		}
		p.launch(b, now)
	}
	return p.nextWake(now)
}

func (p *Producer) paused(sq *shardQueue) bool { return sq.id != "" && p.state == mapLoading }

// nextWake is the earliest time something becomes due: a record's
// buffering deadline or expiry, a shard's tokens, a retry, a listing.
// Completions and Puts wake the dispatcher for everything else.
func (p *Producer) nextWake(now time.Time) time.Time {
	w := farFuture
	at := func(t time.Time) {
		if t.Before(w) {
			w = t
		}
	}
	urgent := p.closing || len(p.flushers) > 0
	for _, sq := range p.order {
		if len(sq.q) == 0 {
			continue
		}
		h := sq.q[0]
		at(h.expiry(p.cfg.recordTTL))
		if p.paused(sq) {
			continue
		}
		due := h.arrival.Add(p.cfg.recordMaxBufferedTime)
		if due.After(now) && !urgent {
			at(due)
			continue
		}
		if p.inflight >= p.cfg.maxConnections {
			continue // a completion will wake us
		}
		// Due but not sent: waiting for the shard's rate limit.
		ready := now.Add(minTokenWait)
		if sq.id != "" {
			ready = later(ready, sq.readyAt(h.size, now))
		}
		at(ready)
	}
	if len(p.unassigned) > 0 {
		at(p.unassigned[0].expiry(p.cfg.recordTTL))
	}
	if len(p.retries) > 0 {
		at(p.retries[0].notBefore)
	}
	if !p.refreshing && !p.nextRefresh.IsZero() {
		at(p.nextRefresh)
	}
	return w
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// promoteRetries puts records whose backoff is over back into the queues.
func (p *Producer) promoteRetries(now time.Time) {
	for len(p.retries) > 0 && !p.retries[0].notBefore.After(now) {
		r := p.retries.popMin()
		if !now.Before(r.expiry(p.cfg.recordTTL)) {
			p.expired(r)
			continue
		}
		if r.held {
			p.unhold(r)
		}
		p.route(r)
	}
}

// expire fails queued records older than RecordTTL. Queues are in Put
// order, so the expired records are at their heads.
func (p *Producer) expire(now time.Time) {
	ttl := p.cfg.recordTTL
	for _, sq := range p.order {
		for len(sq.q) > 0 && !now.Before(sq.q[0].expiry(ttl)) {
			r := sq.q[0]
			sq.q[0] = nil
			sq.q = sq.q[1:]
			p.dequeued(r)
			p.expired(r)
		}
	}
	for len(p.unassigned) > 0 && !now.Before(p.unassigned[0].expiry(ttl)) {
		r := p.unassigned[0]
		p.unassigned[0] = nil
		p.unassigned = p.unassigned[1:]
		p.expired(r)
	}
}

// triggered reports whether a call should go out now: a flush, a full
// call's worth queued, or a record past RecordMaxBufferedTime on a shard
// with capacity.
func (p *Producer) triggered(now time.Time) bool {
	if p.closing || len(p.flushers) > 0 || p.full() {
		return true
	}
	for _, sq := range p.order {
		if len(sq.q) == 0 || p.paused(sq) {
			continue
		}
		h := sq.q[0]
		if h.arrival.Add(p.cfg.recordMaxBufferedTime).After(now) {
			continue
		}
		if sq.id == "" {
			return true
		}
		sq.refill(now)
		if sq.has(h.size) {
			return true
		}
	}
	return false
}

// collect builds the next PutRecords call, or returns nil when none is due.
// Once one is due it takes every record that fits, from every shard,
// starting with a different shard each time.
func (p *Producer) collect(now time.Time) *batch {
	if p.queuedCount == 0 || !p.triggered(now) {
		return nil
	}
	b := &batch{}
	if p.cfg.preserveOrdering {
		b.keys = make(map[string]bool)
	}
	n := len(p.order)
	start := p.rr % n
	p.rr++
	for i := 0; i < n && !b.full; i++ {
		sq := p.order[(start+i)%n]
		if len(sq.q) == 0 || p.paused(sq) {
			continue
		}
		p.walk(sq, b, now)
	}
	if len(b.entries) == 0 {
		return nil
	}
	return b
}

// walk moves records from the head of sq into b until b is full or the
// shard's rate limit is reached, aggregating them when enabled. With
// ordering, records whose key is held are parked, and records whose key is
// already in another entry of b stay queued.
func (p *Producer) walk(sq *shardQueue, b *batch, now time.Time) {
	known := sq.id != ""
	aggregate := p.cfg.aggregation && known
	ordering := p.cfg.preserveOrdering
	if known {
		sq.refill(now)
	}
	var cur *openEntry
	seal := func() {
		if cur == nil {
			return
		}
		e := p.seal(sq.id, cur)
		b.add(e)
		sq.take(e.size)
		if ordering {
			for k := range cur.keys {
				b.keys[k] = true
			}
		}
		cur = nil
	}
	q := sq.q
	keep, i := 0, 0
loop:
	for ; i < len(q); i++ {
		r := q[i]
		pk := r.rec.PartitionKey
		if ordering && p.held[pk] > 0 {
			p.dequeued(r)
			p.park(r)
			continue
		}
		if aggregate {
			ar := aggregation.Record{PartitionKey: pk, ExplicitHashKey: r.rec.ExplicitHashKey, Data: r.rec.Data}
			size := p.agg.SizeWith(ar)
			if cur != nil && (size > cur.limit || uint64(len(cur.recs)) >= p.cfg.aggregationMaxCount) {
				seal()
				size = p.agg.SizeWith(ar)
			}
			if ordering && b.keys[pk] && (cur == nil || !cur.keys[pk]) {
				q[keep] = r
				keep++
				continue
			}
			limit, outer := min(p.cfg.aggregationMaxSize, p.cfg.maxRecordSize-len(pk)), pk
			if cur != nil {
				limit, outer = cur.limit, cur.pk
			}
			if size <= limit {
				if (len(b.entries) > 0 || cur != nil) &&
					(len(b.entries)+1 > p.cfg.collectionMaxCount || b.bytes+size+len(outer) > p.cfg.collectionMaxSize) {
					b.full = true
					break loop
				}
				if !sq.has(size + len(outer)) {
					break loop
				}
				if err := p.agg.Add(ar); err == nil {
					if cur == nil {
						cur = &openEntry{pk: pk, limit: limit}
						if ordering {
							cur.keys = make(map[string]bool)
						}
					}
					cur.recs = append(cur.recs, r)
					if ordering {
						cur.keys[pk] = true
					}
					p.dequeued(r)
					continue
				} else {
					// Sizes were checked; should the aggregator still
					// refuse, the record goes on its own.
					p.log.Error("aggregation refused a record", "err", err)
				}
			}
			seal() // a record too big to aggregate goes alone, after the others
		}
		if ordering && b.keys[pk] {
			q[keep] = r
			keep++
			continue
		}
		if len(b.entries) > 0 && (len(b.entries)+1 > p.cfg.collectionMaxCount || b.bytes+r.size > p.cfg.collectionMaxSize) {
			b.full = true
			break
		}
		if known && !sq.has(r.size) {
			break
		}
		b.add(plainEntry(sq.id, r))
		sq.take(r.size)
		if ordering {
			b.keys[pk] = true
		}
		p.dequeued(r)
	}
	seal()
	// Records skipped (q[:keep]) stay in front of the ones not reached.
	copy(q[i-keep:i], q[:keep])
	clear(q[:i-keep])
	sq.q = q[i-keep:]
}

// seal turns the open entry into a PutRecords entry. A lone record is sent
// plain, as the KPL does. The aggregated record's explicit hash key is its
// first user record's hash key, inside the predicted shard's range.
func (p *Producer) seal(shard string, o *openEntry) *entry {
	if len(o.recs) == 1 {
		p.agg.Reset()
		return plainEntry(shard, o.recs[0])
	}
	blob, pk, _, err := p.agg.Drain()
	if err != nil { // cannot happen: the aggregator holds o.recs
		panic(fmt.Sprintf("producer: draining %d records: %v", len(o.recs), err))
	}
	return &entry{shard: shard, recs: o.recs, aggregated: true, pk: pk, ehk: o.recs[0].hash.String(), data: blob, size: len(blob) + len(pk)}
}

func (p *Producer) launch(b *batch, now time.Time) {
	for _, e := range b.entries {
		p.stats.RecordsPerEntry.observe(int64(len(e.recs)))
		for _, r := range e.recs {
			r.attempts++
			if !r.sent {
				r.sent = true
				p.stats.BufferingTime.observe(now.Sub(r.arrival))
			} else {
				p.stats.UserRecordsRetried++
			}
			if p.cfg.preserveOrdering {
				p.hold(r)
			}
		}
	}
	p.stats.BatchEntries.observe(int64(len(b.entries)))
	p.stats.BatchBytes.observe(int64(b.bytes))
	p.inflight++
	p.wg.Add(1)
	go p.send(b)
}

func (p *Producer) send(b *batch) {
	defer p.wg.Done()
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(b.entries))}
	if strings.HasPrefix(p.stream, "arn:") {
		in.StreamARN = aws.String(p.stream)
	} else {
		in.StreamName = aws.String(p.stream)
	}
	for i, e := range b.entries {
		in.Records[i] = types.PutRecordsRequestEntry{Data: e.data, PartitionKey: aws.String(e.pk)}
		if e.ehk != "" {
			in.Records[i].ExplicitHashKey = aws.String(e.ehk)
		}
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.cfg.requestTimeout)
	out, err := p.client.PutRecords(ctx, in)
	cancel()
	p.mu.Lock()
	p.complete(b, out, err, time.Now())
	p.mu.Unlock()
	p.kick()
}

// complete handles a PutRecords call's outcome.
func (p *Producer) complete(b *batch, out *kinesis.PutRecordsOutput, err error, now time.Time) {
	p.inflight--
	p.stats.Requests++
	if err == nil && out == nil {
		err = errors.New("PutRecords returned no output")
	}
	if err == nil && len(out.Records) != len(b.entries) {
		err = fmt.Errorf("PutRecords answered %d results for %d records", len(out.Records), len(b.entries))
	}
	if err != nil {
		p.stats.RequestErrors++
		retry := retryableCall(err)
		if !p.aborting {
			p.log.Debug("PutRecords failed", "entries", len(b.entries), "retry", retry, "err", err)
		}
		for _, e := range b.entries {
			p.failEntry(e, err, retry, now)
		}
		return
	}
	throttled := 0
	for i, e := range b.entries {
		res := out.Records[i]
		if res.ErrorCode != nil && *res.ErrorCode != "" {
			ee := &EntryError{Code: *res.ErrorCode, Message: aws.ToString(res.ErrorMessage)}
			if ee.Throttled() {
				p.stats.Throttled++
				throttled++
			} else {
				p.stats.EntryErrors++
			}
			p.failEntry(e, ee, retryableCode(ee.Code), now)
			continue
		}
		p.stats.KinesisRecordsPut++
		shard, seq := aws.ToString(res.ShardId), aws.ToString(res.SequenceNumber)
		if e.shard != "" && shard != e.shard {
			p.landedElsewhere(e, shard, seq, now)
			continue
		}
		p.succeed(e, shard, seq)
	}
	if throttled > 0 {
		p.log.Debug("PutRecords entries throttled", "throttled", throttled, "entries", len(b.entries))
	}
}

func (p *Producer) succeed(e *entry, shard, seq string) {
	for i, r := range e.recs {
		res := Result{ShardID: shard, SequenceNumber: seq, Aggregated: e.aggregated, Attempts: r.attempts}
		if e.aggregated {
			res.SubSequenceNumber = uint64(i)
		}
		p.finish(r, res)
	}
}

// failEntry retries or fails the records of a refused entry.
func (p *Producer) failEntry(e *entry, err error, retry bool, now time.Time) {
	for _, r := range e.recs {
		r.lastErr = err
		switch {
		case p.aborting:
			p.fail(r, fmt.Errorf("%w: %w", ErrClosed, err))
		case !retry:
			p.fail(r, err)
		case !now.Before(r.expiry(p.cfg.recordTTL)):
			p.expired(r)
		default:
			r.notBefore = now.Add(p.backoff(r.attempts))
			if exp := r.expiry(p.cfg.recordTTL); exp.Before(r.notBefore) {
				r.notBefore = exp
			}
			p.retries.push(r)
		}
	}
}

// landedElsewhere handles an entry acknowledged on another shard than
// predicted: the stream was resharded. A plain record is where Kinesis
// routes it, so it succeeded. An aggregated record succeeded only if the
// shard's range holds every user record in it: the KCL drops the whole
// aggregated record otherwise, so then all of them are sent again.
func (p *Producer) landedElsewhere(e *entry, shard, seq string, now time.Time) {
	p.stats.WrongShard++
	p.reshardDetected(now)
	if !e.aggregated {
		p.succeed(e, shard, seq)
		return
	}
	if p.smap != nil {
		if rg, ok := p.smap.all[shard]; ok {
			p.verify(e, shard, seq, rg, now)
			return
		}
	}
	p.unverified = append(p.unverified, &landing{e: e, shard: shard, seq: seq})
}

func (p *Producer) verify(e *entry, shard, seq string, rg hashRange, now time.Time) {
	for _, r := range e.recs {
		if !rg.contains(r.hash) {
			p.log.Debug("aggregated record landed on another shard; sending its records again",
				"predicted", e.shard, "actual", shard, "records", len(e.recs))
			p.resend(e, &WrongShardError{Predicted: e.shard, Actual: shard}, now)
			return
		}
	}
	p.succeed(e, shard, seq)
}

// resend queues an entry's records again, to be predicted afresh.
func (p *Producer) resend(e *entry, cause error, now time.Time) {
	for _, r := range e.recs {
		r.lastErr = cause
		if p.aborting {
			p.fail(r, fmt.Errorf("%w: %w", ErrClosed, cause))
			continue
		}
		if !now.Before(r.expiry(p.cfg.recordTTL)) {
			p.expired(r)
			continue
		}
		if r.held {
			p.unhold(r)
		}
		p.route(r)
	}
}

// reshardDetected asks for a new listing. With aggregation, records wait
// for it rather than be aggregated by a map known to be stale.
func (p *Producer) reshardDetected(now time.Time) {
	if p.cfg.aggregation && p.state == mapReady {
		p.state = mapLoading
	}
	if p.refreshing {
		p.refreshAgain = true // the listing under way may predate the reshard
		return
	}
	p.nextRefresh = now
}

func (p *Producer) maybeRefresh(now time.Time) {
	if p.refreshing {
		return
	}
	if p.state != mapLoading && (p.nextRefresh.IsZero() || now.Before(p.nextRefresh)) {
		return
	}
	p.refreshing, p.refreshAgain = true, false
	p.wg.Add(1)
	go p.refresh()
}

func (p *Producer) refresh() {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.runCtx, p.cfg.requestTimeout)
	m, err := listShards(ctx, p.client, p.stream)
	cancel()
	p.mu.Lock()
	p.refreshed(m, err, time.Now())
	p.mu.Unlock()
	p.kick()
}

// maxRefreshBackoff bounds the wait between failed listings.
const maxRefreshBackoff = 30 * time.Second

func (p *Producer) refreshed(m *shardMap, err error, now time.Time) {
	p.refreshing = false
	if p.aborting {
		return
	}
	if err != nil {
		p.refreshFailure++
		wait := min(maxRefreshBackoff, 500*time.Millisecond<<min(p.refreshFailure-1, 10))
		p.nextRefresh = now.Add(wait)
		if p.state == mapLoading {
			p.log.Warn("ListShards failed; sending records unaggregated until it succeeds", "retry_in", wait, "err", err)
			p.adopt(nil, now)
		} else {
			p.log.Warn("ListShards failed", "retry_in", wait, "err", err)
		}
		return
	}
	p.refreshFailure = 0
	p.stats.ShardMapRefreshes++
	p.adopt(m, now)
	switch {
	case p.refreshAgain:
		p.refreshAgain = false
		p.nextRefresh = now
		if p.cfg.aggregation {
			p.state = mapLoading
		}
	case p.cfg.shardRefreshInterval > 0:
		p.nextRefresh = now.Add(p.cfg.shardRefreshInterval)
	default:
		p.nextRefresh = time.Time{}
	}
}

// adopt switches to a new shard map, or to none (nil): records predicted
// for shards that are no longer open, and records waiting for the map, are
// predicted again; aggregated records that landed on an unexpected shard
// are checked against its range.
func (p *Producer) adopt(m *shardMap, now time.Time) {
	var orphans []*urec
	if m == nil {
		for _, sq := range p.order {
			if sq.id != "" {
				orphans = append(orphans, p.takeAll(sq)...)
			}
		}
		p.shards = map[string]*shardQueue{"": p.unknown}
		p.state = mapFailed
	} else {
		shards := map[string]*shardQueue{"": p.unknown}
		for _, s := range m.open {
			if sq := p.shards[s.id]; sq != nil {
				shards[s.id] = sq
			} else {
				shards[s.id] = p.newShard(s.id)
			}
		}
		for id, sq := range p.shards {
			if shards[id] == nil {
				orphans = append(orphans, p.takeAll(sq)...)
			}
		}
		orphans = append(orphans, p.takeAll(p.unknown)...)
		p.shards, p.smap, p.state = shards, m, mapReady
	}
	p.order = p.order[:0]
	for _, sq := range p.shards {
		p.order = append(p.order, sq)
	}
	slices.SortFunc(p.order, func(a, b *shardQueue) int { return strings.Compare(a.id, b.id) })
	orphans = append(orphans, p.unassigned...)
	p.unassigned = nil
	p.routeAll(orphans)

	landings := p.unverified
	p.unverified = nil
	for _, l := range landings {
		if m != nil {
			if rg, ok := m.all[l.shard]; ok {
				p.verify(l.e, l.shard, l.seq, rg, now)
				continue
			}
		}
		// The shard's range is unknown: sending again may duplicate, but
		// not sending may lose the records.
		p.resend(l.e, &WrongShardError{Predicted: l.e.shard, Actual: l.shard}, now)
	}
}

// target is the queue for r under the current map.
func (p *Producer) target(r *urec) *shardQueue {
	if p.state == mapReady {
		if id, ok := p.smap.route(r.hash); ok {
			return p.shards[id]
		}
	}
	return p.unknown
}

// admit places a newly accepted record.
func (p *Producer) admit(r *urec) {
	if p.cfg.preserveOrdering && p.held[r.rec.PartitionKey] > 0 {
		p.park(r)
		return
	}
	p.route(r)
}

// route queues r in Put order on its predicted shard.
func (p *Producer) route(r *urec) {
	switch {
	case p.aborting:
		p.fail(r, ErrClosed)
	case p.state == mapLoading:
		p.unassigned = insertByID(p.unassigned, r)
	default:
		sq := p.target(r)
		sq.q = insertByID(sq.q, r)
		p.queuedCount++
		p.queuedBytes += r.size
	}
}

// routeAll routes many records, merging them into the queues.
func (p *Producer) routeAll(rs []*urec) {
	if len(rs) == 0 {
		return
	}
	if p.aborting {
		for _, r := range rs {
			p.fail(r, ErrClosed)
		}
		return
	}
	slices.SortFunc(rs, byID)
	if p.state == mapLoading {
		p.unassigned = mergeByID(p.unassigned, rs)
		return
	}
	groups := make(map[*shardQueue][]*urec)
	for _, r := range rs {
		sq := p.target(r)
		groups[sq] = append(groups[sq], r)
		p.queuedCount++
		p.queuedBytes += r.size
	}
	for sq, g := range groups {
		sq.q = mergeByID(sq.q, g)
	}
}

func (p *Producer) dequeued(r *urec) {
	p.queuedCount--
	p.queuedBytes -= r.size
}

func (p *Producer) takeAll(sq *shardQueue) []*urec {
	rs := sq.q
	sq.q = nil
	for _, r := range rs {
		p.dequeued(r)
	}
	return rs
}

// Ordering: a key is held while records with it are in flight, waiting to
// be retried, or awaiting a shard check; records behind them are parked.

func (p *Producer) hold(r *urec) {
	r.held = true
	p.held[r.rec.PartitionKey]++
}

func (p *Producer) unhold(r *urec) {
	r.held = false
	pk := r.rec.PartitionKey
	if p.held[pk]--; p.held[pk] > 0 {
		return
	}
	delete(p.held, pk)
	if rs := p.parked[pk]; len(rs) > 0 {
		delete(p.parked, pk)
		p.routeAll(rs)
	}
}

func (p *Producer) park(r *urec) {
	pk := r.rec.PartitionKey
	p.parked[pk] = insertByID(p.parked[pk], r)
}

func byID(a, b *urec) int {
	switch {
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

// insertByID adds r to q, kept sorted by id; r is usually the newest.
func insertByID(q []*urec, r *urec) []*urec {
	if len(q) == 0 || q[len(q)-1].id < r.id {
		return append(q, r)
	}
	i, _ := slices.BinarySearchFunc(q, r, byID)
	return slices.Insert(q, i, r)
}

// mergeByID merges two slices sorted by id.
func mergeByID(a, b []*urec) []*urec {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return append([]*urec(nil), b...)
	case a[len(a)-1].id < b[0].id:
		return append(a, b...)
	}
	out := make([]*urec, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].id < b[j].id {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func (p *Producer) backoff(attempts int) time.Duration {
	d := p.cfg.retryBase
	for i := 1; i < attempts && d < p.cfg.retryMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.retryMax)
	return d - time.Duration(rand.Float64()*p.cfg.retryJitter*float64(d))
}

// retryableCall tells whether a failed PutRecords call is worth repeating.
// Errors that the same request will meet again are not.
func retryableCall(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ValidationException", "InvalidArgumentException", "AccessDeniedException",
			"UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignature",
			"MissingAuthenticationToken", "KMSDisabledException", "KMSInvalidStateException",
			"KMSNotFoundException", "KMSAccessDeniedException", "KMSOptInRequired":
			return false
		}
	}
	return true
}

// retryableCode tells whether a refused entry is worth repeating.
func retryableCode(code string) bool {
	switch code {
	case codeThrottled, codeInternal, "KMSThrottlingException":
		return true
	}
	return false
}

// bucket is a token bucket holding at most one second of its rate.
type bucket struct {
	rate, tokens float64
	last         time.Time
}

func (b *bucket) init(rate float64) { b.rate, b.tokens = rate, rate }

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.last = now
		return
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(b.rate, b.tokens+dt.Seconds()*b.rate)
		b.last = now
	}
}

// has reports whether n tokens are there; a full bucket affords anything,
// so that an entry bigger than a second's worth still goes out.
func (b *bucket) has(n float64) bool { return b.tokens >= min(n, b.rate) }

func (b *bucket) take(n float64) { b.tokens -= n }

func (b *bucket) readyAt(n float64, now time.Time) time.Time {
	need := min(n, b.rate) - b.tokens
	if need <= 0 {
		return now
	}
	return now.Add(time.Duration(need / b.rate * float64(time.Second)))
}

func (sq *shardQueue) refill(now time.Time) {
	sq.records.refill(now)
	sq.bytes.refill(now)
}

// has reports whether the shard's rate limit allows one more entry of size
// bytes. The no-prediction queue is not limited.
func (sq *shardQueue) has(size int) bool {
	return sq.id == "" || (sq.records.has(1) && sq.bytes.has(float64(size)))
}

func (sq *shardQueue) take(size int) {
	if sq.id != "" {
		sq.records.take(1)
		sq.bytes.take(float64(size))
	}
}

func (sq *shardQueue) readyAt(size int, now time.Time) time.Time {
	return later(sq.records.readyAt(1, now), sq.bytes.readyAt(float64(size), now))
}

// retryHeap orders records waiting for a retry by when they may go.
type retryHeap []*urec

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].notBefore.Before(h[j].notBefore) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(*urec)) }
func (h *retryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
func (h *retryHeap) push(r *urec)  { heap.Push(h, r) }
func (h *retryHeap) popMin() *urec { return heap.Pop(h).(*urec) }
