package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		vars     map[string]string
		args     []string
		endpoint string
		region   string
	}{
		{nil, nil, DefaultEndpoint, "us-east-1"},
		{map[string]string{"RIVULET_ENDPOINT": "http://h:1", "AWS_DEFAULT_REGION": "eu-west-1"}, nil, "http://h:1", "eu-west-1"},
		{map[string]string{"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "ap-south-1"}, nil, DefaultEndpoint, "ap-south-1"},
		{map[string]string{"RIVULET_ENDPOINT": "http://h:1"}, []string{"--endpoint", "https://x:2", "--region", "sa-east-1"}, "https://x:2", "sa-east-1"},
	} {
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c.AddFlags(fs, env(tc.vars))
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if c.Endpoint != tc.endpoint || c.Region != tc.region || c.Timeout != time.Minute {
			t.Errorf("%v %v: endpoint %s region %s timeout %v", tc.vars, tc.args, c.Endpoint, c.Region, c.Timeout)
		}
	}
}

func TestValidate(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:4567": true, "https://kinesis.example": true, "aws": true, "": true,
		"127.0.0.1:4567": false, "ftp://x": false, "http://": false, "::": false,
	} {
		c := Config{Endpoint: endpoint, Region: "us-east-1"}
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v", endpoint, err)
		}
	}
	if (&Config{Endpoint: DefaultEndpoint}).Validate() == nil {
		t.Error("empty region accepted")
	}
	if _, err := New(Config{Endpoint: "nope", Region: "r"}); err == nil {
		t.Error("New accepted a bad endpoint")
	}
}

// seen records what a fake Kinesis endpoint received.
type seen struct {
	mu     sync.Mutex
	proto  string
	auth   string
	token  string
	bodies []string
}

func fakeKinesis(t *testing.T, h2c bool, status int, body string) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.proto, s.auth, s.token = r.Proto, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token")
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	if h2c {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetHTTP1(true)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, s
}

func TestClientProtocolsAndCredentials(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		http2     bool
		vars      map[string]string
		wantProto string
		wantKey   string
		wantToken string
	}{
		{false, nil, "HTTP/1.1", "Credential=rivulet/", ""},
		{true, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok"}, "HTTP/2.0", "Credential=AKIDEXAMPLE/", "tok"},
		{false, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}, "HTTP/1.1", "Credential=rivulet/", ""}, // no secret: dummy
	} {
		srv, s := fakeKinesis(t, true, 200, `{"StreamNames":["a"],"HasMoreStreams":false}`)
		kc, err := New(Config{Endpoint: srv.URL, Region: "eu-west-3", HTTP2: tc.http2, LookupEnv: env(tc.vars)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil || len(out.StreamNames) != 1 {
			t.Fatalf("ListStreams: %v", err)
		}
		s.mu.Lock()
		if s.proto != tc.wantProto || !strings.Contains(s.auth, tc.wantKey) || !strings.Contains(s.auth, "/eu-west-3/kinesis/") || s.token != tc.wantToken {
			t.Errorf("http2=%v: proto %s auth %q token %q", tc.http2, s.proto, s.auth, s.token)
		}
		s.mu.Unlock()
	}
}

func TestRequestBodyArrivesWhole(t *testing.T) {
	srv, s := fakeKinesis(t, false, 200, `{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"}]}`)
	kc, err := New(Config{Endpoint: srv.URL, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	data := strings.Repeat("x", 300_000)
	if _, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) != 1 || !strings.Contains(s.bodies[0], `"PartitionKey":"k"`) || len(s.bodies[0]) < 400_000 {
		t.Fatalf("server got %d bodies, first %d bytes", len(s.bodies), len(s.bodies[0]))
	}
}

func TestErrorCode(t *testing.T) {
	ctx := context.Background()
	call := func(status int, body string, attempts int) error {
		srv, _ := fakeKinesis(t, false, status, body)
		kc, err := New(Config{Endpoint: srv.URL, Region: "us-east-1", MaxAttempts: attempts})
		if err != nil {
			t.Fatal(err)
		}
		_, err = kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		return err
	}
	err := call(400, `{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"}`, 1)
	if c := ErrorCode(err); c != "ProvisionedThroughputExceededException" || !IsThrottleCode(c) || !IsRetryableCode(c) {
		t.Errorf("throttle: %q from %v", c, err)
	}
	err = call(400, `{"__type":"ResourceNotFoundException","message":"no"}`, 1)
	if c := ErrorCode(err); c != "ResourceNotFoundException" || IsRetryableCode(c) {
		t.Errorf("not found: %q", c)
	}
	err = call(500, `{"__type":"InternalFailure"}`, 1)
	if c := ErrorCode(err); c != "InternalFailure" || !IsRetryableCode(c) || IsThrottleCode(c) {
		t.Errorf("internal: %q", c)
	}

	// Nothing listens on a port just closed.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	kc, _ := New(Config{Endpoint: "http://" + addr, Region: "us-east-1", MaxAttempts: 1})
	_, err = kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if c := ErrorCode(err); c != CodeNetwork || !IsRetryableCode(c) {
		t.Errorf("refused: %q from %v", c, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = kc.ListStreams(cctx, &kinesis.ListStreamsInput{})
	if c := ErrorCode(err); c != CodeCanceled || IsRetryableCode(c) {
		t.Errorf("canceled: %q from %v", c, err)
	}
	if ErrorCode(nil) != "" || ErrorCode(errors.New("x")) != CodeOther || ErrorCode(fmt.Errorf("w: %w", context.DeadlineExceeded)) != CodeTimeout {
		t.Error("plain errors")
	}
	if !IsRetryableCode("HTTP 503") || IsRetryableCode("HTTP 404") {
		t.Error("HTTP status codes")
	}
}
