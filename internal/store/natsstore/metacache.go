package natsstore

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// metaCache holds decoded stream records for Cached. Reading and decoding
// a stream's record from NATS was a fifth of a PutRecord's CPU. A watch on
// the bucket (headers only) drops an entry as soon as any process changes
// it, so the next Cached reads it afresh; seen stops a read that raced
// with a change from putting the older record back.
type metaCache struct {
	mu      sync.Mutex
	entries map[string]cachedMeta
	seen    map[string]uint64 // highest revision the watch reported, by key
	watch   jetstream.KeyWatcher
	started bool // the watch was tried; entries are kept only when it runs
	cancel  context.CancelFunc
}

type cachedMeta struct {
	st      *store.Stream // never handed out: callers get clones
	rev     store.Revision
	fetched time.Time
}

// cacheTTL bounds how long an entry is trusted without the watch saying
// anything: a safety net should the watch stall.
const cacheTTL = 2 * time.Second

// Cached implements store.Meta.
func (s *Store) Cached(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	k, err := metaKey(key)
	if err != nil {
		return nil, 0, err
	}
	if s.ensureWatch(ctx) {
		c := &s.cache
		c.mu.Lock()
		e, ok := c.entries[k]
		c.mu.Unlock()
		if ok && time.Since(e.fetched) < cacheTTL {
			return e.st.Clone(), e.rev, nil
		}
	}
	return s.Get(ctx, key) // fills the cache
}

// View is Cached without the copy, for readers that change nothing (the
// authorizer reads a stream's policy and tags on every request): cached
// entries are replaced, never changed, so sharing one is safe.
func (s *Store) View(ctx context.Context, key store.StreamKey) (*store.Stream, error) {
	k, err := metaKey(key)
	if err != nil {
		return nil, err
	}
	if s.ensureWatch(ctx) {
		c := &s.cache
		c.mu.Lock()
		e, ok := c.entries[k]
		c.mu.Unlock()
		if ok && time.Since(e.fetched) < cacheTTL {
			return e.st, nil
		}
	}
	st, _, err := s.Get(ctx, key)
	return st, err
}

// ensureWatch starts the bucket watch on first use and reports whether it
// runs. Stores that never serve the data path start none.
func (s *Store) ensureWatch(ctx context.Context) bool {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return c.watch != nil
	}
	if s.isClosed() {
		return false
	}
	c.started = true
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := s.kv.Watch(wctx, "streams.>", jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		cancel()
		s.log.Warn("metadata watch failed; reading metadata uncached", "err", err)
		return false
	}
	c.watch, c.cancel = w, cancel
	c.entries = map[string]cachedMeta{}
	c.seen = map[string]uint64{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for e := range w.Updates() { // closed when the watch stops
			if e != nil {
				s.cacheChanged(e.Key(), e.Revision())
			}
		}
	}()
	return true
}

// cacheChanged drops key's entry: revision rev of it exists (or a delete).
func (s *Store) cacheChanged(key string, rev uint64) {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev > c.seen[key] {
		c.seen[key] = rev
	}
	if e, ok := c.entries[key]; ok && uint64(e.rev) < rev {
		delete(c.entries, key)
	}
}

// cacheStore keeps a copy of st at rev, unless the watch already reported a
// later revision or a newer copy is held.
func (s *Store) cacheStore(key string, st *store.Stream, rev store.Revision) {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch == nil || uint64(rev) < c.seen[key] {
		return
	}
	if e, ok := c.entries[key]; ok && e.rev > rev {
		return
	}
	c.entries[key] = cachedMeta{st: st.Clone(), rev: rev, fetched: time.Now()}
}

// cacheDrop forgets key, after this handle deleted it or lost a race on it.
func (s *Store) cacheDrop(key string) {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// stopWatch ends the watch; Close waits for its goroutine.
func (s *Store) stopWatch() {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = true // no watch after Close
	if c.watch != nil {
		_ = c.watch.Stop()
		c.cancel()
		c.watch = nil
	}
}
