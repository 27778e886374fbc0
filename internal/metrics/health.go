package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// StreamStorage is what JetStream holds for one log.
type StreamStorage struct {
	Account, Region string
	// Stream is the Kinesis stream's or delivery stream's name; Kind is
	// "stream" or "delivery_stream".
	Stream string
	Kind   string
	Bytes  uint64
	// Messages counts stored JetStream messages (record batches).
	Messages uint64
}

// Kinds of StreamStorage.
const (
	StorageStream         = "stream"
	StorageDeliveryStream = "delivery_stream"
)

// HealthSource is what the server-health metrics read at scrape time.
type HealthSource struct {
	// Storage lists the bytes stored per stream; nil leaves them out.
	Storage func(ctx context.Context) ([]StreamStorage, error)
	// Connections counts open connections per listener ("plain", "TLS",
	// "admin"); nil leaves them out.
	Connections func() map[string]int64
}

// NewHealth returns the collector of server health: storage per stream
// and connections. Process and Go metrics come from client_golang's own
// collectors, registered beside it.
func NewHealth(src HealthSource) prometheus.Collector { return newHealth(src) }
