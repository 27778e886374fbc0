package discard

import (
	"context"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDiscardsRecordsKeepsMetadata(t *testing.T) {
	ctx := context.Background()
	nb, err := natsstore.Open(ctx, natsstore.Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	d := Wrap(nb)
	k := store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "s"}
	if _, err := d.Put(ctx, &store.Stream{Key: k, ID: "abc"}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _, err := nb.Get(ctx, k); err != nil || got.ID != "abc" {
		t.Fatalf("metadata did not reach the wrapped store: %v", err)
	}
	ref := store.ShardRef{StreamID: "abc", Shard: 0}
	for i := 1; i <= 3; i++ {
		pos, err := d.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("x")}, {PartitionKey: "k"}})
		if err != nil || len(pos) != 2 || pos[0].Seq != uint64(i) || pos[1].Sub != 1 {
			t.Fatalf("append %d: %+v %v", i, pos, err)
		}
	}
	msgs, err := d.Read(ctx, ref, 1, 10, 1<<20)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("read %d messages, %v", len(msgs), err)
	}
	if tip, _ := d.Tip(ctx, ref); tip.LastSeq != 3 {
		t.Fatalf("tip %+v", tip)
	}
}
