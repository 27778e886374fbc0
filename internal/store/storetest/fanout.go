package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// Contract for what enhanced fan-out needs: append notifications and
// small CAS values, both shared by every handle on one storage.

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangTimeout):
		t.Fatalf("no signal for %s within %v", what, hangTimeout)
	}
}

// drain empties a coalescing channel.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func testWatch(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	ref := newShard(t, a, time.Hour)
	other := newShard(t, a, time.Hour)
	ch, stop, err := a.Watch(ctx, ref)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	defer stop()
	drain(ch)
	// An append through another handle wakes the watcher, and the data is
	// readable by then.
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "append by another handle")
	if ents, _ := readAll(t, a, ref); len(ents) != 1 {
		t.Fatalf("signalled before the data was readable: %d entries", len(ents))
	}
	// Appends to another shard do not.
	drain(ch)
	if _, err := a.Append(ctx, other, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("signalled for another shard's append")
	case <-time.After(200 * time.Millisecond):
	}
	// Many appends coalesce; the watcher never blocks the writer.
	for i := 0; i < 50; i++ {
		if _, err := a.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
			t.Fatal(err)
		}
	}
	waitSignal(t, ch, "burst")
	// A stopped watch gets nothing more.
	stop()
	drain(ch)
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("signal after stop")
	case <-time.After(200 * time.Millisecond):
	}
}

func testWatchMissingShard(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := store.ShardRef{StreamID: "nosuchstream", Shard: 3}
	ch, stop, err := b.Watch(ctx, ref)
	if err != nil {
		t.Fatalf("Watch of a missing log: %v", err)
	}
	defer stop()
	// Creating the log later and appending still reaches the watcher.
	if err := b.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	defer b.DeleteShard(ctx, ref)
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "append to a log created after the watch")
}

func testValues(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	key := "test.values." + time.Now().Format("150405.000000000")[7:]
	if _, _, err := a.GetValue(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing value: %v, want ErrNotFound", err)
	}
	r1, err := a.PutValue(ctx, key, []byte("one"), 0)
	if err != nil || r1 == 0 {
		t.Fatalf("create: %d %v", r1, err)
	}
	if _, err := b.PutValue(ctx, key, []byte("again"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	v, rev, err := b.GetValue(ctx, key)
	if err != nil || string(v) != "one" || rev != r1 {
		t.Fatalf("Get through another handle: %q %d %v", v, rev, err)
	}
	r2, err := b.PutValue(ctx, key, []byte("two"), r1)
	if err != nil || r2 == r1 {
		t.Fatalf("update: %d %v", r2, err)
	}
	if _, err := a.PutValue(ctx, key, []byte("stale"), r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if err := a.DeleteValue(ctx, key, r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	if err := a.DeleteValue(ctx, key, r2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := b.GetValue(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	if err := a.DeleteValue(ctx, key, r2); err != nil {
		t.Fatalf("delete of a deleted value: %v", err)
	}
	if err := a.DeleteValue(ctx, key, 0); err != nil {
		t.Fatalf("unconditional delete of a deleted value: %v", err)
	}
	// The key can be created again.
	if _, err := b.PutValue(ctx, key, []byte("three"), 0); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
	if err := b.DeleteValue(ctx, key, 0); err != nil {
		t.Fatalf("unconditional delete: %v", err)
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a b", "a/b", "a*", "a>"} {
		if _, err := a.PutValue(ctx, bad, []byte("x"), 0); err == nil {
			t.Errorf("PutValue accepted key %q", bad)
		}
	}
}

func testWatchValue(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	key := "test.watch." + time.Now().Format("150405.000000000")[7:]
	ch, stop, err := a.WatchValue(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	drain(ch)
	rev, err := b.PutValue(ctx, key, []byte("x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "create by another handle")
	drain(ch)
	// A signal follows the change: reading right after it sees the new value.
	for i := 0; i < 20; i++ {
		drain(ch)
		done := make(chan error, 1)
		go func() {
			var err error
			rev, err = b.PutValue(ctx, key, []byte{byte(i)}, rev)
			done <- err
		}()
		waitSignal(t, ch, "update")
		v, _, err := a.GetValue(ctx, key)
		if perr := <-done; perr != nil {
			t.Fatal(perr)
		}
		if err != nil || len(v) != 1 || v[0] != byte(i) {
			t.Fatalf("after the signal for update %d, read %v %v", i, v, err)
		}
	}
	if err := b.DeleteValue(ctx, key, rev); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "delete by another handle")
	drain(ch)
	// Other keys are not reported.
	if _, err := b.PutValue(ctx, key+"x", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	defer b.DeleteValue(ctx, key+"x", 0)
	select {
	case <-ch:
		t.Fatal("signalled for another key")
	case <-time.After(200 * time.Millisecond):
	}
}

func testFanoutClosed(t *testing.T, open Open) {
	keep := open(t)
	b := open(t)
	ref := newShard(t, keep, time.Hour)
	ctx := ctxFor(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Watch(ctx, ref); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
	if _, _, err := b.GetValue(ctx, "k"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("GetValue after Close: %v", err)
	}
	if _, err := b.PutValue(ctx, "k", nil, 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("PutValue after Close: %v", err)
	}
	if _, _, err := b.WatchValue(ctx, "k"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("WatchValue after Close: %v", err)
	}
}
