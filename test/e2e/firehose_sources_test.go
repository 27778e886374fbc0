package e2e

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// createKinesisSourced makes a Kinesis stream and a delivery stream that
// reads it into bucket, and returns once a probe record put after the
// delivery stream started has arrived: Firehose starts at LATEST, so
// earlier records are not delivered.
func createKinesisSourced(ctx context.Context, t *testing.T, s *server, bucketDir, stream, bucket string) {
	t.Helper()
	k := s.kinesis()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitStreamActive(ctx, t, k, stream)
	arn := "arn:aws:kinesis:" + region + ":" + account + ":stream/" + stream
	fh := s.firehose()
	_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(stream + "-delivery"),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: &fhtypes.KinesisStreamSourceConfiguration{
			KinesisStreamARN: aws.String(arn), RoleARN: aws.String(fhRole),
		},
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			RoleARN: aws.String(fhRole), BucketARN: aws.String("arn:aws:s3:::" + bucket),
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitDeliveryActive(ctx, t, fh, stream+"-delivery")
	_, err = fh.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String(stream + "-delivery"),
		Record: &fhtypes.Record{Data: []byte("x")}})
	if err == nil || !strings.Contains(err.Error(), "This operation is not permitted on KinesisStreamAsSource delivery stream type.") {
		t.Fatalf("PutRecord on a Kinesis-sourced stream: %v", err)
	}
	for i := 0; ; i++ {
		probe := fmt.Sprintf("probe-%d", i)
		for sh := range 2 {
			if _, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream),
				PartitionKey: aws.String(fmt.Sprintf("p%d", sh)), Data: []byte(probe + "\n")}); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(joinObjects(bucketFiles(t, bucketDir, bucket, "")), "probe-") {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatal("the delivery stream never delivered a probe record")
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

func joinObjects(objs map[string][]byte) string {
	var b strings.Builder
	for _, v := range objs {
		b.Write(v)
	}
	return b.String()
}

func waitStreamActive(ctx context.Context, t *testing.T, k *kinesis.Client, name string) {
	t.Helper()
	for {
		out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s never ACTIVE", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kinesis source and kill -9: every record Kinesis acknowledged after the
// delivery stream started is delivered after the restart; the checkpoint
// moved only after delivery.
func TestFirehoseKillKinesisSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	data, bucketDir := t.TempDir(), t.TempDir()
	opts := serverOptions{dataDir: data, extra: []string{"--bucket-dir", bucketDir}}
	s := startServer(t, opts)
	createKinesisSourced(ctx, t, s, bucketDir, "ksrc", "ksrc-bucket")

	k := s.kinesis()
	put := func(i int) (acked, names []string, err error) {
		var in []ktypes.PutRecordsRequestEntry
		for j := range 50 {
			r := fmt.Sprintf("kin-%04d-%02d", i, j)
			names = append(names, r)
			in = append(in, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(r), Data: []byte(r + "\n")})
		}
		out, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ksrc"), Records: in})
		if err != nil {
			return nil, names, err
		}
		for n, r := range out.Records {
			if r.ErrorCode == nil {
				acked = append(acked, names[n])
			}
		}
		return acked, names, nil
	}
	want, sent := killWhileDelivering(ctx, t, s, put, func() bool {
		return strings.Contains(joinObjects(bucketFiles(t, bucketDir, "ksrc-bucket", "")), "kin-")
	})

	s = startServer(t, opts)
	got := waitDeliveredOf(ctx, t, func() map[string]int {
		n := countLines(bucketFiles(t, bucketDir, "ksrc-bucket", ""), nil)
		for k := range n {
			if strings.HasPrefix(k, "probe-") {
				delete(n, k)
			}
		}
		return n
	}, want, sent)
	t.Logf("kill -9 during Kinesis-source delivery: %d acknowledged records delivered, %d duplicates", len(want), extraDeliveries(got))
	s.stop(t)
}

// fhEndpoint is a test HTTP endpoint that checks every header of
// Firehose's delivery protocol and answers as told.
type fhEndpoint struct {
	t         *testing.T
	accessKey string
	sourceARN string
	fail      atomic.Bool // answer 500
	mu        sync.Mutex
	records   map[string]int
	requests  int
	ids       map[string]bool
}

func (e *fhEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := r.Header
	check := func(name, want string) {
		if got := h.Get(name); got != want {
			e.t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("X-Amz-Firehose-Protocol-Version", "1.0")
	check("X-Amz-Firehose-Access-Key", e.accessKey)
	check("X-Amz-Firehose-Source-Arn", e.sourceARN)
	check("Content-Type", "application/json")
	check("Content-Encoding", "gzip")
	check("X-Amz-Firehose-Common-Attributes", `{"commonAttributes":{"env":"test"}}`)
	id := h.Get("X-Amz-Firehose-Request-Id")
	if id == "" {
		e.t.Error("no X-Amz-Firehose-Request-Id")
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		e.t.Errorf("body is not gzip: %v", err)
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(zr)
	var body struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
		Records   []struct {
			Data string `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.RequestID != id || body.Timestamp == 0 || len(body.Records) == 0 {
		e.t.Errorf("body %s: %v", raw, err)
	}
	if e.fail.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]any{"requestId": id, "timestamp": time.Now().UnixMilli(), "errorMessage": "down for maintenance"})
		return
	}
	e.mu.Lock()
	e.requests++
	for _, rec := range body.Records {
		d, err := base64.StdEncoding.DecodeString(rec.Data)
		if err != nil {
			e.t.Errorf("record data is not base64: %v", err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(d), "\n"), "\n") {
			e.records[l]++
		}
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"requestId": id, "timestamp": time.Now().UnixMilli()})
}

func (e *fhEndpoint) counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.records {
		out[k] = v
	}
	return out
}

// An HTTP endpoint: every header checked; then an outage longer than the
// retry duration sends the records to the error prefix in S3, and none is
// lost.
func TestFirehoseHTTPEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, bucketDir := startFirehose(t, serverOptions{})
	ep := &fhEndpoint{t: t, accessKey: "secret-key-123", records: map[string]int{},
		sourceARN: "arn:aws:firehose:" + region + ":" + account + ":deliverystream/to-http"}
	hs := httptest.NewServer(ep)
	defer hs.Close()

	fh := s.firehose()
	_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("to-http"),
		HttpEndpointDestinationConfiguration: &fhtypes.HttpEndpointDestinationConfiguration{
			EndpointConfiguration: &fhtypes.HttpEndpointConfiguration{Url: aws.String(hs.URL + "/ingest"), Name: aws.String("test"), AccessKey: aws.String("secret-key-123")},
			BufferingHints:        &fhtypes.HttpEndpointBufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
			RequestConfiguration: &fhtypes.HttpEndpointRequestConfiguration{ContentEncoding: fhtypes.ContentEncodingGzip,
				CommonAttributes: []fhtypes.HttpEndpointCommonAttribute{{AttributeName: aws.String("env"), AttributeValue: aws.String("test")}}},
			RetryOptions:    &fhtypes.HttpEndpointRetryOptions{DurationInSeconds: aws.Int32(3)},
			S3BackupMode:    fhtypes.HttpEndpointS3BackupModeFailedDataOnly,
			RoleARN:         aws.String(fhRole),
			S3Configuration: &fhtypes.S3DestinationConfiguration{RoleARN: aws.String(fhRole), BucketARN: aws.String("arn:aws:s3:::http-backup")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := waitDeliveryActive(ctx, t, fh, "to-http")
	if got := d.Destinations[0].HttpEndpointDestinationDescription.EndpointConfiguration; aws.ToString(got.Url) != hs.URL+"/ingest" {
		t.Fatalf("described endpoint = %+v", got)
	}

	var first []string
	want := map[string]int{}
	for i := range 30 {
		r := fmt.Sprintf("http-ok-%02d", i)
		first, want[r] = append(first, r+"\n"), 1
	}
	putAll(ctx, t, fh, "to-http", first)
	waitDelivered(ctx, t, ep.counts, want)

	// The endpoint goes down for longer than the 3-second retry duration.
	ep.fail.Store(true)
	var second []string
	failed := map[string]int{}
	for i := range 30 {
		r := fmt.Sprintf("http-down-%02d", i)
		second, failed[r] = append(second, r+"\n"), 1
	}
	putAll(ctx, t, fh, "to-http", second)
	waitDelivered(ctx, t, func() map[string]int {
		n := map[string]int{}
		for _, b := range bucketFiles(t, bucketDir, "http-backup", "") {
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var rec struct {
					RawData   string `json:"rawData"`
					ErrorCode string `json:"errorCode"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("error record %q: %v", line, err)
				}
				raw, _ := base64.StdEncoding.DecodeString(rec.RawData)
				for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
					n[l]++
				}
			}
		}
		return n
	}, failed)
	for k := range bucketFiles(t, bucketDir, "http-backup", "") {
		if !strings.Contains(k, "http-endpoint-failed/") {
			t.Errorf("error object %q is not under http-endpoint-failed/", k)
		}
	}
	s.stop(t)
}
