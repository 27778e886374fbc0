package main

import (
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/store/natsstore"
)

func TestCheckRecoverUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"check"},
		{"check", "--json"},
		{"check", "--data-dir", dir, "--nats-url", "nats://127.0.0.1:1"},
		{"recover"},
		{"recover", "--data-dir", dir, "--nats-url", "nats://127.0.0.1:1"},
	} {
		code, stdout, stderr := runCmd(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, "give exactly one of --data-dir and --nats-url") {
			t.Errorf("%v: exit %d, want %d with a usage error\nstdout: %s\nstderr: %s", args, code, exitUsage, stdout, stderr)
		}
	}
}

func TestCheckNotADataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not rivulet"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check", "recover"} {
		code, stdout, stderr := runCmd(t, "", cmd, "--data-dir", dir)
		if code != exitFailure || !strings.Contains(stderr, "is not a Rivulet data directory") {
			t.Errorf("%s on a directory of other files: exit %d, want %d\nstdout: %s\nstderr: %s", cmd, code, exitFailure, stdout, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("check and recover changed a directory that is not theirs: %d entries", len(entries))
	}
}

// dirDigest maps every file under dir to a hash of its contents.
func dirDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// healthyDataDir makes a stopped data directory with a two-shard stream
// holding records.
func healthyDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, kc, stop := fileServer(t, dir)
	createStream(t, kc, "healthy", 2)
	putRecords(t, kc, "healthy", 30, true)
	stop()
	return dir
}

func TestCheckHealthyDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	dir := healthyDataDir(t)
	before := dirDigest(t, dir)

	code, stdout, stderr := runCmd(t, "", "check", "--data-dir", dir)
	if code != exitOK || !strings.Contains(stdout, "1 streams, 2 shard logs, 0 problems") {
		t.Errorf("check of a healthy directory: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, "", "check", "--data-dir", dir, "--json")
	var rep natsstore.Report
	if code != exitOK || json.Unmarshal([]byte(stdout), &rep) != nil {
		t.Fatalf("check --json: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if rep.Streams != 1 || len(rep.Shards) != 2 || len(rep.Damage) != 0 {
		t.Errorf("check --json of a healthy directory: %+v", rep)
	}
	total := uint64(0)
	for _, sh := range rep.Shards {
		if sh.Stream != "healthy" || sh.Orphan || sh.Closed || sh.Acked > sh.LastSeq || sh.Reserved < sh.LastSeq {
			t.Errorf("shard %+v", sh)
		}
		total += sh.Messages
	}
	if total == 0 {
		t.Errorf("check --json counts no stored messages: %+v", rep.Shards)
	}
	// The check read a copy.
	after := dirDigest(t, dir)
	if len(after) != len(before) {
		t.Errorf("check changed the data directory: %d files before, %d after", len(before), len(after))
	}
	for path, sum := range before {
		if after[path] != sum {
			t.Errorf("check changed %s", path)
		}
	}

	code, stdout, stderr = runCmd(t, "", "recover", "--data-dir", dir)
	if code != exitOK || !strings.Contains(stdout, "nothing to recover") {
		t.Errorf("recover of a healthy directory: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCmd(t, "", "check", "--data-dir", dir); code != exitOK {
		t.Errorf("check after recover: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// TestCheckRecoverLostMetadata: with the metadata bucket emptied, check
// reports the stream's logs as metadata-lost, recover rebuilds it, and a
// check after that finds nothing.
func TestCheckRecoverLostMetadata(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	dir := healthyDataDir(t)
	kv, err := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", "KV_rivulet-meta", "msgs", "*"))
	if err != nil || len(kv) == 0 {
		t.Fatalf("metadata files: %q %v", kv, err)
	}
	for _, f := range kv {
		if filepath.Base(f) == "index.db" {
			err = os.Remove(f)
		} else {
			err = os.Truncate(f, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := runCmd(t, "", "check", "--data-dir", dir)
	if code != exitFailure || !strings.Contains(stdout, "metadata-lost: ") || !strings.Contains(stdout, `stream "healthy"`) {
		t.Errorf("check of lost metadata: exit %d, want %d\nstdout: %s\nstderr: %s", code, exitFailure, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, "", "recover", "--data-dir", dir)
	if code != exitOK || !strings.Contains(stdout, `stream "healthy"`) || !strings.Contains(stdout, "rebuilt from 2 shard logs") {
		t.Errorf("recover of lost metadata: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCmd(t, "", "check", "--data-dir", dir)
	if code != exitOK || !strings.Contains(stdout, "1 streams, 2 shard logs, 0 problems") {
		t.Errorf("check after recover: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
