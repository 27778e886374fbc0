package natsstore

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// NotRebuilt lists what a stream rebuilt from its logs does not get back:
// the logs only describe the shards.
var NotRebuilt = []string{"tags", "enhanced fan-out consumers", "enhanced monitoring",
	"encryption and its data keys (records written while it was on stay unreadable)", "resource policies",
	"the maximum record size (set to 1024 KiB)", "later capacity mode changes"}

// Action is one thing Recover did, or found it could not do (Done false).
type Action struct {
	Done bool
	Text string
}

func done(format string, a ...any) Action    { return Action{Done: true, Text: fmt.Sprintf(format, a...)} }
func notDone(format string, a ...any) Action { return Action{Text: fmt.Sprintf(format, a...)} }

// Recover repairs what a check found that the logs can repair: a stream
// whose record is lost is rebuilt from its shard logs, and an open shard
// whose log is gone gets an empty one. It returns one Action per finding.
func (s *Store) Recover(ctx context.Context) ([]Action, error) {
	rep, logs, err := s.check(ctx)
	if err != nil {
		return nil, err
	}
	var out []Action
	byID := make(map[string][]*shardLog)
	for _, l := range logs {
		if l.state.Orphan {
			byID[l.ref.StreamID] = append(byID[l.ref.StreamID], l)
		}
	}
	for _, id := range sortedKeys(byID) {
		line, err := s.rebuild(ctx, id, byID[id])
		if err != nil {
			return out, err
		}
		out = append(out, line)
	}
	recreated := false
	for _, d := range rep.Damage {
		if d.Kind != DamageLogMissing {
			continue
		}
		line, err := s.recreateLog(ctx, d)
		if err != nil {
			return out, err
		}
		out = append(out, line)
		recreated = true
	}
	if recreated {
		// Other processes may cache the old log's table.
		return out, s.bumpSegEpoch(ctx)
	}
	return out, nil
}

// rebuild writes a stream record made from the specs its logs keep.
func (s *Store) rebuild(ctx context.Context, id string, logs []*shardLog) (Action, error) {
	for _, l := range logs {
		if l.spec == nil {
			return notDone("stream id %s: not rebuilt: log %s was written by a Rivulet that did not describe its shards", id, l.name), nil
		}
	}
	first := logs[0].spec
	st := &store.Stream{
		Key: first.Stream, ID: id, Created: first.StreamCreated, Status: "ACTIVE", Mode: first.Mode,
		RetentionHours: 24, MaxRecordSizeKiB: 1024, Tags: map[string]string{}, ShardLevelMetrics: []string{},
		EncryptionType: "NONE",
	}
	if st.Mode == "" {
		st.Mode = "PROVISIONED"
	}
	if h := int(logs[0].info.Config.MaxAge / time.Hour); h > 0 {
		st.RetentionHours = h
	}
	for _, l := range logs {
		sh := l.spec.Shard
		if l.state.Closed {
			closed := l.info.State.LastTime
			if closed.IsZero() {
				closed = time.Now()
			}
			sh.Closed, sh.EndSeq = &closed, l.state.LastSeq
		}
		st.Shards = append(st.Shards, sh)
		st.NextShardIndex = max(st.NextShardIndex, sh.Index+1)
	}
	slices.SortFunc(st.Shards, func(a, b store.Shard) int { return a.Index - b.Index })
	name := fmt.Sprintf("stream %q (account %s, region %s)", st.Key.Name, st.Key.Account, st.Key.Region)
	if gap := coverageGap(st.Shards); gap != "" {
		return notDone("%s: not rebuilt: its open shards leave hash keys without a shard (%s); a shard log is missing", name, gap), nil
	}
	if _, err := s.Put(ctx, st, 0); err != nil {
		if errors.Is(err, store.ErrExists) {
			return notDone("%s: not rebuilt: a stream of that name exists now; delete it and run recover again", name), nil
		}
		return Action{}, err
	}
	return done("%s: rebuilt from %d shard logs; not recovered: %s", name, len(logs), strings.Join(NotRebuilt, ", ")), nil
}

// coverageGap describes the first hash key the open shards miss, or "".
func coverageGap(shards []store.Shard) string {
	var open []store.Shard
	for _, sh := range shards {
		if sh.Closed == nil {
			open = append(open, sh)
		}
	}
	parse := func(v string) *big.Int {
		n, ok := new(big.Int).SetString(v, 10)
		if !ok {
			return big.NewInt(-1)
		}
		return n
	}
	slices.SortFunc(open, func(a, b store.Shard) int { return parse(a.StartHash).Cmp(parse(b.StartHash)) })
	next := big.NewInt(0)
	for _, sh := range open {
		if parse(sh.StartHash).Cmp(next) != 0 {
			return "from " + next.String()
		}
		next = new(big.Int).Add(parse(sh.EndHash), big.NewInt(1))
	}
	top := new(big.Int).Lsh(big.NewInt(1), 128)
	if next.Cmp(top) != 0 {
		return "from " + next.String()
	}
	return ""
}

// recreateLog gives an open shard whose log is gone a new, empty one. Its
// reservation survives, so the new log starts above it.
func (s *Store) recreateLog(ctx context.Context, d Damage) (Action, error) {
	rec, _, err := s.Get(ctx, store.StreamKey{Account: d.Account, Region: d.Region, Name: d.Stream})
	if err != nil {
		return Action{}, err
	}
	i := slices.IndexFunc(rec.Shards, func(sh store.Shard) bool { return sh.Index == d.Shard })
	if i < 0 || rec.ID != d.StreamID {
		return notDone("stream %q shard %d: changed since the check; run recover again", d.Stream, d.Shard), nil
	}
	sh := rec.Shards[i]
	if sh.Closed != nil {
		return notDone("stream %q shard %d: its log is gone; the shard is closed, so nothing is re-created", d.Stream, d.Shard), nil
	}
	ref := store.ShardRef{StreamID: rec.ID, Shard: sh.Index}
	h, _, err := s.readHWM(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		// Nothing says how far it was written: start far above.
		_, err = s.raiseHWM(ctx, ref, hwm{Reserved: unknownJump})
	}
	if err != nil {
		return Action{}, err
	}
	if err := s.CreateShard(ctx, ref, time.Duration(rec.RetentionHours)*time.Hour, store.SpecOf(rec, sh)); err != nil {
		return Action{}, err
	}
	return done("stream %q shard %d: re-created its log, empty; records up to %d are lost", d.Stream, d.Shard, h.Acked), nil
}
