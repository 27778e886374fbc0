package faultstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// Without rules the wrapper passes the contract as memstore does.
func TestContractTransparent(t *testing.T) {
	var mu sync.Mutex
	first := map[*testing.T]*memstore.Store{}
	storetest.Run(t, func(t *testing.T) store.Backend {
		mu.Lock()
		defer mu.Unlock()
		var m *memstore.Store
		if f := first[t]; f != nil {
			m = f.Open()
		} else {
			m = memstore.New(memstore.Config{})
			first[t] = m
			t.Cleanup(func() { mu.Lock(); delete(first, t); mu.Unlock() })
		}
		b := Wrap(m, 1)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

func newBackend(t *testing.T) *Backend {
	t.Helper()
	b := Wrap(memstore.New(memstore.Config{}), 1)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func mustAdd(t *testing.T, b *Backend, r Rule) RuleID {
	t.Helper()
	id, err := b.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func shard(t *testing.T, b *Backend, id string, n int) store.ShardRef {
	t.Helper()
	ref := store.ShardRef{StreamID: id, Shard: n}
	if err := b.Inner().CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	return ref
}

func appendOne(b *Backend, ref store.ShardRef) error {
	_, err := b.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("v")}})
	return err
}

// outcomes runs n appends and renders which failed ("x") or not (".").
func outcomes(b *Backend, ref store.ShardRef, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = '.'
		if err := appendOne(b, ref); err != nil {
			out[i] = 'x'
		}
	}
	return string(out)
}

func TestOpSelectsMethod(t *testing.T) {
	b := newBackend(t)
	ref := shard(t, b, "s", 0)
	mustAdd(t, b, Rule{Op: OpRead})
	if err := appendOne(b, ref); err != nil {
		t.Fatalf("Append under a Read rule: %v", err)
	}
	if _, err := b.Tip(ctx, ref); err != nil {
		t.Fatalf("Tip under a Read rule: %v", err)
	}
	if _, err := b.Read(ctx, ref, 1, 1, 0); !errors.Is(err, ErrInjected) {
		t.Fatalf("Read: %v, want ErrInjected", err)
	}
}

func TestCallIndex(t *testing.T) {
	cases := []struct {
		rule Rule
		want string
	}{
		{Rule{Op: OpAppend, Nth: 2}, ".x...."},
		{Rule{Op: OpAppend, From: 3}, "..xxxx"},
		{Rule{Op: OpAppend}, "xxxxxx"},
	}
	for _, tc := range cases {
		b := newBackend(t)
		ref := shard(t, b, "s", 0)
		// Calls before the rule exists do not count toward its index.
		outcomes(b, ref, 3)
		mustAdd(t, b, tc.rule)
		if got := outcomes(b, ref, 6); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.rule, got, tc.want)
		}
	}
}

// A rule counts only the calls it matches, so another rule or other
// shards' calls do not move its index.
func TestIndexCountsMatchingCalls(t *testing.T) {
	b := newBackend(t)
	r0, r1 := shard(t, b, "s", 0), shard(t, b, "s", 1)
	mustAdd(t, b, Rule{Op: OpAppend, Shard: &r0, Nth: 1})
	mustAdd(t, b, Rule{Op: OpAppend, Shard: &r1, Nth: 2})
	if got := outcomes(b, r1, 1) + outcomes(b, r0, 2) + outcomes(b, r1, 2); got != ".x.x." {
		t.Fatalf("got %s, want .x.x.", got)
	}
}

func TestScopes(t *testing.T) {
	b := newBackend(t)
	a0, a1, other := shard(t, b, "a", 0), shard(t, b, "a", 1), shard(t, b, "b", 0)
	ka := store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "a"}
	kb := ka
	kb.Name = "b"
	for _, k := range []store.StreamKey{ka, kb} {
		if _, err := b.Put(ctx, &store.Stream{Key: k, ID: k.Name}, 0); err != nil {
			t.Fatal(err)
		}
	}

	id := mustAdd(t, b, Rule{Shard: &a1})
	if appendOne(b, a0) != nil || appendOne(b, a1) == nil || appendOne(b, other) != nil {
		t.Fatal("Shard rule must fail exactly that shard")
	}
	if _, _, err := b.Get(ctx, ka); err != nil {
		t.Fatalf("Shard rule failed a metadata call: %v", err)
	}
	b.Remove(id)

	id = mustAdd(t, b, Rule{StreamID: "a"})
	if appendOne(b, a0) == nil || appendOne(b, a1) == nil || appendOne(b, other) != nil {
		t.Fatal("StreamID rule must fail every shard of that stream, only")
	}
	b.Remove(id)

	id = mustAdd(t, b, Rule{Stream: &ka})
	if _, _, err := b.Get(ctx, ka); !errors.Is(err, ErrInjected) {
		t.Fatalf("Get of the stream: %v", err)
	}
	if _, _, err := b.Cached(ctx, kb); err != nil {
		t.Fatalf("Cached of another stream: %v", err)
	}
	if _, err := b.List(ctx, ka.Account, ka.Region); err != nil {
		t.Fatalf("List under a Stream rule: %v", err)
	}
	if appendOne(b, a0) != nil {
		t.Fatal("Stream rule failed a log call")
	}
	b.Remove(id)

	mustAdd(t, b, Rule{Key: "lease.a"})
	if _, err := b.PutValue(ctx, "lease.a", []byte("x"), 0); !errors.Is(err, ErrInjected) {
		t.Fatalf("PutValue of the key: %v", err)
	}
	if _, err := b.PutValue(ctx, "lease.b", []byte("x"), 0); err != nil {
		t.Fatalf("PutValue of another key: %v", err)
	}

	// Match sees the call.
	b.Reset()
	var seen []Call
	mustAdd(t, b, Rule{Op: OpTip, Match: func(c Call) bool { seen = append(seen, c); return c.Shard.Shard == 1 }})
	if _, err := b.Tip(ctx, a0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Tip(ctx, a1); !errors.Is(err, ErrInjected) {
		t.Fatalf("Tip of a matched shard: %v", err)
	}
	if len(seen) != 2 || seen[1] != (Call{Op: OpTip, Shard: a1}) {
		t.Fatalf("Match saw %+v", seen)
	}
}

// The same seed fails the same calls; another seed, others.
func TestProbabilityIsSeeded(t *testing.T) {
	run := func(seed uint64) string {
		b := Wrap(memstore.New(memstore.Config{}), seed)
		defer b.Close()
		ref := store.ShardRef{StreamID: "p", Shard: 0}
		if err := b.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
			t.Fatal(err)
		}
		mustAdd(t, b, Rule{Op: OpAppend, Prob: 0.5})
		return outcomes(b, ref, 64)
	}
	a, again, other := run(7), run(7), run(8)
	if a != again {
		t.Fatalf("seed 7 gave\n%s\n%s", a, again)
	}
	if a == other {
		t.Fatalf("seeds 7 and 8 failed the same calls: %s", a)
	}
	for _, s := range []string{a, other} {
		if !containsBoth(s) {
			t.Fatalf("probability 0.5 over 64 calls gave %s", s)
		}
	}
}

func containsBoth(s string) bool {
	var x, dot bool
	for _, c := range s {
		x = x || c == 'x'
		dot = dot || c == '.'
	}
	return x && dot
}

func TestErrors(t *testing.T) {
	b := newBackend(t)
	ref := shard(t, b, "e", 0)
	id := mustAdd(t, b, Rule{Op: OpAppend, Err: store.ErrNotFound})
	err := appendOne(b, ref)
	if !errors.Is(err, ErrInjected) || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%v: want ErrInjected and store.ErrNotFound", err)
	}
	var ie *InjectedError
	if !errors.As(err, &ie) || ie.Rule != id || ie.Call != (Call{Op: OpAppend, Shard: ref}) {
		t.Fatalf("InjectedError %+v", ie)
	}
	if got := err.Error(); got != fmt.Sprintf("faultstore: injected Append fault (rule %d): store: not found", id) {
		t.Fatalf("message %q", got)
	}
	for _, bad := range []Rule{{Nth: -1}, {From: -2}, {Nth: 1, From: 1}, {Prob: 1.5}, {Prob: -0.1}, {Op: numOps}, {Op: -1}} {
		if _, err := b.Add(bad); err == nil {
			t.Errorf("Add(%+v) accepted", bad)
		}
	}
}

// After lets the call happen and fails it anyway.
func TestAfter(t *testing.T) {
	b := newBackend(t)
	ref := shard(t, b, "after", 0)
	mustAdd(t, b, Rule{Op: OpAppend, After: true, Nth: 1})
	if err := appendOne(b, ref); !errors.Is(err, ErrInjected) {
		t.Fatalf("Append: %v", err)
	}
	if tip, err := b.Tip(ctx, ref); err != nil || tip.LastSeq != 1 {
		t.Fatalf("the failed append was not stored: %+v, %v", tip, err)
	}
	k := store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "after"}
	mustAdd(t, b, Rule{Op: OpPut, After: true})
	if _, err := b.Put(ctx, &store.Stream{Key: k, ID: "x"}, 0); !errors.Is(err, ErrInjected) {
		t.Fatalf("Put: %v", err)
	}
	if st, _, err := b.Get(ctx, k); err != nil || st.ID != "x" {
		t.Fatalf("the failed put was not stored: %+v, %v", st, err)
	}
}

// stopCounter counts stopped watches of the backend it wraps.
type stopCounter struct {
	store.Backend
	stops atomic.Int32
}

func (s *stopCounter) Watch(ctx context.Context, ref store.ShardRef) (<-chan struct{}, func(), error) {
	ch, stop, err := s.Backend.Watch(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return ch, func() { s.stops.Add(1); stop() }, nil
}

// A watch failed after it started does not leak.
func TestAfterStopsWatch(t *testing.T) {
	inner := &stopCounter{Backend: memstore.New(memstore.Config{})}
	b := Wrap(inner, 1)
	defer b.Close()
	mustAdd(t, b, Rule{Op: OpWatch, After: true})
	ch, stop, err := b.Watch(ctx, store.ShardRef{StreamID: "w"})
	if !errors.Is(err, ErrInjected) || ch != nil || stop != nil {
		t.Fatalf("Watch: %v %v %v", ch, stop != nil, err)
	}
	if n := inner.stops.Load(); n != 1 {
		t.Fatalf("%d watches stopped, want 1", n)
	}
}

func TestRulesAtRunTime(t *testing.T) {
	b := newBackend(t)
	ref := shard(t, b, "rt", 0)
	id := mustAdd(t, b, Rule{Op: OpAppend})
	if appendOne(b, ref) == nil {
		t.Fatal("rule did not fire")
	}
	if !b.Remove(id) || b.Remove(id) {
		t.Fatal("Remove must report the rule once")
	}
	if err := appendOne(b, ref); err != nil {
		t.Fatalf("after Remove: %v", err)
	}
	mustAdd(t, b, Rule{Op: OpAppend})
	mustAdd(t, b, Rule{Op: OpRead})
	b.Reset()
	if err := appendOne(b, ref); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	// Rules may change while calls run.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if i%2 == 0 {
					id, _ := b.Add(Rule{Op: OpAppend, Prob: 0.5})
					b.Remove(id)
				} else if err := appendOne(b, ref); err != nil && !errors.Is(err, ErrInjected) {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCounts(t *testing.T) {
	b := newBackend(t)
	ref := shard(t, b, "c", 0)
	id := mustAdd(t, b, Rule{Op: OpAppend, From: 2})
	outcomes(b, ref, 4)
	if _, err := b.Tip(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if b.Calls(OpAppend) != 4 || b.Faults(OpAppend) != 3 || b.Calls(OpTip) != 1 || b.Faults(OpTip) != 0 {
		t.Fatalf("calls %d/%d, faults %d/%d", b.Calls(OpAppend), b.Calls(OpTip), b.Faults(OpAppend), b.Faults(OpTip))
	}
	if b.Calls(OpAny) != 5 || b.Faults(OpAny) != 3 || b.Fired(id) != 3 {
		t.Fatalf("totals: calls %d faults %d fired %d", b.Calls(OpAny), b.Faults(OpAny), b.Fired(id))
	}
	// The first rule that fires answers; later ones still count the call.
	second := mustAdd(t, b, Rule{Op: OpAppend, Nth: 1})
	if err := appendOne(b, ref); err == nil {
		t.Fatal("no fault")
	}
	if b.Fired(id) != 4 || b.Fired(second) != 0 {
		t.Fatalf("fired %d and %d", b.Fired(id), b.Fired(second))
	}
	b.Remove(id)
	if err := appendOne(b, ref); err != nil {
		t.Fatalf("second rule's 2nd call failed: %v", err)
	}
}

// OpAny covers every operation but Close, which must be named.
func TestOpAnyAndClose(t *testing.T) {
	inner := memstore.New(memstore.Config{})
	b := Wrap(inner, 1)
	mustAdd(t, b, Rule{})
	if _, err := b.Secret(ctx); !errors.Is(err, ErrInjected) {
		t.Fatalf("Secret under OpAny: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close under OpAny: %v", err)
	}
	b = Wrap(inner.Open(), 1)
	mustAdd(t, b, Rule{Op: OpClose})
	if err := b.Close(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Close under OpClose: %v", err)
	}
	if _, err := b.Inner().Secret(ctx); err != nil {
		t.Fatalf("a Close failed before it ran closed the backend: %v", err)
	}
	b.Inner().Close()
	if OpAppend.String() != "Append" || OpClose.String() != "Close" || Op(99).String() != "Op(99)" {
		t.Fatal("Op names")
	}
}
