package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// Logical sequences. A JetStream stream that loses its newest messages
// (a damaged block file) hands their sequences out again. So the sequences
// Rivulet shows (store.Position.Seq, and from them the Kinesis sequence
// numbers) are logical: JetStream's sequence plus the offset of the
// segment it falls in. Every start of the owning server opens a new
// segment whose first logical sequence is above everything ever
// acknowledged, as recorded by the shard's reservation. The format is in
// docs/format/batch.md ("Segments and reservations").

// segment maps JetStream sequences from From on (up to the next segment's
// From) to logical sequences seq+Offset.
type segment struct{ From, Offset uint64 }

// segTable is a shard's segments, sorted by From, never empty. Offsets and
// logical starts both increase.
type segTable []segment

var identity = segTable{{From: 1}}

// logical maps a JetStream sequence.
func (t segTable) logical(js uint64) uint64 {
	i := len(t) - 1
	for i > 0 && t[i].From > js {
		i--
	}
	return js + t[i].Offset
}

// lastLogical is the logical sequence just below where the message after
// JetStream's last would land: the log's logical last sequence.
func (t segTable) lastLogical(jsLast uint64) uint64 { return t.logical(jsLast+1) - 1 }

// js maps a logical sequence back. One that falls in the gap before a
// segment (sequences lost or never used) maps to that segment's start, as
// a trimmed position reads from the oldest record left.
func (t segTable) js(logical uint64) uint64 {
	i := len(t) - 1
	for i > 0 && t[i].From+t[i].Offset > logical {
		i--
	}
	if logical < t[i].From+t[i].Offset {
		return t[i].From
	}
	js := logical - t[i].Offset
	if i+1 < len(t) && js >= t[i+1].From {
		return t[i+1].From
	}
	return js
}

// with returns the table with a new last segment starting at from; any
// segment starting at or after from held nothing that survived, and goes.
func (t segTable) with(from, offset uint64) segTable {
	out := make(segTable, 0, len(t)+1)
	for _, s := range t {
		if s.From < from {
			out = append(out, s)
		}
	}
	return append(out, segment{From: from, Offset: offset})
}

// trimmed drops leading segments that retention emptied (the next one
// starts at or below the log's first sequence).
func (t segTable) trimmed(jsFirst uint64) segTable {
	for len(t) > 1 && t[1].From <= jsFirst {
		t = t[1:]
	}
	return t
}

func (t segTable) String() string {
	var b strings.Builder
	for i, s := range t {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(s.From, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(s.Offset, 10))
	}
	return b.String()
}

// parseSegments reads a table written by String. An empty string is the
// identity table (a log written before segments existed).
func parseSegments(v string) (segTable, error) {
	if v == "" {
		return identity, nil
	}
	var t segTable
	for _, f := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(f, ":")
		from, err1 := strconv.ParseUint(a, 10, 64)
		off, err2 := strconv.ParseUint(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || from == 0 {
			return nil, fmt.Errorf("natsstore: bad segment %q", f)
		}
		if n := len(t); n > 0 && (from <= t[n-1].From || off < t[n-1].Offset) {
			return nil, fmt.Errorf("natsstore: segments out of order: %q", v)
		}
		t = append(t, segment{From: from, Offset: off})
	}
	return t, nil
}

// Keys in a shard stream's config metadata.
const (
	metaSegments = "rivulet.segments"
	metaShard    = "rivulet.shard" // JSON of store.ShardSpec
)

// segEpochKey is a KV key whose every change tells each process to drop
// its cached segment tables.
const segEpochKey = "segments.epoch"

// segCache holds each shard log's table, read from its stream config.
type segCache struct {
	mu   sync.RWMutex
	segs map[string]segTable
}

func (c *segCache) get(name string) (segTable, bool) {
	c.mu.RLock()
	t, ok := c.segs[name]
	c.mu.RUnlock()
	return t, ok
}

func (c *segCache) put(name string, t segTable) {
	c.mu.Lock()
	if c.segs == nil {
		c.segs = make(map[string]segTable)
	}
	c.segs[name] = t
	c.mu.Unlock()
}

func (c *segCache) drop(name string) {
	c.mu.Lock()
	delete(c.segs, name)
	c.mu.Unlock()
}

func (c *segCache) reset() {
	c.mu.Lock()
	c.segs = nil
	c.mu.Unlock()
}

// watchSegments drops the cache whenever any process changes a table.
func (s *Store) watchSegments(ctx context.Context) error {
	ch, stop, err := s.WatchValue(ctx, segEpochKey)
	if err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer stop()
		for {
			select {
			case <-ch:
				s.segs.reset()
			case <-s.quit:
				return
			}
		}
	}()
	return nil
}

// segmentsOf returns the shard log's table, reading the stream config on a
// cache miss. A missing log gives store.ErrNotFound.
func (s *Store) segmentsOf(ctx context.Context, name string) (segTable, error) {
	if t, ok := s.segs.get(name); ok {
		return t, nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: stream %s: %w", name, err)
	}
	return s.tableFrom(name, st.CachedInfo())
}

// tableFrom parses and caches the table in a stream's info.
func (s *Store) tableFrom(name string, info *jetstream.StreamInfo) (segTable, error) {
	t, err := parseSegments(info.Config.Metadata[metaSegments])
	if err != nil {
		return nil, fmt.Errorf("natsstore: stream %s: %w", name, err)
	}
	s.segs.put(name, t)
	return t, nil
}

// Reservations. Before an append is acknowledged, the shard's reservation
// in the KV bucket must cover its logical sequence; it is raised
// reserveAhead messages at a time, so one KV write serves many appends.
// Acked trails behind: it is written when a reservation is raised, once a
// second while the shard is written, and when its flusher goes idle.
var reserveAhead uint64 = 1 << 16 // a variable so tests can make it small

const (
	// unknownJump is how far the logical sequence moves when a shard's
	// reservation is lost with the metadata: more messages than one shard
	// can have written.
	unknownJump = 1 << 44
)

// hwm is the value under a shard's reservation key.
type hwm struct {
	Reserved uint64 `json:"reserved"`
	Acked    uint64 `json:"acked"`
}

// hwmKey is the KV key of a shard's reservation.
func hwmKey(ref store.ShardRef) string {
	return "hwm." + ref.StreamID + "." + strconv.Itoa(ref.Shard)
}

func (s *Store) readHWM(ctx context.Context, ref store.ShardRef) (hwm, store.Revision, error) {
	// Not GetValue: the flushers' last checkpoint runs after Close began.
	raw, rev, err := s.kvGet(ctx, valuePrefix+hwmKey(ref))
	if err != nil {
		return hwm{}, 0, err
	}
	var h hwm
	if err := json.Unmarshal(raw, &h); err != nil {
		return hwm{}, 0, fmt.Errorf("natsstore: %s: %w", hwmKey(ref), err)
	}
	return h, rev, nil
}

// raiseHWM raises the stored reservation and acked mark to at least the
// given values (compare-and-swap, as other processes may raise them too)
// and returns what is stored.
func (s *Store) raiseHWM(ctx context.Context, ref store.ShardRef, want hwm) (hwm, error) {
	for attempt := 0; ; attempt++ {
		cur, rev, err := s.readHWM(ctx, ref)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return hwm{}, err
		}
		if cur.Reserved >= want.Reserved && cur.Acked >= want.Acked && rev != 0 {
			return cur, nil
		}
		next := hwm{Reserved: max(cur.Reserved, want.Reserved), Acked: max(cur.Acked, want.Acked)}
		raw, _ := json.Marshal(next)
		_, err = s.casPut(ctx, valuePrefix+hwmKey(ref), raw, rev)
		if err == nil {
			return next, nil
		}
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)) && attempt < 50 {
			continue
		}
		return hwm{}, err
	}
}

// putConfigMeta sets keys in a shard stream's config metadata (its
// segment table, its spec). The caller then bumps the segment epoch, so
// every process drops its cached table.
func (s *Store) putConfigMeta(ctx context.Context, name string, info *jetstream.StreamInfo, set map[string]string) error {
	cfg := info.Config
	md := make(map[string]string, len(cfg.Metadata)+len(set))
	for k, v := range cfg.Metadata {
		md[k] = v
	}
	for k, v := range set {
		md[k] = v
	}
	cfg.Metadata = md
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return s.storeErr("update the metadata of "+name, err)
	}
	if v, ok := set[metaSegments]; ok {
		t, err := parseSegments(v)
		if err != nil {
			return err
		}
		s.segs.put(name, t)
	}
	return nil
}

func (s *Store) bumpSegEpoch(ctx context.Context) error {
	raw, rev, err := s.GetValue(ctx, segEpochKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	n, _ := strconv.ParseUint(string(raw), 10, 64)
	_, err = s.PutValue(ctx, segEpochKey, []byte(strconv.FormatUint(n+1, 10)), rev)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		err = nil // someone else bumped it: the signal went out
	}
	return err
}
