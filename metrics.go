package rivulet

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store/natsstore"
)

// promHandler is /metrics: the registry's AWS metrics under Prometheus
// names, server health, and process and Go metrics.
func promHandler(reg *metrics.Registry, st *natsstore.Store, conns func() map[string]int64) http.Handler {
	pr := prometheus.NewRegistry()
	pr.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		metrics.NewHealth(metrics.HealthSource{Storage: st.StreamStorage, Connections: conns}),
	)
	if reg != nil {
		pr.MustRegister(reg)
	}
	h := promhttp.HandlerFor(pr, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return h
}
