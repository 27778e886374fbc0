package bench

// The consumer library (KCL): how fast it processes a pre-filled stream,
// against a plain GetRecords loop over the same data in the same run, and
// how long other workers take to own a dead worker's leases. Run with
//
//	go test -run '^$' -bench 'Consumer|Takeover' -benchtime 1x ./bench/
//
// The server stores on disk and serves the lease table (DynamoDB) on the
// same endpoint as Kinesis.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/consumer"
)

const (
	consumerStream = "cons"
	consumerShards = 4
)

// consumerRecords (of 100 bytes) are read by every consumer benchmark;
// -consumer.records raises it so that set-up weighs less.
var consumerRecords = int64(200_000)

func init() {
	flag.Int64Var(&consumerRecords, "consumer.records", consumerRecords, "records the consumer benchmarks read (a multiple of 500)")
}

func awsConfig(tr http.RoundTripper) aws.Config {
	return aws.Config{Region: "us-east-1", HTTPClient: &http.Client{Transport: rivulet.SDKTransport(tr)},
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "x", "")}
}

func kinesisClient(url string, tr http.RoundTripper) *kinesis.Client {
	return kinesis.NewFromConfig(awsConfig(tr), func(o *kinesis.Options) { o.BaseEndpoint = aws.String(url) })
}

func dynamoDBClient(url string, tr http.RoundTripper) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsConfig(tr), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
}

// BenchmarkConsumer reads the same 200,000 records of a 4-shard stream
// five ways, each iteration from the start: raw (a GetRecords loop per
// shard, all shards at once, unpaced and paced at 200 ms: the
// baselines), then the consumer library with Polling (default pacing, and
// MinCallInterval<0: no pause) and with FanOut, which checkpoint after
// every batch. The
// library's rates count from Run, so they include creating the lease
// table, taking the leases and, for FanOut, registering the consumer.
func BenchmarkConsumer(b *testing.B) {
	e, h2c := startH2C(b)
	e.createStream(b, consumerStream, consumerShards)
	body := putRecordsBody(consumerStream, 500, 100)
	for range consumerRecords / 500 {
		e.call(b, "PutRecords", body)
	}
	h1 := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(h1.CloseIdleConnections)
	kc := kinesisClient(e.url, h1)
	ddb := dynamoDBClient(e.url, h1)

	// Raw baselines of this run, in records/s: as fast as the server
	// answers, and at most 5 calls a second per shard (a call every
	// 200 ms, the Kinesis limit the Polling retrieval keeps to).
	var raw, raw5 float64
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			readRaw(b, kc, 0)
		}
		raw = float64(int64(b.N)*consumerRecords) / b.Elapsed().Seconds()
		b.ReportMetric(raw, "records/s")
	})
	b.Run("raw-5-calls-per-s", func(b *testing.B) {
		for b.Loop() {
			readRaw(b, kc, 200*time.Millisecond)
		}
		raw5 = float64(int64(b.N)*consumerRecords) / b.Elapsed().Seconds()
		b.ReportMetric(raw5, "records/s")
	})
	iteration := 0
	for _, tc := range []struct {
		name      string
		retrieval consumer.Retrieval
		kc        *kinesis.Client
	}{
		{"polling", consumer.Polling{}, kc},
		// No pause between calls: Rivulet without --limits has no
		// per-shard call limit; compare with raw.
		{"polling-no-pause", consumer.Polling{MinCallInterval: -1}, kc},
		// Subscriptions over h2c; a client of its own per run, since the
		// SDK's event-stream decoder is per client (consumer uses its own
		// codec per subscription).
		{"fanout", consumer.FanOut{}, kinesisClient(e.url, h2c)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var first time.Duration
			for b.Loop() {
				iteration++
				first += consume(b, tc.kc, ddb, fmt.Sprintf("bench-%s-%d", tc.name, iteration), tc.retrieval)
			}
			rate := float64(int64(b.N)*consumerRecords) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-to-first-record")
			b.ReportMetric(float64(int64(b.N)*consumerRecords)/(b.Elapsed()-first).Seconds(), "records/s-after-first")
			if raw > 0 && raw5 > 0 {
				b.ReportMetric(100*rate/raw, "%-of-raw")
				b.ReportMetric(100*rate/raw5, "%-of-raw-5-calls-per-s")
			}
		})
	}
}

// readRaw reads every shard from TRIM_HORIZON to its tip, 10,000 records
// a call, the shards at once, with calls to a shard at least spacing
// apart.
func readRaw(b *testing.B, kc *kinesis.Client, spacing time.Duration) {
	ctx := context.Background()
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := range consumerShards {
		wg.Go(func() {
			it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(consumerStream),
				ShardId: aws.String(fmt.Sprintf("shardId-%012d", i)), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				b.Error(err)
				return
			}
			iter := it.ShardIterator
			var last time.Time
			for iter != nil {
				time.Sleep(spacing - time.Since(last))
				last = time.Now()
				out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
				if err != nil {
					b.Error(err)
					return
				}
				total.Add(int64(len(out.Records)))
				if aws.ToInt64(out.MillisBehindLatest) == 0 {
					return // at the tip
				}
				iter = out.NextShardIterator
			}
		})
	}
	wg.Wait()
	if n := total.Load(); n != consumerRecords {
		b.Fatalf("raw read %d records, want %d", n, consumerRecords)
	}
}

// consume runs one worker of a new application over the stream until it
// has processed every record, and returns how long the first took.
func consume(b *testing.B, kc *kinesis.Client, ddb *dynamodb.Client, app string, r consumer.Retrieval) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var count atomic.Int64
	var firstAt atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	w, err := consumer.New(consumer.Config{
		AppName: app, Stream: consumerStream, Kinesis: kc, DynamoDB: ddb, Retrieval: r,
		InitialPosition: consumer.InitialPosition{Type: consumer.SentinelTrimHorizon},
		Processor: consumer.ProcessorFunc(func(ctx context.Context, in consumer.ProcessRecordsInput) {
			firstAt.CompareAndSwap(0, int64(time.Since(start)))
			if count.Add(int64(len(in.Records))) == consumerRecords {
				close(done)
			}
			_ = in.Checkpointer.Checkpoint(ctx)
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	select {
	case <-done:
	case err := <-ran:
		b.Fatalf("worker stopped: %v", err)
	case <-time.After(5 * hangTimeout):
		b.Fatalf("processed %d of %d records", count.Load(), consumerRecords)
	}
	b.StopTimer()
	cancel()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	return time.Duration(firstAt.Load())
}

// cutDynamoDB fails every call once cut, as for a worker that died: it
// neither renews nor releases its leases.
type cutDynamoDB struct {
	*dynamodb.Client
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (c *cutDynamoDB) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, o ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.CreateTable(ctx, in, o...)
}

func (c *cutDynamoDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, o ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.DescribeTable(ctx, in, o...)
}

func (c *cutDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.GetItem(ctx, in, o...)
}

func (c *cutDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.PutItem(ctx, in, o...)
}

func (c *cutDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *cutDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.DeleteItem(ctx, in, o...)
}

func (c *cutDynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Client.Scan(ctx, in, o...)
}

// owners counts the lease table's leases by owner ("" for none).
func owners(b *testing.B, ddb *dynamodb.Client, table string) map[string]int {
	out, err := ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	var nf *ddbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		b.Fatal(err)
	}
	c := map[string]int{}
	for _, it := range out.Items {
		o, _ := it["leaseOwner"].(*ddbtypes.AttributeValueMemberS)
		if o == nil {
			c[""]++
		} else {
			c[o.Value]++
		}
	}
	return c
}

// BenchmarkTakeover: worker A holds 4 of 8 leases, B the others; A is cut
// off from the lease table, as if killed. Reported: the time until B owns
// all 8. B notices an expired lease by its counter staying unchanged for
// the failover time between its scans, which come every 2 × failover.
func BenchmarkTakeover(b *testing.B) {
	for _, failover := range []time.Duration{consumer.DefaultFailoverTime, time.Second} {
		b.Run(fmt.Sprintf("failover=%v", failover), func(b *testing.B) {
			url := startServer(b, rivulet.Config{DataDir: b.TempDir()})
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			b.Cleanup(tr.CloseIdleConnections)
			e := &env{url: url, client: &http.Client{Transport: tr}}
			e.createStream(b, consumerStream, 8)
			kc := kinesisClient(url, tr)
			ddb := dynamoDBClient(url, tr)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += takeover(b, kc, ddb, fmt.Sprintf("takeover-%d", i), failover)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s-to-takeover")
		})
	}
}

func takeover(b *testing.B, kc *kinesis.Client, ddb *dynamodb.Client, app string, failover time.Duration) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	run := func(id string, d consumer.DynamoDBAPI, maxLeases int) {
		w, err := consumer.New(consumer.Config{
			AppName: app, Stream: consumerStream, WorkerID: id, Kinesis: kc, DynamoDB: d,
			Processor:    consumer.ProcessorFunc(func(context.Context, consumer.ProcessRecordsInput) {}),
			FailoverTime: failover, MaxLeasesForWorker: maxLeases,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = w.Run(ctx) })
	}
	wait := func(what string, cond func(map[string]int) bool) {
		deadline := time.Now().Add(5 * hangTimeout)
		for !cond(owners(b, ddb, app)) {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %s: %v", what, owners(b, ddb, app))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	victim := &cutDynamoDB{Client: ddb}
	run("A", victim, 4)
	wait("A to hold 4 leases", func(c map[string]int) bool { return c["A"] == 4 })
	run("B", ddb, 0)
	wait("B to hold the other 4", func(c map[string]int) bool { return c["B"] == 4 })
	// Let B see A's leases renewed for a while, as in a running fleet.
	time.Sleep(failover)
	start := time.Now()
	victim.cut.Store(true)
	wait("B to hold all 8", func(c map[string]int) bool { return c["B"] == 8 })
	return time.Since(start)
}
