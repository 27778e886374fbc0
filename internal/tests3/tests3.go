// Package tests3 runs a real S3 server for tests: versitygw with its POSIX
// backend, so a test can also inspect the stored objects as files.
package tests3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rivulet/rivulet/internal/procstat"
)

// Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT (https:// for StartTLS)
	AccessKey string
	SecretKey string
	Region    string
	// Dir is the POSIX root: bucket B's object K is the file Dir/B/K.
	Dir string

	// TLS, for StartTLS, is a client configuration that trusts the server.
	TLS *tls.Config

	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

// TLSFiles are PEM files for StartTLS: the server's certificate and key,
// and the CA that clients trust.
type TLSFiles struct {
	Cert, Key, CA string
}

const hint = "run scripts/install-clients.sh"

// Path finds the versitygw binary: $VERSITYGW, else $(go env GOPATH)/bin,
// else PATH.
func Path() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("tests3: $VERSITYGW: %w (%s)", err, hint)
		}
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for gp := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			if gp == "" {
				continue
			}
			p := filepath.Join(gp, "bin", "versitygw")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	p, err := exec.LookPath("versitygw")
	if err != nil {
		return "", fmt.Errorf("tests3: versitygw not found in $VERSITYGW, $(go env GOPATH)/bin or PATH; %s", hint)
	}
	return p, nil
}

// startTimeout bounds the wait for the server to answer: generous, since
// the machine may be slow, but a hung start must still fail the test.
const startTimeout = 2 * time.Minute

// Start runs versitygw on a free 127.0.0.1 port over a fresh temp directory
// and stops it when the test ends. It fails the test when versitygw is
// missing or does not come up.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startWith(tb, nil)
}

// StartTLS is Start serving HTTPS with the given certificate: Endpoint is
// https://127.0.0.1:PORT and TLS trusts it.
func StartTLS(tb testing.TB, files TLSFiles) *Server {
	tb.Helper()
	return startWith(tb, &files)
}

func startWith(tb testing.TB, files *TLSFiles) *Server {
	tb.Helper()
	bin, err := Path()
	if err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	// Another process may take the free port before versitygw binds it.
	for range 5 {
		s, err := start(tb, bin, files)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("tests3: starting versitygw: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string, files *TLSFiles) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  "http://" + net.JoinHostPort("127.0.0.1", port),
		AccessKey: "rivulet-test-access",
		SecretKey: "rivulet-test-secret-key-0123456789",
		Region:    "us-east-1",
		Dir:       filepath.Join(tb.TempDir(), "s3"),
		exited:    make(chan struct{}),
		out:       &syncBuffer{},
	}
	if err := os.Mkdir(s.Dir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--port", "127.0.0.1:" + port, "--quiet"}
	if files != nil {
		ca, err := os.ReadFile(files.CA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("tests3: no certificate in %s", files.CA)
		}
		s.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		s.Endpoint = "https://" + net.JoinHostPort("127.0.0.1", port)
		args = append(args, "--cert", files.Cert, "--key", files.Key)
	}
	s.cmd = exec.Command(bin, append(args, "posix", s.Dir)...)
	s.cmd.Env = cleanEnv()
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", bin, err, hint)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(s.Stop)
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// cleanEnv drops versitygw's own settings from the environment so only the
// flags configure it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func (s *Server) waitReady() error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: s.TLS}}
	deadline := time.Now().Add(startTimeout)
	for {
		// Any HTTP answer (an anonymous request gets 403) means it serves.
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited: %s; output:\n%s", s.cmd.ProcessState, s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer at %s within %v; output:\n%s", s.Endpoint, startTimeout, s.out.String())
		}
	}
}

// Stop kills the server and waits for it to exit. Safe to call twice.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Output is what versitygw printed so far.
func (s *Server) Output() string { return s.out.String() }

// CreateBucket creates a bucket (signed with the root credentials, without
// the S3 SDK, which only the s3 destination uses).
func (s *Server) CreateBucket(tb testing.TB, name string) {
	tb.Helper()
	if err := s.do(context.Background(), http.MethodPut, "/"+name, nil); err != nil {
		tb.Fatalf("tests3: create bucket %q: %v", name, err)
	}
}

func (s *Server) do(ctx context.Context, method, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "s3", s.Region, time.Now()); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: s.TLS}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	return nil
}

// syncBuffer collects the server's output, written from exec's copying
// goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const limit = 1 << 20 // keep the start of a chatty log only
	if b.buf.Len() < limit {
		b.buf.Write(p[:min(len(p), limit-b.buf.Len())])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CPU is the processor time versitygw has used so far (Linux only: read
// from /proc), for benchmarks that count the server's share.
func (s *Server) CPU() (time.Duration, error) { return procstat.CPU(s.cmd.Process.Pid) }
