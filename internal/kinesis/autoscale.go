package kinesis

import (
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/store"
)

// AutoScale is the ON_DEMAND scaling policy, documented in
// docs/RESHARDING.md. Each process measures the writes it serves; a shard
// that stays above HotRecords or HotBytes per second for SplitAfter is split
// in the middle, and an adjacent pair of shards that both stay below
// ColdFraction of those rates for MergeAfter is merged, keeping at least
// MinShards open.
type AutoScale struct {
	Disabled     bool
	SplitAfter   time.Duration
	MergeAfter   time.Duration
	HotRecords   float64
	HotBytes     float64
	ColdFraction float64
	MinShards    int
	Interval     time.Duration
}

func (a *AutoScale) defaults() {
	if a.SplitAfter <= 0 {
		a.SplitAfter = 30 * time.Second
	}
	if a.MergeAfter <= 0 {
		a.MergeAfter = 10 * time.Minute
	}
	if a.HotRecords <= 0 {
		a.HotRecords = 1000
	}
	if a.HotBytes <= 0 {
		a.HotBytes = 1 << 20
	}
	if a.ColdFraction <= 0 {
		a.ColdFraction = 0.1
	}
	if a.MinShards <= 0 {
		a.MinShards = onDemandShards
	}
	if a.Interval <= 0 {
		a.Interval = time.Second
	}
}

type meterKey struct {
	stream store.StreamKey
	shard  int
}

type meter struct {
	records, bytes int
	hotSince       time.Time // zero: not hot
	coldSince      time.Time // zero: not cold
}

// scaler measures ON_DEMAND writes and acts on them from one goroutine,
// started with the first ON_DEMAND write and stopped by Service.Close.
type scaler struct {
	s   *Service
	cfg AutoScale

	mu      sync.Mutex
	meters  map[meterKey]*meter
	streams map[store.StreamKey]bool
	last    time.Time
	started bool
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newScaler(s *Service, cfg AutoScale) *scaler {
	cfg.defaults()
	return &scaler{s: s, cfg: cfg, meters: map[meterKey]*meter{}, streams: map[store.StreamKey]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// record notes a write to an ON_DEMAND stream's shard.
func (a *scaler) record(k store.StreamKey, shard, records, bytes int) {
	if a == nil || a.cfg.Disabled {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.meters[meterKey{k, shard}]
	if m == nil {
		m = &meter{}
		a.meters[meterKey{k, shard}] = m
	}
	m.records += records
	m.bytes += bytes
	a.streams[k] = true
	if !a.started {
		a.started, a.last = true, a.s.now()
		go a.run()
	}
}

func (a *scaler) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	started := a.started
	a.started, a.closed = true, true // no start after close
	a.mu.Unlock()
	close(a.stop)
	if started {
		<-a.done
	}
}

func (a *scaler) run() {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.tick()
		}
	}
}

// tick turns counts into rates, updates hot and cold spells, and acts.
func (a *scaler) tick() {
	now := a.s.now()
	a.mu.Lock()
	elapsed := now.Sub(a.last).Seconds()
	a.last = now
	if elapsed <= 0 {
		a.mu.Unlock()
		return
	}
	var hot []meterKey
	for key, m := range a.meters {
		rec, by := float64(m.records)/elapsed, float64(m.bytes)/elapsed
		m.records, m.bytes = 0, 0
		if rec > a.cfg.HotRecords || by > a.cfg.HotBytes {
			if m.hotSince.IsZero() {
				m.hotSince = now
			}
			m.coldSince = time.Time{}
		} else {
			m.hotSince = time.Time{}
			if rec < a.cfg.HotRecords*a.cfg.ColdFraction && by < a.cfg.HotBytes*a.cfg.ColdFraction {
				if m.coldSince.IsZero() {
					m.coldSince = now
				}
			} else {
				m.coldSince = time.Time{}
			}
		}
		if !m.hotSince.IsZero() && now.Sub(m.hotSince) >= a.cfg.SplitAfter {
			hot = append(hot, key)
			m.hotSince = time.Time{}
		}
	}
	streams := make([]store.StreamKey, 0, len(a.streams))
	for k := range a.streams {
		streams = append(streams, k)
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, key := range hot {
		a.split(ctx, key)
	}
	for _, k := range streams {
		a.mergeCold(ctx, k, now)
	}
}

func (a *scaler) split(ctx context.Context, key meterKey) {
	_, err := a.s.update(ctx, key.stream, func(st *store.Stream) error {
		sh := findShard(st, key.shard)
		if st.Mode != api.ModeOnDemand || st.Status != api.StatusActive || sh == nil || sh.Closed != nil {
			return errSkip
		}
		r := shardRange(sh)
		if r.End.Cmp(r.Start.Add(2)) <= 0 {
			return errSkip
		}
		s, e := r.Start.String(), r.End.String()
		lo, _ := new(big.Int).SetString(s, 10)
		hi, _ := new(big.Int).SetString(e, 10)
		mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
		mid.Add(mid, big.NewInt(1))
		if err := a.s.checkShardLimit(ctx, Caller{Account: key.stream.Account, Region: key.stream.Region}, 1); err != nil {
			return err
		}
		a.s.schedule(st, store.ReshardStep{Kind: "split", Shard: key.shard, NewStart: hashkey.MustParse(mid.String()).String()})
		return nil
	})
	if err == nil {
		a.s.log.Info("on-demand split", "stream", key.stream.Name, "shard", ShardID(key.shard))
		a.s.settleNow(ctx, key.stream)
	}
}

// mergeCold merges one adjacent pair of shards that have both been cold
// for MergeAfter. A shard this process never saw a write for counts as
// cold since the stream was first seen here.
func (a *scaler) mergeCold(ctx context.Context, k store.StreamKey, now time.Time) {
	st, _, err := a.s.load(ctx, k)
	if err != nil || st.Mode != api.ModeOnDemand || st.Status != api.StatusActive {
		return
	}
	open := openByStart(st)
	if len(open) <= a.cfg.MinShards {
		return
	}
	coldEnough := func(idx int) bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		m := a.meters[meterKey{k, idx}]
		if m == nil {
			m = &meter{coldSince: now}
			a.meters[meterKey{k, idx}] = m
		}
		return !m.coldSince.IsZero() && now.Sub(m.coldSince) >= a.cfg.MergeAfter
	}
	for i := 0; i+1 < len(open); i++ {
		p, q := open[i], open[i+1]
		if !coldEnough(p.Index) || !coldEnough(q.Index) {
			continue
		}
		_, err := a.s.update(ctx, k, func(st *store.Stream) error {
			p2, q2 := findShard(st, p.Index), findShard(st, q.Index)
			if st.Mode != api.ModeOnDemand || st.Status != api.StatusActive || p2 == nil || q2 == nil || p2.Closed != nil || q2.Closed != nil {
				return errSkip
			}
			a.s.schedule(st, store.ReshardStep{Kind: "merge", Shard: p.Index, Adjacent: q.Index})
			return nil
		})
		if err == nil {
			a.s.log.Info("on-demand merge", "stream", k.Name, "shards", []string{ShardID(p.Index), ShardID(q.Index)})
			a.s.settleNow(ctx, k)
		}
		return
	}
}

// errSkip aborts an update without writing.
var errSkip = Errorf(ErrInternal, "skip")
