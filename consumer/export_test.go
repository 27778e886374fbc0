package consumer

import (
	"context"
	"time"
)

// The tests of this package need a Rivulet server, but the server package
// imports this one (its delivery engine reads Kinesis sources with it), so
// they cannot import it. server_test.go, an external test file that may,
// sets StartTestServer before any test runs.

// ServerConfig is the part of rivulet.Config the tests set.
type ServerConfig struct {
	AWSLimits bool
	Faults    string
	Clock     func() time.Time
}

// TestServer is a running rivulet.Server.
type TestServer interface {
	Endpoint() string
	Close() error
}

// StartTestServer is rivulet.Start.
var StartTestServer func(ctx context.Context, cfg ServerConfig) (TestServer, error)
