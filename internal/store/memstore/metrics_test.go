package memstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestMetricsContract(t *testing.T) {
	storetest.RunMetrics(t, func(*testing.T) store.Metrics { return New(Config{}) })
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func datum(stream string, minute time.Time) store.MetricDatum {
	return store.MetricDatum{Account: "111122223333", Region: "us-east-1", Namespace: "AWS/Kinesis", Metric: "IncomingRecords",
		Dimensions: []store.Dimension{{Name: "StreamName", Value: stream}}, Unit: "Count", Minute: minute, SampleCount: 1, Sum: 1, Min: 1, Max: 1}
}

// Datums expire by their minute's age on the storage's clock, from reads
// at once and from memory at the next prune.
func TestMetricsRetention(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 30, 0, time.UTC)}
	s := New(Config{Now: clock.Now})
	ctx := context.Background()
	old := clock.now.Truncate(time.Minute).Add(-10 * time.Minute)
	if err := s.PutMetrics(ctx, []store.MetricDatum{datum("old", old), datum("new", old.Add(5*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	q := store.MetricQuery{Account: "111122223333", Region: "us-east-1", Namespace: "AWS/Kinesis", From: old, To: old.Add(time.Hour)}
	read := func() int {
		t.Helper()
		ds, err := s.ReadMetrics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if n := read(); n != 2 {
		t.Fatalf("read %d datums, want 2", n)
	}
	clock.add(metricRetention - 7*time.Minute) // "old" is now 24h+3m old, "new" 23h58m
	if n := read(); n != 1 {
		t.Fatalf("after the first expiry: %d datums, want 1", n)
	}
	clock.add(5 * time.Minute)
	if n := read(); n != 0 {
		t.Fatalf("after both expired: %d datums, want 0", n)
	}
	if err := s.PutMetrics(ctx, []store.MetricDatum{datum("fresh", clock.now.Truncate(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	m := s.st.metrics()
	m.mu.Lock()
	n := len(m.series)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d series kept after a prune, want 1", n)
	}
}

// Handles from Open share datums, as processes on one NATS do.
func TestMetricsSharedAcrossHandles(t *testing.T) {
	a := New(Config{})
	b := a.Open()
	ctx := context.Background()
	minute := time.Now().UTC().Truncate(time.Minute)
	if err := a.PutMetrics(ctx, []store.MetricDatum{datum("s", minute)}); err != nil {
		t.Fatal(err)
	}
	if err := b.PutMetrics(ctx, []store.MetricDatum{datum("s", minute)}); err != nil {
		t.Fatal(err)
	}
	q := store.MetricQuery{Account: "111122223333", Region: "us-east-1", Namespace: "AWS/Kinesis", From: minute, To: minute.Add(time.Minute)}
	for _, h := range []*Store{a, b} {
		if ds, err := h.ReadMetrics(ctx, q); err != nil || len(ds) != 2 {
			t.Errorf("read %d datums, %v; want 2", len(ds), err)
		}
	}
	if ds, err := New(Config{}).ReadMetrics(ctx, q); err != nil || len(ds) != 0 {
		t.Errorf("fresh storage reads %d datums, %v", len(ds), err)
	}
	b.Close()
	if err := b.PutMetrics(ctx, []store.MetricDatum{datum("s", minute)}); err != store.ErrClosed {
		t.Errorf("PutMetrics on a closed handle: %v", err)
	}
	if ds, err := a.ReadMetrics(ctx, q); err != nil || len(ds) != 2 {
		t.Errorf("the open handle reads %d datums, %v; want 2", len(ds), err)
	}
}
