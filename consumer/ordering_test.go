package consumer

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// newTestWorker is a worker on e's stream and a fresh lease table, not
// running: the tests call its steps directly.
func newTestWorker(t *testing.T, e *env, stream string) *Worker {
	t.Helper()
	cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A", Kinesis: e.kin, DynamoDB: e.ddb, Logger: testLogger(t), Processor: ProcessorFunc(func(context.Context, ProcessRecordsInput) {})}
	fastTiming(&cfg)
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.ensureTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

// mergeTwo merges the two shards of a new stream and returns the stream
// and the child's id.
func mergeTwo(t *testing.T, e *env) (string, string) {
	t.Helper()
	stream := e.createStream(t, 2)
	ctx := context.Background()
	if _, err := e.kin.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: &stream, ShardToMerge: aws.String("shardId-000000000000"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, stream)
	out, err := e.kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Shards {
		if s.AdjacentParentShardId != nil {
			return stream, aws.ToString(s.ShardId)
		}
	}
	t.Fatal("no merged shard listed")
	return "", ""
}

// TestMergeChildWaitsForOtherParentLease: when one parent of a merge ends
// while the other has no lease yet, the child's lease is not created; it
// is once both parents have leases.
func TestMergeChildWaitsForOtherParentLease(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream, child := mergeTwo(t, e)
		w := newTestWorker(t, e, stream)
		ctx := context.Background()
		p0 := &lease{key: "shardId-000000000000", checkpoint: ShardEnd}
		mustCreate(t, w.store, p0)
		kids := []types.ChildShard{{ShardId: &child, ParentShards: []string{"shardId-000000000000", "shardId-000000000001"}}}
		if err := w.createChildren(ctx, p0, kids); err != nil {
			t.Fatal(err)
		}
		if l := mustGet(t, w.store, child); l != nil {
			t.Fatalf("child lease created while the other parent has none: %+v", l)
		}
		if got := mustGet(t, w.store, p0.key).children; len(got) != 1 || got[0] != child {
			t.Errorf("children recorded %v, want [%s]", got, child)
		}
		p1 := &lease{key: "shardId-000000000001", checkpoint: TrimHorizon}
		mustCreate(t, w.store, p1)
		if err := w.createChildren(ctx, p1, kids); err != nil {
			t.Fatal(err)
		}
		if l := mustGet(t, w.store, child); l == nil || l.checkpoint != TrimHorizon {
			t.Fatalf("child lease %+v, want one at TRIM_HORIZON once both parents have leases", l)
		}
	})
}

// TestChildWaitsForUnleasedParent: a child lease that exists while a
// listed parent has none (made by an older version) does not start: the
// parent gets a lease and the child waits for its SHARD_END.
func TestChildWaitsForUnleasedParent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream, child := mergeTwo(t, e)
		w := newTestWorker(t, e, stream)
		p0 := &lease{key: "shardId-000000000000", checkpoint: ShardEnd}
		mustCreate(t, w.store, p0)
		cl := &lease{key: child, checkpoint: TrimHorizon, parents: []string{"shardId-000000000000", "shardId-000000000001"}}
		mustCreate(t, w.store, cl)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan bool, 1)
		go func() { done <- w.waitParents(ctx, cl) }()
		var p1 *lease
		waitFor(t, "the other parent's lease", func() bool {
			select {
			case <-done:
				t.Fatal("the child started before its unleased parent was read")
			default:
			}
			p1 = mustGet(t, w.store, "shardId-000000000001")
			return p1 != nil
		})
		if p1.checkpoint != TrimHorizon {
			t.Errorf("parent lease at %v, want TRIM_HORIZON", p1.checkpoint)
		}
		select {
		case <-done:
			t.Fatal("the child started before its parent's SHARD_END")
		default:
		}
		if err := w.store.checkpoint(ctx, p1.key, "", p1.counter, ShardEnd); err != nil {
			t.Fatal(err)
		}
		if !<-done {
			t.Fatal("waitParents gave up")
		}
	})
}
