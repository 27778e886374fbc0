package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

func tapData(t *testing.T, recs ...string) []byte {
	t.Helper()
	ents := make([]store.Entry, len(recs))
	for i, r := range recs {
		ents[i] = store.Entry{Data: []byte(r)}
	}
	return batch.Append(nil, ents)
}

func TestTapQueueTakesOnlyTheNextRun(t *testing.T) {
	var q tapQueue
	at := time.Unix(1700000000, 0)
	q.push(5, at, tapData(t, "a", "b"))
	q.push(6, at, tapData(t, "c"))
	q.push(8, at, tapData(t, "e")) // 7 came from another process
	if got := q.take(4, readBytes); got != nil {
		t.Fatalf("take(4) = %v, want nil: the tap does not hold 4", got)
	}
	got := q.take(5, readBytes)
	if len(got) != 2 || got[0].Seq != 5 || got[1].Seq != 6 || string(got[0].Entries[1].Data) != "b" || !got[0].Time.Equal(at) {
		t.Fatalf("take(5) = %+v, want messages 5 and 6", got)
	}
	if got := q.take(7, readBytes); got != nil {
		t.Fatalf("take(7) = %v, want nil", got)
	}
	if got := q.take(8, readBytes); len(got) != 1 || string(got[0].Entries[0].Data) != "e" {
		t.Fatalf("take(8) = %+v", got)
	}
	if q.bytes != 0 || len(q.msgs) != 0 {
		t.Fatalf("after taking everything: %d bytes in %d messages", q.bytes, len(q.msgs))
	}
	// A reader that moved past the tap's messages (it read them from the
	// log) drops them.
	q.push(9, at, tapData(t, "f"))
	q.push(10, at, tapData(t, "g"))
	if got := q.take(11, readBytes); got != nil || q.bytes != 0 {
		t.Fatalf("take(11) = %v with %d bytes held, want nil and none", got, q.bytes)
	}
	// A message that does not decode ends the run.
	q.push(11, at, []byte{0xff})
	if got := q.take(11, readBytes); got != nil {
		t.Fatalf("take of an undecodable message = %v", got)
	}
}

func TestTapQueueOverflowDropsAndBounds(t *testing.T) {
	var q tapQueue
	big := make([]byte, tapLimit/4)
	for i := range 10 {
		q.push(uint64(i+1), time.Now(), big)
		if q.bytes > tapLimit {
			t.Fatalf("tap holds %d bytes, over %d", q.bytes, tapLimit)
		}
	}
	// The first messages are gone: the reader must read them from the log.
	if got := q.take(1, readBytes); got != nil {
		t.Fatalf("take(1) after overflow = %v, want nil", got)
	}
}

// countingStore counts the reads of buffer logs and the messages they
// returned. (A read that finds nothing new is the reader asking whether
// other processes appended.)
type countingStore struct {
	Storage
	reads, msgs atomic.Int64
}

func (c *countingStore) Read(ctx context.Context, ref store.ShardRef, from uint64, maxMsgs, maxBytes int) ([]store.Message, error) {
	c.reads.Add(1)
	m, err := c.Storage.Read(ctx, ref, from, maxMsgs, maxBytes)
	c.msgs.Add(int64(len(m)))
	return m, err
}

func (c *countingStore) Tap(ref store.ShardRef, fn func(uint64, time.Time, []byte)) func() {
	return c.Storage.(store.Tapper).Tap(ref, fn)
}

// Records appended in this process reach the destination from the tap;
// records another process appends are read from the log, in order.
func TestDirectPutFromTapAndLog(t *testing.T) {
	st := openStore(t, nil)
	other := openStore(t, st) // another process on the same NATS
	cs := &countingStore{Storage: st}
	objs := newObjects(t)
	ds := s3Stream("tap", 1, 900) // only size flushes
	createStream(t, st, ds)
	startEngine(t, cs, objs, "a")
	// The engine owns the stream once it has read the (empty) log.
	waitFor(t, "the first read", func() bool { return cs.reads.Load() > 0 })
	rec := strings.Repeat("x", 100<<10)
	var want []string
	// 1 MiB flushes after 11 records of 100 KiB.
	for i := range 11 {
		d := fmt.Sprintf("%d%s\n", i, rec)
		want = append(want, d)
		putRecords(t, st, ds, d)
	}
	waitFor(t, "an object", func() bool { return len(list(t, objs, "dest", "")) > 0 })
	if n := cs.msgs.Load(); n != 0 {
		t.Errorf("the engine read %d messages from the buffer log for records appended in its own process, want none", n)
	}
	// Then another process appends: those come from the log.
	for i := 11; i < 22; i++ {
		d := fmt.Sprintf("%d%s\n", i, rec)
		want = append(want, d)
		putRecords(t, other, ds, d)
	}
	waitFor(t, "two objects", func() bool { return len(list(t, objs, "dest", "")) > 1 })
	if cs.msgs.Load() == 0 {
		t.Errorf("records appended by another process were not read from the log")
	}
	var got strings.Builder
	for _, k := range list(t, objs, "dest", "") {
		got.Write(get(t, objs, "dest", k))
	}
	if got.String() != strings.Join(want, "") {
		t.Fatalf("objects hold %d bytes, want the 22 records in order (%d bytes)", got.Len(), len(strings.Join(want, "")))
	}
}
