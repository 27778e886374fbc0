// Package testserver starts a Rivulet for a test through the public
// rivulet package, the one place a server is assembled, and stops it when
// the test ends.
package testserver

import (
	"context"
	"testing"

	"github.com/rivulet/rivulet"
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
