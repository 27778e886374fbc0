package consumer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/testcluster"
)

// processed is the set of record payloads a worker processed.
type processed struct {
	mu   sync.Mutex
	seen map[string]int
}

func (p *processed) missing(want []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, w := range want {
		if p.seen[w] == 0 {
			out = append(out, w)
		}
	}
	return out
}

// TestClusterNodeLoss: a worker whose Kinesis and lease-table clients
// fail over goes on processing while the node they use stops; every
// record put before and after is processed at least once.
func TestClusterNodeLoss(t *testing.T) {
	nodes := testcluster.Start(t, 3)
	urls := testcluster.URLs(nodes)
	logger := testcluster.Logger(t)
	e, cfg := testcluster.Failover(t, nodes)
	kc, ddb := e.Kinesis(cfg), e.DynamoDB(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stream := "consumed"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitActive(ctx, t, kc, stream)
	put := func(prefix string, n int) []string {
		var want []string
		var entries []types.PutRecordsRequestEntry
		for i := range n {
			data := fmt.Sprintf("%s-%d", prefix, i)
			want = append(want, data)
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(data), Data: []byte(data)})
		}
		for len(entries) > 0 {
			out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
			if err != nil {
				t.Fatalf("PutRecords with two nodes live: %v", err)
			}
			var again []types.PutRecordsRequestEntry
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					again = append(again, entries[i])
				}
			}
			entries = again
		}
		return want
	}
	before := put("before", 200)

	got := &processed{seen: map[string]int{}}
	w, err := consumer.New(consumer.Config{
		AppName:         "failover-app",
		Stream:          stream,
		Kinesis:         kc,
		DynamoDB:        ddb,
		InitialPosition: consumer.InitialPosition{Type: consumer.SentinelTrimHorizon},
		Retrieval:       consumer.Polling{IdleTimeBetweenReads: 100 * time.Millisecond, MinCallInterval: -1},
		FailoverTime:    3 * time.Second,
		Logger:          logger,
		Processor: consumer.ProcessorFunc(func(ctx context.Context, in consumer.ProcessRecordsInput) {
			got.mu.Lock()
			for _, r := range in.Records {
				got.seen[string(r.Data)]++
			}
			got.mu.Unlock()
			if err := in.Checkpointer.Checkpoint(ctx); err != nil {
				logger.Warn("checkpoint", "err", err) // at least once: the records come again
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitProcessed := func(what string, want []string) {
		for {
			miss := got.missing(want)
			if len(miss) == 0 {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: %d records never processed, such as %q", what, len(miss), miss[0])
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitProcessed("before the loss", before)

	// Node 0, the one in use, stops while records are put and read.
	lost := make(chan struct{})
	go func() {
		defer close(lost)
		if err := nodes[0].Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	during := put("during", 200)
	<-lost
	after := put("after", 200)
	waitProcessed("during the loss", during)
	waitProcessed("after the loss", after)
	if e.Current() == urls[0] {
		t.Errorf("still on the stopped node %s", urls[0])
	}
	got.mu.Lock()
	again := 0
	for _, n := range got.seen {
		again += n - 1
	}
	t.Logf("%d records processed, %d of them more than once", len(got.seen), again)
	got.mu.Unlock()
}
