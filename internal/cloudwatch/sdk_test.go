package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

func dims(kv ...string) []types.Dimension {
	var out []types.Dimension
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// shapeOf names the modeled error of a query code: the SDK's awsQuery
// mode (not its default) reports modeled errors by shape, not by code.
var shapeOf = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"MissingParameter":            "MissingRequiredParameterException",
	"InternalServiceError":        "InternalServiceFault",
	"ValidationError":             "ValidationException",
}

func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want API error %s", err, err, code)
	}
	if got := ae.ErrorCode(); (got != code && got != shapeOf[code]) || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error %s: %q, want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func TestSDKGetMetricStatistics(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p.proto)
			ctx := context.Background()
			out, err := c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
				Dimensions: dims("StreamName", "S"),
				StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(60),
				Statistics: []types.Statistic{types.StatisticSampleCount, types.StatisticAverage,
					types.StatisticSum, types.StatisticMinimum, types.StatisticMaximum},
			})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.Label) != "IncomingRecords" || len(out.Datapoints) != 5 {
				t.Fatalf("label %q, %d datapoints: %+v", aws.ToString(out.Label), len(out.Datapoints), out.Datapoints)
			}
			sort.Slice(out.Datapoints, func(i, j int) bool { return out.Datapoints[i].Timestamp.Before(*out.Datapoints[j].Timestamp) })
			for i, dp := range out.Datapoints {
				if !dp.Timestamp.Equal(minute(11, 50+i)) || *dp.SampleCount != 3 || *dp.Sum != 14 ||
					*dp.Average != 14.0/3 || *dp.Minimum != 3 || *dp.Maximum != 7 || dp.Unit != types.StandardUnitCount {
					t.Errorf("datapoint %d: %s count %v sum %v avg %v min %v max %v unit %s", i, dp.Timestamp,
						*dp.SampleCount, *dp.Sum, *dp.Average, *dp.Minimum, *dp.Maximum, dp.Unit)
				}
			}

			// Five minutes in one period; a start inside a minute is
			// rounded down to it.
			for _, tc := range []struct {
				start time.Time
				want  float64
				at    time.Time
			}{
				{minute(11, 50), 70, minute(11, 50)},
				{minute(11, 52).Add(30 * time.Second), 42, minute(11, 52)},
			} {
				out, err = c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
					Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
					Dimensions: dims("StreamName", "S"), StartTime: aws.Time(tc.start), EndTime: aws.Time(minute(12, 0)),
					Period: aws.Int32(300), Statistics: []types.Statistic{types.StatisticSum, types.StatisticSampleCount},
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Datapoints) != 1 || *out.Datapoints[0].Sum != tc.want || !out.Datapoints[0].Timestamp.Equal(tc.at) ||
					out.Datapoints[0].Average != nil {
					t.Errorf("start %s period 300: %+v, want one datapoint at %s with Sum %v", tc.start, out.Datapoints, tc.at, tc.want)
				}
			}

			// A shard's series is its own: the dimension set must match
			// exactly, in any order.
			out, err = c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
				Dimensions: dims("ShardId", "shardId-000000000001", "StreamName", "S"),
				StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(3600),
				Statistics: []types.Statistic{types.StatisticSum},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Datapoints) != 1 || *out.Datapoints[0].Sum != 30 {
				t.Errorf("shard 1 over an hour: %+v, want Sum 30", out.Datapoints)
			}

			// No dimensions, or a unit the data is not in: nothing.
			for _, in := range []*cw.GetMetricStatisticsInput{
				{Dimensions: nil},
				{Dimensions: dims("StreamName", "S"), Unit: types.StandardUnitBytes},
				{Dimensions: dims("StreamName", "nope")},
			} {
				in.Namespace, in.MetricName = aws.String("AWS/Kinesis"), aws.String("IncomingRecords")
				in.StartTime, in.EndTime, in.Period = aws.Time(minute(11, 0)), aws.Time(minute(12, 0)), aws.Int32(60)
				in.Statistics = []types.Statistic{types.StatisticSum}
				out, err = c.GetMetricStatistics(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Datapoints) != 0 {
					t.Errorf("dims %v unit %q: %+v, want none", in.Dimensions, in.Unit, out.Datapoints)
				}
			}
		})
	}
}

func TestSDKPercentiles(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p.proto)
			in := &cw.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("GetRecords.Latency"),
				Dimensions: dims("StreamName", "S"),
				StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(60),
				ExtendedStatistics: []string{"p50", "p99", "p99.5", "p100", "p0.0"},
			}
			out, err := c.GetMetricStatistics(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Datapoints) != 1 {
				t.Fatalf("%d datapoints, want 1", len(out.Datapoints))
			}
			want := map[string]float64{"p50": 50, "p99": 99, "p99.5": 100, "p100": 100, "p0.0": 1}
			got := out.Datapoints[0].ExtendedStatistics
			if fmt.Sprint(got) != fmt.Sprint(want) || out.Datapoints[0].Unit != types.StandardUnitMilliseconds {
				t.Errorf("percentiles %v unit %s, want %v", got, out.Datapoints[0].Unit, want)
			}

			// Statistic sets of several distinct samples have no
			// percentiles: the datapoint comes without them.
			in.MetricName = aws.String("IncomingRecords")
			out, err = c.GetMetricStatistics(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Datapoints) != 5 || len(out.Datapoints[0].ExtendedStatistics) != 0 {
				t.Errorf("IncomingRecords percentiles: %+v", out.Datapoints)
			}
		})
	}
}

func TestSDKErrors(t *testing.T) {
	e := newEnv(t, Config{})
	base := func() *cw.GetMetricStatisticsInput {
		return &cw.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
			Dimensions: dims("StreamName", "S"),
			StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSum},
		}
	}
	cases := []struct {
		name      string
		change    func(*cw.GetMetricStatisticsInput)
		code, msg string
	}{
		{"too many datapoints", func(in *cw.GetMetricStatisticsInput) { in.StartTime = aws.Time(minute(11, 0).Add(-24 * time.Hour)) },
			"InvalidParameterCombination", "You have requested up to 1500 datapoints, which exceeds the limit of 1440. " +
				"You may reduce the datapoints requested by increasing Period, or decreasing the time range."},
		{"period", func(in *cw.GetMetricStatisticsInput) { in.Period = aws.Int32(45) },
			"InvalidParameterValue", "The parameter Period must be a multiple of 60."},
		{"no statistics", func(in *cw.GetMetricStatisticsInput) { in.Statistics = nil },
			"InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics"},
		{"both statistics", func(in *cw.GetMetricStatisticsInput) { in.ExtendedStatistics = []string{"p99"} },
			"InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics, but not both."},
		{"bad statistic", func(in *cw.GetMetricStatisticsInput) { in.Statistics = []types.Statistic{"Sum", "p99"} },
			"InvalidParameterValue", "The parameter Statistics.member.2.<list element> must be a value in the set [SampleCount, Average, Sum, Minimum, Maximum]."},
		{"equal times", func(in *cw.GetMetricStatisticsInput) { in.EndTime = in.StartTime },
			"InvalidParameterValue", "The parameter StartTime must not equal parameter EndTime."},
		{"reversed times", func(in *cw.GetMetricStatisticsInput) { in.StartTime, in.EndTime = in.EndTime, in.StartTime },
			"InvalidParameterValue", "The parameter EndTime must be greater than StartTime."},
		{"dimension value", func(in *cw.GetMetricStatisticsInput) {
			in.Dimensions = []types.Dimension{{Name: aws.String("StreamName"), Value: aws.String("")}}
		}, "MissingParameter", "The parameter Dimensions.member.1.Value is required."},
		{"unit", func(in *cw.GetMetricStatisticsInput) { in.Unit = "Parsecs" },
			"InvalidParameterValue", ""},
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p.proto)
			for _, tc := range cases {
				in := base()
				tc.change(in)
				_, err := c.GetMetricStatistics(context.Background(), in)
				apiError(t, err, tc.code, tc.msg)
			}
			// The SDK itself refuses a missing required member; the
			// server says the same to raw requests (raw_test.go).
			_, err := c.GetMetricData(context.Background(), &cw.GetMetricDataInput{
				StartTime: aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)),
				MetricDataQueries: []types.MetricDataQuery{
					{Id: aws.String("M1")},
					{Id: aws.String("e1"), Expression: aws.String("SUM(METRICS(")},
					{Id: aws.String("e2"), Expression: aws.String("nope * 2")},
				},
			})
			apiError(t, err, "ValidationError", "The value M1 for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$.\n"+
				"The parameter MetricDataQueries.member.1.MetricStat is required.\n"+
				"Error in expression e1: METRICS takes no argument or one string.\n"+
				"Error in expression e2: Unknown metric or expression id \"nope\".")
			_, err = c.GetMetricData(context.Background(), &cw.GetMetricDataInput{
				StartTime: aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), NextToken: aws.String("garbage"),
				MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("1")}},
			})
			apiError(t, err, "InvalidNextToken", "The NextToken is not valid for this request.")
		})
	}
}

func TestSDKAccessDenied(t *testing.T) {
	deny := &denyAll{}
	e := newEnv(t, Config{Authorizer: deny})
	for _, p := range protocols {
		c := e.client(p.proto)
		_, err := c.ListMetrics(context.Background(), &cw.ListMetricsInput{})
		apiError(t, err, "AccessDenied", "User: x is not authorized to perform: cloudwatch:ListMetrics")
	}
	if want := "cloudwatch:ListMetrics *"; len(deny.actions) != 3 || deny.actions[0] != want {
		t.Errorf("authorized %v, want %q three times", deny.actions, want)
	}
}

func TestSDKInternalError(t *testing.T) {
	e := newEnv(t, Config{})
	e.st.mu.Lock()
	e.st.err = errBoom
	e.st.mu.Unlock()
	for _, p := range protocols {
		c := e.client(p.proto)
		_, err := c.GetMetricStatistics(context.Background(), &cw.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
			Dimensions: dims("StreamName", "S"),
			StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(60),
			Statistics: []types.Statistic{types.StatisticSum},
		})
		apiError(t, err, "InternalServiceError", internalMessage)
		if strings.Contains(err.Error(), "boom") {
			t.Errorf("%s: the cause leaked to the client: %v", p.name, err)
		}
	}
}
