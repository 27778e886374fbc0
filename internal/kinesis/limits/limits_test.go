package limits

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	sk     = store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "s"}
	caller = kinesis.Caller{Account: "000000000000", Region: "us-east-1"}
)

// count calls f until it refuses, up to max, and returns how many passed.
func count(max int, f func() bool) int {
	n := 0
	for n < max && f() {
		n++
	}
	return n
}

func TestWriteRecordsRateAndBurst(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	// A full bucket holds one second: 1000 records, then refusal.
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 10) }); n != 1000 {
		t.Fatalf("burst = %d records, want 1000", n)
	}
	// Another shard and another stream have their own buckets.
	if !l.Write(sk, 1, 1, 10) {
		t.Error("shard 1 throttled by shard 0's traffic")
	}
	other := sk
	other.Name = "other"
	if !l.Write(other, 0, 1, 10) {
		t.Error("another stream throttled by this one's traffic")
	}
	// 100 ms refills 100 records.
	c.Add(100 * time.Millisecond)
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 10) }); n != 100 {
		t.Fatalf("after 100ms: %d records, want 100", n)
	}
	// Steady state: 10 s at 1000/s in 10 ms steps.
	total := 0
	for range 1000 {
		c.Add(10 * time.Millisecond)
		total += count(5000, func() bool { return l.Write(sk, 0, 1, 10) })
	}
	if total < 9990 || total > 10000 {
		t.Errorf("10 s of writes admitted %d records, want about 10000", total)
	}
	// Idle time never banks more than one second.
	c.Add(time.Hour)
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 10) }); n != 1000 {
		t.Errorf("after an idle hour: burst %d, want 1000", n)
	}
}

func TestWriteBytes(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	// 100 KiB records: 10 fit in 1 MiB (records are far from their limit).
	if n := count(100, func() bool { return l.Write(sk, 0, 1, 100<<10) }); n != 10 {
		t.Fatalf("burst = %d records of 100 KiB, want 10", n)
	}
	c.Add(500 * time.Millisecond)
	if n := count(100, func() bool { return l.Write(sk, 0, 1, 100<<10) }); n != 5 {
		t.Fatalf("after 500ms: %d, want 5", n)
	}
}

// A refused write reserves nothing: neither records nor bytes.
func TestWriteAtomic(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	if !l.Write(sk, 0, 1, 1<<20-100) {
		t.Fatal("first write refused")
	}
	// Over on bytes: must not take a record token.
	for range 50 {
		if l.Write(sk, 0, 1, 1000) {
			t.Fatal("write over the byte limit admitted")
		}
	}
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 0) }); n != 999 {
		t.Errorf("zero-byte records after refusals: %d, want 999 (refusals took records)", n)
	}
	// Over on records: must not take bytes.
	c.Add(time.Second)
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 0) }); n != 1000 {
		t.Fatalf("records = %d", n)
	}
	for range 10 {
		l.Write(sk, 0, 1, 100<<10)
	}
	c.Add(time.Millisecond) // one record token, 1 KiB of bytes
	if !l.Write(sk, 0, 1, 1000) {
		t.Error("bytes were taken by writes refused for records")
	}
}

// A record larger than the whole bucket passes when the bucket is full and
// then costs its time.
func TestWriteOversizedRecord(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	if !l.Write(sk, 0, 1, 5<<20) {
		t.Fatal("5 MiB record refused on a full bucket")
	}
	c.Add(3 * time.Second)
	if l.Write(sk, 0, 1, 1) {
		t.Error("write admitted while the 5 MiB record is still being paid off")
	}
	c.Add(2*time.Second + time.Millisecond)
	if !l.Write(sk, 0, 1, 1) {
		t.Error("write refused after the debt was paid")
	}
	if l.Write(sk, 0, 1, 5<<20) {
		t.Error("5 MiB record admitted on a bucket that is not full")
	}
}

func TestReadCalls(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	if n := count(100, func() bool { return l.Read(sk, 0) }); n != 5 {
		t.Fatalf("burst = %d calls, want 5", n)
	}
	c.Add(200 * time.Millisecond)
	if n := count(100, func() bool { return l.Read(sk, 0) }); n != 1 {
		t.Fatalf("after 200ms: %d calls, want 1", n)
	}
	if !l.Read(sk, 1) {
		t.Error("shard 1 throttled by shard 0's reads")
	}
}

func TestReadBytes(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	// 4 MiB read: 2 MiB of debt, one second of refusals.
	if !l.Read(sk, 0) {
		t.Fatal("first read refused")
	}
	l.ReadDone(sk, 0, 4<<20)
	c.Add(900 * time.Millisecond)
	if l.Read(sk, 0) {
		t.Error("read admitted while 2 MiB/s was exceeded")
	}
	c.Add(101 * time.Millisecond)
	if !l.Read(sk, 0) {
		t.Error("read refused once the bytes were paid off")
	}
	// Small reads are limited by calls, not bytes.
	l.ReadDone(sk, 0, 1000)
	c.Add(time.Second)
	if n := count(100, func() bool { ok := l.Read(sk, 0); l.ReadDone(sk, 0, 1000); return ok }); n != 5 {
		t.Errorf("small reads: %d, want 5", n)
	}
}

func TestBigReadPenalty(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	if !l.Read(sk, 0) {
		t.Fatal("read refused")
	}
	l.ReadDone(sk, 0, BigRead)
	// 8 MiB of byte debt clears in 4 s; the penalty lasts 5 s.
	c.Add(4500 * time.Millisecond)
	if l.Read(sk, 0) {
		t.Error("read admitted 4.5 s after a 10 MiB response")
	}
	c.Add(501 * time.Millisecond)
	if !l.Read(sk, 0) {
		t.Error("read refused 5 s after a 10 MiB response")
	}
	// Just under 10 MiB: only the byte debt (about 4 s) applies.
	c.Add(time.Second)
	l.ReadDone(sk, 0, BigRead-1)
	c.Add(4001 * time.Millisecond)
	if !l.Read(sk, 0) {
		t.Error("penalty applied to a response under 10 MiB")
	}
}

// GetShardIterator: 5 calls per second per shard, apart from GetRecords'
// calls.
func TestShardIteratorCalls(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	if n := count(100, func() bool { return l.ShardIterator(sk, 0) }); n != 5 {
		t.Fatalf("burst = %d calls, want 5", n)
	}
	if !l.ShardIterator(sk, 1) {
		t.Error("shard 1 throttled by shard 0's calls")
	}
	other := sk
	other.Name = "other"
	if !l.ShardIterator(other, 0) {
		t.Error("another stream throttled by this one's calls")
	}
	if !l.Read(sk, 0) {
		t.Error("GetRecords throttled by GetShardIterator calls")
	}
	c.Add(199 * time.Millisecond)
	if l.ShardIterator(sk, 0) {
		t.Error("admitted before a fifth of a second refilled a call")
	}
	c.Add(time.Millisecond)
	if n := count(100, func() bool { return l.ShardIterator(sk, 0) }); n != 1 {
		t.Errorf("after 200ms: %d calls, want 1", n)
	}
	c.Add(time.Hour)
	if n := count(100, func() bool { return l.ShardIterator(sk, 0) }); n != 5 {
		t.Errorf("after an idle hour: burst %d, want 5", n)
	}
}

// SubscribeToShard: 1 call per second per consumer and shard.
func TestSubscribeCalls(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1767225600"
	if !l.Subscribe(arn, 0) {
		t.Fatal("first call refused")
	}
	if l.Subscribe(arn, 0) {
		t.Error("second call within the second admitted")
	}
	if !l.Subscribe(arn, 1) {
		t.Error("another shard throttled")
	}
	if !l.Subscribe(arn+"0", 0) {
		t.Error("another consumer throttled")
	}
	c.Add(999 * time.Millisecond)
	if l.Subscribe(arn, 0) {
		t.Error("admitted after 999ms")
	}
	c.Add(time.Millisecond)
	if !l.Subscribe(arn, 0) {
		t.Error("refused after a second")
	}
	// With 2 processes each admits one call per 2 s.
	l2 := New(Config{Now: c.Now, Peers: func() int { return 2 }})
	if !l2.Subscribe(arn, 0) {
		t.Fatal("2 peers: first call refused")
	}
	c.Add(1999 * time.Millisecond)
	if l2.Subscribe(arn, 0) {
		t.Error("2 peers: admitted after 1999ms")
	}
	c.Add(time.Millisecond)
	if !l2.Subscribe(arn, 0) {
		t.Error("2 peers: refused after 2 s")
	}
	if n := count(100, func() bool { return l2.ShardIterator(sk, 0) }); n != 2 {
		t.Errorf("2 peers: GetShardIterator burst %d, want 2 (5/2 rounded down)", n)
	}
}

func TestControlRates(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	for op, want := range map[string]int{
		"CreateStream": 5, "DeleteStream": 5, "SplitShard": 5, "MergeShards": 5, "UpdateShardCount": 5,
		"ListStreams": 5, "RegisterStreamConsumer": 5,
		"DescribeStream": 10, "DescribeStreamSummary": 20, "DescribeLimits": 1, "ListShards": 1000,
		"CreateChannel": 5, "DescribeChannel": 5, "ListChannels": 5, "UpdateChannel": 5, "DeleteChannel": 5,
	} {
		if n := count(5000, func() bool { return l.Control(caller, op, "s") }); n != want {
			t.Errorf("%s: burst %d, want %d", op, n, want)
		}
	}
	// Unlimited operations.
	for _, op := range []string{"PutRecords", "GetRecords", "GetShardIterator", "UpdateStreamMode"} {
		if n := count(5000, func() bool { return l.Control(caller, op, "s") }); n != 5000 {
			t.Errorf("%s throttled after %d calls", op, n)
		}
	}
	// Per account: another stream does not help, another account does.
	if l.Control(caller, "DescribeStream", "another") {
		t.Error("DescribeStream is per account, but another stream was admitted")
	}
	if !l.Control(kinesis.Caller{Account: "111111111111", Region: "us-east-1"}, "DescribeStream", "s") {
		t.Error("another account throttled")
	}
	if !l.Control(kinesis.Caller{Account: "000000000000", Region: "eu-west-1"}, "DescribeStream", "s") {
		t.Error("another region throttled")
	}
	// ListShards is per stream.
	if !l.Control(caller, "ListShards", "another") {
		t.Error("ListShards on another stream throttled")
	}
	// DescribeLimits refills at 1/s.
	c.Add(999 * time.Millisecond)
	if l.Control(caller, "DescribeLimits", "") {
		t.Error("DescribeLimits admitted twice within a second")
	}
	c.Add(time.Millisecond)
	if !l.Control(caller, "DescribeLimits", "") {
		t.Error("DescribeLimits refused after a second")
	}
}

func TestPeersDivideLimits(t *testing.T) {
	c := newClock()
	var peers atomic.Int64
	peers.Store(4)
	calls := 0
	l := New(Config{Now: c.Now, Peers: func() int { calls++; return int(peers.Load()) }})
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 10) }); n != 250 {
		t.Errorf("4 peers: write burst %d, want 250", n)
	}
	if n := count(5000, func() bool { return l.Control(caller, "DescribeStream", "") }); n != 2 {
		t.Errorf("4 peers: DescribeStream burst %d, want 2 (10/4 rounded down)", n)
	}
	// Rates below one call still admit one call per period, never none.
	if n := count(5000, func() bool { return l.Control(caller, "DescribeLimits", "") }); n != 1 {
		t.Errorf("4 peers: DescribeLimits burst %d, want 1", n)
	}
	c.Add(3 * time.Second)
	if l.Control(caller, "DescribeLimits", "") {
		t.Error("4 peers: DescribeLimits admitted after 3 s (rate is 0.25/s)")
	}
	c.Add(time.Second)
	if !l.Control(caller, "DescribeLimits", "") {
		t.Error("4 peers: DescribeLimits refused after 4 s")
	}
	// Peers is asked at most once a second.
	before := calls
	for range 100 {
		l.Write(sk, 5, 1, 1)
	}
	if calls != before {
		t.Errorf("Peers called %d times within one clock instant", calls-before)
	}
	// A peer leaves: the share grows after the next refresh.
	peers.Store(1)
	c.Add(2 * time.Second)
	if n := count(5000, func() bool { return l.Write(sk, 9, 1, 10) }); n != 1000 {
		t.Errorf("1 peer: burst %d, want 1000", n)
	}
	if l.Peers() != 1 {
		t.Errorf("Peers() = %d", l.Peers())
	}
	// An unknown count (0) keeps the last one.
	peers.Store(0)
	c.Add(2 * time.Second)
	l.Write(sk, 9, 1, 1)
	if l.Peers() != 1 {
		t.Errorf("Peers() = %d after an unknown count, want the last good 1", l.Peers())
	}
}

// Idle buckets are forgotten once they are full again; one in debt or in
// its penalty is kept.
func TestEviction(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	for i := range 1000 {
		l.Write(sk, i, 1, 1)
		l.Control(caller, "ListShards", string(rune('a'+i%26)))
	}
	if l.Size() < 1000 {
		t.Fatalf("Size = %d", l.Size())
	}
	c.Add(sweepEvery - 2*time.Second)
	l.Read(sk, 5000)
	l.ReadDone(sk, 5000, BigRead)
	c.Add(2 * time.Second)
	l.Write(sk, 0, 1, 1) // triggers the sweep
	if got := l.Size(); got != 2 {
		t.Errorf("after the sweep: %d buckets, want 2 (the penalised shard and the one just written)", got)
	}
	c.Add(sweepEvery)
	l.Write(sk, 1, 1, 1)
	if got := l.Size(); got != 1 {
		t.Errorf("after the penalty: %d buckets, want 1", got)
	}
	// GetShardIterator and SubscribeToShard buckets go the same way.
	l.ShardIterator(sk, 7)
	l.Subscribe("arn", 0)
	if got := l.Size(); got != 3 {
		t.Errorf("with an iterator and a subscription bucket: %d buckets, want 3", got)
	}
	c.Add(sweepEvery)
	l.Write(sk, 1, 1, 1)
	if got := l.Size(); got != 1 {
		t.Errorf("after they refilled: %d buckets, want 1", got)
	}
	// Forgetting a bucket changes nothing: a fresh one is full, as the
	// forgotten one was.
	if n := count(5000, func() bool { return l.Write(sk, 0, 1, 1) }); n != 1000 {
		t.Errorf("burst after eviction = %d", n)
	}
}

// Concurrent callers never get more than the bucket holds.
func TestConcurrentWrites(t *testing.T) {
	c := newClock()
	l := New(Config{Now: c.Now})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if l.Write(sk, 0, 1, 1) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1000 {
		t.Errorf("admitted %d of 4000 concurrent writes, want exactly 1000", ok.Load())
	}
}

func TestAdminHandler(t *testing.T) {
	get := func(l *Limiter) Status {
		t.Helper()
		rec := httptest.NewRecorder()
		Handler(l).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/limits", nil))
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		var s Status
		if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := get(nil); s.Mode != "off" || s.PerShard != nil {
		t.Errorf("off: %+v", s)
	}
	l := New(Config{Peers: func() int { return 2 }})
	l.Write(sk, 0, 1, 1)
	s := get(l)
	if s.Mode != "aws" || s.Peers != 2 || s.PerShard.WriteRecordsPerSec != 500 || s.Control["DescribeStream"].PerSec != 5 ||
		s.PerShard.IteratorCallsPerSec != 2.5 || s.PerShard.SubscribeCallsPerSec != 0.5 ||
		s.Control["ListShards"].Scope != PerStream || s.Buckets != 1 {
		t.Errorf("aws: %+v", s)
	}
	rec := httptest.NewRecorder()
	Handler(l).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/limits", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST: %d", rec.Code)
	}
}
