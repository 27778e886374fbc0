package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/bench/loadgen"
)

// benchReport is the documented JSON of `rivulet bench --output json`, as
// a harness would read it.
type benchReport struct {
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	PartitionKeys int       `json:"partition_keys"`
	Retries       int64     `json:"retries"`
	Interrupted   bool      `json:"interrupted"`
	Endpoint      string    `json:"endpoint"`
	Stream        string    `json:"stream"`
	Mode          string    `json:"mode"`
	Shards        int       `json:"shards"`
	Workers       int       `json:"workers"`
	RecordSize    int       `json:"record_size"`
	BatchSize     int       `json:"batch_size"`
	RecordsLimit  int64     `json:"records_limit"`
	Write, Read   *benchPhase
	Check         *struct {
		Expected, Read, Missing, Duplicates, Unacknowledged, Foreign int64
		OK                                                           bool
	}
	Errors        map[string]int64 `json:"errors"`
	Throttled     int64            `json:"throttled"`
	OK            bool             `json:"ok"`
	DurationLimit float64          `json:"duration_limit_seconds"`
}

type benchPhase struct {
	Operation        string  `json:"operation"`
	Records          int64   `json:"records"`
	Bytes            int64   `json:"bytes"`
	FailedRecords    int64   `json:"failed_records"`
	Calls            int64   `json:"calls"`
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
	MBPerSecond      float64 `json:"mb_per_second"`
	Latency          struct {
		P50, P90, P99, Max, Mean float64
	} `json:"latency_ms"`
}

func TestBenchWriteReadJSON(t *testing.T) {
	url, kc := kinesisServer(t)
	for _, tc := range []struct {
		name    string
		batch   string
		op      string
		records int64
		calls   int64
	}{{"PutRecords", "50", "PutRecords", 1000, 20}, {"PutRecord", "1", "PutRecord", 200, 200}} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "bench-" + tc.name
			code, out, stderr := runCmd(t, "", "bench", "--endpoint", url, "--stream", stream, "--shards", "3", "--workers", "3",
				"--record-size", "100", "--batch-size", tc.batch, "--records", fmt.Sprint(tc.records), "--get-rate", "0", "--output", "json", "--delete-after",
				"--progress", "lines")
			if code != exitOK {
				t.Fatalf("bench: %d\nstdout: %s\nstderr: %s", code, out, stderr)
			}
			var r benchReport
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !r.OK || r.Interrupted || r.Version == "" || time.Since(r.StartedAt) > time.Minute || r.Mode != "write-read" || r.Stream != stream || r.Shards != 3 || r.Workers != 3 || r.RecordSize != 100 || r.RecordsLimit != tc.records || r.Endpoint != url {
				t.Fatalf("report %+v", r)
			}
			w, rd := r.Write, r.Read
			if w == nil || w.Operation != tc.op || w.Records != tc.records || w.Bytes != 100*tc.records || w.FailedRecords != 0 || w.RecordsPerSecond <= 0 || w.MBPerSecond <= 0 {
				t.Fatalf("write %+v", w)
			}
			if w.Calls != tc.calls {
				t.Fatalf("%d calls", w.Calls)
			}
			if l := w.Latency; !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
				t.Fatalf("latency %+v", l)
			}
			if rd == nil || rd.Operation != "GetRecords" || rd.Records != tc.records || rd.Bytes != 100*tc.records || rd.Calls < 3 {
				t.Fatalf("read %+v", rd)
			}
			if c := r.Check; c == nil || !c.OK || c.Expected != tc.records || c.Read != tc.records || c.Missing+c.Duplicates+c.Unacknowledged+c.Foreign != 0 {
				t.Fatalf("check %+v", c)
			}
			if len(r.Errors) != 0 {
				t.Fatalf("errors %v", r.Errors)
			}
			// Progress went to stderr as plain lines, ending each phase.
			if !strings.Contains(stderr, "write 100%") || !strings.Contains(stderr, "read  100%") {
				t.Fatalf("progress: %s", stderr)
			}
			// --delete-after removed the stream.
			_, err := kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
			if err == nil {
				t.Fatal("stream still there after --delete-after")
			}
		})
	}
}

func TestBenchTableAndModes(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "existing", 2)
	code, out, stderr := runCmd(t, "", "bench", "--endpoint", url, "--stream", "existing", "--shards", "4", "--mode", "write",
		"--workers", "2", "--duration", "300ms", "--record-size", "10", "--batch-size", "20", "--partition-keys", "3", "--progress", "none")
	if code != exitOK {
		t.Fatalf("write: %d %s %s", code, out, stderr)
	}
	if stderr != "rivulet bench: note: stream existing already existed with 2 open shards; it was used as it is\n" {
		t.Fatalf("stderr %q", stderr)
	}
	for _, want := range []string{"write: stream existing, 2 shards, 2 workers, 10-byte records, batch 20, 0.3s", "PutRecords", "records/s", "errors: none"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "exactly-once") || strings.Contains(out, "GetRecords") {
		t.Fatalf("write mode read back:\n%s", out)
	}

	// Read mode reads what the write run left, from every shard.
	code, out, stderr = runCmd(t, "", "bench", "--endpoint", url, "--stream", "existing", "--mode", "read", "--output", "json", "--progress", "none")
	if code != exitOK {
		t.Fatalf("read: %d %s %s", code, out, stderr)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Write != nil || r.Read == nil || r.Read.Records == 0 || r.Read.Bytes != 10*r.Read.Records || r.Check != nil || !r.OK {
		t.Fatalf("read report %s", out)
	}

	// A missing stream is not created in read mode.
	code, _, stderr = runCmd(t, "", "bench", "--endpoint", url, "--stream", "nope", "--mode", "read", "--progress", "none")
	if code != exitFailure || !strings.Contains(stderr, "stream nope not found") {
		t.Fatalf("read of a missing stream: %d %s", code, stderr)
	}
	// An unreachable endpoint fails at once.
	code, _, stderr = runCmd(t, "", "bench", "--endpoint", "http://127.0.0.1:1", "--progress", "none", "--timeout", "2s")
	if code != exitFailure || !strings.Contains(stderr, "describing stream rivulet-bench") {
		t.Fatalf("unreachable endpoint: %d %s", code, stderr)
	}
}

func TestProgressPrinter(t *testing.T) {
	var b strings.Builder
	p := &progressPrinter{w: &b, bar: true}
	p.print(loadgenProgress(0.5, false))
	p.print(loadgenProgress(1, true))
	got := b.String()
	if !strings.HasPrefix(got, "\r\033[Kwrite [############............]  50%") || !strings.Contains(got, "\r\033[Kwrite [########################] 100%") ||
		!strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 || !strings.Contains(got, "2,000 records") || !strings.Contains(got, "(7 throttled)") {
		t.Fatalf("bar output %q", got)
	}
	if groupInt(1234567) != "1,234,567" || groupInt(-1000) != "-1,000" || groupInt(12) != "12" {
		t.Fatal("groupInt")
	}
}

func loadgenProgress(fraction float64, done bool) loadgen.Progress {
	return loadgen.Progress{Phase: "write", Elapsed: time.Second, Fraction: fraction, Records: 2000, Bytes: 2e6, Errors: 7, Throttled: 7, Done: done}
}
