package kinesis

import (
	"context"
	"slices"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/store"
)

// DefaultReshardDelay is how long a stream stays UPDATING.
const DefaultReshardDelay = 500 * time.Millisecond

// maxScalingsPerDay is UpdateShardCount's rolling 24-hour allowance.
const maxScalingsPerDay = 10

// Resharding works in two steps, both driven by whichever process touches
// the stream, so none has to stay up for it:
//
//  1. A request records a plan and puts the stream in UPDATING until a
//     deadline. Until then writes still go to the old shards, as on AWS.
//  2. The first load after the deadline applies the plan to the shard map:
//     parents are closed, children added, all marked Pending. Then the
//     pending log work is done in shard order, parents before children:
//     a parent's log is closed (no writer, however stale its metadata, can
//     add to it afterwards) before any child's log exists. A crash in
//     between leaves Pending marks that the next load finishes.

func (s *Service) reshardDelay() time.Duration { return s.cfg.ReshardDelay }

func couldNotFind(id string, k store.StreamKey) error {
	return Errorf(ErrResourceNotFound, "Could not find shard %s in stream %s under account %s.", id, k.Name, k.Account)
}

// onDemandRefused: AWS documents ValidationException; the wording is
// moto's, the only public record of it.
func onDemandRefused(k store.StreamKey) error {
	return Errorf(ErrValidation, "Request is invalid. Stream %s under account %s is in On-Demand mode.", k.Name, k.Account)
}

func shardRange(sh *store.Shard) hashkey.Range {
	return hashkey.Range{Start: hashkey.MustParse(sh.StartHash), End: hashkey.MustParse(sh.EndHash)}
}

// schedule puts the stream in UPDATING with a plan to apply at the end.
func (s *Service) schedule(st *store.Stream, steps ...store.ReshardStep) {
	st.Plan = append(st.Plan, steps...)
	st.Status, st.NextStatus, st.StatusUntil = api.StatusUpdating, api.StatusActive, s.now().Add(s.reshardDelay())
}

// SplitShard splits one open shard in two at NewStartingHashKey.
func (s *Service) SplitShard(ctx context.Context, in *api.SplitShardInput) (*api.SplitShardOutput, error) {
	if err := validateSplitShard(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	idx, ok := parseShardID(*in.ShardToSplit)
	if !ok {
		return nil, couldNotFind(*in.ShardToSplit, k)
	}
	at, perr := hashkey.Parse(*in.NewStartingHashKey)
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		sh := findShard(st, idx)
		if sh == nil {
			return couldNotFind(ShardID(idx), k)
		}
		if err := s.checkShardLimit(ctx, Caller{Account: k.Account, Region: k.Region}, 1); err != nil {
			return err
		}
		r := shardRange(sh)
		if perr != nil || at.Cmp(r.Start.Add(1)) <= 0 || at.Cmp(r.End) >= 0 {
			return Errorf(ErrInvalidArgument, "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.",
				*in.NewStartingHashKey, ShardID(idx), k.Name, k.Account, sh.StartHash, sh.EndHash)
		}
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if st.Mode == api.ModeOnDemand {
			return onDemandRefused(k)
		}
		if sh.Closed != nil {
			return alreadyResharded(ShardID(idx), k)
		}
		if err := s.canPlace(); err != nil {
			return err
		}
		s.schedule(st, store.ReshardStep{Kind: "split", Shard: idx, NewStart: at.String()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleNow(ctx, k)
	return &api.SplitShardOutput{}, nil
}

// adjacent reports whether b starts right after a ends (no wrap at 2^128).
func adjacent(a, b hashkey.Range) bool { return a.End != hashkey.Max && a.End.Add(1) == b.Start }

func alreadyResharded(id string, k store.StreamKey) error {
	// InvalidArgumentException, as real AWS answers (kinesalite issue 109
	// quotes the AWS CLI).
	return Errorf(ErrInvalidArgument, "Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", id, k.Name, k.Account)
}

// MergeShards merges two open shards whose ranges are adjacent.
func (s *Service) MergeShards(ctx context.Context, in *api.MergeShardsInput) (*api.MergeShardsOutput, error) {
	if err := validateMergeShards(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	var idx [2]int
	for i, id := range []string{*in.ShardToMerge, *in.AdjacentShardToMerge} {
		n, ok := parseShardID(id)
		if !ok {
			return nil, couldNotFind(id, k)
		}
		idx[i] = n
	}
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		var sh [2]*store.Shard
		for i := range idx {
			if sh[i] = findShard(st, idx[i]); sh[i] == nil {
				return couldNotFind(ShardID(idx[i]), k)
			}
		}
		a, b := shardRange(sh[0]), shardRange(sh[1])
		if idx[0] == idx[1] || !adjacent(a, b) && !adjacent(b, a) {
			return Errorf(ErrInvalidArgument, "Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging",
				ShardID(idx[0]), ShardID(idx[1]), k.Name, k.Account)
		}
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if st.Mode == api.ModeOnDemand {
			return onDemandRefused(k)
		}
		for i := range sh {
			if sh[i].Closed != nil {
				return alreadyResharded(ShardID(idx[i]), k)
			}
		}
		if err := s.canPlace(); err != nil {
			return err
		}
		s.schedule(st, store.ReshardStep{Kind: "merge", Shard: idx[0], Adjacent: idx[1]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleNow(ctx, k)
	return &api.MergeShardsOutput{}, nil
}

// UpdateShardCount scales the open shards to a uniform count by splits and
// merges, within AWS's bounds.
func (s *Service) UpdateShardCount(ctx context.Context, in *api.UpdateShardCountInput) (*api.UpdateShardCountOutput, error) {
	if err := validateUpdateShardCount(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	target := int(*in.TargetShardCount)
	var current int
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if st.Mode == api.ModeOnDemand {
			return onDemandRefused(k)
		}
		current = openShards(st)
		switch {
		case target > s.cfg.ShardLimit:
			return Errorf(ErrLimitExceeded, "Target shard count or number of open shards cannot be greater than %d. Current open shard count: %d, Target shard count: %d", s.cfg.ShardLimit, current, target)
		case target > 2*current:
			return Errorf(ErrLimitExceeded, "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: %d, Target shard count: %d", current, target)
		case 2*target < current:
			return Errorf(ErrLimitExceeded, "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: %d, Target shard count: %d", current, target)
		}
		now := s.now()
		recent := st.Scalings[:0]
		for _, t := range st.Scalings {
			if now.Sub(t) < 24*time.Hour {
				recent = append(recent, t)
			}
		}
		st.Scalings = recent
		if len(recent) >= maxScalingsPerDay {
			return Errorf(ErrLimitExceeded, "Exceeded the limit of %d UpdateShardCount calls in a rolling 24-hour period for stream %s under account %s.", maxScalingsPerDay, k.Name, k.Account)
		}
		if err := s.canPlace(); err != nil {
			return err
		}
		if more := target - current; more > 0 {
			if err := s.checkShardLimit(ctx, Caller{Account: k.Account, Region: k.Region}, more); err != nil {
				return err
			}
		}
		st.Scalings = append(st.Scalings, now)
		s.schedule(st, store.ReshardStep{Kind: "scale", Target: target})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleNow(ctx, k)
	return &api.UpdateShardCountOutput{StreamName: k.Name, StreamARN: StreamARN(k), CurrentShardCount: int64(current), TargetShardCount: int64(target)}, nil
}

// UpdateStreamMode switches between PROVISIONED and ON_DEMAND.
func (s *Service) UpdateStreamMode(ctx context.Context, in *api.UpdateStreamModeInput) (*api.UpdateStreamModeOutput, error) {
	if err := validateUpdateStreamMode(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, nil, in.StreamARN)
	if err != nil {
		return nil, err
	}
	mode := *in.StreamModeDetails.StreamMode
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if st.Mode == mode {
			return Errorf(ErrInvalidArgument, "Stream %s under account %s is already in %s mode.", k.Name, k.Account, mode)
		}
		st.Mode = mode
		s.schedule(st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleNow(ctx, k)
	return &api.UpdateStreamModeOutput{}, nil
}

// settleNow applies a plan at once when there is no UPDATING delay.
func (s *Service) settleNow(ctx context.Context, k store.StreamKey) {
	if s.reshardDelay() <= 0 {
		_, _, _ = s.load(ctx, k)
	}
}

// applyPlan rewrites the shard map as the plan says. Log work is left
// Pending for finishPending.
func applyPlan(st *store.Stream, now time.Time) {
	for _, step := range st.Plan {
		switch step.Kind {
		case "split":
			splitAt(st, step.Shard, hashkey.MustParse(step.NewStart), now)
		case "merge":
			mergePair(st, step.Shard, step.Adjacent, now)
		case "scale":
			scaleTo(st, step.Target, now)
		}
	}
	st.Plan = nil
}

func splitAt(st *store.Stream, idx int, at hashkey.Key, now time.Time) {
	p := findShard(st, idx)
	if p == nil || p.Closed != nil {
		return
	}
	start, end := p.StartHash, p.EndHash
	p.Closed, p.Pending = &now, true
	a := st.NextShardIndex
	st.NextShardIndex += 2
	st.Shards = append(st.Shards,
		store.Shard{Index: a, Parent: idx, AdjacentParent: -1, StartHash: start, EndHash: at.Sub(1).String(), Created: now, Pending: true},
		store.Shard{Index: a + 1, Parent: idx, AdjacentParent: -1, StartHash: at.String(), EndHash: end, Created: now, Pending: true})
}

// mergePair merges idx with adj (ParentShardId and AdjacentParentShardId)
// and returns the child's index.
func mergePair(st *store.Stream, idx, adj int, now time.Time) int {
	p, q := findShard(st, idx), findShard(st, adj)
	if p == nil || q == nil || p.Closed != nil || q.Closed != nil {
		return -1
	}
	start, end := p.StartHash, q.EndHash
	if shardRange(q).Start.Cmp(shardRange(p).Start) < 0 {
		start, end = q.StartHash, p.EndHash
	}
	p.Closed, p.Pending = &now, true
	q.Closed, q.Pending = &now, true
	c := st.NextShardIndex
	st.NextShardIndex++
	st.Shards = append(st.Shards, store.Shard{Index: c, Parent: idx, AdjacentParent: adj, StartHash: start, EndHash: end, Created: now, Pending: true})
	return c
}

// openByStart lists open shards in hash-key order.
func openByStart(st *store.Stream) []*store.Shard {
	var out []*store.Shard
	for i := range st.Shards {
		if st.Shards[i].Closed == nil {
			out = append(out, &st.Shards[i])
		}
	}
	slices.SortFunc(out, func(a, b *store.Shard) int { return shardRange(a).Start.Cmp(shardRange(b).Start) })
	return out
}

// scaleTo reaches target uniform shards with ordinary splits and merges,
// so every shard keeps at most two parents and the KCL's parent-first
// order still holds: first split at every target boundary that falls
// inside a shard, then merge the pieces of each target range.
func scaleTo(st *store.Stream, target int, now time.Time) {
	ranges := hashkey.Split(target)
	for _, r := range ranges[1:] {
		for _, sh := range openByStart(st) {
			sr := shardRange(sh)
			if sr.Start.Cmp(r.Start) < 0 && r.Start.Cmp(sr.End) <= 0 {
				splitAt(st, sh.Index, r.Start, now)
				break
			}
		}
	}
	for _, r := range ranges {
		var members []int
		for _, sh := range openByStart(st) {
			if sr := shardRange(sh); r.Contains(sr.Start) && r.Contains(sr.End) {
				members = append(members, sh.Index)
			}
		}
		for len(members) > 1 {
			c := mergePair(st, members[0], members[1], now)
			members = append([]int{c}, members[2:]...)
		}
	}
}

// expireShards drops closed shards whose records are all past retention:
// nothing can be read from them any more. It returns the dropped ones.
func expireShards(st *store.Stream, now time.Time) []store.Shard {
	keep := st.Shards[:0]
	var gone []store.Shard
	retention := time.Duration(st.RetentionHours) * time.Hour
	for _, sh := range st.Shards {
		if sh.Closed != nil && !sh.Pending && now.Sub(*sh.Closed) > retention {
			gone = append(gone, sh)
			continue
		}
		keep = append(keep, sh)
	}
	st.Shards = keep
	return gone
}

// canPlace refuses a reshard up front when the store cannot place the
// new shards' logs (a cluster with fewer live nodes than replicas): once
// applied, a reshard closes its parents, and children without logs would
// leave their hash ranges unwritable until the nodes return.
func (s *Service) canPlace() error {
	if p, ok := s.be.(store.Placer); ok {
		return tooFewNodes(p.CanPlace("reshard"))
	}
	return nil
}

func hasPending(st *store.Stream) bool {
	return slices.ContainsFunc(st.Shards, func(sh store.Shard) bool { return sh.Pending })
}

// finishPending does the log work of applied reshards, parents first, and
// records it. Every step is idempotent, so processes racing here agree.
func (s *Service) finishPending(ctx context.Context, st *store.Stream, rev store.Revision) (store.Revision, error) {
	retention := time.Duration(st.RetentionHours) * time.Hour
	for i := range st.Shards {
		sh := &st.Shards[i]
		if !sh.Pending {
			continue
		}
		ref := store.ShardRef{StreamID: st.ID, Shard: sh.Index}
		if err := s.be.CreateShard(ctx, ref, retention, store.SpecOf(st, *sh)); err != nil {
			return 0, err
		}
		if sh.Closed != nil {
			last, err := s.be.CloseShard(ctx, ref)
			if err != nil {
				return 0, err
			}
			sh.EndSeq = last
		}
		sh.Pending = false
	}
	return s.be.Put(ctx, st, rev)
}

// childShards lists the shards that a closed shard was split or merged into.
func childShards(st *store.Stream, idx int) []api.ChildShard {
	var out []api.ChildShard
	for _, sh := range st.Shards {
		if sh.Parent != idx && sh.AdjacentParent != idx {
			continue
		}
		parents := []string{ShardID(sh.Parent)}
		if sh.AdjacentParent >= 0 {
			parents = append(parents, ShardID(sh.AdjacentParent))
		}
		out = append(out, api.ChildShard{ShardId: ShardID(sh.Index), ParentShards: parents,
			HashKeyRange: api.HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash}})
	}
	return out
}
