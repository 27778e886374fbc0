package tests3

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartCreateBucketStop(t *testing.T) {
	s := Start(t)
	s.CreateBucket(t, "first-bucket")
	if fi, err := os.Stat(filepath.Join(s.Dir, "first-bucket")); err != nil || !fi.IsDir() {
		t.Fatalf("bucket directory: %v", err)
	}
	// A signed object PUT lands as a plain file under Dir.
	if err := s.do(t.Context(), "PUT", "/first-bucket/a/b=c/obj", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, "first-bucket", "a", "b=c", "obj"))
	if err != nil || string(b) != "payload" {
		t.Fatalf("object file: %q, %v", b, err)
	}
	// Creating it again is an S3 error, reported.
	if err := s.do(t.Context(), "PUT", "/first-bucket", nil); err == nil {
		t.Error("creating an existing bucket succeeded")
	}
	s.Stop()
	if s.cmd.ProcessState == nil {
		t.Fatal("process not reaped after Stop")
	}
	s.Stop() // idempotent; cleanup calls it again too
}

func TestTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint == b.Endpoint || a.Dir == b.Dir {
		t.Fatalf("servers share %s / %s", a.Endpoint, a.Dir)
	}
	a.CreateBucket(t, "same-name")
	b.CreateBucket(t, "same-name")
}

func TestPathHint(t *testing.T) {
	t.Setenv("VERSITYGW", filepath.Join(t.TempDir(), "missing"))
	_, err := Path()
	if err == nil || !strings.Contains(err.Error(), "scripts/install-clients.sh") {
		t.Fatalf("Path() error = %v, want the install hint", err)
	}
}

func TestPathEnv(t *testing.T) {
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VERSITYGW", p)
	if got, err := Path(); err != nil || got != p {
		t.Fatalf("Path() with $VERSITYGW = %q, %v", got, err)
	}
}
