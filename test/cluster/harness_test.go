package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// harnessEventually retries f until it succeeds or HarnessWait passes: right
// after a fault, requests fail until leaders move.
func harnessEventually(t testing.TB, what string, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(HarnessWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, HarnessWait, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// shardIDs lists a stream's shards through one node.
func (n *Node) shardIDs(ctx context.Context, stream string) ([]string, error) {
	out, err := n.Kinesis().ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range out.Shards {
		ids = append(ids, aws.ToString(s.ShardId))
	}
	slices.Sort(ids)
	return ids, nil
}

// createStream creates a stream through n and waits until it is ACTIVE
// and every running node of c lists the same shards.
func (c *Cluster) createStream(t testing.TB, n *Node, stream string, shards int32) []string {
	t.Helper()
	harnessEventually(t, "CreateStream", func(ctx context.Context) error {
		_, err := n.Kinesis().CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)})
		if err != nil && strings.Contains(err.Error(), "ResourceInUseException") {
			return nil // a retry of a create that went through
		}
		return err
	})
	harnessEventually(t, "stream ACTIVE", func(ctx context.Context) error {
		out, err := n.Kinesis().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			return err
		}
		if st := out.StreamDescriptionSummary.StreamStatus; st != "ACTIVE" {
			return fmt.Errorf("status %s", st)
		}
		return nil
	})
	return c.sameShards(t, stream, int(shards))
}

// sameShards waits until every running node lists the same want open or
// closed shards of stream, and returns them.
func (c *Cluster) sameShards(t testing.TB, stream string, want int) []string {
	t.Helper()
	var ids []string
	harnessEventually(t, "ListShards on every node", func(ctx context.Context) error {
		ids = nil
		for _, n := range c.Running() {
			got, err := n.shardIDs(ctx, stream)
			if err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			if want > 0 && len(got) != want {
				return fmt.Errorf("%s lists %d shards, want %d", n.Name, len(got), want)
			}
			if ids != nil && !slices.Equal(got, ids) {
				return fmt.Errorf("%s lists %v, another node %v", n.Name, got, ids)
			}
			ids = got
		}
		return nil
	})
	return ids
}

// shardLeader finds the node leading some shard log ("KDS_…") of the
// cluster.
func (c *Cluster) shardLeader(t testing.TB) (*Node, string) {
	t.Helper()
	var js string
	harnessEventually(t, "a shard log in /admin/cluster", func(ctx context.Context) error {
		cs, err := c.Running()[0].Status(ctx)
		if err != nil {
			return err
		}
		for name := range cs.Leaders {
			if strings.HasPrefix(name, "KDS_") {
				js = name
				return nil
			}
		}
		return fmt.Errorf("no KDS_ stream in %v", cs.Leaders)
	})
	ctx, cancel := context.WithTimeout(context.Background(), HarnessWait)
	defer cancel()
	l, err := c.LeaderOf(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return l, js
}

// TestHarness checks the harness itself: three processes form a cluster,
// every node serves the same stream, and a killed shard leader comes back
// on its data directory and ports.
func TestHarness(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), HarnessWait)
	defer cancel()
	if err := c.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	const stream = "harness"
	shards := c.createStream(t, c.Nodes[0], stream, 2)
	t.Logf("shards %v on every node", shards)

	leader, js := c.shardLeader(t)
	t.Logf("%s leads %s; kill -9", leader.Name, js)
	leader.Kill9(t)
	if leader.Running() {
		t.Fatal("killed node still running")
	}
	if got := len(c.Endpoints()); got != 2 {
		t.Fatalf("%d endpoints with one node down, want 2", got)
	}
	// The survivors still serve the stream.
	c.sameShards(t, stream, 2)

	leader.Start(t)
	if err := c.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	c.sameShards(t, stream, 2)
	harnessEventually(t, "PutRecord on every node", func(ctx context.Context) error {
		for _, n := range c.Nodes {
			if _, err := n.Kinesis().PutRecord(ctx, &kinesis.PutRecordInput{
				StreamName: aws.String(stream), PartitionKey: aws.String(n.Name), Data: []byte("after restart"),
			}); err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
		}
		return nil
	})
	meta, err := c.MetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("meta leader %s", meta.Name)
	for _, n := range c.Nodes {
		n.Stop(t)
	}
}
