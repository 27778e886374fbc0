package bench

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/producer"
)

// BenchmarkProducer compares the producer with raw PutRecords calls, both
// through aws-sdk-go-v2, writing 1 KiB records with distinct partition keys
// to a 4-shard stream; every variant reports records/s. raw is 8 callers
// each sending full 500-record calls, the best a hand-written client does;
// producer is one goroutine calling Put per record (the producer's own
// rate limit is lifted, since Rivulet runs here without --limits);
// producer-aggregated also packs records into KPL aggregated records, so
// that Kinesis sees ~50 times fewer records.
func BenchmarkProducer(b *testing.B) {
	data := bytes.Repeat([]byte{'p'}, 1024)
	b.Run("raw", func(b *testing.B) {
		c, stream := sdkEnv(b)
		entries := make([]types.PutRecordsRequestEntry, 500)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("pk-%d", i)), Data: data}
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.SetBytes(500 * 1024)
		b.ResetTimer()
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
					if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		reportRecords(b, 500)
	})
	for _, aggregate := range []bool{false, true} {
		name := "producer"
		if aggregate {
			name += "-aggregated"
		}
		b.Run(name, func(b *testing.B) {
			c, stream := sdkEnv(b)
			p, err := producer.New(c, stream, producer.WithAggregation(aggregate), producer.WithRateLimit(1_000_000))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(1024)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Put(ctx, producer.Record{PartitionKey: fmt.Sprintf("pk-%d", i), Data: data}); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st := p.Stats()
			if st.UserRecordsPut != int64(b.N) {
				b.Fatalf("%d of %d records put", st.UserRecordsPut, b.N)
			}
			reportRecords(b, 1)
			b.ReportMetric(st.BatchEntries.Mean(), "entries/call")
			ctx, cancel := context.WithTimeout(ctx, hangTimeout)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// sdkEnv starts Rivulet with a 4-shard stream and returns an SDK client.
func sdkEnv(b *testing.B) (*kinesis.Client, string) {
	e := start(b)
	stream := fmt.Sprintf("producer-%d", b.N)
	e.createStream(b, stream, 4)
	c := kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(e.url),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
		HTTPClient:       e.client,
		RetryMaxAttempts: 1,
	})
	return c, stream
}
