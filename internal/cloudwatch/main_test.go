package cloudwatch

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStore is a store.Metrics in memory, answering ReadMetrics as the
// contract says: datums as written, filtered, in no particular order.
type fakeStore struct {
	mu    sync.Mutex
	ds    []store.MetricDatum
	reads []store.MetricQuery
	err   error
}

func (f *fakeStore) PutMetrics(_ context.Context, ds []store.MetricDatum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ds = append(f.ds, ds...)
	return nil
}

func (f *fakeStore) ReadMetrics(_ context.Context, q store.MetricQuery) ([]store.MetricDatum, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, q)
	if f.err != nil {
		return nil, f.err
	}
	var out []store.MetricDatum
	// Newest first, to show order does not matter.
	for _, d := range slices.Backward(f.ds) {
		if d.Account != q.Account || d.Region != q.Region || d.Namespace != q.Namespace ||
			(q.Metric != "" && d.Metric != q.Metric) || d.Minute.Before(q.From) || !d.Minute.Before(q.To) {
			continue
		}
		if q.Stream != "" {
			v, _ := streamOf(d.Namespace, d.Dimensions)
			if v != q.Stream {
				continue
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// testNow is the tests' clock: data is written in the hour before it.
var testNow = time.Date(2025, 6, 1, 12, 0, 30, 0, time.UTC)

func minute(hh, mm int) time.Time { return time.Date(2025, 6, 1, hh, mm, 0, 0, time.UTC) }

// datum is a Kinesis datum in the default account.
func datum(metric, unit string, t time.Time, count, sum, lo, hi float64, dims ...string) store.MetricDatum {
	d := store.MetricDatum{Account: kinesis.DefaultCaller.Account, Region: kinesis.DefaultCaller.Region,
		Namespace: "AWS/Kinesis", Metric: metric, Unit: unit, Minute: t,
		SampleCount: count, Sum: sum, Min: lo, Max: hi}
	for i := 0; i+1 < len(dims); i += 2 {
		d.Dimensions = append(d.Dimensions, store.Dimension{Name: dims[i], Value: dims[i+1]})
	}
	slices.SortFunc(d.Dimensions, func(a, b store.Dimension) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return d
}

// workload is the known data most tests read:
//
//   - stream S, IncomingRecords, minutes 11:50-11:54: two processes each
//     minute, (2 samples, sum 10, 3..7) and (1 sample, 4): merged 3
//     samples, sum 14, min 3, max 7;
//   - S's shards 0 and 1, IncomingRecords at 11:50-11:54: 4 and 6 a
//     minute (one datum each, a single sample);
//   - stream T, IncomingRecords 11:50: 100 (must never leak into S);
//   - S, GetRecords.Latency at 11:40: 100 single samples 1..100;
//   - S, IncomingBytes at 11:30 in another account.
func workload() []store.MetricDatum {
	var ds []store.MetricDatum
	for m := 50; m <= 54; m++ {
		t := minute(11, m)
		ds = append(ds,
			datum("IncomingRecords", "Count", t, 2, 10, 3, 7, "StreamName", "S"),
			datum("IncomingRecords", "Count", t, 1, 4, 4, 4, "StreamName", "S"),
			datum("IncomingRecords", "Count", t, 1, 4, 4, 4, "StreamName", "S", "ShardId", "shardId-000000000000"),
			datum("IncomingRecords", "Count", t, 1, 6, 6, 6, "StreamName", "S", "ShardId", "shardId-000000000001"),
		)
	}
	ds = append(ds, datum("IncomingRecords", "Count", minute(11, 50), 1, 100, 100, 100, "StreamName", "T"))
	for v := 1; v <= 100; v++ {
		ds = append(ds, datum("GetRecords.Latency", "Milliseconds", minute(11, 40), 1, float64(v), float64(v), float64(v), "StreamName", "S"))
	}
	other := datum("IncomingBytes", "Bytes", minute(11, 30), 1, 5, 5, 5, "StreamName", "S")
	other.Account = "111111111111"
	return append(ds, other)
}

// env is the handler over a fakeStore on an httptest server.
type env struct {
	st  *fakeStore
	svc *Service
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg Config, opts ...func(*Service)) *env {
	t.Helper()
	st := &fakeStore{ds: workload()}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	svc := New(st, cfg)
	for _, o := range opts {
		o(svc)
	}
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return &env{st: st, svc: svc, srv: srv}
}

// protocols are the three the SDK can speak; its default is CBOR.
var protocols = []struct {
	name  string
	proto func() smithyhttp.ClientProtocol
}{
	{"cbor", nil},
	{"json", func() smithyhttp.ClientProtocol { return awsjson.New10(schemas.GraniteServiceVersion20100801) }},
	{"query", func() smithyhttp.ClientProtocol { return awsquery.New(schemas.GraniteServiceVersion20100801) }},
}

// client is an aws-sdk-go-v2 CloudWatch client for e, in protocol proto
// (nil: the SDK's own, Smithy RPC v2 CBOR).
func (e *env) client(proto func() smithyhttp.ClientProtocol) *cw.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  e.srv.Client(),
	}
	return cw.NewFromConfig(cfg, func(o *cw.Options) {
		o.BaseEndpoint = aws.String(e.srv.URL)
		o.RetryMaxAttempts = 1
		if proto != nil {
			o.Protocol = proto()
		}
	})
}

// denyAll refuses every action, naming it.
type denyAll struct{ actions []string }

func (d *denyAll) Authorize(_ context.Context, _ kinesis.Caller, action, resource string, _ kinesis.Resource) error {
	d.actions = append(d.actions, action+" "+resource)
	return &kinesis.Error{Kind: kinesis.ErrAccessDenied, Message: "User: x is not authorized to perform: " + action}
}

var errBoom = errors.New("boom")
