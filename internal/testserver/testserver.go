// Package testserver runs a whole Rivulet in-process — embedded in-memory
// JetStream, the service and the wire adapter on an httptest server — for
// tests that need a real Kinesis endpoint without a subprocess.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"github.com/rivulet/rivulet/internal/wire"
)

// Start runs a server until tb ends and returns its URL. Stream, reshard
// and consumer transitions are immediate unless cfg sets them; logs are
// discarded unless cfg has a Logger.
func Start(tb testing.TB, cfg kinesis.Config) string {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	immediate(&cfg)
	st, err := natsstore.Open(context.Background(), natsstore.Config{InMemory: true, Logger: cfg.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	svc := kinesis.New(st, cfg)
	srv := httptest.NewServer(wire.NewHandler(svc.Operations(), cfg.Logger))
	tb.Cleanup(func() {
		srv.Close()
		svc.Close()
		st.Close()
	})
	return srv.URL
}

// immediate turns unset delays into "no delay" (kinesis.Config reads zero
// as its default).
func immediate(cfg *kinesis.Config) {
	for _, d := range []*int64{
		(*int64)(&cfg.CreateDelay), (*int64)(&cfg.DeleteDelay), (*int64)(&cfg.ReshardDelay),
		(*int64)(&cfg.ConsumerCreateDelay), (*int64)(&cfg.ConsumerDeleteDelay),
	} {
		if *d == 0 {
			*d = -1
		}
	}
}
