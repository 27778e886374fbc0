package consumer

import (
	"context"
	"fmt"
	"github.com/rivulet/rivulet/internal/client"
	"math/rand/v2"
	"net/http"
	"os"
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

	"github.com/rivulet/rivulet/internal/testdynalite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dynalite.srv != nil {
		dynalite.srv.Close()
	}
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
	srv     TestServer
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
	return newEnvWith(t, backend, ServerConfig{})
}

func newEnvWith(t *testing.T, backend string, cfg ServerConfig) *env {
	t.Helper()
	srv, err := StartTestServer(context.Background(), cfg)
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
		HTTPClient:   &http.Client{Transport: client.OwnBody(tr)},
	})
	var ddbURL string
	switch backend {
	case backendDynalite:
		ddbURL = dynaliteURL(t)
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
		HTTPClient:   &http.Client{Transport: client.OwnBody(dtr)},
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

// dynalite is one dynalite for the whole test binary; TestMain stops it.
var dynalite struct {
	once sync.Once
	srv  *testdynalite.Server
	err  error
}

func dynaliteURL(t *testing.T) string {
	t.Helper()
	dynalite.once.Do(func() { dynalite.srv, dynalite.err = testdynalite.Start() })
	if dynalite.err != nil {
		t.Fatal(dynalite.err)
	}
	return dynalite.srv.URL
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
