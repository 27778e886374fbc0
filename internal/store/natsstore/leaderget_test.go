package natsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// TestLeaderGetMatchesDirectGet checks the cluster fallback against the
// direct get it stands in for: the same messages, subjects, sequences,
// times and headers, and "more may follow" exactly when it stopped early.
func TestLeaderGetMatchesDirectGet(t *testing.T) {
	s := mustOpen(t, Config{DataDir: t.TempDir()})
	ctx := context.Background()
	ref := store.ShardRef{StreamID: "lg", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: bytes.Repeat([]byte{byte('a' + i)}, 100*(i+1))}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		st := &store.Stream{Key: store.StreamKey{Account: "a", Region: "r", Name: fmt.Sprintf("s%d", i)}, ID: fmt.Sprintf("id%d", i)}
		if _, err := s.Put(ctx, st, 0); err != nil {
			t.Fatal(err)
		}
	}
	name, _, err := shardNames(ref)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(0, 0).UTC()
	cases := []struct {
		stream string
		req    directReq
	}{
		{name, directReq{Seq: 1, Batch: 1}},
		{name, directReq{Seq: 1, Batch: 5}},
		{name, directReq{Seq: 4, Batch: 100}},
		{name, directReq{Seq: 1, Batch: 100, MaxBytes: 500}},
		{name, directReq{Seq: 13, Batch: 10}},
		{name, directReq{StartTime: &start, Batch: 1, MaxBytes: 1}},
		{"KV_" + metaBucket, directReq{Seq: 1, NextFor: kvSubjectPrefix + ">", Batch: 1000}},
		{"KV_" + metaBucket, directReq{Seq: 1, NextFor: kvSubjectPrefix + ">", Batch: 2}},
	}
	for _, c := range cases {
		want, wantPending, err := s.directGetOnce(ctx, c.stream, c.req)
		if err != nil {
			t.Fatalf("%s %+v: direct get: %v", c.stream, c.req, err)
		}
		got, gotPending, err := s.leaderGet(ctx, c.stream, c.req)
		if err != nil {
			t.Fatalf("%s %+v: leader get: %v", c.stream, c.req, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s %+v: %d messages, want %d", c.stream, c.req, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.seq != w.seq || g.subject != w.subject || !bytes.Equal(g.data, w.data) || !g.time.Equal(w.time) {
				t.Errorf("%s %+v: message %d = seq %d %q %s, want seq %d %q %s", c.stream, c.req, i, g.seq, g.subject, g.time, w.seq, w.subject, w.time)
			}
			for _, h := range []string{timeHeader, "KV-Operation"} {
				if g.header.Get(h) != w.header.Get(h) {
					t.Errorf("%s %+v: message %d header %s = %q, want %q", c.stream, c.req, i, h, g.header.Get(h), w.header.Get(h))
				}
			}
		}
		if (gotPending > 0) != (wantPending > 0) && len(want) == max(c.req.Batch, 1) {
			// At a full batch the fallback cannot know the end without
			// another request: it says more may follow.
			continue
		}
		if (gotPending > 0) != (wantPending > 0) {
			t.Errorf("%s %+v: pending %d, want %d", c.stream, c.req, gotPending, wantPending)
		}
	}
}

// TestLeaderKVMatchesGet checks the confirmation of a KV "not found"
// against the bucket's own get: values and revisions of present keys, and
// not found for absent and deleted ones.
func TestLeaderKVMatchesGet(t *testing.T) {
	s := mustOpen(t, Config{DataDir: t.TempDir()})
	ctx := context.Background()
	for _, k := range []string{"a", "b.c", "gone"} {
		if _, err := s.kv.Put(ctx, k, []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.kv.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b.c"} {
		e, err := s.kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		v, rev, err := s.leaderKV(ctx, metaBucket, k)
		if err != nil || !bytes.Equal(v, e.Value()) || uint64(rev) != e.Revision() {
			t.Errorf("leaderKV(%q) = %q rev %d, %v; want %q rev %d", k, v, rev, err, e.Value(), e.Revision())
		}
	}
	for _, k := range []string{"gone", "never"} {
		if _, _, err := s.leaderKV(ctx, metaBucket, k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("leaderKV(%q): %v, want store.ErrNotFound", k, err)
		}
	}
}
