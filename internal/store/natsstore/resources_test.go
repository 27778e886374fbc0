package natsstore

import (
	"context"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestResourcesContractEmbeddedFile(t *testing.T) {
	storetest.RunResources(t, func(t *testing.T) store.Resources { return mustOpen(t, Config{DataDir: t.TempDir()}) })
}

// Two Stores on one NATS, as two processes: a record written by one is
// listed and read by the other.
func TestResourcesSharedNATS(t *testing.T) {
	ctx := context.Background()
	a := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0"})
	b := mustOpen(t, Config{URL: a.ClientURL(), InMemory: true})
	k := store.TableKey{Account: "111122223333", Region: "us-east-1", Name: "shared"}
	if _, err := a.PutResource(ctx, store.KindDeliveryStream, k, []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	keys, err := b.ListResources(ctx, store.KindDeliveryStream, "", "")
	if err != nil || len(keys) != 1 || keys[0] != k {
		t.Fatalf("other process lists %v, %v", keys, err)
	}
	if _, err := b.PutResource(ctx, store.KindDeliveryStream, k, []byte("w"), 0); err == nil {
		t.Fatal("second create from the other process succeeded")
	}
}

// A delivery stream's buffer log has no Kinesis stream record: check must
// not report it as a stream whose metadata was lost.
func TestCheckLeavesBufferLogsAlone(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, Config{InMemory: true})
	ref := store.ShardRef{StreamID: store.BufferLogPrefix + "abc", Shard: 0}
	if err := s.CreateShard(ctx, ref, 0, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Damage) != 0 || len(rep.Shards) != 0 {
		t.Fatalf("check reports %+v", rep)
	}
}
