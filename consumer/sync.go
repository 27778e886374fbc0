package consumer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// shardInfo is a shard as ListShards describes it.
type shardInfo struct {
	id                 string
	parents            []string
	startHash, endHash string
	closed             bool
}

func (s shardInfo) newLease(cp ExtendedSequenceNumber) *lease {
	return &lease{key: s.id, checkpoint: cp, parents: s.parents, startingHash: s.startHash, endingHash: s.endHash}
}

// listShards lists every shard of the stream, following pages.
func (w *Worker) listShards(ctx context.Context) ([]shardInfo, error) {
	var out []shardInfo
	in := &kinesis.ListShardsInput{}
	in.StreamName, in.StreamARN = w.streamRef()
	for attempt := 1; ; {
		page, err := w.s.Kinesis.ListShards(ctx, in)
		if err != nil {
			if ctx.Err() != nil || !retryable(err) || attempt >= 10 {
				return nil, fmt.Errorf("consumer: listing shards: %w", err)
			}
			if err := sleep(ctx, backoff(attempt, 100*time.Millisecond, 5*time.Second)); err != nil {
				return nil, err
			}
			attempt++
			continue
		}
		for _, s := range page.Shards {
			si := shardInfo{id: aws.ToString(s.ShardId)}
			for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
				if aws.ToString(p) != "" {
					si.parents = append(si.parents, *p)
				}
			}
			if s.HashKeyRange != nil {
				si.startHash, si.endHash = aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey)
			}
			si.closed = s.SequenceNumberRange != nil && aws.ToString(s.SequenceNumberRange.EndingSequenceNumber) != ""
			out = append(out, si)
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

// syncLoop syncs shards and leases at once, closing synced after the first
// success, then every ShardSyncInterval. A first sync that cannot succeed
// (no such stream, access denied) ends the worker through fail.
func (w *Worker) syncLoop(ctx context.Context, synced chan struct{}, fail context.CancelCauseFunc) {
	first := true
	for attempt := 1; ; {
		wait := w.s.ShardSyncInterval
		if err := w.syncShards(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if first && !retryable(err) {
				fail(err)
				return
			}
			w.log.Warn("shard sync", "err", err)
			if first {
				wait = backoff(attempt, 100*time.Millisecond, 10*time.Second)
				attempt++
			}
		} else if first {
			first = false
			close(synced)
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// syncShards creates the leases shards lack and deletes the leases no
// longer needed. Leases are read before shards are listed, so every lease
// read belongs to a shard the listing knows unless the shard expired.
func (w *Worker) syncShards(ctx context.Context) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	leases, err := w.store.list(ctx)
	if err != nil {
		return fmt.Errorf("consumer: reading leases: %w", err)
	}
	shards, err := w.listShards(ctx)
	if err != nil {
		return err
	}
	for _, l := range newLeases(shards, leases, w.s.InitialPosition.Type) {
		if _, err := w.store.create(ctx, l); err != nil {
			return fmt.Errorf("consumer: creating lease %s: %w", l.key, err)
		}
	}
	return w.cleanup(ctx, shards, leases)
}

// newLeases decides, as the KCL's shard syncer, which shards get a lease,
// parents before children:
//
//   - an open shard without a lease gets one;
//   - so do its closed ancestors without leases, back to the nearest
//     leased ancestor: they must be read to keep every key in order;
//   - when no ancestor has a lease, the ancestors get one only when the
//     application starts from TRIM_HORIZON or AT_TIMESTAMP; from LATEST
//     their old records are not wanted.
//
// Closed shards are never the starting point, so the history of shards
// already processed and cleaned up is not read again. A leased child
// not yet started from TRIM_HORIZON or AT_TIMESTAMP whose listed parent
// lacks a lease is treated as a leased descendant: its parents get one.
func newLeases(shards []shardInfo, leases []*lease, initial string) []*lease {
	byID := make(map[string]shardInfo, len(shards))
	for _, s := range shards {
		byID[s.id] = s
	}
	leased := make(map[string]bool, len(leases))
	var waiting []string // leased, unstarted, to be read after their parents
	for _, l := range leases {
		leased[l.key] = true
		if l.awaitsParents() {
			waiting = append(waiting, l.key)
		}
	}
	initialCP := ExtendedSequenceNumber{SequenceNumber: initial}
	created := map[string]*lease{}
	memo := map[string]bool{}
	waitingSet := make(map[string]bool, len(waiting))
	for _, k := range waiting {
		waitingSet[k] = true
	}
	var descendant func(id string) bool
	// descendant reports whether id is leased or must be read because an
	// ancestor is (or, from TRIM_HORIZON or AT_TIMESTAMP, always).
	descendant = func(id string) bool {
		if v, ok := memo[id]; ok {
			return v
		}
		memo[id] = false
		s, ok := byID[id]
		if leased[id] {
			memo[id] = true
			if !waitingSet[id] || !ok {
				return true
			}
		} else if !ok {
			return false
		}
		isDesc := leased[id]
		descParents := map[string]bool{}
		for _, p := range s.parents {
			if _, listed := byID[p]; listed && descendant(p) {
				isDesc = true
				descParents[p] = true
			}
		}
		if isDesc {
			for _, p := range s.parents {
				if _, listed := byID[p]; !listed || leased[p] || created[p] != nil {
					continue
				}
				cp := initialCP
				if descParents[p] && initial != SentinelAtTimestamp {
					cp = TrimHorizon
				}
				created[p] = byID[p].newLease(cp)
			}
		} else if initial == SentinelTrimHorizon || initial == SentinelAtTimestamp {
			isDesc = true
		}
		memo[id] = isDesc
		return isDesc
	}
	// A lease made without its parents' (by an older version, or by hand)
	// gets them now: the child waits for them.
	for _, k := range waiting {
		descendant(k)
	}
	for _, s := range shards {
		if s.closed || leased[s.id] || created[s.id] != nil {
			continue
		}
		cp := initialCP
		if descendant(s.id) && initial != SentinelAtTimestamp {
			cp = TrimHorizon
		}
		created[s.id] = s.newLease(cp)
	}
	// Parents first: a child lease never exists without its parents'.
	depth := map[string]int{}
	var depthOf func(id string) int
	depthOf = func(id string) int {
		if d, ok := depth[id]; ok {
			return d
		}
		depth[id] = 0
		d := 0
		for _, p := range byID[id].parents {
			if created[p] != nil {
				d = max(d, depthOf(p)+1)
			}
		}
		depth[id] = d
		return d
	}
	out := make([]*lease, 0, len(created))
	for _, l := range created {
		depthOf(l.key)
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if depth[out[i].key] != depth[out[j].key] {
			return depth[out[i].key] < depth[out[j].key]
		}
		return out[i].key < out[j].key
	})
	return out
}

// cleanup deletes the lease of a finished parent once all its children
// have leases checkpointed past their start, and the leases of shards
// missing from two listings in a row (expired).
func (w *Worker) cleanup(ctx context.Context, shards []shardInfo, leases []*lease) error {
	listed := make(map[string]bool, len(shards))
	childrenOf := map[string][]string{}
	for _, s := range shards {
		listed[s.id] = true
		for _, p := range s.parents {
			childrenOf[p] = append(childrenOf[p], s.id)
		}
	}
	byKey := make(map[string]*lease, len(leases))
	for _, l := range leases {
		byKey[l.key] = l
	}
	var doomed []string
	w.mu.Lock()
	for _, l := range leases {
		if !listed[l.key] {
			w.missing[l.key]++
			if w.missing[l.key] >= 2 {
				doomed = append(doomed, l.key)
			}
			continue
		}
		delete(w.missing, l.key)
		if l.checkpoint != ShardEnd {
			continue
		}
		kids := l.children
		if len(kids) == 0 {
			kids = childrenOf[l.key]
		}
		done := len(kids) > 0
		for _, k := range kids {
			if kl := byKey[k]; kl == nil || kl.checkpoint.rank() == 0 {
				done = false
				break
			}
		}
		if done {
			doomed = append(doomed, l.key)
		}
	}
	w.mu.Unlock()
	for _, k := range doomed {
		if err := w.store.delete(ctx, k); err != nil {
			return fmt.Errorf("consumer: deleting lease %s: %w", k, err)
		}
		w.log.Info("lease deleted", "shard", k)
		w.mu.Lock()
		delete(w.missing, k)
		w.mu.Unlock()
	}
	return nil
}

// setupFanOut finds the stream consumer, registering it if missing, and
// waits until it is ACTIVE.
func (w *Worker) setupFanOut(ctx context.Context) (string, error) {
	if w.s.fanOut.ConsumerARN != "" {
		return w.s.fanOut.ConsumerARN, nil
	}
	streamARN := w.s.Stream
	if !isARN(streamARN) {
		out, err := w.s.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(w.s.Stream)})
		if err != nil {
			return "", fmt.Errorf("consumer: describing stream: %w", err)
		}
		streamARN = aws.ToString(out.StreamDescriptionSummary.StreamARN)
	}
	name := aws.String(w.s.fanOut.ConsumerName)
	for attempt := 1; ; attempt++ {
		out, err := w.s.Kinesis.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: name})
		switch {
		case err == nil && out.ConsumerDescription.ConsumerStatus == ktypes.ConsumerStatusActive:
			return aws.ToString(out.ConsumerDescription.ConsumerARN), nil
		case err == nil:
		case isCode(err, "ResourceNotFoundException"):
			_, err = w.s.Kinesis.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: name})
			if err != nil && !isCode(err, "ResourceInUseException") && !retryable(err) {
				return "", fmt.Errorf("consumer: registering stream consumer: %w", err)
			}
		case !retryable(err):
			return "", fmt.Errorf("consumer: describing stream consumer: %w", err)
		}
		// A new consumer is ACTIVE soon: poll early, then back off.
		if err := sleep(ctx, backoff(attempt, 10*time.Millisecond, 5*time.Second)); err != nil {
			return "", err
		}
	}
}
