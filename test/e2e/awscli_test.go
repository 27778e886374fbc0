package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// awsCLI is Debian's AWS CLI v2 (package awscli). It is named in full because
// an older v1 `aws` may come first on PATH.
const awsCLI = "/usr/bin/aws"

const maxHashKey = "340282366920938463463374607431768211455" // 2^128-1

var seqRE = regexp.MustCompile(`^[0-9]{56}$`)

// awsRun runs the AWS CLI against s with JSON output.
func awsRun(ctx context.Context, t *testing.T, s *server, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append(args, "--endpoint-url", s.endpoint(), "--output", "json")
	return runClient(ctx, t, awsCLI, args...)
}

// awsJSON runs the AWS CLI, requires success and decodes its output.
func awsJSON(ctx context.Context, t *testing.T, s *server, out any, args ...string) {
	t.Helper()
	stdout, stderr, code := awsRun(ctx, t, s, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("aws %s: output is not the expected JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// cliTime parses a timestamp as AWS CLI v2 prints it (ISO 8601).
func cliTime(t *testing.T, field, v string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t.Errorf("%s %q is not an ISO 8601 time: %v", field, v, err)
		return time.Time{}
	}
	if d := time.Since(ts); d < -time.Minute || d > 10*time.Minute {
		t.Errorf("%s %s is not about now", field, v)
	}
	return ts
}

type cliHashKeyRange struct {
	StartingHashKey, EndingHashKey string
}

type cliShard struct {
	ShardID             string `json:"ShardId"`
	HashKeyRange        cliHashKeyRange
	SequenceNumberRange struct{ StartingSequenceNumber string }
}

func TestAWSCLI(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (apt-get install awscli; make test does it): %v", awsCLI, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if out, _, _ := runClient(ctx, t, awsCLI, "--version"); !strings.HasPrefix(out, "aws-cli/2.") {
		t.Fatalf("%s is not AWS CLI v2: %q", awsCLI, out)
	}
	s := startServer(t, serverOptions{})
	const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/Test"

	stdout, stderr, code := awsRun(ctx, t, s, "kinesis", "create-stream", "--stream-name", "Test", "--shard-count", "1")
	if code != 0 || strings.TrimSpace(stdout) != "" {
		t.Fatalf("create-stream: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}

	type summary struct {
		StreamDescriptionSummary struct {
			StreamName, StreamARN, StreamStatus string
			RetentionPeriodHours                int
			OpenShardCount                      int
			StreamCreationTimestamp             string
		}
	}
	var sum summary
	deadline := time.Now().Add(hangTimeout)
	for {
		awsJSON(ctx, t, s, &sum, "kinesis", "describe-stream-summary", "--stream-name", "Test")
		if sum.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
			break
		}
		if st := sum.StreamDescriptionSummary.StreamStatus; st != "CREATING" {
			t.Fatalf("stream status %q while waiting for ACTIVE", st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream not ACTIVE after %v", hangTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}

	sum = summary{}
	awsJSON(ctx, t, s, &sum, "kinesis", "describe-stream-summary", "--stream-name", "Test")
	ds := sum.StreamDescriptionSummary
	if ds.StreamName != "Test" || ds.StreamARN != arn || ds.StreamStatus != "ACTIVE" || ds.OpenShardCount != 1 || ds.RetentionPeriodHours != 24 {
		t.Errorf("describe-stream-summary: %+v", ds)
	}
	cliTime(t, "StreamCreationTimestamp", ds.StreamCreationTimestamp)

	var desc struct {
		StreamDescription struct {
			StreamName, StreamARN, StreamStatus string
			Shards                              []cliShard
			HasMoreShards                       bool
			RetentionPeriodHours                int
			StreamCreationTimestamp             string
		}
	}
	awsJSON(ctx, t, s, &desc, "kinesis", "describe-stream", "--stream-name", "Test")
	d := desc.StreamDescription
	if d.StreamName != "Test" || d.StreamARN != arn || d.StreamStatus != "ACTIVE" || d.HasMoreShards || d.RetentionPeriodHours != 24 {
		t.Errorf("describe-stream: %+v", d)
	}
	cliTime(t, "StreamCreationTimestamp", d.StreamCreationTimestamp)
	if len(d.Shards) != 1 {
		t.Fatalf("describe-stream: %d shards, want 1: %+v", len(d.Shards), d.Shards)
	}
	sh := d.Shards[0]
	if sh.ShardID != "shardId-000000000000" || sh.HashKeyRange != (cliHashKeyRange{"0", maxHashKey}) ||
		!seqRE.MatchString(sh.SequenceNumberRange.StartingSequenceNumber) {
		t.Errorf("describe-stream shard: %+v", sh)
	}

	// AWS CLI v2 reads --data as base64 (cli_binary_format base64), so
	// "testdata" is sent, and stored, as the 6 bytes it decodes to.
	want, err := base64.StdEncoding.DecodeString("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var put struct {
		ShardID        string `json:"ShardId"`
		SequenceNumber string
	}
	awsJSON(ctx, t, s, &put, "kinesis", "put-record", "--stream-name", "Test", "--partition-key", "123", "--data", "testdata")
	if put.ShardID != "shardId-000000000000" || !seqRE.MatchString(put.SequenceNumber) {
		t.Errorf("put-record: %+v", put)
	}
	if seqLess(put.SequenceNumber, sh.SequenceNumberRange.StartingSequenceNumber) {
		t.Errorf("record sequence number %s is below the shard's starting %s", put.SequenceNumber, sh.SequenceNumberRange.StartingSequenceNumber)
	}

	var it struct{ ShardIterator string }
	awsJSON(ctx, t, s, &it, "kinesis", "get-shard-iterator", "--shard-id", "shardId-000000000000",
		"--shard-iterator-type", "TRIM_HORIZON", "--stream-name", "Test")
	if it.ShardIterator == "" {
		t.Fatal("get-shard-iterator returned no ShardIterator")
	}

	type cliRecord struct {
		SequenceNumber, PartitionKey, Data string
		ApproximateArrivalTimestamp        string
	}
	var recs struct {
		Records            []cliRecord
		NextShardIterator  string
		MillisBehindLatest *int64
	}
	iter := it.ShardIterator
	// AWS may answer a GetRecords with no records even when some follow.
	for i := 0; i < 10 && len(recs.Records) == 0; i++ {
		recs.Records = nil
		awsJSON(ctx, t, s, &recs, "kinesis", "get-records", "--shard-iterator", iter)
		if recs.NextShardIterator == "" {
			t.Fatal("get-records returned no NextShardIterator on an open shard")
		}
		iter = recs.NextShardIterator
	}
	if len(recs.Records) != 1 {
		t.Fatalf("get-records: %d records, want 1: %+v", len(recs.Records), recs.Records)
	}
	r := recs.Records[0]
	got, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || string(got) != string(want) {
		t.Errorf("record Data %q decodes to %x (%v), want %x", r.Data, got, err, want)
	}
	if r.PartitionKey != "123" || r.SequenceNumber != put.SequenceNumber {
		t.Errorf("get-records record %+v, want key 123 and sequence number %s", r, put.SequenceNumber)
	}
	cliTime(t, "ApproximateArrivalTimestamp", r.ApproximateArrivalTimestamp)
	if recs.MillisBehindLatest == nil {
		t.Error("get-records returned no MillisBehindLatest")
	}

	stdout, stderr, code = awsRun(ctx, t, s, "kinesis", "describe-stream", "--stream-name", "Nope")
	if code != 254 && code != 255 {
		t.Errorf("describe-stream of a missing stream: exit %d, want 254 or 255; stdout %q", code, stdout)
	}
	const wantErr = "An error occurred (ResourceNotFoundException) when calling the DescribeStream operation: " +
		"Stream Nope under account 000000000000 not found."
	if got := strings.TrimSpace(stderr); got != wantErr {
		t.Errorf("describe-stream of a missing stream: stderr %q, want %q", got, wantErr)
	}
	s.stop(t)
}
