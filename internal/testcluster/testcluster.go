// Package testcluster starts a Rivulet cluster inside a test's process
// and reads it back: shared by the node-loss tests of the root package,
// failover, producer and consumer.
package testcluster

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/failover"
)

// Wait bounds every wait on a cluster: forming it and moving leaders take
// seconds under -race on two cores.
const Wait = 90 * time.Second

// Start starts n nodes of one cluster on the test's temporary directory,
// stopped when the test ends; Close stops one before.
func Start(t testing.TB, n int) []*rivulet.Server {
	t.Helper()
	nodes, err := rivulet.StartCluster(context.Background(), n, rivulet.Config{DataDir: t.TempDir(), Cluster: rivulet.Cluster{Wait: Wait}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		t.Cleanup(func() { n.Close() })
	}
	return nodes
}

// WaitActive waits until the stream is ACTIVE through kc. A node may not
// know a stream created through another for a moment (docs/CLUSTER.md),
// so ResourceNotFoundException is waited out too, and logged.
func WaitActive(ctx context.Context, t testing.TB, kc *kinesis.Client, stream string) {
	t.Helper()
	deadline := time.Now().Add(Wait)
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
			t.Logf("stream %s not found yet: %v", stream, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not ACTIVE after %v: %v", stream, Wait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ReadShard reads a shard from TRIM_HORIZON to its end as of now: data by
// sequence number.
func ReadShard(ctx context.Context, c *kinesis.Client, stream, shard string) (map[string]string, error) {
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: &stream, ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	iter := it.ShardIterator
	for iter != nil {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			return nil, err
		}
		for _, r := range out.Records {
			got[*r.SequenceNumber] = string(r.Data)
		}
		if aws.ToInt64(out.MillisBehindLatest) == 0 && len(out.Records) == 0 {
			break
		}
		iter = out.NextShardIterator
	}
	return got, nil
}

// URLs are the nodes' endpoints.
func URLs(nodes []*rivulet.Server) []string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.Endpoint())
	}
	return urls
}

// Logger writes warnings and errors to the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Failover is a failover.Endpoints over the nodes, logging its warnings
// to the test, and the static aws.Config its clients take.
func Failover(t testing.TB, nodes []*rivulet.Server) (*failover.Endpoints, aws.Config) {
	t.Helper()
	e, err := failover.New(URLs(nodes), failover.WithLogger(Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.CloseIdleConnections)
	return e, aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}
