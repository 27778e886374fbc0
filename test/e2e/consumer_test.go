package e2e

// The consumer library (KCL) end to end: `rivulet tail --app` processes as
// workers of one application against one `rivulet serve`, which answers
// both Kinesis and the DynamoDB lease table on its one endpoint.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/consumer"
)

// dynamoDB returns an aws-sdk-go-v2 DynamoDB client for the lease tables,
// on the Kinesis endpoint.
func (s *server) dynamoDB() *dynamodb.Client {
	return dynamodb.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		HTTPClient:  s.http,
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(s.endpoint()) })
}

// leaseOwners reads the lease table: shard → owner ("" when unowned).
// Before the workers created the table, it is empty.
func leaseOwners(ctx context.Context, t *testing.T, c *dynamodb.Client, table string) map[string]string {
	t.Helper()
	owners := map[string]string{}
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
	for {
		out, err := c.Scan(ctx, in)
		var notFound *ddbtypes.ResourceNotFoundException
		if errors.As(err, &notFound) {
			return owners
		}
		if err != nil {
			t.Fatalf("Scan %s: %v", table, err)
		}
		for _, it := range out.Items {
			key, _ := it["leaseKey"].(*ddbtypes.AttributeValueMemberS)
			owner, _ := it["leaseOwner"].(*ddbtypes.AttributeValueMemberS)
			if key == nil {
				t.Fatalf("lease without leaseKey: %v", it)
			}
			owners[key.Value] = ""
			if owner != nil {
				owners[key.Value] = owner.Value
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return owners
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// metaLine is one line of tail --format json-meta.
type metaLine struct {
	ShardID           string `json:"shard_id"`
	SequenceNumber    string `json:"sequence_number"`
	SubSequenceNumber uint64 `json:"sub_sequence_number"`
	PartitionKey      string `json:"partition_key"`
	Data              string `json:"data"` // the writers' data is not JSON, so a string
}

func (m metaLine) id() string {
	return m.ShardID + "/" + m.SequenceNumber + "/" + strconv.FormatUint(m.SubSequenceNumber, 10)
}

// printed is one line some worker printed; outputLog keeps the lines of
// all workers in the order the test read them.
type printed struct {
	worker int
	rec    metaLine
}

type outputLog struct {
	mu    sync.Mutex
	lines []printed
	bad   []string
}

func (l *outputLog) snapshot() []printed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// lineWriter is one worker's stdout: complete lines go to the log.
type lineWriter struct {
	log     *outputLog
	worker  int
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		var m metaLine
		if err := json.Unmarshal(w.partial[:i], &m); err != nil || m.ShardID == "" || m.SequenceNumber == "" {
			w.log.bad = append(w.log.bad, string(w.partial[:i]))
		} else {
			w.log.lines = append(w.log.lines, printed{w.worker, m})
		}
		w.partial = w.partial[i+1:]
	}
}

// tailWorker is one `rivulet tail --app` process.
type tailWorker struct {
	id      string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{}
	waitErr error
	ended   bool
}

// startTail starts `rivulet tail --app app` as worker n, its lines going
// to log.
func startTail(t *testing.T, s *server, log *outputLog, n int, app, stream string, extra ...string) *tailWorker {
	t.Helper()
	w := &tailWorker{id: fmt.Sprintf("worker-%d", n), stderr: &syncBuffer{}, done: make(chan struct{})}
	// No --dynamodb-endpoint: the lease table is on the same endpoint.
	args := []string{"tail", "--endpoint", s.endpoint(),
		"--stream", stream, "--app", app, "--worker-id", w.id, "--format", "json-meta"}
	w.cmd = exec.Command(rivuletBinary(t), append(args, extra...)...)
	w.cmd.Env = clientEnv(t)
	w.cmd.Stdout = &lineWriter{log: log, worker: n}
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start rivulet tail: %v", err)
	}
	go func() {
		w.waitErr = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		if !w.ended {
			w.kill(t)
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", w.id, tail(w.stderr.String()))
		}
	})
	return w
}

// stop sends SIGTERM and requires a clean exit: leases released.
func (w *tailWorker) stop(t *testing.T) {
	t.Helper()
	w.ended = true
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("%s: SIGTERM: %v", w.id, err)
	}
	select {
	case <-w.done:
	case <-time.After(hangTimeout):
		t.Errorf("%s did not exit within %v of SIGTERM", w.id, hangTimeout)
		w.cmd.Process.Kill()
		<-w.done
	}
	if w.waitErr != nil {
		t.Errorf("%s exited uncleanly after SIGTERM: %v\n%s", w.id, w.waitErr, tail(w.stderr.String()))
	}
	w.checkRaces(t)
}

// kill ends the worker with SIGKILL, as a crash would.
func (w *tailWorker) kill(t *testing.T) {
	t.Helper()
	w.ended = true
	w.cmd.Process.Kill()
	<-w.done
	w.checkRaces(t)
}

// wait waits for the worker to exit by itself and requires exit 0.
func (w *tailWorker) wait(t *testing.T) {
	t.Helper()
	w.ended = true
	select {
	case <-w.done:
	case <-time.After(hangTimeout):
		t.Fatalf("%s did not exit", w.id)
	}
	if w.waitErr != nil {
		t.Errorf("%s: %v\n%s", w.id, w.waitErr, tail(w.stderr.String()))
	}
	w.checkRaces(t)
}

func (w *tailWorker) checkRaces(t *testing.T) {
	t.Helper()
	if bytes.Contains([]byte(w.stderr.String()), []byte("WARNING: DATA RACE")) {
		t.Errorf("the race detector fired inside %s", w.id)
	}
}

// waitUntil polls cond every 50 ms until it holds; only a hang reaches
// the deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", hangTimeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// printedAll reports whether every acknowledged record is in lines.
func printedAll(acked []ackedRecord, lines []printed) (missing int) {
	seen := make(map[string]bool, len(lines))
	for _, p := range lines {
		seen[p.rec.ShardID+"/"+p.rec.SequenceNumber] = true
	}
	for _, a := range acked {
		if !seen[a.Shard+"/"+a.Seq] {
			missing++
		}
	}
	return missing
}

// duplicates counts the lines that repeat a record already printed.
func duplicates(lines []printed) int {
	seen := make(map[string]bool, len(lines))
	dups := 0
	for _, p := range lines {
		if seen[p.rec.id()] {
			dups++
		}
		seen[p.rec.id()] = true
	}
	return dups
}

// verifyFirstOccurrences checks each key's order in lines, the workers'
// output merged in the order the test read it. The writers number each
// key's records 1, 2, 3... and put them one after another, so a key's
// records lie in its shards in counter order, children after parents.
// A worker prints a shard in order from its lease's checkpoint; what it
// prints again after taking a lease (from the checkpoint of a worker that
// died or lost the lease) was printed before, so it is skipped here. A
// child shard is printed only after its parents' SHARD_END checkpoint,
// which follows the parents' last lines being written. So the first
// occurrences of each key's counters must increase. The one assumption
// is that the test reads lines in about the order they were written: two
// workers' lines could swap only if written within the few milliseconds
// of a checkpoint and a lease read, with a 1 s parent poll between them.
func verifyFirstOccurrences(t *testing.T, lines []printed) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int{}
	lastID := map[string]string{}
	bad := 0
	for _, p := range lines {
		key, n, ok := parseRecordData(p.rec.Data)
		if !ok || key != p.rec.PartitionKey {
			t.Errorf("%s: data %q does not match partition key %q", p.rec.id(), p.rec.Data, p.rec.PartitionKey)
			continue
		}
		if seen[p.rec.id()] {
			continue
		}
		seen[p.rec.id()] = true
		if prev, ok := last[key]; ok && n <= prev {
			if bad++; bad <= 10 {
				t.Errorf("key %s: counter %d (%s, worker %d) first printed after %d (%s)", key, n, p.rec.id(), p.worker, prev, lastID[key])
			}
		}
		last[key], lastID[key] = n, p.rec.id()
	}
	if bad > 0 {
		t.Errorf("%d records printed out of order for their key", bad)
	}
}

// keyProducer puts records continuously with PutRecords until stopped:
// each call has one record for each of a few keys, and each key's records
// are numbered 1, 2, 3... (recordData). Entries that fail are put again
// before anything newer, so each key's records lie in the stream in
// counter order.
type keyProducer struct {
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
	acked  []ackedRecord
	failed map[string]int // entries put again, by error
}

func startProducer(ctx context.Context, t *testing.T, s *server, stream string, nKeys int) *keyProducer {
	t.Helper()
	// One attempt per call: an SDK retry after a lost response would
	// store records twice, out of counter order.
	c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	p := &keyProducer{stop: make(chan struct{}), done: make(chan struct{}), failed: map[string]int{}}
	go func() {
		defer close(p.done)
		counter := map[string]int{}
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for call := 0; ; call++ {
			select {
			case <-p.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var entries []types.PutRecordsRequestEntry
			for i := range 12 {
				key := fmt.Sprintf("key-%02d", (call*12+i)%nKeys)
				counter[key]++
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: []byte(recordData(key, counter[key]))})
			}
			for len(entries) > 0 {
				out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("PutRecords: %v", err)
					}
					return
				}
				var retry []types.PutRecordsRequestEntry
				for i, r := range out.Records {
					if r.ErrorCode != nil {
						retry = append(retry, entries[i])
						p.failed[aws.ToString(r.ErrorCode)+": "+aws.ToString(r.ErrorMessage)]++
						continue
					}
					p.acked = append(p.acked, ackedRecord{Shard: aws.ToString(r.ShardId), Seq: aws.ToString(r.SequenceNumber),
						PartitionKey: aws.ToString(entries[i].PartitionKey), Data: string(entries[i].Data)})
				}
				entries = retry
				if len(retry) > 0 {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	}()
	t.Cleanup(func() { p.finish() })
	return p
}

// finish stops the producer and returns what it put.
func (p *keyProducer) finish() []ackedRecord {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	return p.acked
}

// TestConsumerResume: a second run of the same application resumes from
// the first run's checkpoints: it prints what was put since, and nothing
// of what the first run printed.
func TestConsumerResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream, app = "Resume", "resume-app"
	s := startServer(t, serverOptions{})
	c := s.kinesis()
	createStream(ctx, t, c, stream, 4)

	first := putBatches(ctx, t, c, stream, "a", 300, 100)
	var log1 outputLog
	// -n ends the first run by itself, after a graceful shutdown.
	w := startTail(t, s, &log1, 1, app, stream, "--from", "trim-horizon", "-n", strconv.Itoa(len(first)), "--failover", "3s")
	w.wait(t)
	lines1 := log1.snapshot()
	if m := printedAll(first, lines1); m > 0 || len(lines1) != len(first) || len(log1.bad) > 0 {
		t.Fatalf("first run: %d lines for %d records, %d missing, bad lines %q", len(lines1), len(first), m, log1.bad)
	}

	second := putBatches(ctx, t, c, stream, "b", 200, 100)
	var log2 outputLog
	w = startTail(t, s, &log2, 2, app, stream, "--from", "trim-horizon", "--failover", "3s")
	waitUntil(t, "the second run to print the new records", func() bool { return printedAll(second, log2.snapshot()) == 0 })
	// Anything old would come before the new records of its shard.
	w.stop(t)
	lines2 := log2.snapshot()
	old := map[string]bool{}
	for _, a := range first {
		old[a.Shard+"/"+a.Seq] = true
	}
	again := 0
	for _, p := range lines2 {
		if old[p.rec.ShardID+"/"+p.rec.SequenceNumber] {
			again++
		}
	}
	// A graceful stop checkpoints everything printed: no duplicates.
	if again > 0 || len(lines2) != len(second) || len(log2.bad) > 0 {
		t.Errorf("second run: %d lines for %d new records; %d of the first run's again; bad lines %q", len(lines2), len(second), again, log2.bad)
	}
	s.stop(t)
}

// TestConsumerWorkerFailure: three workers share 12 shards while records
// are written; one is killed with SIGKILL. The survivors take its leases
// once they expire and print from its checkpoints: every acknowledged
// record is printed, duplicates only from the killed worker's last
// uncheckpointed batches, each key in order.
func TestConsumerWorkerFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream, app, shards = "Failover", "failover-app", 12
	s := startServer(t, serverOptions{})
	createStream(ctx, t, s.kinesis(), stream, shards)
	ddb := s.dynamoDB()

	writers := startProducer(ctx, t, s, stream, 36)
	var log outputLog
	var workers []*tailWorker
	for n := range 3 {
		workers = append(workers, startTail(t, s, &log, n, app, stream, "--from", "trim-horizon", "--failover", "3s"))
	}
	counts := func(owners map[string]string) map[string]int {
		c := map[string]int{}
		for _, o := range owners {
			c[o]++
		}
		return c
	}
	// Run until every worker holds leases and has printed.
	var owners map[string]string
	waitUntil(t, "every worker to hold a lease and print", func() bool {
		owners = leaseOwners(ctx, t, ddb, app)
		c := counts(owners)
		byWorker := map[int]int{}
		for _, p := range log.snapshot() {
			byWorker[p.worker]++
		}
		return len(owners) == shards && c[""] == 0 && len(c) == 3 && len(byWorker) == 3
	})
	time.Sleep(2 * time.Second)

	// Kill the worker with the most leases.
	owners = leaseOwners(ctx, t, ddb, app)
	c := counts(owners)
	victim := 0
	for n, w := range workers {
		if c[w.id] > c[workers[victim].id] {
			victim = n
		}
	}
	lost := c[workers[victim].id]
	workers[victim].kill(t)
	killed := time.Now()
	survivors := map[string]bool{}
	for n, w := range workers {
		if n != victim {
			survivors[w.id] = true
		}
	}
	waitUntil(t, "the survivors to own every lease", func() bool {
		owners = leaseOwners(ctx, t, ddb, app)
		for _, o := range owners {
			if !survivors[o] {
				return false
			}
		}
		return len(owners) == shards
	})
	t.Logf("the killed worker's %d leases (of %d) were all owned by survivors %v after the kill (failover 3s)", lost, shards, time.Since(killed).Round(10*time.Millisecond))

	time.Sleep(time.Second) // writes go on after the takeover
	acked := writers.finish()
	waitUntil(t, "every acknowledged record to be printed", func() bool { return printedAll(acked, log.snapshot()) == 0 })
	for n, w := range workers {
		if n != victim {
			w.stop(t)
		}
	}
	lines := log.snapshot()
	if len(log.bad) > 0 {
		t.Errorf("lines not json-meta: %q", log.bad)
	}
	byVictim := 0
	for _, p := range lines {
		if p.worker == victim {
			byVictim++
		}
	}
	dups := duplicates(lines)
	t.Logf("%d records acknowledged, %d lines printed, %d duplicates; the killed worker printed %d", len(acked), len(lines), dups, byVictim)
	// Each worker checkpoints after every batch it prints, so what is
	// printed twice is what a worker printed after its last checkpoint of
	// a lease it then lost: the killed worker's last batches, and a batch
	// when a lease is stolen to balance the load.
	if dups > byVictim {
		t.Errorf("%d duplicates, more than the %d records the killed worker printed", dups, byVictim)
	}
	verifyFirstOccurrences(t, lines)
	s.stop(t)
}

// TestConsumerResharding: two workers consume while the stream is scaled
// up and down. Every record is printed, and each key's records in order:
// no child shard's record before its parents' records.
func TestConsumerResharding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream, app = "Reshard", "reshard-app"
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis()
	createStream(ctx, t, c, stream, 3)

	writers := startProducer(ctx, t, s, stream, 24)
	var log outputLog
	var workers []*tailWorker
	for n := range 2 {
		workers = append(workers, startTail(t, s, &log, n, app, stream, "--from", "trim-horizon", "--failover", "3s"))
	}
	waitUntil(t, "both workers to print", func() bool {
		byWorker := map[int]int{}
		for _, p := range log.snapshot() {
			byWorker[p.worker]++
		}
		return len(byWorker) == 2
	})
	for _, n := range []int32{6, 4} {
		if _, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
			StreamName: aws.String(stream), TargetShardCount: aws.Int32(n), ScalingType: types.ScalingTypeUniformScaling,
		}); err != nil {
			t.Fatalf("UpdateShardCount to %d: %v", n, err)
		}
		waitActive(ctx, t, c, stream)
		time.Sleep(2 * time.Second)
	}
	acked := writers.finish()
	if len(writers.failed) > 0 {
		t.Logf("entries put again: %v", writers.failed)
	}
	waitUntil(t, "every acknowledged record to be printed", func() bool { return printedAll(acked, log.snapshot()) == 0 })
	for _, w := range workers {
		w.stop(t)
	}
	lines := log.snapshot()
	if len(log.bad) > 0 {
		t.Errorf("lines not json-meta: %q", log.bad)
	}
	shardsPrinted := map[string]bool{}
	for _, p := range lines {
		shardsPrinted[p.rec.ShardID] = true
	}
	all := listShards(ctx, t, c, stream)
	t.Logf("%d records acknowledged, %d lines printed from %d of %d shards, %d duplicates", len(acked), len(lines), len(shardsPrinted), len(all), duplicates(lines))
	verifyFirstOccurrences(t, lines)
	if t.Failed() {
		for _, sh := range all {
			t.Logf("%s: parents %v, hash keys %s-%s", aws.ToString(sh.ShardId), parentsOf(sh), aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey))
		}
	}
	s.stop(t)
}

// TestConsumerBalance: four workers (in-process, with the consumer
// package) share 100 shards evenly.
func TestConsumerBalance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream, app, shards, nWorkers = "Balance", "balance-app", 100, 4
	s := startServer(t, serverOptions{})
	kc := s.kinesis()
	createStream(ctx, t, kc, stream, shards)
	ddb := s.dynamoDB()

	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for n := range nWorkers {
		w, err := consumer.New(consumer.Config{
			AppName: app, Stream: stream, WorkerID: fmt.Sprintf("worker-%d", n),
			Kinesis: kc, DynamoDB: ddb,
			Processor:       consumer.ProcessorFunc(func(context.Context, consumer.ProcessRecordsInput) {}),
			InitialPosition: consumer.InitialPosition{Type: consumer.SentinelTrimHorizon},
			FailoverTime:    2 * time.Second,
			Logger:          slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := w.Run(wctx); err != nil {
				t.Errorf("worker %d: %v", n, err)
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	var last map[string]int
	waitUntil(t, "the leases to spread evenly", func() bool {
		last = map[string]int{}
		for _, o := range leaseOwners(ctx, t, ddb, app) {
			last[o]++
		}
		if len(last) != nWorkers || last[""] > 0 {
			return false
		}
		for _, c := range last {
			if c < shards/nWorkers-1 || c > shards/nWorkers+1 {
				return false
			}
		}
		return true
	})
	t.Logf("%d leases spread over %d workers as %v in %v (failover 2s, takes every 4s)", shards, nWorkers, last, time.Since(start).Round(10*time.Millisecond))
	stop()
	wg.Wait()
	// Graceful shutdowns release every lease.
	for k, o := range leaseOwners(ctx, t, ddb, app) {
		if o != "" {
			t.Errorf("lease %s still owned by %s after the shutdown", k, o)
		}
	}
	s.stop(t)
}
