// Command producer writes records to a Kinesis stream with the producer
// package: against a local Rivulet by default, or against AWS with
// -endpoint "" (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN).
//
//	go run ./cmd/rivulet serve &
//	go run ./examples/producer -stream demo -create -records 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/producer"
)

func main() {
	endpoint := flag.String("endpoint", "http://127.0.0.1:4567", `Kinesis endpoint; "" for AWS`)
	region := flag.String("region", "us-east-1", "AWS region")
	stream := flag.String("stream", "demo", "stream name or ARN")
	create := flag.Bool("create", false, "create the stream if it does not exist")
	shards := flag.Int("shards", 2, "shard count for -create")
	records := flag.Int("records", 10000, "records to write")
	aggregate := flag.Bool("aggregate", true, "KPL aggregation")
	ordered := flag.Bool("ordered", false, "preserve order per partition key")
	verbose := flag.Bool("v", false, "debug logging")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, log, *endpoint, *region, *stream, *create, int32(*shards), *records, *aggregate, *ordered); err != nil {
		log.Error("failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, endpoint, region, stream string, create bool, shards int32, n int, aggregate, ordered bool) error {
	opts := kinesis.Options{Region: region, Credentials: credentialsFromEnv(endpoint != "")}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	client := kinesis.New(opts)
	if create {
		if err := createStream(ctx, client, stream, shards); err != nil {
			return err
		}
	}

	p, err := producer.New(client, stream,
		producer.WithAggregation(aggregate),
		producer.WithPreserveOrdering(ordered),
		producer.WithLogger(log),
	)
	if err != nil {
		return err
	}
	start := time.Now()
	futures := make([]*producer.Future, 0, n)
	for i := 0; i < n; i++ {
		rec := producer.Record{
			PartitionKey: fmt.Sprintf("sensor-%d", i%100),
			Data:         fmt.Appendf(nil, `{"sensor":%d,"seq":%d,"at":%q}`, i%100, i, time.Now().Format(time.RFC3339Nano)),
		}
		f, err := p.Put(ctx, rec) // blocks while the buffer is full
		if err != nil {
			_ = p.Close(context.Background())
			return err
		}
		futures = append(futures, f)
	}
	// Close sends what is buffered and waits, for at most a minute.
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	closeErr := p.Close(closeCtx)

	failed := 0
	for _, f := range futures {
		if f.Result().Err != nil {
			failed++
		}
	}
	first := futures[0].Result()
	st := p.Stats()
	took := time.Since(start)
	fmt.Printf("%d records in %v (%.0f records/s), %d failed\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds(), failed)
	fmt.Printf("first record: shard %s, sequence number %s, sub-sequence %d\n", first.ShardID, first.SequenceNumber, first.SubSequenceNumber)
	fmt.Printf("%d Kinesis records in %d PutRecords calls (%.1f entries per call, %.1f user records per Kinesis record)\n",
		st.KinesisRecordsPut, st.Requests, st.BatchEntries.Mean(), st.RecordsPerEntry.Mean())
	fmt.Printf("throttled %d, retried %d, mean buffering %v\n", st.Throttled, st.UserRecordsRetried, st.BufferingTime.Mean().Round(time.Millisecond))
	return closeErr
}

func credentialsFromEnv(local bool) aws.CredentialsProvider {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" && local {
		id, secret = "test", "test" // Rivulet takes any credentials
	}
	return credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
}

// createStream creates the stream unless it exists and waits until it is
// ACTIVE.
func createStream(ctx context.Context, c *kinesis.Client, stream string, shards int32) error {
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: &shards})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	for {
		d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		if err != nil {
			return err
		}
		if d.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
