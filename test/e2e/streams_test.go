package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// createStream creates a provisioned stream and waits until it is ACTIVE.
func createStream(ctx context.Context, t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	if err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	waitActive(ctx, t, c, name)
}

// waitActive polls DescribeStreamSummary until the stream is ACTIVE.
func waitActive(ctx context.Context, t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, hangTimeout)
	defer cancel()
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s not ACTIVE in time (last error %v)", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// listShards returns every shard of the stream, following NextToken.
func listShards(ctx context.Context, t *testing.T, c *kinesis.Client, name string) []types.Shard {
	t.Helper()
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatalf("ListShards %s: %v", name, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// readRecord is one record as read back, with the shard it came from.
type readRecord struct {
	Shard, Seq, PartitionKey, Data string
}

// readAll reads every shard from TRIM_HORIZON to its end. A shard is done
// when the consumer is caught up and three calls in a row return nothing,
// which also shows the server does not hand the same records out again.
func readAll(ctx context.Context, t *testing.T, c *kinesis.Client, name string) []readRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var all []readRecord
	for _, sh := range listShards(ctx, t, c, name) {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName:        aws.String(name),
			ShardId:           sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", *sh.ShardId, err)
		}
		iter := it.ShardIterator
		empty := 0
		for iter != nil && empty < 3 {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				var thr *types.ProvisionedThroughputExceededException
				if errors.As(err, &thr) && ctx.Err() == nil {
					time.Sleep(250 * time.Millisecond)
					continue
				}
				t.Fatalf("GetRecords %s: %v", *sh.ShardId, err)
			}
			for _, r := range out.Records {
				all = append(all, readRecord{
					Shard:        *sh.ShardId,
					Seq:          aws.ToString(r.SequenceNumber),
					PartitionKey: aws.ToString(r.PartitionKey),
					Data:         string(r.Data),
				})
			}
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				empty++
			} else {
				empty = 0
			}
			iter = out.NextShardIterator
			// AWS allows 5 GetRecords calls per second per shard.
			time.Sleep(200 * time.Millisecond)
		}
	}
	return all
}

// ackedRecord is a record whose put returned a sequence number.
type ackedRecord struct {
	Shard, Seq, PartitionKey, Data string
}

// seqLess orders decimal sequence numbers without big-number parsing.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// verifyDurable checks that every acknowledged record was read back exactly
// once, with its shard, key and data, and that anything else read was a
// put whose outcome the writer never learned (in flight at a crash).
func verifyDurable(t *testing.T, acked []ackedRecord, unacked map[string]bool, read []readRecord) {
	t.Helper()
	bySeq := make(map[string]readRecord, len(read))
	byData := make(map[string]int, len(read))
	last := make(map[string]string) // shard -> last sequence number read
	for _, r := range read {
		if _, dup := bySeq[r.Shard+"/"+r.Seq]; dup {
			t.Errorf("sequence number %s read twice on %s", r.Seq, r.Shard)
		}
		bySeq[r.Shard+"/"+r.Seq] = r
		byData[r.Data]++
		if prev, ok := last[r.Shard]; ok && !seqLess(prev, r.Seq) {
			t.Errorf("%s: sequence number %s read after %s", r.Shard, r.Seq, prev)
		}
		last[r.Shard] = r.Seq
	}
	ackedData := make(map[string]bool, len(acked))
	missing := 0
	for _, a := range acked {
		ackedData[a.Data] = true
		r, ok := bySeq[a.Shard+"/"+a.Seq]
		if !ok {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged record %s on %s (data %.40q) not read back", a.Seq, a.Shard, a.Data)
			}
			continue
		}
		if r.Data != a.Data || r.PartitionKey != a.PartitionKey {
			t.Errorf("record %s: read (%q, %.40q), put (%q, %.40q)", a.Seq, r.PartitionKey, r.Data, a.PartitionKey, a.Data)
		}
		if n := byData[a.Data]; n != 1 {
			t.Errorf("acknowledged data %.40q read %d times", a.Data, n)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged records lost", missing, len(acked))
	}
	for _, r := range read {
		if ackedData[r.Data] {
			continue
		}
		if !unacked[r.Data] {
			t.Errorf("read a record nobody put: %s on %s (data %.40q)", r.Seq, r.Shard, r.Data)
		} else if byData[r.Data] != 1 {
			t.Errorf("unacknowledged data %.40q read %d times", r.Data, byData[r.Data])
		}
	}
}

// verifyKeyOrder checks that puts made one after another with the same
// partition key got increasing sequence numbers.
func verifyKeyOrder(t *testing.T, acked []ackedRecord) {
	t.Helper()
	last := make(map[string]string)
	for _, a := range acked {
		if prev, ok := last[a.PartitionKey]; ok && !seqLess(prev, a.Seq) {
			t.Errorf("key %s: sequence number %s acknowledged after %s", a.PartitionKey, a.Seq, prev)
		}
		last[a.PartitionKey] = a.Seq
	}
}

// verifySeqAdvances puts one record into each shard of a restarted stream
// and checks its sequence number is above everything stored before: a
// restart must not reuse or rewind sequence numbers.
func verifySeqAdvances(ctx context.Context, t *testing.T, c *kinesis.Client, name string, read []readRecord) {
	t.Helper()
	maxSeq := make(map[string]string)
	for _, r := range read {
		if seqLess(maxSeq[r.Shard], r.Seq) {
			maxSeq[r.Shard] = r.Seq
		}
	}
	for _, sh := range listShards(ctx, t, c, name) {
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{
			StreamName:      aws.String(name),
			PartitionKey:    aws.String("after-restart"),
			ExplicitHashKey: sh.HashKeyRange.StartingHashKey,
			Data:            []byte("after restart"),
		})
		if err != nil {
			t.Fatalf("PutRecord after restart: %v", err)
		}
		if got := aws.ToString(out.ShardId); got != aws.ToString(sh.ShardId) {
			t.Errorf("ExplicitHashKey %s went to %s, want %s", aws.ToString(sh.HashKeyRange.StartingHashKey), got, aws.ToString(sh.ShardId))
			continue
		}
		if prev := maxSeq[*sh.ShardId]; prev != "" && !seqLess(prev, aws.ToString(out.SequenceNumber)) {
			t.Errorf("%s: new sequence number %s is not above %s stored before the restart", *sh.ShardId, aws.ToString(out.SequenceNumber), prev)
		}
	}
}
