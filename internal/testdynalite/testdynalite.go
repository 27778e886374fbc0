// Package testdynalite runs dynalite, an independent DynamoDB
// implementation from npm that mirrors AWS's answers, for the tests and
// benchmarks that hold Rivulet's lease-table API and the consumer library
// against a second implementation. `make clients` installs it.
package testdynalite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long dynalite may take to answer; only a broken
// install reaches it.
const startTimeout = time.Minute

// Path is $DYNALITE, or the e2e clients' install in this module,
// test/e2e/clients/node_modules/.bin/dynalite, found from the working
// directory up.
func Path() (string, error) {
	if p := os.Getenv("DYNALITE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/rivulet/rivulet\n")) {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testdynalite: not inside the rivulet module")
		}
		dir = parent
	}
	p := filepath.Join(dir, "test", "e2e", "clients", "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("testdynalite: dynalite is not installed (%w): run `make clients`", err)
	}
	return p, nil
}

// Server is a running dynalite.
type Server struct {
	// URL is its endpoint, http://127.0.0.1:PORT.
	URL    string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

var errExited = errors.New("dynalite exited")

// Start runs dynalite in memory on a free loopback port, with table
// transitions immediate. env is added to the process's environment
// (dynalite takes its ARNs' region and account from AWS_REGION and
// AWS_ACCOUNT_ID).
func Start(env ...string) (*Server, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	// A free port can be taken by another listener before dynalite binds
	// it; dynalite then exits, and the start is tried again.
	for range 5 {
		s, err := try(path, env)
		if !errors.Is(err, errExited) {
			return s, err
		}
	}
	return nil, errors.New("testdynalite: dynalite kept exiting")
}

func try(path string, env []string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	log, err := os.CreateTemp("", "dynalite-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--host", "127.0.0.1", "--port", port,
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Env = append(os.Environ(), env...)
	// A file, not a buffer: no copying goroutine outlives the process.
	cmd.Stdout, cmd.Stderr = log, log
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		os.Remove(log.Name())
		return nil, fmt.Errorf("testdynalite: starting %s: %w (run `make clients`)", path, err)
	}
	s := &Server{URL: "http://127.0.0.1:" + port, cmd: cmd, exited: make(chan struct{}), log: log}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-s.exited:
			out := s.Output()
			s.Close()
			if strings.Contains(out, "EADDRINUSE") {
				return nil, errExited
			}
			return nil, fmt.Errorf("testdynalite: dynalite exited:\n%s", out)
		default:
		}
		// Ask what only a DynamoDB answers, so that a stranger on the
		// port is not taken for dynalite.
		if isDynamoDB(s.URL) {
			return s, nil
		}
		if time.Now().After(deadline) {
			out := s.Output()
			s.Close()
			return nil, fmt.Errorf("testdynalite: dynalite did not answer on %s within %v:\n%s", s.URL, startTimeout, out)
		}
	}
}

func isDynamoDB(url string) bool {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte("TableNames"))
}

// Output is the first lines dynalite printed.
func (s *Server) Output() string {
	b, _ := os.ReadFile(s.log.Name())
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < 20 {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}

// Close stops dynalite and waits for it.
func (s *Server) Close() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.log.Close()
	os.Remove(s.log.Name())
}

// Run starts dynalite for tb, stops it when tb ends, and fails tb if it
// cannot start: a missing dynalite is a failure, never a skip.
func Run(tb testing.TB, env ...string) string {
	tb.Helper()
	s, err := Start(env...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s.URL
}
