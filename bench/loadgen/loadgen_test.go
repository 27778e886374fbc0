package loadgen

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server runs Rivulet in-process, in memory.
func server(t *testing.T) *kinesis.Client { return testserver.Client(t, rivulet.Config{}) }

func baseConfig(stream string) Config {
	return Config{Stream: stream, Shards: 2, Mode: ModeWriteRead, Workers: 3, RecordSize: 64, BatchSize: 25,
		Records: 600, GetRate: -1, ReadGrace: 200 * time.Millisecond}
}

func TestRunWriteRead(t *testing.T) {
	kc := server(t)
	var mu sync.Mutex
	var progress []Progress
	cfg := baseConfig("wr")
	cfg.PartitionKeys = 4
	cfg.ProgressEvery = 5 * time.Millisecond
	cfg.OnProgress = func(p Progress) {
		mu.Lock()
		progress = append(progress, p)
		mu.Unlock()
	}
	rep, err := Run(context.Background(), kc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Shards != 2 || rep.Write.Records != 600 || rep.Write.Bytes != 600*64 || rep.Write.Calls != 24 ||
		rep.Read.Records != 600 || rep.Read.Bytes != 600*64 || rep.Check.Read != 600 || !rep.Check.OK || len(rep.Errors) != 0 {
		t.Fatalf("report %+v, write %+v, read %+v, check %+v", rep, rep.Write, rep.Read, rep.Check)
	}
	// Progress ends each phase with a Done snapshot, and nothing of that
	// phase follows it.
	mu.Lock()
	defer mu.Unlock()
	var dones []string
	for i, p := range progress {
		if p.Done {
			dones = append(dones, p.Phase)
			if p.Fraction != 1 || p.Records != 600 {
				t.Fatalf("final progress %+v", p)
			}
			if i+1 < len(progress) && progress[i+1].Phase == p.Phase {
				t.Fatalf("progress after done: %+v", progress[i+1])
			}
		}
	}
	if strings.Join(dones, ",") != "write,read" {
		t.Fatalf("done phases %v", dones)
	}

	// A second run on the same stream finds the first run's records and
	// counts them as foreign, not as its own.
	cfg.OnProgress = nil
	cfg.Records = 100
	rep, err = Run(context.Background(), kc, cfg)
	if err != nil || !rep.OK || rep.Check.Expected != 100 || rep.Check.Read != 100 || rep.Check.Foreign != 600 || rep.Read.Records != 700 {
		t.Fatalf("second run: %v %+v", err, rep.Check)
	}
}

func TestRunDuration(t *testing.T) {
	kc := server(t)
	cfg := baseConfig("dur")
	cfg.Records, cfg.Duration, cfg.BatchSize, cfg.Mode = 0, 300*time.Millisecond, 1, ModeWrite
	// Nothing but the Duration ends this run: one that ignored it would
	// end by this context, only a hang bound, and report itself
	// interrupted.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, kc, cfg)
	if err != nil || !rep.OK || rep.Interrupted {
		t.Fatal(err, rep)
	}
	// The run's own clock: the write phase lasts at least the Duration.
	if rep.Write.Seconds < cfg.Duration.Seconds() {
		t.Fatalf("write phase of %vs, Duration %v", rep.Write.Seconds, cfg.Duration)
	}
	if rep.Write.Operation != "PutRecord" || rep.Write.Records == 0 || rep.Write.Calls != rep.Write.Records || rep.Read != nil || rep.Check != nil {
		t.Fatalf("report %+v %+v", rep, rep.Write)
	}
}

// faultyAPI wraps a real client and breaks what it is told to.
type faultyAPI struct {
	API
	throttleEvery  int64 // PutRecords: every Nth entry is throttled on its first attempt
	entries        atomic.Int64
	throttleCalls  int64 // PutRecord: every Nth call fails whole with a throttle
	calls          atomic.Int64
	dropAndRepeat  atomic.Bool // GetRecords: drop one record and repeat another, once
	alwaysFailPuts bool
}

func (f *faultyAPI) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if f.alwaysFailPuts {
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "gone"}
	}
	var keep []types.PutRecordsRequestEntry
	var throttled []int
	for i, e := range in.Records {
		if f.throttleEvery > 0 && f.entries.Add(1)%f.throttleEvery == 0 {
			throttled = append(throttled, i)
			continue
		}
		keep = append(keep, e)
	}
	out := &kinesis.PutRecordsOutput{}
	if len(keep) > 0 {
		real, err := f.API.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: in.StreamName, Records: keep}, o...)
		if err != nil {
			return nil, err
		}
		out.Records = real.Records
	}
	for _, i := range throttled {
		out.Records = slices.Insert(out.Records, i, types.PutRecordsResultEntry{
			ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("Rate exceeded")})
	}
	out.FailedRecordCount = aws.Int32(int32(len(throttled)))
	return out, nil
}

func (f *faultyAPI) PutRecord(ctx context.Context, in *kinesis.PutRecordInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	if f.throttleCalls > 0 && f.calls.Add(1)%f.throttleCalls == 0 {
		return nil, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "Rate exceeded"}
	}
	return f.API.PutRecord(ctx, in, o...)
}

func (f *faultyAPI) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	out, err := f.API.GetRecords(ctx, in, o...)
	if err == nil && len(out.Records) >= 2 && f.dropAndRepeat.CompareAndSwap(true, false) {
		out.Records[0] = out.Records[1]
	}
	return out, err
}

func TestRunRetriesThrottling(t *testing.T) {
	kc := server(t)
	f := &faultyAPI{API: kc, throttleEvery: 7}
	rep, err := Run(context.Background(), f, baseConfig("thr"))
	if err != nil {
		t.Fatal(err)
	}
	n := rep.Errors["ProvisionedThroughputExceededException"]
	if !rep.OK || rep.Write.FailedRecords != 0 || rep.Check.Read != 600 || n < 600/7 || rep.Throttled != n || rep.Retries == 0 {
		t.Fatalf("report %+v, write %+v, check %+v", rep, rep.Write, rep.Check)
	}

	f = &faultyAPI{API: kc, throttleCalls: 5}
	cfg := baseConfig("thr1")
	cfg.BatchSize, cfg.Records = 1, 100
	rep, err = Run(context.Background(), f, cfg)
	if err != nil || !rep.OK || rep.Write.Records != 100 || rep.Write.Calls <= 100 || rep.Errors["ProvisionedThroughputExceededException"] == 0 {
		t.Fatalf("PutRecord throttling: %v %+v %+v", err, rep, rep.Write)
	}
}

func TestRunDetectsLossAndDuplicates(t *testing.T) {
	kc := server(t)
	f := &faultyAPI{API: kc}
	f.dropAndRepeat.Store(true)
	rep, err := Run(context.Background(), f, baseConfig("loss"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Check.OK || rep.Check.Missing != 1 || rep.Check.Duplicates != 1 || rep.Check.Read != 599 {
		t.Fatalf("check %+v", rep.Check)
	}
	var b strings.Builder
	rep.WriteTable(&b)
	if !strings.Contains(b.String(), "exactly-once check FAILED: 600 acknowledged, 599 read, 1 missing, 1 duplicates") {
		t.Fatalf("table:\n%s", b.String())
	}
}

func TestRunFailedWrites(t *testing.T) {
	kc := server(t)
	rep, err := Run(context.Background(), &faultyAPI{API: kc, alwaysFailPuts: true}, baseConfig("fail"))
	if err != nil {
		t.Fatal(err)
	}
	// Refused records are not retried, not expected back, and fail the run.
	if rep.OK || rep.Write.FailedRecords != 600 || rep.Write.Calls != 24 || rep.Errors["ResourceNotFoundException"] != 24 || rep.Check.Expected != 0 || rep.Retries != 0 {
		t.Fatalf("report %+v write %+v check %+v", rep, rep.Write, rep.Check)
	}
}

func TestRunInterrupted(t *testing.T) {
	kc := server(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := baseConfig("int")
	cfg.Records, cfg.Duration = 0, time.Hour
	// Cancelled once records are being written, whatever the time.
	cfg.ProgressEvery = 5 * time.Millisecond
	cfg.OnProgress = func(p Progress) {
		if p.Phase == "write" && p.Records > 0 {
			cancel()
		}
	}
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(ctx, kc, cfg)
		done <- result{rep, err}
	}()
	// The run is an hour long: the minute only turns a hang into a failure.
	select {
	case r := <-done:
		if r.err != nil || r.rep.OK || !r.rep.Interrupted || r.rep.Read != nil || r.rep.Write.Records == 0 {
			t.Fatalf("%v %+v", r.err, r.rep)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run still going a minute after its context was cancelled")
	}
}

func TestValidate(t *testing.T) {
	ok := baseConfig("s")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Config){
		"no stream":       func(c *Config) { c.Stream = "" },
		"mode":            func(c *Config) { c.Mode = "both" },
		"shards":          func(c *Config) { c.Shards = 0 },
		"workers":         func(c *Config) { c.Workers = 0 },
		"record size":     func(c *Config) { c.RecordSize = 0 },
		"huge record":     func(c *Config) { c.RecordSize = MaxRecordSize },
		"id does not fit": func(c *Config) { c.RecordSize = 15 },
		"batch":           func(c *Config) { c.BatchSize = 501 },
		"batch bytes":     func(c *Config) { c.BatchSize, c.RecordSize = 500, 100_000 },
		"no bound":        func(c *Config) { c.Records, c.Duration = 0, 0 },
		"negative keys":   func(c *Config) { c.PartitionKeys = -1 },
	} {
		c := ok
		change(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	small := ok
	small.Mode, small.RecordSize = ModeWrite, 1
	if err := small.Validate(); err != nil {
		t.Fatalf("1-byte records in write mode: %v", err)
	}
}

func TestHistogram(t *testing.T) {
	var h, a, b Histogram
	if h.Quantile(.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram")
	}
	var vals []time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		v := time.Duration(r.ExpFloat64()*5e6) + time.Microsecond // ~5 ms mean
		vals = append(vals, v)
		h.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	slices.Sort(vals)
	for _, q := range []float64{0, .5, .9, .99, .999, 1} {
		exact := vals[max(0, int(q*float64(len(vals)))-1)].Truncate(time.Microsecond)
		got := h.Quantile(q)
		if diff := float64(got-exact) / float64(exact); diff > 0.02 || diff < -0.02 {
			t.Errorf("q%v = %v, exact %v", q, got, exact)
		}
		if a.Quantile(q) != got {
			t.Errorf("merged q%v = %v, want %v", q, a.Quantile(q), got)
		}
	}
	if h.Max() != vals[len(vals)-1].Truncate(time.Microsecond) || h.Count() != 20000 || a.Count() != 20000 {
		t.Fatalf("max %v count %d", h.Max(), h.Count())
	}
	for v := uint64(0); v < 1<<20; v += 1 + v/100 {
		if i := bucket(v); lowest(i) > v || lowest(i+1) <= v {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, i, lowest(i), lowest(i+1))
		}
	}
}

func TestLedger(t *testing.T) {
	const nonce = 42
	l := newLedger(2)
	id := func(w int, seq uint64) []byte {
		b := make([]byte, 20)
		putID(b, nonce, w, seq)
		return b
	}
	l.grow(0, 3)
	l.grow(1, 1)
	l.ack(0, 0, "shardId-000000000000", "100")
	l.ack(0, 1, "shardId-000000000000", "99")
	l.ack(0, 2, "shardId-000000000001", "5")
	l.ack(1, 0, "shardId-000000000001", "7")
	// 0/3 and 1/1 were never acknowledged.
	l.read(id(0, 0), nonce)
	l.read(id(0, 1), nonce)
	l.read(id(0, 1), nonce) // duplicate
	l.read(id(0, 3), nonce) // unacknowledged, read anyway
	l.read(id(1, 0), nonce)
	l.read(id(7, 0), nonce)     // no such worker
	l.read(id(0, 0), nonce+1)   // another run
	l.read([]byte("short"), 42) // not ours
	c := l.check()
	want := Check{Expected: 4, Read: 3, Missing: 1, Duplicates: 1, Unacknowledged: 2, Foreign: 2}
	if *c != want {
		t.Fatalf("check %+v, want %+v", *c, want)
	}
	if s, _ := l.highestAcked("shardId-000000000000"); s != "100" {
		t.Fatalf("highest acked %s", s)
	}
	if w, seq, ok := parseID(id(5, 1<<39), nonce); !ok || w != 5 || seq != 1<<39 {
		t.Fatal("id round trip")
	}
	if !seqLess("99", "100") || seqLess("100", "99") || !seqLess("123", "124") {
		t.Fatal("seqLess")
	}
}
