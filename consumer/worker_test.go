package consumer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fastTiming is the KCL's timing scaled down for tests.
func fastTiming(c *Config) {
	c.FailoverTime = 2 * time.Second
	c.TakeInterval = 300 * time.Millisecond
	c.ShardSyncInterval = 500 * time.Millisecond
	c.ParentShardPollInterval = 100 * time.Millisecond
	c.InitialPosition = InitialPosition{Type: SentinelTrimHorizon}
	if c.Retrieval == nil {
		c.Retrieval = Polling{IdleTimeBetweenReads: 100 * time.Millisecond}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CONSUMER_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

func (e *env) createStream(t *testing.T, shards int32) string {
	t.Helper()
	name := uniqueName(t)
	if _, err := e.kin.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, name)
	return name
}

func (e *env) waitActive(t *testing.T, stream string) {
	t.Helper()
	waitFor(t, "stream ACTIVE", func() bool {
		out, err := e.kin.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
	})
}

// put writes "key/n" for n in [from, to) of every key.
func (e *env) put(t *testing.T, stream string, keys []string, from, to int) {
	t.Helper()
	var entries []ktypes.PutRecordsRequestEntry
	flush := func() {
		for len(entries) > 0 {
			out, err := e.kin.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
			if err != nil {
				t.Fatal(err)
			}
			var retry []ktypes.PutRecordsRequestEntry
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					retry = append(retry, entries[i])
				}
			}
			entries = retry
		}
	}
	// n outer, keys inner: each PutRecords keeps a key's records in order.
	for n := from; n < to; n++ {
		for _, k := range keys {
			entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: []byte(k + "/" + strconv.Itoa(n))})
			if len(entries) == 500 {
				flush()
			}
		}
	}
	flush()
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("key-%03d", i)
	}
	return out
}

// recorder collects what processors were given, in delivery order.
type recorder struct {
	mu        sync.Mutex
	first     map[string]int // "key/n" → index of its first delivery
	order     []string       // every delivery
	byWorker  map[string]map[string]bool
	lost      map[string]int // worker → LeaseLost calls
	shutdowns map[string]int // worker → ShutdownRequested calls
	ended     map[string]int // shard → ShardEnded calls
	polled    map[string]bool
	instance  atomic.Int64
	violation []string
}

func newRecorder() *recorder {
	return &recorder{first: map[string]int{}, byWorker: map[string]map[string]bool{}, lost: map[string]int{}, shutdowns: map[string]int{}, ended: map[string]int{}, polled: map[string]bool{}}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

func (r *recorder) has(rec string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.first[rec]
	return ok
}

// factory makes processors that record, check order within each
// processor, and checkpoint after every batch.
func (r *recorder) factory(worker string, checkpointEvery bool) ProcessorFactory {
	return ProcessorFactoryFunc(func(shardID string) Processor {
		return &recProcessor{r: r, worker: worker, shard: shardID, checkpoint: checkpointEvery, last: map[string]int{}}
	})
}

type recProcessor struct {
	r          *recorder
	worker     string
	shard      string
	checkpoint bool
	last       map[string]int // key → last n this processor saw
	calls      int
	done       bool
}

func (p *recProcessor) Initialize(context.Context, InitializeInput) {}

func (p *recProcessor) ProcessRecords(ctx context.Context, in ProcessRecordsInput) {
	r := p.r
	r.mu.Lock()
	r.polled[p.shard] = true
	for _, rec := range in.Records {
		s := string(rec.Data)
		k, nStr, _ := strings.Cut(s, "/")
		n, _ := strconv.Atoi(nStr)
		if prev, ok := p.last[k]; ok && n <= prev {
			r.violation = append(r.violation, fmt.Sprintf("%s on %s: %d after %d", k, p.shard, n, prev))
		}
		p.last[k] = n
		if _, ok := r.first[s]; !ok {
			r.first[s] = len(r.order)
		}
		r.order = append(r.order, s)
		if r.byWorker[p.worker] == nil {
			r.byWorker[p.worker] = map[string]bool{}
		}
		r.byWorker[p.worker][s] = true
	}
	r.mu.Unlock()
	if p.checkpoint && len(in.Records) > 0 {
		_ = in.Checkpointer.Checkpoint(ctx)
	}
}

func (p *recProcessor) end(m map[string]int, k string) {
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	if p.done {
		p.r.violation = append(p.r.violation, "two final calls on "+p.shard)
	}
	p.done = true
	m[k]++
}

func (p *recProcessor) ShardEnded(ctx context.Context, in ShardEndedInput) {
	if err := in.Checkpointer.Checkpoint(ctx); err != nil {
		return
	}
	p.end(p.r.ended, p.shard)
}

func (p *recProcessor) LeaseLost(context.Context, LeaseLostInput) { p.end(p.r.lost, p.worker) }

func (p *recProcessor) ShutdownRequested(ctx context.Context, in ShutdownRequestedInput) {
	_ = in.Checkpointer.Checkpoint(ctx)
	p.end(p.r.shutdowns, p.worker)
}

// checkFirstOrder checks that each key's records were first delivered in
// the order they were written: across shards too, so a child's record
// never came before its parent's.
func (r *recorder) checkFirstOrder(t *testing.T, ks []string, total int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violation {
		t.Errorf("order: %s", v)
	}
	for _, k := range ks {
		prev := -1
		for n := range total {
			i, ok := r.first[k+"/"+strconv.Itoa(n)]
			if !ok {
				t.Errorf("%s/%d never processed", k, n)
				continue
			}
			if i < prev {
				t.Errorf("%s/%d first processed before %s/%d", k, n, k, n-1)
			}
			prev = i
		}
	}
}

// running is a worker running in the background.
type running struct {
	w       *Worker
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
}

func (e *env) startWorker(t *testing.T, cfg Config) *running {
	t.Helper()
	cfg.Kinesis, cfg.DynamoDB = e.kin, e.ddb
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Fail at once on a backend that cannot hold the table, rather than
	// wait for records that never come.
	tctx, tcancel := context.WithTimeout(context.Background(), hangTimeout)
	defer tcancel()
	if err := w.store.ensureTable(tctx); err != nil {
		t.Fatalf("lease table on %s: %v", e.backend, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop shuts the worker down gracefully and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.stopped.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(hangTimeout):
			t.Errorf("worker %s did not stop", r.w.WorkerID())
		}
	})
}

func (r *running) heldCount() int {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return len(r.w.held)
}

// retrievals runs f once for Polling and once for FanOut.
func retrievals(t *testing.T, f func(t *testing.T, e *env, rt Retrieval)) {
	for _, rt := range []struct {
		name string
		r    Retrieval
	}{
		{"Polling", Polling{IdleTimeBetweenReads: 100 * time.Millisecond}},
		{"FanOut", FanOut{}},
	} {
		t.Run(rt.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, func(t *testing.T, e *env) { f(t, e, rt.r) })
		})
	}
}

// TestWorkersShareShards: three workers share four shards; every record
// is processed, each key in order, and every worker gets shards.
func TestWorkersShareShards(t *testing.T) {
	t.Parallel()
	retrievals(t, func(t *testing.T, e *env, rt Retrieval) {
		stream := e.createStream(t, 4)
		app := uniqueName(t)
		rec := newRecorder()
		var ws []*running
		for i := range 3 {
			cfg := Config{AppName: app, Stream: stream, WorkerID: "w" + strconv.Itoa(i), Retrieval: rt}
			fastTiming(&cfg)
			cfg.Processor = rec.factory(cfg.WorkerID, true)
			ws = append(ws, e.startWorker(t, cfg))
		}
		ks := keys(40)
		e.put(t, stream, ks, 0, 10)
		waitFor(t, "every worker holding a lease", func() bool {
			for _, w := range ws {
				if w.heldCount() == 0 {
					return false
				}
			}
			return true
		})
		e.put(t, stream, ks, 10, 20)
		waitFor(t, "all records processed", func() bool { return rec.count() == 40*20 })
		rec.checkFirstOrder(t, ks, 20)
	})
}

// TestHandOff: a worker stopped gracefully checkpoints and releases its
// leases; another takes them at once (long before they could expire) and
// resumes after the checkpoint.
func TestHandOff(t *testing.T) {
	t.Parallel()
	retrievals(t, func(t *testing.T, e *env, rt Retrieval) {
		stream := e.createStream(t, 2)
		app := uniqueName(t)
		rec := newRecorder()
		cfgA := Config{AppName: app, Stream: stream, WorkerID: "A", Retrieval: rt}
		fastTiming(&cfgA)
		// Long failover: B can only get A's leases by the hand-off.
		cfgA.FailoverTime = time.Minute
		cfgA.Processor = rec.factory("A", false) // checkpoints only at shutdown
		a := e.startWorker(t, cfgA)
		ks := keys(30)
		e.put(t, stream, ks, 0, 10)
		waitFor(t, "A processing", func() bool { return rec.count() == 300 })

		// B starts after A stopped: while both run, B could steal a lease
		// A has not checkpointed yet, and process its records again.
		a.stop(t)
		rec.mu.Lock()
		if got := rec.shutdowns["A"]; got != 2 {
			t.Errorf("A's processors got %d ShutdownRequested, want 2", got)
		}
		rec.mu.Unlock()
		leases, err := a.w.store.list(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leases {
			if l.owner != "" || l.checkpoint.rank() != 1 {
				t.Errorf("after A's shutdown lease %s has owner %q checkpoint %v, want released and checkpointed", l.key, l.owner, l.checkpoint)
			}
		}
		cfgB := cfgA
		cfgB.WorkerID = "B"
		cfgB.Processor = rec.factory("B", true)
		b := e.startWorker(t, cfgB)
		waitFor(t, "B holding both leases", func() bool { return b.heldCount() == 2 })
		e.put(t, stream, ks, 10, 20)
		waitFor(t, "all records processed", func() bool { return rec.count() == 600 })
		rec.mu.Lock()
		for s := range rec.byWorker["B"] {
			if n, _ := strconv.Atoi(s[strings.Index(s, "/")+1:]); n < 10 {
				t.Errorf("B processed %s again, before A's checkpoint", s)
			}
		}
		rec.mu.Unlock()
		rec.checkFirstOrder(t, ks, 20)
	})
}

// TestFailover: a worker whose renewals stop loses its leases (LeaseLost)
// and the other worker takes them after the failover time.
func TestFailover(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 4)
		app := uniqueName(t)
		rec := newRecorder()
		var ws []*running
		for _, id := range []string{"A", "B"} {
			cfg := Config{AppName: app, Stream: stream, WorkerID: id}
			fastTiming(&cfg)
			cfg.Processor = rec.factory(id, true)
			ws = append(ws, e.startWorker(t, cfg))
		}
		a, b := ws[0], ws[1]
		ks := keys(20)
		e.put(t, stream, ks, 0, 10)
		waitFor(t, "both workers holding leases", func() bool { return a.heldCount() > 0 && b.heldCount() > 0 })
		waitFor(t, "first records processed", func() bool { return rec.count() == 200 })

		a.w.paused.Store(true)
		waitFor(t, "A's leases lost", func() bool { return a.heldCount() == 0 })
		waitFor(t, "B holding all four leases", func() bool { return b.heldCount() == 4 })
		rec.mu.Lock()
		if rec.lost["A"] == 0 {
			t.Errorf("A's processors got no LeaseLost")
		}
		rec.mu.Unlock()
		e.put(t, stream, ks, 10, 20)
		waitFor(t, "all records processed", func() bool { return rec.count() == 400 })
		rec.checkFirstOrder(t, ks, 20)
	})
}

// TestReshard: splits, merges and UpdateShardCount while two workers
// consume: every record is processed and no child record before its
// parents' records.
func TestReshard(t *testing.T) {
	t.Parallel()
	retrievals(t, func(t *testing.T, e *env, rt Retrieval) {
		ctx := context.Background()
		stream := e.createStream(t, 2)
		app := uniqueName(t)
		rec := newRecorder()
		for _, id := range []string{"A", "B"} {
			cfg := Config{AppName: app, Stream: stream, WorkerID: id, Retrieval: rt}
			fastTiming(&cfg)
			cfg.Processor = rec.factory(id, true)
			e.startWorker(t, cfg)
		}
		ks := keys(30)
		n := 0
		step := func(what string, f func() error) {
			t.Helper()
			e.put(t, stream, ks, n, n+5)
			n += 5
			if err := f(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			e.waitActive(t, stream)
			e.put(t, stream, ks, n, n+5)
			n += 5
		}
		step("split", func() error {
			_, err := e.kin.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("85070591730234615865843651857942052864")})
			return err
		})
		step("merge", func() error {
			// The split's children: 2 and 3, adjacent.
			_, err := e.kin.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: &stream, ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003")})
			return err
		})
		step("update shard count", func() error {
			_, err := e.kin.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: &stream, TargetShardCount: aws.Int32(4), ScalingType: ktypes.ScalingTypeUniformScaling})
			return err
		})
		waitFor(t, "all records processed", func() bool { return rec.count() == len(ks)*n })
		rec.checkFirstOrder(t, ks, n)
		rec.mu.Lock()
		if len(rec.ended) == 0 {
			t.Errorf("no ShardEnded")
		}
		rec.mu.Unlock()
	})
}
