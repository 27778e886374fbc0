package cloudwatch

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// listMetrics answers ListMetrics: the metrics with data kept (or in the
// last three hours, with RecentlyActive), in a stable order, a page at a
// time.
func (s *Service) listMetrics(ctx context.Context, in *listMetricsInput) (*listMetricsOutput, error) {
	if err := s.authorize(ctx, "ListMetrics"); err != nil {
		return nil, err
	}
	if err := checkName("Namespace", in.Namespace, false); err != nil {
		return nil, err
	}
	if in.Namespace != nil && *in.Namespace != "" && (*in.Namespace)[0] == ':' {
		return nil, errorf(ErrInvalidParameterValue, "The parameter Namespace must not start with ':'.")
	}
	if err := checkName("MetricName", in.MetricName, false); err != nil {
		return nil, err
	}
	if err := checkDimensions("Dimensions", in.Dimensions, maxDimensionFilters, false); err != nil {
		return nil, err
	}
	if in.RecentlyActive != nil && *in.RecentlyActive != "PT3H" {
		return nil, errorf(ErrInvalidParameterValue, "The parameter RecentlyActive must be a value in the set [PT3H].")
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || len(b) == 0 {
			return nil, errorf(ErrInvalidNextToken, "The NextToken is not valid.")
		}
		after = string(b)
	}

	c := kinesis.CallerFrom(ctx)
	out := &listMetricsOutput{Metrics: []metricOut{}}
	withOwners := in.IncludeLinkedAccounts != nil && *in.IncludeLinkedAccounts
	if in.OwningAccount != nil && *in.OwningAccount != c.Account {
		return out, nil // no other account's metrics are linked here
	}
	now := s.now()
	from := now.Add(-listLookback)
	if in.RecentlyActive != nil {
		from = now.Add(-recentlyActive)
	}
	metricName := ""
	if in.MetricName != nil {
		metricName = *in.MetricName
	}

	type entry struct {
		key string
		m   metricOut
	}
	found := map[string]entry{}
	for _, ns := range namespaces {
		if in.Namespace != nil && *in.Namespace != "" && *in.Namespace != ns {
			continue
		}
		stream := ""
		for _, f := range in.Dimensions {
			if *f.Name == streamDimension[ns] && f.Value != nil && *f.Value != "" {
				stream = *f.Value
			}
		}
		ds, err := s.st.ReadMetrics(ctx, store.MetricQuery{
			Account: c.Account, Region: c.Region, Namespace: ns, Metric: metricName, Stream: stream,
			From: from, To: now.Add(timeAhead),
		})
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Namespace != ns || (metricName != "" && d.Metric != metricName) || d.SampleCount <= 0 ||
				!matchFilters(d.Dimensions, in.Dimensions) {
				continue
			}
			dims := canonical(d.Dimensions)
			key := listKey(ns, d.Metric, dims)
			if _, ok := found[key]; ok || key <= after {
				continue
			}
			found[key] = entry{key, metricOut{Namespace: ns, MetricName: d.Metric, Dimensions: slices.Clone(dims)}}
		}
	}
	es := make([]entry, 0, len(found))
	for _, e := range found {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	size := s.listPageSize
	if size <= 0 {
		size = listMetricsPageSize
	}
	if len(es) > size {
		es = es[:size]
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(es[size-1].key))
	}
	for _, e := range es {
		out.Metrics = append(out.Metrics, e.m)
		if withOwners {
			out.OwningAccounts = append(out.OwningAccounts, c.Account)
		}
	}
	return out, nil
}

// timeAhead lets ListMetrics see the current minute's datums.
const timeAhead = 2 * time.Minute

// listKey orders metrics: by namespace, name, then dimensions.
func listKey(ns, metric string, dims []store.Dimension) string {
	return ns + "\x00" + metric + "\x00" + dimsKey(dims)
}

// matchFilters: a metric matches when it has every filtered dimension,
// with the value given, if one is; it may have others.
func matchFilters(ds []store.Dimension, filters []dimension) bool {
	for _, f := range filters {
		ok := false
		for _, d := range ds {
			if d.Name == *f.Name && (f.Value == nil || *f.Value == "" || d.Value == *f.Value) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
