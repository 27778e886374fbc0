package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestTwoServersShareOneNATS runs two `rivulet serve` processes on one
// NATS: the first exposes its embedded NATS with --nats-listen, the second
// uses it with --nats-url. Whatever one does, the other sees: streams,
// records, iterators and page tokens, and conflicting changes are decided
// in storage.
func TestTwoServersShareOneNATS(t *testing.T) {
	ctx := context.Background()
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	a := startServer(t, serverOptions{extra: []string{"--nats-listen", natsAddr}})
	b := startServer(t, serverOptions{extra: []string{"--nats-url", "nats://" + natsAddr}})
	ca, cb := a.kinesis(), b.kinesis()

	// Created on A, ACTIVE on B.
	if _, err := ca.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("shared"), ShardCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, cb, "shared")

	// Both write concurrently; every acknowledged record must be readable
	// through either server, exactly once, in order per shard.
	var (
		mu    sync.Mutex
		acked []ackedRecord
		wg    sync.WaitGroup
	)
	for w, c := range []*kinesis.Client{ca, cb, ca, cb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				pk, data := fmt.Sprintf("w%d-k%d", w, i%7), fmt.Sprintf("w%d-%d", w, i)
				out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("shared"), PartitionKey: &pk, Data: []byte(data)})
				if err != nil {
					t.Errorf("PutRecord: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, ackedRecord{Shard: *out.ShardId, Seq: *out.SequenceNumber, PartitionKey: pk, Data: data})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range []*kinesis.Client{ca, cb} {
		verifyDurable(t, acked, nil, readAll(ctx, t, c, "shared"))
	}
	verifyKeyOrder(t, acked)

	// An iterator from A reads on B.
	it, err := ca.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("shared"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cb.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(got.Records) == 0 {
		t.Fatalf("iterator from A on B: %d records, %v", len(got.Records), err)
	}

	// A ListShards page token from B continues on A.
	page, err := cb.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shared"), MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("ListShards page: %v", err)
	}
	rest, err := ca.ListShards(ctx, &kinesis.ListShardsInput{NextToken: page.NextToken})
	if err != nil || len(rest.Shards) != 2 || *rest.Shards[0].ShardId != "shardId-000000000001" {
		t.Fatalf("token from B on A: %+v %v", rest, err)
	}

	// Racing creates of one name: storage's compare-and-swap lets exactly
	// one win.
	var wins, inUse int
	var rmu sync.Mutex
	for round := 0; round < 5; round++ {
		name := fmt.Sprintf("race-%d", round)
		var rg sync.WaitGroup
		for _, c := range []*kinesis.Client{ca, cb, ca, cb} {
			rg.Add(1)
			go func() {
				defer rg.Done()
				_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(1)})
				var riu *types.ResourceInUseException
				rmu.Lock()
				defer rmu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.As(err, &riu):
					inUse++
				default:
					t.Errorf("CreateStream: %v", err)
				}
			}()
		}
		rg.Wait()
	}
	if wins != 5 || inUse != 15 {
		t.Fatalf("racing creates: %d won, %d ResourceInUse; want 5 and 15", wins, inUse)
	}

	// Deleted on B, gone on A.
	if _, err := cb.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangTimeout)
	for {
		_, err := ca.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("shared")})
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream deleted on B still exists on A: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.stop(t)
	a.stop(t)
}
