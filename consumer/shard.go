package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/aggregation"
)

// runShard processes one held lease: wait for the parents, then read and
// hand records to the processor until the shard ends, the lease is lost or
// the worker shuts down.
func (w *Worker) runShard(h *heldLease) {
	l := h.lease
	log := w.log.With("shard", l.key)
	// readCtx ends reading: when the lease is lost or Run's ctx ends.
	readCtx, cancelRead := context.WithCancel(h.ctx)
	defer cancelRead()
	stop := context.AfterFunc(w.runCtx, cancelRead)
	defer stop()

	if !w.waitParents(readCtx, l) {
		return // nothing started, so nothing to tell a processor
	}
	if l.checkpoint == ShardEnd {
		// Processed to the end by an earlier owner: make sure the
		// children can start, then hold the lease until it is cleaned up.
		w.ensureChildren(readCtx, readCtx, log, l, nil)
		<-readCtx.Done()
		return
	}

	p := w.s.Processor.NewProcessor(l.key)
	cp := &checkpointer{w: w, h: h, last: l.checkpoint, largest: l.checkpoint}
	p.Initialize(h.ctx, InitializeInput{ShardID: l.key, ExtendedSequenceNumber: l.checkpoint, PendingCheckpoint: l.pending})

	hashRange := parseRange(l.startingHash, l.endingHash)
	f := w.newFetcher(readCtx, l.key, l.checkpoint)
	defer f.close()
	var end *batch
	for {
		b, err := f.next(readCtx)
		if err != nil {
			break // readCtx ended
		}
		recs := userRecords(b.records, hashRange, l.checkpoint)
		if len(recs) > 0 {
			cp.delivered(recs[len(recs)-1].Position())
		}
		if len(recs) > 0 || w.s.CallProcessRecordsEvenForEmptyRecordList {
			p.ProcessRecords(h.ctx, ProcessRecordsInput{ShardID: l.key, Records: recs, MillisBehindLatest: b.millisBehind, Checkpointer: cp})
		}
		if b.ended {
			end = &b
			break
		}
	}
	switch {
	case h.lost.Load():
		p.LeaseLost(w.bg, LeaseLostInput{ShardID: l.key})
	case end != nil:
		// Finish the end even when shutting down, so children can start.
		w.shardEnded(h.ctx, log, h, p, cp, end.children)
		<-readCtx.Done()
	default:
		p.ShutdownRequested(h.ctx, ShutdownRequestedInput{ShardID: l.key, Checkpointer: cp})
	}
}

// shardEnded creates the children's leases, records them on the parent's
// lease, and has the processor checkpoint SHARD_END, calling ShardEnded
// again until it does. At shutdown the retries stop: the processor gets
// ShutdownRequested instead, the lease is released at its last
// checkpoint, and the next owner ends the shard again.
func (w *Worker) shardEnded(ctx context.Context, log *slog.Logger, h *heldLease, p Processor, cp *checkpointer, children []ktypes.ChildShard) {
	retryCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.runCtx, cancel)()
	stopped := func() {
		if h.lost.Load() {
			p.LeaseLost(w.bg, LeaseLostInput{ShardID: h.key})
		} else {
			p.ShutdownRequested(h.ctx, ShutdownRequestedInput{ShardID: h.key, Checkpointer: cp})
		}
	}
	// One attempt even when shutting down, so children can start.
	if !w.ensureChildren(ctx, retryCtx, log, h.lease, children) {
		stopped()
		return
	}
	cp.ended()
	for attempt := 1; ; attempt++ {
		p.ShardEnded(h.ctx, ShardEndedInput{ShardID: h.key, Checkpointer: cp})
		if cp.current() == ShardEnd {
			return
		}
		if h.lost.Load() || retryCtx.Err() != nil {
			cp.notEnded()
			stopped()
			return
		}
		log.Error("the processor did not checkpoint at the end of the shard; calling ShardEnded again")
		if sleep(retryCtx, backoff(attempt, time.Second, 30*time.Second)) != nil {
			cp.notEnded()
			stopped()
			return
		}
	}
}

// ensureChildren creates the leases of a shard's children (from
// GetRecords' ChildShards, else from ListShards) and records them on the
// parent's lease, retrying until retryCtx ends. False means it ended
// first.
func (w *Worker) ensureChildren(ctx, retryCtx context.Context, log *slog.Logger, l *lease, given []ktypes.ChildShard) bool {
	for attempt := 1; ; attempt++ {
		err := w.createChildren(ctx, l, given)
		if err == nil {
			return true
		}
		if ctx.Err() != nil || retryCtx.Err() != nil {
			return false
		}
		log.Warn("creating child leases", "err", err)
		if sleep(retryCtx, backoff(attempt, 100*time.Millisecond, 10*time.Second)) != nil {
			return false
		}
	}
}

func (w *Worker) createChildren(ctx context.Context, l *lease, given []ktypes.ChildShard) error {
	var children []shardInfo
	for _, c := range given {
		si := shardInfo{id: aws.ToString(c.ShardId), parents: c.ParentShards}
		if c.HashKeyRange != nil {
			si.startHash, si.endHash = aws.ToString(c.HashKeyRange.StartingHashKey), aws.ToString(c.HashKeyRange.EndingHashKey)
		}
		children = append(children, si)
	}
	if len(children) == 0 {
		shards, err := w.listShards(ctx)
		if err != nil {
			return err
		}
		for _, s := range shards {
			for _, p := range s.parents {
				if p == l.key {
					children = append(children, s)
					break
				}
			}
		}
		if len(children) == 0 {
			return fmt.Errorf("no child shards of %s found", l.key)
		}
	}
	ids := make([]string, 0, len(children))
	var listed map[string]bool // ListShards, read only if needed
	for _, c := range children {
		ids = append(ids, c.id)
		ok, err := w.otherParentsLeased(ctx, l.key, c, &listed)
		if err != nil {
			return err
		}
		if !ok {
			// As the KCL: a merge child waits for its other parent's
			// lease, else it would be read before that parent. The
			// shard sync creates both, parent first; or that parent
			// creates the child when it ends.
			continue
		}
		if _, err := w.store.create(ctx, c.newLease(TrimHorizon)); err != nil {
			return err
		}
	}
	return w.store.setChildren(ctx, l.key, ids)
}

// otherParentsLeased reports whether each parent of c besides the ending
// one has a lease or is gone from the stream (expired).
func (w *Worker) otherParentsLeased(ctx context.Context, ending string, c shardInfo, listed *map[string]bool) (bool, error) {
	for _, p := range c.parents {
		if p == ending {
			continue
		}
		pl, err := w.store.get(ctx, p)
		if err != nil {
			return false, err
		}
		if pl != nil {
			continue
		}
		if *listed == nil {
			shards, err := w.listShards(ctx)
			if err != nil {
				return false, err
			}
			*listed = make(map[string]bool, len(shards))
			for _, s := range shards {
				(*listed)[s.id] = true
			}
		}
		if (*listed)[p] {
			return false, nil
		}
	}
	return true, nil
}

// waitParents waits until every parent's lease reads SHARD_END, as the
// KCL's BlockOnParentShardTask. A missing parent lease means the parent
// was finished and cleaned up, or was never to be read, except when this
// shard has not started and reads from its start while the parent is
// still listed: then the parent was never leased (a merge child made
// before the other parent's lease, by an older version) and has records
// to read first, so a shard sync gives it a lease. False means ctx ended.
func (w *Worker) waitParents(ctx context.Context, l *lease) bool {
	gone := map[string]bool{} // parents not listed: expired
	for {
		ready := true
		var unleased []string
		for _, p := range l.parents {
			if gone[p] {
				continue
			}
			pl, err := w.store.get(ctx, p)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("reading parent lease", "shard", l.key, "parent", p, "err", err)
				}
				ready = false
				break
			}
			if pl == nil && l.awaitsParents() {
				unleased = append(unleased, p)
			} else if pl != nil && pl.checkpoint != ShardEnd {
				ready = false
			}
		}
		if ready && len(unleased) > 0 {
			var err error
			ready, err = w.leaseParents(ctx, l, unleased, gone)
			if err != nil && ctx.Err() == nil {
				w.log.Warn("leasing parents", "shard", l.key, "err", err)
			}
		}
		if ready {
			return true
		}
		if sleep(ctx, w.s.ParentShardPollInterval) != nil {
			return false
		}
	}
}

// leaseParents checks whether parents without leases are still listed,
// marking those that are not in gone, and syncs shards so the listed ones
// get leases. True means none is listed.
func (w *Worker) leaseParents(ctx context.Context, l *lease, unleased []string, gone map[string]bool) (bool, error) {
	shards, err := w.listShards(ctx)
	if err != nil {
		return false, err
	}
	listed := make(map[string]bool, len(shards))
	for _, s := range shards {
		listed[s.id] = true
	}
	ready := true
	for _, p := range unleased {
		if !listed[p] {
			gone[p] = true
			continue
		}
		ready = false
	}
	if !ready {
		w.log.Info("parent shard has no lease; creating it first", "shard", l.key)
		return false, w.syncShards(ctx)
	}
	return true, nil
}

func parseRange(start, end string) *aggregation.HashRange {
	if start == "" || end == "" {
		return nil
	}
	hr, err := aggregation.ParseHashRange(start, end)
	if err != nil {
		return nil // an odd range must not lose records: the whole key space
	}
	return hr
}

// userRecords de-aggregates a batch and drops what is not after the
// checkpoint the shard started from (a restart re-reads the checkpointed
// record's aggregate).
func userRecords(in []ktypes.Record, hr *aggregation.HashRange, from ExtendedSequenceNumber) []Record {
	out := make([]Record, 0, len(in))
	skip := !from.IsSentinel() && from.SequenceNumber != ""
	for _, kr := range in {
		k := aggregation.KinesisRecord{
			SequenceNumber:              aws.ToString(kr.SequenceNumber),
			PartitionKey:                aws.ToString(kr.PartitionKey),
			Data:                        kr.Data,
			ApproximateArrivalTimestamp: aws.ToTime(kr.ApproximateArrivalTimestamp),
		}
		users, err := aggregation.DeaggregateRecord(k, hr)
		if err != nil {
			users, _ = aggregation.DeaggregateRecord(k, nil)
		}
		for _, u := range users {
			r := Record{
				SequenceNumber:              u.SequenceNumber,
				SubSequenceNumber:           u.SubSequenceNumber,
				Aggregated:                  u.Aggregated,
				PartitionKey:                u.PartitionKey,
				ExplicitHashKey:             u.ExplicitHashKey,
				Data:                        u.Data,
				ApproximateArrivalTimestamp: u.ApproximateArrivalTimestamp,
			}
			if skip && r.Position().Compare(from) <= 0 {
				continue
			}
			out = append(out, r)
		}
	}
	return out
}

// checkpointer is a shard's Checkpointer, with the KCL's validation.
type checkpointer struct {
	w *Worker
	h *heldLease

	mu        sync.Mutex
	last      ExtendedSequenceNumber // the lease's checkpoint
	largest   ExtendedSequenceNumber // the last record delivered, or SHARD_END
	beforeEnd ExtendedSequenceNumber
}

func (c *checkpointer) delivered(e ExtendedSequenceNumber) {
	c.mu.Lock()
	c.largest = e
	c.mu.Unlock()
}

// ended permits SHARD_END; notEnded takes it back when the shard is left
// without it, so Checkpoint writes the last record instead.
func (c *checkpointer) ended() {
	c.mu.Lock()
	c.beforeEnd, c.largest = c.largest, ShardEnd
	c.mu.Unlock()
}

func (c *checkpointer) notEnded() {
	c.mu.Lock()
	if c.largest == ShardEnd && c.last != ShardEnd {
		c.largest = c.beforeEnd
	}
	c.mu.Unlock()
}

func (c *checkpointer) current() ExtendedSequenceNumber {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *checkpointer) Checkpoint(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.to(ctx, c.largest)
}

func (c *checkpointer) CheckpointAt(ctx context.Context, seq string, subSeq uint64) error {
	if seq != SentinelShardEnd && !validSeq(seq) {
		return fmt.Errorf("%w: %q is not a sequence number", ErrInvalidCheckpoint, seq)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.to(ctx, ExtendedSequenceNumber{SequenceNumber: seq, SubSequenceNumber: subSeq})
}

func (c *checkpointer) CheckpointRecord(ctx context.Context, r Record) error {
	return c.CheckpointAt(ctx, r.SequenceNumber, r.SubSequenceNumber)
}

// to writes e; call with c.mu held.
func (c *checkpointer) to(ctx context.Context, e ExtendedSequenceNumber) error {
	if e.Compare(c.last) < 0 {
		return fmt.Errorf("%w: %s is before the current checkpoint %s", ErrInvalidCheckpoint, e, c.last)
	}
	if e.Compare(c.largest) > 0 {
		return fmt.Errorf("%w: %s is beyond the last record delivered %s", ErrInvalidCheckpoint, e, c.largest)
	}
	if e == c.last {
		return nil
	}
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost.Load() {
		return ErrLeaseLost
	}
	err := c.w.store.checkpoint(ctx, h.key, c.w.s.WorkerID, h.counter, e)
	switch {
	case err == nil:
		h.counter++
		c.last = e
		return nil
	case errors.Is(err, errConditionFailed):
		c.w.lose(h, "checkpoint found the lease changed")
		return ErrLeaseLost
	}
	return fmt.Errorf("consumer: checkpoint %s of %s: %w", e, h.key, err)
}
