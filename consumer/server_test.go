package consumer_test

import (
	"context"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/consumer"
)

// See export_test.go: the package's own tests start servers through this.
func init() {
	consumer.StartTestServer = func(ctx context.Context, c consumer.ServerConfig) (consumer.TestServer, error) {
		return rivulet.Start(ctx, rivulet.Config{AWSLimits: c.AWSLimits, Faults: c.Faults, Clock: c.Clock})
	}
}
