package consumer

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestServerTimeJump: when server time jumps 6 minutes, the poller's
// iterator expires and the fan-out subscription ends (they last 5
// minutes); reading continues after the last record, losing and
// repeating nothing.
func TestServerTimeJump(t *testing.T) {
	t.Parallel()
	for _, rt := range []struct {
		name string
		r    Retrieval
	}{{"Polling", Polling{IdleTimeBetweenReads: 100 * time.Millisecond}}, {"FanOut", FanOut{}}} {
		for _, b := range backends() {
			t.Run(rt.name+"/"+b, func(t *testing.T) {
				t.Parallel()
				var skew atomic.Int64
				e := newEnvWith(t, b, ServerConfig{Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
				stream := e.createStream(t, 1)
				rec := newRecorder()
				cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A", Retrieval: rt.r}
				fastTiming(&cfg)
				cfg.Processor = rec.factory("A", true)
				e.startWorker(t, cfg)
				ks := keys(10)
				e.put(t, stream, ks, 0, 5)
				waitFor(t, "first records", func() bool { return rec.count() == 50 })
				skew.Store(int64(6 * time.Minute))
				e.put(t, stream, ks, 5, 10)
				waitFor(t, "records after the jump", func() bool { return rec.count() == 100 })
				rec.checkFirstOrder(t, ks, 10) // also: no record twice to one processor
			})
		}
	}
}

// shardEndProcessor forgets to checkpoint at its first ShardEnded.
type shardEndProcessor struct {
	*recProcessor
	mu    *sync.Mutex
	calls *int
}

func (p *shardEndProcessor) ShardEnded(ctx context.Context, in ShardEndedInput) {
	p.mu.Lock()
	*p.calls++
	first := *p.calls == 1
	p.mu.Unlock()
	if !first {
		p.recProcessor.ShardEnded(ctx, in)
	}
}

// TestShardEndedWithoutCheckpoint: a processor that does not checkpoint
// SHARD_END gets ShardEnded again, and the children wait for it.
func TestShardEndedWithoutCheckpoint(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 1)
		rec := newRecorder()
		var mu sync.Mutex
		calls := 0
		cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A"}
		fastTiming(&cfg)
		inner := rec.factory("A", true)
		cfg.Processor = ProcessorFactoryFunc(func(shardID string) Processor {
			return &shardEndProcessor{recProcessor: inner.NewProcessor(shardID).(*recProcessor), mu: &mu, calls: &calls}
		})
		e.startWorker(t, cfg)
		ks := keys(10)
		e.put(t, stream, ks, 0, 5)
		if _, err := e.kin.SplitShard(context.Background(), &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
			t.Fatal(err)
		}
		e.waitActive(t, stream)
		e.put(t, stream, ks, 5, 10)
		waitFor(t, "all records processed", func() bool { return rec.count() == 100 })
		rec.checkFirstOrder(t, ks, 10)
		mu.Lock()
		defer mu.Unlock()
		if calls < 2 {
			t.Errorf("ShardEnded called %d times, want again after no checkpoint", calls)
		}
	})
}
