package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
)

// checkpoint is the stored value "firehose.ckpt.<id>": the position of the
// next entry of the buffer log to deliver.
type checkpoint struct {
	Seq uint64
	Sub int
}

func checkpointKey(id string) string { return "firehose.ckpt." + id }

// errOwnership means the checkpoint moved under us: another process owns
// the delivery stream now.
var errOwnership = errors.New("delivery: checkpoint changed by another owner")

// Read sizes: enough messages per call that a backlog fills a buffer in a
// few reads.
const (
	readMsgs  = 256
	readBytes = 8 << 20
)

// RecordID is a DirectPut record's ID, fixed by its place in the buffer
// log: the message's sequence and the entry's index in it.
func RecordID(seq uint64, sub int) string {
	var b [30]byte // %020d%010d, without fmt: one is made per record
	for i := 19; i >= 0; i-- {
		b[i] = byte('0' + seq%10)
		seq /= 10
	}
	u := uint64(sub)
	for i := 29; i >= 20; i-- {
		b[i] = byte('0' + u%10)
		u /= 10
	}
	return string(b[:])
}

// bufferHints returns the destination's buffer size in bytes and interval.
func bufferHints(ds *model.DeliveryStream) (int, time.Duration) {
	var h *model.BufferingHints
	switch d := ds.Destination; {
	case d.ExtendedS3 != nil:
		h = d.ExtendedS3.BufferingHints
	case d.HTTPEndpoint != nil:
		h = d.HTTPEndpoint.BufferingHints
	case d.Redshift != nil && d.Redshift.S3Configuration != nil:
		h = d.Redshift.S3Configuration.BufferingHints
	}
	if h == nil {
		h = &model.BufferingHints{}
	}
	size := int(max(model.Int(h.SizeInMBs, 5), 1)) << 20
	interval := time.Duration(max(model.Int(h.IntervalInSeconds, 300), 0)) * time.Second
	return size, interval
}

// deliverySlots is how many of a DirectPut stream's batches may be
// unchecked at once (delivered, or waiting their turn), and whether they
// are delivered concurrently: to S3 they are, bounded to about 64 MiB of
// buffers; an HTTP endpoint or a database gets them one at a time, in order.
func deliverySlots(ds *model.DeliveryStream, size int) (int, bool) {
	if ds.Destination.ExtendedS3 == nil {
		return 2, false
	}
	return min(max((64<<20)/size, 2), 4), true
}

// buffer holds the records read but not yet delivered.
//
// With dynamic partitioning AWS keeps one buffer per evaluated prefix.
// Partition keys are only known after processing, which runs at delivery,
// so here one buffer holds every partition: its size counts them all and
// every partition is flushed together when it triggers. That keeps one
// checkpoint per delivery stream (a partition flushed alone would leave
// holes below the checkpoint) at the cost of smaller objects than AWS's.
type buffer struct {
	recs  []process.Record
	bytes int
	first checkpoint // position of recs[0]
	// next is the position after the last record.
	next  checkpoint
	start time.Time // when the first record entered the buffer
}

func (b *buffer) add(r process.Record, pos checkpoint, now time.Time) {
	if len(b.recs) == 0 {
		b.first = pos
		b.start = now
	}
	b.recs = append(b.recs, r)
	b.bytes += len(r.Data)
	b.next = checkpoint{Seq: pos.Seq, Sub: pos.Sub + 1}
}

// deliverBuffer delivers the DirectPut buffer log from the checkpoint on,
// until ctx ends or the checkpoint is moved by another owner.
func (e *Engine) deliverBuffer(ctx context.Context, ds *model.DeliveryStream) (err error) {
	ref := store.ShardRef{StreamID: store.BufferLogPrefix + ds.ID, Shard: 0}
	notify, stop, err := e.cfg.Store.Watch(ctx, ref)
	if err != nil {
		return fmt.Errorf("delivery: watching buffer log: %w", err)
	}
	defer stop()
	cp, ckRev, err := e.loadCheckpoint(ctx, ds.ID, ref, notify)
	if err != nil {
		return err
	}
	size, interval := bufferHints(ds)
	var buf buffer
	next := cp // where the next read starts
	// This process's own appends come from memory (tap.go).
	var tq *tapQueue
	if t, ok := e.cfg.Store.(store.Tapper); ok {
		tq = &tapQueue{}
		defer t.Tap(ref, tq.push)()
	}

	// Batches are delivered while the next is read and buffered, so that
	// compression and the destination's latency overlap the reading; to S3,
	// up to slots at once, since each object's name is fixed by its batch.
	// Checkpoints move in order: a batch's only after every batch before it
	// is delivered.
	ctx, cancel := context.WithCancel(ctx)
	slots, parallel := deliverySlots(ds, size)
	type pending struct {
		b    Batch
		next checkpoint
		done chan error // nil: delivered in turn by the checkpointer
	}
	queue := make(chan pending, slots)
	held := make(chan struct{}, slots) // a slot per batch not yet checkpointed
	delivered := make(chan error, 1)
	go func() {
		var err error
		for p := range queue {
			var derr error
			switch {
			case p.done != nil:
				derr = <-p.done // waited for even after a failure
			case err == nil:
				derr = e.deliver(ctx, ds, p.b)
			}
			<-held
			if err != nil {
				continue // drained after a failure, never checkpointed
			}
			if err = derr; err == nil {
				ckRev, err = e.saveCheckpoint(ctx, ds.ID, p.next, ckRev)
			}
			if err != nil {
				cancel() // the reader and the other deliveries stop too
			}
		}
		delivered <- err
	}()
	defer func() {
		close(queue)
		// The deliverer's failure (a lost checkpoint swap, say) is why the
		// reader stopped; report it rather than the cancellation.
		if derr := <-delivered; derr != nil && (err == nil || ctx.Err() != nil) {
			err = derr
		}
		cancel()
	}()
	flush := func() error {
		select {
		case held <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		p := pending{b: Batch{ID: batchID("directput", ds.ID, buf.first), Records: buf.recs}, next: buf.next}
		if parallel {
			p.done = make(chan error, 1)
			go func(b Batch) { p.done <- e.deliver(ctx, ds, b) }(p.b)
		}
		queue <- p // never blocks: every queued batch holds a slot
		buf = buffer{}
		return nil
	}
	stalls := 0    // reads in a row stopped by a record that does not open
	probe := false // read the log even if the tap might have the next message
	for {
		var msgs []store.Message
		var err error
		tapped := false
		if tq != nil && !probe {
			msgs = tq.take(next.Seq, readBytes)
			tapped = msgs != nil
		}
		probe = false
		if !tapped {
			msgs, err = e.cfg.Store.Read(ctx, ref, next.Seq, readMsgs, readBytes)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.cfg.Logger.Warn("delivery: reading buffer log", "id", ds.ID, "err", err)
			if err := sleep(ctx, e.retryBase); err != nil {
				return err
			}
			continue
		}
		stalled := false
	read:
		for _, m := range msgs {
			sub := 0
			if m.Seq == next.Seq {
				sub = next.Sub
			}
			for i := sub; i < len(m.Entries); i++ {
				ent := m.Entries[i]
				if err := e.open(ctx, ds, &ent); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					// A disabled or missing key, or damage: nothing after
					// this record is delivered until it opens (a key
					// enabled again), so none is lost or reordered.
					e.cfg.Logger.Error("delivery: a sealed record does not open; delivery waits for it",
						"deliveryStream", ds.Name, "id", ds.ID, "seq", m.Seq, "sub", i, "key", ent.Key, "err", err)
					next, stalled = checkpoint{Seq: m.Seq, Sub: i}, true
					break read
				}
				rec := process.Record{ID: RecordID(m.Seq, i), Data: ent.Data, Arrival: m.Time}
				buf.add(rec, checkpoint{Seq: m.Seq, Sub: i}, e.cfg.Now())
				if buf.bytes >= size {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			next = checkpoint{Seq: m.Seq + 1}
		}
		if len(buf.recs) > 0 && !e.cfg.Now().Before(buf.start.Add(interval)) {
			if err := flush(); err != nil {
				return err
			}
		}
		if stalled {
			stalls++
			if err := sleep(ctx, e.backoff(min(stalls, 7))); err != nil {
				return err
			}
			continue
		}
		stalls = 0
		if len(msgs) > 0 && !tapped {
			continue // more may be waiting
		}
		// After the tap, the log is asked only when no append is
		// announced for a while: it may hold other processes' appends
		// whose announcement coalesced with ours. Asking at once would
		// race our next round, stored but not yet handed to the tap.
		woke, err := e.waitData(ctx, notify, &buf, interval, tapped)
		if err != nil {
			return err
		}
		probe = tapped && !woke
	}
}

// tapProbe is how long the reader waits for an announcement after taking
// from the tap before it reads the log anyway.
const tapProbe = 50 * time.Millisecond

// waitData waits for appends, or for the buffer's interval to pass, or
// with probe for tapProbe at most; it reports whether an append woke it.
func (e *Engine) waitData(ctx context.Context, notify <-chan struct{}, buf *buffer, interval time.Duration, probe bool) (bool, error) {
	var timer <-chan time.Time
	if len(buf.recs) > 0 || probe {
		d := tapProbe
		if len(buf.recs) > 0 {
			d = buf.start.Add(interval).Sub(e.cfg.Now())
			if probe {
				d = min(d, tapProbe)
			}
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-notify:
	case <-timer:
		return false, nil
	}
	// Appends come in bursts; reading each one as it lands costs the
	// writers more than the buffer gains, since it only flushes by size
	// or interval. So wait a little for more, within the interval.
	wait := min(interval/8, maxCoalesce)
	if len(buf.recs) > 0 {
		wait = min(wait, buf.start.Add(interval).Sub(e.cfg.Now()))
	}
	if wait <= 0 {
		return true, nil
	}
	return true, sleep(ctx, wait)
}

// maxCoalesce bounds how long the reader lets appends gather (waitData).
const maxCoalesce = 100 * time.Millisecond

// loadCheckpoint reads the checkpoint; with none, delivery starts at the
// log's first message. It waits for the log to exist.
func (e *Engine) loadCheckpoint(ctx context.Context, id string, ref store.ShardRef, notify <-chan struct{}) (checkpoint, store.Revision, error) {
	for {
		raw, rev, err := e.cfg.Store.GetValue(ctx, checkpointKey(id))
		if err == nil {
			var cp checkpoint
			if err := json.Unmarshal(raw, &cp); err != nil {
				return checkpoint{}, 0, fmt.Errorf("delivery: checkpoint of %s: %w", id, err)
			}
			return cp, rev, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			tip, err := e.cfg.Store.Tip(ctx, ref)
			if err == nil {
				return checkpoint{Seq: tip.FirstSeq}, 0, nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				e.cfg.Logger.Warn("delivery: buffer log tip", "id", id, "err", err)
			}
		} else {
			e.cfg.Logger.Warn("delivery: reading checkpoint", "id", id, "err", err)
		}
		t := time.NewTimer(e.retryBase)
		select {
		case <-ctx.Done():
			t.Stop()
			return checkpoint{}, 0, ctx.Err()
		case <-notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// saveCheckpoint moves the checkpoint by compare-and-swap, retrying
// transient failures; a lost swap means the stream has another owner.
func (e *Engine) saveCheckpoint(ctx context.Context, id string, cp checkpoint, rev store.Revision) (store.Revision, error) {
	val, err := json.Marshal(cp)
	if err != nil {
		return 0, err
	}
	for n := 0; ; n++ {
		nrev, err := e.cfg.Store.PutValue(ctx, checkpointKey(id), val, rev)
		if err == nil {
			return nrev, nil
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
			return 0, errOwnership
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		e.cfg.Logger.Warn("delivery: writing checkpoint", "id", id, "err", err)
		if err := sleep(ctx, e.backoff(min(n, 7))); err != nil {
			return 0, err
		}
	}
}
