package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the admin listener's /metrics, signed for service
// "rivulet" when the server checks signatures, and parses it with
// Prometheus's text parser. It returns every sample keyed
// name{label="value",...} (labels sorted), valued by the counter or
// gauge, and a histogram by its sample count.
func scrape(ctx context.Context, t *testing.T, s *server, adminAddr string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("E2E_AUTH") == "sigv4" {
		sum := sha256.Sum256(nil)
		err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey},
			req, hex.EncodeToString(sum[:]), "rivulet", region, time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[promKey(name, m.GetLabel())] = promValue(m)
		}
	}
	return out
}

func promKey(name string, labels []*dto.LabelPair) string {
	var ls []string
	for _, l := range labels {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func promValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// kinesisSeries names a rivulet_kinesis_* series of the stream (shard ""
// for the stream level, as the exporter labels it).
func kinesisSeries(metric, stream, shard string, extra ...string) string {
	labels := append([]string{`account="` + account + `"`, `region="` + region + `"`, `shard="` + shard + `"`, `stream="` + stream + `"`}, extra...)
	sort.Strings(labels)
	return metric + "{" + strings.Join(labels, ",") + "}"
}

// putTally is what the responses of a workload reported.
type putTally struct {
	stored, throttled, calls int
}

// TestMetricsPrometheus runs a workload of known size against a server
// with AWS's limits, then reads /metrics: every count equals what the
// responses reported. Shard-level series appear when the AWS CLI enables
// them and disappear when it disables them.
func TestMetricsPrometheus(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (apt-get install awscli; make test does it): %v", awsCLI, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	adminAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s := startServer(t, serverOptions{extra: []string{"--limits=aws", "--metrics-flush=1s", "--admin-addr", adminAddr}})
	ctl := s.kinesis() // control plane: the SDK retries its rate limits
	// Data plane without retries: every answer the server gave is seen.
	c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	const name = "metered"
	createStream(ctx, t, ctl, name, 1)

	const (
		size  = 100 // bytes of data per record
		pkLen = 8   // bytes of partition key
		rec   = size + pkLen
	)
	data := []byte(strings.Repeat("m", size))
	pk := func(i int) *string { return aws.String(fmt.Sprintf("pk%06d", i)) }

	// PutRecord, N1 times, into a full bucket.
	const n1 = 5
	var single putTally
	for i := range n1 {
		_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: pk(i), Data: data})
		single.calls++
		switch {
		case err == nil:
			single.stored++
		case isThrottle(err):
			single.throttled++
		default:
			t.Fatalf("PutRecord: %v", err)
		}
	}
	// PutRecords of 500, back to back, until the shard's 1000 records/s
	// refused some: those come back ProvisionedThroughputExceededException.
	var batch putTally
	total := 0
	for call := 0; batch.throttled == 0 || call < 3; call++ {
		if call == 40 {
			t.Fatalf("no record throttled after %d PutRecords of 500 records to one shard", call)
		}
		out := putBurst(ctx, t, c, name, data, pk, total, 500)
		total += 500
		batch.calls++
		for _, r := range out.Records {
			switch {
			case r.ErrorCode == nil:
				batch.stored++
			case *r.ErrorCode == "ProvisionedThroughputExceededException":
				batch.throttled++
			default:
				t.Fatalf("PutRecords entry failed with %s: %s", *r.ErrorCode, aws.ToString(r.ErrorMessage))
			}
		}
		if int(aws.ToInt32(out.FailedRecordCount)) != 500-countStored(out) {
			t.Fatalf("FailedRecordCount %d does not match the entries", aws.ToInt32(out.FailedRecordCount))
		}
	}
	t.Logf("PutRecord: %+v; PutRecords: %+v of %d", single, batch, total)

	// Read everything back; a read refused for the shard's 5 calls/s is
	// counted and tried again.
	stored := single.stored + batch.stored
	read, readThrottled := readCounting(ctx, t, c, name, "shardId-000000000000", stored)
	if read != stored {
		t.Fatalf("read %d records, stored %d", read, stored)
	}

	m := scrape(ctx, t, s, adminAddr)
	series := func(metric string, extra ...string) string { return kinesisSeries(metric, name, "", extra...) }
	streamOnly := func(metric string) string {
		return fmt.Sprintf(`%s{account=%q,region=%q,stream=%q}`, metric, account, region, name)
	}
	for _, w := range []struct {
		key  string
		want int
	}{
		{series("rivulet_kinesis_incoming_records_total"), stored},
		{series("rivulet_kinesis_incoming_bytes_total"), stored * rec},
		{series("rivulet_kinesis_write_provisioned_throughput_exceeded_total"), single.throttled + batch.throttled},
		{streamOnly("rivulet_kinesis_put_record_bytes_total"), single.stored * rec},
		{streamOnly("rivulet_kinesis_put_records_requested_records_total"), total},
		{streamOnly("rivulet_kinesis_put_records_successful_records_total"), batch.stored},
		{streamOnly("rivulet_kinesis_put_records_throttled_records_total"), batch.throttled},
		{streamOnly("rivulet_kinesis_put_records_failed_records_total"), 0},
		{streamOnly("rivulet_kinesis_put_records_bytes_total"), batch.stored * rec},
		{streamOnly("rivulet_kinesis_put_records_latency_seconds"), batch.calls},
		{streamOnly("rivulet_kinesis_put_record_latency_seconds"), single.calls},
		{fmt.Sprintf(`rivulet_kinesis_put_record_requests_total{account=%q,region=%q,result="success",stream=%q}`, account, region, name), single.stored},
		{streamOnly("rivulet_kinesis_get_records_records_total"), stored},
		{streamOnly("rivulet_kinesis_get_records_bytes_total"), stored * rec},
		{series("rivulet_kinesis_read_provisioned_throughput_exceeded_total"), readThrottled},
	} {
		if got, ok := m[w.key]; !ok || got != float64(w.want) {
			t.Errorf("%s = %v (present: %v), want %d", w.key, got, ok, w.want)
		}
	}
	if shard := shardLevel(m, name); len(shard) > 0 {
		t.Errorf("shard-level series before enable-enhanced-monitoring: %v", shard)
	}

	// Enable every shard-level metric with the AWS CLI.
	var mon struct {
		StreamName                                         string
		CurrentShardLevelMetrics, DesiredShardLevelMetrics []string
	}
	awsJSON(ctx, t, s, &mon, "kinesis", "enable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "ALL")
	all := []string{"IncomingBytes", "IncomingRecords", "IteratorAgeMilliseconds", "OutgoingBytes", "OutgoingRecords",
		"ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded"}
	slices.Sort(mon.DesiredShardLevelMetrics)
	if mon.StreamName != name || len(mon.CurrentShardLevelMetrics) != 0 || !slices.Equal(mon.DesiredShardLevelMetrics, all) {
		t.Fatalf("enable-enhanced-monitoring answered %+v", mon)
	}
	// A second workload, with the shard's bucket as the first left it.
	var more putTally
	for call := 0; more.stored == 0; call++ {
		if call == 40 {
			t.Fatal("no record stored after 40 PutRecords")
		}
		out := putBurst(ctx, t, c, name, data, pk, total, 10)
		total += 10
		n := countStored(out)
		more.stored += n
		more.throttled += 10 - n
		if n == 0 {
			time.Sleep(100 * time.Millisecond) // the bucket refills
		}
	}
	read, readThrottled2 := readCounting(ctx, t, c, name, "shardId-000000000000", stored+more.stored)
	if read != stored+more.stored {
		t.Fatalf("read %d records, want %d", read, stored+more.stored)
	}
	m = scrape(ctx, t, s, adminAddr)
	shard := func(metric string) string { return kinesisSeries(metric, name, "shardId-000000000000") }
	for _, w := range []struct {
		key  string
		want int
	}{
		{shard("rivulet_kinesis_incoming_records_total"), more.stored},
		{shard("rivulet_kinesis_incoming_bytes_total"), more.stored * rec},
		{shard("rivulet_kinesis_write_provisioned_throughput_exceeded_total"), more.throttled},
		{shard("rivulet_kinesis_outgoing_records_total"), stored + more.stored},
		{shard("rivulet_kinesis_outgoing_bytes_total"), (stored + more.stored) * rec},
		{shard("rivulet_kinesis_read_provisioned_throughput_exceeded_total"), readThrottled2},
		{series("rivulet_kinesis_incoming_records_total"), stored + more.stored},
	} {
		if got, ok := m[w.key]; !ok || got != float64(w.want) {
			t.Errorf("%s = %v (present: %v), want %d", w.key, got, ok, w.want)
		}
	}
	if got := shardLevel(m, name); len(got) != len(all) {
		t.Errorf("shard-level series after enabling ALL: %v, want one per metric", got)
	}

	// Disable them all: their series go.
	awsJSON(ctx, t, s, &mon, "kinesis", "disable-enhanced-monitoring", "--stream-name", name, "--shard-level-metrics", "ALL")
	slices.Sort(mon.CurrentShardLevelMetrics)
	if !slices.Equal(mon.CurrentShardLevelMetrics, all) || len(mon.DesiredShardLevelMetrics) != 0 {
		t.Fatalf("disable-enhanced-monitoring answered %+v", mon)
	}
	m = scrape(ctx, t, s, adminAddr)
	if got := shardLevel(m, name); len(got) > 0 {
		t.Errorf("shard-level series after disabling ALL: %v", got)
	}
	if got := m[series("rivulet_kinesis_incoming_records_total")]; got != float64(stored+more.stored) {
		t.Errorf("stream-level incoming records %v after disabling, want %d", got, stored+more.stored)
	}
	s.stop(t)
}

func isThrottle(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ProvisionedThroughputExceededException"
}

// putBurst sends one PutRecords of n records numbered from first.
func putBurst(ctx context.Context, t *testing.T, c *kinesis.Client, name string, data []byte, pk func(int) *string, first, n int) *kinesis.PutRecordsOutput {
	t.Helper()
	recs := make([]types.PutRecordsRequestEntry, n)
	for i := range recs {
		recs[i] = types.PutRecordsRequestEntry{PartitionKey: pk(first + i), Data: data}
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: recs})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	return out
}

func countStored(out *kinesis.PutRecordsOutput) int {
	n := 0
	for _, r := range out.Records {
		if r.ErrorCode == nil {
			n++
		}
	}
	return n
}

// readCounting reads a shard from TRIM_HORIZON until it has want records and
// is caught up. It returns the records read and the reads refused for
// throughput (each tried again after a pause).
func readCounting(ctx context.Context, t *testing.T, c *kinesis.Client, name, shard string, want int) (read, throttled int) {
	t.Helper()
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(shard),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	iter := it.ShardIterator
	for {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if isThrottle(err) {
			throttled++
			time.Sleep(250 * time.Millisecond) // 5 reads a second per shard
			continue
		}
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		read += len(out.Records)
		iter = out.NextShardIterator
		if read >= want && len(out.Records) == 0 {
			return read, throttled
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records before the deadline", read, want)
		}
	}
}

// shardLevel lists the series of the stream with a shard.
func shardLevel(m map[string]float64, stream string) []string {
	var out []string
	for k := range m {
		if strings.Contains(k, `stream="`+stream+`"`) && strings.Contains(k, `shard="shardId-`) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// firehoseSeries names a rivulet_firehose_* series of a delivery stream.
func firehoseSeries(metric, name string, extra ...string) string {
	labels := append([]string{`account="` + account + `"`, `delivery_stream="` + name + `"`, `region="` + region + `"`}, extra...)
	sort.Strings(labels)
	return metric + "{" + strings.Join(labels, ",") + "}"
}

// TestMetricsFirehose puts a known number of records into a DirectPut
// delivery stream and reads /metrics until the engine has delivered them:
// the incoming and delivered counts equal what was put.
func TestMetricsFirehose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	adminAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s, dir := startFirehose(t, serverOptions{extra: []string{"--admin-addr", adminAddr}})
	fc := s.firehose()
	const name, bucket = "metered-fh", "metered"
	if err := os.MkdirAll(filepath.Join(dir, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(name),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN: aws.String("arn:aws:s3:::" + bucket), RoleARN: aws.String(fhRole),
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(0)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitDeliveryActive(ctx, t, fc, name)
	const batches, per, size = 3, 40, 50
	var recs []fhtypes.Record
	for i := range per {
		recs = append(recs, fhtypes.Record{Data: []byte(fmt.Sprintf("%0*d", size, i))})
	}
	for range batches {
		out, err := fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(name), Records: recs})
		if err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
			t.Fatalf("PutRecordBatch: %v (%d failed)", err, aws.ToInt32(out.FailedPutCount))
		}
	}
	if _, err := fc.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(name), Record: &fhtypes.Record{Data: make([]byte, size)}}); err != nil {
		t.Fatal(err)
	}
	const records = batches*per + 1
	want := map[string]float64{
		firehoseSeries("rivulet_firehose_incoming_records_total", name):           records,
		firehoseSeries("rivulet_firehose_incoming_bytes_total", name):             records * size,
		firehoseSeries("rivulet_firehose_incoming_put_requests_total", name):      batches + 1,
		firehoseSeries("rivulet_firehose_put_record_batch_records_total", name):   batches * per,
		firehoseSeries("rivulet_firehose_put_record_batch_bytes_total", name):     batches * per * size,
		firehoseSeries("rivulet_firehose_put_record_bytes_total", name):           size,
		firehoseSeries("rivulet_firehose_delivery_to_s3_records_total", name):     records,
		firehoseSeries("rivulet_firehose_delivery_to_s3_bytes_total", name):       records * size,
		firehoseSeries("rivulet_firehose_put_record_batch_latency_seconds", name): batches, // a histogram's count
	}
	for {
		m := scrape(ctx, t, s, adminAddr)
		var off []string
		for k, v := range want {
			if m[k] != v {
				off = append(off, fmt.Sprintf("%s = %v, want %v", k, m[k], v))
			}
		}
		if len(off) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics never matched the workload:\n%s", strings.Join(off, "\n"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
