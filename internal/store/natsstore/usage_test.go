package natsstore

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// Records written to two streams (one of two shards, one closed), a delivery
// stream's buffer, and an orphan log show up as bytes and messages per
// named stream; the orphan is left out.
func TestStreamStorage(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, Config{InMemory: true})
	const account, region = "111122223333", "us-east-1"
	put := func(name, id string, shards int) {
		t.Helper()
		st := &store.Stream{Key: store.StreamKey{Account: account, Region: region, Name: name}, ID: id, Status: "ACTIVE"}
		for i := range shards {
			st.Shards = append(st.Shards, store.Shard{Index: i, Parent: -1, AdjacentParent: -1})
		}
		if _, err := s.Put(ctx, st, 0); err != nil {
			t.Fatal(err)
		}
	}
	write := func(ref store.ShardRef, n int) {
		t.Helper()
		if err := s.CreateShard(ctx, ref, 0, store.ShardSpec{}); err != nil {
			t.Fatal(err)
		}
		for range n {
			if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "pk", Data: []byte("some record data")}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("orders", "idorders", 2)
	put("clicks", "idclicks", 1)
	write(store.ShardRef{StreamID: "idorders", Shard: 0}, 3)
	write(store.ShardRef{StreamID: "idorders", Shard: 1}, 2)
	write(store.ShardRef{StreamID: "idclicks", Shard: 0}, 1)
	// A closed shard's log still holds its data until retention ends.
	if _, err := s.CloseShard(ctx, store.ShardRef{StreamID: "idorders", Shard: 1}); err != nil {
		t.Fatal(err)
	}
	write(store.ShardRef{StreamID: "idgone", Shard: 0}, 1) // no record
	ds, _ := json.Marshal(map[string]any{"Name": "to-s3", "ID": "dsid", "Account": account, "Region": region})
	if _, err := s.PutResource(ctx, store.KindDeliveryStream, store.TableKey{Account: account, Region: region, Name: "to-s3"}, ds, 0); err != nil {
		t.Fatal(err)
	}
	write(store.ShardRef{StreamID: store.BufferLogPrefix + "dsid", Shard: 0}, 4)

	got, err := s.StreamStorage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", got)
	by := map[string]metrics.StreamStorage{}
	for _, u := range got {
		if u.Account != account || u.Region != region {
			t.Errorf("%+v: wrong namespace", u)
		}
		by[u.Kind+"/"+u.Stream] = u
	}
	if len(got) != 3 {
		t.Errorf("%d entries, want 3 (orders, clicks, to-s3): %+v", len(got), got)
	}
	// Each append is at least one stored message; a flush may pack
	// appends together, so only the lower bound is certain.
	for _, w := range []struct {
		key     string
		maxMsgs uint64
	}{{"stream/orders", 5}, {"stream/clicks", 1}, {"delivery_stream/to-s3", 4}} {
		u, ok := by[w.key]
		if !ok {
			t.Errorf("%s missing", w.key)
			continue
		}
		if u.Bytes == 0 || u.Messages == 0 || u.Messages > w.maxMsgs {
			t.Errorf("%s: %d bytes, %d messages; want > 0 bytes, 1..%d messages", w.key, u.Bytes, u.Messages, w.maxMsgs)
		}
	}
	// Two shards are summed: orders holds more than clicks.
	if by["stream/orders"].Bytes <= by["stream/clicks"].Bytes {
		t.Errorf("orders %d bytes <= clicks %d bytes: shards not summed", by["stream/orders"].Bytes, by["stream/clicks"].Bytes)
	}
}

func TestStreamStorageClosed(t *testing.T) {
	s, err := Open(context.Background(), Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StreamStorage(context.Background()); err == nil {
		t.Fatal("StreamStorage on a closed store succeeded")
	}
}
