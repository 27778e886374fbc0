package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gathered indexes a gather's gauges by family name and label set
// ("k=v,k=v" in label-name order).
func gathered(t *testing.T, mfs []*dto.MetricFamily) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is %v, want a gauge", mf.GetName(), mf.GetType())
		}
		m := map[string]float64{}
		for _, metric := range mf.GetMetric() {
			var ls []string
			for _, lp := range metric.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			m[strings.Join(ls, ",")] = metric.GetGauge().GetValue()
		}
		out[mf.GetName()] = m
	}
	return out
}

func TestHealthCollector(t *testing.T) {
	var gotDeadline bool
	src := HealthSource{
		Storage: func(ctx context.Context) ([]StreamStorage, error) {
			_, gotDeadline = ctx.Deadline()
			return []StreamStorage{
				{Account: "111122223333", Region: "us-east-1", Stream: "orders", Kind: StorageStream, Bytes: 1000, Messages: 10},
				// A second entry with the same labels is summed, not
				// reported twice (which would fail the gather).
				{Account: "111122223333", Region: "us-east-1", Stream: "orders", Kind: StorageStream, Bytes: 24, Messages: 2},
				{Account: "111122223333", Region: "eu-west-1", Stream: "orders", Kind: StorageStream, Bytes: 5, Messages: 1},
				{Account: "111122223333", Region: "us-east-1", Stream: "orders", Kind: StorageDeliveryStream, Bytes: 77, Messages: 3},
			}, nil
		},
		Connections: func() map[string]int64 { return map[string]int64{"plain": 3, "TLS": 1, "admin": 0} },
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewHealth(src))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline {
		t.Error("storage read without a deadline")
	}
	got := gathered(t, mfs)
	want := map[string]map[string]float64{
		"rivulet_storage_bytes": {
			"account=111122223333,kind=stream,region=us-east-1,stream=orders":          1024,
			"account=111122223333,kind=stream,region=eu-west-1,stream=orders":          5,
			"account=111122223333,kind=delivery_stream,region=us-east-1,stream=orders": 77,
		},
		"rivulet_storage_messages": {
			"account=111122223333,kind=stream,region=us-east-1,stream=orders":          12,
			"account=111122223333,kind=stream,region=eu-west-1,stream=orders":          1,
			"account=111122223333,kind=delivery_stream,region=us-east-1,stream=orders": 3,
		},
		"rivulet_connections": {"listener=plain": 3, "listener=TLS": 1, "listener=admin": 0},
	}
	if len(got) != len(want) {
		t.Errorf("families %v, want %v", keys(got), keys(want))
	}
	for name, series := range want {
		for labels, v := range series {
			if g, ok := got[name][labels]; !ok || g != v {
				t.Errorf("%s{%s} = %v (present %v), want %v", name, labels, g, ok, v)
			}
		}
		if len(got[name]) != len(series) {
			t.Errorf("%s has %d series, want %d: %v", name, len(got[name]), len(series), got[name])
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// A storage error is reported by the gather, and the connections are
// still there beside it.
func TestHealthStorageError(t *testing.T) {
	src := HealthSource{
		Storage:     func(ctx context.Context) ([]StreamStorage, error) { return nil, errors.New("nats down") },
		Connections: func() map[string]int64 { return map[string]int64{"plain": 2} },
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewHealth(src))
	mfs, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "nats down") {
		t.Fatalf("gather error %v, want nats down", err)
	}
	got := gathered(t, mfs)
	if got["rivulet_connections"]["listener=plain"] != 2 {
		t.Errorf("connections lost with the storage error: %v", got)
	}
	if _, ok := got["rivulet_storage_bytes"]; ok {
		t.Errorf("storage reported despite the error: %v", got)
	}
}

// A storage read that hangs is cut off by the collector's deadline, so
// the scrape returns.
func TestHealthStorageTimeout(t *testing.T) {
	h := newHealth(HealthSource{Storage: func(ctx context.Context) ([]StreamStorage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	h.timeout = 10 * time.Millisecond
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	if _, err := reg.Gather(); !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "deadline")) {
		t.Fatalf("gather error %v, want a deadline", err)
	}
}

// Without sources the collector reports nothing.
func TestHealthNoSources(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewHealth(HealthSource{}))
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 0 {
		t.Fatalf("gather %v, %v; want nothing", mfs, err)
	}
}
