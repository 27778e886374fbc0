// Package desttest holds the contract suite every dest.ObjectStore passes.
package desttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

// Keys holds the kinds of keys Firehose writes: the default hour prefix,
// dynamic partitions ("k=v"), error output types, custom timestamp
// formats (":"), and partition values with characters S3 must escape.
var Keys = []string{
	"plain",
	"2024/01/02/03/stream-1-2024-01-02-03-04-05-0b6ac8f6-4b1e-4d5a-9a57-2f8a1c3f00e1.gz",
	"customer_id=42/year=2024/month=01/stream-1-2024-01-02-03-04-05-x.parquet",
	"processing-failed/2024/01/02/03/stream-1-2024-01-02-03-04-05-x",
	"ts=2024-01-02T03:04:05Z/obj",
	"spaces in name/x y",
	"plus+sign/a+b",
	"tilde~and_underscore.dots...x",
	"percent%20literal/%2F",
	"unicode-é/ü-ß-日本",
	"punct!'()*,;@$&/x",
	"a/b/c/d/e/f/g/h/deep",
}

// RunObjectStore runs the contract suite. open returns a store and a bucket
// that exists and is empty; it is called once per subtest. No key used is
// both an object and a prefix of another ("a" and "a/b"): stores backed by a
// file system (local, versitygw's POSIX backend) cannot hold both, and
// Firehose never writes such pairs.
func RunObjectStore(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	t.Helper()
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, open) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("ListPrefix", func(t *testing.T) { testListPrefix(t, open) })
	t.Run("ListMany", func(t *testing.T) { testListMany(t, open) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, open) })
	t.Run("ConcurrentSameKey", func(t *testing.T) { testConcurrentSameKey(t, open) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, open) })
	t.Run("EmptyKey", func(t *testing.T) { testEmptyKey(t, open) })
	t.Run("Large", func(t *testing.T) { testLarge(t, open) })
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s dest.ObjectStore, bucket, key string, body []byte) {
	t.Helper()
	if err := s.Put(t.Context(), bucket, key, body); err != nil {
		t.Fatalf("Put(%q, %q): %v", bucket, key, err)
	}
}

func mustGet(t *testing.T, s dest.ObjectStore, bucket, key string, want []byte) {
	t.Helper()
	got, err := s.Get(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", bucket, key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q, %q): got %d bytes, want %d bytes (first difference at %d)",
			bucket, key, len(got), len(want), firstDiff(got, want))
	}
}

func mustList(t *testing.T, s dest.ObjectStore, bucket, prefix string, want []string) {
	t.Helper()
	got, err := s.List(t.Context(), bucket, prefix)
	if err != nil {
		t.Fatalf("List(%q, %q): %v", bucket, prefix, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q, %q):\n got %d keys %q\nwant %d keys %q", bucket, prefix, len(got), clip(got), len(want), clip(want))
	}
}

func clip(keys []string) []string {
	if len(keys) > 20 {
		return append(slices.Clip(keys[:20]), "...")
	}
	return keys
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func testPutGet(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	bodies := map[string][]byte{
		"pg/text":   []byte("hello, world\n"),
		"pg/empty":  {},
		"pg/binary": all,
		"pg/crlf":   []byte("a\r\nb\x00c\xff"),
		"pg/1mib":   randomBytes(1, 1<<20+3),
	}
	for k, b := range bodies {
		mustPut(t, s, bucket, k, b)
	}
	for k, b := range bodies {
		mustGet(t, s, bucket, k, b)
	}
	// The caller's slice may be reused after Put returns.
	buf := []byte("original")
	mustPut(t, s, bucket, "pg/reuse", buf)
	copy(buf, "XXXXXXXX")
	mustGet(t, s, bucket, "pg/reuse", []byte("original"))
	// nil and empty bodies are the same empty object.
	mustPut(t, s, bucket, "pg/nil", nil)
	mustGet(t, s, bucket, "pg/nil", []byte{})
}

func testOverwrite(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	mustPut(t, s, bucket, "ow/key", randomBytes(2, 100_000))
	mustPut(t, s, bucket, "ow/key", []byte("short"))
	mustGet(t, s, bucket, "ow/key", []byte("short"))
	mustPut(t, s, bucket, "ow/key", []byte{})
	mustGet(t, s, bucket, "ow/key", []byte{})
	mustPut(t, s, bucket, "ow/key", []byte("again"))
	mustGet(t, s, bucket, "ow/key", []byte("again"))
	mustList(t, s, bucket, "ow/", []string{"ow/key"})
}

func testKeys(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	want := make([]string, 0, len(Keys))
	for i, k := range Keys {
		key := "keys/" + k
		mustPut(t, s, bucket, key, []byte(fmt.Sprintf("body %d %s", i, k)))
		want = append(want, key)
	}
	for i, k := range Keys {
		mustGet(t, s, bucket, "keys/"+k, []byte(fmt.Sprintf("body %d %s", i, k)))
	}
	slices.Sort(want)
	mustList(t, s, bucket, "keys/", want)
	// Listing by each full key finds at least that key.
	for _, k := range want {
		got, err := s.List(t.Context(), bucket, k)
		if err != nil {
			t.Fatalf("List(%q): %v", k, err)
		}
		if !slices.Contains(got, k) {
			t.Fatalf("List(%q) = %q, missing the key itself", k, got)
		}
	}
}

func testListPrefix(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	keys := []string{
		"lp/a/1", "lp/a/2", "lp/a/sub/3",
		"lp/ab", "lp/abc/4", "lp/a-b/5", "lp/a.b", "lp/b/6", "lq/7",
	}
	for _, k := range keys {
		mustPut(t, s, bucket, k, []byte(k))
	}
	sorted := slices.Sorted(slices.Values(keys))
	filter := func(p string) []string {
		var out []string
		for _, k := range sorted {
			if strings.HasPrefix(k, p) {
				out = append(out, k)
			}
		}
		return out
	}
	for _, p := range []string{"", "l", "lp", "lp/", "lp/a", "lp/a/", "lp/a/s", "lp/ab", "lp/abc/", "lp/a-", "lp/a.", "lp/b/6", "lp/c", "lp/a/sub/3/x", "nothing/"} {
		mustList(t, s, bucket, p, filter(p))
	}
}

func testListMany(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	// More than one S3 page (1000 keys), written concurrently.
	const n = 1100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("many/%02d/obj-%05d", i%7, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.Put(t.Context(), bucket, k, []byte(k)); err != nil {
				errs <- fmt.Errorf("Put %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.Sort(keys)
	mustList(t, s, bucket, "many/", keys)
	var sub []string
	for _, k := range keys {
		if strings.HasPrefix(k, "many/03/") {
			sub = append(sub, k)
		}
	}
	mustList(t, s, bucket, "many/03/", sub)
	for _, i := range []int{0, 1, 555, n - 1} {
		mustGet(t, s, bucket, keys[i], []byte(keys[i]))
	}
}

func testNotFound(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	mustPut(t, s, bucket, "nf/dir/obj", []byte("x"))
	for _, k := range []string{"nf/missing", "nf/dir", "nf/dir/obj/below", "nf/dir/ob", "missing/deep/key"} {
		_, err := s.Get(t.Context(), bucket, k)
		if !errors.Is(err, dest.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want one wrapping dest.ErrNotFound", k, err)
		}
	}
	_, err := s.Get(t.Context(), "rivulet-no-such-bucket-7f3a", "k")
	if !errors.Is(err, dest.ErrNotFound) {
		t.Errorf("Get in a missing bucket: error = %v, want one wrapping dest.ErrNotFound", err)
	}
	mustList(t, s, bucket, "nf/missing", nil)
}

func testConcurrentSameKey(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	// Writers race on one key; the survivor must be one whole body.
	bodies := make([][]byte, 8)
	for i := range bodies {
		bodies[i] = randomBytes(uint64(100+i), 64<<10+i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(bodies)*3)
	for _, b := range bodies {
		wg.Go(func() {
			for range 3 {
				if err := s.Put(t.Context(), bucket, "race/key", b); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), bucket, "race/key")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) }) {
		t.Fatalf("after racing Puts the object (%d bytes) is none of the bodies written", len(got))
	}
	mustList(t, s, bucket, "race/", []string{"race/key"})
}

func testCanceled(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	mustPut(t, s, bucket, "cx/present", []byte("here"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, bucket, "cx/new", []byte("body")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, bucket, "cx/present"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, bucket, "cx/"); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context: error = %v, want context.Canceled", err)
	}
	// A canceled Put leaves nothing behind.
	mustList(t, s, bucket, "cx/", []string{"cx/present"})
}

func testEmptyKey(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	if err := s.Put(t.Context(), bucket, "", []byte("x")); err == nil {
		t.Error("Put with an empty key succeeded")
	}
	if _, err := s.Get(t.Context(), bucket, ""); err == nil {
		t.Error("Get with an empty key succeeded")
	}
}

func testLarge(t *testing.T, open func(t *testing.T) (dest.ObjectStore, string)) {
	s, bucket := open(t)
	body := randomBytes(3, 12<<20+12345)
	mustPut(t, s, bucket, "large/obj", body)
	mustGet(t, s, bucket, "large/obj", body)
	// Overwriting a large object with a small one leaves only the small.
	mustPut(t, s, bucket, "large/obj", []byte("small"))
	mustGet(t, s, bucket, "large/obj", []byte("small"))
	mustList(t, s, bucket, "large/", []string{"large/obj"})
}
