package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// Kinds of Damage.
const (
	// DamageLostTail: a log ends below what was acknowledged from it.
	DamageLostTail = "lost-tail"
	// DamageLostInside: messages are missing inside a log. Rivulet never
	// deletes single messages; retention only trims the oldest.
	DamageLostInside = "lost-inside"
	// DamageMetadataLost: shard logs whose stream record is gone.
	DamageMetadataLost = "metadata-lost"
	// DamageLogMissing: a stream record names a shard whose log is gone.
	DamageLogMissing = "log-missing"
	// DamageReservationLost: a shard's reservation is gone from the
	// metadata bucket, so how far it was written is unknown.
	DamageReservationLost = "reservation-lost"
)

// Damage is one problem a check found. From and To are logical sequences
// (the seq field of Kinesis sequence numbers), inclusive; Count is in
// stored messages, each holding one or more records.
type Damage struct {
	Kind     string `json:"kind"`
	Account  string `json:"account,omitempty"`
	Region   string `json:"region,omitempty"`
	Stream   string `json:"stream,omitempty"`
	StreamID string `json:"streamId"`
	Shard    int    `json:"shard"` // -1: the whole stream
	From     uint64 `json:"from,omitempty"`
	To       uint64 `json:"to,omitempty"`
	Count    uint64 `json:"count,omitempty"`
	Detail   string `json:"detail"`
}

// ShardState is one shard log as a check saw it.
type ShardState struct {
	Account  string `json:"account,omitempty"`
	Region   string `json:"region,omitempty"`
	Stream   string `json:"stream,omitempty"`
	StreamID string `json:"streamId"`
	Shard    int    `json:"shard"`
	Closed   bool   `json:"closed"`
	// FirstSeq and LastSeq are logical; an empty log has LastSeq+1.
	FirstSeq uint64 `json:"firstSeq"`
	LastSeq  uint64 `json:"lastSeq"`
	Messages uint64 `json:"messages"`
	Reserved uint64 `json:"reserved"`
	Acked    uint64 `json:"acked"`
	Segments string `json:"segments"`
	Orphan   bool   `json:"orphan,omitempty"`
}

// Report is what Check found.
type Report struct {
	Streams int          `json:"streams"` // stream records
	Shards  []ShardState `json:"shards"`
	Damage  []Damage     `json:"damage"`
}

// shardLog is one shard log with what the check read about it.
type shardLog struct {
	ref    store.ShardRef
	name   string
	info   *jetstream.StreamInfo
	spec   *store.ShardSpec // nil for a log made before specs were kept
	rec    *store.Stream    // its stream record, nil when lost
	young  bool             // see Store.young
	table  segTable
	h      hwm
	hasHWM bool
	state  ShardState
}

// parseShardName splits "KDS_<id>_<n>".
func parseShardName(name string) (store.ShardRef, bool) {
	rest, ok := strings.CutPrefix(name, "KDS_")
	i := strings.LastIndexByte(rest, '_')
	if !ok || i <= 0 {
		return store.ShardRef{}, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n < 0 {
		return store.ShardRef{}, false
	}
	return store.ShardRef{StreamID: rest[:i], Shard: n}, true
}

// Check compares every shard log with the metadata and the reservations,
// and reports what is missing. It changes nothing.
func (s *Store) Check(ctx context.Context) (*Report, error) {
	rep, _, err := s.check(ctx)
	return rep, err
}

func (s *Store) check(ctx context.Context) (*Report, []*shardLog, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	recs, err := s.listRecords(ctx, kvSubjectPrefix+"streams.>")
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*store.Stream, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	rep := &Report{Streams: len(recs), Shards: []ShardState{}, Damage: []Damage{}}
	var logs []*shardLog
	have := make(map[store.ShardRef]bool)
	lister := s.js.ListStreams(ctx, jetstream.WithStreamListSubject("kds.>"))
	for info := range lister.Info() {
		ref, ok := parseShardName(info.Config.Name)
		if !ok || strings.HasPrefix(ref.StreamID, store.BufferLogPrefix) {
			continue // a delivery stream's buffer: no Kinesis stream owns it
		}
		l, err := s.inspect(ctx, ref, info)
		if err != nil {
			return nil, nil, err
		}
		have[ref] = true
		logs = append(logs, l)
	}
	if err := lister.Err(); err != nil {
		return nil, nil, fmt.Errorf("natsstore: list shard logs: %w", err)
	}
	slices.SortFunc(logs, func(a, b *shardLog) int {
		if c := strings.Compare(a.ref.StreamID, b.ref.StreamID); c != 0 {
			return c
		}
		return a.ref.Shard - b.ref.Shard
	})
	orphans := make(map[string]*Damage)
	for _, l := range logs {
		rec := byID[l.ref.StreamID]
		l.rec = rec
		switch {
		case rec != nil:
			l.state.Account, l.state.Region, l.state.Stream = rec.Key.Account, rec.Key.Region, rec.Key.Name
		case l.spec != nil:
			l.state.Account, l.state.Region, l.state.Stream = l.spec.Stream.Account, l.spec.Stream.Region, l.spec.Stream.Name
		}
		if rec == nil && l.young {
			// A CreateStream in progress makes its logs before its record.
		} else if rec == nil {
			l.state.Orphan = true
			d := orphans[l.ref.StreamID]
			if d == nil {
				d = &Damage{Kind: DamageMetadataLost, Account: l.state.Account, Region: l.state.Region, Stream: l.state.Stream,
					StreamID: l.ref.StreamID, Shard: -1}
				orphans[l.ref.StreamID] = d
			}
			d.Count += l.state.Messages
		}
		rep.Shards = append(rep.Shards, l.state)
		rep.Damage = append(rep.Damage, l.damage()...)
	}
	for _, id := range sortedKeys(orphans) {
		d := orphans[id]
		d.Detail = fmt.Sprintf("the shard logs of stream %q (%d stored messages) have no stream record: its metadata was lost or its creation was interrupted; rivulet recover rebuilds it", d.Stream, d.Count)
		rep.Damage = append(rep.Damage, *d)
	}
	for _, r := range recs {
		if r.Status == "DELETING" {
			continue
		}
		for _, sh := range r.Shards {
			ref := store.ShardRef{StreamID: r.ID, Shard: sh.Index}
			if sh.Pending || have[ref] {
				continue
			}
			rep.Damage = append(rep.Damage, Damage{Kind: DamageLogMissing, Account: r.Key.Account, Region: r.Key.Region,
				Stream: r.Key.Name, StreamID: r.ID, Shard: sh.Index,
				Detail: fmt.Sprintf("stream %q names shard %d, whose log is gone with every record in it; rivulet recover re-creates an open shard's log, empty", r.Key.Name, sh.Index)})
		}
	}
	return rep, logs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// inspect reads one log's segments, spec and reservation.
func (s *Store) inspect(ctx context.Context, ref store.ShardRef, info *jetstream.StreamInfo) (*shardLog, error) {
	l := &shardLog{ref: ref, name: info.Config.Name, info: info, young: s.young(info)}
	t, err := s.tableFrom(l.name, info)
	if err != nil {
		return nil, err
	}
	l.table = t
	if raw := info.Config.Metadata[metaShard]; raw != "" {
		var spec store.ShardSpec
		if err := json.Unmarshal([]byte(raw), &spec); err == nil {
			l.spec = &spec
		}
	}
	h, _, err := s.readHWM(ctx, ref)
	switch {
	case err == nil:
		l.h, l.hasHWM = h, true
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if h.Acked > t.lastLogical(info.State.LastSeq) {
		// The listed state may predate appends that a live server
		// acknowledged before the mark was read; state read after the
		// mark holds everything it covers, unless it was really lost.
		stream, err := s.js.Stream(ctx, l.name)
		if err != nil {
			return nil, fmt.Errorf("natsstore: stream %s: %w", l.name, err)
		}
		info = stream.CachedInfo()
		l.info = info
		if t, err = s.tableFrom(l.name, info); err != nil {
			return nil, err
		}
		l.table = t
	}
	st := info.State
	last := t.lastLogical(st.LastSeq)
	first := last + 1
	if st.Msgs > 0 {
		first = t.logical(st.FirstSeq)
	}
	l.state = ShardState{StreamID: ref.StreamID, Shard: ref.Shard, FirstSeq: first, LastSeq: last, Messages: st.Msgs,
		Reserved: h.Reserved, Acked: h.Acked, Segments: t.String(),
		Closed: len(info.Config.Subjects) == 1 && strings.HasSuffix(info.Config.Subjects[0], closedSuffix)}
	if st.NumDeleted > 0 {
		// Only now ask for the list: it can be long.
		stream, err := s.js.Stream(ctx, l.name)
		if err != nil {
			return nil, fmt.Errorf("natsstore: stream %s: %w", l.name, err)
		}
		full, err := stream.Info(ctx, jetstream.WithDeletedDetails(true))
		if err != nil {
			return nil, fmt.Errorf("natsstore: stream %s: %w", l.name, err)
		}
		l.info.State.Deleted = full.State.Deleted
	}
	return l, nil
}

// youngLog is how long after its creation a log without a stream record
// or reservation counts as being created rather than damaged, when the
// check runs beside live servers. A process that owns the files (start-up,
// rivulet check --data-dir) has no one creating anything beside it.
const youngLog = time.Minute

func (s *Store) young(info *jetstream.StreamInfo) bool {
	return s.ns == nil && time.Since(info.Created) < youngLog
}

// maxRanges caps how many missing ranges of one log are listed.
const maxRanges = 20

// damage lists what is wrong with one log.
func (l *shardLog) damage() []Damage {
	base := Damage{Account: l.state.Account, Region: l.state.Region, Stream: l.state.Stream, StreamID: l.ref.StreamID, Shard: l.ref.Shard}
	var out []Damage
	if !l.hasHWM && l.spec != nil && !l.young {
		d := base
		d.Kind = DamageReservationLost
		d.Detail = fmt.Sprintf("shard %d's reservation is gone from the metadata bucket; its next sequence numbers jump far ahead so none can repeat", l.ref.Shard)
		out = append(out, d)
	}
	if l.h.Acked > l.state.LastSeq {
		d := base
		d.Kind, d.From, d.To = DamageLostTail, l.state.LastSeq+1, l.h.Acked
		d.Detail = fmt.Sprintf("shard %d's log ends at %d, but messages up to %d were acknowledged: the newest ones are lost", l.ref.Shard, l.state.LastSeq, l.h.Acked)
		out = append(out, d)
	}
	if del := l.info.State.Deleted; len(del) > 0 || l.info.State.NumDeleted > 0 {
		ranges := seqRanges(del)
		for i, r := range ranges {
			if i == maxRanges {
				d := base
				d.Kind = DamageLostInside
				d.Detail = fmt.Sprintf("shard %d: %d more missing ranges not listed", l.ref.Shard, len(ranges)-maxRanges)
				out = append(out, d)
				break
			}
			d := base
			d.Kind, d.From, d.To, d.Count = DamageLostInside, l.table.logical(r[0]), l.table.logical(r[1]), r[1]-r[0]+1
			d.Detail = fmt.Sprintf("shard %d: messages %d to %d are missing inside the log", l.ref.Shard, d.From, d.To)
			out = append(out, d)
		}
		if len(ranges) == 0 {
			d := base
			d.Kind, d.Count = DamageLostInside, uint64(l.info.State.NumDeleted)
			d.Detail = fmt.Sprintf("shard %d: %d messages are missing inside the log", l.ref.Shard, d.Count)
			out = append(out, d)
		}
	}
	if lost := l.info.State.Lost; lost != nil && len(lost.Msgs) > 0 {
		d := base
		d.Kind, d.Count = DamageLostInside, uint64(len(lost.Msgs))
		d.Detail = fmt.Sprintf("shard %d: JetStream found %d damaged messages (%d bytes) and dropped them", l.ref.Shard, len(lost.Msgs), lost.Bytes)
		out = append(out, d)
	}
	return out
}

// seqRanges folds sorted sequences into inclusive runs.
func seqRanges(seqs []uint64) [][2]uint64 {
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	var out [][2]uint64
	for _, q := range seqs {
		if n := len(out); n > 0 && out[n-1][1]+1 == q {
			out[n-1][1] = q
			continue
		}
		out = append(out, [2]uint64{q, q})
	}
	return out
}

// startupCheck runs at Open on a store whose files this process owns:
// it reports damage and opens a new segment on every open shard whose
// reservation lies above its log, so no sequence is handed out twice.
func (s *Store) startupCheck(ctx context.Context) error {
	rep, logs, err := s.check(ctx)
	if err != nil {
		return fmt.Errorf("natsstore: start-up check: %w", err)
	}
	for _, d := range rep.Damage {
		s.log.Error("storage damage", "kind", d.Kind, "stream", d.Stream, "account", d.Account, "shard", d.Shard,
			"from", d.From, "to", d.To, "detail", d.Detail)
	}
	moved := 0
	for _, l := range logs {
		set := map[string]string{}
		if l.spec == nil && l.rec != nil {
			// A log from before specs were kept gets one now, so that
			// recover can rebuild its stream later.
			if i := slices.IndexFunc(l.rec.Shards, func(sh store.Shard) bool { return sh.Index == l.ref.Shard }); i >= 0 {
				raw, err := json.Marshal(store.SpecOf(l.rec, l.rec.Shards[i]))
				if err != nil {
					return err
				}
				set[metaShard] = string(raw)
			}
		}
		if l.state.Closed {
			// Takes no writes, so it hands out no sequences.
			if len(set) > 0 {
				if err := s.putConfigMeta(ctx, l.name, l.info, set); err != nil {
					return fmt.Errorf("natsstore: start-up check: %w", err)
				}
			}
			continue
		}
		if s.ns != nil && s.ns.JetStreamIsClustered() {
			// A replicated log lost no acknowledged message unless a
			// majority of its replicas did, and the other nodes go on
			// appending while this one starts: a new segment here would
			// renumber their acknowledged records. So no advance.
			if len(set) > 0 {
				if err := s.putConfigMeta(ctx, l.name, l.info, set); err != nil {
					return fmt.Errorf("natsstore: start-up check: %w", err)
				}
			}
			continue
		}
		ok, err := s.advance(ctx, l, set)
		if err != nil {
			return fmt.Errorf("natsstore: start-up check: %w", err)
		}
		if ok {
			moved++
		}
	}
	if moved > 0 {
		if err := s.bumpSegEpoch(ctx); err != nil {
			return err
		}
	}
	s.damageMu.Lock()
	s.damage = rep.Damage
	s.damageMu.Unlock()
	s.log.Debug("start-up check", "shards", len(logs), "segments opened", moved, "damage", len(rep.Damage))
	return nil
}

// advance opens a new segment on the log if its reservation lies above
// its last logical sequence (or is unknown), so the next message lands
// above every sequence that was ever acknowledged.
func (s *Store) advance(ctx context.Context, l *shardLog, set map[string]string) (bool, error) {
	last := l.state.LastSeq
	target := l.h.Reserved
	if !l.hasHWM {
		target = last + unknownJump
	}
	if target <= last {
		if len(set) > 0 {
			return false, s.putConfigMeta(ctx, l.name, l.info, set)
		}
		return false, nil
	}
	st := l.info.State
	jsFirst := st.FirstSeq
	if st.Msgs == 0 {
		jsFirst = st.LastSeq + 1
	}
	t := l.table.with(st.LastSeq+1, target-st.LastSeq).trimmed(jsFirst)
	set[metaSegments] = t.String()
	if err := s.putConfigMeta(ctx, l.name, l.info, set); err != nil {
		return false, err
	}
	if _, err := s.raiseHWM(ctx, l.ref, hwm{Reserved: target}); err != nil {
		return false, s.storeErr("reservation of "+l.name, err)
	}
	l.table = t
	return true, nil
}

// Damage is what the start-up check found (nil when this process does not
// own the files, or nothing was wrong).
func (s *Store) Damage() []Damage {
	s.damageMu.Lock()
	defer s.damageMu.Unlock()
	return slices.Clone(s.damage)
}
