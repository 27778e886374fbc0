package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Shared returns a storetest.Open whose first call per test makes fresh
// storage and whose later calls open more handles on it.
func shared(cfg Config) storetest.Open {
	var mu sync.Mutex
	first := map[*testing.T]*Store{}
	return func(t *testing.T) store.Backend {
		mu.Lock()
		defer mu.Unlock()
		var s *Store
		if f := first[t]; f != nil {
			s = f.Open()
		} else {
			s = New(cfg)
			first[t] = s
			t.Cleanup(func() { mu.Lock(); delete(first, t); mu.Unlock() })
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, shared(Config{}))
}

// A call above the payload limit is cut over consecutive messages.
func TestSmallPayloadSplits(t *testing.T) {
	s := New(Config{MaxPayload: 64 << 10})
	defer s.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "small", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 40<<10)
	ents := []store.Entry{{PartitionKey: "a", Data: big}, {PartitionKey: "b", Data: big}, {PartitionKey: "c", Data: []byte("c")}}
	pos, err := s.Append(ctx, ref, ents)
	if err != nil {
		t.Fatal(err)
	}
	if pos[0].Seq == pos[1].Seq || pos[1].Seq != pos[0].Seq+1 {
		t.Fatalf("a call above the payload limit must be cut over consecutive messages: %+v", pos)
	}
	msgs, err := s.Read(ctx, ref, 1, 10, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("read %d messages, %v", len(msgs), err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{Data: make([]byte, 64<<10)}}); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("entry above the limit: %v, want ErrTooLarge", err)
	}
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// With Config.Now, retention follows the given clock: no waiting.
func TestRetentionFollowsClock(t *testing.T) {
	c := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{Now: c.Now})
	defer s.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "ret", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
		c.Add(30 * time.Minute)
	}
	// Now at +90m: the first message (at 0) is past an hour, the others not.
	tip, err := s.Tip(ctx, ref)
	if err != nil || tip.FirstSeq != 2 || tip.LastSeq != 3 {
		t.Fatalf("tip %+v, %v; want 2..3", tip, err)
	}
	if seq, err := s.SeekTime(ctx, ref, time.Time{}); err != nil || seq != 2 {
		t.Fatalf("SeekTime(zero) = %d, %v; want 2", seq, err)
	}
	c.Add(2 * time.Hour)
	msgs, err := s.Read(ctx, ref, 0, 10, 0)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("read %d expired messages, %v", len(msgs), err)
	}
	pos, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k"}})
	if err != nil || pos[0].Seq != 4 {
		t.Fatalf("append after expiry at %+v, %v; want seq 4", pos, err)
	}
}

// Kinesis re-reads the shard map when an append finds ErrNotFound, so a
// fenced shard must answer exactly that.
func TestClosedShardIsNotFound(t *testing.T) {
	a := New(Config{})
	defer a.Close()
	b := a.Open()
	defer b.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "fence", Shard: 2}
	if err := a.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CloseShard(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, ref, []store.Entry{{PartitionKey: "k"}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("append to a closed shard: %v, want ErrNotFound", err)
	}
}

// Callers that give up while queued leave; everyone else is still
// served, whoever was due to lead the next round.
func TestAppendCancelWhileQueued(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "cancel", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	const callers = 200
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if i%3 == 0 {
				go cancel() // gives up before, while or after being queued
			}
			_, errs[i] = s.Append(cctx, ref, []store.Entry{{PartitionKey: fmt.Sprint(i), Data: []byte("x")}})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case i%3 == 0 && errors.Is(err, context.Canceled):
			// The canceled caller may also have been served first.
		default:
			t.Fatalf("append %d: %v", i, err)
		}
	}
	msgs, err := s.Read(ctx, ref, 0, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		n += len(m.Entries)
	}
	// A canceled caller's entries may still be stored; a successful one's must be.
	if n < ok {
		t.Fatalf("%d entries stored, %d appends succeeded", n, ok)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if len(s.st.queues) != 0 {
		t.Fatalf("%d queues left behind", len(s.st.queues))
	}
}

// Reads hand out copies: changing them does not change the log.
func TestReadReturnsCopies(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "copy", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("orig")}}); err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.Read(ctx, ref, 1, 1, 0)
	copy(msgs[0].Entries[0].Data, "XXXX")
	again, _ := s.Read(ctx, ref, 1, 1, 0)
	if string(again[0].Entries[0].Data) != "orig" {
		t.Fatalf("log changed through a read: %q", again[0].Entries[0].Data)
	}
}

// Closing a handle ends its watches, not the other handle's.
func TestCloseEndsOwnWatches(t *testing.T) {
	a := New(Config{})
	b := a.Open()
	defer b.Close()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "w", Shard: 0}
	if _, _, err := a.Watch(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.WatchValue(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	chB, stopB, err := b.Watch(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	st := a.st
	st.mu.Lock()
	nLog, nVal := len(st.logWatch[ref]), len(st.valWatch)
	st.mu.Unlock()
	if nLog != 1 || nVal != 0 {
		t.Fatalf("after Close: %d shard watches (want b's 1), %d value watch keys (want 0)", nLog, nVal)
	}
	if err := b.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, ref, []store.Entry{{PartitionKey: "k"}}); err != nil {
		t.Fatal(err)
	}
	<-chB // signalled already: the append returned after the signal
	stopB()
	stopB() // idempotent
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.logWatch) != 0 {
		t.Fatalf("stopped watches left behind: %d", len(st.logWatch))
	}
}
