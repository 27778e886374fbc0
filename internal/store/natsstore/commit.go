package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

// Group commit. Each shard that is being written has a queue and one
// flusher goroutine. The flusher takes everything queued, packs it in
// order into as few messages as it can, publishes them pipelined, and
// completes each caller once the PubAcks of its messages arrive. While a
// round waits for its acks, new appends queue up and form the next round,
// so the message count drops as load rises.

// appendReq is one Append call in flight.
type appendReq struct {
	ctx     context.Context
	entries []store.Entry
	sizes   []int // batch.EntrySize of each entry
	total   int
	done    chan appendResult // buffered: the flusher never blocks on it

	// Owned by the flusher.
	pos   []store.Position
	parts int // messages holding entries of this call, not yet acked
	err   error
}

type appendResult struct {
	pos []store.Position
	err error
}

type shardQueue struct {
	ref     store.ShardRef
	stream  string
	subject string
	wake    chan struct{} // buffered 1
	pending []*appendReq  // guarded by Store.mu

	// Owned by the flusher: the shard's reservation as last read or
	// raised, the highest logical sequence acknowledged here, and the
	// acked mark last written.
	loaded   bool
	reserved uint64
	acked    uint64
	saved    uint64
	savedAt  time.Time
}

// checkpointEvery is how often a busy shard's acked mark is written.
const checkpointEvery = time.Second

// cover makes sure the reservation covers logical sequence seq before it
// is acknowledged, raising it when needed.
func (s *Store) cover(q *shardQueue, seq uint64) error {
	if q.loaded && seq <= q.reserved {
		q.acked = max(q.acked, seq)
		return nil // the common case: no KV round trip, no context
	}
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	if !q.loaded {
		h, _, err := s.readHWM(ctx, q.ref)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("natsstore: reservation of %s: %w", q.stream, err)
		}
		q.loaded, q.reserved, q.saved = true, h.Reserved, h.Acked
	}
	if seq > q.reserved {
		h, err := s.raiseHWM(ctx, q.ref, hwm{Reserved: seq + reserveAhead, Acked: q.acked})
		if err != nil {
			return fmt.Errorf("natsstore: reservation of %s: %w", q.stream, err)
		}
		q.reserved, q.saved, q.savedAt = h.Reserved, h.Acked, time.Now()
	}
	q.acked = max(q.acked, seq)
	return nil
}

// checkpoint writes the acked mark if it moved.
func (s *Store) checkpoint(q *shardQueue) {
	if q.acked <= q.saved {
		return
	}
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	// With the reservation too: if the key was lost, it comes back whole.
	h, err := s.raiseHWM(ctx, q.ref, hwm{Reserved: q.reserved, Acked: q.acked})
	if err != nil {
		s.log.Debug("acked mark not written", "stream", q.stream, "err", err)
		return
	}
	q.saved, q.savedAt = h.Acked, time.Now()
}

// Append stores entries as one contiguous run and returns their
// positions once storage acknowledged them. If ctx ends first, Append
// returns ctx.Err() but the entries may still be stored. A call that fits
// one message (up to the server's max payload) is never split, so its
// entries stay contiguous even with other processes appending; a larger
// call is split over consecutive messages of this process, which another
// process's messages could interleave.
func (s *Store) Append(ctx context.Context, ref store.ShardRef, entries []store.Entry) ([]store.Position, error) {
	if len(entries) == 0 {
		return []store.Position{}, nil
	}
	stream, subject, err := shardNames(ref)
	if err != nil {
		return nil, err
	}
	r := &appendReq{
		ctx:     ctx,
		entries: entries,
		sizes:   make([]int, len(entries)),
		done:    make(chan appendResult, 1),
	}
	for i, e := range entries {
		r.sizes[i] = batch.EntrySize(e)
		if batch.Size(1, r.sizes[i]) > s.maxPayload {
			return nil, fmt.Errorf("%w: entry %d needs %d bytes, limit %d", store.ErrTooLarge, i, batch.Size(1, r.sizes[i]), s.maxPayload)
		}
		r.total += r.sizes[i]
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, store.ErrClosed
	}
	q := s.queues[ref]
	if q == nil {
		q = &shardQueue{ref: ref, stream: stream, subject: subject, wake: make(chan struct{}, 1)}
		s.queues[ref] = q
		s.wg.Add(1)
		go s.flusher(q)
	}
	q.pending = append(q.pending, r)
	s.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}

	select {
	case res := <-r.done:
		return res.pos, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flusher commits a shard's queue in rounds until the queue has been idle
// for flusherIdle or the store closes with nothing left to write.
func (s *Store) flusher(q *shardQueue) {
	defer s.wg.Done()
	idle := time.NewTimer(flusherIdle)
	defer idle.Stop()
	for {
		s.mu.Lock()
		reqs := q.pending
		q.pending = nil
		if len(reqs) == 0 {
			if s.closed {
				delete(s.queues, q.ref)
				s.mu.Unlock()
				s.checkpoint(q)
				return
			}
		}
		s.mu.Unlock()
		if len(reqs) > 0 {
			s.commit(q, reqs)
			idle.Reset(flusherIdle)
			continue
		}
		select {
		case <-q.wake:
		case <-s.quit:
		case <-idle.C:
			s.mu.Lock()
			if len(q.pending) == 0 {
				// Appends find the queue under s.mu, so none can slip in
				// after it is gone from the map.
				delete(s.queues, q.ref)
				s.mu.Unlock()
				s.checkpoint(q)
				return
			}
			s.mu.Unlock()
			idle.Reset(flusherIdle)
		}
	}
}

// part is a run of one call's entries inside an outgoing message.
type part struct {
	req   *appendReq
	first int // index in req.entries
	n     int
}

type outMsg struct {
	parts []part
	count int // entries
	bytes int // sum of entry sizes
}

func (m *outMsg) add(r *appendReq, i, n, bytes int) {
	if k := len(m.parts) - 1; k >= 0 && m.parts[k].req == r && m.parts[k].first+m.parts[k].n == i {
		m.parts[k].n += n
	} else {
		m.parts = append(m.parts, part{req: r, first: i, n: n})
	}
	m.count += n
	m.bytes += bytes
}

func (m *outMsg) size() int { return batch.Size(m.count, m.bytes) }

// pack lays calls out in order over messages of about s.target bytes. A
// call that fits one message stays whole (a call above the target goes
// alone); a call above the payload limit is cut between entries.
func (s *Store) pack(reqs []*appendReq) []*outMsg {
	var out []*outMsg
	var cur *outMsg
	flush := func() {
		if cur != nil && cur.count > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	fits := func(n, bytes int) bool {
		return cur == nil || batch.Size(cur.count+n, cur.bytes+bytes) <= s.target
	}
	for _, r := range reqs {
		if batch.Size(len(r.entries), r.total) <= s.maxPayload {
			if !fits(len(r.entries), r.total) {
				flush()
			}
			if cur == nil {
				cur = &outMsg{}
			}
			cur.add(r, 0, len(r.entries), r.total)
			if cur.size() >= s.target {
				flush()
			}
			continue
		}
		flush()
		for i, sz := range r.sizes {
			if !fits(1, sz) {
				flush()
			}
			if cur == nil {
				cur = &outMsg{}
			}
			cur.add(r, i, 1, sz)
		}
		flush()
	}
	flush()
	return out
}

// commit writes one round: pack, publish everything, then settle callers
// as acks come in.
func (s *Store) commit(q *shardQueue, reqs []*appendReq) {
	live := reqs[:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			// The caller is gone; do not store what it gave up on.
			r.done <- appendResult{err: err}
			continue
		}
		r.pos = make([]store.Position, len(r.entries))
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	table, err := s.segmentsOf(context.Background(), q.stream)
	if err != nil {
		for _, r := range live {
			r.done <- appendResult{err: err}
		}
		return
	}
	msgs := s.pack(live)
	for _, m := range msgs {
		for _, p := range m.parts {
			p.req.parts++
		}
	}

	futures := make([]jetstream.PubAckFuture, len(msgs))
	errs := make([]error, len(msgs))
	tap := s.tapOf(q.stream)
	var tapped [][]byte                // each message's encoding, for tap
	admitted := make([]int, len(msgs)) // bytes reserved in the quota
	var ents []store.Entry
	var refused error
	// One stamp for the round, carried in a header that Read prefers to
	// JetStream's own: Append can then answer with the time a later Read
	// reports, which JetStream's ack does not carry.
	at := time.Now().Round(0) // as Read rebuilds it: no monotonic reading
	stamp := strconv.FormatInt(at.UnixNano(), 10)
	for i, m := range msgs {
		if refused != nil {
			// Once one message is refused the rest of the round is too, so
			// a split call never lands with a hole in it.
			errs[i] = refused
			continue
		}
		if err := s.quota.admit(m.size()); err != nil {
			refused, errs[i] = err, err
			continue
		}
		admitted[i] = m.size()
		ents = ents[:0]
		for _, p := range m.parts {
			ents = append(ents, p.req.entries[p.first:p.first+p.n]...)
		}
		data := batch.Append(make([]byte, 0, m.size()), ents)
		if tap != nil {
			if tapped == nil {
				tapped = make([][]byte, len(msgs))
			}
			tapped[i] = data // nats.go copies it out while publishing
		}
		// No retries: a retried message could land after later ones and
		// break the order of a split call.
		futures[i], errs[i] = s.js.PublishMsgAsync(&nats.Msg{Subject: q.subject, Data: data, Header: nats.Header{timeHeader: []string{stamp}}},
			jetstream.WithRetryAttempts(0), jetstream.WithStallWait(ackTimeout))
	}

	for i, m := range msgs {
		var ack *jetstream.PubAck
		var seq uint64 // logical
		err := errs[i]
		if err == nil {
			select {
			case ack = <-futures[i].Ok():
				if ack.Stream != q.stream {
					err = fmt.Errorf("natsstore: %s stored in stream %s", q.subject, ack.Stream)
				}
			case err = <-futures[i].Err():
			}
		}
		s.quota.release(admitted[i], err == nil)
		if err == nil {
			s.quota.stored()
			seq = table.logical(ack.Sequence)
			if err = s.cover(q, seq); err != nil && isFull(err) && !errors.Is(err, store.ErrFull) {
				err = fmt.Errorf("%w: %w", store.ErrFull, err)
			}
			if err == nil && tap != nil {
				tap(seq, at, tapped[i])
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, jetstream.ErrNoStreamResponse):
				err = store.ErrNotFound
			case errors.Is(err, store.ErrFull):
				// Refused by the quota; already says so.
			case isFull(err):
				s.quota.refused(int64(m.size()))
				err = fmt.Errorf("natsstore: append to %s: %w: %w", q.stream, store.ErrFull, err)
			default:
				err = fmt.Errorf("natsstore: append to %s: %w", q.stream, err)
			}
			s.log.Debug("append failed", "stream", q.stream, "entries", m.count, "err", err)
		}
		sub := 0
		for _, p := range m.parts {
			r := p.req
			if err != nil && r.err == nil {
				r.err = err
			}
			if err == nil {
				for k := 0; k < p.n; k++ {
					r.pos[p.first+k] = store.Position{Seq: seq, Sub: sub + k, Time: at}
				}
			}
			sub += p.n
			if r.parts--; r.parts == 0 {
				if r.err != nil {
					r.done <- appendResult{err: r.err}
				} else {
					r.done <- appendResult{pos: r.pos}
				}
			}
		}
	}
	if len(msgs) > 0 {
		s.announce(q.ref) // fan-out: wake readers once the round is stored
	}
	if time.Since(q.savedAt) >= checkpointEvery {
		s.checkpoint(q)
	}
}
