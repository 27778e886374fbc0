package cloudwatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

func shardQuery(id, shard, stat string) types.MetricDataQuery {
	return types.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
				Dimensions: dims("StreamName", "S", "ShardId", shard)},
			Period: aws.Int32(60), Stat: aws.String(stat),
		},
		ReturnData: aws.Bool(false),
	}
}

// series renders a result as "label: t=v t=v".
func series(r types.MetricDataResult) string {
	var b strings.Builder
	b.WriteString(aws.ToString(r.Label) + ":")
	for i, t := range r.Timestamps {
		fmt.Fprintf(&b, " %s=%g", t.UTC().Format("15:04"), r.Values[i])
	}
	return b.String()
}

func TestSDKGetMetricData(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p.proto)
			in := &cw.GetMetricDataInput{
				StartTime: aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)),
				MetricDataQueries: []types.MetricDataQuery{
					shardQuery("m0", "shardId-000000000000", "Sum"),
					shardQuery("m1", "shardId-000000000001", "Sum"),
					{Id: aws.String("total"), Expression: aws.String("SUM(METRICS(\"m\"))"), Label: aws.String("All shards")},
					{Id: aws.String("every"), Expression: aws.String("SUM(METRICS())")},
					{Id: aws.String("mix"), Expression: aws.String("(m1 - m0) * 2 + 1")},
					{Id: aws.String("ratio"), Expression: aws.String("MAX([m0, m1]) / SUM(m0)")},
					{Id: aws.String("s5"), MetricStat: &types.MetricStat{
						Metric: &types.Metric{Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingRecords"),
							Dimensions: dims("StreamName", "S")},
						Period: aws.Int32(300), Stat: aws.String("Maximum"),
					}},
				},
			}
			out, err := c.GetMetricData(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.MetricDataResults {
				if r.StatusCode != types.StatusCodeComplete {
					t.Errorf("%s: status %s", aws.ToString(r.Id), r.StatusCode)
				}
				got = append(got, aws.ToString(r.Id)+" "+series(r))
			}
			want := []string{
				"total All shards: 11:54=10 11:53=10 11:52=10 11:51=10 11:50=10",
				"every every: 11:54=10 11:53=10 11:52=10 11:51=10 11:50=17",
				"mix mix: 11:54=5 11:53=5 11:52=5 11:51=5 11:50=5",
				"ratio ratio: 11:54=0.3 11:53=0.3 11:52=0.3 11:51=0.3 11:50=0.3",
				"s5 IncomingRecords: 11:50=7",
			}
			if !slices.Equal(got, want) {
				t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if out.NextToken != nil || len(out.Messages) != 0 {
				t.Errorf("NextToken %v, Messages %v", out.NextToken, out.Messages)
			}

			// Oldest first, and a page of 3 datapoints at a time.
			in.ScanBy = types.ScanByTimestampAscending
			in.MaxDatapoints = aws.Int32(3)
			pages := cw.NewGetMetricDataPaginator(c, in)
			merged := map[string][]string{}
			n := 0
			for pages.HasMorePages() {
				page, err := pages.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				n++
				for _, r := range page.MetricDataResults {
					if len(r.Values) > 3 {
						t.Errorf("page %d: %d values", n, len(r.Values))
					}
					for i, ts := range r.Timestamps {
						merged[aws.ToString(r.Id)] = append(merged[aws.ToString(r.Id)], fmt.Sprintf("%s=%g", ts.UTC().Format("15:04"), r.Values[i]))
					}
				}
			}
			if n != 7 || strings.Join(merged["total"], " ") != "11:50=10 11:51=10 11:52=10 11:53=10 11:54=10" ||
				len(merged["every"]) != 5 || len(merged["mix"]) != 5 || len(merged["ratio"]) != 5 || len(merged["s5"]) != 1 {
				t.Errorf("%d pages: %v", n, merged)
			}
		})
	}
}

func TestSDKListMetrics(t *testing.T) {
	e := newEnv(t, Config{})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := e.client(p.proto)
			list := func(in *cw.ListMetricsInput) []string {
				t.Helper()
				var names []string
				pages := cw.NewListMetricsPaginator(c, in)
				for pages.HasMorePages() {
					page, err := pages.NextPage(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range page.Metrics {
						s := aws.ToString(m.Namespace) + " " + aws.ToString(m.MetricName)
						for _, d := range m.Dimensions {
							s += " " + aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
						}
						names = append(names, s)
					}
				}
				return names
			}
			all := []string{
				"AWS/Kinesis GetRecords.Latency StreamName=S",
				"AWS/Kinesis IncomingRecords ShardId=shardId-000000000000 StreamName=S",
				"AWS/Kinesis IncomingRecords ShardId=shardId-000000000001 StreamName=S",
				"AWS/Kinesis IncomingRecords StreamName=S",
				"AWS/Kinesis IncomingRecords StreamName=T",
			}
			for _, tc := range []struct {
				in   cw.ListMetricsInput
				want []string
			}{
				{cw.ListMetricsInput{}, all},
				{cw.ListMetricsInput{Namespace: aws.String("AWS/Kinesis"), RecentlyActive: types.RecentlyActivePt3h}, all},
				{cw.ListMetricsInput{Namespace: aws.String("AWS/EC2")}, nil},
				{cw.ListMetricsInput{MetricName: aws.String("IncomingRecords"),
					Dimensions: []types.DimensionFilter{{Name: aws.String("ShardId")}}}, all[1:3]},
				{cw.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("StreamName"), Value: aws.String("T")}}}, all[4:]},
				{cw.ListMetricsInput{Dimensions: []types.DimensionFilter{{Name: aws.String("ConsumerName")}}}, nil},
			} {
				got := list(&tc.in)
				if !slices.Equal(got, tc.want) {
					t.Errorf("ListMetrics %+v:\n%s\nwant:\n%s", tc.in, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			}

			// Pages of two.
			c = newEnv(t, Config{}, func(s *Service) { s.listPageSize = 2 }).client(p.proto)
			out, err := c.ListMetrics(context.Background(), &cw.ListMetricsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Metrics) != 2 || out.NextToken == nil {
				t.Fatalf("first page: %d metrics, token %v", len(out.Metrics), out.NextToken)
			}
			if got := list(&cw.ListMetricsInput{}); !slices.Equal(got, all) {
				t.Errorf("paged:\n%s", strings.Join(got, "\n"))
			}
			out, err = c.ListMetrics(context.Background(), &cw.ListMetricsInput{IncludeLinkedAccounts: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.OwningAccounts, []string{"000000000000", "000000000000"}) {
				t.Errorf("OwningAccounts %v", out.OwningAccounts)
			}
		})
	}
}

// TestRetention: what the store has let expire is gone from every
// operation; ListMetrics reads only the store's retention.
func TestListMetricsReadsRetention(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client(nil)
	if _, err := c.ListMetrics(context.Background(), &cw.ListMetricsInput{RecentlyActive: types.RecentlyActivePt3h}); err != nil {
		t.Fatal(err)
	}
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	if len(e.st.reads) != 2 {
		t.Fatalf("reads %+v, want one per namespace", e.st.reads)
	}
	for _, q := range e.st.reads {
		if !q.From.Equal(testNow.Add(-3*time.Hour)) || q.To.Before(testNow) || q.Account != "000000000000" {
			t.Errorf("read %+v", q)
		}
	}
}
