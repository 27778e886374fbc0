// Package testserver starts a Rivulet for a test through the public
// rivulet package, the one place a server is assembled, and stops it when
// the test ends.
package testserver

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/client"
)

// Start runs a server with cfg until tb ends and returns its endpoint.
// The zero Config is in memory, with every transition immediate.
func Start(tb testing.TB, cfg rivulet.Config) string {
	tb.Helper()
	srv, err := rivulet.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("closing the test server: %v", err)
		}
	})
	return srv.Endpoint()
}

// Client starts a server with cfg and returns an SDK client for it that
// does not retry, so a test sees every error.
func Client(tb testing.TB, cfg rivulet.Config) *kinesis.Client {
	tb.Helper()
	kc, err := client.New(client.Config{Endpoint: Start(tb, cfg), Region: "us-east-1", MaxAttempts: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return kc
}
