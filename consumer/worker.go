package consumer

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Worker processes a stream's shards together with the other workers of
// the same application, balancing the shards' leases among them.
type Worker struct {
	s     settings
	store *leaseStore
	log   *slog.Logger

	running atomic.Bool
	runCtx  context.Context // Run's ctx: its end starts the shutdown
	bg      context.Context // renewals and processing; ends last

	mu      sync.Mutex
	held    map[string]*heldLease
	seen    map[string]seenLease // the taker's view of every lease
	missing map[string]int       // leases whose shard listings missed, in a row

	syncMu sync.Mutex // one shard sync at a time: cleanup counts listings

	consumerARN string // FanOut
	shards      sync.WaitGroup

	// paused stops renewals and takes, as a worker that hangs would (a
	// test hook).
	paused atomic.Bool
}

// seenLease is when this worker last saw a lease's counter change, on
// its own clock: the KCL decides expiry this way, never by server time.
type seenLease struct {
	counter int64
	changed time.Time // zero: unowned when first seen, so expired
}

// heldLease is a lease this worker owns.
type heldLease struct {
	key   string
	lease *lease // as read when taken
	ctx   context.Context
	// mu serializes the writes that need the counter: renewals,
	// checkpoints and the eviction.
	mu      sync.Mutex
	counter int64
	renewed time.Time // start of the last successful renewal or take

	cancel   context.CancelFunc
	lostOnce sync.Once
	lost     atomic.Bool
}

// New checks cfg and returns a worker; Run starts it.
func New(cfg Config) (*Worker, error) {
	s, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Worker{
		s:       s,
		store:   &leaseStore{ddb: s.DynamoDB, table: s.LeaseTable},
		log:     s.Logger,
		held:    map[string]*heldLease{},
		seen:    map[string]seenLease{},
		missing: map[string]int{},
	}, nil
}

// WorkerID is the worker's identifier in the lease table.
func (w *Worker) WorkerID() string { return w.s.WorkerID }

// Run creates the lease table if it is missing, then takes, renews and
// processes leases until ctx ends. Then it shuts down gracefully:
// processors get ShutdownRequested and may checkpoint, and the worker
// releases its leases so that other workers take them at once. Run
// returns nil after a graceful shutdown, or the error that kept it from
// starting (a missing stream, a table it cannot create, a refused
// stream consumer). A Worker runs once.
func (w *Worker) Run(parent context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("consumer: worker already ran")
	}
	if err := w.store.ensureTable(parent); err != nil {
		if parent.Err() != nil {
			return nil
		}
		return err
	}
	if w.s.fanOut != nil {
		arn, err := w.setupFanOut(parent)
		if err != nil {
			if parent.Err() != nil {
				return nil
			}
			return err
		}
		w.consumerARN = arn
	}
	// ctx also ends when the first shard sync fails for good.
	ctx, fail := context.WithCancelCause(parent)
	defer fail(nil)
	w.runCtx = ctx
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	w.bg = bg

	var renewals, loops sync.WaitGroup
	renewals.Go(func() { w.renewLoop(bg) })
	synced := make(chan struct{})
	loops.Go(func() { w.syncLoop(ctx, synced, fail) })
	loops.Go(func() {
		select {
		case <-synced:
		case <-ctx.Done():
			return
		}
		w.takeLoop(ctx)
	})
	<-ctx.Done()
	loops.Wait()

	// Processors see ctx's end between batches and get ShutdownRequested;
	// past the timeout they are cut off.
	done := make(chan struct{})
	go func() { w.shards.Wait(); close(done) }()
	t := time.NewTimer(w.s.ShutdownTimeout)
	select {
	case <-done:
	case <-t.C:
		w.log.Warn("graceful shutdown timed out")
		stopBG()
		<-done
	}
	t.Stop()
	w.evictAll(bg)
	stopBG()
	renewals.Wait()
	if parent.Err() == nil {
		return context.Cause(ctx)
	}
	return nil
}

// evictAll releases every lease still held. Its context is its own: bg
// has ended when the shutdown timed out, and the leases must still go.
// It is bounded by ShutdownTimeout, not FailoverTime: on a loaded machine
// a hundred releases can take longer than a short failover, and a lease
// left held makes the others wait out the failover for nothing.
func (w *Worker) evictAll(bg context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(bg), max(w.s.FailoverTime, w.s.ShutdownTimeout))
	defer cancel()
	w.mu.Lock()
	held := make([]*heldLease, 0, len(w.held))
	for _, h := range w.held {
		held = append(held, h)
	}
	w.held = map[string]*heldLease{}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, h := range held {
		wg.Go(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.lost.Load() {
				return
			}
			if err := w.store.evict(ctx, h.key, w.s.WorkerID, h.counter); err != nil && !errors.Is(err, errConditionFailed) {
				w.log.Warn("evicting lease", "shard", h.key, "err", err)
			}
			h.lost.Store(true)
			h.cancel()
		})
	}
	wg.Wait()
}

// lose drops a lease that is no longer ours; its processor gets LeaseLost.
func (w *Worker) lose(h *heldLease, reason string) {
	h.lostOnce.Do(func() {
		w.log.Info("lease lost", "shard", h.key, "reason", reason)
		h.lost.Store(true)
		h.cancel()
		w.mu.Lock()
		if w.held[h.key] == h {
			delete(w.held, h.key)
		}
		w.mu.Unlock()
	})
}

func (w *Worker) heldSnapshot() []*heldLease {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*heldLease, 0, len(w.held))
	for _, h := range w.held {
		out = append(out, h)
	}
	return out
}

// renewLoop renews every held lease each FailoverTime/3 − 25 ms. A lease
// not renewed within FailoverTime is dropped: others may have taken it.
func (w *Worker) renewLoop(ctx context.Context) {
	t := time.NewTicker(w.s.renewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, h := range w.heldSnapshot() {
			wg.Go(func() { w.renew(ctx, h) })
		}
		wg.Wait()
	}
}

func (w *Worker) renew(ctx context.Context, h *heldLease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost.Load() {
		return
	}
	if time.Since(h.renewed) > w.s.FailoverTime {
		w.lose(h, "not renewed within the failover time")
		return
	}
	if w.paused.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, w.s.renewInterval)
	defer cancel()
	start := time.Now()
	err := w.store.renew(ctx, h.key, w.s.WorkerID, h.counter)
	switch {
	case err == nil:
		h.counter++
		h.renewed = start
	case errors.Is(err, errConditionFailed):
		w.lose(h, "taken by another worker")
	default:
		w.log.Warn("renewing lease", "shard", h.key, "err", err)
	}
}

// takeLoop takes leases at once and then every TakeInterval.
func (w *Worker) takeLoop(ctx context.Context) {
	t := time.NewTicker(w.s.TakeInterval)
	defer t.Stop()
	for {
		if !w.paused.Load() {
			if err := w.take(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("taking leases", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take is the KCL 2.x lease taker: aim at ceil(leases/workers) leases,
// take expired ones (the longest untouched first), else steal from the
// most loaded worker.
func (w *Worker) take(ctx context.Context) error {
	leases, err := w.store.list(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	failover := w.s.FailoverTime
	self := w.s.WorkerID

	w.mu.Lock()
	present := make(map[string]bool, len(leases))
	for _, l := range leases {
		present[l.key] = true
		prev, ok := w.seen[l.key]
		switch {
		case ok && prev.counter == l.counter:
		case !ok && l.owner == "":
			w.seen[l.key] = seenLease{counter: l.counter}
		default:
			w.seen[l.key] = seenLease{counter: l.counter, changed: now}
		}
	}
	for k := range w.seen {
		if !present[k] {
			delete(w.seen, k)
		}
	}
	changedAt := make(map[string]time.Time, len(w.seen))
	for k, v := range w.seen {
		changedAt[k] = v.changed
	}
	changed := func(l *lease) time.Time { return changedAt[l.key] }
	heldKeys := make(map[string]bool, len(w.held))
	for k := range w.held {
		heldKeys[k] = true
	}
	w.mu.Unlock()

	expired := func(l *lease) bool {
		return l.owner == "" || now.Sub(changed(l)) > failover
	}
	counts := map[string]int{self: 0}
	byOwner := map[string][]*lease{}
	var candidates []*lease
	for _, l := range leases {
		if heldKeys[l.key] {
			counts[self]++
			continue
		}
		if expired(l) {
			candidates = append(candidates, l)
			continue
		}
		counts[l.owner]++
		byOwner[l.owner] = append(byOwner[l.owner], l)
	}
	target := (len(leases) + len(counts) - 1) / len(counts)
	if m := w.s.MaxLeasesForWorker; m > 0 && target > m {
		target = m
	}
	need := target - counts[self]
	if need <= 0 {
		return nil
	}

	var chosen []*lease
	if len(candidates) > 0 {
		rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
		veryOld := func(l *lease) bool { return now.Sub(changed(l)) > 3*failover }
		var old, rest []*lease
		for _, l := range candidates {
			if veryOld(l) {
				old = append(old, l)
			} else {
				rest = append(rest, l)
			}
		}
		chosen = append(old, rest...)
		chosen = chosen[:min(need, len(chosen))]
	} else {
		chosen = w.chooseSteals(counts, byOwner, target, need)
	}

	for _, l := range chosen {
		if ctx.Err() != nil {
			return nil
		}
		start := time.Now()
		err := w.store.take(ctx, l, self)
		if errors.Is(err, errConditionFailed) {
			continue // another worker was quicker, or the owner renewed
		}
		if err != nil {
			return err
		}
		if l.owner != "" && l.owner != self {
			w.log.Info("lease taken", "shard", l.key, "from", l.owner)
		} else {
			w.log.Info("lease taken", "shard", l.key)
		}
		w.start(l, l.counter+1, start)
	}
	return nil
}

// chooseSteals picks leases of the most loaded worker, as the KCL does.
func (w *Worker) chooseSteals(counts map[string]int, byOwner map[string][]*lease, target, need int) []*lease {
	most, mostCount := "", -1
	for o, c := range counts {
		if o == w.s.WorkerID {
			continue
		}
		if c > mostCount || c == mostCount && rand.IntN(2) == 0 {
			most, mostCount = o, c
		}
	}
	if most == "" || mostCount < target {
		return nil
	}
	over := mostCount - target
	n := min(need, over)
	if need > 1 && over == 0 {
		n = 1
	}
	n = min(n, w.s.MaxLeasesToStealAtOneTime)
	if n <= 0 {
		return nil
	}
	victims := append([]*lease(nil), byOwner[most]...)
	rand.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	return victims[:min(n, len(victims))]
}

// start records a lease just taken and starts processing its shard.
func (w *Worker) start(l *lease, counter int64, taken time.Time) {
	ctx, cancel := context.WithCancel(w.bg)
	l.owner = w.s.WorkerID
	l.counter = counter
	h := &heldLease{key: l.key, lease: l, ctx: ctx, cancel: cancel, counter: counter, renewed: taken}
	w.mu.Lock()
	w.held[l.key] = h
	w.mu.Unlock()
	w.shards.Go(func() {
		defer cancel()
		w.runShard(h)
	})
}
