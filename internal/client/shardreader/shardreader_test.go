package shardreader

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/aggregation"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server runs Rivulet in-process, in memory.
func server(t *testing.T) *kinesis.Client { return testserver.Client(t, rivulet.Config{}) }

// must stops a test at a failed setup call.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

func waitActive(t *testing.T, kc *kinesis.Client, stream string) {
	t.Helper()
	for deadline := time.Now().Add(hangTimeout); time.Now().Before(deadline); {
		out := must(kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)}))
		if out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("stream not ACTIVE")
}

// put writes records "key:n" for n in [from, to), keys k0..k7.
func put(t *testing.T, kc *kinesis.Client, stream string, from, to int) {
	t.Helper()
	var recs []types.PutRecordsRequestEntry
	for n := from; n < to; n++ {
		k := fmt.Sprintf("k%d", n%8)
		recs = append(recs, types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: []byte(k + ":" + strconv.Itoa(n))})
	}
	out := must(kc.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs}))
	if aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatal("put failed")
	}
}

// TestReadAcrossSplitAndMerge: shard 0 is split into 1 and 2, which are
// merged into 3. Every record is read once, and every key's records in the
// order they were put, which needs the parents-first order.
func TestReadAcrossSplitAndMerge(t *testing.T) {
	kc := server(t)
	ctx := context.Background()
	s := aws.String("sm")
	must(kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: s, ShardCount: aws.Int32(1)}))
	waitActive(t, kc, "sm")
	put(t, kc, "sm", 0, 40)
	mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
	must(kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: s, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}))
	waitActive(t, kc, "sm")
	put(t, kc, "sm", 40, 80)
	must(kc.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: s, ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000002")}))
	waitActive(t, kc, "sm")
	put(t, kc, "sm", 80, 120)

	var got []Record
	var calls atomic.Int64
	err := Read(ctx, kc, Config{Stream: "sm", CallsPerSecond: -1, Limit: 7, OnGetRecords: func(string, time.Duration, error) { calls.Add(1) }},
		func(recs []Record) error {
			got = append(got, recs...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 120 {
		t.Fatalf("read %d records, want 120", len(got))
	}
	last := map[string]int{}
	seen := map[int]bool{}
	for _, r := range got {
		k, v, _ := strings.Cut(string(r.Data), ":")
		n, _ := strconv.Atoi(v)
		if seen[n] {
			t.Fatalf("record %d twice", n)
		}
		seen[n] = true
		if p, ok := last[k]; ok && n < p {
			t.Fatalf("key %s: %d after %d", k, n, p)
		}
		last[k] = n
		wantShard := map[bool]string{true: "shardId-000000000000"}[n < 40]
		if n >= 80 {
			wantShard = "shardId-000000000003"
		}
		if wantShard != "" && r.ShardID != wantShard || r.PartitionKey != k || r.ArrivalTime.IsZero() {
			t.Fatalf("record %d: %+v", n, r)
		}
	}
	if calls.Load() < 120/7 {
		t.Fatalf("%d GetRecords calls with Limit 7", calls.Load())
	}
}

func TestReadLatestAndStop(t *testing.T) {
	kc := server(t)
	ctx := context.Background()
	must(kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("l"), ShardCount: aws.Int32(2)}))
	waitActive(t, kc, "l")
	put(t, kc, "l", 0, 10) // before the reader starts: not read from LATEST

	// Following from LATEST sees records put later; Stop ends it cleanly.
	var got []string
	done := make(chan error, 1)
	started := make(chan struct{})
	var mu sync.Mutex
	polled := map[string]bool{}
	go func() {
		done <- Read(ctx, kc, Config{Stream: "l", From: Latest, Follow: true, IdleWait: 20 * time.Millisecond,
			OnGetRecords: func(shard string, _ time.Duration, _ error) {
				mu.Lock()
				defer mu.Unlock()
				if !polled[shard] {
					if polled[shard] = true; len(polled) == 2 {
						close(started) // both shards hold their LATEST iterator
					}
				}
			}}, func(recs []Record) error {
			for _, r := range recs {
				got = append(got, string(r.Data))
			}
			if len(got) >= 5 {
				return Stop
			}
			return nil
		})
	}()
	<-started
	put(t, kc, "l", 10, 20)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangTimeout):
		t.Fatal("Read did not stop")
	}
	for _, d := range got {
		if n, _ := strconv.Atoi(d[strings.Index(d, ":")+1:]); n < 10 {
			t.Fatalf("read %s from before LATEST", d)
		}
	}

	// A handler error ends the read and comes back, and the handler is not
	// called again although both shards have records.
	boom := errors.New("boom")
	for _, want := range []error{boom, nil} {
		calls := 0
		err := Read(ctx, kc, Config{Stream: "l", CallsPerSecond: -1}, func([]Record) error {
			calls++
			time.Sleep(50 * time.Millisecond) // let the other shard's batch queue up
			if want == nil {
				return Stop
			}
			return want
		})
		if !errors.Is(err, want) || calls != 1 {
			t.Fatalf("handler returning %v: Read returned %v after %d calls", want, err, calls)
		}
	}
	// So does a missing stream.
	err := Read(ctx, kc, Config{Stream: "missing"}, func([]Record) error { return nil })
	if client.ErrorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("missing stream: %v", err)
	}
}

func TestReadAtTimestampAndDeaggregate(t *testing.T) {
	kc := server(t)
	ctx := context.Background()
	must(kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ts"), ShardCount: aws.Int32(1)}))
	waitActive(t, kc, "ts")
	put(t, kc, "ts", 0, 3)
	time.Sleep(50 * time.Millisecond)
	at := time.Now()
	time.Sleep(50 * time.Millisecond)
	blob := aggregation.Encode([]aggregation.Record{{PartitionKey: "a", Data: []byte("one")}, {PartitionKey: "b", Data: []byte("two")}})
	must(kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ts"), PartitionKey: aws.String("a"), Data: blob}))

	var got []Record
	err := Read(ctx, kc, Config{Stream: "ts", From: AtTimestamp(at), Deaggregate: true}, func(recs []Record) error {
		got = append(got, recs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Data) != "one" || string(got[1].Data) != "two" || got[1].PartitionKey != "b" ||
		got[1].SubSequenceNumber != 1 || !got[1].Aggregated || got[0].SequenceNumber != got[1].SequenceNumber {
		t.Fatalf("read %+v", got)
	}
}

// fakeAPI is a one-shard stream, closed with a child that only ListShards
// reveals, whose GetRecords first throttles, then expires the iterator.
type fakeAPI struct {
	neverEnd            bool // like kinesalite: a closed shard's iterator never ends
	getCalls, iterCalls atomic.Int64
	afterSeq            atomic.Value // string
}

func (f *fakeAPI) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	full := &types.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String("340282366920938463463374607431768211455")}
	return &kinesis.ListShardsOutput{Shards: []types.Shard{
		{ShardId: aws.String("p"), HashKeyRange: full, SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("1"), EndingSequenceNumber: aws.String("9")}},
		{ShardId: aws.String("c"), ParentShardId: aws.String("p"), HashKeyRange: full, SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("10")}},
	}}, nil
}

func (f *fakeAPI) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	f.iterCalls.Add(1)
	if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
		f.afterSeq.Store(aws.ToString(in.StartingSequenceNumber))
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(aws.ToString(in.ShardId) + "/" + string(in.ShardIteratorType))}, nil
}

func rec(seq string) types.Record {
	return types.Record{SequenceNumber: aws.String(seq), PartitionKey: aws.String("k"), Data: []byte(seq), ApproximateArrivalTimestamp: aws.Time(time.Now())}
}

func (f *fakeAPI) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	switch it := aws.ToString(in.ShardIterator); {
	case f.getCalls.Add(1) == 1:
		return nil, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "Rate exceeded"}
	case it == "p/TRIM_HORIZON":
		return &kinesis.GetRecordsOutput{Records: []types.Record{rec("1"), rec("2")}, NextShardIterator: aws.String("p/expires")}, nil
	case it == "p/expires":
		return nil, &smithy.GenericAPIError{Code: "ExpiredIteratorException", Message: "Iterator expired."}
	case it == "p/AFTER_SEQUENCE_NUMBER" && f.neverEnd:
		return &kinesis.GetRecordsOutput{Records: []types.Record{rec("3")}, NextShardIterator: aws.String("p/end")}, nil
	case it == "p/end":
		return &kinesis.GetRecordsOutput{NextShardIterator: aws.String("p/end")}, nil
	case it == "p/AFTER_SEQUENCE_NUMBER":
		return &kinesis.GetRecordsOutput{Records: []types.Record{rec("3")}}, nil // end of p, no ChildShards
	case it == "c/TRIM_HORIZON":
		return &kinesis.GetRecordsOutput{Records: []types.Record{rec("10")}, NextShardIterator: aws.String("c/tip"), MillisBehindLatest: aws.Int64(0)}, nil
	case it == "c/tip":
		return &kinesis.GetRecordsOutput{NextShardIterator: aws.String("c/tip"), MillisBehindLatest: aws.Int64(0)}, nil
	}
	return nil, &smithy.GenericAPIError{Code: "InvalidArgumentException", Message: "bad iterator " + aws.ToString(in.ShardIterator)}
}

func TestReadRecovers(t *testing.T) {
	for _, neverEnd := range []bool{false, true} {
		t.Run(fmt.Sprint("neverEnd=", neverEnd), func(t *testing.T) { testReadRecovers(t, neverEnd) })
	}
}

func testReadRecovers(t *testing.T, neverEnd bool) {
	f := &fakeAPI{neverEnd: neverEnd}
	var got []string
	var errs []string
	err := Read(context.Background(), f, Config{Stream: "s", CallsPerSecond: -1, IdleWait: time.Millisecond,
		OnError: func(op, code string) { errs = append(errs, op+" "+code) }},
		func(recs []Record) error {
			for _, r := range recs {
				got = append(got, r.ShardID+":"+r.SequenceNumber)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "p:1,p:2,p:3,c:10" {
		t.Fatalf("read %v", got)
	}
	if f.afterSeq.Load() != "2" {
		t.Fatalf("expired iterator renewed after %v, want 2", f.afterSeq.Load())
	}
	if strings.Join(errs, ",") != "GetRecords ProvisionedThroughputExceededException,GetRecords ExpiredIteratorException" {
		t.Fatalf("errors %v", errs)
	}
}

// fakeClock gives the reader a clock of its own for the rest of the test:
// time moves only by the reader's sleeps, which return at once. waits
// lists the sleeps asked for, in order, leaving out those of no time.
func fakeClock(t *testing.T) (waits func() []time.Duration) {
	t.Helper()
	var mu sync.Mutex
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var asked []time.Duration
	realNow, realSleep := now, sleep
	t.Cleanup(func() { now, sleep = realNow, realSleep })
	now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if d > 0 {
			asked = append(asked, d)
			at = at.Add(d)
		}
		return ctx.Err()
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), asked...)
	}
}

// A shard at its tip is polled again while StopAtTip says so, and told
// how long it has been at its tip.
func TestStopAtTip(t *testing.T) {
	fakeClock(t)
	f := &fakeAPI{}
	f.getCalls.Store(1) // no throttle
	var idles []time.Duration
	err := Read(context.Background(), f, Config{Stream: "s", CallsPerSecond: -1, IdleWait: 5 * time.Millisecond,
		StopAtTip: func(shard string, idle time.Duration) bool {
			if shard != "c" {
				t.Errorf("StopAtTip(%s): p is closed and never at its tip", shard)
			}
			idles = append(idles, idle)
			return len(idles) == 3
		}}, func([]Record) error { return nil })
	// At the tip at once, then after one IdleWait, then after two.
	if err != nil || fmt.Sprint(idles) != "[0s 5ms 10ms]" {
		t.Fatalf("%v, idles %v; want [0s 5ms 10ms]", err, idles)
	}
}

func TestCallsPerSecond(t *testing.T) {
	waits := fakeClock(t)
	f := &fakeAPI{}
	f.getCalls.Store(1)
	// p: TRIM_HORIZON, expired, after; c: first, tip = 5 calls. The first
	// call on a shard goes at once, each later one 1/10 s after the one
	// before it on that shard: 3 waits, as no time passes but the waits.
	if err := Read(context.Background(), f, Config{Stream: "s", CallsPerSecond: 10, IdleWait: time.Millisecond}, func([]Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := f.getCalls.Load() - 1; n != 5 {
		t.Fatalf("%d GetRecords calls, want 5", n)
	}
	if got := fmt.Sprint(waits()); got != "[100ms 100ms 100ms]" {
		t.Fatalf("waits %s before 5 calls on 2 shards at 10/s; want [100ms 100ms 100ms]", got)
	}
}

func TestBackoff(t *testing.T) {
	for attempt := range 40 {
		d := Backoff(attempt, 10*time.Millisecond, time.Second)
		ceiling := min(time.Second, 10*time.Millisecond<<max(attempt-1, 0))
		if attempt >= 30 {
			ceiling = time.Second
		}
		if d < ceiling/2 || d > ceiling {
			t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, ceiling/2, ceiling)
		}
	}
}
