package kinesis

import (
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// callLimiter allows everything except the GetShardIterator and
// SubscribeToShard calls it is told to refuse, and records what it was
// asked.
type callLimiter struct {
	mu                    sync.Mutex
	refuseIter, refuseSub bool
	iters                 []iterKey
	subs                  []string
}

type iterKey struct {
	k     store.StreamKey
	shard int
}

func (*callLimiter) Write(store.StreamKey, int, int, int) bool { return true }
func (*callLimiter) Read(store.StreamKey, int) bool            { return true }
func (*callLimiter) ReadDone(store.StreamKey, int, int)        {}
func (*callLimiter) Control(Caller, string, string) bool       { return true }

func (l *callLimiter) ShardIterator(k store.StreamKey, shard int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.iters = append(l.iters, iterKey{k, shard})
	return !l.refuseIter
}

func (l *callLimiter) Subscribe(consumerARN string, shard int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, consumerARN+" "+ShardID(shard))
	return !l.refuseSub
}

// TestGetShardIteratorThrottled: a refused GetShardIterator call gets
// ProvisionedThroughputExceededException naming the shard; a call for a
// shard that does not exist is not counted.
func TestGetShardIteratorThrottled(t *testing.T) {
	s, _, _ := fanService(t, 2)
	lim := &callLimiter{}
	s.cfg.Limits = lim
	gsi := func(shard string) error {
		_, err := s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("fan"), ShardId: &shard, ShardIteratorType: ptr(api.TrimHorizon)})
		return err
	}
	if err := gsi("shardId-000000000001"); err != nil {
		t.Fatal(err)
	}
	want := iterKey{store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "fan"}, 1}
	if len(lim.iters) != 1 || lim.iters[0] != want {
		t.Fatalf("limiter asked %+v, want %+v", lim.iters, want)
	}
	lim.refuseIter = true
	wantErr(t, gsi("shardId-000000000001"), ErrProvisionedThroughputExceeded,
		"Rate exceeded for shard shardId-000000000001 in stream fan under account 000000000000.")
	wantErr(t, gsi("shardId-000000000007"), ErrResourceNotFound, "")
	if len(lim.iters) != 2 {
		t.Errorf("limiter asked %d times, want 2 (not for a missing shard)", len(lim.iters))
	}
}

// TestSubscribeToShardThrottled: SubscribeToShard counts against its own
// rate, not GetShardIterator's, and a refused call is an ordinary error
// that takes no lease.
func TestSubscribeToShardThrottled(t *testing.T) {
	s, _, arn := fanService(t, 1)
	s.fan.tick = time.Hour
	lim := &callLimiter{refuseSub: true}
	s.cfg.Limits = lim
	const shard = "shardId-000000000000"
	_, err := trySubscribe(s, arn, shard, api.Latest, nil, nil)
	wantErr(t, err, ErrLimitExceeded, "Rate exceeded for consumer "+arn+" and shard shardId-000000000000.")
	if len(lim.iters) != 0 {
		t.Errorf("SubscribeToShard counted against GetShardIterator: %+v", lim.iters)
	}
	if want := arn + " " + shard; len(lim.subs) != 1 || lim.subs[0] != want {
		t.Fatalf("limiter asked %q, want %q", lim.subs, want)
	}
	// The refusal held no lease: the next call, admitted, is not told
	// another subscription exists.
	lim.refuseSub = false
	st := subscribe(t, s, arn, shard, api.Latest, nil, nil)
	wantInitial(t, st)
	st.close()
	// An invalid starting position fails before the rate is counted.
	_, err = trySubscribe(s, arn, shard, api.AtSequenceNumber, nil, nil)
	wantErr(t, err, ErrInvalidArgument, "")
	if len(lim.subs) != 2 {
		t.Errorf("limiter asked %d times, want 2", len(lim.subs))
	}
}
