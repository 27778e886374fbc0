package natsstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

// Keys too long for a KV key go by their hash; Items still gives the
// key itself, and the order is by key bytes.
func TestTablesLongKeys(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, Config{InMemory: true})
	if err := s.CreateBucket(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte{0xff, 'x'}, 1500) // 3000 bytes: hashed
	short := []byte("a")
	for _, k := range [][]byte{long, short} {
		if _, err := s.PutItem(ctx, "t1", k, append([]byte("v-"), k[:1]...), 0); err != nil {
			t.Fatalf("PutItem(%d bytes): %v", len(k), err)
		}
	}
	if _, err := s.PutItem(ctx, "t1", long, []byte("again"), 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create over an existing long key: %v, want ErrConflict", err)
	}
	val, rev, err := s.GetItem(ctx, "t1", long)
	if err != nil || string(val) != "v-\xff" || rev == 0 {
		t.Fatalf("GetItem(long) = %q, %d, %v", val, rev, err)
	}
	items, err := s.Items(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || !bytes.Equal(items[0].Key, short) || !bytes.Equal(items[1].Key, long) || items[1].Rev != rev {
		t.Fatalf("Items = %d items, first key %q", len(items), items[0].Key)
	}
	if err := s.DeleteItem(ctx, "t1", long, rev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetItem(ctx, "t1", long); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetItem after delete: %v", err)
	}
}

// Tables and items are on disk like streams: a restart keeps them, and
// backups include the item buckets.
func TestTablesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := store.TableKey{Account: "123456789012", Region: "us-east-1", Name: "app.leases"}
	s1, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.PutTable(ctx, key, []byte(`{"id":"b1"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := s1.CreateBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.PutItem(ctx, "b1", []byte("shardId-0"), []byte("lease"), 0); err != nil {
		t.Fatal(err)
	}
	names, err := rivuletStreams(ctx, s1.js)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, itemStreamPrefix+"b1") {
		t.Fatalf("backed-up streams %v lack the item bucket", names)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, Config{DataDir: dir})
	if got, err := s2.ListTables(ctx, key.Account, key.Region); err != nil || !slices.Equal(got, []string{"app.leases"}) {
		t.Fatalf("ListTables = %v, %v", got, err)
	}
	if val, _, err := s2.GetItem(ctx, "b1", []byte("shardId-0")); err != nil || string(val) != "lease" {
		t.Fatalf("GetItem = %q, %v", val, err)
	}
	if err := s2.DropBucket(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if items, err := s2.Items(ctx, "b1"); err != nil || len(items) != 0 {
		t.Fatalf("Items of a dropped bucket = %v, %v", items, err)
	}
	if _, _, err := s2.GetItem(ctx, "b1", []byte("shardId-0")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetItem in a dropped bucket: %v", err)
	}
}

func TestTablesContractEmbeddedFile(t *testing.T) {
	storetest.RunTables(t, func(t *testing.T) store.Tables { return mustOpen(t, Config{DataDir: t.TempDir()}) })
}

// Two Stores on one NATS over TCP, as two processes: every call goes to
// the next of them in turn, so each compare-and-swap races the other
// connection's.
func TestTablesContractTwoProcesses(t *testing.T) {
	storetest.RunTables(t, func(t *testing.T) store.Tables {
		a := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0"})
		b := mustOpen(t, Config{URL: a.ClientURL(), InMemory: true})
		return &alternating{stores: []store.Tables{a, b}}
	})
}

type alternating struct {
	stores []store.Tables
	n      atomic.Uint64
}

func (a *alternating) next() store.Tables { return a.stores[a.n.Add(1)%uint64(len(a.stores))] }

func (a *alternating) GetTable(ctx context.Context, key store.TableKey) ([]byte, store.Revision, error) {
	return a.next().GetTable(ctx, key)
}
func (a *alternating) PutTable(ctx context.Context, key store.TableKey, val []byte, rev store.Revision) (store.Revision, error) {
	return a.next().PutTable(ctx, key, val, rev)
}
func (a *alternating) DeleteTable(ctx context.Context, key store.TableKey, rev store.Revision) error {
	return a.next().DeleteTable(ctx, key, rev)
}
func (a *alternating) ListTables(ctx context.Context, account, region string) ([]string, error) {
	return a.next().ListTables(ctx, account, region)
}
func (a *alternating) CreateBucket(ctx context.Context, id string) error {
	return a.next().CreateBucket(ctx, id)
}
func (a *alternating) DropBucket(ctx context.Context, id string) error {
	return a.next().DropBucket(ctx, id)
}
func (a *alternating) GetItem(ctx context.Context, bucket string, key []byte) ([]byte, store.Revision, error) {
	return a.next().GetItem(ctx, bucket, key)
}
func (a *alternating) PutItem(ctx context.Context, bucket string, key, val []byte, rev store.Revision) (store.Revision, error) {
	return a.next().PutItem(ctx, bucket, key, val, rev)
}
func (a *alternating) DeleteItem(ctx context.Context, bucket string, key []byte, rev store.Revision) error {
	return a.next().DeleteItem(ctx, bucket, key, rev)
}
func (a *alternating) Items(ctx context.Context, bucket string) ([]store.StoredItem, error) {
	return a.next().Items(ctx, bucket)
}
