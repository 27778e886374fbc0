package failover_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/failover"
	"github.com/rivulet/rivulet/internal/testcluster"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hangTimeout bounds waits that only a hang reaches.
const hangTimeout = 2 * time.Minute

func awsConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

func newEndpoints(t *testing.T, urls []string, opts ...failover.Option) *failover.Endpoints {
	t.Helper()
	opts = append([]failover.Option{failover.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))}, opts...)
	e, err := failover.New(urls, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.CloseIdleConnections)
	return e
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		urls []string
		ok   bool
	}{
		{[]string{"http://127.0.0.1:4567"}, true},
		{[]string{"http://a:1", "https://b:2/", "http://[::1]:3"}, true},
		{nil, false},
		{[]string{"127.0.0.1:4567"}, false},
		{[]string{"ftp://a:1"}, false},
		{[]string{"http://"}, false},
		{[]string{"http://:80"}, false},
		{[]string{"http://u:p@a:1"}, false},
		{[]string{"http://a:1?x=1"}, false},
		{[]string{"http://a:1#f"}, false},
		{[]string{"http://a:1", "http://A:1/"}, false}, // the same node twice
		{[]string{"::"}, false},
	} {
		e, err := failover.New(tc.urls)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q) = %v, want ok %v", tc.urls, err, tc.ok)
			continue
		}
		if err == nil && (e.Current() != e.URLs()[0] || e.MaxAttempts() < 2*len(tc.urls)) {
			t.Errorf("New(%q): current %s, max attempts %d", tc.urls, e.Current(), e.MaxAttempts())
		}
	}
	for _, o := range []failover.Option{failover.WithRetryAfter(0), failover.WithMaxAttempts(0), failover.WithTransport(nil), failover.WithLogger(nil)} {
		if _, err := failover.New([]string{"http://a:1"}, o); err == nil {
			t.Error("a bad option was accepted")
		}
	}
}

func FuzzNew(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4567", "https://h/", "http://", "ftp://x", "::", "http://[::1]:9", "http://a:1?q", "http://%zz"} {
		f.Add(s, "http://b:2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		e, err := failover.New([]string{a, b})
		if err != nil {
			return
		}
		for _, s := range e.URLs() {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Fatalf("New accepted %q (%q, %q)", s, a, b)
			}
		}
		if e.Current() != e.URLs()[0] {
			t.Fatalf("current %s, want %s", e.Current(), e.URLs()[0])
		}
	})
}

// refusing returns a URL nothing listens on.
func refusing(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// fake answers every request with status and body, counting them.
func fake(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// cutting promises a body and closes the connection halfway through it.
func cutting(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{\"StreamNames\":[")
		buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

const listStreams = `{"StreamNames":["a"],"HasMoreStreams":false}`

func TestFailsOverToTheNodeThatAnswers(t *testing.T) {
	unavailable, n503 := fake(t, http.StatusServiceUnavailable, `{"__type":"ServiceUnavailable"}`)
	cut, nCut := cutting(t)
	good, nGood := fake(t, http.StatusOK, listStreams)
	e := newEndpoints(t, []string{refusing(t), unavailable.URL, cut.URL, good.URL})
	kc := e.Kinesis(awsConfig())
	ctx := context.Background()
	for i := range 5 {
		out, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if len(out.StreamNames) != 1 {
			t.Fatalf("call %d: %v", i, out.StreamNames)
		}
	}
	if e.Current() != good.URL {
		t.Errorf("current %s, want %s", e.Current(), good.URL)
	}
	// The first call tried each bad node once; the rest went straight to
	// the good one, which stays in use.
	if n503.Load() != 1 || nCut.Load() != 1 || nGood.Load() != 5 {
		t.Errorf("503 node %d, cutting node %d, good node %d calls; want 1, 1, 5", n503.Load(), nCut.Load(), nGood.Load())
	}

	// DynamoDB clients share the endpoints and their state.
	d := e.DynamoDB(awsConfig())
	if _, err := d.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if nGood.Load() != 6 {
		t.Errorf("good node %d calls, want 6", nGood.Load())
	}
}

func TestDownNodeIsTriedAgain(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var nFirst atomic.Int64
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nFirst.Add(1)
		io.Copy(io.Discard, r.Body)
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, listStreams)
	}))
	t.Cleanup(first.Close)
	second, nSecond := fake(t, http.StatusOK, listStreams)
	e := newEndpoints(t, []string{first.URL, second.URL}, failover.WithRetryAfter(50*time.Millisecond))
	kc := e.Kinesis(awsConfig())
	ctx := context.Background()
	if _, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	if nFirst.Load() != 1 || nSecond.Load() != 1 || e.Current() != second.URL {
		t.Fatalf("first %d, second %d calls, current %s", nFirst.Load(), nSecond.Load(), e.Current())
	}
	// The second node is now in use; when it fails, the first, back after
	// its back-off, takes over.
	fail.Store(false)
	second.Close()
	time.Sleep(100 * time.Millisecond) // past the first node's back-off
	if _, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	if nFirst.Load() != 2 || e.Current() != first.URL {
		t.Fatalf("first %d calls, current %s", nFirst.Load(), e.Current())
	}
}

func TestAllDownFails(t *testing.T) {
	unavailable, n503 := fake(t, http.StatusServiceUnavailable, `{"__type":"ServiceUnavailable"}`)
	e := newEndpoints(t, []string{refusing(t), unavailable.URL, refusing(t)}, failover.WithMaxAttempts(6))
	kc := e.Kinesis(awsConfig())
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	_, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x")})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("PutRecord with every node down: %v (context %v), want an error before the deadline", err, ctx.Err())
	}
	if n := n503.Load(); n < 2 {
		t.Errorf("503 node tried %d times, want every node tried twice", n)
	}
	t.Logf("failed as wanted: %v", err)

	// A caller's deadline ends the attempts.
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	_, err = e.Kinesis(awsConfig(), func(o *kinesis.Options) { o.Retryer = retry(100) }).ListStreams(short, &kinesis.ListStreamsInput{})
	if err == nil {
		t.Fatal("ListStreams succeeded with every node down")
	}
}

// retry is a retryer with many attempts, so only the context ends a call.
func retry(n int) aws.Retryer {
	e, err := failover.New([]string{"http://unused:1"}, failover.WithMaxAttempts(n))
	if err != nil {
		panic(err)
	}
	return e.Retryer()
}

// acked is what the client reported as stored: data by shard and sequence
// number.
type acked struct {
	mu   sync.Mutex
	recs map[string]map[string]string
	n    int
}

func (a *acked) add(shard, seq, data string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recs[shard] == nil {
		a.recs[shard] = map[string]string{}
	}
	a.recs[shard][seq] = data
	a.n++
}

// TestClusterNodeLoss: a client on three nodes keeps writing while the
// node it uses stops, without a failed call, and every record it reported
// stored reads back through the survivors.
func TestClusterNodeLoss(t *testing.T) {
	nodes := testcluster.Start(t, 3)
	urls := testcluster.URLs(nodes)
	e := newEndpoints(t, urls)
	kc := e.Kinesis(awsConfig())
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	const stream = "failover"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitActive(ctx, t, kc, stream)

	got := &acked{recs: map[string]map[string]string{}}
	var calls, entryFailures atomic.Int64
	put := func(w, i int) error {
		calls.Add(1)
		if i%2 == 0 {
			data := fmt.Sprintf("w%d-single-%d", w, i)
			out, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(data), Data: []byte(data)})
			if err != nil {
				return err
			}
			got.add(*out.ShardId, *out.SequenceNumber, data)
			return nil
		}
		var entries []types.PutRecordsRequestEntry
		for j := range 20 {
			data := fmt.Sprintf("w%d-batch-%d-%d", w, i, j)
			entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(data), Data: []byte(data)})
		}
		for len(entries) > 0 {
			out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				return err
			}
			var again []types.PutRecordsRequestEntry
			for k, r := range out.Records {
				if r.ErrorCode != nil { // refused: not stored, so sent again
					entryFailures.Add(1)
					again = append(again, entries[k])
					continue
				}
				got.add(*r.ShardId, *r.SequenceNumber, string(entries[k].Data))
			}
			entries = again
		}
		return nil
	}

	// Four writers; node 0, the one in use, stops once they are under way,
	// and they go on until the survivors took many calls.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := put(w, i); err != nil {
					t.Errorf("writer %d call %d failed with two nodes live: %v", w, i, err)
					return
				}
			}
		})
	}
	waitCalls := func(n int64) {
		deadline := time.Now().Add(hangTimeout)
		for calls.Load() < n && time.Now().Before(deadline) && !t.Failed() {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCalls(20)
	if e.Current() != urls[0] {
		t.Errorf("current %s before the loss, want %s", e.Current(), urls[0])
	}
	before := calls.Load()
	if err := nodes[0].Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitCalls(before + 80)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	if e.Current() == urls[0] {
		t.Errorf("still on the stopped node %s", urls[0])
	}
	t.Logf("%d calls (%d after the loss), %d records acknowledged, %d entries refused and sent again", calls.Load(), calls.Load()-before, got.n, entryFailures.Load())

	for shard, want := range got.recs {
		have, err := testcluster.ReadShard(ctx, kc, stream, shard)
		if err != nil {
			t.Fatalf("reading %s through the survivors: %v", shard, err)
		}
		for seq, data := range want {
			if have[seq] != data {
				t.Errorf("%s record %s: read %q, want %q", shard, seq, have[seq], data)
			}
		}
		t.Logf("%s: %d acknowledged, %d read", shard, len(want), len(have))
	}
}
