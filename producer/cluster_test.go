package producer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	rivuletsrv "github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/failover"
	"github.com/rivulet/rivulet/producer"
)

// clusterWait bounds every wait on the cluster: forming it and moving
// leaders take seconds under -race on two cores.
const clusterWait = 90 * time.Second

// freePorts returns n loopback ports nobody listened on a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// clusterNode is one started cluster member; close stops it once.
type clusterNode struct {
	srv  *rivuletsrv.Server
	once sync.Once
}

func (n *clusterNode) close(t *testing.T) {
	n.once.Do(func() {
		if err := n.srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// startCluster starts three nodes at once: each waits in Start until the
// others have joined.
func startCluster(t *testing.T) []*clusterNode {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	nodes := make([]*clusterNode, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		cfg := rivuletsrv.Config{
			DataDir: t.TempDir(),
			Cluster: rivuletsrv.Cluster{
				Name: "test", Node: fmt.Sprintf("n%d", i),
				Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
				Wait: clusterWait,
			},
		}
		wg.Go(func() {
			srv, err := rivuletsrv.Start(context.Background(), cfg)
			if err == nil {
				nodes[i] = &clusterNode{srv: srv}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, n := range nodes {
		if n != nil {
			t.Cleanup(func() { n.close(t) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// TestClusterNodeLoss: a producer on a failover client over three nodes
// delivers every record while the node it uses stops mid-run, and every
// record it reported delivered reads back from the survivors.
func TestClusterNodeLoss(t *testing.T) {
	nodes := startCluster(t)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.srv.Endpoint())
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := failover.New(urls, failover.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.CloseIdleConnections)
	kc := e.Kinesis(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	stream := "produced"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	streamActive(ctx, t, kc, stream)

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
				nodes[0].close(t)
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

// streamActive waits until the stream is ACTIVE. A cluster node has been
// seen to answer ResourceNotFoundException just after a CreateStream it
// acknowledged (once, under -race), so that answer is waited out too, and
// logged.
func streamActive(ctx context.Context, t *testing.T, kc *kinesis.Client, stream string) {
	t.Helper()
	deadline := time.Now().Add(clusterWait)
	for {
		out, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		var nf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Fatal(err)
		}
		if err != nil {
			t.Logf("stream %s not found yet after CreateStream: %v", stream, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not ACTIVE after %v: %v", stream, clusterWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
