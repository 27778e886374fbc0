package natsstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

const testCap = 2 << 20

// fillShard appends 64 KiB entries until an append fails, which must be
// with store.ErrFull.
func fillShard(t *testing.T, s *Store, ref store.ShardRef) {
	t.Helper()
	ctx := context.Background()
	entry := []store.Entry{{PartitionKey: "k", Data: make([]byte, 64<<10)}}
	for deadline := time.Now().Add(hangTimeout); time.Now().Before(deadline); {
		_, err := s.Append(ctx, ref, entry)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrFull) {
			t.Fatalf("append on a filling store: %v", err)
		}
		return
	}
	t.Fatalf("a store capped at %d bytes still takes appends", testCap)
}

// TestJetStreamFullIsErrFull turns the soft limit off, so JetStream's own
// refusals surface: appends and metadata writes both become
// store.ErrFull, deleting a log frees the space, and the secret made at
// Open is read without a write.
func TestJetStreamFullIsErrFull(t *testing.T) {
	s := mustOpen(t, Config{DataDir: t.TempDir(), MaxStorage: testCap})
	s.quota.usage = nil // only JetStream's limit is left
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "full", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	fillShard(t, s, ref)
	if !s.Full() {
		t.Error("Full is false after a refused append")
	}
	st := &store.Stream{Key: store.StreamKey{Account: "a", Region: "r", Name: "meta"}, ID: "m"}
	if _, err := s.Put(ctx, st, 0); !errors.Is(err, store.ErrFull) {
		t.Errorf("metadata Put past JetStream's max: %v, want ErrFull", err)
	}
	s.secret = nil // force a read from the bucket
	if _, err := s.Secret(ctx); err != nil {
		t.Errorf("Secret on a full store: %v", err)
	}
	if err := s.DeleteShard(ctx, ref); err != nil {
		t.Fatalf("DeleteShard on a full store: %v", err)
	}
	if _, err := s.Put(ctx, st, 0); err != nil {
		t.Errorf("metadata Put after freeing space: %v", err)
	}
	if s.Full() {
		t.Error("Full is still true after a successful write")
	}
}

// TestReserveKeepsMetadataWritable checks the soft limit: records stop
// below JetStream's max, and metadata still fits.
func TestReserveKeepsMetadataWritable(t *testing.T) {
	s := mustOpen(t, Config{DataDir: t.TempDir(), MaxStorage: testCap})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "soft", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	fillShard(t, s, ref)
	used, limit, hard := s.Usage()
	if hard != testCap || limit >= hard || used > hard {
		t.Errorf("usage %d, record limit %d, max %d", used, limit, hard)
	}
	if !s.Full() {
		t.Error("Full is false after a refused append")
	}
	st := &store.Stream{Key: store.StreamKey{Account: "a", Region: "r", Name: "meta"}, ID: "m"}
	if _, err := s.Put(ctx, st, 0); err != nil {
		t.Errorf("metadata Put while records are refused: %v", err)
	}
	if _, err := s.PutValue(ctx, "lease.x", []byte("v"), 0); err != nil {
		t.Errorf("PutValue while records are refused: %v", err)
	}
	if err := s.SetRetention(ctx, ref, time.Minute); err != nil {
		t.Errorf("SetRetention while full: %v", err)
	}
	if err := s.DeleteShard(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if s.Full() {
		t.Error("Full stays true after the log was deleted")
	}
}

func TestMaxStorageAboveFreeSpace(t *testing.T) {
	_, err := Open(context.Background(), Config{DataDir: t.TempDir(), MaxStorage: 1 << 60})
	if err == nil {
		t.Fatal("Open with a 1 EiB cap succeeded")
	}
}
