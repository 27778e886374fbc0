package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"github.com/rivulet/rivulet/internal/wire"
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
// every record put must come back through SubscribeToShard, with a
// latency no lower than zero and no higher than the wait allowed.
func TestMeasure(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := natsstore.Open(context.Background(), natsstore.Config{DataDir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	svc := kinesis.New(st, kinesis.Config{CreateDelay: -1, DeleteDelay: -1, ConsumerCreateDelay: -1, ConsumerDeleteDelay: -1, Logger: log})
	srv := httptest.NewServer(wire.NewHandler(svc.Operations(), log))
	defer func() { srv.CloseClientConnections(); srv.Close(); svc.Close(); st.Close() }()

	conn := client.Config{Endpoint: srv.URL, Region: "us-east-1", LookupEnv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := measure(ctx, conn, "lat", 2, 100, 500*time.Millisecond, 32, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Shards != 2 || res.Put < 30 || res.PutErrors != 0 {
		t.Fatalf("put: %+v", res)
	}
	if res.Received != res.Put || res.Missing != 0 || res.Duplicates != 0 {
		t.Fatalf("delivery: %+v", res)
	}
	if res.LatencyP50 <= 0 || res.LatencyP50 > res.LatencyP99 || res.LatencyP99 > res.LatencyMax || res.LatencyMax > 5000 {
		t.Fatalf("latencies: %+v", res)
	}
}
