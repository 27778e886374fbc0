package main

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuantile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct{ q, want float64 }{{.5, 50}, {.99, 99}, {1, 100}, {0, 1}} {
		if got := quantile(ds, c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if quantile(nil, .5) != 0 || mean(nil) != 0 {
		t.Error("empty input")
	}
	if got := mean([]time.Duration{time.Millisecond, 3 * time.Millisecond}); got != 2 {
		t.Errorf("mean = %v", got)
	}
}

// TestMeasure runs the whole measurement against Rivulet in-process:
// every record put must come back through SubscribeToShard exactly once,
// with latencies in order. It asserts no rate and no latency bound: the
// machine may be slow at any moment, and the grace period is long.
func TestMeasure(t *testing.T) {
	srv, err := rivulet.Start(context.Background(), rivulet.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	conn := client.Config{Endpoint: srv.Endpoint(), Region: "us-east-1", LookupEnv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := measure(ctx, conn, "lat", 2, 100, 500*time.Millisecond, 32, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Shards != 2 || res.Put < 1 || res.PutErrors != 0 {
		t.Fatalf("put: %+v", res)
	}
	if res.Received != res.Put || res.Missing != 0 || res.Duplicates != 0 {
		t.Fatalf("delivery: %+v", res)
	}
	if res.LatencyP50 < 0 || res.LatencyP50 > res.LatencyP99 || res.LatencyP99 > res.LatencyMax {
		t.Fatalf("latencies: %+v", res)
	}
}
