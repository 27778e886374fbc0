package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/testserver"
)

// kinesisServer runs Rivulet in-process on in-memory JetStream, with
// instant stream transitions and reshards.
func kinesisServer(t *testing.T) (url string, kc *kinesis.Client) {
	t.Helper()
	url = testserver.Start(t, rivulet.Config{})
	kc, err := client.New(client.Config{Endpoint: url, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return url, kc
}

func createStream(t *testing.T, kc *kinesis.Client, name string, shards int32) {
	t.Helper()
	ctx := context.Background()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, kc, name)
}

func waitActive(t *testing.T, kc *kinesis.Client, name string) {
	t.Helper()
	for deadline := time.Now().Add(hangTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
	}
	t.Fatalf("stream %s did not become ACTIVE", name)
}

// runCmd runs the rivulet command line in-process with stdin.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e, out, errb := testEnv(nil)
	e.stdin = strings.NewReader(stdin)
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestPutThenTail(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "s", 3)
	var in strings.Builder
	for i := range 300 {
		fmt.Fprintf(&in, `{"user":{"id":"u%d"},"n":%d}`+"\n", i%7, i)
	}
	in.WriteString("\n") // empty lines are skipped

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"aggregated", []string{"--aggregate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "s-" + tc.name
			createStream(t, kc, stream, 3)
			args := append([]string{"put", "--endpoint", url, "--stream", stream, "--key-field", "user.id", "--ordered"}, tc.args...)
			code, _, stderr := runCmd(t, in.String(), args...)
			if code != exitOK || !strings.Contains(stderr, "300 records put, 0 failed") {
				t.Fatalf("put: code %d, stderr %s", code, stderr)
			}
			var kinesisRecords int
			if _, err := fmt.Sscanf(stderr[strings.Index(stderr, "lines read; "):], "lines read; %d Kinesis records", &kinesisRecords); err != nil {
				t.Fatalf("%v: %s", err, stderr)
			}
			// Aggregated, many records share a Kinesis record.
			if tc.name == "plain" && kinesisRecords != 300 || tc.name == "aggregated" && kinesisRecords > 30 {
				t.Fatalf("%d Kinesis records: %s", kinesisRecords, stderr)
			}

			// The Kinesis records are aggregated or not, as asked.
			code, out, stderr := runCmd(t, "", "tail", "--endpoint", url, "--stream", stream, "--deaggregate=false", "--format", "json-meta")
			if code != exitOK {
				t.Fatalf("tail: %d %s", code, stderr)
			}
			if raw := lines(out); len(raw) != kinesisRecords {
				t.Fatalf("%d raw records, want %d", len(raw), kinesisRecords)
			}

			code, out, stderr = runCmd(t, "", "tail", "--endpoint", url, "--stream", stream, "--format", "json-meta")
			if code != exitOK {
				t.Fatalf("tail: %d %s", code, stderr)
			}
			got := lines(out)
			if len(got) != 300 {
				t.Fatalf("tail printed %d records, want 300:\n%s", len(got), out)
			}
			// Per key, records come back in put order with their metadata.
			last := map[string]int{}
			seqs := map[string]bool{}
			for _, l := range got {
				var m struct {
					ShardID           string `json:"shard_id"`
					SequenceNumber    string `json:"sequence_number"`
					SubSequenceNumber uint64 `json:"sub_sequence_number"`
					PartitionKey      string `json:"partition_key"`
					RawArrival        string `json:"arrival_time"`
					Data              struct {
						User struct{ ID string }
						N    int
					} `json:"data"`
				}
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("%v: %s", err, l)
				}
				if m.PartitionKey != m.Data.User.ID || !strings.HasPrefix(m.ShardID, "shardId-") || m.SequenceNumber == "" {
					t.Fatalf("bad metadata: %s", l)
				}
				if at, err := time.Parse(time.RFC3339Nano, m.RawArrival); err != nil || time.Since(at) > time.Minute {
					t.Fatalf("arrival time %q", m.RawArrival)
				}
				id := fmt.Sprintf("%s/%d", m.SequenceNumber, m.SubSequenceNumber)
				if seqs[id] {
					t.Fatalf("sequence %s twice", id)
				}
				seqs[id] = true
				if prev, ok := last[m.PartitionKey]; ok && m.Data.N <= prev {
					t.Fatalf("key %s: %d after %d", m.PartitionKey, m.Data.N, prev)
				}
				last[m.PartitionKey] = m.Data.N
			}
			if len(last) != 7 {
				t.Fatalf("%d keys", len(last))
			}
			// -n stops after exactly n records, across shards.
			code, out, _ = runCmd(t, "", "tail", "--endpoint", url, "--stream", stream, "-n", "5")
			if code != exitOK || len(lines(out)) != 5 {
				t.Fatalf("-n 5: %d %q", code, out)
			}
		})
	}
}

func TestPutKeysAndFormats(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "k", 1)
	in := "plain text\n{\"a\":[{\"b\":42}]}\n{\"a\":[]}\r\nnot json either\n"
	code, _, stderr := runCmd(t, in, "put", "--endpoint", url, "--stream", "k", "--key-field", "a.0.b", "--partition-key", "fallback")
	if code != exitOK || !strings.Contains(stderr, "4 records put, 0 failed") {
		t.Fatalf("put: %d %s", code, stderr)
	}
	// Without a fallback, lines lacking the field fail, and so does the run.
	code, _, stderr = runCmd(t, in, "put", "--endpoint", url, "--stream", "k", "--key-field", "a.0.b")
	if code != exitFailure || !strings.Contains(stderr, "1 records put, 3 failed") || !strings.Contains(stderr, "line 3: key field a.0.b") {
		t.Fatalf("put without fallback: %d %s", code, stderr)
	}

	// A stream that is not there fails at once, for put and tail alike.
	code, _, stderr = runCmd(t, "x\n", "put", "--endpoint", url, "--stream", "missing")
	if code != exitFailure || !strings.Contains(stderr, "rivulet put: stream missing not found") {
		t.Fatalf("put to a missing stream: %d %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "", "tail", "--endpoint", url, "--stream", "missing")
	if code != exitFailure || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Fatalf("tail of a missing stream: %d %s", code, stderr)
	}

	code, out, stderr := runCmd(t, "", "tail", "--endpoint", url, "--stream", "k", "--format", "json-meta", "-n", "4")
	if code != exitOK {
		t.Fatalf("tail: %d %s", code, stderr)
	}
	var keys []string
	for _, l := range lines(out) {
		var m struct {
			PartitionKey string `json:"partition_key"`
		}
		json.Unmarshal([]byte(l), &m)
		keys = append(keys, m.PartitionKey)
	}
	if strings.Join(keys, ",") != "fallback,42,fallback,fallback" {
		t.Fatalf("keys %v", keys)
	}

	code, out, _ = runCmd(t, "", "tail", "--endpoint", url, "--stream", "k", "--format", "json", "-n", "3")
	want := "\"plain text\"\n{\"a\":[{\"b\":42}]}\n{\"a\":[]}\n"
	if code != exitOK || out != want {
		t.Fatalf("json format: %d %q, want %q", code, out, want)
	}
	code, out, _ = runCmd(t, "", "tail", "--endpoint", url, "--stream", "k", "-n", "2")
	if code != exitOK || out != "plain text\n{\"a\":[{\"b\":42}]}\n" {
		t.Fatalf("raw format: %d %q", code, out)
	}
}

// TestTailAcrossSplit reads a stream whose shard was split between two
// puts: the parent's records come before the children's, and nothing is
// lost or repeated.
func TestTailAcrossSplit(t *testing.T) {
	url, kc := kinesisServer(t)
	ctx := context.Background()
	createStream(t, kc, "split", 1)
	put := func(from, to int) {
		t.Helper()
		var in strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&in, "{\"k\":\"k%d\",\"n\":%d}\n", i%5, i)
		}
		code, _, stderr := runCmd(t, in.String(), "put", "--endpoint", url, "--stream", "split", "--key-field", "k")
		if code != exitOK {
			t.Fatalf("put: %s", stderr)
		}
	}
	put(0, 50)
	mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
	if _, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, kc, "split")
	put(50, 100)

	code, out, stderr := runCmd(t, "", "tail", "--endpoint", url, "--stream", "split", "--format", "json-meta")
	if code != exitOK {
		t.Fatalf("tail: %d %s", code, stderr)
	}
	got := lines(out)
	if len(got) != 100 {
		t.Fatalf("%d records, want 100:\n%s", len(got), out)
	}
	seen := map[int]bool{}
	shards := map[string]bool{}
	for i, l := range got {
		var m struct {
			ShardID string `json:"shard_id"`
			Data    struct{ N int }
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if seen[m.Data.N] {
			t.Fatalf("record %d twice", m.Data.N)
		}
		seen[m.Data.N] = true
		shards[m.ShardID] = true
		parent := m.ShardID == "shardId-000000000000"
		if parent != (i < 50) || parent != (m.Data.N < 50) {
			t.Fatalf("line %d: record %d from %s; the parent's 50 must come first", i, m.Data.N, m.ShardID)
		}
	}
	if len(shards) != 3 {
		t.Fatalf("read shards %v, want the parent and two children", shards)
	}
}

// TestTailFollow follows from LATEST: records put after it starts are
// printed; -n ends it.
func TestTailFollow(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "f", 2)
	if code, _, stderr := runCmd(t, "old\n", "put", "--endpoint", url, "--stream", "f"); code != exitOK {
		t.Fatal(stderr)
	}
	done := make(chan string)
	go func() {
		_, out, _ := runCmd(t, "", "tail", "--endpoint", url, "--stream", "f", "--from", "latest", "-n", "3")
		done <- out
	}()
	deadline := time.After(hangTimeout)
	for i := 0; ; i++ {
		select {
		case out := <-done:
			if got := lines(out); len(got) != 3 || got[0] == "old" {
				t.Fatalf("follow printed %q", out)
			}
			return
		case <-deadline:
			t.Fatal("tail --from latest -n 3 did not end")
		case <-time.After(300 * time.Millisecond):
			// Keep putting until the tail, which starts at LATEST, has seen three.
			if code, _, stderr := runCmd(t, fmt.Sprintf("new %d\n", i), "put", "--endpoint", url, "--stream", "f"); code != exitOK {
				t.Fatal(stderr)
			}
		}
	}
}

func TestParseFrom(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]string{
		"trim-horizon":         "TRIM_HORIZON",
		"TRIM_HORIZON":         "TRIM_HORIZON",
		"latest":               "LATEST",
		"2026-01-01T00:00:00Z": "AT_TIMESTAMP 2026-01-01T00:00:00Z",
		"-90m":                 "AT_TIMESTAMP 2026-01-02T01:34:05Z",
	} {
		p, err := parseFrom(in, now)
		got := string(p.Type)
		if p.Type == types.ShardIteratorTypeAtTimestamp {
			got += " " + p.Timestamp.UTC().Format(time.RFC3339)
		}
		if err != nil || got != want {
			t.Errorf("parseFrom(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "-x", "2026-01-01"} {
		if _, err := parseFrom(in, now); err == nil {
			t.Errorf("parseFrom(%q) accepted", in)
		}
	}
}

func TestJSONData(t *testing.T) {
	for in, want := range map[string]string{
		`{ "a" : 1 }`: `{"a":1}`,
		`12`:          `12`,
		`hello`:       `"hello"`,
		`{"a":`:       `"{\"a\":"`,
		"\xff":        `"\ufffd"`,
	} {
		if got := string(jsonData([]byte(in))); got != want {
			t.Errorf("jsonData(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCommandFlagErrors(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{args: []string{"tail"}, code: exitUsage, stderr: "--stream is required"},
		{args: []string{"tail", "--stream", "s", "--format", "xml"}, code: exitUsage, stderr: `invalid --format "xml"`},
		{args: []string{"tail", "--stream", "s", "--from", "soon"}, code: exitUsage, stderr: `invalid --from "soon"`},
		{args: []string{"tail", "--stream", "s", "--follow", "--no-follow"}, code: exitUsage, stderr: "contradict"},
		{args: []string{"tail", "--stream", "s", "-n", "-1"}, code: exitUsage, stderr: "-n must not be negative"},
		{args: []string{"tail", "--stream", "s", "--bogus"}, code: exitUsage, stderr: "rivulet tail: unknown flag --bogus"},
		{args: []string{"tail", "--stream", "s", "extra"}, code: exitUsage, stderr: `unexpected argument "extra"`},
		{args: []string{"tail", "--stream", "s", "--endpoint", "localhost:4567"}, code: exitUsage, stderr: "invalid --endpoint"},
		{args: []string{"tail", "--help"}, code: exitOK, stdout: "--from VALUE"},
		{args: []string{"tail", "--stream", "s", "--worker-id", "w"}, code: exitUsage, stderr: "--worker-id needs --app"},
		{args: []string{"tail", "--stream", "s", "--fanout"}, code: exitUsage, stderr: "--fanout needs --app"},
		{args: []string{"tail", "--stream", "s", "--app", "a", "--no-follow"}, code: exitUsage, stderr: "--no-follow does not apply"},
		{args: []string{"tail", "--stream", "s", "--app", "a", "--deaggregate=false"}, code: exitUsage, stderr: "--deaggregate=false does not apply"},
		{args: []string{"tail", "--stream", "s", "--app", "a", "--failover", "10ms"}, code: exitUsage, stderr: "--failover 10ms is too short"},
		{args: []string{"tail", "--stream", "s", "--app", "a", "--dynamodb-endpoint", "localhost:1"}, code: exitUsage, stderr: `invalid --dynamodb-endpoint "localhost:1"`},
		{args: []string{"help", "tail"}, code: exitOK, stdout: "-n N"},
		{args: []string{"put"}, code: exitUsage, stderr: "--stream is required"},
		{args: []string{"put", "--stream", "s", "--key-field", "a..b"}, code: exitUsage, stderr: "empty path element"},
		{args: []string{"put", "--stream", "s", "--partition-key", strings.Repeat("k", 257)}, code: exitUsage, stderr: "longer than 256"},
		{args: []string{"put", "--help"}, code: exitOK, stdout: "--file FILE"},
		{args: []string{"bench", "--mode", "fast"}, code: exitUsage, stderr: `invalid --mode "fast"`},
		{args: []string{"bench", "--batch-size", "501"}, code: exitUsage, stderr: "--batch-size must be in [1, 500]"},
		{args: []string{"bench", "--record-size", "8"}, code: exitUsage, stderr: "at least 16 in write-read mode"},
		{args: []string{"bench", "--record-size", "0", "--mode", "write"}, code: exitUsage, stderr: "--record-size must be in"},
		{args: []string{"bench", "--workers", "0"}, code: exitUsage, stderr: "--workers must be at least 1"},
		{args: []string{"bench", "--duration", "5s", "--records", "10"}, code: exitUsage, stderr: "not both"},
		{args: []string{"bench", "--duration", "0s"}, code: exitUsage, stderr: "--duration must be positive"},
		{args: []string{"bench", "--output", "xml"}, code: exitUsage, stderr: `invalid --output "xml"`},
		{args: []string{"bench", "--progress", "fancy"}, code: exitUsage, stderr: `invalid --progress "fancy"`},
		{args: []string{"bench", "--get-rate", "-1"}, code: exitUsage, stderr: "--get-rate must not be negative"},
		{args: []string{"bench", "--shards", "x"}, code: exitUsage, stderr: `invalid value "x" for flag --shards`},
		{args: []string{"bench", "--help"}, code: exitOK, stdout: "--batch-size N"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || !strings.Contains(stdout, tc.stdout) {
				t.Fatalf("code %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
		})
	}
}

// appTail runs tail --app in-process until it exits. The lease table is
// on the Kinesis endpoint, which answers DynamoDB too.
func appTail(ctx context.Context, t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e, out, errb := testEnv(nil)
	code = run(ctx, e, append([]string{"tail"}, args...))
	return code, out.String(), errb.String()
}

func putLines(t *testing.T, url, stream string, from, to int) {
	t.Helper()
	var in strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&in, "%d\n", i)
	}
	if code, _, stderr := runCmd(t, in.String(), "put", "--endpoint", url, "--stream", stream); code != exitOK {
		t.Fatal(stderr)
	}
}

// numbers are the records tail printed in the raw format, sorted.
func numbers(t *testing.T, out string) []int {
	t.Helper()
	var ns []int
	for _, l := range lines(out) {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("line %q", l)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func span(from, to int) []int {
	var ns []int
	for i := from; i < to; i++ {
		ns = append(ns, i)
	}
	return ns
}

// TestTailApp: tail --app checkpoints what it printed, so each run
// resumes where the last one stopped, -n included; a cancelled run
// releases its leases.
func TestTailApp(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "app", 3)
	ctx := context.Background()
	app := []string{"--endpoint", url, "--stream", "app", "--app", "tail-app", "--worker-id", "w1", "--failover", "2s"}

	putLines(t, url, "app", 0, 30)
	code, out, stderr := appTail(ctx, t, append(app, "-n", "30", "--format", "json-meta")...)
	if code != exitOK {
		t.Fatalf("first run: %d %s", code, stderr)
	}
	seen := map[string]bool{}
	for _, l := range lines(out) {
		var m metaRecord
		if err := json.Unmarshal([]byte(l), &m); err != nil || m.ShardID == "" || m.SequenceNumber == "" || m.PartitionKey == "" {
			t.Fatalf("json-meta line %q: %v", l, err)
		}
		seen[string(m.Data)] = true
	}
	if len(seen) != 30 {
		t.Fatalf("first run printed %d distinct records of 30:\n%s", len(seen), out)
	}

	// A new run prints only what came since; -n smaller than what is
	// there leaves the rest, records of a batch included, to the next run.
	putLines(t, url, "app", 30, 40)
	code, out3, stderr := appTail(ctx, t, append(app, "-n", "3")...)
	if code != exitOK {
		t.Fatalf("run with -n 3: %d %s", code, stderr)
	}
	code, out7, stderr := appTail(ctx, t, append(app, "-n", "7")...)
	if code != exitOK {
		t.Fatalf("run with -n 7: %d %s", code, stderr)
	}
	if got := numbers(t, out3+out7); !slices.Equal(got, span(30, 40)) {
		t.Fatalf("runs after the first printed %v, want 30..39", got)
	}

	// Following until cancelled, as by SIGINT: the leases are released.
	putLines(t, url, "app", 40, 45)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan string)
	e, outBuf, errBuf := testEnv(nil)
	go func() {
		code := run(runCtx, e, append([]string{"tail"}, app...))
		done <- fmt.Sprint(code)
	}()
	deadline := time.Now().Add(hangTimeout)
	for len(lines(outBuf.String())) < 5 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("following run printed %q; stderr %s", outBuf.String(), errBuf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != "0" {
		t.Fatalf("cancelled run: exit %s, stderr %s", code, errBuf.String())
	}
	if got := numbers(t, outBuf.String()); !slices.Equal(got, span(40, 45)) {
		t.Fatalf("following run printed %v, want 40..44", got)
	}
	ddb, err := client.NewDynamoDB(client.Config{Endpoint: url, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Options().HTTPClient.(*http.Client).CloseIdleConnections()
	scan, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("tail-app"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Items) != 3 {
		t.Errorf("%d leases, want one per shard", len(scan.Items))
	}
	for _, it := range scan.Items {
		if owner, ok := it["leaseOwner"]; ok {
			t.Errorf("lease %v still owned by %v after the shutdown", it["leaseKey"], owner)
		}
	}

	// Enhanced fan-out, as a new application: every record, once.
	code, out, stderr = appTail(ctx, t, "--endpoint", url, "--stream", "app", "--app", "tail-fan", "--fanout", "-n", "45")
	if got := numbers(t, out); code != exitOK || !slices.Equal(got, span(0, 45)) {
		t.Fatalf("--fanout: %d, printed %v; stderr %s", code, got, stderr)
	}

	// A missing stream fails at once rather than waiting for it.
	code, _, stderr = appTail(ctx, t, "--endpoint", url, "--stream", "missing", "--app", "tail-app2")
	if code != exitFailure || !strings.Contains(stderr, "stream missing not found") {
		t.Fatalf("missing stream: %d %s", code, stderr)
	}
}
