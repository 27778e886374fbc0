package cloudwatch

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// streamDimension is each served namespace's stream dimension. Every
// datum carries it, so a metric without it has no data.
var streamDimension = map[string]string{
	"AWS/Kinesis":  "StreamName",
	"AWS/Firehose": "DeliveryStreamName",
}

// namespaces in ListMetrics order.
var namespaces = []string{"AWS/Firehose", "AWS/Kinesis"}

// AWS's limits.
const (
	maxDimensions          = 30
	maxDimensionFilters    = 10
	maxStatistics          = 5
	maxExtendedStatistics  = 10
	maxGMSDatapoints       = 1440
	maxMetricDataQueries   = 500
	maxGMDDatapoints       = 100800
	maxNameLength          = 255
	maxDimensionValue      = 1024
	maxExpressionLength    = 2048
	listMetricsPageSize    = 500
	highResolutionLifetime = 3 * time.Hour
	recentlyActive         = 3 * time.Hour
	// listLookback bounds ListMetrics reads; the store keeps less.
	listLookback = 15 * 24 * time.Hour
)

var statisticNames = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

var standardUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None"}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// authorize asks the Authorizer about op; CloudWatch's read actions have
// no resource of their own.
func (s *Service) authorize(ctx context.Context, op string) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	return s.cfg.Authorizer.Authorize(ctx, kinesis.CallerFrom(ctx), "cloudwatch:"+op, "*", kinesis.Resource{})
}

// validPeriod is AWS's rule: 1, 5, 10, 20, 30 (high resolution) or a
// multiple of 60, no longer than an int32.
func validPeriod(p int64) bool {
	switch p {
	case 1, 5, 10, 20, 30:
		return true
	}
	return p > 0 && p%60 == 0 && p <= math.MaxInt32
}

// alignStart rounds a start time down as CloudWatch does, by its age.
func alignStart(start, now time.Time) time.Time {
	switch age := now.Sub(start); {
	case age > 63*24*time.Hour:
		return start.Truncate(time.Hour)
	case age > 15*24*time.Hour:
		return start.Truncate(5 * time.Minute)
	}
	return start.Truncate(time.Minute)
}

// bucketCount is how many periods [start, end) spans, without overflow.
func bucketCount(start, end time.Time, period int64) int64 {
	ms := end.UnixMilli() - start.UnixMilli()
	if ms <= 0 {
		return 0
	}
	p := period * 1000
	return ms/p + min(ms%p, 1)
}

// periodStart is the timestamp of period i counted from start.
func periodStart(start time.Time, i, period int64) time.Time {
	return time.UnixMilli(start.UnixMilli() + i*period*1000).UTC()
}

// seriesID is one metric's identity within a request.
type seriesID struct {
	namespace, metric string
	dims              []store.Dimension // sorted by name
}

// sortedDims converts request dimensions (already validated) and sorts
// them by name, as datums keep theirs.
func sortedDims(ds []dimension) []store.Dimension {
	out := make([]store.Dimension, 0, len(ds))
	for _, d := range ds {
		out = append(out, store.Dimension{Name: *d.Name, Value: *d.Value})
	}
	slices.SortStableFunc(out, func(a, b store.Dimension) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// dimsKey is a canonical form of a sorted dimension set, which also
// orders sets by name, then value ('\x00' sorts first).
func dimsKey(ds []store.Dimension) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.Value)
		b.WriteByte(0)
	}
	return b.String()
}

// canonical sorts a datum's dimensions if a writer left them unsorted.
func canonical(ds []store.Dimension) []store.Dimension {
	if slices.IsSortedFunc(ds, func(a, b store.Dimension) int { return strings.Compare(a.Name, b.Name) }) {
		return ds
	}
	out := slices.Clone(ds)
	slices.SortStableFunc(out, func(a, b store.Dimension) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// streamOf is the value of the namespace's stream dimension, if given.
func streamOf(namespace string, ds []store.Dimension) (string, bool) {
	name := streamDimension[namespace]
	for _, d := range ds {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

// reads caches ReadMetrics results within one request: several queries
// of one metric and stream share a read.
type reads struct {
	s        *Service
	from, to time.Time
	done     map[[3]string][]store.MetricDatum
}

func (s *Service) newReads(from, to time.Time) *reads {
	return &reads{s: s, from: from, to: to, done: map[[3]string][]store.MetricDatum{}}
}

// datums returns the datums of exactly one series (CloudWatch matches the
// whole dimension set), unit "" meaning any.
func (rd *reads) datums(ctx context.Context, id seriesID, unit string) ([]store.MetricDatum, error) {
	stream, ok := streamOf(id.namespace, id.dims)
	if !ok {
		return nil, nil // no datum lacks its stream dimension
	}
	key := [3]string{id.namespace, id.metric, stream}
	all, ok := rd.done[key]
	if !ok {
		c := kinesis.CallerFrom(ctx)
		var err error
		all, err = rd.s.st.ReadMetrics(ctx, store.MetricQuery{
			Account: c.Account, Region: c.Region, Namespace: id.namespace,
			Metric: id.metric, Stream: stream, From: rd.from, To: rd.to,
		})
		if err != nil {
			return nil, err
		}
		rd.done[key] = all
	}
	want := dimsKey(id.dims)
	var out []store.MetricDatum
	for _, d := range all {
		if d.Metric != id.metric || d.Namespace != id.namespace || (unit != "" && d.Unit != unit) ||
			d.Minute.Before(rd.from) || !d.Minute.Before(rd.to) || dimsKey(canonical(d.Dimensions)) != want {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// bucket is one period's samples.
type bucket struct {
	set  store.MetricDatum // merged statistic set
	unit string
	// exact holds every sample when each datum's are known (a single
	// sample, or all equal): then percentiles are exact. Otherwise, as
	// for AWS's statistic sets, they are unknown.
	exact    []valueCount
	inexact  bool
	negative bool
}

type valueCount struct{ v, n float64 }

// aggregate folds datums into periods counted from start. Datums of one
// minute from several processes (or flushes) merge, as MergeDatum does.
func aggregate(ds []store.MetricDatum, start time.Time, period int64) map[int64]*bucket {
	out := map[int64]*bucket{}
	p := period * 1000
	for _, d := range ds {
		if d.SampleCount <= 0 || math.IsNaN(d.SampleCount) {
			continue
		}
		i := (d.Minute.UnixMilli() - start.UnixMilli()) / p
		b := out[i]
		if b == nil {
			b = &bucket{unit: d.Unit}
			out[i] = b
		}
		store.MergeDatum(&b.set, d)
		if d.Min < 0 {
			b.negative = true
		}
		switch {
		case d.SampleCount == 1:
			b.exact = append(b.exact, valueCount{d.Sum, 1})
		case d.Min == d.Max:
			b.exact = append(b.exact, valueCount{d.Min, d.SampleCount})
		default:
			b.inexact = true
		}
	}
	return out
}

// sortedBuckets lists a map's periods in time order.
func sortedBuckets(m map[int64]*bucket) []int64 {
	idx := make([]int64, 0, len(m))
	for i := range m {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// statistic is one of the five statistics or a percentile ("p99.5"), or
// false when it cannot be computed from what was kept.
func (b *bucket) statistic(stat string) (float64, bool) {
	switch stat {
	case "SampleCount":
		return b.set.SampleCount, true
	case "Sum":
		return b.set.Sum, true
	case "Minimum":
		return b.set.Min, true
	case "Maximum":
		return b.set.Max, true
	case "Average":
		return b.set.Sum / b.set.SampleCount, true
	}
	p, ok := parsePercentile(stat)
	if !ok || b.inexact || b.negative || len(b.exact) == 0 {
		return 0, false
	}
	return percentile(b.exact, p), true
}

// parsePercentile reads "pNN" or "pNN.NN" between p0 and p100.
func parsePercentile(s string) (float64, bool) {
	rest, ok := strings.CutPrefix(s, "p")
	if !ok || rest == "" {
		return 0, false
	}
	whole, frac, hasFrac := strings.Cut(rest, ".")
	if whole == "" || len(whole) > 3 || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, false
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	p, err := strconv.ParseFloat(rest, 64)
	if err != nil || p < 0 || p > 100 {
		return 0, false
	}
	return p, true
}

// percentile is the nearest-rank percentile of known samples.
func percentile(vc []valueCount, p float64) float64 {
	vc = slices.Clone(vc)
	slices.SortFunc(vc, func(a, b valueCount) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var total float64
	for _, x := range vc {
		total += x.n
	}
	rank := max(math.Ceil(p/100*total), 1)
	var acc float64
	for _, x := range vc {
		acc += x.n
		if acc >= rank {
			return x.v
		}
	}
	return vc[len(vc)-1].v
}

// inSet reports whether s is one of set.
func inSet(s string, set []string) bool { return slices.Contains(set, s) }

func setText(set []string) string { return "[" + strings.Join(set, ", ") + "]" }
