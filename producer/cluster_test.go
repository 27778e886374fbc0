package producer_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/internal/testcluster"
	"github.com/rivulet/rivulet/producer"
)

// TestClusterNodeLoss: a producer on a failover client over three nodes
// delivers every record while the node it uses stops mid-run, and every
// record it reported delivered reads back from the survivors.
func TestClusterNodeLoss(t *testing.T) {
	nodes := testcluster.Start(t, 3)
	urls := testcluster.URLs(nodes)
	logger := testcluster.Logger(t)
	e, cfg := testcluster.Failover(t, nodes)
	kc := e.Kinesis(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	stream := "produced"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitActive(ctx, t, kc, stream)

	// A generous TTL: with two nodes live every record must get through.
	p := newProducer(t, kc, stream, producer.WithRecordTTL(hangTimeout), producer.WithLogger(logger),
		producer.WithRecordMaxBufferedTime(20*time.Millisecond))
	// Node 0, the one in use, stops once the first records are delivered;
	// puts go on through its shutdown and for a while after it.
	const lossAt, after = 1000, 1500
	var futs []*producer.Future
	closed := make(chan struct{})
	afterAt := -1
	for i := 0; afterAt < 0 || i < afterAt+after; i++ {
		if i == lossAt {
			if _, err := futs[i-1].Wait(ctx); err != nil {
				t.Fatalf("record %d: %v", i-1, err)
			}
			go func() {
				defer close(closed)
				if err := nodes[0].Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
		}
		if afterAt < 0 && i > lossAt {
			select {
			case <-closed:
				afterAt = i
			default:
			}
		}
		f, err := p.Put(ctx, producer.Record{PartitionKey: "pk-" + strconv.Itoa(i), Data: payload(i, 100)})
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		futs = append(futs, f)
		if i%10 == 0 {
			time.Sleep(5 * time.Millisecond) // spread the puts over the loss
		}
	}
	n := len(futs)
	res := results(t, futs)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Current() == urls[0] {
		t.Errorf("still on the stopped node %s", urls[0])
	}
	failed := 0
	for i, r := range res {
		if r.Err != nil {
			failed++
			t.Errorf("record %d failed with two nodes live: %v", i, r.Err)
			if failed > 5 {
				t.FailNow()
			}
		}
	}

	// Every delivered record reads back where its Result says; a retried
	// call may have stored some twice.
	type at struct {
		shard, seq string
		sub        uint64
	}
	where := map[int]map[at]bool{}
	for _, u := range packageUsers(t, readStream(t, kc, stream)) {
		if where[u.id] == nil {
			where[u.id] = map[at]bool{}
		}
		where[u.id][at{u.shard, u.seq, u.sub}] = true
	}
	dups, attempts := 0, 0
	for i, r := range res {
		if r.Err != nil {
			continue
		}
		attempts += r.Attempts
		if !where[i][at{r.ShardID, r.SequenceNumber, r.SubSequenceNumber}] {
			t.Errorf("record %d: reported at %s/%s/%d, read at %v", i, r.ShardID, r.SequenceNumber, r.SubSequenceNumber, where[i])
		}
		dups += len(where[i]) - 1
	}
	t.Logf("%d records delivered (%d put during the shutdown, %d after it), %d PutRecords carryings, %d duplicates read back; stats %+v",
		n-failed, afterAt-lossAt, n-afterAt, attempts, dups, p.Stats())
}
