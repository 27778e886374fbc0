package kinesis

// Record distribution strategies (UpdateStreamRecordDistributionStrategy).
// USER_PARTITION_KEY, the default, places a record by the MD5 of its
// partition key or by its ExplicitHashKey. AUTO, for ON_DEMAND streams,
// ignores both and spreads records evenly over the open shards: Rivulet
// deals them out in turn, one process-wide counter for every stream.

import (
	"context"
	"sync/atomic"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/store"
)

var vDistributions = vStr{min: vNone, max: vNone, enum: []string{api.DistributionAuto, api.DistributionUserPartitionKey}}

func validateUpdateStreamRecordDistributionStrategy(in *api.UpdateStreamRecordDistributionStrategyInput) error {
	var v validator
	v.str("recordDistributionStrategy", in.RecordDistributionStrategy, true, vDistributions)
	v.str("streamARN", in.StreamARN, true, vStreamARN)
	return v.err()
}

// autoTurn deals AUTO records out over the open shards.
var autoTurn atomic.Uint64

// spreads reports whether st places records by AUTO. A stream switched
// to PROVISIONED goes back to partition keys, as AWS allows AUTO on
// ON_DEMAND streams only.
func spreads(st *store.Stream) bool {
	return st.Distribution == api.DistributionAuto && st.Mode == api.ModeOnDemand
}

// place finds the shard for a record with hash key h under st's strategy.
func place(st *store.Stream, rt router, h hashkey.Key) *store.Shard {
	if !spreads(st) || len(rt) == 0 {
		return rt.route(h)
	}
	return rt[(autoTurn.Add(1)-1)%uint64(len(rt))].sh
}

// distributionOf is what DescribeStreamSummary reports: the strategy of an
// ON_DEMAND stream, nothing for a PROVISIONED one.
func distributionOf(st *store.Stream) string {
	if st.Mode != api.ModeOnDemand {
		return ""
	}
	if st.Distribution == "" {
		return api.DistributionUserPartitionKey
	}
	return st.Distribution
}

// UpdateStreamRecordDistributionStrategy switches a stream's strategy; new
// records follow it at once, records already stored stay where they are.
func (s *Service) UpdateStreamRecordDistributionStrategy(ctx context.Context, in *api.UpdateStreamRecordDistributionStrategyInput) (*api.UpdateStreamRecordDistributionStrategyOutput, error) {
	if err := validateUpdateStreamRecordDistributionStrategy(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, nil, in.StreamARN)
	if err != nil {
		return nil, err
	}
	want := *in.RecordDistributionStrategy
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive && st.Status != api.StatusUpdating {
			return notActive(st)
		}
		if want == api.DistributionAuto && st.Mode != api.ModeOnDemand {
			return autoNeedsOnDemand(k, st.Mode)
		}
		st.Distribution = want
		if want == api.DistributionUserPartitionKey {
			st.Distribution = "" // the default, stored as nothing
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateStreamRecordDistributionStrategyOutput{}, nil
}

// autoNeedsOnDemand refuses AUTO on a PROVISIONED stream (AWS documents the
// exception, not its words).
func autoNeedsOnDemand(k store.StreamKey, mode string) error {
	return Errorf(ErrInvalidArgument, "The AUTO record distribution strategy is only supported for streams in ON_DEMAND mode. Stream %s under account %s is in %s mode.", k.Name, k.Account, mode)
}
