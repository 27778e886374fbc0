package natsstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

// damageStream makes a two-shard stream with records and returns it with
// the positions appended to shard 0.
func damageStream(t *testing.T, s *Store, n int) (*store.Stream, []store.Position) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	st := &store.Stream{Key: store.StreamKey{Account: "123456789012", Region: "us-east-1", Name: "orders.v2"}, ID: "dmg1",
		Created: now, Status: "ACTIVE", Mode: "PROVISIONED", RetentionHours: 48, MaxRecordSizeKiB: 1024, NextShardIndex: 2}
	for i, r := range hashkey.Split(2) {
		st.Shards = append(st.Shards, store.Shard{Index: i, Parent: -1, AdjacentParent: -1, StartHash: r.Start.String(), EndHash: r.End.String(), Created: now})
	}
	for _, sh := range st.Shards {
		if err := s.CreateShard(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}, 48*time.Hour, store.SpecOf(st, sh)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, st, 0); err != nil {
		t.Fatal(err)
	}
	var pos []store.Position
	for i := 0; i < n; i++ {
		// One call at a time: one stored message each.
		p, err := s.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: 0}, []store.Entry{{PartitionKey: "k", Data: []byte(strings.Repeat("x", 200))}})
		if err != nil {
			t.Fatal(err)
		}
		pos = append(pos, p...)
	}
	if _, err := s.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: 1}, []store.Entry{{PartitionKey: "k", Data: []byte("one")}}); err != nil {
		t.Fatal(err)
	}
	return st, pos
}

// streamFiles returns the message block files of a JetStream stream.
func streamFiles(t *testing.T, dir, stream string) []string {
	t.Helper()
	blks, err := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", stream, "msgs", "*.blk"))
	if err != nil || len(blks) == 0 {
		t.Fatalf("no block files for %s: %v", stream, err)
	}
	slices.Sort(blks)
	return blks
}

// forgetState removes the stream's saved state, as a kill -9 before it
// was written would leave it, so the server rebuilds it from the blocks.
func forgetState(t *testing.T, dir, stream string) {
	t.Helper()
	idx, _ := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", stream, "msgs", "index.db"))
	for _, f := range idx {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDamagedTailNeverReusesSequences(t *testing.T) {
	dir := t.TempDir()
	s1 := mustOpen(t, Config{DataDir: dir})
	st, pos := damageStream(t, s1, 300)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	// Cut the newest block in half.
	blks := streamFiles(t, dir, "KDS_dmg1_0")
	newest := blks[len(blks)-1]
	fi, err := os.Stat(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(newest, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	forgetState(t, dir, "KDS_dmg1_0")

	s2 := mustOpen(t, Config{DataDir: dir})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: st.ID, Shard: 0}
	tip, err := s2.Tip(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	acked := pos[len(pos)-1].Seq
	var lost *Damage
	for _, d := range s2.Damage() {
		if d.Kind == DamageLostTail && d.Shard == 0 {
			lost = &d
		}
	}
	if lost == nil {
		t.Fatalf("no lost-tail damage reported: %+v (tip %+v)", s2.Damage(), tip)
	}
	if lost.To != acked || lost.From > acked || lost.Stream != "orders.v2" {
		t.Fatalf("lost range %+v, want up to %d", lost, acked)
	}
	// The next record goes above every acknowledged one.
	next, err := s2.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("after")}})
	if err != nil {
		t.Fatal(err)
	}
	if next[0].Seq <= acked {
		t.Fatalf("sequence %d reused: %d was acknowledged before the damage", next[0].Seq, acked)
	}
	// A lost position reads on at what exists now, never at other data
	// under its number.
	msgs, err := s2.Read(ctx, ref, lost.From, 10, 0)
	if err != nil || len(msgs) == 0 || msgs[0].Seq != next[0].Seq || string(msgs[0].Entries[0].Data) != "after" {
		t.Fatalf("read at lost %d: %+v %v", lost.From, msgs, err)
	}
	// Reported once: the new segment starts above the acked mark, so a
	// later check finds nothing missing.
	rep, err := s2.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rep.Damage {
		if d.Kind == DamageLostTail {
			t.Errorf("check still reports %+v", d)
		}
	}
}

func TestMetadataLostIsRecovered(t *testing.T) {
	dir := t.TempDir()
	s1 := mustOpen(t, Config{DataDir: dir})
	st, pos := damageStream(t, s1, 20)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range streamFiles(t, dir, "KV_"+metaBucket) {
		if err := os.Truncate(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	forgetState(t, dir, "KV_"+metaBucket)

	s2 := mustOpen(t, Config{DataDir: dir})
	ctx := context.Background()
	if _, _, err := s2.Get(ctx, st.Key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stream record survived the damage (%v); the test damaged nothing", err)
	}
	kinds := map[string]int{}
	for _, d := range s2.Damage() {
		kinds[d.Kind]++
	}
	if kinds[DamageMetadataLost] != 1 || kinds[DamageReservationLost] != 2 {
		t.Fatalf("damage %+v", s2.Damage())
	}
	acts, err := s2.Recover(ctx)
	if err != nil || len(acts) != 1 || !acts[0].Done || !strings.Contains(acts[0].Text, "rebuilt from 2 shard logs") {
		t.Fatalf("Recover: %+v %v", acts, err)
	}
	got, _, err := s2.Get(ctx, st.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != st.ID || !got.Created.Equal(st.Created) || got.RetentionHours != 48 || len(got.Shards) != 2 || got.NextShardIndex != 2 {
		t.Fatalf("rebuilt %+v", got)
	}
	for i, sh := range got.Shards {
		want := st.Shards[i]
		if sh.Index != want.Index || sh.StartHash != want.StartHash || sh.EndHash != want.EndHash || sh.Closed != nil || !sh.Created.Equal(want.Created) {
			t.Errorf("shard %d rebuilt as %+v, want %+v", i, sh, want)
		}
	}
	msgs, err := s2.Read(ctx, store.ShardRef{StreamID: st.ID, Shard: 0}, 0, 100, 0)
	if err != nil || len(msgs) != len(pos) || msgs[0].Seq != pos[0].Seq {
		t.Fatalf("records after recovery: %d of %d, %v", len(msgs), len(pos), err)
	}
	// The reservation was lost too: new numbers jump above anything.
	next, err := s2.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: 0}, []store.Entry{{PartitionKey: "k", Data: []byte("new")}})
	if err != nil || next[0].Seq <= pos[len(pos)-1].Seq+reserveAhead {
		t.Fatalf("append after recovery at %+v, %v", next, err)
	}
	if rep, err := s2.Check(ctx); err != nil || slices.ContainsFunc(rep.Damage, func(d Damage) bool { return d.Kind == DamageMetadataLost }) {
		t.Fatalf("check after recovery: %+v %v", rep, err)
	}
}

// TestLogFromBeforeSegments: a log written by a Rivulet without segments
// or reservations keeps its numbers, gets a spec at the next start, and
// its next numbers jump above anything it could have handed out.
func TestLogFromBeforeSegments(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s1 := mustOpen(t, Config{DataDir: dir})
	st, _ := damageStream(t, s1, 0)
	ref := store.ShardRef{StreamID: st.ID, Shard: 0}
	// Make shard 0's log as the old code did: no metadata, no reservation.
	if err := s1.DeleteShard(ctx, ref); err != nil {
		t.Fatal(err)
	}
	name, subject, _ := shardNames(ref)
	if _, err := s1.js.CreateStream(ctx, s1.shardConfig(name, subject, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Published directly: Append would write a reservation.
	old := batch.Append(nil, []store.Entry{{PartitionKey: "k", Data: []byte("old")}})
	if ack, err := s1.js.Publish(ctx, subject, old); err != nil || ack.Sequence != 1 {
		t.Fatalf("publish to an old log: %+v %v", ack, err)
	}
	if err := s1.DeleteValue(ctx, hwmKey(ref), 0); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := mustOpen(t, Config{DataDir: dir})
	if d := s2.Damage(); len(d) != 0 {
		t.Fatalf("an old log reported as damage: %+v", d)
	}
	msgs, err := s2.Read(ctx, ref, 1, 10, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Seq != 1 {
		t.Fatalf("old record moved: %+v %v", msgs, err)
	}
	next, err := s2.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("new")}})
	if err != nil || next[0].Seq <= unknownJump {
		t.Fatalf("next after an unknown reservation: %+v %v", next, err)
	}
	info, err := s2.js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if info.CachedInfo().Config.Metadata[metaShard] == "" {
		t.Fatal("the start-up check gave the old log no spec")
	}
}

// TestReservationCoversEveryAck: whatever the step, no append is
// acknowledged above the stored reservation, also with two processes
// writing one shard.
func TestReservationCoversEveryAck(t *testing.T) {
	defer func(v uint64) { reserveAhead = v }(reserveAhead)
	reserveAhead = 3
	s1 := mustOpen(t, Config{InMemory: true})
	s2 := mustOpen(t, Config{Server: s1.Server()})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "resv", Shard: 0}
	if err := s1.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		w := []*Store{s1, s2}[i%2]
		pos, err := w.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte{byte(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := s1.readHWM(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if h.Reserved < pos[0].Seq {
			t.Fatalf("append %d acknowledged at %d above the reservation %d", i, pos[0].Seq, h.Reserved)
		}
	}
}
