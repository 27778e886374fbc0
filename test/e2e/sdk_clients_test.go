package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, which has python3-boto3; a pyenv
// python earlier on PATH would not.
const debianPython = "/usr/bin/python3"

// TestBoto3 runs clients/boto3_producer_consumer.py, which exits non-zero on
// any mismatch.
func TestBoto3(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (apt-get install python3-boto3; make test does it): %v", debianPython, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{})
	stdout, stderr, code := runClient(ctx, t, debianPython, filepath.Join("clients", "boto3_producer_consumer.py"),
		"--endpoint", s.endpoint(), "--stream", "Boto3Stream")
	if code != 0 {
		t.Fatalf("boto3 script: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	s.stop(t)
}

// TestJSSDK runs clients/js_sdk.mjs with @aws-sdk/client-kinesis as pinned in
// clients/package-lock.json, over the SDK's default HTTP/2 handler.
func TestJSSDK(t *testing.T) { runJSClient(t, "js_sdk.mjs", "JsStream") }

// runJSClient runs one of the clients/*.mjs scripts against a fresh server
// and fails the test with its output unless it exits 0.
func runJSClient(t *testing.T, script, stream string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required: %v", err)
	}
	if _, err := os.Stat(filepath.Join("clients", "node_modules", "@aws-sdk", "client-kinesis", "package.json")); err != nil {
		t.Fatalf("@aws-sdk/client-kinesis is not installed (run make test, or npm ci in test/e2e/clients): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{})
	stdout, stderr, code := runClient(ctx, t, node, filepath.Join("clients", script),
		"--endpoint", s.endpoint(), "--stream", stream)
	if code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", script, code, stdout, stderr)
	}
	t.Log(stdout)
	s.stop(t)
}
