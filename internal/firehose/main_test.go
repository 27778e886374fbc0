package firehose

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fullStore is memstore whose appends fail as a full disk's do.
type fullStore struct {
	*memstore.Store
	full bool
}

func (f *fullStore) Append(ctx context.Context, ref store.ShardRef, e []store.Entry) ([]store.Position, error) {
	if f.full {
		return nil, store.ErrFull
	}
	return f.Store.Append(ctx, ref, e)
}

// env is a real handler over memstore on an httptest server, with an SDK
// client pointed at it.
type env struct {
	t     *testing.T
	st    *fullStore
	svc   *Service
	srv   *httptest.Server
	c     *fh.Client
	clock *clock
}

const account = "000000000000"

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	return newEnvRing(t, cfg, false)
}

// newEnvRing is newEnv; noRing leaves Config.KMS nil.
func newEnvRing(t *testing.T, cfg Config, noRing bool) *env {
	t.Helper()
	ck := &clock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	mem := memstore.New(memstore.Config{})
	e := &env{t: t, st: &fullStore{Store: mem}, clock: ck}
	if cfg.Now == nil {
		cfg.Now = ck.Now
	}
	if cfg.KMS == nil && !noRing {
		cfg.KMS = testRing(t, mem, true)
	}
	e.svc = New(e.st, cfg)
	e.srv = httptest.NewServer(NewHandler(e.svc, HandlerOptions{}))
	e.c = fh.New(fh.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   e.srv.Client(),
		Retryer:      aws.NopRetryer{},
	})
	t.Cleanup(func() {
		e.srv.Close()
		_ = mem.Close()
	})
	return e
}

// apiErr asserts err is an AWS error of type typ with message msg ("" to
// skip the message).
func apiErr(t *testing.T, err error, typ, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, typ)
	}
	if ae.ErrorCode() != typ || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s: %q\nwant %s: %q", ae.ErrorCode(), ae.ErrorMessage(), typ, msg)
	}
}

// raw posts a signed request with body to operation op and returns the
// status and the decoded JSON body.
func (e *env) raw(op, body string) (int, map[string]any) {
	e.t.Helper()
	return e.rawTarget(TargetPrefix+"."+op, body)
}

func (e *env) rawTarget(target, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", bytes.NewBufferString(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "firehose", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatalf("response %q: %v", b, err)
		}
	}
	return resp.StatusCode, m
}

// rawErr asserts a raw request failed with __type typ and message msg
// (msg "-" means no message member).
func (e *env) rawErr(op, body string, status int, typ, msg string) {
	e.t.Helper()
	code, m := e.raw(op, body)
	if code != status || m["__type"] != typ {
		e.t.Fatalf("%s %s: got %d %v, want %d %s", op, body, code, m, status, typ)
	}
	got, has := m["message"]
	switch {
	case msg == "-" && has:
		e.t.Fatalf("%s: unexpected message %v", op, got)
	case msg != "-" && got != msg:
		e.t.Fatalf("%s %s:\n got message %q\nwant message %q", op, body, got, msg)
	}
}
