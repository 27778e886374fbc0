package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchRawClient runs `rivulet bench --client raw` both ways (PutRecords
// and PutRecord), with the exactly-once check.
func TestBenchRawClient(t *testing.T) {
	url, _ := kinesisServer(t)
	for _, batch := range []string{"40", "1"} {
		code, out, stderr := runCmd(t, "", "bench", "--client", "raw", "--endpoint", url, "--stream", "raw-"+batch, "--shards", "2",
			"--workers", "4", "--record-size", "64", "--batch-size", batch, "--records", "400", "--get-rate", "0",
			"--output", "json", "--progress", "none", "--delete-after")
		if code != exitOK {
			t.Fatalf("batch %s: %d\nstdout: %s\nstderr: %s", batch, code, out, stderr)
		}
		var r benchReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if !r.OK || r.Write.Records != 400 || r.Read.Records != 400 || r.Check == nil || !r.Check.OK || len(r.Errors) != 0 {
			t.Fatalf("batch %s: %s", batch, out)
		}
	}

	code, _, stderr := runCmd(t, "", "bench", "--client", "fast", "--endpoint", url)
	if code != exitUsage || !strings.Contains(stderr, `invalid --client "fast": want sdk or raw`) {
		t.Fatalf("--client fast: %d %s", code, stderr)
	}
	// An unreachable endpoint fails the same way as with the SDK.
	code, _, stderr = runCmd(t, "", "bench", "--client", "raw", "--endpoint", "http://127.0.0.1:1", "--progress", "none", "--timeout", "2s")
	if code != exitFailure || !strings.Contains(stderr, "describing stream rivulet-bench") {
		t.Fatalf("unreachable endpoint: %d %s", code, stderr)
	}
}
