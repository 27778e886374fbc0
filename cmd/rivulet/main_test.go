package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is written by the server's goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testEnv(vars map[string]string) (*env, *syncBuffer, *syncBuffer) {
	var out, errb syncBuffer
	return &env{
		stdout: &out,
		stderr: &errb,
		lookupEnv: func(k string) (string, bool) {
			v, ok := vars[k]
			return v, ok
		},
		started: time.Now(),
	}, &out, &errb
}

func TestRunExitCodes(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "rivulet.conf")
	if err := os.WriteFile(conf, []byte("data-dir = /x\nlisten = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stdout     string // substring, if not empty
		stderr     string
		noStderrOf string // must not appear on stderr
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: "Usage: rivulet COMMAND"},
		{name: "unknown command", args: []string{"srve"}, code: exitUsage, stderr: `unknown command "srve"`},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "serve "},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "version "},
		{name: "help serve", args: []string{"help", "serve"}, code: exitOK, stdout: "--data-dir"},
		{name: "help unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: "rivulet "},
		{name: "version extra", args: []string{"version", "x"}, code: exitUsage, stderr: "usage: rivulet version"},
		{name: "serve --help", args: []string{"serve", "--help"}, code: exitOK, stdout: "RIVULET_DATA_DIR"},
		{name: "unknown flag", args: []string{"serve", "--port", "1"}, code: exitUsage, stderr: "rivulet serve: unknown flag --port"},
		{name: "bad flag value", args: []string{"serve", "--tls-port", "https"}, code: exitUsage, stderr: `invalid --tls-port: "https"`},
		{name: "bad env", args: []string{"serve"}, env: map[string]string{"RIVULET_SYNC": "sometimes"}, code: exitUsage, stderr: "invalid RIVULET_SYNC"},
		{name: "bad file", args: []string{"serve", "--config", conf}, code: exitUsage, stderr: `line 2: unknown key "listen"`},
		{name: "missing cert files", args: []string{"serve", "--tls-port", "4569", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"},
			code: exitUsage, stderr: "invalid --tls-cert/--tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, errb := testEnv(tt.env)
			code := run(context.Background(), e, tt.args)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errb)
			}
			if tt.stdout != "" && !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, out)
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, errb)
			}
			if tt.code == exitOK && errb.String() != "" {
				t.Errorf("unexpected stderr: %s", errb)
			}
		})
	}
}

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

// TestServeInProcess runs `rivulet serve --in-memory` inside the test: it
// must log "rivulet ready" with its address, answer /health, and
// exit 0 on SIGTERM.
func TestServeInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	e, _, errb := testEnv(nil)
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), e, []string{"serve", "--in-memory", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
			"--log-format", "json", "--shutdown-timeout", "5s"})
	}()

	var ready struct {
		Msg       string `json:"msg"`
		Addr      string `json:"addr"`
		AdminAddr string `json:"admin_addr"`
		Startup   string `json:"startup"`
	}
	deadline := time.Now().Add(hangTimeout)
	for ready.Addr == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before ready:\n%s", code, errb)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready line:\n%s", errb)
		}
		for _, line := range strings.Split(errb.String(), "\n") {
			if strings.Contains(line, `"rivulet ready"`) {
				if err := json.Unmarshal([]byte(line), &ready); err != nil {
					t.Fatalf("ready line %q: %v", line, err)
				}
			}
		}
	}
	if _, err := time.ParseDuration(ready.Startup); err != nil {
		t.Errorf("ready line has no start-up time: %q", ready.Startup)
	}

	if ready.AdminAddr == "" || ready.AdminAddr == ready.Addr {
		t.Errorf("ready line: admin_addr %q, addr %q", ready.AdminAddr, ready.Addr)
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: hangTimeout}
	for _, base := range []string{ready.Addr, ready.AdminAddr} {
		resp, err := c.Get(base + "/health")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["status"] != "ok" {
			t.Errorf("%s/health: %d %v", base, resp.StatusCode, body)
		}
	}
	tr.CloseIdleConnections()

	// The signal handler is installed before "ready" is logged.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d after SIGTERM:\n%s", code, errb)
		}
	case <-time.After(hangTimeout):
		t.Fatalf("serve did not exit after SIGTERM:\n%s", errb)
	}
	if !strings.Contains(errb.String(), `"msg":"stopped"`) {
		t.Errorf("no stop line:\n%s", errb)
	}
}
