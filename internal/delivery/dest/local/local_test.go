package local_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/desttest"
	"github.com/rivulet/rivulet/internal/delivery/dest/local"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t testing.TB) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir(), local.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestObjectStore runs the contract with and without fsync (--sync=always
// or not), since the two take different paths through Put.
func TestObjectStore(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			desttest.RunObjectStore(t, func(t *testing.T) (dest.ObjectStore, string) {
				s, err := local.New(t.TempDir(), local.Options{Sync: sync})
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(s.Root(), "test-bucket"), 0o755); err != nil {
					t.Fatal(err)
				}
				return s, "test-bucket"
			})
		})
	}
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	if err := s.Put(t.Context(), "my-bucket", "2024/01/02/03/f=1.gz", []byte("data")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Root(), "my-bucket", "2024", "01", "02", "03", "f=1.gz")
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "data" {
		t.Fatalf("file %s: %q, %v", p, b, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("object mode %v, want 0644", fi.Mode().Perm())
	}
	got, err := s.Path("my-bucket", "2024/01/02/03/f=1.gz")
	if err != nil || got != p {
		t.Errorf("Path = %q, %v; want %q", got, err, p)
	}
	// Put creates the bucket directory; nothing else is left in the tree.
	var files []string
	filepath.WalkDir(s.Root(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Errorf("files under root: %q", files)
	}
}

func TestListMissingBucket(t *testing.T) {
	s := newStore(t)
	if _, err := s.List(t.Context(), "no-such-bucket", ""); !errors.Is(err, dest.ErrNotFound) {
		t.Fatalf("List of a missing bucket: %v, want dest.ErrNotFound", err)
	}
}

func TestTempFilesHiddenAndCleaned(t *testing.T) {
	root := t.TempDir()
	s, err := local.New(root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, "bkt", "a/obj", []byte("x")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "bkt", "a")
	stale := filepath.Join(dir, local.TempPrefix+"stale")
	fresh := filepath.Join(dir, local.TempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * local.StaleAfter)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	keys, err := s.List(ctx, "bkt", "")
	if err != nil || !slices.Equal(keys, []string{"a/obj"}) {
		t.Fatalf("List = %q, %v; temp files must not show", keys, err)
	}
	if _, err := local.New(root, local.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file still there after New: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a recent temp file (maybe being written) was removed: %v", err)
	}
}

func TestBadNames(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	badKeys := []string{
		"", "/abs", "a//b", "a/", "../escape", "a/../b", "a/./b", ".", "..",
		"nul\x00byte", "bad\xffutf8", strings.Repeat("k", local.MaxKeyLen+1),
		strings.Repeat("s", 256), "a/" + local.TempPrefix + "x",
	}
	for _, k := range badKeys {
		if err := s.Put(ctx, "bkt", k, []byte("x")); err == nil {
			t.Errorf("Put key %q succeeded", k)
		}
		if _, err := s.Get(ctx, "bkt", k); err == nil || errors.Is(err, dest.ErrNotFound) {
			t.Errorf("Get key %q: %v, want an invalid-key error", k, err)
		}
	}
	badBuckets := []string{
		"", "ab", strings.Repeat("b", 64), "Upper", "under_score", "-dash", "dash-",
		"a..b", "192.168.0.1", "xn--abc", "sthree-x", "x-s3alias", "x--ol-s3", "../x", "a/b", ".hidden",
	}
	for _, b := range badBuckets {
		if err := s.Put(ctx, b, "k", []byte("x")); err == nil {
			t.Errorf("Put bucket %q succeeded", b)
		}
		if _, err := s.List(ctx, b, ""); err == nil {
			t.Errorf("List bucket %q succeeded", b)
		}
	}
	for _, b := range []string{"abc", "my.bucket-1", strings.Repeat("b", 63), "1.2.3.x"} {
		if err := local.ValidBucket(b); err != nil {
			t.Errorf("ValidBucket(%q) = %v", b, err)
		}
	}
	// Nothing escaped the root.
	entries, err := os.ReadDir(filepath.Dir(s.Root()))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("entries beside the root: %v", entries)
	}
}

func TestKeyPrefixConflict(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "bkt", "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "bkt", "a", []byte("y")); err == nil {
		t.Error("Put of a key that is a prefix of another object succeeded")
	}
	if err := s.Put(ctx, "bkt", "a/b/c", []byte("y")); err == nil {
		t.Error("Put below an existing object succeeded")
	}
	if got, err := s.Get(ctx, "bkt", "a/b"); err != nil || string(got) != "x" {
		t.Errorf("Get a/b = %q, %v", got, err)
	}
}

func TestListSkipsNonRegular(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "bkt", "d/obj", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(s.Root(), "bkt", "d", "link")); err != nil {
		t.Fatal(err)
	}
	keys, err := s.List(ctx, "bkt", "")
	if err != nil || !slices.Equal(keys, []string{"d/obj"}) {
		t.Fatalf("List = %q, %v", keys, err)
	}
}

func FuzzValidBucket(f *testing.F) {
	for _, s := range []string{"abc", "a..b", "1.2.3.4", "xn--a", "My", "a-b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if local.ValidBucket(name) != nil {
			return
		}
		if len(name) < 3 || len(name) > 63 || strings.ContainsAny(name, "/\\\x00") || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			t.Fatalf("accepted %q", name)
		}
	})
}

// FuzzKey checks that every accepted key round-trips through Put, Get and
// List and stays inside its bucket directory.
func FuzzKey(f *testing.F) {
	for _, k := range append(slices.Clone(desttest.Keys), "a/../b", "/x", "a//b", "..", ".x", "x.", "a\\b") {
		f.Add(k)
	}
	s := newStore(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, key string) {
		if local.ValidKey(key) != nil {
			if err := s.Put(t.Context(), "bkt", key, nil); err == nil {
				t.Fatalf("Put accepted the invalid key %q", key)
			}
			return
		}
		bucket := fmt.Sprintf("b%d", n.Add(1)+100)
		p, err := s.Path(bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(filepath.Join(s.Root(), bucket), p)
		if err != nil || filepath.ToSlash(rel) != key {
			t.Fatalf("key %q maps to %q (rel %q, %v)", key, p, rel, err)
		}
		if err := s.Put(t.Context(), bucket, key, []byte(key)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(t.Context(), bucket, key)
		if err != nil || string(got) != key {
			t.Fatalf("Get %q = %q, %v", key, got, err)
		}
		keys, err := s.List(t.Context(), bucket, key)
		if err != nil || !slices.Equal(keys, []string{key}) {
			t.Fatalf("List %q = %q, %v", key, keys, err)
		}
		if err := os.RemoveAll(filepath.Join(s.Root(), bucket)); err != nil {
			t.Fatal(err)
		}
	})
}
