package metrics

import (
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// gatherText scrapes r through promhttp, as Prometheus would, and parses
// the text format.
func gatherText(t testing.TB, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(r); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	promhttp.HandlerFor(pr, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return mfs
}

// sample finds the metric of family name whose labels are exactly want.
func sample(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

func labels(kv ...string) map[string]string {
	m := map[string]string{"account": "000000000000", "region": "us-east-1"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestPrometheusOutput(t *testing.T) {
	r, _, _ := newTest(t)
	shard := kin("s1", "IncomingRecords")
	shard.Shard = "shardId-000000000001"
	for range 3 {
		r.Observe(kin("s1", "IncomingRecords"), 500)
		r.Observe(kin("s1", "IncomingBytes"), 1024)
		r.Observe(shard, 200)
	}
	for _, v := range []float64{1, 1, 0, 1} {
		r.Observe(kin("s1", "PutRecords.Success"), v)
	}
	for _, v := range []float64{0.3, 2, 2, 40, 20000} { // ms
		r.Observe(kin("s1", "GetRecords.Latency"), v)
	}
	r.Observe(kin("s1", "GetRecords.IteratorAgeMilliseconds"), 9000)
	r.Observe(kin("s1", "GetRecords.IteratorAgeMilliseconds"), 1500)
	r.Observe(kin("s1", "WriteProvisionedThroughputExceeded"), 0)
	r.Observe(kin("s1", "WriteProvisionedThroughputExceeded"), 17)
	c := kin("s1", "SubscribeToShardEvent.MillisBehindLatest")
	c.Consumer = "app"
	r.Observe(c, 250)
	fh := Series{Namespace: Firehose, Account: "000000000000", Region: "us-east-1", Stream: "d1", Metric: "IncomingRecords"}
	r.Observe(fh, 4)
	r.Observe(fh, 6)

	mfs := gatherText(t, r)
	counters := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rivulet_kinesis_incoming_records_total", labels("stream", "s1", "shard", ""), 1500},
		{"rivulet_kinesis_incoming_records_total", labels("stream", "s1", "shard", "shardId-000000000001"), 600},
		{"rivulet_kinesis_incoming_bytes_total", labels("stream", "s1", "shard", ""), 3072},
		{"rivulet_kinesis_put_records_requests_total", labels("stream", "s1", "result", "success"), 3},
		{"rivulet_kinesis_put_records_requests_total", labels("stream", "s1", "result", "failure"), 1},
		{"rivulet_kinesis_write_provisioned_throughput_exceeded_total", labels("stream", "s1", "shard", ""), 17},
		{"rivulet_firehose_incoming_records_total", labels("delivery_stream", "d1"), 10},
	}
	for _, c := range counters {
		m := sample(mfs, c.name, c.labels)
		if m == nil {
			t.Errorf("%s%v missing", c.name, c.labels)
			continue
		}
		if mfs[c.name].GetType() != dto.MetricType_COUNTER || m.GetCounter().GetValue() != c.want {
			t.Errorf("%s%v = %v (%v), want counter %v", c.name, c.labels, m.GetCounter().GetValue(), mfs[c.name].GetType(), c.want)
		}
	}
	gauges := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rivulet_kinesis_get_records_iterator_age_seconds", labels("stream", "s1"), 1.5},
		{"rivulet_kinesis_subscribe_to_shard_event_behind_latest_seconds", labels("stream", "s1", "consumer", "app"), 0.25},
	}
	for _, g := range gauges {
		m := sample(mfs, g.name, g.labels)
		if m == nil || mfs[g.name].GetType() != dto.MetricType_GAUGE || m.GetGauge().GetValue() != g.want {
			t.Errorf("%s%v = %v, want gauge %v", g.name, g.labels, m, g.want)
		}
	}

	h := sample(mfs, "rivulet_kinesis_get_records_latency_seconds", labels("stream", "s1"))
	if h == nil || mfs["rivulet_kinesis_get_records_latency_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("latency histogram missing")
	}
	hist := h.GetHistogram()
	if hist.GetSampleCount() != 5 || math.Abs(hist.GetSampleSum()-20.0443) > 1e-9 {
		t.Errorf("histogram count %d sum %v, want 5 and 20.0443", hist.GetSampleCount(), hist.GetSampleSum())
	}
	wantBuckets := map[float64]uint64{0.0005: 1, 0.001: 1, 0.0025: 3, 0.025: 3, 0.05: 4, 10: 4, math.Inf(1): 5}
	for _, b := range hist.GetBucket() {
		if w, ok := wantBuckets[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	// The text format adds le="+Inf".
	if len(hist.GetBucket()) != len(latencyBuckets)+1 {
		t.Errorf("%d buckets, want %d", len(hist.GetBucket()), len(latencyBuckets)+1)
	}

	// Only series that were observed appear.
	if mfs["rivulet_kinesis_outgoing_bytes_total"] != nil {
		t.Errorf("unobserved metric exposed")
	}
}

func TestPrometheusShardLevel(t *testing.T) {
	r, _, _ := newTest(t)
	for _, m := range []string{"IncomingBytes", "IteratorAgeMilliseconds"} {
		for _, id := range []string{"shardId-000000000000", "shardId-000000000001"} {
			s := kin("s1", m)
			s.Shard = id
			r.Observe(s, 10)
		}
	}
	r.Observe(kin("s1", "IncomingBytes"), 20)
	mfs := gatherText(t, r)
	if n := len(mfs["rivulet_kinesis_iterator_age_seconds"].GetMetric()); n != 2 {
		t.Fatalf("%d iterator age series, want 2", n)
	}
	if n := len(mfs["rivulet_kinesis_incoming_bytes_total"].GetMetric()); n != 3 {
		t.Fatalf("%d incoming bytes series, want 3", n)
	}

	r.SetShardLevel("000000000000", "us-east-1", "s1", []string{"IncomingBytes"})
	mfs = gatherText(t, r)
	if mfs["rivulet_kinesis_iterator_age_seconds"] != nil {
		t.Fatalf("iterator age still exposed after it was disabled")
	}
	if n := len(mfs["rivulet_kinesis_incoming_bytes_total"].GetMetric()); n != 3 {
		t.Fatalf("%d incoming bytes series, want 3", n)
	}

	r.SetShardLevel("000000000000", "us-east-1", "s1", nil)
	mfs = gatherText(t, r)
	ms := mfs["rivulet_kinesis_incoming_bytes_total"].GetMetric()
	if len(ms) != 1 || sample(mfs, "rivulet_kinesis_incoming_bytes_total", labels("stream", "s1", "shard", "")) == nil {
		t.Fatalf("after disabling all, incoming bytes %v, want only the stream series", ms)
	}
}

func TestDescribeMatchesCollect(t *testing.T) {
	// Observe every metric once at every level it has; the pedantic
	// registry then checks each collected metric against Describe.
	r, _, _ := newTest(t)
	for _, d := range Defs("") {
		s := Series{Namespace: d.Namespace, Account: "1", Region: "r", Stream: "s", Metric: d.Name}
		if d.Levels&LevelStream != 0 {
			r.Observe(s, 1)
		}
		if d.Levels&LevelShard != 0 {
			sh := s
			sh.Shard = "shardId-000000000000"
			r.Observe(sh, 1)
		}
		if d.Levels&LevelConsumer != 0 {
			c := s
			c.Consumer = "c"
			r.Observe(c, 1)
		}
	}
	pr := prometheus.NewPedanticRegistry()
	pr.MustRegister(r)
	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, d := range Defs("") {
		if !slices.Contains(names, d.Prom) {
			t.Errorf("%s %s not exposed", d.Namespace, d.Name)
		}
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "rivulet_") {
			t.Errorf("%s lacks the rivulet_ prefix", mf.GetName())
		}
	}
}
