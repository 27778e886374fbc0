package cloudwatch

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"
)

// getMetricStatistics answers GetMetricStatistics: one datapoint per
// period with data, in time order.
func (s *Service) getMetricStatistics(ctx context.Context, in *getMetricStatisticsInput) (*getMetricStatisticsOutput, error) {
	if err := s.authorize(ctx, "GetMetricStatistics"); err != nil {
		return nil, err
	}
	if err := validateGMS(in); err != nil {
		return nil, err
	}
	now := s.now()
	period := *in.Period
	start, end := alignStart(*in.StartTime, now), *in.EndTime
	if n := bucketCount(start, end, period); n > maxGMSDatapoints {
		return nil, errorf(ErrInvalidParameterCombination, "You have requested up to %d datapoints, which exceeds the limit of %d. "+
			"You may reduce the datapoints requested by increasing Period, or decreasing the time range.", n, maxGMSDatapoints)
	}
	out := &getMetricStatisticsOutput{Label: *in.MetricName, Datapoints: []datapoint{}}
	if period%60 != 0 && start.Before(now.Add(-highResolutionLifetime)) {
		// Periods under a minute exist only for the last 3 hours.
		return out, nil
	}
	unit := ""
	if in.Unit != nil {
		unit = *in.Unit
	}
	id := seriesID{namespace: *in.Namespace, metric: *in.MetricName, dims: sortedDims(in.Dimensions)}
	ds, err := s.newReads(start, end).datums(ctx, id, unit)
	if err != nil {
		return nil, err
	}
	buckets := aggregate(ds, start, period)
	for _, i := range sortedBuckets(buckets) {
		b := buckets[i]
		dp := datapoint{Timestamp: periodStart(start, i, period), Unit: b.unit}
		for _, st := range in.Statistics {
			v, _ := b.statistic(st)
			switch st {
			case "SampleCount":
				dp.SampleCount = &v
			case "Average":
				dp.Average = &v
			case "Sum":
				dp.Sum = &v
			case "Minimum":
				dp.Minimum = &v
			case "Maximum":
				dp.Maximum = &v
			}
		}
		if len(in.ExtendedStatistics) > 0 {
			dp.ExtendedStatistics = []namedValue{}
			for _, st := range in.ExtendedStatistics {
				// Percentiles of statistic sets are unknown, and AWS
				// leaves them out; they are known when every sample is.
				if v, ok := b.statistic(st); ok {
					dp.ExtendedStatistics = append(dp.ExtendedStatistics, namedValue{st, v})
				}
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

// validateGMS checks GetMetricStatistics's input in AWS's order and
// words.
func validateGMS(in *getMetricStatisticsInput) error {
	if err := checkName("Namespace", in.Namespace, true); err != nil {
		return err
	}
	if *in.Namespace != "" && (*in.Namespace)[0] == ':' {
		return errorf(ErrInvalidParameterValue, "The parameter Namespace must not start with ':'.")
	}
	if err := checkName("MetricName", in.MetricName, true); err != nil {
		return err
	}
	if err := checkDimensions("Dimensions", in.Dimensions, maxDimensions, true); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		set  bool
	}{{"StartTime", in.StartTime != nil}, {"EndTime", in.EndTime != nil}, {"Period", in.Period != nil}} {
		if !p.set {
			return errorf(ErrMissingParameter, "The parameter %s is required.", p.name)
		}
	}
	if !validPeriod(*in.Period) {
		return errorf(ErrInvalidParameterValue, "The parameter Period must be a multiple of 60.")
	}
	if err := checkTimes(in.StartTime, in.EndTime, ErrInvalidParameterValue); err != nil {
		return err
	}
	switch {
	case len(in.Statistics) == 0 && len(in.ExtendedStatistics) == 0:
		return errorf(ErrInvalidParameterCombination, "Must specify either Statistics or ExtendedStatistics")
	case len(in.Statistics) > 0 && len(in.ExtendedStatistics) > 0:
		return errorf(ErrInvalidParameterCombination, "Must specify either Statistics or ExtendedStatistics, but not both.")
	}
	if len(in.Statistics) > maxStatistics {
		return errorf(ErrInvalidParameterValue, "The collection Statistics must not have a size greater than %d.", maxStatistics)
	}
	for i, st := range in.Statistics {
		if !inSet(st, statisticNames) {
			return errorf(ErrInvalidParameterValue, "The parameter Statistics.member.%d.<list element> must be a value in the set %s.",
				i+1, setText(statisticNames))
		}
	}
	if len(in.ExtendedStatistics) > maxExtendedStatistics {
		return errorf(ErrInvalidParameterValue, "The collection ExtendedStatistics must not have a size greater than %d.", maxExtendedStatistics)
	}
	for i, st := range in.ExtendedStatistics {
		if _, ok := parsePercentile(st); !ok {
			return errorf(ErrInvalidParameterValue, "The parameter ExtendedStatistics.member.%d must be a percentile between p0.0 and p100, such as p99 or p99.9.", i+1)
		}
	}
	if in.Unit != nil && !inSet(*in.Unit, standardUnits) {
		return errorf(ErrInvalidParameterValue, "The parameter Unit must be a value in the set %s.", setText(standardUnits))
	}
	return nil
}

// checkName checks a required or optional name member.
func checkName(path string, s *string, required bool) error {
	if s == nil || *s == "" {
		if required {
			return errorf(ErrMissingParameter, "The parameter %s is required.", path)
		}
		return nil
	}
	return checkLength(path, *s, maxNameLength)
}

func checkLength(path, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return errorf(ErrInvalidParameterValue, "The parameter %s must be shorter than %d characters.", path, max+1)
	}
	return nil
}

// checkDimensions checks Dimensions (valueRequired) or ListMetrics's
// DimensionFilters.
func checkDimensions(path string, ds []dimension, max int, valueRequired bool) error {
	if len(ds) > max {
		return errorf(ErrInvalidParameterValue, "The collection %s must not have a size greater than %d.", path, max)
	}
	for i, d := range ds {
		p := path + ".member." + strconv.Itoa(i+1)
		if err := checkName(p+".Name", d.Name, true); err != nil {
			return err
		}
		if d.Value == nil || *d.Value == "" {
			if valueRequired {
				return errorf(ErrMissingParameter, "The parameter %s.Value is required.", p)
			}
			continue
		}
		if err := checkLength(p+".Value", *d.Value, maxDimensionValue); err != nil {
			return err
		}
	}
	return nil
}

// checkTimes checks StartTime and EndTime, both set.
func checkTimes(start, end *time.Time, kind error) error {
	switch {
	case start.Equal(*end):
		return errorf(kind, "The parameter StartTime must not equal parameter EndTime.")
	case start.After(*end):
		return errorf(kind, "The parameter EndTime must be greater than StartTime.")
	}
	return nil
}
