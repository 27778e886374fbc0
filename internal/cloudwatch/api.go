package cloudwatch

import (
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// The operations' inputs, decoded from any of the three protocols.
// Pointers and nil slices tell a missing member from an empty one.

type dimension struct{ Name, Value *string }

type getMetricStatisticsInput struct {
	Namespace, MetricName *string
	Dimensions            []dimension
	StartTime, EndTime    *time.Time
	Period                *int64
	Statistics            []string
	ExtendedStatistics    []string
	Unit                  *string
}

type metric struct {
	Namespace, MetricName *string
	Dimensions            []dimension
}

type metricStat struct {
	Metric *metric
	Period *int64
	Stat   *string
	Unit   *string
}

type metricDataQuery struct {
	ID         *string
	MetricStat *metricStat
	Expression *string
	Label      *string
	ReturnData *bool
	Period     *int64
	AccountID  *string
}

type getMetricDataInput struct {
	MetricDataQueries  []metricDataQuery
	StartTime, EndTime *time.Time
	NextToken          *string
	ScanBy             *string
	MaxDatapoints      *int64
	Timezone           *string // LabelOptions.Timezone
}

type listMetricsInput struct {
	Namespace, MetricName *string
	Dimensions            []dimension // DimensionFilter: Value optional
	NextToken             *string
	RecentlyActive        *string
	IncludeLinkedAccounts *bool
	OwningAccount         *string
}

// The operations' outputs.

type datapoint struct {
	Timestamp                                   time.Time
	SampleCount, Average, Sum, Minimum, Maximum *float64
	Unit                                        string
	// ExtendedStatistics in the order asked for; nil leaves the map out.
	ExtendedStatistics []namedValue
}

type namedValue struct {
	Name  string
	Value float64
}

type getMetricStatisticsOutput struct {
	Label      string
	Datapoints []datapoint
}

type messageData struct{ Code, Value string }

type metricDataResult struct {
	ID         string
	Label      string
	Timestamps []time.Time
	Values     []float64
	StatusCode string
	Messages   []messageData
}

type getMetricDataOutput struct {
	MetricDataResults []metricDataResult
	NextToken         string
	Messages          []messageData
}

type metricOut struct {
	Namespace, MetricName string
	Dimensions            []store.Dimension
}

type listMetricsOutput struct {
	Metrics        []metricOut
	NextToken      string
	OwningAccounts []string
}

// tree turns an output into the protocol-neutral form the encoders
// write (encode.go).
func (o *getMetricStatisticsOutput) tree() obj {
	dps := make(list, 0, len(o.Datapoints))
	for _, d := range o.Datapoints {
		m := obj{{"Timestamp", d.Timestamp}}
		for _, f := range []struct {
			name string
			v    *float64
		}{{"SampleCount", d.SampleCount}, {"Average", d.Average}, {"Sum", d.Sum}, {"Minimum", d.Minimum}, {"Maximum", d.Maximum}} {
			if f.v != nil {
				m = append(m, field{f.name, *f.v})
			}
		}
		if d.Unit != "" {
			m = append(m, field{"Unit", d.Unit})
		}
		if d.ExtendedStatistics != nil {
			e := make(entries, 0, len(d.ExtendedStatistics))
			for _, nv := range d.ExtendedStatistics {
				e = append(e, field{nv.Name, nv.Value})
			}
			m = append(m, field{"ExtendedStatistics", e})
		}
		dps = append(dps, m)
	}
	return obj{{"Label", o.Label}, {"Datapoints", dps}}
}

func messagesTree(ms []messageData) list {
	l := make(list, 0, len(ms))
	for _, m := range ms {
		l = append(l, obj{{"Code", m.Code}, {"Value", m.Value}})
	}
	return l
}

func (o *getMetricDataOutput) tree() obj {
	rs := make(list, 0, len(o.MetricDataResults))
	for _, r := range o.MetricDataResults {
		ts := make(list, len(r.Timestamps))
		for i, t := range r.Timestamps {
			ts[i] = t
		}
		vs := make(list, len(r.Values))
		for i, v := range r.Values {
			vs[i] = v
		}
		rs = append(rs, obj{{"Id", r.ID}, {"Label", r.Label}, {"Timestamps", ts}, {"Values", vs},
			{"StatusCode", r.StatusCode}, {"Messages", messagesTree(r.Messages)}})
	}
	out := obj{{"MetricDataResults", rs}}
	if o.NextToken != "" {
		out = append(out, field{"NextToken", o.NextToken})
	}
	return append(out, field{"Messages", messagesTree(o.Messages)})
}

func dimensionsTree(ds []store.Dimension) list {
	l := make(list, 0, len(ds))
	for _, d := range ds {
		l = append(l, obj{{"Name", d.Name}, {"Value", d.Value}})
	}
	return l
}

func (o *listMetricsOutput) tree() obj {
	ms := make(list, 0, len(o.Metrics))
	for _, m := range o.Metrics {
		ms = append(ms, obj{{"Namespace", m.Namespace}, {"MetricName", m.MetricName},
			{"Dimensions", dimensionsTree(m.Dimensions)}})
	}
	out := obj{{"Metrics", ms}}
	if o.NextToken != "" {
		out = append(out, field{"NextToken", o.NextToken})
	}
	// Always a list, empty without IncludeLinkedAccounts: the AWS CLI's
	// paginator merges it with Metrics and would print a null.
	owners := make(list, len(o.OwningAccounts))
	for i, a := range o.OwningAccounts {
		owners[i] = a
	}
	return append(out, field{"OwningAccounts", owners})
}
