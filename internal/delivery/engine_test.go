package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
)

// keyLayout is AWS's default key: yyyy/MM/dd/HH/<stream>-<version>-
// yyyy-MM-dd-HH-mm-ss-<uuid><ext>.
func keyLayout(prefix, stream, ext string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\d{4}/\d{2}/\d{2}/\d{2}/` + regexp.QuoteMeta(stream) +
		`-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}` + regexp.QuoteMeta(ext) + `$`)
}

func TestIntervalFlushKeysInAWSLayout(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	ds := s3Stream("interval", 5, 1)
	ds.Destination.ExtendedS3.Prefix = ptr("logs/")
	ds.Destination.ExtendedS3.CompressionFormat = "GZIP"
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	want := recs("r", 3)
	putRecords(t, st, ds, want...)
	waitFor(t, "an object", func() bool { return len(list(t, objs, "dest", "logs/")) > 0 })
	keys := list(t, objs, "dest", "logs/")
	if len(keys) != 1 {
		t.Fatalf("keys = %q, want one object", keys)
	}
	if re := keyLayout("logs/", "interval", ".gz"); !re.MatchString(keys[0]) {
		t.Fatalf("key %q does not match %s", keys[0], re)
	}
	if got := string(get(t, objs, "dest", keys[0])); got != strings.Join(want, "") {
		t.Fatalf("object = %q, want %q", got, strings.Join(want, ""))
	}
}

func TestSizeFlush(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	// 1 MiB buffer, an interval no test waits for: only size flushes.
	ds := s3Stream("size", 1, 900)
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	big := strings.Repeat("x", 300<<10)
	var data []string
	for i := range 5 {
		data = append(data, string(rune('a'+i))+big+"\n")
	}
	for _, d := range data {
		putRecords(t, st, ds, d)
	}
	waitFor(t, "an object", func() bool { return len(list(t, objs, "dest", "")) > 0 })
	keys := list(t, objs, "dest", "")
	if len(keys) != 1 {
		t.Fatalf("keys = %q, want one object", keys)
	}
	if re := keyLayout("", "size", ""); !re.MatchString(keys[0]) {
		t.Fatalf("key %q does not match %s", keys[0], re)
	}
	// Four records reach 1 MiB; the fifth waits for more or the interval.
	if got := string(get(t, objs, "dest", keys[0])); got != strings.Join(data[:4], "") {
		t.Fatalf("object holds %d bytes, want the first four records (%d bytes)", len(got), len(strings.Join(data[:4], "")))
	}
}

func TestRestartResumesFromCheckpoint(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	ds := s3Stream("restart", 5, 0)
	createStream(t, st, ds)
	first := recs("one", 4)
	putRecords(t, st, ds, first...)
	a := startEngine(t, st, objs, "a")
	waitFor(t, "the first batch", func() bool { return len(lines(t, objs, "dest", "")) == len(first) })
	waitFor(t, "the checkpoint", func() bool {
		_, _, err := st.GetValue(context.Background(), checkpointKey(ds.ID))
		return err == nil
	})
	a.stop()

	second := recs("two", 3)
	putRecords(t, st, ds, second...)
	startEngine(t, st, objs, "b")
	all := append(slices.Clone(first), second...)
	for i := range all {
		all[i] = strings.TrimSuffix(all[i], "\n")
	}
	slices.Sort(all)
	waitFor(t, "the second batch", func() bool { return len(lines(t, objs, "dest", "")) >= len(all) })
	if got := lines(t, objs, "dest", ""); !slices.Equal(got, all) {
		t.Fatalf("delivered %q, want each of %q once", got, all)
	}
	if n := len(list(t, objs, "dest", "")); n != 2 {
		t.Fatalf("%d objects, want 2 (nothing re-delivered)", n)
	}
}

// leaseOwner reads who holds the delivery stream's owner lease.
func leaseOwner(t *testing.T, st Storage, ds *model.DeliveryStream) string {
	t.Helper()
	raw, _, err := st.GetValue(context.Background(), ownerKey(ds.ID))
	if err != nil {
		return ""
	}
	var l ownerLease
	if err := json.Unmarshal(raw, &l); err != nil {
		t.Fatalf("lease %q: %v", raw, err)
	}
	return l.Owner
}

func TestTwoEnginesOneOwnerThenTakeover(t *testing.T) {
	root := openStore(t, nil)
	stA, stB := openStore(t, root), openStore(t, root)
	objs := newObjects(t)
	ds := s3Stream("owned", 5, 0)
	createStream(t, root, ds)
	engines := map[string]*testEngine{"a": startEngine(t, stA, objs, "a"), "b": startEngine(t, stB, objs, "b")}
	stores := map[string]Storage{"a": stA, "b": stB}

	var want []string
	send := func(tag string, n int) {
		for _, r := range recs(tag, n) {
			putRecords(t, root, ds, r)
			want = append(want, strings.TrimSuffix(r, "\n"))
		}
		slices.Sort(want)
	}
	delivered := func() bool { return len(lines(t, objs, "dest", "")) >= len(want) }
	send("p1", 20)
	waitFor(t, "the first records", delivered)
	if got := lines(t, objs, "dest", ""); !slices.Equal(got, want) {
		t.Fatalf("two engines delivered %q, want each of %q once", got, want)
	}

	// The owner stops gracefully: the other takes over at once.
	owner := leaseOwner(t, root, ds)
	if engines[owner] == nil {
		t.Fatalf("lease owner %q is neither engine", owner)
	}
	engines[owner].stop()
	other := map[string]string{"a": "b", "b": "a"}[owner]
	send("p2", 10)
	waitFor(t, "the records after a graceful stop", delivered)
	if got := lines(t, objs, "dest", ""); !slices.Equal(got, want) {
		t.Fatalf("after takeover delivered %q, want each of %q once", got, want)
	}
	if o := leaseOwner(t, root, ds); o != other {
		t.Fatalf("lease owner %q, want %q", o, other)
	}

	// The new owner's process dies without releasing: its lease expires
	// and a third engine takes over, losing nothing.
	_ = stores[other].(interface{ Close() error }).Close()
	stC := openStore(t, root)
	startEngine(t, stC, objs, "c")
	send("p3", 10)
	waitFor(t, "the records after the owner died", func() bool {
		got := lines(t, objs, "dest", "")
		for _, w := range want {
			if _, ok := slices.BinarySearch(got, w); !ok {
				return false
			}
		}
		return true
	})
	if o := leaseOwner(t, root, ds); o != "c" {
		t.Fatalf("lease owner %q, want c", o)
	}
	engines[other].stop()
}

// heldObjects holds back the Put of every object whose body starts with
// hold until release is closed.
type heldObjects struct {
	dest.ObjectStore
	hold    string
	release chan struct{}
}

func (h *heldObjects) Put(ctx context.Context, bucket, key string, body []byte) error {
	if strings.HasPrefix(string(body), h.hold) {
		select {
		case <-h.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h.ObjectStore.Put(ctx, bucket, key, body)
}

// TestConcurrentBatchesCheckpointInOrder: while the first batch's object
// is held back, the next batches are delivered beside it, and the
// checkpoint waits for the first.
func TestConcurrentBatchesCheckpointInOrder(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	held := &heldObjects{ObjectStore: objs, hold: "a", release: make(chan struct{})}
	// 1 MiB buffers of four 300 KiB records; no interval flush.
	ds := s3Stream("concurrent", 1, 900)
	createStream(t, st, ds)
	big := strings.Repeat("x", 300<<10)
	var data []string
	for i := range 12 {
		data = append(data, string(rune('a'+i))+big+"\n")
	}
	for _, d := range data {
		putRecords(t, st, ds, d)
	}
	startEngine(t, st, held, "a")
	waitFor(t, "the second and third batches", func() bool { return len(list(t, objs, "dest", "")) == 2 })
	if _, _, err := st.GetValue(context.Background(), checkpointKey(ds.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint with the first batch held back: %v, want none yet", err)
	}
	close(held.release)
	waitFor(t, "the first batch", func() bool { return len(list(t, objs, "dest", "")) == 3 })
	waitFor(t, "the checkpoint past all three", func() bool {
		raw, _, err := st.GetValue(context.Background(), checkpointKey(ds.ID))
		if err != nil {
			return false
		}
		var cp checkpoint
		return json.Unmarshal(raw, &cp) == nil && cp == checkpoint{Seq: 12, Sub: 1}
	})
}
