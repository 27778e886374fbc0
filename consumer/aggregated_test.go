package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/producer"
)

// stepProcessor hands every batch to a test function.
type stepProcessor struct {
	batch    func(ctx context.Context, in ProcessRecordsInput)
	shutdown func(ctx context.Context, in ShutdownRequestedInput)
}

func (p *stepProcessor) Initialize(context.Context, InitializeInput) {}
func (p *stepProcessor) ProcessRecords(ctx context.Context, in ProcessRecordsInput) {
	p.batch(ctx, in)
}
func (p *stepProcessor) ShardEnded(ctx context.Context, in ShardEndedInput) {
	_ = in.Checkpointer.Checkpoint(ctx)
}
func (p *stepProcessor) LeaseLost(context.Context, LeaseLostInput) {}
func (p *stepProcessor) ShutdownRequested(ctx context.Context, in ShutdownRequestedInput) {
	if p.shutdown != nil {
		p.shutdown(ctx, in)
	}
}

// TestAggregatedSubSequenceCheckpoint: KPL records are de-aggregated with
// sub-sequence numbers; a checkpoint inside an aggregated record resumes
// with the next user record of that same record after a restart.
func TestAggregatedSubSequenceCheckpoint(t *testing.T) {
	t.Parallel()
	retrievals(t, func(t *testing.T, e *env, rt Retrieval) {
		ctx := context.Background()
		stream := e.createStream(t, 1)
		p, err := producer.New(e.kin, stream, producer.WithAggregation(true), producer.WithRecordMaxBufferedTime(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		const total = 200
		for i := range total {
			if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprintf("k%d", i%7), Data: fmt.Appendf(nil, "%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}

		app := uniqueName(t)
		var (
			mu         sync.Mutex
			first      []Record
			checkpoint Record
			checked    bool
		)
		cfg := Config{AppName: app, Stream: stream, WorkerID: "first", Retrieval: rt}
		fastTiming(&cfg)
		cfg.Processor = ProcessorFactoryFunc(func(string) Processor {
			return &stepProcessor{batch: func(ctx context.Context, in ProcessRecordsInput) {
				mu.Lock()
				defer mu.Unlock()
				first = append(first, in.Records...)
				if checked {
					return
				}
				// Checkpoint at the first user record with a sub-sequence
				// number above 0 and below its record's last.
				for i, r := range in.Records {
					if r.SubSequenceNumber > 0 && i+1 < len(in.Records) && in.Records[i+1].SequenceNumber == r.SequenceNumber {
						if err := in.Checkpointer.CheckpointRecord(ctx, r); err != nil {
							t.Errorf("CheckpointRecord: %v", err)
						}
						checkpoint, checked = r, true
						// The KCL's validation.
						last := in.Records[len(in.Records)-1]
						if err := in.Checkpointer.CheckpointAt(ctx, last.SequenceNumber, last.SubSequenceNumber+1); !errors.Is(err, ErrInvalidCheckpoint) {
							t.Errorf("checkpoint beyond what was delivered: %v", err)
						}
						if err := in.Checkpointer.CheckpointAt(ctx, r.SequenceNumber, r.SubSequenceNumber-1); !errors.Is(err, ErrInvalidCheckpoint) {
							t.Errorf("checkpoint before the checkpoint: %v", err)
						}
						if err := in.Checkpointer.CheckpointAt(ctx, "12x", 0); !errors.Is(err, ErrInvalidCheckpoint) {
							t.Errorf("checkpoint at a non-number: %v", err)
						}
						return
					}
				}
			}}
		})
		w := e.startWorker(t, cfg)
		waitFor(t, "all user records delivered", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(first) >= total
		})
		w.stop(t)
		mu.Lock()
		if !checked {
			t.Fatalf("no aggregated record with several user records among %d records", len(first))
		}
		aggregated := 0
		for _, r := range first {
			if r.Aggregated {
				aggregated++
			}
		}
		if aggregated != total {
			t.Errorf("%d of %d records came out of aggregated records", aggregated, total)
		}
		var want []Record
		for i, r := range first {
			if r.Position() == checkpoint.Position() {
				want = first[i+1:]
			}
		}
		mu.Unlock()

		var second []Record
		cfg.WorkerID = "second"
		cfg.Processor = ProcessorFactoryFunc(func(string) Processor {
			return &stepProcessor{batch: func(ctx context.Context, in ProcessRecordsInput) {
				mu.Lock()
				defer mu.Unlock()
				second = append(second, in.Records...)
			}}
		})
		e.startWorker(t, cfg)
		waitFor(t, "the rest delivered again", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(second) >= len(want)
		})
		mu.Lock()
		defer mu.Unlock()
		if second[0].Position() != (ExtendedSequenceNumber{SequenceNumber: checkpoint.SequenceNumber, SubSequenceNumber: checkpoint.SubSequenceNumber + 1}) {
			t.Errorf("resumed at %v, want the user record after %v", second[0].Position(), checkpoint.Position())
		}
		for i := range want {
			if i >= len(second) || second[i].Position() != want[i].Position() || string(second[i].Data) != string(want[i].Data) {
				t.Fatalf("record %d after the restart differs", i)
			}
		}
	})
}
