package rivulet_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a server until t ends.
func start(t *testing.T, cfg rivulet.Config) *rivulet.Server {
	t.Helper()
	srv, err := rivulet.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// client is an SDK client for endpoint; its connections close with t.
func client(t *testing.T, endpoint string, tr *http.Transport) *kinesis.Client {
	t.Helper()
	if tr == nil {
		tr = &http.Transport{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return kinesis.New(kinesis.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:       &http.Client{Transport: rivulet.SDKTransport(tr)},
		RetryMaxAttempts: 1,
	})
}

// roundTrip creates a stream, writes records and reads them back.
func roundTrip(t *testing.T, c *kinesis.Client, stream string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var entries []types.PutRecordsRequestEntry
	for i := range 3 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, "record %d", i)})
	}
	put, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(put.FailedRecordCount); n != 0 {
		t.Fatalf("PutRecords: %d failed", n)
	}
	got := readAll(t, c, stream, *put.Records[0].ShardId)
	if want := []string{"record 0", "record 1", "record 2"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read %q, want %q", got, want)
	}
}

func readAll(t *testing.T, c *kinesis.Client, stream, shard string) []string {
	t.Helper()
	ctx := context.Background()
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: &stream, ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Records {
		got = append(got, string(r.Data))
	}
	return got
}

func TestZeroConfig(t *testing.T) {
	srv := start(t, rivulet.Config{})
	host, _, err := net.SplitHostPort(strings.TrimPrefix(srv.Endpoint(), "http://"))
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Endpoint %q is not on loopback", srv.Endpoint())
	}
	if srv.TLSEndpoint() != "" || srv.NATSURL() != "" {
		t.Errorf("zero config listens on more: TLS %q, NATS %q", srv.TLSEndpoint(), srv.NATSURL())
	}
	c := client(t, srv.Endpoint(), nil)
	roundTrip(t, c, "zero")

	// Immediate transitions: ACTIVE right after CreateStream, gone right
	// after DeleteStream, a split applied at once.
	ctx := context.Background()
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("zero")})
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.StreamDescriptionSummary.StreamStatus; s != types.StreamStatusActive {
		t.Fatalf("status %s right after create", s)
	}
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("zero"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("zero")})
	if err != nil {
		t.Fatal(err)
	}
	if len(shards.Shards) != 3 {
		t.Errorf("%d shards right after a split, want 3", len(shards.Shards))
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("zero")}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.StreamNames) != 0 {
		t.Errorf("streams right after delete: %v", list.StreamNames)
	}
}

func TestDelays(t *testing.T) {
	srv := start(t, rivulet.Config{CreateDelay: time.Hour})
	c := client(t, srv.Endpoint(), nil)
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("slow"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	if s := sum.StreamDescriptionSummary.StreamStatus; s != types.StreamStatusCreating {
		t.Errorf("status %s with an hour's CreateDelay, want CREATING", s)
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first, err := rivulet.Start(ctx, rivulet.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	roundTrip(t, client(t, first.Endpoint(), tr), "kept")
	tr.CloseIdleConnections()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	second := start(t, rivulet.Config{DataDir: dir})
	got := readAll(t, client(t, second.Endpoint(), nil), "kept", "shardId-000000000000")
	if len(got) != 3 || got[2] != "record 2" {
		t.Errorf("after restart read %q", got)
	}
}

// TestFastPathSwitch sends the same raw HTTP/1.1 request with the fast
// path on and off; both answer it, and the SDK works with both.
func TestFastPathSwitch(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("disabled=%v", off), func(t *testing.T) {
			srv := start(t, rivulet.Config{DisableHTTPFastPath: off})
			roundTrip(t, client(t, srv.Endpoint(), nil), "fast")

			conn, err := net.Dial("tcp", strings.TrimPrefix(srv.Endpoint(), "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := `{"StreamName":"fast"}`
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"+
				"X-Amz-Target: Kinesis_20131202.DescribeStreamSummary\r\nX-Amz-Date: 20260101T000000Z\r\n"+
				"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0\r\n"+
				"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(out), `"StreamStatus":"ACTIVE"`) {
				t.Errorf("raw DescribeStreamSummary: %d %s", resp.StatusCode, out)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srv := start(t, rivulet.Config{TLSAddr: "127.0.0.1:0"})
	if !strings.HasPrefix(srv.TLSEndpoint(), "https://127.0.0.1:") {
		t.Fatalf("TLSEndpoint %q", srv.TLSEndpoint())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	roundTrip(t, client(t, srv.TLSEndpoint(), tr), "secure")
	resp, err := (&http.Client{Transport: tr}).Get(srv.TLSEndpoint() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("/health over TLS: %s %d", resp.Proto, resp.StatusCode)
	}
}

func TestFaultsAndLimits(t *testing.T) {
	srv := start(t, rivulet.Config{
		Faults:    `[{"op":"PutRecord","error":"InternalFailure"}]`,
		AWSLimits: true,
	})
	c := client(t, srv.Endpoint(), nil)
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("f"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("f"), PartitionKey: aws.String("k"), Data: []byte("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalFailure" {
		t.Errorf("PutRecord under a fault rule: %v, want InternalFailure", err)
	}

	resp, err := http.Get(srv.AdminEndpoint() + "/admin/limits")
	if err != nil {
		t.Fatal(err)
	}
	var status struct {
		Mode string `json:"mode"`
	}
	err = json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if err != nil || status.Mode != "aws" {
		t.Errorf("/admin/limits: mode %q, %v", status.Mode, err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestStartFails(t *testing.T) {
	ctx := context.Background()
	if _, err := rivulet.Start(ctx, rivulet.Config{Faults: `[{"op":"Nope"}]`}); err == nil {
		t.Error("bad fault rules: no error")
	}
	srv := start(t, rivulet.Config{})
	taken := strings.TrimPrefix(srv.Endpoint(), "http://")
	if _, err := rivulet.Start(ctx, rivulet.Config{Addr: taken}); err == nil {
		t.Errorf("Addr %s in use: no error", taken)
	}
	if _, err := rivulet.Start(ctx, rivulet.Config{TLSAddr: "127.0.0.1:0", TLSCertFile: "/nonexistent.pem", TLSKeyFile: "/nonexistent.key"}); err == nil {
		t.Error("missing certificate files: no error")
	}
	// goleak in TestMain checks that failed starts leave nothing running.
}

// fakeClock stands still but for Add, so that no test waits out a limit,
// an UPDATING time or the five minutes an iterator lives.
type fakeClock struct {
	base  time.Time
	ahead atomic.Int64
}

func newFakeClock() *fakeClock { return &fakeClock{base: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time      { return c.base.Add(time.Duration(c.ahead.Load())) }
func (c *fakeClock) Add(d time.Duration) { c.ahead.Add(int64(d)) }

// wantAPIError checks an SDK error's code and, unless msg is "", message.
func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %v\nwant %s: %s", err, code, msg)
	}
}
