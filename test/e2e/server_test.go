package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/testbin"
)

// Test credentials. The server takes the account from its default
// (000000000000), not from the key; with E2E_AUTH=sigv4, from the
// credentials file, which gives the key that account.
const (
	accessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	secretAccessKey = "x"
	region          = "us-east-1"
	account         = "000000000000"
)

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine running race-enabled
// servers.
const hangTimeout = time.Minute

// rivuletBin is ./cmd/rivulet, built on first use rather than in TestMain
// so `go test -list` (used by make fuzz) stays cheap. Under -race the
// server is built with -race too, so the real clients double as a race
// test of the server. RIVULET_E2E_BINARY names a prebuilt binary to test
// instead.
var rivuletBin = &testbin.Binary{Pkg: "./cmd/rivulet", Name: "rivulet", Race: raceEnabled, Env: "RIVULET_E2E_BINARY"}

func rivuletBinary(t testing.TB) string { return rivuletBin.Path(t) }

// syncBuffer collects a process's output; exec copies into it from its own
// goroutines while the test reads it.
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

type serverOptions struct {
	dataDir string // empty: a fresh temporary directory
	sync    string // empty: the server's default
	extra   []string
}

// server is one `rivulet serve` process.
type server struct {
	addr    string
	dataDir string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	http    *http.Client
	stopped bool
}

// startServer starts rivulet on a free loopback port and waits for /health.
// The process is killed at cleanup if the test did not stop it.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	bin := rivuletBinary(t)
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	// A free port can be taken by someone else before the server binds it;
	// try a few.
	for attempt := 0; attempt < 3; attempt++ {
		s, ok := tryStart(t, bin, opts)
		if ok {
			return s
		}
		if !strings.Contains(s.log.String(), "address already in use") {
			break
		}
	}
	// The cleanup prints the server's log.
	t.Fatalf("rivulet serve did not become healthy")
	return nil
}

func tryStart(t *testing.T, bin string, opts serverOptions) (*server, bool) {
	t.Helper()
	s := &server{
		addr:    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		dataDir: opts.dataDir,
		log:     &syncBuffer{},
		done:    make(chan struct{}),
	}
	// A free admin port too: the default 4568 is one per machine.
	args := []string{"serve", "--addr", s.addr, "--admin-addr", "127.0.0.1:0", "--data-dir", s.dataDir, "--create-delay", "100ms"}
	if opts.sync != "" {
		args = append(args, "--sync", opts.sync)
	}
	if os.Getenv("E2E_HTTP_FAST_PATH") == "false" {
		// make test runs the suite a second time on net/http alone.
		args = append(args, "--http-fast-path=false")
	}
	// make test runs it again with every signature checked.
	args = append(args, authArgs(t, opts.extra)...)
	args = append(args, opts.extra...)
	s.cmd = exec.Command(bin, args...)
	// Only the flags above configure the server, not RIVULET_* settings
	// of whoever runs the tests.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIVULET_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start rivulet: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: hangTimeout}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	s.http = &http.Client{Transport: client.OwnBody(tr)}
	t.Cleanup(func() {
		if !s.stopped {
			s.kill(t)
		}
		tr.CloseIdleConnections()
		if t.Failed() {
			t.Logf("rivulet %s log:\n%s", s.addr, tail(s.log.String()))
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint()+"/health", nil)
		if resp, err := s.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, true
			}
		}
		select {
		case <-s.done:
			s.stopped = true
			return s, false
		case <-ctx.Done():
			return s, false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *server) endpoint() string { return "http://" + s.addr }

// stop shuts the server down with SIGTERM and requires a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(hangTimeout):
		t.Errorf("rivulet did not exit within %v of SIGTERM", hangTimeout)
		s.cmd.Process.Kill()
		<-s.done
	}
	if s.waitErr != nil {
		t.Errorf("rivulet exited uncleanly after SIGTERM: %v", s.waitErr)
	}
	s.checkRaces(t)
}

// kill ends the server with SIGKILL, as a crash would.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.stopped = true
	s.cmd.Process.Kill()
	<-s.done
	s.checkRaces(t)
}

func (s *server) checkRaces(t *testing.T) {
	t.Helper()
	if strings.Contains(s.log.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector fired inside rivulet serve")
	}
}

// kinesis returns an aws-sdk-go-v2 client for this server.
func (s *server) kinesis(optFns ...func(*kinesis.Options)) *kinesis.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		HTTPClient:  s.http,
	}
	base := func(o *kinesis.Options) { o.BaseEndpoint = aws.String(s.endpoint()) }
	return kinesis.NewFromConfig(cfg, append([]func(*kinesis.Options){base}, optFns...)...)
}

// tail keeps failure output readable when a server logged a lot.
func tail(s string) string {
	const limit = 16 << 10
	if len(s) <= limit {
		return s
	}
	return "...\n" + s[len(s)-limit:]
}

// clientEnv is the environment for external clients: no AWS settings from
// the machine, only the test's.
func clientEnv(t *testing.T) []string {
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "PYTHONPATH=") || strings.HasPrefix(kv, "PYTHONHOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+accessKeyID,
		"AWS_SECRET_ACCESS_KEY="+secretAccessKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_REGION="+region,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// runClient runs an external client program and returns its output and exit
// code; it fails the test only if the program could not run at all.
func runClient(ctx context.Context, t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = clientEnv(t)
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.WaitDelay = hangTimeout
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run %s %v: %v\nstderr:\n%s", name, args, err, errb.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v timed out\nstdout:\n%s\nstderr:\n%s", name, args, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}
