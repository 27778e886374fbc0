package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// TestStoreBackupRestore round-trips shard logs (one closed), a value and
// the iterator secret through Store.Backup and Store.Restore, and checks
// that the restore refuses a used target.
func TestStoreBackupRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	src := mustOpen(t, Config{DataDir: t.TempDir()})
	refs := []store.ShardRef{{StreamID: "s1", Shard: 0}, {StreamID: "s1", Shard: 1}, {StreamID: "s2", Shard: 0}}
	for i, ref := range refs {
		if err := src.CreateShard(ctx, ref, time.Duration(i+1)*24*time.Hour, store.ShardSpec{}); err != nil {
			t.Fatal(err)
		}
		for j := range i + 2 {
			if _, err := src.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte{byte(i), byte(j)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := src.CloseShard(ctx, refs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutValue(ctx, "lease.a", []byte("owner-1"), 0); err != nil {
		t.Fatal(err)
	}
	// A lease table's items live in a bucket of their own.
	if err := src.CreateBucket(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutItem(ctx, "t1", []byte("shardId-000000000000"), []byte("checkpoint-7"), 0); err != nil {
		t.Fatal(err)
	}
	secret, err := src.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	m, err := src.Backup(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Streams) != 5 || m.Streams[0].Name != metaStreamName {
		t.Fatalf("manifest streams: %+v", m.Streams)
	}
	for _, s := range m.Streams {
		var cfg struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(s.Config, &cfg); err != nil || cfg.Name != s.Name || len(s.SHA256) != 64 || s.Size == 0 {
			t.Errorf("manifest entry %s: config name %q (%v), sha256 %q, size %d", s.Name, cfg.Name, err, s.SHA256, s.Size)
		}
	}
	if _, err := src.Backup(ctx, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second backup into %s: %v", dir, err)
	}
	want := map[store.ShardRef][]store.Message{}
	for _, ref := range refs {
		want[ref] = mustRead(t, src, ref)
	}

	dstDir := t.TempDir()
	raw, err := OpenRaw(ctx, Config{DataDir: dstDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Restore(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Restore(ctx, dir); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second restore: %v, want ErrNotEmpty", err)
	}
	raw.Close()

	dst := mustOpen(t, Config{DataDir: dstDir})
	for _, ref := range refs {
		if got := mustRead(t, dst, ref); !reflect.DeepEqual(got, want[ref]) {
			t.Errorf("%+v: restored %+v, want %+v", ref, got, want[ref])
		}
	}
	if _, err := dst.Append(ctx, refs[0], []store.Entry{{PartitionKey: "k", Data: []byte("x")}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("append to the restored closed shard: %v, want ErrNotFound", err)
	}
	if v, _, err := dst.GetValue(ctx, "lease.a"); err != nil || string(v) != "owner-1" {
		t.Errorf("restored value %q, %v", v, err)
	}
	if v, _, err := dst.GetItem(ctx, "t1", []byte("shardId-000000000000")); err != nil || string(v) != "checkpoint-7" {
		t.Errorf("restored lease item %q, %v", v, err)
	}
	if got, err := dst.Secret(ctx); err != nil || !reflect.DeepEqual(got, secret) {
		t.Errorf("restored secret differs (%v)", err)
	}
}

func mustRead(t *testing.T, s *Store, ref store.ShardRef) []store.Message {
	t.Helper()
	msgs, err := s.Read(context.Background(), ref, 1, 1000, 1<<20)
	if err != nil {
		t.Fatalf("read %+v: %v", ref, err)
	}
	return msgs
}

// TestReadManifestRejects covers manifests a restore must not trust.
func TestReadManifestRejects(t *testing.T) {
	dir := t.TempDir()
	snap := []byte("not really a snapshot")
	if err := os.WriteFile(filepath.Join(dir, "KV_rivulet-meta.snap"), snap, 0o644); err != nil {
		t.Fatal(err)
	}
	good := BackupStream{Name: metaStreamName, File: metaStreamName + ".snap", Size: int64(len(snap)),
		SHA256: "4f0c1e3a36b4d7bb2a8d3a0cfdab9f3a0c2f4d8e8bd8dd1ad7c68c4b9e6f3b70"}
	for _, tc := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"version", Manifest{Format: 2, Streams: []BackupStream{good}}, "manifest format 2"},
		{"no metadata", Manifest{Format: 1}, "does not start with"},
		{"foreign stream", Manifest{Format: 1, Streams: []BackupStream{good, {Name: "ORDERS", File: "ORDERS.snap"}}}, `unexpected stream "ORDERS"`},
		{"path", Manifest{Format: 1, Streams: []BackupStream{good, {Name: "KDS_x_0", File: "../KDS_x_0.snap"}}}, "has file"},
		{"checksum", Manifest{Format: 1, Streams: []BackupStream{good}}, "checksum mismatch"},
		{"size", Manifest{Format: 1, Streams: []BackupStream{{Name: good.Name, File: good.File, Size: 3}}}, "manifest says 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := writeManifest(dir, &tc.m); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadManifest: %v, want %q", err, tc.want)
			}
		})
	}
}
