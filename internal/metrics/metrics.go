// Package metrics counts what the server does under AWS's CloudWatch
// metric names, keeps one-minute datapoints in the store for the
// CloudWatch-compatible read API, and exposes the same counts to
// Prometheus.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// Namespaces of the metrics counted here.
const (
	Kinesis  = "AWS/Kinesis"
	Firehose = "AWS/Firehose"
)

// Series names one time series: a metric of one stream, or of one shard
// or enhanced fan-out consumer of it. It is comparable, so it keys maps.
type Series struct {
	Namespace string
	Account   string
	Region    string
	// Stream is the StreamName (AWS/Kinesis) or DeliveryStreamName
	// (AWS/Firehose) dimension.
	Stream string
	// Shard is the ShardId dimension of a shard-level metric;
	// Consumer the ConsumerName of an enhanced fan-out metric.
	Shard    string
	Consumer string
	// Metric is AWS's name, such as "IncomingRecords" or
	// "GetRecords.Latency".
	Metric string
}

// Config tunes a Registry.
type Config struct {
	// Store keeps the datapoints for the CloudWatch API; nil keeps none
	// (Prometheus still works).
	Store store.Metrics
	// FlushInterval is how often Run writes what was counted since the
	// last flush; 0 means 10 s. Datums of one minute from several
	// flushes merge when read.
	FlushInterval time.Duration
	Logger        *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Registry counts samples per series. Every method is safe for
// concurrent use, and a nil *Registry does nothing (metrics off).
type Registry struct {
	impl
}

// New returns a registry.
func New(cfg Config) *Registry { return newRegistry(cfg) }

// Observe adds one sample v to series s: a record count, a byte count, a
// latency in milliseconds, 1 or 0 for a success or throttle, an age in
// milliseconds, as the metric's definition says. It is on the hot path:
// a map lookup and a few atomic or locked adds, no allocation for a
// series seen before.
func (r *Registry) Observe(s Series, v float64) {
	if r == nil {
		return
	}
	r.observe(s, v)
}

// SetShardLevel tells the registry which shard-level metrics are enabled
// for a Kinesis stream (EnableEnhancedMonitoring's current set, "ALL"
// expanded). Series of shard-level metrics no longer enabled are dropped
// from Prometheus and no longer flushed.
func (r *Registry) SetShardLevel(account, region, stream string, enabled []string) {
	if r == nil {
		return
	}
	r.setShardLevel(account, region, stream, enabled)
}

// DropStream forgets every series of a stream (it was deleted).
func (r *Registry) DropStream(namespace, account, region, stream string) {
	if r == nil {
		return
	}
	r.dropStream(namespace, account, region, stream)
}

// Flush writes what was counted since the last flush to the store, one
// datum per series with samples.
func (r *Registry) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.flush(ctx)
}

// Run flushes every FlushInterval until ctx ends, then once more with a
// short deadline of its own.
func (r *Registry) Run(ctx context.Context) {
	if r == nil {
		return
	}
	r.run(ctx)
}

// ShardLevel reports whether metric is in a stream's enabled shard-level
// set (store.Stream.ShardLevelMetrics), which may hold "ALL".
func ShardLevel(enabled []string, metric string) bool {
	for _, m := range enabled {
		if m == metric || m == "ALL" {
			return true
		}
	}
	return false
}

// ShardLevelMetrics are the names EnableEnhancedMonitoring accepts,
// besides "ALL".
var ShardLevelMetrics = []string{
	"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
	"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
	"IteratorAgeMilliseconds",
}
