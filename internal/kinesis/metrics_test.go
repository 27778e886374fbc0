package kinesis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// metricsStore is a store.Metrics that keeps what the registry flushes.
type metricsStore struct {
	mu sync.Mutex
	ds []store.MetricDatum
}

func (m *metricsStore) PutMetrics(_ context.Context, ds []store.MetricDatum) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ds = append(m.ds, ds...)
	return nil
}

func (m *metricsStore) ReadMetrics(context.Context, store.MetricQuery) ([]store.MetricDatum, error) {
	return nil, nil
}

// stat is one series' statistic set, merged over minutes and flushes.
type stat struct{ count, sum, max float64 }

// take merges the datums flushed so far by series, keyed
// "Metric Dim=value,Dim=value", and forgets them.
func (m *metricsStore) take() map[string]stat {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]stat{}
	for _, d := range m.ds {
		var dims []string
		for _, x := range d.Dimensions {
			dims = append(dims, x.Name+"="+x.Value)
		}
		k := d.Metric + " " + strings.Join(dims, ",")
		st := out[k]
		if st.count == 0 || d.Max > st.max {
			st.max = d.Max
		}
		st.count += d.SampleCount
		st.sum += d.Sum
		out[k] = st
	}
	m.ds = nil
	return out
}

// scriptLimiter refuses the write and read checks whose 1-based ordinal
// is listed, and allows everything else.
type scriptLimiter struct {
	mu                      sync.Mutex
	writes, reads           int
	refuseWrite, refuseRead map[int]bool
}

func (l *scriptLimiter) Write(store.StreamKey, int, int, int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return !l.refuseWrite[l.writes]
}

func (l *scriptLimiter) Read(store.StreamKey, int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	return !l.refuseRead[l.reads]
}

func (l *scriptLimiter) ReadDone(store.StreamKey, int, int)      {}
func (l *scriptLimiter) Control(Caller, string, string) bool     { return true }
func (l *scriptLimiter) ShardIterator(store.StreamKey, int) bool { return true }
func (l *scriptLimiter) Subscribe(string, int) bool              { return true }

// script refuses the listed write checks, counted from the next one.
func (l *scriptLimiter) script(writes ...int) { l.set(writes, nil) }

// set starts a new script: ordinals count from the next check on.
func (l *scriptLimiter) set(writes, reads []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refuseWrite, l.refuseRead = map[int]bool{}, map[int]bool{}
	for _, n := range writes {
		l.refuseWrite[l.writes+n] = true
	}
	for _, n := range reads {
		l.refuseRead[l.reads+n] = true
	}
}

// entryFaults fails the PutRecords entries whose 1-based ordinal is
// listed with InternalFailure.
type entryFaults struct {
	mu      sync.Mutex
	entries int
	fail    map[int]bool
}

func (f *entryFaults) Before(context.Context, string, string) error { return nil }

func (f *entryFaults) Entry(store.StreamKey, int) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries++
	if f.fail[f.entries] {
		return "InternalFailure", "Internal Service Failure"
	}
	return "", ""
}

// metered is a service counting metrics into a registry whose flushes a
// test reads, with a settable clock shared by the service, its store and
// the registry, and scripted limits and faults.
type metered struct {
	s      *Service
	c      *clock
	reg    *metrics.Registry
	flushd *metricsStore
	lim    *scriptLimiter
	faults *entryFaults
	prom   *prometheus.Registry
}

func newMetered(t *testing.T) *metered {
	t.Helper()
	// No monotonic reading: ages are exact differences of wall times.
	c := &clock{t: time.Now().Truncate(time.Millisecond)}
	be := memstore.New(memstore.Config{Now: c.Now})
	t.Cleanup(func() { be.Close() })
	m := &metered{c: c, flushd: &metricsStore{}, lim: &scriptLimiter{}, faults: &entryFaults{}}
	m.reg = metrics.New(metrics.Config{Store: m.flushd, Now: c.Now})
	m.prom = prometheus.NewPedanticRegistry()
	m.prom.MustRegister(m.reg)
	m.s = New(be, Config{CreateDelay: -1, DeleteDelay: -1, ConsumerCreateDelay: -1, Now: c.Now,
		Limits: m.lim, Faults: m.faults, Metrics: m.reg})
	t.Cleanup(m.s.Close)
	return m
}

// flushed flushes the registry and returns what it wrote since the last
// call.
func (m *metered) flushed(t *testing.T) map[string]stat {
	t.Helper()
	if err := m.reg.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return m.flushd.take()
}

// promSeries are the registry's Prometheus series, keyed
// name{label="value",...} with labels sorted, valued by the counter, the
// gauge or the histogram's sample count.
func (m *metered) promSeries(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := m.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			var ls []string
			for _, l := range x.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			k := mf.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch {
			case x.Counter != nil:
				out[k] = x.GetCounter().GetValue()
			case x.Gauge != nil:
				out[k] = x.GetGauge().GetValue()
			case x.Histogram != nil:
				out[k] = float64(x.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// shardSeries lists the Prometheus series with a shard label that is set.
func shardSeries(all map[string]float64) []string {
	var out []string
	for k := range all {
		if strings.Contains(k, `shard="shardId-`) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

const (
	mStream  = "m"
	dataSize = 100
	pkSize   = 6
	recSize  = dataSize + pkSize // what every metric counts per record
	// Hash keys that route to shard 0 and shard 1 of a 2-shard stream.
	low  = "0"
	high = "340282366920938463463374607431768211455"
)

func entry(i int, hash string) api.PutRecordsRequestEntry {
	return api.PutRecordsRequestEntry{PartitionKey: ptr(fmt.Sprintf("pk%04d", i)), ExplicitHashKey: ptr(hash),
		Data: []byte(strings.Repeat("x", dataSize))}
}

func (m *metered) putOne(t *testing.T, i int, hash string, wantThrottled bool) {
	t.Helper()
	e := entry(i, hash)
	_, err := m.s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr(mStream), PartitionKey: e.PartitionKey,
		ExplicitHashKey: e.ExplicitHashKey, Data: e.Data})
	if wantThrottled {
		wantErr(t, err, ErrProvisionedThroughputExceeded, throttleMessage(store.StreamKey{Account: "000000000000", Name: mStream}, shardOf(hash)))
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

func shardOf(hash string) int {
	if hash == low {
		return 0
	}
	return 1
}

// putMany sends one PutRecords and checks its answer: the entries listed
// in throttled and failed must have failed so, the others be stored.
func (m *metered) putMany(t *testing.T, recs []api.PutRecordsRequestEntry, throttled, failed []int) {
	t.Helper()
	out, err := m.s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr(mStream), Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if int(out.FailedRecordCount) != len(throttled)+len(failed) {
		t.Fatalf("FailedRecordCount %d, want %d", out.FailedRecordCount, len(throttled)+len(failed))
	}
	for i, r := range out.Records {
		code := ""
		if r.ErrorCode != nil {
			code = *r.ErrorCode
		}
		want := ""
		switch {
		case slices.Contains(throttled, i):
			want = "ProvisionedThroughputExceededException"
		case slices.Contains(failed, i):
			want = "InternalFailure"
		}
		if code != want {
			t.Fatalf("entry %d: error %q, want %q", i, code, want)
		}
	}
}

// get calls GetRecords (limit 0: no Limit) and expects want records, or
// a throttle for -1; it returns the iterator to go on with.
func (m *metered) get(t *testing.T, it string, limit int64, want int) string {
	t.Helper()
	in := &api.GetRecordsInput{ShardIterator: &it}
	if limit > 0 {
		in.Limit = &limit
	}
	out, err := m.s.GetRecords(ctx, in)
	if want < 0 {
		if err == nil || !strings.Contains(err.Error(), "ProvisionedThroughputExceededException") {
			t.Fatalf("GetRecords: %v, want a throttle", err)
		}
		return it
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != want {
		t.Fatalf("GetRecords returned %d records, want %d", len(out.Records), want)
	}
	return *out.NextShardIterator
}

func (m *metered) iterator(t *testing.T, shard int, typ string, ts *time.Time) string {
	t.Helper()
	in := &api.GetShardIteratorInput{StreamName: ptr(mStream), ShardId: ptr(ShardID(shard)), ShardIteratorType: &typ}
	if ts != nil {
		in.Timestamp = &api.Time{Time: *ts}
	}
	out, err := m.s.GetShardIterator(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.ShardIterator
}

// wantStats compares flushed statistics with the expected ones: every
// expected series exactly, and no series beyond them. A negative sum (a
// duration) and a zero maximum are not checked.
func wantStats(t *testing.T, got map[string]stat, want map[string]stat) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if g.count != w.count || (w.sum >= 0 && g.sum != w.sum) || (w.max != 0 && g.max != w.max) {
			t.Errorf("%s: SampleCount %v Sum %v Maximum %v, want %v %v %v", k, g.count, g.sum, g.max, w.count, w.sum, w.max)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s: %+v", k, got[k])
		}
	}
}

// TestMetricsWorkload: a workload of known size moves every stream-level
// metric by exactly its size; with shard-level metrics enabled, each
// shard's series by its share; disabling them removes their series.
func TestMetricsWorkload(t *testing.T) {
	m := newMetered(t)
	two := int64(2)
	if _, err := m.s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr(mStream), ShardCount: &two}); err != nil {
		t.Fatal(err)
	}
	const sd = "StreamName=" + mStream
	s0 := "ShardId=" + ShardID(0) + "," + sd
	s1 := "ShardId=" + ShardID(1) + "," + sd

	// Phase 1, stream level only.
	// PutRecords of 10 (6 to shard 0, 4 to shard 1): entry 9 fails
	// internally, and the limits refuse the 2nd, 3rd and 8th records they
	// are asked about (entries 1, 2 and 7). 6 are stored.
	m.faults.fail = map[int]bool{10: true}
	m.lim.script(2, 3, 8, 11, 14, 15)
	var recs []api.PutRecordsRequestEntry
	for i := range 10 {
		recs = append(recs, entry(i, map[bool]string{true: low, false: high}[i < 6]))
	}
	m.putMany(t, recs, []int{1, 2, 7}, []int{9})
	// Four PutRecords to shards 0, 1, 0, 1: the 2nd is throttled (the
	// limits' 11th check). 3 are stored.
	for i, h := range []string{low, high, low, high} {
		m.putOne(t, 10+i, h, i == 1)
	}
	// A PutRecords whose records are all throttled (checks 14 and 15).
	m.putMany(t, []api.PutRecordsRequestEntry{entry(20, low), entry(21, high)}, []int{0, 1}, nil)

	// Reading 5 s later: shard 0 holds 6 records, shard 1 holds 3.
	m.c.Add(5 * time.Second)
	m.lim.set(nil, []int{4}) // the 4th read (shard 1's first) is throttled
	it := m.iterator(t, 0, api.TrimHorizon, nil)
	it = m.get(t, it, 3, 3) // behind the tip: age 5000 ms
	it = m.get(t, it, 0, 3) // reaches the tip: age 0
	m.get(t, it, 0, 0)      // nothing new: age 0
	it = m.iterator(t, 1, api.TrimHorizon, nil)
	m.get(t, it, 0, -1)
	m.get(t, it, 0, 3)

	stored, storedBytes := 6+3, (6+3)*recSize
	wantStats(t, m.flushed(t), map[string]stat{
		// One sample per put call that stored records: the PutRecords
		// of 10 and the three PutRecord calls that succeeded.
		"IncomingRecords " + sd: {count: 4, sum: float64(stored)},
		"IncomingBytes " + sd:   {count: 4, sum: float64(storedBytes), max: 6 * recSize},
		"PutRecord.Bytes " + sd: {count: 3, sum: 3 * recSize},
		// One per PutRecord call.
		"PutRecord.Latency " + sd: {count: 4, sum: -1},
		"PutRecord.Success " + sd: {count: 4, sum: 3},
		// One per PutRecords call.
		"PutRecords.Latency " + sd:           {count: 2, sum: -1},
		"PutRecords.Success " + sd:           {count: 2, sum: 1},
		"PutRecords.Bytes " + sd:             {count: 2, sum: 6 * recSize},
		"PutRecords.Records " + sd:           {count: 2, sum: 6},
		"PutRecords.TotalRecords " + sd:      {count: 2, sum: 12},
		"PutRecords.SuccessfulRecords " + sd: {count: 2, sum: 6},
		"PutRecords.FailedRecords " + sd:     {count: 2, sum: 1},
		"PutRecords.ThrottledRecords " + sd:  {count: 2, sum: 5},
		// One per put call: the records it had refused.
		"WriteProvisionedThroughputExceeded " + sd: {count: 6, sum: 6, max: 3},
		// One per GetRecords call; the throttled one only counts as such.
		"GetRecords.Latency " + sd:                 {count: 5, sum: -1},
		"GetRecords.Success " + sd:                 {count: 5, sum: 4},
		"ReadProvisionedThroughputExceeded " + sd:  {count: 5, sum: 1},
		"GetRecords.Records " + sd:                 {count: 4, sum: float64(stored)},
		"GetRecords.Bytes " + sd:                   {count: 4, sum: float64(storedBytes)},
		"GetRecords.IteratorAgeMilliseconds " + sd: {count: 4, sum: 5000, max: 5000},
	})
	if got := shardSeries(m.promSeries(t)); len(got) > 0 {
		t.Fatalf("shard-level series before EnableEnhancedMonitoring: %v", got)
	}

	// Phase 2: every shard-level metric on. AWS answers with the names.
	en, err := m.s.EnableEnhancedMonitoring(ctx, &api.EnableEnhancedMonitoringInput{StreamName: ptr(mStream), ShardLevelMetrics: []string{"ALL"}})
	if err != nil {
		t.Fatal(err)
	}
	all := slices.Sorted(slices.Values(metrics.ShardLevelMetrics))
	if len(en.CurrentShardLevelMetrics) != 0 || !slices.Equal(en.DesiredShardLevelMetrics, all) {
		t.Fatalf("enable ALL: current %v desired %v", en.CurrentShardLevelMetrics, en.DesiredShardLevelMetrics)
	}
	start := m.c.Now()
	// PutRecords of 3 to shard 0 and 1 to shard 1, the 2nd throttled;
	// a PutRecord to shard 1, and one to shard 0 that is throttled.
	m.faults.fail = nil
	m.lim.script(2, 6)
	m.putMany(t, []api.PutRecordsRequestEntry{entry(30, low), entry(31, low), entry(32, low), entry(33, high)}, []int{1}, nil)
	m.putOne(t, 34, high, false)
	m.putOne(t, 35, low, true)
	m.c.Add(3 * time.Second)
	m.lim.set(nil, []int{3}) // shard 1's first read
	it = m.iterator(t, 0, api.AtTimestamp, &start)
	it = m.get(t, it, 1, 1) // behind: 3000 ms
	m.get(t, it, 0, 1)      // at the tip: 0
	it = m.iterator(t, 1, api.AtTimestamp, &start)
	m.get(t, it, 0, -1)
	m.get(t, it, 0, 2)

	got := m.flushed(t)
	shardWant := map[string]stat{
		// Shard 0: the PutRecords stored 2 and had 1 refused; the
		// throttled PutRecord had 1 refused.
		"IncomingRecords " + s0:                    {count: 1, sum: 2},
		"IncomingBytes " + s0:                      {count: 1, sum: 2 * recSize},
		"WriteProvisionedThroughputExceeded " + s0: {count: 2, sum: 2},
		// Shard 1: the PutRecords and the PutRecord stored 1 each.
		"IncomingRecords " + s1:                    {count: 2, sum: 2},
		"IncomingBytes " + s1:                      {count: 2, sum: 2 * recSize},
		"WriteProvisionedThroughputExceeded " + s1: {count: 2, sum: 0},
		// Reads: two on shard 0, a throttled and a good one on shard 1.
		"OutgoingRecords " + s0:                   {count: 2, sum: 2},
		"OutgoingBytes " + s0:                     {count: 2, sum: 2 * recSize},
		"IteratorAgeMilliseconds " + s0:           {count: 2, sum: 3000, max: 3000},
		"ReadProvisionedThroughputExceeded " + s0: {count: 2, sum: 0},
		"OutgoingRecords " + s1:                   {count: 1, sum: 2},
		"OutgoingBytes " + s1:                     {count: 1, sum: 2 * recSize},
		"IteratorAgeMilliseconds " + s1:           {count: 1, sum: 0},
		"ReadProvisionedThroughputExceeded " + s1: {count: 2, sum: 1},
	}
	for k := range got {
		if !strings.Contains(k, "ShardId=") {
			delete(got, k) // stream level: checked above
		}
	}
	wantStats(t, got, shardWant)
	prom := m.promSeries(t)
	const lbl = `account="000000000000",region="us-east-1"`
	for _, c := range []struct {
		name, shard string
		want        float64
	}{
		{"rivulet_kinesis_incoming_records_total", "", float64(stored + 4)},
		{"rivulet_kinesis_incoming_records_total", ShardID(0), 2},
		{"rivulet_kinesis_incoming_records_total", ShardID(1), 2},
		{"rivulet_kinesis_incoming_bytes_total", ShardID(1), 2 * recSize},
		{"rivulet_kinesis_write_provisioned_throughput_exceeded_total", "", 6 + 2},
		{"rivulet_kinesis_write_provisioned_throughput_exceeded_total", ShardID(0), 2},
		{"rivulet_kinesis_outgoing_records_total", ShardID(1), 2},
		{"rivulet_kinesis_read_provisioned_throughput_exceeded_total", ShardID(1), 1},
		{"rivulet_kinesis_iterator_age_seconds", ShardID(0), 0}, // the last sample
	} {
		k := fmt.Sprintf(`%s{%s,shard=%q,stream=%q}`, c.name, lbl, c.shard, mStream)
		if v, ok := prom[k]; !ok || v != c.want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, c.want)
		}
	}
	if n := len(shardSeries(prom)); n != 14 {
		t.Errorf("%d shard-level series, want 7 metrics x 2 shards: %v", n, shardSeries(prom))
	}

	// Phase 3: switching two off removes their series at once.
	dis, err := m.s.DisableEnhancedMonitoring(ctx, &api.DisableEnhancedMonitoringInput{StreamName: ptr(mStream),
		ShardLevelMetrics: []string{"IncomingBytes", "IteratorAgeMilliseconds"}})
	if err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "IncomingBytes" || n == "IteratorAgeMilliseconds" })
	if !slices.Equal(dis.CurrentShardLevelMetrics, all) || !slices.Equal(dis.DesiredShardLevelMetrics, rest) {
		t.Fatalf("disable: current %v desired %v", dis.CurrentShardLevelMetrics, dis.DesiredShardLevelMetrics)
	}
	m.putOne(t, 40, low, false)
	prom = m.promSeries(t)
	for _, k := range shardSeries(prom) {
		if strings.HasPrefix(k, "rivulet_kinesis_incoming_bytes_total") || strings.HasPrefix(k, "rivulet_kinesis_iterator_age_seconds") {
			t.Errorf("disabled series still exported: %s", k)
		}
	}
	if n := len(shardSeries(prom)); n != 10 {
		t.Errorf("%d shard-level series, want 5 metrics x 2 shards: %v", n, shardSeries(prom))
	}
	if k := fmt.Sprintf(`rivulet_kinesis_incoming_records_total{%s,shard=%q,stream=%q}`, lbl, ShardID(0), mStream); prom[k] != 3 {
		t.Errorf("%s = %v, want 3", k, prom[k])
	}
	got = m.flushed(t)
	if got["IncomingBytes "+s0].count != 0 || got["IncomingRecords "+s0] != (stat{count: 1, sum: 1, max: 1}) {
		t.Errorf("after disabling IncomingBytes: %+v %+v", got["IncomingBytes "+s0], got["IncomingRecords "+s0])
	}
	sum, err := m.s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr(mStream)})
	if err != nil {
		t.Fatal(err)
	}
	if em := sum.StreamDescriptionSummary.EnhancedMonitoring; len(em) != 1 || !slices.Equal(em[0].ShardLevelMetrics, rest) {
		t.Errorf("EnhancedMonitoring %+v, want %v", em, rest)
	}

	// Disabling ALL removes the rest; deleting the stream, everything.
	if _, err := m.s.DisableEnhancedMonitoring(ctx, &api.DisableEnhancedMonitoringInput{StreamName: ptr(mStream), ShardLevelMetrics: []string{"ALL"}}); err != nil {
		t.Fatal(err)
	}
	if got := shardSeries(m.promSeries(t)); len(got) > 0 {
		t.Fatalf("shard-level series after disabling ALL: %v", got)
	}
	if _, err := m.s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr(mStream)}); err != nil {
		t.Fatal(err)
	}
	for k := range m.promSeries(t) {
		if strings.Contains(k, `stream="`+mStream+`"`) {
			t.Errorf("series of a deleted stream: %s", k)
		}
	}
}

// TestMetricsSubscribeToShard: enhanced fan-out counts subscriptions,
// refusals and events per consumer, and the shard's outgoing records.
func TestMetricsSubscribeToShard(t *testing.T) {
	m := newMetered(t)
	one := int64(1)
	if _, err := m.s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr(mStream), ShardCount: &one}); err != nil {
		t.Fatal(err)
	}
	m.s.fan.tick = time.Hour // no keep-alive events during the test
	cons := register(t, m.s, mStream, "app")
	if _, err := m.s.EnableEnhancedMonitoring(ctx, &api.EnableEnhancedMonitoringInput{StreamName: ptr(mStream),
		ShardLevelMetrics: []string{"OutgoingRecords", "OutgoingBytes"}}); err != nil {
		t.Fatal(err)
	}
	m.putMany(t, []api.PutRecordsRequestEntry{entry(0, low), entry(1, low), entry(2, low)}, nil, nil)
	m.c.Add(time.Second)

	st := subscribe(t, m.s, cons.ConsumerARN, ShardID(0), api.TrimHorizon, nil, nil)
	wantInitial(t, st)
	if recs, ev := st.records(3, hangTimeout); len(recs) != 3 || ev.MillisBehindLatest != 0 {
		t.Fatalf("%d records, %d ms behind", len(recs), ev.MillisBehindLatest)
	}
	// A second subscription to the shard within 5 s is refused.
	_, err := trySubscribe(m.s, cons.ConsumerARN, ShardID(0), api.TrimHorizon, nil, nil)
	wantErr(t, err, ErrResourceInUse, "Another active subscription exists for this consumer: 000000000000:m:shardId-000000000000:app")
	// An unknown consumer counts nothing.
	if _, err := trySubscribe(m.s, cons.ConsumerARN[:strings.LastIndex(cons.ConsumerARN, ":")]+":1", ShardID(0), api.TrimHorizon, nil, nil); err == nil {
		t.Fatal("subscribed an unknown consumer")
	}
	st.close()

	got := m.flushed(t)
	const cd = "ConsumerName=app,StreamName=" + mStream
	s0 := "ShardId=" + ShardID(0) + ",StreamName=" + mStream
	for k := range got {
		if !strings.Contains(k, "ConsumerName=") && !strings.Contains(k, "ShardId=") {
			delete(got, k) // the puts
		}
	}
	wantStats(t, got, map[string]stat{
		"SubscribeToShard.Success " + cd:                 {count: 2, sum: 1},
		"SubscribeToShard.RateExceeded " + cd:            {count: 2, sum: 1},
		"SubscribeToShardEvent.Success " + cd:            {count: 1, sum: 1},
		"SubscribeToShardEvent.Records " + cd:            {count: 1, sum: 3},
		"SubscribeToShardEvent.Bytes " + cd:              {count: 1, sum: 3 * recSize},
		"SubscribeToShardEvent.MillisBehindLatest " + cd: {count: 1, sum: 0},
		"OutgoingRecords " + s0:                          {count: 1, sum: 3},
		"OutgoingBytes " + s0:                            {count: 1, sum: 3 * recSize},
	})
}
