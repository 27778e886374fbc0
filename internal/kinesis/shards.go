package kinesis

import (
	"context"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// ListShards lists shards, filtered as AWS filters them, with NextToken paging.
func (s *Service) ListShards(ctx context.Context, in *api.ListShardsInput) (*api.ListShardsOutput, error) {
	if err := validateListShards(in); err != nil {
		return nil, err
	}
	var (
		k     store.StreamKey
		after string
		id    string
		f     shardFilter
	)
	if in.NextToken != nil {
		if in.StreamName != nil {
			return nil, Errorf(ErrInvalidArgument, "NextToken and StreamName cannot be provided together.")
		}
		if in.StreamARN != nil { // AWS names the ARN (aws-cli#9635, 2025)
			return nil, Errorf(ErrInvalidArgument, "NextToken and StreamARN cannot be provided together.")
		}
		if in.ExclusiveStartShardId != nil {
			return nil, Errorf(ErrInvalidArgument, "NextToken and ExclusiveStartShardId cannot be provided together.")
		}
		if in.ShardFilter != nil { // apache/beam#33478, a real AWS answer
			return nil, Errorf(ErrInvalidArgument, "NextToken and ShardFilter cannot be provided together.")
		}
		t, err := s.decodeToken(ctx, "shards", *in.NextToken)
		if err != nil {
			return nil, err
		}
		k, after, id = t.key(), t.After, t.StreamID
		if err := s.authorize(ctx, "kinesis:ListShards", k, "", StreamARN(k)); err != nil {
			return nil, err
		}
		f = shardFilter{Type: t.FilterType, ShardID: t.FilterID}
		if t.FilterTime != 0 {
			f.Time = time.UnixMilli(t.FilterTime)
		}
	} else {
		if in.StreamName == nil && in.StreamARN == nil {
			return nil, Errorf(ErrInvalidArgument, "Either NextToken or StreamName should be provided.")
		}
		var err error
		if k, err = streamKey(ctx, in.StreamName, in.StreamARN); err != nil {
			return nil, err
		}
		if in.ExclusiveStartShardId != nil {
			after = *in.ExclusiveStartShardId
		}
		if f, err = parseShardFilter(in.ShardFilter); err != nil {
			return nil, err
		}
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	if id != "" && id != st.ID {
		return nil, notFound(k)
	}
	if in.StreamCreationTimestamp != nil && !in.StreamCreationTimestamp.Equal(st.Created) {
		return nil, notFound(k)
	}
	limit := 1000
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &api.ListShardsOutput{Shards: []api.Shard{}}
	more := false
	for _, sh := range f.apply(st) {
		if after != "" && ShardID(sh.Index) <= after {
			continue
		}
		if len(out.Shards) == limit {
			more = true
			break
		}
		out.Shards = append(out.Shards, apiShard(st, sh))
	}
	if more {
		t := pageToken{Kind: "shards", Account: k.Account, Region: k.Region, Name: k.Name, StreamID: st.ID,
			After: out.Shards[len(out.Shards)-1].ShardId, FilterType: f.Type, FilterID: f.ShardID}
		if !f.Time.IsZero() {
			t.FilterTime = f.Time.UnixMilli()
		}
		tok, err := s.encodeToken(ctx, t)
		if err != nil {
			return nil, err
		}
		out.NextToken = &tok
	}
	return out, nil
}

type shardFilter struct {
	Type    string
	ShardID string
	Time    time.Time
}

func parseShardFilter(in *api.ShardFilter) (shardFilter, error) {
	if in == nil || in.Type == nil {
		return shardFilter{}, nil
	}
	f := shardFilter{Type: *in.Type}
	if in.ShardId != nil {
		f.ShardID = *in.ShardId
	}
	if in.Timestamp != nil {
		f.Time = in.Timestamp.Time
	}
	switch f.Type {
	case api.FilterAfterShardID:
		if in.ShardId == nil {
			return f, Errorf(ErrInvalidArgument, "ShardId must be provided for ShardFilter type AFTER_SHARD_ID.")
		}
	case api.FilterAtTimestamp, api.FilterFromTimestamp:
		if in.Timestamp == nil {
			return f, Errorf(ErrInvalidArgument, "Timestamp must be provided for ShardFilter type %s.", f.Type)
		}
	}
	if in.ShardId != nil && f.Type != api.FilterAfterShardID {
		return f, Errorf(ErrInvalidArgument, "ShardId can only be provided for ShardFilter type AFTER_SHARD_ID.")
	}
	if in.Timestamp != nil && f.Type != api.FilterAtTimestamp && f.Type != api.FilterFromTimestamp {
		return f, Errorf(ErrInvalidArgument, "Timestamp can only be provided for ShardFilter type AT_TIMESTAMP or FROM_TIMESTAMP.")
	}
	return f, nil
}

// apply returns the shards the filter selects, in index order.
//
// A shard without parents counts as open since the beginning of time, so
// AT_TIMESTAMP before the stream existed yields the first shards, which is
// what a consumer starting "at" that time needs.
func (f shardFilter) apply(st *store.Stream) []*store.Shard {
	present := map[int]bool{}
	for _, sh := range st.Shards {
		present[sh.Index] = true
	}
	var out []*store.Shard
	for i := range st.Shards {
		sh := &st.Shards[i]
		keep := true
		switch f.Type {
		case api.FilterAtLatest:
			keep = sh.Closed == nil
		case api.FilterAtTrimHorizon:
			keep = !present[sh.Parent] && !present[sh.AdjacentParent]
		case api.FilterAfterShardID:
			keep = ShardID(sh.Index) > f.ShardID
		case api.FilterAtTimestamp:
			started := sh.Parent < 0 || !sh.Created.After(f.Time)
			keep = started && (sh.Closed == nil || !sh.Closed.Before(f.Time))
		case api.FilterFromTimestamp:
			keep = sh.Closed == nil || !sh.Closed.Before(f.Time)
		}
		if keep {
			out = append(out, sh)
		}
	}
	return out
}
