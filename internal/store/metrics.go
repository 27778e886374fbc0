package store

import (
	"context"
	"time"
)

// Metrics keeps CloudWatch-style datapoints, so that every process on one
// NATS serves the same statistics. Each process writes what it counted
// since its last flush as its own datum; readers merge datums that share
// a metric, dimensions and minute (MergeDatum).
type Metrics interface {
	// PutMetrics appends datums. They expire after the store's metric
	// retention (natsstore.Config.MetricRetention, default 24 h).
	PutMetrics(ctx context.Context, ds []MetricDatum) error
	// ReadMetrics returns the datums of q.Account/q.Region/q.Namespace
	// whose Minute is in [q.From, q.To), filtered by q.Metric and
	// q.Stream when set. Datums are returned as written, not merged, in
	// no particular order.
	ReadMetrics(ctx context.Context, q MetricQuery) ([]MetricDatum, error)
}

// Dimension is one CloudWatch dimension.
type Dimension struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// MetricDatum is one statistic set of one metric over (part of) a
// minute, as one process counted it.
type MetricDatum struct {
	Account   string `json:"a"`
	Region    string `json:"r"`
	Namespace string `json:"ns"` // "AWS/Kinesis", "AWS/Firehose"
	Metric    string `json:"m"`  // "IncomingRecords", "GetRecords.Latency"
	// Dimensions are sorted by name. The stream's own dimension
	// (StreamName or DeliveryStreamName) is always present.
	Dimensions []Dimension `json:"d"`
	Unit       string      `json:"u"` // CloudWatch's: "Bytes", "Count", "Milliseconds"
	// Minute is the start of the UTC minute the samples fall in.
	Minute      time.Time `json:"t"`
	SampleCount float64   `json:"c"`
	Sum         float64   `json:"s"`
	Min         float64   `json:"lo"`
	Max         float64   `json:"hi"`
}

// MetricQuery selects datums (ReadMetrics).
type MetricQuery struct {
	Account, Region, Namespace string
	// Metric and Stream ("" = any) narrow the result; Stream matches the
	// StreamName or DeliveryStreamName dimension.
	Metric string
	Stream string
	From   time.Time
	To     time.Time
}

// MergeDatum folds b's samples into a; both must describe the same
// series and minute.
func MergeDatum(a *MetricDatum, b MetricDatum) {
	if b.SampleCount == 0 {
		return
	}
	if a.SampleCount == 0 {
		a.Min, a.Max = b.Min, b.Max
	} else {
		a.Min = min(a.Min, b.Min)
		a.Max = max(a.Max, b.Max)
	}
	a.SampleCount += b.SampleCount
	a.Sum += b.Sum
}
