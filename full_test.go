package rivulet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

// fullCap is small enough to fill in a few requests.
const fullCap = 4 << 20

// hangGuard only stops a test that would otherwise hang.
const hangGuard = time.Minute

func health(t *testing.T, endpoint string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(endpoint + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Status
}

func createStream(t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	if _, err := c.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
}

// fill writes 16 KiB records to stream until storage refuses some, and
// returns the records acknowledged, in order, and the refusal message.
func fill(t *testing.T, c *kinesis.Client, stream string) (acked [][]byte, refusal string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for n := 0; time.Now().Before(deadline); {
		var entries []types.PutRecordsRequestEntry
		for range 16 {
			data := bytes.Repeat([]byte{byte(n)}, 16<<10)
			copy(data, fmt.Sprintf("record %06d ", n))
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: data})
			n++
		}
		out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out.Records {
			if r.ErrorCode == nil {
				acked = append(acked, entries[i].Data)
				continue
			}
			if *r.ErrorCode != "InternalFailure" {
				t.Fatalf("record refused with %s: %s", *r.ErrorCode, aws.ToString(r.ErrorMessage))
			}
			refusal = aws.ToString(r.ErrorMessage)
		}
		if refusal != "" {
			return acked, refusal
		}
	}
	t.Fatalf("storage capped at %d bytes still accepts records after %v", fullCap, hangGuard)
	return nil, ""
}

// readStream reads a one-shard stream from TRIM_HORIZON to its end.
func readStream(t *testing.T, c *kinesis.Client, stream string) [][]byte {
	t.Helper()
	ctx := context.Background()
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: &stream, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	var got [][]byte
	next := it.ShardIterator
	for deadline := time.Now().Add(hangGuard); time.Now().Before(deadline); {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		for _, r := range out.Records {
			got = append(got, r.Data)
		}
		if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
			return got
		}
		next = out.NextShardIterator
	}
	t.Fatalf("reading %s did not reach its end within %v", stream, hangGuard)
	return nil
}

func sameRecords(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: read %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: record %d is %.14q, want %.14q", what, i, got[i], want[i])
		}
	}
}

func isAPIError(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// TestStorageFull fills a capped JetStream, then checks that reads,
// /health, DeleteStream and DecreaseStreamRetentionPeriod work, that
// deleting frees space for writes, and that a restart sees it all.
func TestStorageFull(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := rivulet.Config{DataDir: dir, MaxStorage: fullCap}
	srv, err := rivulet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }() // after a failure; Close twice is fine
	tr := &http.Transport{}
	c := client(t, srv.Endpoint(), tr)
	createStream(t, c, "big")
	createStream(t, c, "other")
	if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
		StreamName: aws.String("other"), RetentionPeriodHours: aws.Int32(48)}); err != nil {
		t.Fatal(err)
	}
	if code, status := health(t, srv.Endpoint()); code != http.StatusOK || status != "ok" {
		t.Fatalf("/health before filling: %d %q", code, status)
	}

	acked, refusal := fill(t, c, "big")
	if len(acked) == 0 || !strings.Contains(refusal, "storage is full") {
		t.Fatalf("%d records acknowledged; refusal %q", len(acked), refusal)
	}
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("other"), PartitionKey: aws.String("k"), Data: make([]byte, 512<<10)}) // larger than the refused batch
	if !isAPIError(err, "InternalFailure") || !strings.Contains(err.Error(), "storage is full") {
		t.Fatalf("PutRecord while full: %v", err)
	}
	if code, status := health(t, srv.Endpoint()); code != http.StatusServiceUnavailable || status != "full" {
		t.Fatalf("/health while full: %d %q", code, status)
	}

	// Reads need no space.
	sameRecords(t, "while full", readStream(t, c, "big"), acked)

	// Shortening retention is a metadata write; it fits in the reserve.
	if _, err := c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
		StreamName: aws.String("other"), RetentionPeriodHours: aws.Int32(24)}); err != nil {
		t.Fatalf("DecreaseStreamRetentionPeriod while full: %v", err)
	}

	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("big")}); err != nil {
		t.Fatalf("DeleteStream while full: %v", err)
	}
	for deadline := time.Now().Add(hangGuard); ; {
		if code, status := health(t, srv.Endpoint()); code == http.StatusOK && status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health still not ok %v after DeleteStream", hangGuard)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var kept [][]byte
	for i := range 8 {
		data := fmt.Appendf(nil, "after delete %d", i)
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("other"), PartitionKey: aws.String("k"), Data: data}); err != nil {
			t.Fatalf("PutRecord after DeleteStream: %v", err)
		}
		kept = append(kept, data)
	}
	tr.CloseIdleConnections()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// The same directory, restarted: the deletion and the writes stayed.
	again := start(t, cfg)
	c2 := client(t, again.Endpoint(), nil)
	if _, err := c2.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("big")}); !isAPIError(err, "ResourceNotFoundException") {
		t.Fatalf("deleted stream after restart: %v", err)
	}
	sum, err := c2.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	if h := aws.ToInt32(sum.StreamDescriptionSummary.RetentionPeriodHours); h != 24 {
		t.Errorf("retention after restart: %d hours, want 24", h)
	}
	sameRecords(t, "after restart", readStream(t, c2, "other"), kept)
	if code, status := health(t, again.Endpoint()); code != http.StatusOK || status != "ok" {
		t.Errorf("/health after restart: %d %q", code, status)
	}
}

// TestMaxStorageAboveDisk refuses to start with a cap the filesystem
// cannot hold.
func TestMaxStorageAboveDisk(t *testing.T) {
	_, err := rivulet.Start(context.Background(), rivulet.Config{DataDir: t.TempDir(), MaxStorage: 1 << 60})
	if err == nil || !strings.Contains(err.Error(), "exceeds what") {
		t.Fatalf("Start with a 1 EiB cap: %v", err)
	}
}
