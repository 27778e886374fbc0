package bench

// Cluster mode: W1 writes (PutRecords of 500 records of 1 KiB over a
// 4-shard stream from 8 callers) against one node with one replica (R1),
// three nodes with three replicas (R3), and R3 with SyncAlways, one after
// the other in every iteration so that the ratios see the same load of a
// shared machine. Run with
//
//	go test -run '^$' -bench 'Cluster$' -benchtime 1x -count 3 -timeout 30m ./bench/
//
// with this file's flags after -args (-cluster.records=1000000 ...).
// Every node runs in this process (rivulet.Start on its own data
// directory, the three of a cluster joined over loopback routes), so the
// nodes and the callers share the machine's cores and one Go runtime; a
// real cluster has a machine per node. The callers send pre-encoded
// bodies over plain HTTP, as W1's raw client does in bench/peers, so that
// the generator takes as little CPU as possible from the nodes; against a
// cluster they take the nodes in turn, call by call.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet"
)

var (
	// clusterRecords are put by every setup in every iteration; rounded
	// up to a multiple of 500 (one PutRecords).
	clusterRecords = 500_000
	// clusterCallers call PutRecords at once.
	clusterCallers = 8
	// clusterSetupNames are the setups BenchmarkCluster runs, in order.
	clusterSetupNames = "R1,R3,R3sync"
)

func init() {
	flag.IntVar(&clusterRecords, "cluster.records", clusterRecords, "records each BenchmarkCluster setup puts (a multiple of 500)")
	flag.IntVar(&clusterCallers, "cluster.callers", clusterCallers, "concurrent PutRecords callers in BenchmarkCluster")
	flag.StringVar(&clusterSetupNames, "cluster.setups", clusterSetupNames, "BenchmarkCluster's setups, in order, of R1, R3, R3sync")
}

const (
	clBatch      = 500
	clShards     = 4
	clRecordSize = 1024
	// clusterFormWait bounds a node's wait in Start for the others: a
	// cluster forms in seconds, slower on a loaded machine.
	clusterFormWait = 90 * time.Second
)

// clusterSetup is one of BenchmarkCluster's server setups.
type clusterSetup struct {
	name  string
	nodes int
	sync  bool
}

var clusterSetups = []clusterSetup{
	{"R1", 1, false},
	{"R3", 3, false},
	{"R3sync", 3, true},
}

// clusterResult adds up a setup's rounds.
type clusterResult struct {
	rounds  int
	records int
	wall    time.Duration
	lat     []time.Duration
	resent  int
}

// BenchmarkCluster puts -cluster.records records (W1: 500 records of
// 1 KiB a call, over a new 4-shard stream, from -cluster.callers
// callers) into each setup, each on new servers and data directories,
// stopped before the next setup starts:
//
//   - R1: one node, no cluster, one replica;
//   - R3: three nodes in one cluster, three replicas of every shard, the
//     calls going to the nodes in turn;
//   - R3sync: R3 with SyncAlways (every write fsynced before it is
//     acknowledged).
//
// Every iteration is a round of the three in turn, so that each ratio
// compares setups measured one after the other, not a whole -count apart.
// Metrics carry the setup's name: R3-records/s counts from the first call
// to the last answer; R3-p50-ms and R3-p99-ms are the latencies of single
// PutRecords calls; R3-pct-of-r1 is R3's records/s against R1's over the
// same rounds. Entries a call failed are sent again and counted
// (R3-resent, per round). -cluster.setups runs only some setups (the ratios need R1).
func BenchmarkCluster(b *testing.B) {
	var setups []clusterSetup
	for _, name := range strings.Split(clusterSetupNames, ",") {
		i := slices.IndexFunc(clusterSetups, func(s clusterSetup) bool { return s.name == name })
		if i < 0 {
			b.Fatalf("-cluster.setups: unknown setup %q", name)
		}
		setups = append(setups, clusterSetups[i])
	}
	batches := (max(clusterRecords, 1) + clBatch - 1) / clBatch
	results := make([]clusterResult, len(setups))
	for b.Loop() {
		for i, s := range setups {
			runClusterSetup(b, s, batches, &results[i])
		}
	}
	rate := func(r clusterResult) float64 { return float64(r.records) / r.wall.Seconds() }
	var r1 float64 // R1's records/s; 0 if it did not run
	for i, s := range setups {
		if s.nodes == 1 {
			r1 = rate(results[i])
		}
	}
	for i, s := range setups {
		r := results[i]
		rate := rate(r)
		p50, p99 := quantileMS(r.lat, 0.5), quantileMS(r.lat, 0.99)
		b.ReportMetric(rate, s.name+"-records/s")
		b.ReportMetric(p50, s.name+"-p50-ms")
		b.ReportMetric(p99, s.name+"-p99-ms")
		b.ReportMetric(float64(r.resent)/float64(r.rounds), s.name+"-resent")
		setup := fmt.Sprintf("%d node(s), replicas %d", s.nodes, s.nodes)
		if s.sync {
			setup += ", sync always"
		}
		vs := ""
		if s.nodes > 1 && r1 > 0 {
			b.ReportMetric(100*rate/r1, s.name+"-pct-of-r1")
			vs = fmt.Sprintf(" = %.0f %% of R1", 100*rate/r1)
		}
		b.Logf("%s: %s: %d records (%.0f MiB) in %.1f s: %.0f records/s, %.1f MiB/s%s; PutRecords p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d entries resent",
			s.name, setup, r.records, float64(r.records*clRecordSize)/mib, r.wall.Seconds(), rate, rate*clRecordSize/mib, vs,
			p50, p99, quantileMS(r.lat, 1), r.resent)
	}
}

// runClusterSetup starts the setup, puts batches W1 calls into a new
// stream with the timer running, adds the figures to r, and stops the
// nodes. The timer runs only for the puts (b.Loop needs it running).
func runClusterSetup(b *testing.B, s clusterSetup, batches int, r *clusterResult) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	nodes, stop := startNodes(b, s.nodes, s.sync)
	defer stop()
	const stream = "w1"
	nodes[0].createStream(b, stream, clShards)
	for _, e := range nodes {
		// Metadata reaches the other nodes through the replicated
		// bucket: each must see the stream.
		e.waitSeen(b, stream)
	}
	body := putRecordsBody(stream, clBatch, clRecordSize)
	for _, e := range nodes {
		// Connections and the shards' logs are set up before the clock
		// starts.
		e.call(b, "PutRecords", body)
	}
	took := make([]time.Duration, batches)
	var resent atomic.Int64
	b.StartTimer()
	start := time.Now()
	err := putAll(context.Background(), batches, clusterCallers, func(ctx context.Context, k int) error {
		e := nodes[k%len(nodes)]
		t0 := time.Now()
		out, err := e.put(ctx, body)
		took[k] = time.Since(t0)
		if err != nil {
			return err
		}
		n, err := e.resendFailed(ctx, stream, out)
		resent.Add(int64(n))
		return err
	})
	wall := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	r.rounds++
	r.records += batches * clBatch
	r.wall += wall
	r.lat = append(r.lat, took...)
	r.resent += int(resent.Load())
}

// startNodes starts one node alone, or a cluster of n nodes at once
// (each waits in Start until the others have joined), all on disk; stop
// stops them and removes their data, and runs when b ends if it has not
// run before.
func startNodes(b *testing.B, n int, syncAlways bool) (nodes []*env, stop func()) {
	b.Helper()
	dir := b.TempDir()
	var srvs []*rivulet.Server
	var err error
	if n > 1 {
		srvs, err = rivulet.StartCluster(context.Background(), n, rivulet.Config{
			DataDir: dir, SyncAlways: syncAlways, Cluster: rivulet.Cluster{Name: "bench", Wait: clusterFormWait},
		})
	} else {
		var srv *rivulet.Server
		srv, err = rivulet.Start(context.Background(), rivulet.Config{DataDir: dir, SyncAlways: syncAlways})
		srvs = []*rivulet.Server{srv}
	}
	if err != nil {
		b.Fatal(err)
	}
	var trs []*http.Transport
	for _, srv := range srvs {
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		trs = append(trs, tr)
		nodes = append(nodes, &env{url: srv.Endpoint(), client: &http.Client{Transport: tr}})
	}
	stop = sync.OnceFunc(func() {
		for _, tr := range trs {
			tr.CloseIdleConnections()
		}
		for _, srv := range srvs {
			if err := srv.Close(); err != nil {
				b.Errorf("Close: %v", err)
			}
		}
		// Gigabytes a round: gone now, not when the benchmark ends.
		if err := os.RemoveAll(dir); err != nil {
			b.Errorf("removing %s: %v", dir, err)
		}
	})
	b.Cleanup(stop)
	return nodes, stop
}

// waitSeen polls until the node answers that the stream is ACTIVE; until
// the metadata reaches it, a node does not know the stream.
func (e *env) waitSeen(b *testing.B, stream string) {
	b.Helper()
	deadline := time.Now().Add(hangTimeout)
	for {
		out, err := e.try(context.Background(), "DescribeStreamSummary", fmt.Appendf(nil, `{"StreamName":%q}`, stream))
		if err == nil && bytes.Contains(out, []byte(`"StreamStatus":"ACTIVE"`)) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: stream %s not ACTIVE after %v: %v %s", e.url, stream, hangTimeout, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// put is one PutRecords call.
func (e *env) put(ctx context.Context, body []byte) ([]byte, error) {
	return e.try(ctx, "PutRecords", body)
}

// try is one call that reports failures as errors, for callers other than
// the benchmark's goroutine.
func (e *env) try(ctx context.Context, op string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s to %s: %d %s", op, e.url, resp.StatusCode, out)
	}
	return out, nil
}

// resendFailed sends the entries of a W1 body that out says failed
// again, until none fails, and returns how many were sent again.
func (e *env) resendFailed(ctx context.Context, stream string, out []byte) (int, error) {
	resent := 0
	// Entry i of the body is pk-i; idx maps the entries of the last call
	// to those.
	var idx []int
	for range maxResends {
		if bytes.Contains(out, []byte(`"FailedRecordCount":0,`)) || bytes.Contains(out, []byte(`"FailedRecordCount":0}`)) {
			return resent, nil
		}
		var res putRecordsResult
		if err := json.Unmarshal(out, &res); err != nil {
			return resent, err
		}
		if res.FailedRecordCount == 0 {
			return resent, nil
		}
		var again []int
		for i, r := range res.Records {
			if r.ErrorCode == "" {
				continue
			}
			if idx == nil {
				again = append(again, i)
			} else {
				again = append(again, idx[i])
			}
		}
		resent += len(again)
		idx = again
		time.Sleep(10 * time.Millisecond)
		var err error
		if out, err = e.put(ctx, putRecordsSubset(stream, idx, clRecordSize)); err != nil {
			return resent, err
		}
	}
	return resent, fmt.Errorf("PutRecords: entries still failing after %d resends", maxResends)
}

// putRecordsSubset is the entries idx of putRecordsBody(stream, _, size).
func putRecordsSubset(stream string, idx []int, size int) []byte {
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'x'}, size))
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"StreamName":%q,"Records":[`, stream)
	for j, i := range idx {
		if j > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"PartitionKey":"pk-%d","Data":%q}`, i, data)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}
