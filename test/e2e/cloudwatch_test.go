package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// cloudWatch returns an aws-sdk-go-v2 CloudWatch client for this server,
// in the SDK's own protocol (Smithy RPC v2 CBOR).
func (s *server) cloudWatch() *cloudwatch.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		HTTPClient:  s.http,
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.endpoint()) })
}

// cwWorkload is the known workload the CloudWatch test puts: two
// PutRecords calls of cwRecords/2 records of cwSize bytes, one call per
// shard, with 5-byte partition keys (which AWS counts in IncomingBytes).
const (
	cwStream  = "CwStream"
	cwRecords = 20
	cwSize    = 100
	cwBytes   = cwRecords * (cwSize + 5)
	cwShard0  = "shardId-000000000000"
	cwShard1  = "shardId-000000000001"
)

// TestCloudWatch puts a known workload, then reads its metrics back
// through the CloudWatch API with the AWS CLI (awsQuery), aws-sdk-go-v2
// (Smithy RPC v2 CBOR), boto3 (awsQuery) and the JS SDK v3 (awsJson1_0).
func TestCloudWatch(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (apt-get install awscli; make test does it): %v", awsCLI, err)
	}
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (apt-get install python3-boto3; make test does it): %v", debianPython, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required: %v", err)
	}
	if _, err := os.Stat(filepath.Join("clients", "node_modules", "@aws-sdk", "client-cloudwatch", "package.json")); err != nil {
		t.Fatalf("@aws-sdk/client-cloudwatch is not installed (run make test, or npm ci in test/e2e/clients): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--metrics-flush=1s"}})
	kc := s.kinesis()
	createStream(ctx, t, kc, cwStream, 2)
	if _, err := kc.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String(cwStream),
		ShardLevelMetrics: []types.MetricsName{types.MetricsNameIncomingRecords, types.MetricsNameIncomingBytes}}); err != nil {
		t.Fatal(err)
	}

	start := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	for call, hashKey := range []string{"0", maxHashKey} {
		var recs []types.PutRecordsRequestEntry
		for i := range cwRecords / 2 {
			recs = append(recs, types.PutRecordsRequestEntry{
				Data:            []byte(strings.Repeat("x", cwSize)),
				PartitionKey:    aws.String(fmt.Sprintf("pk-%02d", call*cwRecords/2+i)),
				ExplicitHashKey: aws.String(hashKey),
			})
		}
		out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(cwStream), Records: recs})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v, %v failed", err, out)
		}
	}
	end := time.Now().UTC().Add(10 * time.Minute).Truncate(time.Minute)
	iso := func(t time.Time) string { return t.Format(time.RFC3339) }

	// The AWS CLI, until every process has flushed what it counted.
	statArgs := func(metric string, dims ...string) []string {
		args := []string{"cloudwatch", "get-metric-statistics", "--namespace", "AWS/Kinesis", "--metric-name", metric,
			"--start-time", iso(start), "--end-time", iso(end), "--period", "60",
			"--statistics", "Sum", "SampleCount", "Minimum", "Maximum", "--dimensions"}
		for i := 0; i+1 < len(dims); i += 2 {
			args = append(args, "Name="+dims[i]+",Value="+dims[i+1])
		}
		return args
	}
	type cliStats struct {
		Label      string
		Datapoints []struct {
			Timestamp                          string
			Sum, SampleCount, Minimum, Maximum float64
			Unit                               string
		}
	}
	total := func(out cliStats) (sum, count float64) {
		for _, dp := range out.Datapoints {
			sum += dp.Sum
			count += dp.SampleCount
		}
		return sum, count
	}
	waitSum := func(want float64, metric string, dims ...string) cliStats {
		t.Helper()
		deadline := time.Now().Add(hangTimeout)
		for {
			var out cliStats
			awsJSON(ctx, t, s, &out, statArgs(metric, dims...)...)
			sum, _ := total(out)
			if sum == want {
				return out
			}
			if sum > want {
				t.Fatalf("%s %v: Sum %v, more than the %v put", metric, dims, sum, want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %v: Sum %v after %v, want %v (are metrics counted and flushed?)", metric, dims, sum, hangTimeout, want)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	out := waitSum(cwRecords, "IncomingRecords", "StreamName", cwStream)
	if _, count := total(out); out.Label != "IncomingRecords" || count != 2 {
		t.Errorf("IncomingRecords: label %q, SampleCount %v, want 2 (one per PutRecords call): %+v", out.Label, count, out)
	}
	for _, dp := range out.Datapoints {
		if dp.Unit != "Count" || dp.Minimum != cwRecords/2 || dp.Maximum != cwRecords/2 {
			t.Errorf("IncomingRecords datapoint %+v, want Count with Minimum = Maximum = %d", dp, cwRecords/2)
		}
		if ts := cliTime(t, "Timestamp", dp.Timestamp); ts.Before(start) || ts.Second() != 0 {
			t.Errorf("datapoint at %s, before the start %s or not on a minute", dp.Timestamp, start)
		}
	}
	waitSum(cwBytes, "IncomingBytes", "StreamName", cwStream)
	waitSum(cwRecords/2, "IncomingRecords", "StreamName", cwStream, "ShardId", cwShard0)
	waitSum(cwRecords/2, "IncomingRecords", "ShardId", cwShard1, "StreamName", cwStream)

	// AWS's errors reach the CLI as AWS words them.
	bad := statArgs("IncomingRecords", "StreamName", cwStream)
	bad[slices.Index(bad, "60")] = "45"
	if _, stderr, code := awsRun(ctx, t, s, bad...); code == 0 ||
		!strings.Contains(stderr, "An error occurred (InvalidParameterValue) when calling the GetMetricStatistics operation: The parameter Period must be a multiple of 60.") {
		t.Errorf("period 45: exit %d, stderr %s", code, stderr)
	}

	// get-metric-data: the shards' sum as metric math.
	queries := fmt.Sprintf(`[
		{"Id": "s0", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords",
			"Dimensions": [{"Name": "StreamName", "Value": %[1]q}, {"Name": "ShardId", "Value": %[2]q}]}, "Period": 60, "Stat": "Sum"}},
		{"Id": "s1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords",
			"Dimensions": [{"Name": "StreamName", "Value": %[1]q}, {"Name": "ShardId", "Value": %[3]q}]}, "Period": 60, "Stat": "Sum"}},
		{"Id": "total", "Expression": "SUM(METRICS())", "Label": "All shards"}]`, cwStream, cwShard0, cwShard1)
	var gmd struct {
		MetricDataResults []struct {
			ID         string `json:"Id"`
			Label      string
			Timestamps []string
			Values     []float64
			StatusCode string
		}
	}
	awsJSON(ctx, t, s, &gmd, "cloudwatch", "get-metric-data", "--start-time", iso(start), "--end-time", iso(end),
		"--metric-data-queries", queries)
	if len(gmd.MetricDataResults) != 1 {
		t.Fatalf("get-metric-data: %+v, want the expression's result only", gmd)
	}
	r := gmd.MetricDataResults[0]
	var sum float64
	for _, v := range r.Values {
		sum += v
	}
	if r.ID != "total" || r.Label != "All shards" || r.StatusCode != "Complete" || sum != cwRecords || len(r.Timestamps) != len(r.Values) {
		t.Errorf("get-metric-data: %+v, want the values to sum to %d", r, cwRecords)
	}
	for i := 1; i < len(r.Timestamps); i++ {
		if r.Timestamps[i] >= r.Timestamps[i-1] {
			t.Errorf("get-metric-data timestamps %v are not newest first", r.Timestamps)
		}
	}

	// list-metrics: the stream's metrics, stream and shard level.
	var lm struct {
		Metrics []struct {
			Namespace, MetricName string
			Dimensions            []struct{ Name, Value string }
		}
	}
	awsJSON(ctx, t, s, &lm, "cloudwatch", "list-metrics", "--namespace", "AWS/Kinesis", "--metric-name", "IncomingRecords",
		"--dimensions", "Name=StreamName,Value="+cwStream)
	var listed []string
	for _, m := range lm.Metrics {
		var ds []string
		for _, d := range m.Dimensions {
			ds = append(ds, d.Name+"="+d.Value)
		}
		listed = append(listed, m.Namespace+" "+m.MetricName+" "+strings.Join(ds, ","))
	}
	want := []string{
		"AWS/Kinesis IncomingRecords ShardId=" + cwShard0 + ",StreamName=" + cwStream,
		"AWS/Kinesis IncomingRecords ShardId=" + cwShard1 + ",StreamName=" + cwStream,
		"AWS/Kinesis IncomingRecords StreamName=" + cwStream,
	}
	if !slices.Equal(listed, want) {
		t.Errorf("list-metrics:\n%s\nwant:\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}

	checkCloudWatchSDK(ctx, t, s, start, end)
	if os.Getenv("E2E_AUTH") == "sigv4" {
		// The API checks signatures for the service "monitoring".
		bad := cloudwatch.NewFromConfig(aws.Config{Region: region, HTTPClient: s.http,
			Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, "wrong", "")},
			func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(s.endpoint()); o.RetryMaxAttempts = 1 })
		_, err := bad.ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
			t.Errorf("ListMetrics with a wrong secret: %v, want SignatureDoesNotMatch", err)
		}
	}

	// boto3 (Debian's botocore speaks awsQuery) and the JS SDK v3
	// (awsJson1_0), each checking the same sums.
	args := []string{"--endpoint", s.endpoint(), "--stream", cwStream,
		"--start", strconv.FormatInt(start.Unix(), 10), "--end", strconv.FormatInt(end.Unix(), 10),
		"--records", strconv.Itoa(cwRecords), "--bytes", strconv.Itoa(cwBytes)}
	for _, c := range []struct{ prog, script string }{
		{debianPython, "cloudwatch_boto3.py"},
		{node, "js_cloudwatch.mjs"},
	} {
		stdout, stderr, code := runClient(ctx, t, c.prog, append([]string{filepath.Join("clients", c.script)}, args...)...)
		if code != 0 {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", c.script, code, stdout, stderr)
		} else {
			t.Log(stdout)
		}
	}
	s.stop(t)
}

// checkCloudWatchSDK reads the workload's metrics with aws-sdk-go-v2.
func checkCloudWatchSDK(ctx context.Context, t *testing.T, s *server, start, end time.Time) {
	t.Helper()
	cw := s.cloudWatch()
	dims := func(kv ...string) []cwtypes.Dimension {
		var out []cwtypes.Dimension
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, cwtypes.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	for _, tc := range []struct {
		metric      string
		period      int32
		sum, count  float64
		unit        cwtypes.StandardUnit
		dimensions  []cwtypes.Dimension
		onePeriod   bool
		description string
	}{
		{"IncomingRecords", 60, cwRecords, 2, cwtypes.StandardUnitCount, dims("StreamName", cwStream), false, "per minute"},
		{"IncomingBytes", 3600, cwBytes, 2, cwtypes.StandardUnitBytes, dims("StreamName", cwStream), true, "one hour-long period"},
		{"PutRecords.TotalRecords", 300, cwRecords, 2, cwtypes.StandardUnitCount, dims("StreamName", cwStream), false, "5 minutes"},
		{"IncomingRecords", 60, cwRecords / 2, 1, cwtypes.StandardUnitCount, dims("StreamName", cwStream, "ShardId", cwShard1), false, "shard 1"},
	} {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String(tc.metric), Dimensions: tc.dimensions,
			StartTime: aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(tc.period),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticSum, cwtypes.StatisticSampleCount, cwtypes.StatisticAverage},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", tc.metric, err)
		}
		var sum, count float64
		for _, dp := range out.Datapoints {
			sum += aws.ToFloat64(dp.Sum)
			count += aws.ToFloat64(dp.SampleCount)
			if dp.Unit != tc.unit || *dp.Average != *dp.Sum / *dp.SampleCount {
				t.Errorf("%s %s: datapoint %+v", tc.metric, tc.description, dp)
			}
		}
		if sum != tc.sum || count != tc.count || (tc.onePeriod && len(out.Datapoints) != 1) {
			t.Errorf("%s %s: Sum %v SampleCount %v over %d datapoints, want %v and %v", tc.metric, tc.description,
				sum, count, len(out.Datapoints), tc.sum, tc.count)
		}
	}

	shard := func(id, shardID string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(false), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingBytes"),
				Dimensions: dims("StreamName", cwStream, "ShardId", shardID)},
			Period: aws.Int32(60), Stat: aws.String("Sum")}}
	}
	gmd, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{shard("b0", cwShard0), shard("b1", cwShard1),
			{Id: aws.String("kib"), Expression: aws.String("SUM(METRICS()) / 1024")}},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(gmd.MetricDataResults) != 1 {
		t.Fatalf("GetMetricData: %+v", gmd.MetricDataResults)
	}
	var kib float64
	r := gmd.MetricDataResults[0]
	for i, v := range r.Values {
		kib += v
		if i > 0 && !r.Timestamps[i].After(r.Timestamps[i-1]) {
			t.Errorf("timestamps %v are not oldest first", r.Timestamps)
		}
	}
	if diff := kib - float64(cwBytes)/1024; diff > 1e-9 || diff < -1e-9 || r.StatusCode != cwtypes.StatusCodeComplete {
		t.Errorf("GetMetricData: %v KiB (%s), want %v", kib, r.StatusCode, float64(cwBytes)/1024)
	}

	var names []string
	pages := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Kinesis"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("ShardId")}}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListMetrics: %v", err)
		}
		for _, m := range page.Metrics {
			b, _ := json.Marshal(m.Dimensions)
			names = append(names, aws.ToString(m.MetricName)+" "+string(b))
		}
	}
	slices.Sort(names)
	if len(names) != 4 || !strings.HasPrefix(names[0], "IncomingBytes") || !strings.HasPrefix(names[3], "IncomingRecords") {
		t.Errorf("shard-level metrics listed: %v, want IncomingBytes and IncomingRecords of both shards", names)
	}
}
