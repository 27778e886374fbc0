package rivulet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/testcluster"
)

// eventually retries f until it succeeds or testcluster.Wait passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(testcluster.Wait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, testcluster.Wait, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// acked is what PutRecords acknowledged, by shard then sequence number.
type acked map[string]map[string]string

// putSome writes n records through c, retrying a failed call, and notes
// every acknowledged one.
func putSome(t *testing.T, c *kinesis.Client, stream, prefix string, n int, got acked) {
	t.Helper()
	ctx := context.Background()
	var entries []types.PutRecordsRequestEntry
	for i := range n {
		entries = append(entries, types.PutRecordsRequestEntry{
			PartitionKey: aws.String(fmt.Sprintf("key-%d", i)), Data: fmt.Appendf(nil, "%s-%d", prefix, i),
		})
	}
	for len(entries) > 0 {
		var out *kinesis.PutRecordsOutput
		eventually(t, "PutRecords", func() (err error) {
			out, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
			return err
		})
		var retry []types.PutRecordsRequestEntry
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				retry = append(retry, entries[i])
				continue
			}
			if got[*r.ShardId] == nil {
				got[*r.ShardId] = map[string]string{}
			}
			got[*r.ShardId][*r.SequenceNumber] = string(entries[i].Data)
		}
		entries = retry
	}
}

// checkReadable waits until every acknowledged record reads back through
// c, each under its own sequence number.
func checkReadable(t *testing.T, c *kinesis.Client, stream string, want acked) {
	t.Helper()
	for shard, recs := range want {
		eventually(t, "read "+shard, func() error {
			got, err := testcluster.ReadShard(context.Background(), c, stream, shard)
			if err != nil {
				return err
			}
			for seq, data := range recs {
				if got[seq] != data {
					return fmt.Errorf("record %s: got %q, want %q (%d read)", seq, got[seq], data, len(got))
				}
			}
			return nil
		})
	}
}

func TestClusterThreeNodes(t *testing.T) {
	nodes := testcluster.Start(t, 3)
	a := client(t, nodes[0].Endpoint(), nil)
	b := client(t, nodes[1].Endpoint(), nil)
	c := client(t, nodes[2].Endpoint(), nil)
	ctx := context.Background()
	const stream = "clustered"

	if _, err := a.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	want := acked{}
	putSome(t, b, stream, "first", 40, want)
	if len(want) != 2 {
		t.Fatalf("records went to %d shards, want 2", len(want))
	}
	checkReadable(t, c, stream, want)

	// A clean stop of C: the leaders it held move to A or B.
	if err := nodes[2].Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	putSome(t, a, stream, "after-a", 20, want)
	putSome(t, b, stream, "after-b", 20, want)
	checkReadable(t, a, stream, want)
	checkReadable(t, b, stream, want)

	// Two live nodes cannot hold a new stream's three replicas.
	_, err := a.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("unplaced"), ShardCount: aws.Int32(1)})
	checkTooFewNodes(t, err)

	// Nor a reshard's new shards: it is refused before any parent
	// closes, and the stream stays ACTIVE and writable.
	_, err = b.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
		StreamName: aws.String(stream), TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling,
	})
	checkTooFewNodes(t, err)
	_, err = a.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String(stream), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864"),
	})
	checkTooFewNodes(t, err)
	sum, err := a.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil || sum.StreamDescriptionSummary.StreamStatus != types.StreamStatusActive || aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount) != 2 {
		t.Fatalf("after refused reshards: %+v, %v; want ACTIVE with 2 open shards", sum, err)
	}
	putSome(t, a, stream, "after-refusal", 20, want)
	checkReadable(t, b, stream, want)
}

// checkTooFewNodes wants the clear refusal of a stream the live nodes
// cannot replicate.
func checkTooFewNodes(t *testing.T, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" || !strings.Contains(ae.ErrorMessage(), "fewer live nodes than") {
		t.Fatalf("CreateStream with too few nodes: %v, want LimitExceededException naming the live nodes", err)
	}
	t.Logf("refused as wanted: %s", ae.ErrorMessage())
}

// TestClusterOneNode: one node of three cannot form the cluster, nor
// place its replicated metadata, and Start says so.
func TestClusterOneNode(t *testing.T) {
	var routes []string // ports nobody listens on: the other two never start
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, "nats://"+l.Addr().String())
		l.Close()
	}
	_, err := rivulet.Start(context.Background(), rivulet.Config{
		DataDir: t.TempDir(),
		Cluster: rivulet.Cluster{
			Name: "lone", Node: "n0", Listen: strings.TrimPrefix(routes[0], "nats://"), Routes: routes,
			Wait: 5 * time.Second,
		},
	})
	if err == nil || !strings.Contains(err.Error(), "1 cluster node(s) live") {
		t.Fatalf("Start of one node with 3 replicas: %v, want an error naming the live nodes", err)
	}
	t.Logf("refused as wanted: %v", err)
}
