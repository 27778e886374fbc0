package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// defIndex is each definition's index in defs.
var defIndex = func() map[*Def]int {
	m := make(map[*Def]int, len(defs))
	for i := range defs {
		m[&defs[i]] = i
	}
	return m
}()

// descs are the Prometheus descriptions of defs, by index.
var descs = func() []*prometheus.Desc {
	ds := make([]*prometheus.Desc, len(defs))
	for i, d := range defs {
		ds[i] = prometheus.NewDesc(d.Prom, d.Help, d.Labels(), nil)
	}
	return ds
}()

// Describe implements prometheus.Collector.
func (r *Registry) Describe(ch chan<- *prometheus.Desc) {
	if r == nil {
		return
	}
	for _, d := range descs {
		ch <- d
	}
}

type snapshot struct {
	s       Series
	idx     int
	count   uint64
	sum     float64
	last    float64
	buckets []uint64
}

// Collect implements prometheus.Collector.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	if r == nil {
		return
	}
	// Copy first: a slow scraper must not hold locks the hot path takes.
	var snaps []snapshot
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for s, se := range sh.m {
			se.mu.Lock()
			sn := snapshot{s: s, idx: se.idx, count: se.count, sum: se.sum, last: se.last}
			if se.buckets != nil {
				sn.buckets = append([]uint64(nil), se.buckets...)
			}
			se.mu.Unlock()
			snaps = append(snaps, sn)
		}
		sh.mu.RUnlock()
	}
	for _, sn := range snaps {
		emit(ch, sn)
	}
}

func emit(ch chan<- prometheus.Metric, sn snapshot) {
	d := &defs[sn.idx]
	desc := descs[sn.idx]
	scale := d.Scale
	if scale == 0 {
		scale = 1
	}
	var lv []string
	switch {
	case d.Namespace == Firehose:
		lv = []string{sn.s.Account, sn.s.Region, sn.s.Stream}
	case d.Levels&LevelConsumer != 0:
		lv = []string{sn.s.Account, sn.s.Region, sn.s.Stream, sn.s.Consumer}
	case d.Levels&LevelShard != 0:
		lv = []string{sn.s.Account, sn.s.Region, sn.s.Stream, sn.s.Shard}
	default:
		lv = []string{sn.s.Account, sn.s.Region, sn.s.Stream}
	}
	// Series are checked when created, so these do not fail; a metric
	// that did would be left out rather than fail the scrape.
	send := func(m prometheus.Metric, err error) {
		if err == nil {
			ch <- m
		}
	}
	switch d.Kind {
	case KindCounter:
		send(prometheus.NewConstMetric(desc, prometheus.CounterValue, sn.sum*scale, lv...))
	case KindSuccess:
		ok := sn.sum
		failed := float64(sn.count) - ok
		send(prometheus.NewConstMetric(desc, prometheus.CounterValue, ok, append(lv, "success")...))
		send(prometheus.NewConstMetric(desc, prometheus.CounterValue, max(failed, 0), append(lv, "failure")...))
	case KindGauge:
		send(prometheus.NewConstMetric(desc, prometheus.GaugeValue, sn.last*scale, lv...))
	case KindHistogram:
		bs := make(map[float64]uint64, len(latencyBuckets))
		var cum uint64
		for i, b := range latencyBuckets {
			cum += sn.buckets[i]
			bs[b] = cum
		}
		send(prometheus.NewConstHistogram(desc, sn.count, sn.sum*scale, bs, lv...))
	}
}
