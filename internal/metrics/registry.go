package metrics

import (
	"context"
	"hash/maphash"
	"log/slog"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rivulet/rivulet/internal/store"
)

const (
	defaultFlush = 10 * time.Second
	// finalFlush bounds the flush Run makes when its context ends.
	finalFlush = 5 * time.Second
	// maxBacklog is how far back datums that failed to flush are kept for
	// the next attempt; older ones are dropped so a dead store cannot
	// grow memory without bound.
	maxBacklog = 15 * time.Minute
	// nShards spreads series over locks so writers of different streams
	// and metrics do not meet on one RWMutex.
	nShards = 32
)

// impl is the registry's state (embedded in Registry).
type impl struct {
	store    store.Metrics
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
	seed     maphash.Seed

	shards [nShards]shard

	// unknown remembers which bad metric names were logged.
	unknown sync.Map

	// flushMu makes flushes one at a time.
	flushMu sync.Mutex
	// backlog holds datums to write on the next flush: those of a failed
	// flush and those of dropped series.
	backlogMu sync.Mutex
	backlog   map[backlogKey]store.MetricDatum
}

type shard struct {
	mu sync.RWMutex
	m  map[Series]*series
	// snap is a copy of m for Observe, replaced whenever m changes:
	// series are added and dropped rarely, and reading it takes no lock
	// that callers on other cores would contend for.
	snap atomic.Pointer[map[Series]*series]
	_    [32]byte // keeps neighbouring shards' locks off one cache line
}

// publish replaces the snapshot after m changed; sh.mu is held.
func (sh *shard) publish() {
	cp := maps.Clone(sh.m)
	sh.snap.Store(&cp)
}

type backlogKey struct {
	s      Series
	minute int64
}

// series is one time series: samples not yet flushed, by minute, and the
// running totals Prometheus reads.
type series struct {
	def *Def
	idx int // of def in defs

	mu      sync.Mutex
	dead    bool // dropped from the map: samples are ignored
	minutes []stats
	count   uint64
	sum     float64
	last    float64
	buckets []uint64 // per bound in latencyBuckets, then +Inf; histograms only
}

// stats is a CloudWatch statistic set of one minute.
type stats struct {
	minute             int64 // Unix seconds of the minute's start
	count, sum, lo, hi float64
}

func (st *stats) add(v float64) {
	if st.count == 0 {
		st.lo, st.hi = v, v
	} else {
		st.lo, st.hi = min(st.lo, v), max(st.hi, v)
	}
	st.count++
	st.sum += v
}

// latencyBuckets are the histogram bounds in seconds: from half a
// millisecond (an in-memory put) to ten seconds (a stalled store).
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// latencyBucketsMs are the same bounds in samples' milliseconds.
var latencyBucketsMs = func() []float64 {
	b := make([]float64, len(latencyBuckets))
	for i, s := range latencyBuckets {
		b[i] = s * 1000
	}
	return b
}()

func newRegistry(cfg Config) *Registry {
	r := &Registry{}
	r.store = cfg.Store
	r.interval = cfg.FlushInterval
	if r.interval <= 0 {
		r.interval = defaultFlush
	}
	r.log = cfg.Logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.now = cfg.Now
	if r.now == nil {
		r.now = time.Now
	}
	r.seed = maphash.MakeSeed()
	for i := range r.shards {
		r.shards[i].m = make(map[Series]*series)
	}
	return r
}

func (r *Registry) shardOf(s *Series) *shard {
	h := maphash.String(r.seed, s.Stream) ^ maphash.String(r.seed, s.Metric)
	return &r.shards[h%nShards]
}

func minuteOf(t time.Time) int64 {
	sec := t.Unix()
	return sec - ((sec%60)+60)%60
}

func (r *Registry) observe(s Series, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	sh := r.shardOf(&s)
	var se *series
	if m := sh.snap.Load(); m != nil {
		se = (*m)[s]
	}
	if se == nil {
		if se = r.create(sh, s); se == nil {
			return
		}
	}
	m := minuteOf(r.now())

	se.mu.Lock()
	if se.dead {
		se.mu.Unlock()
		return
	}
	if n := len(se.minutes); n > 0 && se.minutes[n-1].minute == m {
		se.minutes[n-1].add(v)
	} else {
		se.addMinute(m, v)
	}
	se.count++
	se.sum += v
	se.last = v
	if se.buckets != nil {
		i := 0
		for i < len(latencyBucketsMs) && v > latencyBucketsMs[i] {
			i++
		}
		se.buckets[i]++
	}
	se.mu.Unlock()
}

// addMinute adds v to minute m, which is not the latest one held: a new
// minute, or an earlier one when the clock or a racing writer went back.
func (se *series) addMinute(m int64, v float64) {
	for i := range se.minutes {
		if se.minutes[i].minute == m {
			se.minutes[i].add(v)
			return
		}
	}
	st := stats{minute: m}
	st.add(v)
	se.minutes = append(se.minutes, st)
	// Keep the latest minute last, where the fast path looks.
	for i := len(se.minutes) - 1; i > 0 && se.minutes[i-1].minute > se.minutes[i].minute; i-- {
		se.minutes[i-1], se.minutes[i] = se.minutes[i], se.minutes[i-1]
	}
}

// create adds the series s, or returns nil if no definition allows it.
func (r *Registry) create(sh *shard, s Series) *series {
	d, ok := byName[defKey{s.Namespace, s.Metric}]
	if !ok {
		r.logOnce(s, "unknown metric")
		return nil
	}
	if why := invalid(d, s); why != "" {
		r.logOnce(s, why)
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if se := sh.m[s]; se != nil {
		return se
	}
	se := &series{def: d, idx: defIndex[d]}
	if d.Kind == KindHistogram {
		se.buckets = make([]uint64, len(latencyBuckets)+1)
	}
	sh.m[s] = se
	sh.publish()
	return se
}

// invalid says why s's dimensions do not fit d, or "".
func invalid(d *Def, s Series) string {
	switch {
	case s.Account == "" || s.Region == "" || s.Stream == "":
		return "series without account, region or stream"
	case !utf8.ValidString(s.Account) || !utf8.ValidString(s.Region) || !utf8.ValidString(s.Stream) ||
		!utf8.ValidString(s.Shard) || !utf8.ValidString(s.Consumer):
		return "dimension not in UTF-8" // Prometheus would refuse the label
	case s.Shard != "" && s.Consumer != "":
		return "series with both a shard and a consumer"
	case s.Consumer != "" && d.Levels&LevelConsumer == 0:
		return "consumer given to a metric without ConsumerName"
	case s.Consumer == "" && d.Levels == LevelConsumer:
		return "consumer metric without a consumer"
	case s.Shard != "" && d.Levels&LevelShard == 0:
		return "shard given to a metric without ShardId"
	case s.Shard == "" && s.Consumer == "" && d.Levels&LevelStream == 0:
		return "shard-level metric without a shard"
	}
	return ""
}

func (r *Registry) logOnce(s Series, why string) {
	key := s.Namespace + "\x00" + s.Metric + "\x00" + why
	if _, seen := r.unknown.LoadOrStore(key, struct{}{}); !seen {
		r.log.Debug("metrics: sample ignored", "namespace", s.Namespace, "metric", s.Metric, "reason", why)
	}
}

func (r *Registry) setShardLevel(account, region, stream string, enabled []string) {
	r.drop(func(s Series) bool {
		return s.Namespace == Kinesis && s.Account == account && s.Region == region &&
			s.Stream == stream && s.Shard != "" && !ShardLevel(enabled, s.Metric)
	})
}

func (r *Registry) dropStream(namespace, account, region, stream string) {
	r.drop(func(s Series) bool {
		return s.Namespace == namespace && s.Account == account && s.Region == region && s.Stream == stream
	})
}

// drop removes the series that match. What they counted but did not
// flush yet still goes to the store with the next flush, as CloudWatch
// keeps the datapoints of a disabled metric or deleted stream.
func (r *Registry) drop(match func(Series) bool) {
	var left []entry
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		changed := false
		for s, se := range sh.m {
			if !match(s) {
				continue
			}
			delete(sh.m, s)
			changed = true
			se.mu.Lock()
			se.dead = true
			for _, st := range se.minutes {
				left = append(left, entry{s, se.def, st})
			}
			se.minutes = nil
			se.mu.Unlock()
		}
		if changed {
			sh.publish()
		}
		sh.mu.Unlock()
	}
	if len(left) > 0 {
		r.keep(left)
	}
}

// entry is one minute of one series on its way to the store.
type entry struct {
	s   Series
	def *Def
	st  stats
}

// keep puts entries in the backlog.
func (r *Registry) keep(es []entry) {
	ds := make([]store.MetricDatum, len(es))
	for i, e := range es {
		ds[i] = datum(e)
	}
	r.keepDatums(ds)
}

func datum(e entry) store.MetricDatum {
	var dims []store.Dimension
	switch {
	case e.s.Namespace == Firehose:
		dims = []store.Dimension{{Name: DimDeliveryStreamName, Value: e.s.Stream}}
	case e.s.Shard != "":
		dims = []store.Dimension{{Name: DimShardID, Value: e.s.Shard}, {Name: DimStreamName, Value: e.s.Stream}}
	case e.s.Consumer != "":
		dims = []store.Dimension{{Name: DimConsumerName, Value: e.s.Consumer}, {Name: DimStreamName, Value: e.s.Stream}}
	default:
		dims = []store.Dimension{{Name: DimStreamName, Value: e.s.Stream}}
	}
	return store.MetricDatum{
		Account:     e.s.Account,
		Region:      e.s.Region,
		Namespace:   e.s.Namespace,
		Metric:      e.s.Metric,
		Dimensions:  dims,
		Unit:        string(e.def.Unit),
		Minute:      time.Unix(e.st.minute, 0).UTC(),
		SampleCount: e.st.count,
		Sum:         e.st.sum,
		Min:         e.st.lo,
		Max:         e.st.hi,
	}
}

func (r *Registry) flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()

	var es []entry
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for s, se := range sh.m {
			se.mu.Lock()
			for _, st := range se.minutes {
				es = append(es, entry{s, se.def, st})
			}
			se.minutes = se.minutes[:0]
			se.mu.Unlock()
		}
		sh.mu.RUnlock()
	}

	r.backlogMu.Lock()
	backlog := r.backlog
	r.backlog = nil
	r.backlogMu.Unlock()

	if r.store == nil {
		return nil
	}
	ds := make([]store.MetricDatum, 0, len(es)+len(backlog))
	cutoff := time.Unix(minuteOf(r.now().Add(-maxBacklog)), 0)
	for _, d := range backlog {
		if !d.Minute.Before(cutoff) {
			ds = append(ds, d)
		}
	}
	for _, e := range es {
		ds = append(ds, datum(e))
	}
	if len(ds) == 0 {
		return nil
	}
	if err := r.store.PutMetrics(ctx, ds); err != nil {
		r.log.Warn("metrics: flush failed; retrying with the next flush", "datums", len(ds), "err", err)
		r.keepDatums(ds)
		return err
	}
	return nil
}

// keepDatums merges datums into the backlog, dropping those too old to
// matter.
func (r *Registry) keepDatums(ds []store.MetricDatum) {
	cutoff := time.Unix(minuteOf(r.now().Add(-maxBacklog)), 0)
	r.backlogMu.Lock()
	defer r.backlogMu.Unlock()
	if r.backlog == nil {
		r.backlog = make(map[backlogKey]store.MetricDatum, len(ds))
	}
	for _, d := range ds {
		if d.Minute.Before(cutoff) {
			continue
		}
		k := backlogKey{seriesOf(d), d.Minute.Unix()}
		if old, ok := r.backlog[k]; ok {
			store.MergeDatum(&d, old)
		}
		r.backlog[k] = d
	}
}

// seriesOf is the series a datum was made from.
func seriesOf(d store.MetricDatum) Series {
	s := Series{Namespace: d.Namespace, Account: d.Account, Region: d.Region, Metric: d.Metric}
	for _, dim := range d.Dimensions {
		switch dim.Name {
		case DimStreamName, DimDeliveryStreamName:
			s.Stream = dim.Value
		case DimShardID:
			s.Shard = dim.Value
		case DimConsumerName:
			s.Consumer = dim.Value
		}
	}
	return s
}

func (r *Registry) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlush)
			_ = r.flush(fctx) // logged
			cancel()
			return
		case <-t.C:
			_ = r.flush(ctx) // logged; kept for the next tick
		}
	}
}
