package natsstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

func mustOpen(t *testing.T, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// shared builds a storetest.Open whose first call per test starts a
// server with first(t), and whose later calls connect more Stores to it
// with more(owner).
func shared(first func(*testing.T) Config, more func(owner *Store) Config) storetest.Open {
	var mu sync.Mutex
	owners := map[*testing.T]*Store{}
	return func(t *testing.T) store.Backend {
		mu.Lock()
		owner := owners[t]
		mu.Unlock()
		if owner != nil {
			return mustOpen(t, more(owner))
		}
		s := mustOpen(t, first(t))
		mu.Lock()
		owners[t] = s
		mu.Unlock()
		t.Cleanup(func() { mu.Lock(); delete(owners, t); mu.Unlock() })
		return s
	}
}

func TestContractEmbeddedFile(t *testing.T) {
	storetest.Run(t, shared(
		func(t *testing.T) Config { return Config{DataDir: t.TempDir()} },
		func(o *Store) Config { return Config{Server: o.Server()} },
	))
}

func TestContractEmbeddedMemory(t *testing.T) {
	storetest.Run(t, shared(
		func(t *testing.T) Config { return Config{InMemory: true} },
		func(o *Store) Config { return Config{Server: o.Server(), InMemory: true} },
	))
}

// Two Stores talking to one NATS server over TCP, as two processes would.
func TestContractTwoProcesses(t *testing.T) {
	storetest.Run(t, shared(
		func(t *testing.T) Config { return Config{InMemory: true, ListenAddr: "127.0.0.1:0"} },
		func(o *Store) Config { return Config{URL: o.ClientURL(), InMemory: true} },
	))
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := time.Now()
	s1, err := Open(ctx, Config{DataDir: dir, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded Open took %v", time.Since(start)) // for the record, not a bound
	if jc := s1.Server().JetStreamConfig(); jc == nil || !jc.SyncAlways || jc.StoreDir != filepath.Join(dir, "jetstream") {
		t.Fatalf("server JetStream config %+v: want sync_always under DataDir/jetstream", jc)
	}
	key := store.StreamKey{Account: "123456789012", Region: "us-east-1", Name: "keep"}
	rev, err := s1.Put(ctx, &store.Stream{Key: key, ID: "keep1", Status: "ACTIVE"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s1.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := store.ShardRef{StreamID: "keep1", Shard: 0}
	if err := s1.CreateShard(ctx, ref, 24*time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	pos, err := s1.Append(ctx, ref, []store.Entry{{PartitionKey: "a", Data: []byte("durable")}, {PartitionKey: "b", Data: []byte("too")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("no store dir under DataDir: %v", err)
	}

	s2 := mustOpen(t, Config{DataDir: dir})
	got, grev, err := s2.Get(ctx, key)
	if err != nil || grev != rev || got.ID != "keep1" {
		t.Fatalf("meta after reopen: %+v %d %v", got, grev, err)
	}
	if again, err := s2.Secret(ctx); err != nil || !bytes.Equal(again, secret) {
		t.Fatalf("secret changed across restart: %v", err)
	}
	msgs, err := s2.Read(ctx, ref, 1, 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Seq != pos[1].Seq || string(msgs[0].Entries[1].Data) != "too" {
		t.Fatalf("log after reopen: %+v %v", msgs, err)
	}
	next, err := s2.Append(ctx, ref, []store.Entry{{PartitionKey: "c", Data: []byte("more")}})
	// A restart opens a new segment above the reservation, so the next
	// sequence is above anything the first run could have acknowledged.
	if err != nil || next[0].Seq <= pos[0].Seq+reserveAhead {
		t.Fatalf("append after reopen at %+v, %v", next, err)
	}
	// The sequences in between were never used: reading there goes on at
	// the next message, as from a trimmed position.
	msgs, err = s2.Read(ctx, ref, pos[0].Seq+1, 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Seq != next[0].Seq || string(msgs[0].Entries[0].Data) != "more" {
		t.Fatalf("read across the segment gap: %+v %v", msgs, err)
	}
}

func TestInMemoryLeavesNoFiles(t *testing.T) {
	s, err := Open(context.Background(), Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	tmp := s.tmpDir
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("temp dir missing while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp dir %s left behind: %v", tmp, err)
	}
}

func TestOpenNeedsDataDir(t *testing.T) {
	if s, err := Open(context.Background(), Config{}); err == nil {
		s.Close()
		t.Fatal("Open without DataDir succeeded")
	}
}

func TestInvalidNames(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	ctx := context.Background()
	for _, k := range []store.StreamKey{
		{Account: "1.2", Region: "us-east-1", Name: "x"},
		{Account: "1", Region: "us east", Name: "x"},
		{Account: "1", Region: "r", Name: ""},
	} {
		if _, _, err := s.Get(ctx, k); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%+v) = %v, want a validation error", k, err)
		}
	}
	for _, ref := range []store.ShardRef{{StreamID: "a.b"}, {StreamID: "a*"}, {StreamID: ""}, {StreamID: "ok", Shard: -1}} {
		if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err == nil {
			t.Fatalf("CreateShard(%+v) succeeded", ref)
		}
	}
}

func TestFlusherExitsWhenIdle(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "idle", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(flusherIdle + hangTimeout) // only a hang reaches it
	for {
		s.mu.Lock()
		n := len(s.queues)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shard flushers still running after idling", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A new append starts a new flusher.
	if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k"}}); err != nil {
		t.Fatal(err)
	}
}

func req(sizes ...int) *appendReq {
	r := &appendReq{}
	for _, sz := range sizes {
		// An entry with an empty key and sz-2 data bytes (sz < 130) has
		// EntrySize sz.
		e := store.Entry{Data: make([]byte, sz-2)}
		r.entries = append(r.entries, e)
		r.sizes = append(r.sizes, batch.EntrySize(e))
		r.total += batch.EntrySize(e)
	}
	return r
}

func TestPack(t *testing.T) {
	s := &Store{maxPayload: 100, target: 50}
	a, b, c := req(10), req(10), req(10) // combine
	big := req(30, 30)                   // 63 bytes: above target, fits payload: alone
	d := req(5)                          // starts a new message
	split := req(40, 40, 40, 10, 10, 10) // 150 bytes: cut between entries
	tail := req(10)                      // may share the split call's last message
	msgs := s.pack([]*appendReq{a, b, c, big, d, split, tail})

	type run struct {
		r        *appendReq
		first, n int
	}
	want := [][]run{
		{{a, 0, 1}, {b, 0, 1}, {c, 0, 1}},
		{{big, 0, 2}},
		{{d, 0, 1}},
		{{split, 0, 1}},
		{{split, 1, 1}},
		{{split, 2, 1}},
		{{split, 3, 3}},
		{{tail, 0, 1}},
	}
	if len(msgs) != len(want) {
		for i, m := range msgs {
			t.Logf("msg %d: %d entries, %d bytes", i, m.count, m.size())
		}
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.size() > s.maxPayload {
			t.Fatalf("message %d is %d bytes, above the payload limit", i, m.size())
		}
		if len(m.parts) != len(want[i]) {
			t.Fatalf("message %d has %d parts, want %d", i, len(m.parts), len(want[i]))
		}
		for j, p := range m.parts {
			w := want[i][j]
			if p.req != w.r || p.first != w.first || p.n != w.n {
				t.Fatalf("message %d part %d = {%d %d}, want {%d %d}", i, j, p.first, p.n, w.first, w.n)
			}
		}
	}
}

// One store's appends survive a crash-free restart even when callers
// cancel: a canceled wait does not lose or duplicate queued neighbours.
func TestCancelDoesNotDisturbOthers(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "cancel", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 40)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i%2 == 0 {
				var cancel context.CancelFunc
				c, cancel = context.WithCancel(ctx)
				cancel()
			}
			_, results[i] = s.Append(c, ref, []store.Entry{{PartitionKey: "k", Data: []byte{byte(i)}}})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range results {
		if i%2 == 1 && err != nil {
			t.Fatalf("live append %d: %v", i, err)
		}
		if err == nil {
			ok++
		}
	}
	msgs, err := s.Read(ctx, ref, 1, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		n += len(m.Entries)
	}
	if n != ok {
		t.Fatalf("stored %d entries, %d appends succeeded", n, ok)
	}
}

// TestKillAfterAck checks what docs/format/batch.md claims: without
// sync_always, an acknowledged append has reached the OS before the ack,
// so it survives kill -9 of the process (not a power cut). The child is
// this test binary, re-run in the helper mode below.
func TestKillAfterAck(t *testing.T) {
	if os.Getenv("NATSSTORE_KILL_CHILD") != "" {
		t.Skip("running as child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NATSSTORE_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []store.Position
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var p store.Position
		if n, _ := fmt.Sscanf(sc.Text(), "ACK %d %d", &p.Seq, &p.Sub); n == 2 {
			acked = append(acked, p)
		}
		if sc.Text() == "READY" {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) != killAppends {
		t.Fatalf("child acknowledged %d appends, want %d", len(acked), killAppends)
	}

	s := mustOpen(t, Config{DataDir: dir})
	ref := store.ShardRef{StreamID: "kill", Shard: 0}
	msgs, err := s.Read(context.Background(), ref, 1, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[store.Position]string{}
	for _, m := range msgs {
		for i, e := range m.Entries {
			stored[store.Position{Seq: m.Seq, Sub: i}] = string(e.Data)
		}
	}
	for i, p := range acked {
		if stored[p] != fmt.Sprint("rec-", i) {
			t.Fatalf("acknowledged append %d at %+v lost after kill -9 (have %q)", i, p, stored[p])
		}
	}
}

const killAppends = 50

// TestKillChild is the child half of TestKillAfterAck.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("NATSSTORE_KILL_CHILD")
	if dir == "" {
		t.Skip("helper for TestKillAfterAck")
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.ShardRef{StreamID: "kill", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	for i := range killAppends {
		pos, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte(fmt.Sprint("rec-", i))}})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("ACK %d %d\n", pos[0].Seq, pos[0].Sub)
	}
	fmt.Println("READY")
	select {} // wait for SIGKILL
}

// Server chatter goes to slog at debug level: nothing at info on a normal
// start and stop, but present at debug.
func TestServerLogsQuiet(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		var mu sync.Mutex
		h := slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: level})
		s, err := Open(context.Background(), Config{InMemory: true, Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		hasServer := strings.Contains(out, "component=nats-server")
		if level == slog.LevelInfo && out != "" {
			t.Fatalf("logs at info level:\n%s", out)
		}
		if level == slog.LevelDebug && !hasServer {
			t.Fatalf("no nats-server logs at debug level:\n%s", out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BenchmarkAppendParallel measures group commit: many callers, one shard,
// 100-byte records, file storage.
func BenchmarkAppendParallel(b *testing.B) {
	s, err := Open(context.Background(), Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "bench", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte{'x'}, 100)
	b.SetParallelism(16)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: data}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	tip, _ := s.Tip(ctx, ref)
	b.ReportMetric(float64(b.N)/float64(tip.LastSeq), "records/msg")
}

// The watch, not the cache's time limit, brings another process's change
// to Cached.
func TestCachedFollowsWatch(t *testing.T) {
	a := mustOpen(t, Config{DataDir: t.TempDir(), ListenAddr: "127.0.0.1:0"})
	b := mustOpen(t, Config{URL: a.ClientURL()})
	ctx := context.Background()
	k := store.StreamKey{Account: "123456789012", Region: "us-east-1", Name: "watched"}
	rev, err := b.Put(ctx, &store.Stream{Key: k, ID: "one", Status: "ACTIVE"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := metaKey(k)
	if err != nil {
		t.Fatal(err)
	}
	// pin makes a's cached entry outlive the test, so that only the watch
	// can replace it: the cache's time limit never runs out.
	pin := func() {
		t.Helper()
		a.cache.mu.Lock()
		defer a.cache.mu.Unlock()
		e, ok := a.cache.entries[mk]
		if !ok {
			t.Fatal("Cached keeps no entry: is the watch running?")
		}
		e.fetched = time.Now().Add(time.Hour)
		a.cache.entries[mk] = e
	}
	if _, _, err := a.Cached(ctx, k); err != nil {
		t.Fatal(err)
	}
	pin()
	for i := range 20 {
		status := fmt.Sprint("S", i)
		if rev, err = b.Put(ctx, &store.Stream{Key: k, ID: "one", Status: status}, rev); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(hangTimeout) // only a hang reaches it
		for {
			st, _, err := a.Cached(ctx, k)
			if err == nil && st.Status == status {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("update %d never seen: %+v %v", i, st, err)
			}
			time.Sleep(200 * time.Microsecond)
		}
		pin()
	}
}
