package kinesis

// UpdateStreamWarmThroughput. On AWS it pre-scales an ON_DEMAND stream
// for a write rate; the stream is UPDATING while that happens. Rivulet has
// no capacity to warm, so the target becomes current when UPDATING ends
// (after the reshard delay), and nothing else changes.

import (
	"context"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// maxWarmMiBps is AWS's default ceiling: 10 GiB/s.
const maxWarmMiBps = 10 * 1024

func validateUpdateStreamWarmThroughput(in *api.UpdateStreamWarmThroughputInput) error {
	var v validator
	v.stream(in.StreamName, in.StreamARN)
	v.num("warmThroughputMiBps", in.WarmThroughputMiBps, true, vAtLeast(0))
	return v.err()
}

// warmNow is a stream's warm throughput as of now; nil when not reported.
func (s *Service) warmNow(st *store.Stream) *api.WarmThroughputObject {
	if st.Warm == nil || st.Mode != api.ModeOnDemand {
		return nil
	}
	cur := st.Warm.Target
	if s.now().Before(st.Warm.Until) {
		cur = st.Warm.From
	}
	return &api.WarmThroughputObject{TargetMiBps: ptr(int64(st.Warm.Target)), CurrentMiBps: ptr(int64(cur))}
}

// UpdateStreamWarmThroughput sets an ON_DEMAND stream's warm throughput.
// The account must have the MinimumThroughputBillingCommitment enabled.
func (s *Service) UpdateStreamWarmThroughput(ctx context.Context, in *api.UpdateStreamWarmThroughputInput) (*api.UpdateStreamWarmThroughputOutput, error) {
	if err := validateUpdateStreamWarmThroughput(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	target := *in.WarmThroughputMiBps
	if target > maxWarmMiBps {
		return nil, Errorf(ErrInvalidArgument, "WarmThroughputMiBps %d for stream %s under account %s exceeds the maximum of %d MiBps.", target, k.Name, k.Account, maxWarmMiBps)
	}
	c, err := s.commitment(ctx, Caller{Account: k.Account, Region: k.Region})
	if err != nil {
		return nil, err
	}
	var out *api.WarmThroughputObject
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Mode != api.ModeOnDemand {
			return Errorf(ErrInvalidArgument, "Warm throughput is only supported for streams in ON_DEMAND mode. Stream %s under account %s is in %s mode.", k.Name, k.Account, st.Mode)
		}
		if c.Status == api.CommitmentDisabled {
			return Errorf(ErrInvalidArgument, "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account %s.", k.Account)
		}
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		from := 0
		if w := s.warmNow(st); w != nil {
			from = int(*w.CurrentMiBps)
		}
		s.schedule(st)
		st.Warm = &store.WarmThroughput{Target: int(target), From: from, Until: st.StatusUntil}
		out = &api.WarmThroughputObject{TargetMiBps: ptr(target), CurrentMiBps: ptr(int64(from))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.settleNow(ctx, k)
	return &api.UpdateStreamWarmThroughputOutput{StreamName: k.Name, StreamARN: StreamARN(k), WarmThroughput: out}, nil
}
