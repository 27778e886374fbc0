package bench

// Enhanced fan-out: how long a record takes from PutRecord to a
// subscriber's event, and how many records per second reach 1, 5 and 20
// consumers of one shard. Run with
//
//	go test -run '^$' -bench Fanout -benchtime 2000x ./bench/
//
// Subscribers are aws-sdk-go-v2 clients over h2c, one client each (the
// SDK's event-stream decoder is per client and not safe for concurrent
// streams); puts are plain HTTP. The server stores on disk, as by default.

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

// startH2C runs the server (HTTP/1.1 and h2c on one port, as rivulet
// serve does) and returns an h2c transport for subscribers.
func startH2C(b *testing.B) (*env, *http.Transport) {
	b.Helper()
	url := startServer(b, rivulet.Config{DataDir: b.TempDir()})
	h2c := &http.Transport{Protocols: &http.Protocols{}}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	b.Cleanup(h2c.CloseIdleConnections)
	return &env{url: url, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}, h2c
}

// subscriber reads one consumer's subscription and records each record's
// latency from the send time carried in its first 8 bytes.
type subscriber struct {
	mu      sync.Mutex
	lat     []time.Duration
	records int
	bytes   int
}

func (s *subscriber) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.records }

func (s *subscriber) run(ctx context.Context, b *testing.B, c *kinesis.Client, arn string, ready chan<- struct{}) {
	out, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	ready <- struct{}{}
	if err != nil {
		b.Error(err)
		return
	}
	es := out.GetStream()
	defer es.Close()
	for ev := range es.Events() {
		e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			continue
		}
		now := time.Now()
		s.mu.Lock()
		for _, r := range e.Value.Records {
			s.lat = append(s.lat, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Data)))))
			s.bytes += len(r.Data)
		}
		s.records += len(e.Value.Records)
		s.mu.Unlock()
	}
}

func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("latency/consumers=%d", n), func(b *testing.B) { benchFanout(b, n, 1) })
		b.Run(fmt.Sprintf("throughput/consumers=%d", n), func(b *testing.B) { benchFanout(b, n, 500) })
	}
}

// benchFanout puts b.N calls of batch records of 100 bytes (one PutRecord
// at a time for batch 1, PutRecords otherwise) into one shard read by n
// consumers, and waits until every consumer has every record.
func benchFanout(b *testing.B, n, batch int) {
	e, h2c := startH2C(b)
	e.createStream(b, "fan", 1)
	var arn struct{ StreamDescriptionSummary struct{ StreamARN string } }
	_ = json.Unmarshal(e.call(b, "DescribeStreamSummary", []byte(`{"StreamName":"fan"}`)), &arn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := make([]*subscriber, n)
	var wg sync.WaitGroup
	ready := make(chan struct{}, n)
	for i := range subs {
		var reg struct{ Consumer struct{ ConsumerARN string } }
		_ = json.Unmarshal(e.call(b, "RegisterStreamConsumer",
			fmt.Appendf(nil, `{"StreamARN":%q,"ConsumerName":"c%d"}`, arn.StreamDescriptionSummary.StreamARN, i)), &reg)
		c := kinesis.NewFromConfig(aws.Config{Region: "us-east-1", HTTPClient: &http.Client{Transport: h2c},
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "x", "")},
			func(o *kinesis.Options) { o.BaseEndpoint = aws.String(e.url) })
		subs[i] = &subscriber{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			subs[i].run(ctx, b, c, reg.Consumer.ConsumerARN, ready)
		}()
	}
	for range n {
		<-ready
	}
	payload := make([]byte, 100)
	body := func() []byte {
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		if batch == 1 {
			return fmt.Appendf(nil, `{"StreamName":"fan","PartitionKey":"k","Data":"%s"}`, b64(payload))
		}
		out := []byte(`{"StreamName":"fan","Records":[`)
		for j := range batch {
			if j > 0 {
				out = append(out, ',')
			}
			out = fmt.Appendf(out, `{"PartitionKey":"k%d","Data":"%s"}`, j, b64(payload))
		}
		return append(out, "]}"...)
	}
	op := "PutRecord"
	if batch > 1 {
		op = "PutRecords"
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e.call(b, op, body())
		if batch == 1 {
			// One record in flight at a time: latency without queueing.
			for _, s := range subs {
				for s.count() < i+1 {
					time.Sleep(20 * time.Microsecond)
				}
			}
		}
	}
	want := b.N * batch
	deadline := time.Now().Add(time.Minute)
	for _, s := range subs {
		for s.count() < want {
			if time.Now().After(deadline) {
				b.Fatalf("a consumer got %d of %d records", s.count(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	var lat []time.Duration
	for _, s := range subs {
		s.mu.Lock()
		lat = append(lat, s.lat...)
		s.mu.Unlock()
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(want)/elapsed.Seconds(), "records/s/consumer")
	b.ReportMetric(float64(want*n)/elapsed.Seconds(), "deliveries/s")
	cancel()
	wg.Wait()
}

func b64(p []byte) string { return base64.StdEncoding.EncodeToString(p) }
