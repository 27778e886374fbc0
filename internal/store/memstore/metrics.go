package memstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
	"weak"

	"github.com/rivulet/rivulet/internal/store"
)

var _ store.Metrics = (*Store)(nil)

// metricRetention is how long datums are kept, counted from their Minute
// on the storage's clock (Config.Now); natsstore's default.
const metricRetention = 24 * time.Hour

// metricPrune is how often, on the storage's clock, PutMetrics drops
// expired datums.
const metricPrune = time.Minute

// metricSeries is what natsstore stores one message per: reads look
// only at the series of their account, region, namespace and stream.
type metricSeries struct{ account, region, namespace, stream string }

// metricData is one storage's datums.
type metricData struct {
	mu     sync.Mutex
	series map[metricSeries][]store.MetricDatum
	pruned time.Time
}

// metricsOf finds a storage's datums. They live beside the storage
// rather than in it, keyed weakly, so a storage that is dropped takes
// them with it.
var metricsOf = struct {
	sync.Mutex
	m map[weak.Pointer[storage]]*metricData
}{m: map[weak.Pointer[storage]]*metricData{}}

func (st *storage) metrics() *metricData {
	wp := weak.Make(st)
	metricsOf.Lock()
	defer metricsOf.Unlock()
	d := metricsOf.m[wp]
	if d == nil {
		d = &metricData{series: map[metricSeries][]store.MetricDatum{}}
		metricsOf.m[wp] = d
		runtime.AddCleanup(st, func(wp weak.Pointer[storage]) {
			metricsOf.Lock()
			delete(metricsOf.m, wp)
			metricsOf.Unlock()
		}, wp)
	}
	return d
}

// metricStream is the datum's stream: its first StreamName or
// DeliveryStreamName dimension, as in natsstore.
func metricStream(d *store.MetricDatum) (string, bool) {
	for _, dim := range d.Dimensions {
		if dim.Name == "StreamName" || dim.Name == "DeliveryStreamName" {
			return dim.Value, true
		}
	}
	return "", false
}

// checkDatum refuses what natsstore cannot store or find again.
func checkDatum(d *store.MetricDatum) error {
	if d.Account == "" || d.Region == "" || d.Namespace == "" || d.Metric == "" {
		return fmt.Errorf("memstore: incomplete metric datum %s/%s/%s/%s", d.Account, d.Region, d.Namespace, d.Metric)
	}
	if name, ok := metricStream(d); !ok || name == "" {
		return fmt.Errorf("memstore: metric %s has no StreamName or DeliveryStreamName dimension", d.Metric)
	}
	if d.Minute.IsZero() {
		return fmt.Errorf("memstore: metric %s has no minute", d.Metric)
	}
	return nil
}

// cloneDatum copies the dimensions, which callers may change, and keeps
// the minute in UTC to the millisecond, as natsstore returns it.
func cloneDatum(d store.MetricDatum) store.MetricDatum {
	d.Dimensions = slices.Clone(d.Dimensions)
	d.Minute = time.UnixMilli(d.Minute.UnixMilli()).UTC()
	return d
}

// PutMetrics implements store.Metrics. A bad datum stores nothing.
func (s *Store) PutMetrics(ctx context.Context, ds []store.MetricDatum) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	for i := range ds {
		if err := checkDatum(&ds[i]); err != nil {
			return fmt.Errorf("%w (datum %d)", err, i)
		}
	}
	now := s.st.now()
	m := s.st.metrics()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.pruned) >= metricPrune {
		m.pruneLocked(now.Add(-metricRetention))
		m.pruned = now
	}
	for _, d := range ds {
		name, _ := metricStream(&d)
		k := metricSeries{d.Account, d.Region, d.Namespace, name}
		m.series[k] = append(m.series[k], cloneDatum(d))
	}
	return nil
}

func (m *metricData) pruneLocked(cutoff time.Time) {
	for k, ds := range m.series {
		ds = slices.DeleteFunc(ds, func(d store.MetricDatum) bool { return d.Minute.Before(cutoff) })
		if len(ds) == 0 {
			delete(m.series, k)
			continue
		}
		m.series[k] = ds
	}
}

// ReadMetrics implements store.Metrics.
func (s *Store) ReadMetrics(ctx context.Context, q store.MetricQuery) ([]store.MetricDatum, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if q.Account == "" || q.Region == "" || q.Namespace == "" {
		return nil, errors.New("memstore: metric query without account, region or namespace")
	}
	out := []store.MetricDatum{}
	if !q.From.Before(q.To) {
		return out, nil
	}
	cutoff := s.st.now().Add(-metricRetention)
	m := s.st.metrics()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, ds := range m.series {
		if k.account != q.Account || k.region != q.Region || k.namespace != q.Namespace ||
			q.Stream != "" && k.stream != q.Stream {
			continue
		}
		for _, d := range ds {
			if q.Metric != "" && d.Metric != q.Metric || d.Minute.Before(q.From) || !d.Minute.Before(q.To) ||
				d.Minute.Before(cutoff) {
				continue
			}
			out = append(out, cloneDatum(d))
		}
	}
	return out, nil
}
