package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestOnDemandScaling drives load at one shard of an ON_DEMAND stream until
// the server splits it, then stops and waits for a cold pair to be merged
// back to the four-shard minimum. The thresholds are lowered by flags so
// the test takes seconds, not AWS's minutes.
func TestOnDemandScaling(t *testing.T) {
	s := startServer(t, serverOptions{extra: []string{
		"--reshard-delay", "100ms", "--ondemand-split-after", "1s", "--ondemand-merge-after", "2s",
		"--ondemand-hot-records", "200",
	}})
	c := s.kinesis()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, c, "od")
	if n := len(listShards(ctx, t, c, "od")); n != 4 {
		t.Fatalf("ON_DEMAND stream starts with %d shards, want 4", n)
	}

	// Hash key 0 always lands in the lowest open shard: shard 0, then its
	// first child.
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		entries := make([]types.PutRecordsRequestEntry, 100)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("hot"), ExplicitHashKey: aws.String("0"), Data: []byte("x")}
		}
		for !stop.Load() {
			if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("od"), Records: entries}); err != nil {
				t.Errorf("PutRecords: %v", err)
				return
			}
		}
	}()
	split := waitShards(t, c, "od", hangTimeout, func(open, all []types.Shard) bool { return len(all) > 4 })
	stop.Store(true)
	<-done
	var child *types.Shard
	for i, sh := range split {
		if aws.ToString(sh.ParentShardId) == "shardId-000000000000" {
			child = &split[i]
		}
	}
	if child == nil {
		t.Fatalf("shard 0 was not split: %+v", split)
	}

	// Quiet now: five open shards, so a cold adjacent pair is merged.
	merged := waitShards(t, c, "od", hangTimeout, func(open, all []types.Shard) bool {
		for _, sh := range all {
			if sh.AdjacentParentShardId != nil {
				return len(open) == 4
			}
		}
		return false
	})
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("od")})
	if err != nil || aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount) != 4 {
		t.Fatalf("after merging: %v %v (%d shards)", sum, err, len(merged))
	}
}

// waitShards polls ListShards until cond holds for (open, all) shards.
func waitShards(t *testing.T, c *kinesis.Client, name string, limit time.Duration, cond func(open, all []types.Shard) bool) []types.Shard {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		all := listShards(context.Background(), t, c, name)
		var open []types.Shard
		for _, sh := range all {
			if sh.SequenceNumberRange.EndingSequenceNumber == nil {
				open = append(open, sh)
			}
		}
		if cond(open, all) {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards of %s did not reach the expected state in %v: %d open of %d", name, limit, len(open), len(all))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
