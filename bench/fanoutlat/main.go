// Command fanoutlat measures enhanced fan-out latency: the time from the
// start of a PutRecord call to the SubscribeToShardEvent that carries the
// record, through aws-sdk-go-v2, against any Kinesis endpoint. It is the
// W3 workload of `make bench-peers` (bench/peers).
//
// It creates the stream if it is missing, registers a consumer, subscribes
// to every shard from LATEST, then puts --rate records a second for
// --duration from one writer. Each record carries a run id and its own id;
// writer and reader are one process, so they share one clock. It prints one JSON object
// (see result) and exits 1 if a record never arrived.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/internal/client"
)

// result is the JSON report. Latencies are in milliseconds.
type result struct {
	Endpoint string  `json:"endpoint"`
	Stream   string  `json:"stream"`
	Shards   int     `json:"shards"`
	Rate     float64 `json:"rate"`
	Seconds  float64 `json:"seconds"`
	Put      int     `json:"put"`      // records acknowledged by PutRecord
	Received int     `json:"received"` // of those, received by a subscription
	Missing  int     `json:"missing"`
	// Duplicates are deliveries beyond the first of a record.
	Duplicates    int     `json:"duplicates"`
	PutErrors     int     `json:"put_errors"`
	Resubscribes  int     `json:"resubscribes"`
	LatencyP50    float64 `json:"latency_p50_ms"`
	LatencyP90    float64 `json:"latency_p90_ms"`
	LatencyP99    float64 `json:"latency_p99_ms"`
	LatencyMax    float64 `json:"latency_max_ms"`
	LatencyMean   float64 `json:"latency_mean_ms"`
	PutLatencyP50 float64 `json:"put_latency_p50_ms"`
	PutLatencyP99 float64 `json:"put_latency_p99_ms"`
}

// run is the measurement's state shared by the writer and the readers.
type run struct {
	conn     client.Config
	consumer string
	runID    uint64

	mu       sync.Mutex
	sent     map[uint64]time.Time     // record id -> start of its PutRecord
	received map[uint64]time.Duration // record id -> latency
	dups     int
	resubs   int
	first    chan struct{} // closed when every subscription saw its first event
	pending  int
}

func main() { os.Exit(mainErr()) }

func mainErr() int {
	var (
		conn       client.Config
		stream     string
		shards     int
		rate       float64
		duration   time.Duration
		recordSize int
		grace      time.Duration
	)
	fs := flag.NewFlagSet("fanoutlat", flag.ContinueOnError)
	conn.AddFlags(fs, os.LookupEnv)
	fs.StringVar(&stream, "stream", "rivulet-fanout-latency", "stream to use, created if missing")
	fs.IntVar(&shards, "shards", 4, "shard count of a stream the run creates")
	fs.Float64Var(&rate, "rate", 200, "PutRecord calls per second")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long to put records")
	fs.IntVar(&recordSize, "record-size", 100, "bytes of data per record (at least 16)")
	fs.DurationVar(&grace, "grace", 5*time.Second, "how long to wait for the last records to arrive")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if shards < 1 || rate <= 0 || duration <= 0 || recordSize < 16 || recordSize > 1<<20 {
		fmt.Fprintln(os.Stderr, "fanoutlat: need --shards >= 1, --rate > 0, --duration > 0, --record-size in [16, 1048576]")
		return 2
	}
	conn.MaxConns = 16
	if err := conn.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "fanoutlat: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res, err := measure(ctx, conn, stream, shards, rate, duration, recordSize, grace)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fanoutlat: %v\n", err)
		return 1
	}
	res.Endpoint = conn.Endpoint
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Printf("%s\n", b)
	if res.Missing > 0 {
		return 1
	}
	return 0
}

func measure(ctx context.Context, conn client.Config, stream string, shards int, rate float64, duration time.Duration, recordSize int, grace time.Duration) (*result, error) {
	kc, err := client.New(conn)
	if err != nil {
		return nil, err
	}
	arn, shardIDs, err := ensureStream(ctx, kc, stream, shards)
	if err != nil {
		return nil, err
	}
	consumer, err := registerConsumer(ctx, kc, arn, fmt.Sprintf("fanoutlat-%d", time.Now().UnixNano()))
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = kc.DeregisterStreamConsumer(dctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: &consumer})
	}()

	r := &run{conn: conn, consumer: consumer, runID: rand.Uint64(), sent: map[uint64]time.Time{}, received: map[uint64]time.Duration{},
		first: make(chan struct{}), pending: len(shardIDs)}
	subCtx, cancelSubs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, id := range shardIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.follow(subCtx, id)
		}()
	}
	defer func() { cancelSubs(); wg.Wait() }()

	select {
	case <-r.first:
	case <-time.After(max(10*time.Second, grace)):
		return nil, errors.New("no subscription delivered its first event in time")
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	res := &result{Stream: stream, Shards: len(shardIDs), Rate: rate}
	var putLat []time.Duration
	acked := map[uint64]bool{}
	data := make([]byte, recordSize)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	next := start
	for id := uint64(0); time.Since(start) < duration; id++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		next = next.Add(interval)
		t0 := time.Now()
		binary.BigEndian.PutUint64(data[0:], r.runID)
		binary.BigEndian.PutUint64(data[8:], id)
		r.mu.Lock()
		r.sent[id] = t0
		r.mu.Unlock()
		_, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &stream, Data: data,
			PartitionKey: aws.String(strconv.FormatUint(id, 10))})
		if err != nil {
			res.PutErrors++
			continue
		}
		putLat = append(putLat, time.Since(t0))
		acked[id] = true
	}
	res.Seconds = time.Since(start).Seconds()
	res.Put = len(acked)

	// Wait for the stragglers.
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := 0
		for id := range acked {
			if _, ok := r.received[id]; ok {
				n++
			}
		}
		r.mu.Unlock()
		if n == len(acked) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	var lat []time.Duration
	for id := range acked {
		if d, ok := r.received[id]; ok {
			lat = append(lat, d)
		}
	}
	res.Received = len(lat)
	res.Missing = res.Put - res.Received
	res.Duplicates = r.dups
	res.Resubscribes = r.resubs
	slices.Sort(lat)
	slices.Sort(putLat)
	res.LatencyP50, res.LatencyP90, res.LatencyP99 = quantile(lat, .5), quantile(lat, .9), quantile(lat, .99)
	res.LatencyMax = quantile(lat, 1)
	res.LatencyMean = mean(lat)
	res.PutLatencyP50, res.PutLatencyP99 = quantile(putLat, .5), quantile(putLat, .99)
	return res, nil
}

// follow subscribes to one shard from LATEST and records each record's
// latency, subscribing again (from where the last one stopped) when a
// subscription ends, as AWS ends them after 5 minutes.
//
// Each shard has its own client: aws-sdk-go-v2 (smithy-go 1.28) shares one
// event-stream decoder per client, so concurrent SubscribeToShard calls on
// one client race in DeserializeInitialResponse.
func (r *run) follow(ctx context.Context, shard string) {
	kc, err := client.New(r.conn)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fanoutlat: %v\n", err)
		return
	}
	pos := types.StartingPosition{Type: types.ShardIteratorTypeLatest}
	announced := false
	for ctx.Err() == nil {
		out, err := kc.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: &r.consumer, ShardId: &shard, StartingPosition: &pos})
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "fanoutlat: SubscribeToShard %s: %v\n", shard, err)
				// A new subscription within 5 s of the last is refused.
				sleep(ctx, time.Second)
			}
			continue
		}
		es := out.GetStream()
		for ev := range es.Events() {
			now := time.Now()
			e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !ok {
				continue
			}
			if !announced {
				announced = true
				r.mu.Lock()
				if r.pending--; r.pending == 0 {
					close(r.first)
				}
				r.mu.Unlock()
			}
			if c := e.Value.ContinuationSequenceNumber; c != nil {
				pos = types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: c}
			}
			r.mu.Lock()
			for _, rec := range e.Value.Records {
				if len(rec.Data) < 16 || binary.BigEndian.Uint64(rec.Data) != r.runID {
					continue
				}
				id := binary.BigEndian.Uint64(rec.Data[8:])
				t0, ok := r.sent[id]
				if !ok {
					continue
				}
				if _, seen := r.received[id]; seen {
					r.dups++
					continue
				}
				r.received[id] = now.Sub(t0)
			}
			r.mu.Unlock()
		}
		es.Close()
		if ctx.Err() == nil {
			r.mu.Lock()
			r.resubs++
			r.mu.Unlock()
		}
	}
}

func ensureStream(ctx context.Context, kc *kinesis.Client, stream string, shards int) (string, []string, error) {
	_, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(int32(shards))})
	if err != nil && client.ErrorCode(err) != "ResourceInUseException" {
		return "", nil, fmt.Errorf("CreateStream: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			arn := aws.ToString(out.StreamDescriptionSummary.StreamARN)
			ls, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &stream,
				ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
			if err != nil {
				return "", nil, fmt.Errorf("ListShards: %w", err)
			}
			var ids []string
			for _, s := range ls.Shards {
				ids = append(ids, aws.ToString(s.ShardId))
			}
			return arn, ids, nil
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("stream %s not ACTIVE within 60s (last error: %v)", stream, err)
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return "", nil, ctx.Err()
		}
	}
}

func registerConsumer(ctx context.Context, kc *kinesis.Client, streamARN, name string) (string, error) {
	out, err := kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &name})
	if err != nil {
		return "", fmt.Errorf("RegisterStreamConsumer: %w", err)
	}
	arn := aws.ToString(out.Consumer.ConsumerARN)
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := kc.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &arn})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			return arn, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("consumer %s not ACTIVE within 60s (last error: %v)", name, err)
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return "", ctx.Err()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// quantile of sorted durations, in milliseconds (nearest rank).
func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return ms(sorted[i])
}

func mean(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return ms(sum / time.Duration(len(ds)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
