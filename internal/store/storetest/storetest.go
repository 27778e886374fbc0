// Package storetest is the contract every store.Backend must meet, as a
// test suite a backend's own tests run against it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// Open returns a Backend on the storage that belongs to t. The first call
// for a t creates fresh, empty storage; every later call with the same t
// returns another handle (like another process) on that same storage,
// usable while the earlier ones are open. Open must close what it returns
// in t.Cleanup; the suite may close a handle earlier, so Close must be
// idempotent.
type Open func(t *testing.T) store.Backend

// Run runs the contract suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"Meta/CreateGet", testCreateGet},
		{"Meta/CreateExists", testCreateExists},
		{"Meta/UpdateConflict", testUpdateConflict},
		{"Meta/Delete", testDelete},
		{"Meta/ListSorted", testListSorted},
		{"Meta/Namespaces", testNamespaces},
		{"Meta/SharedAcrossHandles", testMetaShared},
		{"Meta/Cached", testCached},
		{"Meta/CachedAcrossHandles", testCachedShared},
		{"Meta/Secret", testSecret},
		{"Log/AppendRead", testAppendRead},
		{"Log/AppendReadKeys", testAppendReadKeys},
		{"Log/CreateShardIdempotent", testCreateShardIdempotent},
		{"Log/MissingShard", testMissingShard},
		{"Log/ShardsIsolated", testShardsIsolated},
		{"Log/GroupCommit", testGroupCommit},
		{"Log/Ordering", testOrdering},
		{"Log/ReadLimits", testReadLimits},
		{"Log/Retention", testRetention},
		{"Log/SeekTime", testSeekTime},
		{"Log/Tip", testTip},
		{"Log/DeleteShard", testDeleteShard},
		{"Log/CloseShard", testCloseShard},
		{"Log/LargeEntries", testLargeEntries},
		{"Log/TooLarge", testTooLarge},
		{"Log/Canceled", testCanceled},
		{"Log/Watch", testWatch},
		{"Log/WatchMissingShard", testWatchMissingShard},
		{"Meta/Values", testValues},
		{"Meta/WatchValue", testWatchValue},
		{"FanoutClosed", testFanoutClosed},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// hangTimeout bounds the waits for what should happen (a signal, a change
// seen through another handle, an expiry): only a hang reaches it, so it is
// generous for a slow, stalling machine.
const hangTimeout = time.Minute

// ctxFor bounds a whole test, several waits of which may each take up to
// hangTimeout on a stalling machine.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*hangTimeout)
	t.Cleanup(cancel)
	return ctx
}

func key(name string) store.StreamKey {
	return store.StreamKey{Account: "123456789012", Region: "us-east-1", Name: name}
}

func newStream(k store.StreamKey) *store.Stream {
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	closed := now.Add(time.Hour)
	return &store.Stream{
		Key:            k,
		ID:             "id-" + k.Name,
		Created:        now,
		Status:         "CREATING",
		StatusUntil:    now.Add(time.Second),
		NextStatus:     "ACTIVE",
		Mode:           "PROVISIONED",
		RetentionHours: 24,
		Shards: []store.Shard{
			{Index: 0, Parent: -1, AdjacentParent: -1, StartHash: "0", EndHash: "170141183460469231731687303715884105727", Created: now},
			{Index: 1, Parent: 0, AdjacentParent: -1, StartHash: "170141183460469231731687303715884105728",
				EndHash: "340282366920938463463374607431768211455", Created: now, Closed: &closed, EndSeq: 42},
		},
		NextShardIndex: 2,
		Tags:           map[string]string{"team": "a"},
	}
}

func mustPut(t *testing.T, m store.Meta, s *store.Stream, rev store.Revision) store.Revision {
	t.Helper()
	n, err := m.Put(ctxFor(t), s, rev)
	if err != nil {
		t.Fatalf("Put(%s, %d): %v", s.Key.Name, rev, err)
	}
	if n == 0 {
		t.Fatalf("Put(%s) returned revision 0", s.Key.Name)
	}
	return n
}

func sameStream(t *testing.T, got, want *store.Stream) {
	t.Helper()
	// Times round-trip through storage; compare them as instants.
	g, w := *got, *want
	if !g.Created.Equal(w.Created) || !g.StatusUntil.Equal(w.StatusUntil) {
		t.Fatalf("times differ: got %v/%v want %v/%v", g.Created, g.StatusUntil, w.Created, w.StatusUntil)
	}
	g.Created, w.Created, g.StatusUntil, w.StatusUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	g.Shards = nil
	w.Shards = nil
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("stream differs:\n got %+v\nwant %+v", g, w)
	}
	if len(got.Shards) != len(want.Shards) {
		t.Fatalf("%d shards, want %d", len(got.Shards), len(want.Shards))
	}
	for i := range got.Shards {
		gs, ws := got.Shards[i], want.Shards[i]
		if !gs.Created.Equal(ws.Created) || (gs.Closed == nil) != (ws.Closed == nil) ||
			(gs.Closed != nil && !gs.Closed.Equal(*ws.Closed)) {
			t.Fatalf("shard %d times differ: %+v vs %+v", i, gs, ws)
		}
		gs.Created, ws.Created, gs.Closed, ws.Closed = time.Time{}, time.Time{}, nil, nil
		if !reflect.DeepEqual(gs, ws) {
			t.Fatalf("shard %d differs: %+v vs %+v", i, gs, ws)
		}
	}
}

func testCreateGet(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	if _, _, err := b.Get(ctx, key("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	// Names use the whole Kinesis alphabet, including '.'.
	for _, name := range []string{"orders", "a.b-c_D.9", "x"} {
		want := newStream(key(name))
		rev := mustPut(t, b, want, 0)
		got, grev, err := b.Get(ctx, key(name))
		if err != nil {
			t.Fatalf("Get(%s): %v", name, err)
		}
		if grev != rev {
			t.Fatalf("Get(%s) revision %d, Put returned %d", name, grev, rev)
		}
		sameStream(t, got, want)
	}
}

func testCreateExists(t *testing.T, open Open) {
	b := open(t)
	s := newStream(key("dup"))
	rev := mustPut(t, b, s, 0)
	if _, err := b.Put(ctxFor(t), s, 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	_, grev, err := b.Get(ctxFor(t), s.Key)
	if err != nil || grev != rev {
		t.Fatalf("after failed create: rev %d err %v, want rev %d", grev, err, rev)
	}
}

func testUpdateConflict(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	s := newStream(key("upd"))
	rev1 := mustPut(t, b, s, 0)
	s.Status = "ACTIVE"
	rev2 := mustPut(t, b, s, rev1)
	if rev2 == rev1 {
		t.Fatalf("update kept revision %d", rev1)
	}
	s.Status = "UPDATING"
	if _, err := b.Put(ctx, s, rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if _, err := b.Put(ctx, s, rev2+1000); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("future revision: %v, want ErrConflict", err)
	}
	got, rev, err := b.Get(ctx, s.Key)
	if err != nil || rev != rev2 || got.Status != "ACTIVE" {
		t.Fatalf("after conflicts: %+v rev %d err %v, want ACTIVE at %d", got, rev, err, rev2)
	}
	// Updating a missing record is a conflict, never a create.
	if _, err := b.Put(ctx, newStream(key("ghost")), rev2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update of missing: %v, want ErrConflict", err)
	}
	if _, _, err := b.Get(ctx, key("ghost")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ghost exists after failed update: %v", err)
	}
}

func testDelete(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	s := newStream(key("del"))
	rev1 := mustPut(t, b, s, 0)
	rev2 := mustPut(t, b, s, rev1)
	if err := b.Delete(ctx, s.Key, rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	if _, _, err := b.Get(ctx, s.Key); err != nil {
		t.Fatalf("record gone after failed delete: %v", err)
	}
	if err := b.Delete(ctx, s.Key, rev2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := b.Get(ctx, s.Key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after delete: %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, s.Key, rev2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, key("never"), 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of never-created: %v, want ErrNotFound", err)
	}
	// The name can be reused, and a stale revision cannot update it.
	s.ID = "second-incarnation"
	rev3 := mustPut(t, b, s, 0)
	if _, err := b.Put(ctx, s, rev2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update with pre-delete revision: %v, want ErrConflict", err)
	}
	got, rev, err := b.Get(ctx, s.Key)
	if err != nil || rev != rev3 || got.ID != "second-incarnation" {
		t.Fatalf("re-created: %+v rev %d err %v", got, rev, err)
	}
	if l, err := b.List(ctx, s.Key.Account, s.Key.Region); err != nil || len(l) != 1 {
		t.Fatalf("List after re-create: %d streams, err %v", len(l), err)
	}
}

func names(l []*store.Stream) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.Key.Name
	}
	return out
}

func testListSorted(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	if l, err := b.List(ctx, "123456789012", "us-east-1"); err != nil || len(l) != 0 {
		t.Fatalf("empty List: %v, %v", names(l), err)
	}
	for _, n := range []string{"zeta", "Alpha", "alpha", "a.b", "a-b", "beta", "gone"} {
		mustPut(t, b, newStream(key(n)), 0)
	}
	_, rev, err := b.Get(ctx, key("gone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key("gone"), rev); err != nil {
		t.Fatal(err)
	}
	l, err := b.List(ctx, "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Alpha", "a-b", "a.b", "alpha", "beta", "zeta"}
	if got := names(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	sameStream(t, l[0], newStream(key("Alpha")))
}

func testNamespaces(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	keys := []store.StreamKey{
		{Account: "111111111111", Region: "us-east-1", Name: "s"},
		{Account: "222222222222", Region: "us-east-1", Name: "s"},
		{Account: "111111111111", Region: "eu-west-1", Name: "s"},
	}
	for i, k := range keys {
		s := newStream(k)
		s.ID = fmt.Sprint("ns-", i)
		mustPut(t, b, s, 0)
	}
	for i, k := range keys {
		got, _, err := b.Get(ctx, k)
		if err != nil || got.ID != fmt.Sprint("ns-", i) || got.Key != k {
			t.Fatalf("Get(%+v) = %+v, %v", k, got, err)
		}
		l, err := b.List(ctx, k.Account, k.Region)
		if err != nil || len(l) != 1 || l[0].Key != k {
			t.Fatalf("List(%s, %s) = %v, %v", k.Account, k.Region, names(l), err)
		}
	}
	if l, err := b.List(ctx, "333333333333", "us-east-1"); err != nil || len(l) != 0 {
		t.Fatalf("List of empty namespace = %v, %v", names(l), err)
	}
}

// Cached sees this handle's own changes at once and hands out copies.
func testCached(t *testing.T, open Open) {
	m := open(t)
	ctx := ctxFor(t)
	k := key("cached")
	if _, _, err := m.Cached(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Cached of a missing stream: %v, want ErrNotFound", err)
	}
	rev := mustPut(t, m, newStream(k), 0)
	got, grev, err := m.Cached(ctx, k)
	if err != nil || grev != rev || !reflect.DeepEqual(got, newStream(k)) {
		t.Fatalf("Cached after Put: rev %d (want %d) err %v\n%+v", grev, rev, err, got)
	}
	got.Status = "scribbled"
	got.Shards[0].StartHash = "scribbled"
	got.Tags["team"] = "scribbled"
	again, _, err := m.Cached(ctx, k)
	if err != nil || !reflect.DeepEqual(again, newStream(k)) {
		t.Fatalf("changing what Cached returned changed the cache: %+v (err %v)", again, err)
	}
	for i := range 5 { // each update is seen by the next Cached
		again.Status = fmt.Sprint("S", i)
		if rev, err = m.Put(ctx, again, rev); err != nil {
			t.Fatal(err)
		}
		got, grev, err := m.Cached(ctx, k)
		if err != nil || grev != rev || got.Status != again.Status {
			t.Fatalf("Cached after update %d: %q rev %d err %v, want %q rev %d", i, got.Status, grev, err, again.Status, rev)
		}
	}
	if _, err := m.Put(ctx, again, rev-1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale Put: %v", err)
	}
	if _, grev, err := m.Cached(ctx, k); err != nil || grev != rev {
		t.Fatalf("Cached after a lost race: rev %d err %v, want %d", grev, err, rev)
	}
	if err := m.Delete(ctx, k, rev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Cached(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Cached after Delete: %v, want ErrNotFound", err)
	}
}

// Another handle's changes reach Cached soon: updates, deletes and a
// re-created stream of the same name.
func testCachedShared(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	k := key("cached-shared")
	rev := mustPut(t, b, newStream(k), 0)
	if _, grev, err := a.Cached(ctx, k); err != nil || grev != rev {
		t.Fatalf("Cached of the other handle's stream: rev %d err %v, want %d", grev, err, rev)
	}
	eventually := func(what string, ok func(*store.Stream, store.Revision, error) bool) {
		t.Helper()
		deadline := time.Now().Add(hangTimeout)
		for {
			st, r, err := a.Cached(ctx, k)
			if ok(st, r, err) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Cached still gives %+v rev %d err %v", what, st, r, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 3 {
		st := newStream(k)
		st.Status = fmt.Sprint("B", i)
		var err error
		if rev, err = b.Put(ctx, st, rev); err != nil {
			t.Fatal(err)
		}
		want := rev
		eventually("update "+st.Status, func(got *store.Stream, r store.Revision, err error) bool {
			return err == nil && r == want && got.Status == st.Status
		})
	}
	if err := b.Delete(ctx, k, rev); err != nil {
		t.Fatal(err)
	}
	eventually("delete", func(_ *store.Stream, _ store.Revision, err error) bool { return errors.Is(err, store.ErrNotFound) })
	st := newStream(k)
	st.ID = "second-incarnation"
	mustPut(t, b, st, 0)
	eventually("re-create", func(got *store.Stream, _ store.Revision, err error) bool { return err == nil && got.ID == st.ID })
}

func testMetaShared(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	rev := mustPut(t, a, newStream(key("shared")), 0)
	got, grev, err := b.Get(ctx, key("shared"))
	if err != nil || grev != rev {
		t.Fatalf("other handle Get: rev %d err %v, want %d", grev, err, rev)
	}
	got.Status = "ACTIVE"
	if _, err := b.Put(ctx, got, grev); err != nil {
		t.Fatalf("other handle update: %v", err)
	}
	if _, err := a.Put(ctx, got, rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("first handle stale update: %v, want ErrConflict", err)
	}

	// Racing creates of one name: exactly one wins.
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newStream(key("race"))
			s.ID = fmt.Sprint("racer-", i)
			_, errs[i] = h.Put(ctx, s, 0)
		}()
	}
	wg.Wait()
	oneWinner(t, errs, store.ErrExists)
}

func testSecret(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	// First use races between two handles; both must end up equal.
	var s1, s2 []byte
	var e1, e2 error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s1, e1 = a.Secret(ctx) }()
	go func() { defer wg.Done(); s2, e2 = b.Secret(ctx) }()
	wg.Wait()
	if e1 != nil || e2 != nil {
		t.Fatalf("Secret: %v, %v", e1, e2)
	}
	if len(s1) < 16 {
		t.Fatalf("secret has %d bytes, want at least 16", len(s1))
	}
	if !bytes.Equal(s1, s2) {
		t.Fatalf("handles disagree on the secret")
	}
	if bytes.Equal(s1, make([]byte, len(s1))) {
		t.Fatalf("secret is all zero")
	}
	again, err := a.Secret(ctx)
	if err != nil || !bytes.Equal(again, s1) {
		t.Fatalf("secret changed: %v", err)
	}
	again[0] ^= 0xff // callers may not corrupt the shared value
	if third, _ := b.Secret(ctx); !bytes.Equal(third, s1) {
		t.Fatalf("secret changed after a caller modified its copy")
	}
	// A handle opened later reads the same key.
	c := open(t)
	if s3, err := c.Secret(ctx); err != nil || !bytes.Equal(s3, s1) {
		t.Fatalf("third handle secret differs: %v", err)
	}
}

var shardSeq atomic.Int64

// newShard creates a shard log with a fresh stream ID.
func newShard(t *testing.T, b store.Backend, retention time.Duration) store.ShardRef {
	t.Helper()
	ref := store.ShardRef{StreamID: fmt.Sprintf("st%d-%d", time.Now().UnixNano()%1e9, shardSeq.Add(1)), Shard: 0}
	if err := b.CreateShard(ctxFor(t), ref, retention, store.ShardSpec{}); err != nil {
		t.Fatalf("CreateShard: %v", err)
	}
	return ref
}

func entry(pk, data string) store.Entry { return store.Entry{PartitionKey: pk, Data: []byte(data)} }

// readAll reads a shard from its start and flattens it to entries with
// their positions.
func readAll(t *testing.T, b store.Backend, ref store.ShardRef) ([]store.Entry, []store.Position) {
	t.Helper()
	var ents []store.Entry
	var pos []store.Position
	next := uint64(1)
	for {
		msgs, err := b.Read(ctxFor(t), ref, next, 100, 8<<20)
		if err != nil {
			t.Fatalf("Read(%d): %v", next, err)
		}
		if len(msgs) == 0 {
			return ents, pos
		}
		for _, m := range msgs {
			if m.Seq < next {
				t.Fatalf("Read(%d) returned seq %d", next, m.Seq)
			}
			if len(m.Entries) == 0 {
				t.Fatalf("message %d has no entries", m.Seq)
			}
			for i, e := range m.Entries {
				ents = append(ents, e)
				pos = append(pos, store.Position{Seq: m.Seq, Sub: i, Time: m.Time})
			}
			next = m.Seq + 1
		}
	}
}

// testAppendReadKeys: an entry's data key reference is stored with it, and
// what Read returns is the caller's to change in place (the service
// decrypts there) without changing the log.
func testAppendReadKeys(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	in := []store.Entry{entry("a", "clear"), {Data: []byte("sealed-1"), Key: 1}, {Data: []byte("sealed-max"), Key: 1<<32 - 1}}
	pos, err := b.Append(ctx, ref, in)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		msgs, err := b.Read(ctx, ref, pos[0].Seq, 1, 0)
		if err != nil || len(msgs) != 1 || len(msgs[0].Entries) != len(in) {
			t.Fatalf("Read = %+v, %v", msgs, err)
		}
		for i, e := range in {
			got := msgs[0].Entries[i]
			if got.Key != e.Key || got.PartitionKey != e.PartitionKey || !bytes.Equal(got.Data, e.Data) {
				t.Fatalf("round %d entry %d = %+v, want %+v", round, i, got, e)
			}
			for j := range got.Data {
				got.Data[j] = 'X'
			}
		}
	}
}

func testAppendRead(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	before := time.Now().Add(-time.Second)
	in := []store.Entry{entry("a", "one"), entry("b", ""), entry("", "three")}
	pos, err := b.Append(ctx, ref, in)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(pos) != len(in) {
		t.Fatalf("%d positions for %d entries", len(pos), len(in))
	}
	for i, p := range pos {
		if p.Seq != pos[0].Seq || p.Sub != i {
			t.Fatalf("one small call must land in one message in order: %+v", pos)
		}
	}
	pos2, err := b.Append(ctx, ref, []store.Entry{entry("c", "four")})
	if err != nil {
		t.Fatal(err)
	}
	if pos2[0].Seq <= pos[0].Seq {
		t.Fatalf("later append at %+v, not after %+v", pos2[0], pos[0])
	}
	msgs, err := b.Read(ctx, ref, pos[0].Seq, 10, 1<<20)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(msgs) != 2 || msgs[0].Seq != pos[0].Seq || msgs[1].Seq != pos2[0].Seq {
		t.Fatalf("Read got %d messages: %+v", len(msgs), msgs)
	}
	for i, e := range in {
		got := msgs[0].Entries[i]
		if got.PartitionKey != e.PartitionKey || !bytes.Equal(got.Data, e.Data) {
			t.Fatalf("entry %d = %q/%q, want %q/%q", i, got.PartitionKey, got.Data, e.PartitionKey, e.Data)
		}
	}
	if string(msgs[1].Entries[0].Data) != "four" {
		t.Fatalf("second message = %+v", msgs[1])
	}
	// A write's answer carries the time reads report: sequence numbers
	// hold its second, and must read back the same.
	if !pos[0].Time.Equal(msgs[0].Time) || !pos2[0].Time.Equal(msgs[1].Time) {
		t.Fatalf("Append times %v, %v; Read times %v, %v", pos[0].Time, pos2[0].Time, msgs[0].Time, msgs[1].Time)
	}
	if tp, ok := b.(store.Tapper); ok {
		type tapped struct {
			seq uint64
			at  time.Time
		}
		got := make(chan tapped, 1)
		stop := tp.Tap(ref, func(seq uint64, at time.Time, _ []byte) {
			select {
			case got <- tapped{seq, at}:
			default:
			}
		})
		p3, err := b.Append(ctx, ref, []store.Entry{entry("d", "five")})
		if err != nil {
			t.Fatal(err)
		}
		tm := <-got
		stop()
		m3, err := b.Read(ctx, ref, p3[0].Seq, 1, 0)
		if err != nil || len(m3) != 1 {
			t.Fatalf("Read: %v", err)
		}
		if tm.seq != p3[0].Seq || !tm.at.Equal(m3[0].Time) || !p3[0].Time.Equal(m3[0].Time) {
			t.Fatalf("tapped %+v, appended %+v, read at %v", tm, p3[0], m3[0].Time)
		}
	}
	for _, m := range msgs {
		if m.Time.Before(before) || m.Time.After(time.Now().Add(time.Second)) {
			t.Fatalf("message time %v is not about now", m.Time)
		}
	}
	if msgs[1].Time.Before(msgs[0].Time) {
		t.Fatalf("message times go backwards")
	}
	if p, err := b.Append(ctx, ref, nil); err != nil || len(p) != 0 {
		t.Fatalf("empty Append = %v, %v", p, err)
	}
	// The caller's buffers are not retained.
	buf := []byte("mutable")
	p, err := b.Append(ctx, ref, []store.Entry{{PartitionKey: "m", Data: buf}})
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXX")
	got, err := b.Read(ctx, ref, p[0].Seq, 1, 0)
	if err != nil || len(got) != 1 || string(got[0].Entries[0].Data) != "mutable" {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

func testCreateShardIdempotent(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateShard(ctx, ref, 24*time.Hour, store.ShardSpec{}); err != nil {
		t.Fatalf("second CreateShard: %v", err)
	}
	if err := b.CreateShard(ctx, ref, 48*time.Hour, store.ShardSpec{}); err != nil {
		t.Fatalf("CreateShard with other retention: %v", err)
	}
	if ents, _ := readAll(t, b, ref); len(ents) != 1 {
		t.Fatalf("re-create lost data: %d entries", len(ents))
	}
}

func testMissingShard(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := store.ShardRef{StreamID: "missing", Shard: 3}
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Append: %v, want ErrNotFound", err)
	}
	if _, err := b.Read(ctx, ref, 1, 10, 1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read: %v, want ErrNotFound", err)
	}
	if _, err := b.Tip(ctx, ref); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Tip: %v, want ErrNotFound", err)
	}
	if _, err := b.SeekTime(ctx, ref, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SeekTime: %v, want ErrNotFound", err)
	}
	if err := b.SetRetention(ctx, ref, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetRetention: %v, want ErrNotFound", err)
	}
}

func testShardsIsolated(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	r0 := newShard(t, b, 24*time.Hour)
	r1 := store.ShardRef{StreamID: r0.StreamID, Shard: 1}
	if err := b.CreateShard(ctx, r1, 24*time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, r0, []store.Entry{entry("k", "zero")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, r1, []store.Entry{entry("k", "one"), entry("k", "one-b")}); err != nil {
		t.Fatal(err)
	}
	e0, _ := readAll(t, b, r0)
	e1, _ := readAll(t, b, r1)
	if len(e0) != 1 || string(e0[0].Data) != "zero" || len(e1) != 2 || string(e1[0].Data) != "one" {
		t.Fatalf("shards mixed: %v / %v", e0, e1)
	}
}

func testGroupCommit(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	const callers = 200
	pos := make([][]store.Position, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pos[i], errs[i] = b.Append(ctx, ref, []store.Entry{entry(fmt.Sprint("pk", i), fmt.Sprint("data-", i))})
		}()
	}
	close(start)
	wg.Wait()
	seqs := map[uint64]bool{}
	at := map[store.Position]int{}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("Append %d: %v", i, errs[i])
		}
		if len(pos[i]) != 1 {
			t.Fatalf("Append %d: %d positions", i, len(pos[i]))
		}
		if prev, dup := at[pos[i][0]]; dup {
			t.Fatalf("appends %d and %d both at %+v", prev, i, pos[i][0])
		}
		at[pos[i][0]] = i
		seqs[pos[i][0].Seq] = true
	}
	if len(seqs) >= callers {
		t.Fatalf("%d concurrent appends made %d messages: no group commit", callers, len(seqs))
	}
	t.Logf("%d concurrent appends packed into %d messages", callers, len(seqs))
	// Every position points at that caller's entry.
	ents, ps := readAll(t, b, ref)
	if len(ents) != callers {
		t.Fatalf("read %d entries, want %d", len(ents), callers)
	}
	for k, p := range ps {
		i, ok := at[p]
		if !ok {
			t.Fatalf("stored entry at %+v was returned to no caller", p)
		}
		if string(ents[k].Data) != fmt.Sprint("data-", i) || ents[k].PartitionKey != fmt.Sprint("pk", i) {
			t.Fatalf("position %+v holds %q, want caller %d's entry", p, ents[k].Data, i)
		}
	}
}

func testOrdering(t *testing.T, open Open) {
	handles := []store.Backend{open(t), open(t)}
	ctx := ctxFor(t)
	ref := newShard(t, handles[0], 24*time.Hour)
	const writers, calls, perCall = 6, 25, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		b := handles[w%len(handles)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last store.Position
			for c := range calls {
				ents := make([]store.Entry, perCall)
				for k := range ents {
					ents[k] = entry(fmt.Sprint("w", w), fmt.Sprintf("%d/%d/%d", w, c, k))
				}
				pos, err := b.Append(ctx, ref, ents)
				if err != nil {
					errs <- err
					return
				}
				if c > 0 && (pos[0].Seq < last.Seq || pos[0].Seq == last.Seq && pos[0].Sub <= last.Sub) {
					errs <- fmt.Errorf("writer %d call %d at %+v, not after %+v", w, c, pos[0], last)
					return
				}
				last = pos[len(pos)-1]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ents, _ := readAll(t, handles[1], ref)
	if len(ents) != writers*calls*perCall {
		t.Fatalf("read %d entries, want %d", len(ents), writers*calls*perCall)
	}
	next := make([]int, writers) // next expected call*perCall+k per writer
	for i := 0; i < len(ents); {
		var w, c, k int
		if _, err := fmt.Sscanf(string(ents[i].Data), "%d/%d/%d", &w, &c, &k); err != nil {
			t.Fatalf("entry %d: %q", i, ents[i].Data)
		}
		if k != 0 || c*perCall != next[w] {
			t.Fatalf("entry %d is %q: writer %d expected call %d", i, ents[i].Data, w, next[w]/perCall)
		}
		// The call's entries follow contiguously.
		for k := 1; k < perCall; k++ {
			if want := fmt.Sprintf("%d/%d/%d", w, c, k); string(ents[i+k].Data) != want {
				t.Fatalf("entry %d is %q, want %q: call not contiguous", i+k, ents[i+k].Data, want)
			}
		}
		next[w] += perCall
		i += perCall
	}
}

// appendEach appends n single-entry calls one after another, so each is
// its own message; it returns their sequences.
func appendEach(t *testing.T, b store.Backend, ref store.ShardRef, n int, size int) []uint64 {
	t.Helper()
	seqs := make([]uint64, n)
	for i := range n {
		data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
		pos, err := b.Append(ctxFor(t), ref, []store.Entry{{PartitionKey: fmt.Sprint(i), Data: data}})
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		seqs[i] = pos[0].Seq
		if i > 0 && seqs[i] <= seqs[i-1] {
			t.Fatalf("sequential appends not increasing: %v", seqs[:i+1])
		}
	}
	return seqs
}

func msgSeqs(m []store.Message) []uint64 {
	out := make([]uint64, len(m))
	for i := range m {
		out[i] = m[i].Seq
	}
	return out
}

func testReadLimits(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	seqs := appendEach(t, b, ref, 10, 1000)

	msgs, err := b.Read(ctx, ref, seqs[0], 3, 1<<20)
	if err != nil || !reflect.DeepEqual(msgSeqs(msgs), seqs[:3]) {
		t.Fatalf("maxMsgs 3: %v, %v; want %v", msgSeqs(msgs), err, seqs[:3])
	}
	msgs, err = b.Read(ctx, ref, seqs[2], 100, 2500)
	if err != nil || len(msgs) < 2 || len(msgs) > 4 || msgs[0].Seq != seqs[2] {
		t.Fatalf("maxBytes 2500 over 1000-byte messages: %v, %v", msgSeqs(msgs), err)
	}
	msgs, err = b.Read(ctx, ref, seqs[4], 100, 1)
	if err != nil || !reflect.DeepEqual(msgSeqs(msgs), seqs[4:5]) {
		t.Fatalf("tiny maxBytes must still return one message: %v, %v", msgSeqs(msgs), err)
	}
	msgs, err = b.Read(ctx, ref, seqs[7], 100, 1<<20)
	if err != nil || !reflect.DeepEqual(msgSeqs(msgs), seqs[7:]) {
		t.Fatalf("read to the end: %v, %v; want %v", msgSeqs(msgs), err, seqs[7:])
	}
	msgs, err = b.Read(ctx, ref, seqs[9]+1, 100, 1<<20)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("read past the end: %v, %v", msgSeqs(msgs), err)
	}
	msgs, err = b.Read(ctx, ref, 0, 2, 1<<20)
	if err != nil || !reflect.DeepEqual(msgSeqs(msgs), seqs[:2]) {
		t.Fatalf("from 0 starts at the first message: %v, %v", msgSeqs(msgs), err)
	}
	if string(msgs[1].Entries[0].Data[:3]) != "bbb" {
		t.Fatalf("wrong payload %q", msgs[1].Entries[0].Data[:3])
	}
	empty := newShard(t, b, 24*time.Hour)
	if msgs, err := b.Read(ctx, empty, 1, 10, 1000); err != nil || len(msgs) != 0 {
		t.Fatalf("read of empty shard: %v, %v", msgSeqs(msgs), err)
	}
}

func testRetention(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	if err := b.SetRetention(ctx, ref, 48*time.Hour); err != nil {
		t.Fatalf("SetRetention: %v", err)
	}
	seqs := appendEach(t, b, ref, 3, 10)
	time.Sleep(1100 * time.Millisecond)
	if ents, _ := readAll(t, b, ref); len(ents) != 3 {
		t.Fatalf("long retention lost data: %d entries", len(ents))
	}
	// Shrink retention below the data's age: it expires.
	if err := b.SetRetention(ctx, ref, time.Second); err != nil {
		t.Fatalf("SetRetention(1s): %v", err)
	}
	deadline := time.Now().Add(hangTimeout)
	for {
		tip, err := b.Tip(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if tip.FirstSeq == seqs[2]+1 && tip.LastSeq == seqs[2] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages older than retention still stored: tip %+v", tip)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if msgs, err := b.Read(ctx, ref, 1, 10, 1000); err != nil || len(msgs) != 0 {
		t.Fatalf("expired messages readable: %v, %v", msgSeqs(msgs), err)
	}
	// Sequences continue after expiry.
	pos, err := b.Append(ctx, ref, []store.Entry{entry("k", "after")})
	if err != nil || pos[0].Seq != seqs[2]+1 {
		t.Fatalf("append after expiry at %+v, %v; want seq %d", pos, err, seqs[2]+1)
	}
}

func testSeekTime(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	if seq, err := b.SeekTime(ctx, ref, time.Now()); err != nil || seq != 1 {
		t.Fatalf("SeekTime on empty shard = %d, %v; want 1", seq, err)
	}
	s1 := appendEach(t, b, ref, 2, 10)
	time.Sleep(50 * time.Millisecond)
	mid := time.Now()
	time.Sleep(50 * time.Millisecond)
	s2 := appendEach(t, b, ref, 2, 10)

	cases := []struct {
		at   time.Time
		want uint64
	}{
		{time.Now().Add(-time.Hour), s1[0]},
		{mid, s2[0]},
		{time.Now().Add(time.Hour), s2[1] + 1},
	}
	for _, c := range cases {
		if got, err := b.SeekTime(ctx, ref, c.at); err != nil || got != c.want {
			t.Fatalf("SeekTime(%v) = %d, %v; want %d", c.at, got, err, c.want)
		}
	}
	// A message's own timestamp finds that message.
	msgs, err := b.Read(ctx, ref, s1[1], 1, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	if got, err := b.SeekTime(ctx, ref, msgs[0].Time); err != nil || got != s1[1] {
		t.Fatalf("SeekTime(own time) = %d, %v; want %d", got, err, s1[1])
	}
}

func testTip(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	tip, err := b.Tip(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if tip.LastSeq != tip.FirstSeq-1 || tip.FirstSeq == 0 {
		t.Fatalf("empty tip %+v: want LastSeq = FirstSeq-1, FirstSeq >= 1", tip)
	}
	seqs := appendEach(t, b, ref, 3, 10)
	tip, err = b.Tip(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if tip.FirstSeq != seqs[0] || tip.LastSeq != seqs[2] {
		t.Fatalf("tip %+v, want %d..%d", tip, seqs[0], seqs[2])
	}
	msgs, err := b.Read(ctx, ref, seqs[2], 1, 0)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	// The writer stamps a message as it sends it; storage may note the
	// tip a moment later, never earlier.
	if tip.LastTime.Before(msgs[0].Time) {
		t.Fatalf("tip LastTime %v, before the last message's time %v", tip.LastTime, msgs[0].Time)
	}
}

func testDeleteShard(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	appendEach(t, b, ref, 2, 10)
	if err := b.DeleteShard(ctx, ref); err != nil {
		t.Fatalf("DeleteShard: %v", err)
	}
	if _, err := b.Read(ctx, ref, 1, 10, 1000); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read after delete: %v, want ErrNotFound", err)
	}
	if err := b.DeleteShard(ctx, ref); err != nil {
		t.Fatalf("second DeleteShard: %v", err)
	}
	if err := b.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if msgs, err := b.Read(ctx, ref, 1, 10, 1000); err != nil || len(msgs) != 0 {
		t.Fatalf("re-created shard has old data: %v, %v", msgSeqs(msgs), err)
	}
}

func testLargeEntries(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	big := make([]byte, 10<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	pos, err := b.Append(ctx, ref, []store.Entry{{PartitionKey: "big", Data: big}})
	if err != nil {
		t.Fatalf("10 MiB append: %v", err)
	}
	// Several 1 MiB entries in one call, while small ones arrive too.
	mib := bytes.Repeat([]byte{'m'}, 1<<20)
	var wg sync.WaitGroup
	var smallErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 5 {
			if _, err := b.Append(ctx, ref, []store.Entry{entry("s", "small")}); err != nil {
				smallErr = err
			}
		}
	}()
	many := []store.Entry{{PartitionKey: "m0", Data: mib}, {PartitionKey: "m1", Data: mib}, {PartitionKey: "m2", Data: mib}}
	pos3, err := b.Append(ctx, ref, many)
	wg.Wait()
	if err != nil || smallErr != nil {
		t.Fatalf("appends: %v, %v", err, smallErr)
	}
	msgs, err := b.Read(ctx, ref, pos[0].Seq, 1, 1)
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Entries[pos[0].Sub].Data, big) {
		t.Fatalf("10 MiB entry did not read back: %v", err)
	}
	ents, ps := readAll(t, b, ref)
	got := map[store.Position]store.Entry{}
	for i := range ents {
		got[ps[i]] = ents[i]
	}
	for i, p := range pos3 {
		e, ok := got[p]
		if !ok || e.PartitionKey != fmt.Sprint("m", i) || !bytes.Equal(e.Data, mib) {
			t.Fatalf("1 MiB entry %d not at %+v", i, p)
		}
	}
	if len(ents) != 1+3+5 {
		t.Fatalf("read %d entries, want 9", len(ents))
	}
}

func testTooLarge(t *testing.T, open Open) {
	b := open(t)
	ctx := ctxFor(t)
	ref := newShard(t, b, 24*time.Hour)
	huge := make([]byte, 65<<20) // above any NATS max_payload
	_, err := b.Append(ctx, ref, []store.Entry{entry("ok", "fine"), {PartitionKey: "huge", Data: huge}})
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Append of 65 MiB: %v, want ErrTooLarge", err)
	}
	if ents, _ := readAll(t, b, ref); len(ents) != 0 {
		t.Fatalf("a rejected call stored %d entries", len(ents))
	}
}

func testCanceled(t *testing.T, open Open) {
	b := open(t)
	ref := newShard(t, b, 24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with canceled ctx: %v", err)
	}
	if _, err := b.Read(ctx, ref, 1, 1, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with canceled ctx: %v", err)
	}
	if _, _, err := b.Get(ctx, key("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with canceled ctx: %v", err)
	}
}

func testClosed(t *testing.T, open Open) {
	keep := open(t) // keeps shared storage alive where handles share it
	b := open(t)
	ref := newShard(t, keep, 24*time.Hour)
	ctx := ctxFor(t)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Append(ctx, ref, []store.Entry{entry("k", "v")}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, _, err := b.Get(ctx, key("x")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, err := b.Read(ctx, ref, 1, 1, 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := keep.Append(ctx, ref, []store.Entry{entry("k", "v")}); err != nil {
		t.Fatalf("other handle after Close: %v", err)
	}
}

// testCloseShard: once closed, no handle can append, earlier data stays
// readable, and closing again reports the same last sequence.
func testCloseShard(t *testing.T, open Open) {
	a, b := open(t), open(t)
	ctx := ctxFor(t)
	ref := newShard(t, a, time.Hour)
	for i := 0; i < 3; i++ {
		if _, err := b.Append(ctx, ref, []store.Entry{entry("k", fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := a.CloseShard(ctx, ref)
	if err != nil || last != 3 {
		t.Fatalf("CloseShard: last %d, %v; want 3", last, err)
	}
	// ErrNotFound, as for a missing log: the service re-reads the shard
	// map on it and routes the record to the shard that replaced this one.
	for _, h := range []store.Backend{a, b} {
		if _, err := h.Append(ctx, ref, []store.Entry{entry("k", "late")}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("append to a closed shard: %v, want ErrNotFound", err)
		}
	}
	if again, err := b.CloseShard(ctx, ref); err != nil || again != 3 {
		t.Fatalf("second CloseShard: %d, %v", again, err)
	}
	got, _ := readAll(t, a, ref)
	if len(got) != 3 || string(got[2].Data) != "2" {
		t.Fatalf("closed shard reads %d entries", len(got))
	}
	if _, err := a.CloseShard(ctx, store.ShardRef{StreamID: "missing", Shard: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("closing a missing shard: %v", err)
	}
}

// oneWinner checks that exactly one of racing compare-and-swaps succeeded
// and every other lost with loser.
func oneWinner(t *testing.T, errs []error, loser error) {
	t.Helper()
	winners := 0
	for _, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, loser):
			t.Fatalf("racing write: %v, want success or %v", err, loser)
		}
	}
	if winners != 1 {
		t.Fatalf("%d racing writes won, want 1", winners)
	}
}
