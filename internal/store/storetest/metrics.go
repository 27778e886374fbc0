package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// RunMetrics runs the store.Metrics contract against fresh storage from
// open. Datums are written near their minute, as the metrics registry
// writes them: a backend may look for a datum by when it was stored.
func RunMetrics(t *testing.T, open func(t *testing.T) store.Metrics) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Metrics)
	}{
		{"RoundTrip", metricsRoundTrip},
		{"TimeRange", metricsTimeRange},
		{"Filters", metricsFilters},
		{"Isolation", metricsIsolation},
		{"TwoWriters", metricsTwoWriters},
		{"Many", metricsMany},
		{"Canceled", metricsCanceled},
		{"Invalid", metricsInvalid},
		{"Copies", metricsCopies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

const (
	mAccount = "111122223333"
	mRegion  = "us-east-1"
	nsKDS    = "AWS/Kinesis"
	nsFH     = "AWS/Firehose"
)

// metricBase is a minute a few minutes back, so that every minute a
// test uses has passed.
func metricBase(back int) time.Time {
	return time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(back) * time.Minute)
}

func kdsDatum(stream, metric string, minute time.Time, sum float64) store.MetricDatum {
	return store.MetricDatum{
		Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: metric,
		Dimensions: []store.Dimension{{Name: "StreamName", Value: stream}},
		Unit:       "Count", Minute: minute, SampleCount: 1, Sum: sum, Min: sum, Max: sum,
	}
}

func kdsQuery(from, to time.Time) store.MetricQuery {
	return store.MetricQuery{Account: mAccount, Region: mRegion, Namespace: nsKDS, From: from, To: to}
}

func mustPutMetrics(t *testing.T, m store.Metrics, ds ...store.MetricDatum) {
	t.Helper()
	if err := m.PutMetrics(ctxFor(t), ds); err != nil {
		t.Fatalf("PutMetrics: %v", err)
	}
}

func mustReadMetrics(t *testing.T, m store.Metrics, q store.MetricQuery) []store.MetricDatum {
	t.Helper()
	ds, err := m.ReadMetrics(ctxFor(t), q)
	if err != nil {
		t.Fatalf("ReadMetrics(%+v): %v", q, err)
	}
	return ds
}

func datumText(d store.MetricDatum) string {
	return fmt.Sprintf("%s/%s/%s/%s%v %s %s n=%g sum=%g min=%g max=%g", d.Account, d.Region, d.Namespace, d.Metric,
		d.Dimensions, d.Unit, d.Minute.UTC().Format(time.RFC3339Nano), d.SampleCount, d.Sum, d.Min, d.Max)
}

func sortedDatums(ds []store.MetricDatum) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = datumText(d)
	}
	slices.Sort(out)
	return out
}

// sameDatums compares as sets with repeats, every field; minutes as
// instants, and reported in UTC.
func sameDatums(t *testing.T, what string, got, want []store.MetricDatum) {
	t.Helper()
	for _, d := range got {
		if d.Minute.Location() != time.UTC {
			t.Errorf("%s: minute %v is not in UTC", what, d.Minute)
			break
		}
	}
	g, w := sortedDatums(got), sortedDatums(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %d datums\n  %s\nwant %d\n  %s", what, len(g), strings.Join(g, "\n  "), len(w), strings.Join(w, "\n  "))
	}
}

func metricsRoundTrip(t *testing.T, m store.Metrics) {
	base := metricBase(5)
	shard := store.Dimension{Name: "ShardId", Value: "shardId-000000000001"}
	kds := []store.MetricDatum{
		{Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: "IncomingBytes",
			Dimensions: []store.Dimension{{Name: "StreamName", Value: "orders"}},
			Unit:       "Bytes", Minute: base, SampleCount: 3, Sum: 4096, Min: 512, Max: 2048},
		{Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: "GetRecords.IteratorAgeMilliseconds",
			Dimensions: []store.Dimension{shard, {Name: "StreamName", Value: "orders"}},
			Unit:       "Milliseconds", Minute: base.Add(time.Minute), SampleCount: 2, Sum: 1.5, Min: 0.25, Max: 1.25},
		{Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: "SubscribeToShardEvent.Bytes",
			Dimensions: []store.Dimension{{Name: "ConsumerName", Value: "c-1"}, {Name: "StreamName", Value: "orders"}},
			Unit:       "Bytes", Minute: base.Add(2 * time.Minute), SampleCount: 1e6, Sum: 1e15, Min: 0, Max: 9.007199254740993e15},
		{Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: "GetRecords.Latency",
			Dimensions: []store.Dimension{{Name: "StreamName", Value: "odd .name*>~ü"}},
			Unit:       "Milliseconds", Minute: base, SampleCount: 0},
		{Account: mAccount, Region: mRegion, Namespace: nsKDS, Metric: "PutRecords.Latency",
			Dimensions: []store.Dimension{{Name: "StreamName", Value: "orders"}},
			Unit:       "Milliseconds", Minute: base.Add(3 * time.Minute), SampleCount: 7, Sum: 0.1 + 0.2, Min: -1e-300, Max: 1e300},
	}
	fh := []store.MetricDatum{
		{Account: mAccount, Region: mRegion, Namespace: nsFH, Metric: "DeliveryToS3.Records",
			Dimensions: []store.Dimension{{Name: "DeliveryStreamName", Value: "orders"}},
			Unit:       "Count", Minute: base.Add(time.Minute), SampleCount: 4, Sum: 40, Min: 5, Max: 15},
	}
	// Interleaved: one call holds both namespaces and several streams.
	mustPutMetrics(t, m, kds[0], fh[0], kds[1], kds[3], kds[2], kds[4])
	q := kdsQuery(base.Add(-time.Hour), base.Add(time.Hour))
	sameDatums(t, "AWS/Kinesis", mustReadMetrics(t, m, q), kds)
	q.Namespace = nsFH
	sameDatums(t, "AWS/Firehose", mustReadMetrics(t, m, q), fh)
	if err := m.PutMetrics(ctxFor(t), nil); err != nil {
		t.Errorf("PutMetrics(nil): %v", err)
	}
}

func metricsTimeRange(t *testing.T, m store.Metrics) {
	base := metricBase(8)
	var ds []store.MetricDatum
	for i := range 5 {
		ds = append(ds, kdsDatum("s", "IncomingRecords", base.Add(time.Duration(i)*time.Minute), float64(i)))
	}
	mustPutMetrics(t, m, ds...)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []int
	}{
		{"all", at(0), at(5), []int{0, 1, 2, 3, 4}},
		{"from inclusive, to exclusive", at(1), at(3), []int{1, 2}},
		{"last minute", at(4), at(5), []int{4}},
		{"first minute", at(0), at(1), []int{0}},
		{"from inside a minute", at(1).Add(time.Second), at(3), []int{2}},
		{"to inside a minute", at(1), at(2).Add(time.Second), []int{1, 2}},
		{"before", at(-60), at(0), nil},
		{"after", at(5), at(10), nil},
		{"empty", at(2), at(2), nil},
		{"reversed", at(3), at(1), nil},
		{"wide", at(-600), at(600), []int{0, 1, 2, 3, 4}},
	} {
		var want []store.MetricDatum
		for _, i := range tc.want {
			want = append(want, ds[i])
		}
		sameDatums(t, tc.name, mustReadMetrics(t, m, kdsQuery(tc.from, tc.to)), want)
	}
}

func metricsFilters(t *testing.T, m store.Metrics) {
	base := metricBase(3)
	aRec := kdsDatum("a", "IncomingRecords", base, 1)
	aBytes := kdsDatum("a", "IncomingBytes", base, 2)
	abRec := kdsDatum("a.b", "IncomingRecords", base, 3)
	bShard := kdsDatum("b", "IncomingRecords", base, 4)
	bShard.Dimensions = []store.Dimension{{Name: "ShardId", Value: "shardId-000000000000"}, {Name: "StreamName", Value: "b"}}
	fhRec := store.MetricDatum{Account: mAccount, Region: mRegion, Namespace: nsFH, Metric: "IncomingRecords",
		Dimensions: []store.Dimension{{Name: "DeliveryStreamName", Value: "a"}},
		Unit:       "Count", Minute: base, SampleCount: 1, Sum: 5, Min: 5, Max: 5}
	mustPutMetrics(t, m, aRec, aBytes, abRec, bShard, fhRec)
	from, to := base.Add(-time.Minute), base.Add(time.Minute)
	for _, tc := range []struct {
		name           string
		ns             string
		metric, stream string
		want           []store.MetricDatum
	}{
		{"everything", nsKDS, "", "", []store.MetricDatum{aRec, aBytes, abRec, bShard}},
		{"metric", nsKDS, "IncomingRecords", "", []store.MetricDatum{aRec, abRec, bShard}},
		{"stream", nsKDS, "", "a", []store.MetricDatum{aRec, aBytes}},
		{"stream with a dot", nsKDS, "", "a.b", []store.MetricDatum{abRec}},
		{"stream of shard-level datums", nsKDS, "", "b", []store.MetricDatum{bShard}},
		{"stream and metric", nsKDS, "IncomingBytes", "a", []store.MetricDatum{aBytes}},
		{"no such stream", nsKDS, "", "c", nil},
		{"wildcard-looking stream", nsKDS, "", "*", nil},
		{"wildcard-looking stream 2", nsKDS, "", ">", nil},
		{"stream prefix", nsKDS, "", "a.", nil},
		{"no such metric", nsKDS, "Nope", "", nil},
		{"delivery stream", nsFH, "", "a", []store.MetricDatum{fhRec}},
		{"delivery stream and metric", nsFH, "IncomingRecords", "a", []store.MetricDatum{fhRec}},
		{"other namespace", "AWS/Other", "", "", nil},
	} {
		q := store.MetricQuery{Account: mAccount, Region: mRegion, Namespace: tc.ns, Metric: tc.metric, Stream: tc.stream, From: from, To: to}
		sameDatums(t, tc.name, mustReadMetrics(t, m, q), tc.want)
	}
}

func metricsIsolation(t *testing.T, m store.Metrics) {
	base := metricBase(3)
	type place struct{ account, region, ns string }
	places := []place{
		{mAccount, mRegion, nsKDS},
		{"444455556666", mRegion, nsKDS},
		{mAccount, "eu-west-1", nsKDS},
		{mAccount, mRegion, "Custom/Rivulet"},
	}
	var all []store.MetricDatum
	for i, p := range places {
		d := kdsDatum("same", "IncomingRecords", base, float64(i))
		d.Account, d.Region, d.Namespace = p.account, p.region, p.ns
		all = append(all, d)
	}
	mustPutMetrics(t, m, all...)
	for i, p := range places {
		q := store.MetricQuery{Account: p.account, Region: p.region, Namespace: p.ns, From: base, To: base.Add(time.Minute)}
		sameDatums(t, fmt.Sprintf("%+v", p), mustReadMetrics(t, m, q), all[i:i+1])
		q.Stream, q.Metric = "same", "IncomingRecords"
		sameDatums(t, fmt.Sprintf("%+v, filtered", p), mustReadMetrics(t, m, q), all[i:i+1])
	}
}

// metricsTwoWriters: datums of one series and minute from several
// writers (or flushes) are all kept, and merge into their sum.
func metricsTwoWriters(t *testing.T, m store.Metrics) {
	base := metricBase(2)
	mk := func(n, sum, lo, hi float64) store.MetricDatum {
		d := kdsDatum("s", "PutRecord.Latency", base, sum)
		d.Unit, d.SampleCount, d.Min, d.Max = "Milliseconds", n, lo, hi
		return d
	}
	w1, w2, w3 := mk(2, 10, 3, 7), mk(3, 6, 1, 3), mk(1, 20, 20, 20)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, ds := range [][]store.MetricDatum{{w1}, {w2, w3}} {
		wg.Go(func() { errs[i] = m.PutMetrics(ctxFor(t), ds) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("PutMetrics: %v", err)
		}
	}
	got := mustReadMetrics(t, m, kdsQuery(base, base.Add(time.Minute)))
	sameDatums(t, "two writers", got, []store.MetricDatum{w1, w2, w3})
	var sum store.MetricDatum
	for _, d := range got {
		store.MergeDatum(&sum, d)
	}
	if sum.SampleCount != 6 || sum.Sum != 36 || sum.Min != 1 || sum.Max != 20 {
		t.Errorf("merged %+v, want n=6 sum=36 min=1 max=20", sum)
	}
}

// metricsMany writes 5000 datums of 200 series (50 streams, 4 metrics)
// over 25 minutes, one call per minute as flushes would, from several
// writers at once, and reads them back whole and narrowed.
func metricsMany(t *testing.T, m store.Metrics) {
	const streams, metrics, minutes = 50, 4, 25
	base := metricBase(minutes + 2)
	calls := make(chan int, minutes)
	for i := range minutes {
		calls <- i
	}
	close(calls)
	var wg sync.WaitGroup
	errs := make(chan error, minutes)
	for range 5 {
		wg.Go(func() {
			for i := range calls {
				var ds []store.MetricDatum
				for s := range streams {
					for k := range metrics {
						ds = append(ds, kdsDatum(fmt.Sprintf("s%03d", s), fmt.Sprintf("m%d", k),
							base.Add(time.Duration(i)*time.Minute), float64(i*10000+s*10+k)))
					}
				}
				if err := m.PutMetrics(ctxFor(t), ds); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("PutMetrics: %v", err)
	}
	all := mustReadMetrics(t, m, kdsQuery(base, base.Add(minutes*time.Minute)))
	if len(all) != streams*metrics*minutes {
		t.Fatalf("read %d datums, want %d", len(all), streams*metrics*minutes)
	}
	seen := map[float64]bool{}
	for _, d := range all {
		i := int(d.Minute.Sub(base) / time.Minute)
		var s, k int
		if _, err := fmt.Sscanf(d.Dimensions[0].Value+" "+d.Metric, "s%d m%d", &s, &k); err != nil {
			t.Fatalf("datum %s: %v", datumText(d), err)
		}
		want := float64(i*10000 + s*10 + k)
		if d.Sum != want || seen[d.Sum] {
			t.Fatalf("datum %s: sum %g, want %g once", datumText(d), d.Sum, want)
		}
		seen[d.Sum] = true
	}
	q := kdsQuery(base, base.Add(minutes*time.Minute))
	q.Stream = "s007"
	if got := mustReadMetrics(t, m, q); len(got) != metrics*minutes {
		t.Errorf("stream s007: %d datums, want %d", len(got), metrics*minutes)
	}
	q.Stream, q.Metric = "", "m2"
	if got := mustReadMetrics(t, m, q); len(got) != streams*minutes {
		t.Errorf("metric m2: %d datums, want %d", len(got), streams*minutes)
	}
	q.Metric, q.From, q.To = "", base.Add(10*time.Minute), base.Add(15*time.Minute)
	if got := mustReadMetrics(t, m, q); len(got) != streams*metrics*5 {
		t.Errorf("5 minutes: %d datums, want %d", len(got), streams*metrics*5)
	}
}

func metricsCanceled(t *testing.T, m store.Metrics) {
	base := metricBase(2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.PutMetrics(ctx, []store.MetricDatum{kdsDatum("s", "IncomingRecords", base, 1)}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutMetrics with a canceled context: %v, want context.Canceled", err)
	}
	q := kdsQuery(base, base.Add(time.Minute))
	if got := mustReadMetrics(t, m, q); len(got) != 0 {
		t.Errorf("a canceled put stored %d datums", len(got))
	}
	mustPutMetrics(t, m, kdsDatum("s", "IncomingRecords", base, 1))
	if _, err := m.ReadMetrics(ctx, q); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadMetrics with a canceled context: %v, want context.Canceled", err)
	}
}

// metricsInvalid: a datum a reader could not find is refused, and the
// call stores nothing, not even its good datums.
func metricsInvalid(t *testing.T, m store.Metrics) {
	base := metricBase(2)
	good := kdsDatum("s", "IncomingRecords", base, 1)
	for _, tc := range []struct {
		name string
		bad  func(*store.MetricDatum)
	}{
		{"no stream dimension", func(d *store.MetricDatum) {
			d.Dimensions = []store.Dimension{{Name: "ShardId", Value: "shardId-000000000000"}}
		}},
		{"empty stream name", func(d *store.MetricDatum) { d.Dimensions[0].Value = "" }},
		{"no account", func(d *store.MetricDatum) { d.Account = "" }},
		{"no region", func(d *store.MetricDatum) { d.Region = "" }},
		{"no namespace", func(d *store.MetricDatum) { d.Namespace = "" }},
		{"no metric", func(d *store.MetricDatum) { d.Metric = "" }},
		{"no minute", func(d *store.MetricDatum) { d.Minute = time.Time{} }},
	} {
		bad := kdsDatum("s", "IncomingBytes", base, 2)
		tc.bad(&bad)
		if err := m.PutMetrics(ctxFor(t), []store.MetricDatum{good, bad}); err == nil {
			t.Errorf("%s: PutMetrics accepted %s", tc.name, datumText(bad))
		}
	}
	if got := mustReadMetrics(t, m, kdsQuery(base.Add(-time.Hour), base.Add(time.Hour))); len(got) != 0 {
		t.Errorf("refused calls stored %d datums", len(got))
	}
	for _, q := range []store.MetricQuery{
		{Region: mRegion, Namespace: nsKDS, From: base, To: base.Add(time.Minute)},
		{Account: mAccount, Namespace: nsKDS, From: base, To: base.Add(time.Minute)},
		{Account: mAccount, Region: mRegion, From: base, To: base.Add(time.Minute)},
	} {
		if _, err := m.ReadMetrics(ctxFor(t), q); err == nil {
			t.Errorf("ReadMetrics(%+v) accepted an incomplete query", q)
		}
	}
}

// metricsCopies: neither the caller's datums nor the returned ones share
// memory with what is stored.
func metricsCopies(t *testing.T, m store.Metrics) {
	base := metricBase(2)
	in := []store.MetricDatum{kdsDatum("s", "IncomingRecords", base, 1)}
	want := []store.MetricDatum{kdsDatum("s", "IncomingRecords", base, 1)}
	mustPutMetrics(t, m, in...)
	in[0].Dimensions[0].Value = "changed"
	q := kdsQuery(base, base.Add(time.Minute))
	got := mustReadMetrics(t, m, q)
	sameDatums(t, "after changing the input", got, want)
	for _, d := range got {
		d.Dimensions[0].Value = "changed"
	}
	sameDatums(t, "after changing the output", mustReadMetrics(t, m, q), want)
}
