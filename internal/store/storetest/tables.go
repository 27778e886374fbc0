package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
)

// RunTables is the contract every store.Tables must meet. open returns a
// fresh, empty store and closes it in t.Cleanup.
func RunTables(t *testing.T, open func(t *testing.T) store.Tables) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Tables)
	}{
		{"Table/CreateGet", tablesCreateGet},
		{"Table/ReplaceCAS", tablesReplaceCAS},
		{"Table/Delete", tablesDelete},
		{"Table/ListSorted", tablesListSorted},
		{"Bucket/Lifecycle", tablesBuckets},
		{"Item/CAS", tablesItemCAS},
		{"Item/Delete", tablesItemDelete},
		{"Item/SortedByKey", tablesItemsSorted},
		{"Item/DropBucket", tablesDropBucket},
		{"Item/ConcurrentCAS", tablesConcurrentCAS},
		{"Table/ConcurrentCreate", tablesConcurrentCreate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func tkey(name string) store.TableKey {
	return store.TableKey{Account: "111122223333", Region: "us-east-1", Name: name}
}

func tablesCreateGet(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if _, _, err := s.GetTable(ctx, tkey("t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	rev, err := s.PutTable(ctx, tkey("t1"), []byte(`{"a":1}`), 0)
	if err != nil || rev == 0 {
		t.Fatalf("create: rev %d, %v", rev, err)
	}
	val, got, err := s.GetTable(ctx, tkey("t1"))
	if err != nil || got != rev || string(val) != `{"a":1}` {
		t.Fatalf("get: %q rev %d (want %d), %v", val, got, rev, err)
	}
	if _, err := s.PutTable(ctx, tkey("t1"), []byte(`x`), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create again: %v, want ErrExists", err)
	}
	// Another namespace is another table.
	other := store.TableKey{Account: "999988887777", Region: "us-east-1", Name: "t1"}
	if _, _, err := s.GetTable(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other account: %v, want ErrNotFound", err)
	}
}

func tablesReplaceCAS(t *testing.T, s store.Tables) {
	ctx := context.Background()
	r1, err := s.PutTable(ctx, tkey("t1"), []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.PutTable(ctx, tkey("t1"), []byte("v2"), r1)
	if err != nil || r2 == r1 {
		t.Fatalf("replace: rev %d after %d, %v", r2, r1, err)
	}
	if _, err := s.PutTable(ctx, tkey("t1"), []byte("v3"), r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replace: %v, want ErrConflict", err)
	}
	if _, err := s.PutTable(ctx, tkey("missing"), []byte("v"), r2); !errors.Is(err, store.ErrConflict) &&
		!errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replace missing: %v, want ErrConflict or ErrNotFound", err)
	}
	val, rev, err := s.GetTable(ctx, tkey("t1"))
	if err != nil || rev != r2 || string(val) != "v2" {
		t.Fatalf("get: %q rev %d, %v", val, rev, err)
	}
}

func tablesDelete(t *testing.T, s store.Tables) {
	ctx := context.Background()
	r1, err := s.PutTable(ctx, tkey("t1"), []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.PutTable(ctx, tkey("t1"), []byte("v2"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTable(ctx, tkey("t1"), r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	if err := s.DeleteTable(ctx, tkey("t1"), r2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := s.GetTable(ctx, tkey("t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteTable(ctx, tkey("t1"), 0); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	// Created again after a delete, and deleted with rev 0.
	if _, err := s.PutTable(ctx, tkey("t1"), []byte("v3"), 0); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	if err := s.DeleteTable(ctx, tkey("t1"), 0); err != nil {
		t.Fatalf("delete any: %v", err)
	}
}

func tablesListSorted(t *testing.T, s store.Tables) {
	ctx := context.Background()
	names := []string{"zeta", "Alpha", "alpha", "b-2", "b.1", "b_3", "m"}
	for _, n := range names {
		if _, err := s.PutTable(ctx, tkey(n), []byte(n), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []store.TableKey{
		{Account: "111122223333", Region: "eu-west-1", Name: "other-region"},
		{Account: "999988887777", Region: "us-east-1", Name: "other-account"},
	} {
		if _, err := s.PutTable(ctx, k, []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListTables(ctx, "111122223333", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("list: %q, want %q", got, want)
	}
	got, err = s.ListTables(ctx, "111122223333", "eu-west-1")
	if err != nil || !slices.Equal(got, []string{"other-region"}) {
		t.Fatalf("list eu-west-1: %q, %v", got, err)
	}
	got, err = s.ListTables(ctx, "000000000000", "us-east-1")
	if err != nil || len(got) != 0 {
		t.Fatalf("list empty namespace: %q, %v", got, err)
	}
}

func tablesBuckets(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if _, _, err := s.GetItem(ctx, "nobucket", []byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get from missing bucket: %v, want ErrNotFound", err)
	}
	if items, err := s.Items(ctx, "nobucket"); err != nil && !errors.Is(err, store.ErrNotFound) || len(items) != 0 {
		t.Fatalf("items of missing bucket: %v, %v", items, err)
	}
	if err := s.DropBucket(ctx, "nobucket"); err != nil {
		t.Fatalf("drop missing bucket: %v", err)
	}
	if err := s.CreateBucket(ctx, "b_1-x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutItem(ctx, "b_1-x", []byte("k"), []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	// Creating an existing bucket keeps its items.
	if err := s.CreateBucket(ctx, "b_1-x"); err != nil {
		t.Fatal(err)
	}
	if v, _, err := s.GetItem(ctx, "b_1-x", []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("item after second create: %q, %v", v, err)
	}
}

func tablesItemCAS(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	key := []byte{0x01, 'k', 0x00, 0xff}
	if _, _, err := s.GetItem(ctx, "b1", key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	r1, err := s.PutItem(ctx, "b1", key, []byte("v1"), 0)
	if err != nil || r1 == 0 {
		t.Fatalf("create: %d, %v", r1, err)
	}
	if _, err := s.PutItem(ctx, "b1", key, []byte("dup"), 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create existing: %v, want ErrConflict", err)
	}
	r2, err := s.PutItem(ctx, "b1", key, []byte("v2"), r1)
	if err != nil || r2 == r1 {
		t.Fatalf("replace: %d, %v", r2, err)
	}
	if _, err := s.PutItem(ctx, "b1", key, []byte("v3"), r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replace: %v, want ErrConflict", err)
	}
	if _, err := s.PutItem(ctx, "b1", []byte("other"), []byte("v"), r2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replace of missing item: %v, want ErrConflict", err)
	}
	v, rev, err := s.GetItem(ctx, "b1", key)
	if err != nil || rev != r2 || string(v) != "v2" {
		t.Fatalf("get: %q rev %d, %v", v, rev, err)
	}
	// Buckets are separate.
	if err := s.CreateBucket(ctx, "b2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetItem(ctx, "b2", key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other bucket: %v", err)
	}
}

func tablesItemDelete(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	r1, err := s.PutItem(ctx, "b1", []byte("k"), []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.PutItem(ctx, "b1", []byte("k"), []byte("v2"), r1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteItem(ctx, "b1", []byte("k"), r1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	if err := s.DeleteItem(ctx, "b1", []byte("k"), r2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetItem(ctx, "b1", []byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.DeleteItem(ctx, "b1", []byte("k"), 0); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	// A deleted item can be created again with rev 0.
	if _, err := s.PutItem(ctx, "b1", []byte("k"), []byte("v3"), 0); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	if err := s.DeleteItem(ctx, "b1", []byte("k"), 0); err != nil {
		t.Fatalf("delete any: %v", err)
	}
}

func tablesItemsSorted(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{{0xff}, {0x00}, {0x00, 0x00}, []byte("b"), []byte("a"), []byte("ab"), {0x7f, 0x80}, {0x80}}
	revs := map[string]store.Revision{}
	for i, k := range keys {
		rev, err := s.PutItem(ctx, "b1", k, fmt.Appendf(nil, "v%d", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		revs[string(k)] = rev
	}
	items, err := s.Items(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, bytes.Compare)
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d", len(items), len(want))
	}
	for i, it := range items {
		if !bytes.Equal(it.Key, want[i]) {
			t.Fatalf("item %d key %x, want %x", i, it.Key, want[i])
		}
		if it.Rev != revs[string(it.Key)] {
			t.Fatalf("item %x rev %d, want %d", it.Key, it.Rev, revs[string(it.Key)])
		}
		j := slices.IndexFunc(keys, func(k []byte) bool { return bytes.Equal(k, it.Key) })
		if string(it.Val) != fmt.Sprintf("v%d", j) {
			t.Fatalf("item %x val %q", it.Key, it.Val)
		}
	}
	// The revision Items reports is good for a CAS.
	if _, err := s.PutItem(ctx, "b1", items[0].Key, []byte("new"), items[0].Rev); err != nil {
		t.Fatalf("CAS with the revision from Items: %v", err)
	}
}

func tablesDropBucket(t *testing.T, s store.Tables) {
	ctx := context.Background()
	for _, b := range []string{"b1", "b2"} {
		if err := s.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := s.PutItem(ctx, b, fmt.Appendf(nil, "k%d", i), []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DropBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if items, err := s.Items(ctx, "b1"); (err != nil && !errors.Is(err, store.ErrNotFound)) || len(items) != 0 {
		t.Fatalf("items after drop: %d, %v", len(items), err)
	}
	if _, _, err := s.GetItem(ctx, "b1", []byte("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after drop: %v", err)
	}
	// A bucket made again under the same id starts empty.
	if err := s.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if items, err := s.Items(ctx, "b1"); err != nil || len(items) != 0 {
		t.Fatalf("items of recreated bucket: %d, %v", len(items), err)
	}
	if items, err := s.Items(ctx, "b2"); err != nil || len(items) != 5 {
		t.Fatalf("other bucket: %d items, %v", len(items), err)
	}
}

// tablesConcurrentCAS: goroutines race to replace one item from the same
// revision; exactly one wins, the rest get ErrConflict.
func tablesConcurrentCAS(t *testing.T, s store.Tables) {
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.PutItem(ctx, "b1", []byte("k"), []byte("v0"), 0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PutItem(ctx, "b1", []byte("k"), fmt.Appendf(nil, "v%d", i+1), rev)
		}()
	}
	wg.Wait()
	oneWinner(t, errs, store.ErrConflict)

	// Creates race the same way.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PutItem(ctx, "b1", []byte("new"), fmt.Appendf(nil, "v%d", i), 0)
		}()
	}
	wg.Wait()
	oneWinner(t, errs, store.ErrConflict)

	// Read-modify-write increments from many goroutines lose nothing.
	if _, err := s.PutItem(ctx, "b1", []byte("ctr"), []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	const per = 10
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < per; {
				v, rev, err := s.GetItem(ctx, "b1", []byte("ctr"))
				if err != nil {
					t.Error(err)
					return
				}
				var c int
				_, _ = fmt.Sscan(string(v), &c)
				_, err = s.PutItem(ctx, "b1", []byte("ctr"), fmt.Append(nil, c+1), rev)
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	v, _, err := s.GetItem(ctx, "b1", []byte("ctr"))
	if err != nil || string(v) != fmt.Sprint(8*per) {
		t.Fatalf("counter %q, want %d (%v)", v, 8*per, err)
	}
}

func tablesConcurrentCreate(t *testing.T, s store.Tables) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PutTable(ctx, tkey("race"), fmt.Appendf(nil, "v%d", i), 0)
		}()
	}
	wg.Wait()
	oneWinner(t, errs, store.ErrExists)
}
