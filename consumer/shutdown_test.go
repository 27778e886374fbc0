package consumer

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// neverEndProcessor never checkpoints SHARD_END and notes its calls.
type neverEndProcessor struct {
	mu        *sync.Mutex
	ended     *int
	shutdowns *int
	last      *ExtendedSequenceNumber
}

func (p *neverEndProcessor) Initialize(context.Context, InitializeInput) {}
func (p *neverEndProcessor) ProcessRecords(ctx context.Context, in ProcessRecordsInput) {
	if n := len(in.Records); n > 0 {
		_ = in.Checkpointer.CheckpointRecord(ctx, in.Records[n-1])
		p.mu.Lock()
		*p.last = in.Records[n-1].Position()
		p.mu.Unlock()
	}
}
func (p *neverEndProcessor) ShardEnded(context.Context, ShardEndedInput) {
	p.mu.Lock()
	*p.ended++
	p.mu.Unlock()
}
func (p *neverEndProcessor) LeaseLost(context.Context, LeaseLostInput) {}
func (p *neverEndProcessor) ShutdownRequested(ctx context.Context, in ShutdownRequestedInput) {
	p.mu.Lock()
	*p.shutdowns++
	p.mu.Unlock()
	_ = in.Checkpointer.Checkpoint(ctx)
}

// TestShutdownInsideShardEnd: a worker shutting down while its processor
// will not checkpoint SHARD_END stops asking: the processor gets
// ShutdownRequested, whose Checkpoint is the last record (not
// SHARD_END), and the lease is released.
func TestShutdownInsideShardEnd(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 1)
		ks := keys(3)
		e.put(t, stream, ks, 0, 2)
		if _, err := e.kin.SplitShard(context.Background(), &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
			t.Fatal(err)
		}
		e.waitActive(t, stream)
		var mu sync.Mutex
		var ended, shutdowns int
		var last ExtendedSequenceNumber
		cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A", ShutdownTimeout: 2 * hangTimeout}
		fastTiming(&cfg)
		cfg.Processor = ProcessorFactoryFunc(func(shardID string) Processor {
			if shardID != "shardId-000000000000" {
				return ProcessorFunc(func(context.Context, ProcessRecordsInput) {})
			}
			return &neverEndProcessor{mu: &mu, ended: &ended, shutdowns: &shutdowns, last: &last}
		})
		r := e.startWorker(t, cfg)
		waitFor(t, "ShardEnded", func() bool { mu.Lock(); defer mu.Unlock(); return ended > 0 })
		r.stop(t) // hangs past hangTimeout if ShardEnded is retried
		mu.Lock()
		defer mu.Unlock()
		if shutdowns != 1 {
			t.Errorf("ShutdownRequested called %d times, want 1", shutdowns)
		}
		l := mustGet(t, r.w.store, "shardId-000000000000")
		if l.owner != "" {
			t.Errorf("lease still owned by %q", l.owner)
		}
		if l.checkpoint != last {
			t.Errorf("checkpoint %v, want the last record %v", l.checkpoint, last)
		}
	})
}

// TestEvictAfterShutdownTimeout: leases are released even when the
// graceful shutdown timed out.
func TestEvictAfterShutdownTimeout(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 1)
		started := make(chan struct{})
		var once sync.Once
		cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A", ShutdownTimeout: 1}
		fastTiming(&cfg)
		cfg.CallProcessRecordsEvenForEmptyRecordList = true
		cfg.Processor = ProcessorFunc(func(ctx context.Context, in ProcessRecordsInput) {
			once.Do(func() { close(started) })
			<-ctx.Done() // stuck until the shutdown gives up on it
		})
		r := e.startWorker(t, cfg)
		<-started
		r.stop(t)
		if l := mustGet(t, r.w.store, "shardId-000000000000"); l == nil || l.owner != "" {
			t.Errorf("lease %+v still owned after the shutdown", l)
		}
	})
}
