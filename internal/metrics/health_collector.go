package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storageTimeout bounds the storage read of one scrape: Prometheus waits
// 10 s by default, and process and Go metrics should still arrive when
// NATS is slow.
const storageTimeout = 3 * time.Second

var (
	storageLabels = []string{"account", "region", "stream", "kind"}
	storageBytes  = prometheus.NewDesc("rivulet_storage_bytes",
		"Bytes JetStream stores for a Kinesis stream (all its shards) or a Firehose delivery stream's DirectPut buffer.",
		storageLabels, nil)
	storageMessages = prometheus.NewDesc("rivulet_storage_messages",
		"JetStream messages (record batches) stored for a Kinesis stream or a Firehose delivery stream's DirectPut buffer.",
		storageLabels, nil)
	connections = prometheus.NewDesc("rivulet_connections",
		"Connections open on a listener (plain, TLS, admin).",
		[]string{"listener"}, nil)
)

type health struct {
	src     HealthSource
	timeout time.Duration
}

func newHealth(src HealthSource) *health { return &health{src: src, timeout: storageTimeout} }

// Describe implements prometheus.Collector.
func (h *health) Describe(ch chan<- *prometheus.Desc) {
	if h.src.Storage != nil {
		ch <- storageBytes
		ch <- storageMessages
	}
	if h.src.Connections != nil {
		ch <- connections
	}
}

// Collect implements prometheus.Collector. Storage is read now, within
// timeout; a failure becomes an invalid metric, which promhttp reports
// while still serving the rest.
func (h *health) Collect(ch chan<- prometheus.Metric) {
	if h.src.Connections != nil {
		for listener, n := range h.src.Connections() {
			ch <- prometheus.MustNewConstMetric(connections, prometheus.GaugeValue, float64(n), listener)
		}
	}
	if h.src.Storage == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	list, err := h.src.Storage(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(storageBytes, err)
		return
	}
	// Sum entries with the same labels: two with equal labels would fail
	// the whole gather.
	type key struct{ account, region, stream, kind string }
	type sum struct{ bytes, msgs uint64 }
	sums := make(map[key]sum, len(list))
	order := make([]key, 0, len(list))
	for _, s := range list {
		k := key{s.Account, s.Region, s.Stream, s.Kind}
		v, ok := sums[k]
		if !ok {
			order = append(order, k)
		}
		sums[k] = sum{v.bytes + s.Bytes, v.msgs + s.Messages}
	}
	for _, k := range order {
		v := sums[k]
		ch <- prometheus.MustNewConstMetric(storageBytes, prometheus.GaugeValue, float64(v.bytes), k.account, k.region, k.stream, k.kind)
		ch <- prometheus.MustNewConstMetric(storageMessages, prometheus.GaugeValue, float64(v.msgs), k.account, k.region, k.stream, k.kind)
	}
}
