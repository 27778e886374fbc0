package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStore is a store.Metrics in memory that can be told to fail.
type fakeStore struct {
	mu   sync.Mutex
	ds   []store.MetricDatum
	puts int
	fail error
}

func (f *fakeStore) PutMetrics(_ context.Context, ds []store.MetricDatum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	if f.fail != nil {
		return f.fail
	}
	f.ds = append(f.ds, ds...)
	return nil
}

func (f *fakeStore) ReadMetrics(context.Context, store.MetricQuery) ([]store.MetricDatum, error) {
	return nil, errors.New("not used")
}

func (f *fakeStore) setFail(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

func (f *fakeStore) datums() []store.MetricDatum {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ds)
}

// merged folds the stored datums by metric, dimensions and minute, as a
// reader of the store does.
func (f *fakeStore) merged() map[string]store.MetricDatum {
	out := map[string]store.MetricDatum{}
	for _, d := range f.datums() {
		k := datumKey(d)
		m, ok := out[k]
		if !ok {
			m = d
		} else {
			store.MergeDatum(&m, d)
		}
		out[k] = m
	}
	return out
}

func datumKey(d store.MetricDatum) string {
	k := fmt.Sprintf("%s/%s/%s/%s", d.Account, d.Region, d.Namespace, d.Metric)
	for _, dim := range d.Dimensions {
		k += fmt.Sprintf("/%s=%s", dim.Name, dim.Value)
	}
	return k + "@" + d.Minute.Format("15:04")
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTest(t *testing.T) (*Registry, *fakeStore, *fakeClock) {
	t.Helper()
	st := &fakeStore{}
	clk := &fakeClock{t: t0.Add(5 * time.Second)}
	return New(Config{Store: st, Now: clk.Now}), st, clk
}

func kin(stream, metric string) Series {
	return Series{Namespace: Kinesis, Account: "000000000000", Region: "us-east-1", Stream: stream, Metric: metric}
}

func TestStatistics(t *testing.T) {
	r, st, _ := newTest(t)
	s := kin("s1", "IncomingBytes")
	for _, v := range []float64{100, 25, 400, 75} {
		r.Observe(s, v)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ds := st.datums()
	if len(ds) != 1 {
		t.Fatalf("datums = %+v, want 1", ds)
	}
	want := store.MetricDatum{
		Account: "000000000000", Region: "us-east-1", Namespace: Kinesis, Metric: "IncomingBytes",
		Dimensions: []store.Dimension{{Name: "StreamName", Value: "s1"}},
		Unit:       "Bytes", Minute: t0,
		SampleCount: 4, Sum: 600, Min: 25, Max: 400,
	}
	if got := ds[0]; !datumEqual(got, want) {
		t.Fatalf("datum = %+v, want %+v", got, want)
	}
	// A second flush writes nothing: the minute was drained.
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.datums()); n != 1 {
		t.Fatalf("%d datums after an empty flush, want 1", n)
	}
}

func datumEqual(a, b store.MetricDatum) bool {
	return a.Account == b.Account && a.Region == b.Region && a.Namespace == b.Namespace &&
		a.Metric == b.Metric && slices.Equal(a.Dimensions, b.Dimensions) && a.Unit == b.Unit &&
		a.Minute.Equal(b.Minute) && a.Minute.Location() == time.UTC &&
		a.SampleCount == b.SampleCount && a.Sum == b.Sum && a.Min == b.Min && a.Max == b.Max
}

func TestMinuteBuckets(t *testing.T) {
	r, st, clk := newTest(t)
	s := kin("s1", "GetRecords.Latency")
	clk.Set(t0.Add(10 * time.Second))
	r.Observe(s, 5)
	clk.Set(t0.Add(59*time.Second + 999*time.Millisecond))
	r.Observe(s, 7)
	clk.Set(t0.Add(60 * time.Second))
	r.Observe(s, 11)
	// A clock that steps back lands in the earlier minute.
	clk.Set(t0.Add(30 * time.Second))
	r.Observe(s, 1)
	clk.Set(t0.Add(2*time.Minute + time.Second))
	r.Observe(s, 3)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := st.merged()
	base := "000000000000/us-east-1/AWS/Kinesis/GetRecords.Latency/StreamName=s1@"
	want := map[string]store.MetricDatum{
		base + "12:00": {SampleCount: 3, Sum: 13, Min: 1, Max: 7},
		base + "12:01": {SampleCount: 1, Sum: 11, Min: 11, Max: 11},
		base + "12:02": {SampleCount: 1, Sum: 3, Min: 3, Max: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.SampleCount != w.SampleCount || g.Sum != w.Sum || g.Min != w.Min || g.Max != w.Max || g.Unit != "Milliseconds" {
			t.Errorf("%s = %+v, want %+v", k, g, w)
		}
	}
	if n := len(st.datums()); n != 3 {
		t.Errorf("%d datums, want one per minute (3)", n)
	}
}

func TestDimensions(t *testing.T) {
	r, st, _ := newTest(t)
	sh := kin("s1", "IncomingRecords")
	sh.Shard = "shardId-000000000001"
	r.Observe(sh, 3)
	c := kin("s1", "SubscribeToShardEvent.Records")
	c.Consumer = "app"
	r.Observe(c, 2)
	f := Series{Namespace: Firehose, Account: "000000000000", Region: "us-east-1", Stream: "d1", Metric: "DeliveryToS3.DataFreshness"}
	r.Observe(f, 42)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"IncomingRecords":               "[{ShardId shardId-000000000001} {StreamName s1}] Count",
		"SubscribeToShardEvent.Records": "[{ConsumerName app} {StreamName s1}] Count",
		"DeliveryToS3.DataFreshness":    "[{DeliveryStreamName d1}] Seconds",
	}
	ds := st.datums()
	if len(ds) != len(want) {
		t.Fatalf("datums %+v", ds)
	}
	for _, d := range ds {
		if got := fmt.Sprintf("%v %s", d.Dimensions, d.Unit); got != want[d.Metric] {
			t.Errorf("%s: %s, want %s", d.Metric, got, want[d.Metric])
		}
	}
}

// countHandler counts Debug records.
type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelDebug {
		h.n.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func TestIgnored(t *testing.T) {
	h := &countHandler{}
	st := &fakeStore{}
	r := New(Config{Store: st, Logger: slog.New(h)})
	bad := []Series{
		kin("s1", "NoSuchMetric"),
		{Namespace: "AWS/Other", Account: "1", Region: "r", Stream: "s", Metric: "IncomingBytes"},
		kin("", "IncomingBytes"),
		{Namespace: Firehose, Account: "1", Region: "r", Stream: "d", Shard: "shardId-000000000000", Metric: "IncomingBytes"},
		kin("\x97\xbb", "IncomingBytes"), // Prometheus refuses such label values
	}
	shardOnly := kin("s1", "OutgoingBytes") // needs a shard
	streamOnly := kin("s1", "GetRecords.Bytes")
	streamOnly.Shard = "shardId-000000000000" // has no shard level
	noConsumer := kin("s1", "SubscribeToShard.Success")
	consumerOnStream := kin("s1", "IncomingBytes")
	consumerOnStream.Consumer = "app"
	bad = append(bad, shardOnly, streamOnly, noConsumer, consumerOnStream)
	for range 3 {
		for _, s := range bad {
			r.Observe(s, 1)
		}
	}
	r.Observe(kin("s1", "IncomingBytes"), 1)
	r.Observe(kin("s1", "IncomingBytes"), 1)
	r.Observe(kin("s1", "IncomingBytes"), 1) // fine
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ds := st.datums(); len(ds) != 1 || ds[0].Metric != "IncomingBytes" || ds[0].SampleCount != 3 {
		t.Fatalf("datums %+v", ds)
	}
	if n := h.n.Load(); n == 0 || n > int64(len(bad)) {
		t.Errorf("%d debug logs for %d bad series seen 3 times each; want each logged once", n, len(bad))
	}
	// NaN and infinities would poison the sums.
	r.Observe(kin("s1", "IncomingBytes"), nan())
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.datums()); n != 1 {
		t.Fatalf("NaN was counted")
	}
}

func nan() float64 { var z float64; return z / z }

func TestFlushRetry(t *testing.T) {
	r, st, clk := newTest(t)
	s := kin("s1", "IncomingRecords")
	r.Observe(s, 10)
	st.setFail(errors.New("nats down"))
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded with a failing store")
	}
	r.Observe(s, 5)
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("flush succeeded with a failing store")
	}
	st.setFail(nil)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := st.merged()
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	for _, d := range got {
		if d.SampleCount != 2 || d.Sum != 15 || d.Min != 5 || d.Max != 10 {
			t.Fatalf("after retry %+v, want count 2 sum 15", d)
		}
	}
	if n := len(st.datums()); n != 1 {
		t.Errorf("%d datums: failed flushes should merge into one", n)
	}

	// What cannot be written for 15 minutes is dropped.
	r.Observe(s, 1)
	st.setFail(errors.New("nats down"))
	_ = r.Flush(t.Context())
	clk.Set(t0.Add(16 * time.Minute))
	r.Observe(s, 2)
	_ = r.Flush(t.Context())
	st.setFail(nil)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ds := st.datums()[1:]
	if len(ds) != 1 || !ds[0].Minute.Equal(t0.Add(16*time.Minute)) || ds[0].Sum != 2 {
		t.Fatalf("datums after 16 minutes of failures %+v, want only the 12:16 one", ds)
	}
}

func TestShardLevelDropsSeries(t *testing.T) {
	r, st, _ := newTest(t)
	for _, m := range []string{"IncomingBytes", "IteratorAgeMilliseconds", "OutgoingRecords"} {
		s := kin("s1", m)
		s.Shard = "shardId-000000000000"
		r.Observe(s, 1)
	}
	r.Observe(kin("s1", "IncomingBytes"), 1)
	other := kin("s2", "IteratorAgeMilliseconds")
	other.Shard = "shardId-000000000000"
	r.Observe(other, 1)

	r.SetShardLevel("000000000000", "us-east-1", "s1", []string{"IncomingBytes"})
	keys := seriesKeys(r)
	want := []string{
		"s1//IncomingBytes", "s1/shardId-000000000000/IncomingBytes",
		"s2/shardId-000000000000/IteratorAgeMilliseconds",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("series %v, want %v", keys, want)
	}
	// What the dropped series counted is still flushed.
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.datums()); n != 5 {
		t.Errorf("%d datums, want 5", n)
	}

	r.SetShardLevel("000000000000", "us-east-1", "s1", nil)
	r.DropStream(Kinesis, "000000000000", "us-east-1", "s2")
	if keys := seriesKeys(r); !slices.Equal(keys, []string{"s1//IncomingBytes"}) {
		t.Fatalf("series %v", keys)
	}
	r.DropStream(Firehose, "000000000000", "us-east-1", "s1") // other namespace
	if keys := seriesKeys(r); len(keys) != 1 {
		t.Fatalf("series %v", keys)
	}
	r.DropStream(Kinesis, "000000000000", "us-east-1", "s1")
	if keys := seriesKeys(r); len(keys) != 0 {
		t.Fatalf("series %v", keys)
	}
}

func seriesKeys(r *Registry) []string {
	var keys []string
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for s := range sh.m {
			keys = append(keys, s.Stream+"/"+s.Shard+"/"+s.Metric)
		}
		sh.mu.RUnlock()
	}
	slices.Sort(keys)
	return keys
}

func TestRunFlushesAtEnd(t *testing.T) {
	st := &fakeStore{}
	r := New(Config{Store: st, FlushInterval: time.Hour})
	r.Observe(kin("s1", "IncomingRecords"), 7)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	cancel()
	<-done
	if ds := st.datums(); len(ds) != 1 || ds[0].Sum != 7 {
		t.Fatalf("datums after Run %+v", ds)
	}
}

func TestRunFlushesOnTick(t *testing.T) {
	st := &fakeStore{}
	r := New(Config{Store: st, FlushInterval: time.Millisecond})
	r.Observe(kin("s1", "IncomingRecords"), 7)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	for len(st.datums()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if ds := st.datums(); len(ds) != 1 || ds[0].Sum != 7 {
		t.Fatalf("datums %+v", ds)
	}
}

func TestNilRegistry(t *testing.T) {
	var r *Registry
	r.Observe(kin("s1", "IncomingBytes"), 1)
	r.SetShardLevel("a", "r", "s", nil)
	r.DropStream(Kinesis, "a", "r", "s")
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Run(ctx)
}

func TestNoStore(t *testing.T) {
	r := New(Config{})
	r.Observe(kin("s1", "IncomingBytes"), 1)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	r := New(Config{Store: &fakeStore{}})
	s := kin("s1", "GetRecords.Latency")
	r.Observe(s, 1)
	if n := testing.AllocsPerRun(1000, func() { r.Observe(s, 3) }); n != 0 {
		t.Fatalf("Observe allocates %v times per call", n)
	}
}

func TestConcurrent(t *testing.T) {
	st := &fakeStore{}
	r := New(Config{Store: st})
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				s := kin(fmt.Sprintf("s%d", w%3), "IncomingRecords")
				r.Observe(s, 1)
				s.Shard = fmt.Sprintf("shardId-%012d", i%4)
				r.Observe(s, 1)
				r.Observe(kin("s1", "GetRecords.Latency"), float64(i%50))
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = r.Flush(t.Context())
			_ = gatherText(t, r)
		}
	})
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.SetShardLevel("000000000000", "us-east-1", "s9", nil) // touches no series
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var stream, shard, lat float64
	for _, d := range st.datums() {
		switch {
		case d.Metric == "GetRecords.Latency":
			lat += d.SampleCount
		case len(d.Dimensions) == 2:
			shard += d.Sum
		default:
			stream += d.Sum
		}
	}
	if stream != workers*each || shard != workers*each || lat != workers*each {
		t.Fatalf("flushed stream %v shard %v latency samples %v, want %d each", stream, shard, lat, workers*each)
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New(Config{Store: &fakeStore{}})
	ss := []Series{kin("s1", "IncomingRecords"), kin("s1", "IncomingBytes"), kin("s2", "PutRecords.Latency"), kin("s3", "PutRecords.Success")}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Observe(ss[i%len(ss)], 100)
			i++
		}
	})
}

func FuzzObserve(f *testing.F) {
	f.Add(Kinesis, "s1", "", "", "IncomingBytes", 1.0)
	f.Add(Kinesis, "s1", "shardId-000000000000", "", "IteratorAgeMilliseconds", 0.0)
	f.Add(Kinesis, "s1", "", "app", "SubscribeToShard.Success", 1.0)
	f.Add(Firehose, "d", "", "", "DeliveryToS3.Success", -3.5)
	f.Add("x", "", "a", "b", "", 1e300)
	f.Add(Kinesis, "\xff", "", "", "IncomingBytes", 1.0)
	f.Fuzz(func(t *testing.T, ns, stream, shard, consumer, metric string, v float64) {
		r := New(Config{Store: &fakeStore{}})
		r.Observe(Series{Namespace: ns, Account: "1", Region: "r", Stream: stream, Shard: shard, Consumer: consumer, Metric: metric}, v)
		_ = gatherText(t, r)
		_ = r.Flush(t.Context())
	})
}
