package natsstore

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// filesContaining lists the files under dir holding any of needles.
func filesContaining(t *testing.T, dir string, needles ...[]byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				hits = append(hits, p+": "+string(n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestStoreEncryption: with a store key, nothing of a record or of the
// metadata is in the files; the directory reopens with the key and
// refuses to open without it or with another.
func TestStoreEncryption(t *testing.T) {
	for _, cipher := range []string{CipherAES, CipherChaCha} {
		t.Run(cipher, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
			defer cancel()
			dir := t.TempDir()
			cfg := Config{DataDir: dir, StoreKey: "s3cret-store-key", StoreCipher: cipher}
			s, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			key := store.StreamKey{Account: "123456789012", Region: "us-east-1", Name: "visible-stream-name"}
			if _, err := s.Put(ctx, &store.Stream{Key: key, ID: "enc1", Status: "ACTIVE", Tags: map[string]string{"tag": "visible-tag-value"}}, 0); err != nil {
				t.Fatal(err)
			}
			ref := store.ShardRef{StreamID: "enc1", Shard: 0}
			if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{Stream: key}); err != nil {
				t.Fatal(err)
			}
			var entries []store.Entry
			for i := 0; i < 100; i++ {
				entries = append(entries, store.Entry{PartitionKey: "visible-partition-key", Data: []byte("visible-record-payload-" + strings.Repeat("z", i))})
			}
			if _, err := s.Append(ctx, ref, entries); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if hits := filesContaining(t, dir, []byte("visible-record-payload"), []byte("visible-partition-key"),
				[]byte("visible-stream-name"), []byte("visible-tag-value"), []byte("123456789012")); len(hits) > 0 {
				t.Fatalf("plaintext in the files:\n%s", strings.Join(hits, "\n"))
			}

			if _, err := Open(ctx, Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "--nats-store-key") {
				t.Fatalf("opened without the key: %v", err)
			}
			wrong := cfg
			wrong.StoreKey = "another-key"
			if _, err := Open(ctx, wrong); err == nil || !strings.Contains(err.Error(), "--nats-store-key") {
				t.Fatalf("opened with another key: %v", err)
			}

			s2 := mustOpen(t, cfg)
			got, _, err := s2.Get(ctx, key)
			if err != nil || got.Tags["tag"] != "visible-tag-value" {
				t.Fatalf("metadata after reopen: %+v %v", got, err)
			}
			msgs, err := s2.Read(ctx, ref, 0, 10, 0)
			if err != nil || len(msgs) != 1 || len(msgs[0].Entries) != 100 || string(msgs[0].Entries[99].Data) != string(entries[99].Data) {
				t.Fatalf("records after reopen: %v", err)
			}
		})
	}
}

// A plain directory given a key is encrypted from then on (nats-server
// converts it), and the other way is refused.
func TestStoreEncryptionOfPlainDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	dir := t.TempDir()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.ShardRef{StreamID: "plain1", Shard: 0}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("written-in-the-clear")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, Config{DataDir: dir, StoreKey: "later-key"})
	msgs, err := s2.Read(ctx, ref, 0, 10, 0)
	if err != nil || len(msgs) != 1 || string(msgs[0].Entries[0].Data) != "written-in-the-clear" {
		t.Fatalf("read after turning encryption on: %+v %v", msgs, err)
	}
	if _, err := Open(ctx, Config{InMemory: true, StoreKey: "k"}); err == nil {
		t.Fatal("a store key in memory was accepted")
	}
	if _, err := Open(ctx, Config{DataDir: t.TempDir(), StoreKey: "k", StoreCipher: "rot13"}); err == nil {
		t.Fatal("an unknown cipher was accepted")
	}
}
