package consumer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// hangTimeout bounds waits for what should happen; only a hang reaches it.
const hangTimeout = 90 * time.Second

// Lease table backends: every test that touches DynamoDB runs against
// each. CONSUMER_LEASE_BACKENDS narrows the list while developing.
const (
	backendDynalite = "dynalite"
	backendRivulet  = "rivulet"
)

func backends() []string {
	v := os.Getenv("CONSUMER_LEASE_BACKENDS")
	if v == "" {
		return []string{backendDynalite, backendRivulet}
	}
	return strings.Split(v, ",")
}

// forEachBackend runs f as a parallel subtest per lease table backend.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b))
		})
	}
}

// env is a Rivulet server for Kinesis (and for the "rivulet" backend's
// DynamoDB) plus clients.
type env struct {
	backend string
	srv     *rivulet.Server
	kin     *kinesis.Client
	ddb     *dynamodb.Client
}

func creds() aws.CredentialsProviderFunc {
	return func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
	}
}

func newEnv(t *testing.T, backend string) *env {
	t.Helper()
	return newEnvWith(t, backend, rivulet.Config{})
}

func newEnvWith(t *testing.T, backend string, cfg rivulet.Config) *env {
	t.Helper()
	srv, err := rivulet.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	e := &env{backend: backend, srv: srv}
	e.kin = kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(srv.Endpoint()),
		Region:       "us-east-1",
		Credentials:  creds(),
		HTTPClient:   &http.Client{Transport: tr},
	})
	var ddbURL string
	switch backend {
	case backendDynalite:
		ddbURL = dynalite.endpoint(t)
	case backendRivulet:
		ddbURL = srv.Endpoint() // Kinesis and DynamoDB share the endpoint
	default:
		t.Fatalf("unknown lease backend %q", backend)
	}
	dtr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(dtr.CloseIdleConnections)
	e.ddb = dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(ddbURL),
		Region:       "us-east-1",
		Credentials:  creds(),
		HTTPClient:   &http.Client{Transport: dtr},
	})
	return e
}

var nameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// uniqueName is a stream or table name from the test's name.
func uniqueName(t *testing.T) string {
	name := nameChars.ReplaceAllString(t.Name(), ".")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	return name + "-" + strconv.Itoa(rand.IntN(1e9))
}

// dynaliteProc is one dynalite for the whole test binary.
type dynaliteProc struct {
	once   sync.Once
	url    string
	err    error
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

var dynalite dynaliteProc

// dynalitePath finds dynalite in this repository's test/e2e/clients, or
// else in the main checkout's when this is a git worktree.
func dynalitePath() (string, error) {
	if p := os.Getenv("DYNALITE"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
	rel := filepath.Join("test", "e2e", "clients", "node_modules", ".bin", "dynalite")
	candidates := []string{filepath.Join(dir, rel)}
	// A worktree's .git is a file naming <main>/.git/worktrees/<name>.
	if b, err := os.ReadFile(filepath.Join(dir, ".git")); err == nil {
		if gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:"); ok {
			gitdir = strings.TrimSpace(gitdir)
			if i := strings.Index(gitdir, string(filepath.Separator)+".git"+string(filepath.Separator)); i > 0 {
				candidates = append(candidates, filepath.Join(gitdir[:i], rel))
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("dynalite not found at %s: run `make clients`", strings.Join(candidates, " or "))
}

func (d *dynaliteProc) endpoint(t *testing.T) string {
	t.Helper()
	d.once.Do(func() { d.url, d.err = d.start() })
	if d.err != nil {
		t.Fatalf("dynalite: %v", d.err)
	}
	return d.url
}

func (d *dynaliteProc) start() (string, error) {
	path, err := dynalitePath()
	if err != nil {
		return "", err
	}
	// A free port can be taken by another listener before dynalite binds
	// it; dynalite then exits, and the attempt is repeated.
	for range 5 {
		url, err := d.try(path)
		if err == nil || !errors.Is(err, errExited) {
			return url, err
		}
	}
	return "", fmt.Errorf("dynalite kept exiting: %s", d.output())
}

var errExited = errors.New("dynalite exited")

func (d *dynaliteProc) try(path string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--host", "127.0.0.1", "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	killWithParent(cmd)
	// A file, not a buffer: no copying goroutine, nothing shared.
	if d.log == nil {
		if d.log, err = os.CreateTemp("", "dynalite-*.log"); err != nil {
			return "", err
		}
	}
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w (run `make clients`)", path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			d.cmd = nil
			return "", errExited
		default:
		}
		// Ask it something only a DynamoDB answers, so a stranger on the
		// port is not mistaken for dynalite.
		if isDynamoDB(url) {
			return url, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			return "", fmt.Errorf("dynalite did not answer on %s: %s", url, d.output())
		}
		time.Sleep(50 * time.Millisecond)
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
	return resp.StatusCode == http.StatusOK && strings.Contains(string(b), "TableNames")
}

func (d *dynaliteProc) output() string {
	b, _ := os.ReadFile(d.log.Name())
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < 10 {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}

func (d *dynaliteProc) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		<-d.exited
		d.cmd = nil
	}
	if d.log != nil {
		d.log.Close()
		os.Remove(d.log.Name())
	}
}

// waitFor polls cond until it holds or hangTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
