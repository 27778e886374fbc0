package natsstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// Storage full.
//
// JetStream refuses every publish, records and metadata alike, once its
// usage passes its max store. Metadata writes are what frees space
// (DeleteStream, shorter retention) and what reads may need (the iterator
// secret, subscription leases), so with an embedded server the store
// refuses appends of records earlier, at the max minus a reserve: the
// reserve is left for metadata. JetStream's own limit stays the hard
// stop behind it.

// JetStream's error codes for a write refused for lack of space.
const (
	errCodeAccountResources   = 10002 // resource limits exceeded for account
	errCodeInsufficient       = 10023 // insufficient resources
	errCodeMemoryResources    = 10028 // insufficient memory resources available
	errCodeStorageResources   = 10047 // insufficient storage resources available
	errCodeStreamStoreFailed  = 10077 // stream store failed (wraps file errors)
	maxReserve                = 64 << 20
	minReserve                = 64 << 10
	reserveDivisor            = 8
	noSpaceText               = "no space left"
	insufficientResourcesText = "insufficient resources"
)

// isFull reports whether err is JetStream refusing a write for space.
func isFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, store.ErrFull) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeAccountResources, errCodeInsufficient, errCodeMemoryResources, errCodeStorageResources:
			return true
		case errCodeStreamStoreFailed:
			return strings.Contains(apiErr.Description, noSpaceText)
		}
	}
	// Text as a fallback: some paths (maximum bytes of a stream, a full
	// disk) only carry the server's message.
	msg := err.Error()
	return strings.Contains(msg, insufficientResourcesText) ||
		strings.Contains(msg, "resources exceeded") ||
		strings.Contains(msg, "resource limits exceeded") ||
		strings.Contains(msg, "maximum bytes exceeded") ||
		strings.Contains(msg, noSpaceText)
}

// storeErr wraps err with what, adding store.ErrFull when storage is full,
// and notes the refusal for Full.
func (s *Store) storeErr(what string, err error) error {
	if rerr := s.replicaError(what, err); rerr != nil {
		return rerr
	}
	if isFull(err) && !errors.Is(err, store.ErrFull) {
		s.quota.refused(1)
		return fmt.Errorf("natsstore: %s: %w: %w", what, store.ErrFull, err)
	}
	return fmt.Errorf("natsstore: %s: %w", what, err)
}

// quota is the soft limit on records. With no usage function (external
// NATS) it only remembers refusals.
type quota struct {
	usage    func() int64 // bytes JetStream uses now; nil when unknown
	cache    *usageCache  // behind usage
	hard     int64        // JetStream's max
	limit    int64        // hard minus the reserve: where records stop
	inflight atomic.Int64 // admitted record bytes not yet acknowledged
	// refusedBytes is the size of the last write refused for space, 0
	// when the last write succeeded: Full reports whether it would still
	// not fit.
	refusedBytes atomic.Int64
}

// setLimit sets JetStream's max and derives the reserve from it.
func (q *quota) setLimit(hard int64, usage func() int64) {
	if hard <= 0 {
		return
	}
	reserve := min(max(hard/reserveDivisor, minReserve), maxReserve, hard/2)
	q.cache = &usageCache{read: usage}
	q.hard, q.limit, q.usage = hard, hard-reserve, q.cache.get
}

// usageRefresh is how often admission re-reads JetStream's usage.
const usageRefresh = 100 * time.Millisecond

// usageCache spares the write path JetStream's usage report, which takes
// the account's locks and walks every stream: it is re-read at most every
// usageRefresh, and the bytes this process stored since are added on top,
// so the estimate can only err high (and deletions show at the next read).
type usageCache struct {
	read  func() int64
	added atomic.Int64

	mu   sync.Mutex
	at   time.Time
	base int64
}

// freed makes the next admission re-read the usage, after a change that
// may have freed space.
func (q *quota) freed() {
	if q.cache != nil {
		q.cache.mu.Lock()
		q.cache.at = time.Time{}
		q.cache.mu.Unlock()
	}
}

func (c *usageCache) get() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.at) >= usageRefresh {
		c.added.Store(0)
		c.base, c.at = c.read(), now
	}
	return c.base + c.added.Load()
}

// admit reserves n bytes for a record message, or returns store.ErrFull
// when they would not fit below the limit.
func (q *quota) admit(n int) error {
	if q.usage == nil {
		return nil
	}
	used := q.usage()
	for {
		cur := q.inflight.Load()
		if used+cur+int64(n) > q.limit {
			q.refused(int64(n))
			return fmt.Errorf("%w: %d bytes used of %d for records (JetStream max %d)", store.ErrFull, used+cur, q.limit, q.hard)
		}
		if q.inflight.CompareAndSwap(cur, cur+int64(n)) {
			return nil
		}
	}
}

// release ends n bytes' admission; stored says whether they were written.
func (q *quota) release(n int, stored bool) {
	if q.usage == nil {
		return
	}
	if stored {
		q.cache.added.Add(int64(n)) // before leaving inflight, so never uncounted
	}
	q.inflight.Add(-int64(n))
}

func (q *quota) refused(n int64) { q.refusedBytes.Store(max(n, 1)) }

// stored notes a successful write. With usage known, full recomputes
// instead: a small write fitting says nothing about a large one.
func (q *quota) stored() {
	if q.usage == nil {
		q.refusedBytes.Store(0)
	}
}

// full reports whether the last refused write would still not fit.
func (q *quota) full() bool {
	n := q.refusedBytes.Load()
	if n == 0 {
		return false
	}
	if q.usage == nil {
		return true // cleared by the next successful write
	}
	if q.usage()+q.inflight.Load()+n > q.limit {
		return true
	}
	q.refusedBytes.CompareAndSwap(n, 0)
	return false
}

// Full reports whether storage is refusing writes for lack of space: the
// last refused write would still not fit. It clears by itself once space
// is freed (or, on an external NATS, after a write succeeds).
func (s *Store) Full() bool { return s.quota.full() }

// Usage reports the bytes JetStream uses, the limit for records and
// JetStream's max; all zero when unknown (external NATS).
func (s *Store) Usage() (used, recordLimit, max int64) {
	if s.quota.usage == nil {
		return 0, 0, 0
	}
	return s.quota.usage(), s.quota.limit, s.quota.hard
}

// startQuota reads the embedded server's max (given or derived from the
// free disk) and sets the soft limit below it.
func (s *Store) startQuota(ns *server.Server) {
	jc := ns.JetStreamConfig()
	if jc == nil {
		return
	}
	hard := jc.MaxStore
	if s.storage == jetstream.MemoryStorage {
		hard = jc.MaxMemory
	}
	acc := ns.GlobalAccount()
	s.quota.setLimit(hard, func() int64 {
		u := acc.JetStreamUsage()
		if s.storage == jetstream.MemoryStorage {
			return int64(u.Memory)
		}
		return int64(u.Store)
	})
	s.log.Debug("storage quota", "max", hard, "record_limit", s.quota.limit)
}

// checkCapacity refuses a max above what the data directory's filesystem
// can hold: its free space plus what JetStream already stores there.
func checkCapacity(dir string, maxStore int64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("natsstore: data dir: %w", err)
	}
	free, ok, err := freeSpace(dir)
	if err != nil {
		return fmt.Errorf("natsstore: free space of %s: %w", dir, err)
	}
	if !ok {
		return nil // not knowable on this platform
	}
	used := dirSize(filepath.Join(dir, "jetstream"))
	if uint64(maxStore) > free+uint64(used) {
		return fmt.Errorf("natsstore: max storage %s exceeds what %s can hold: %s free plus %s already stored by JetStream",
			bytesText(uint64(maxStore)), dir, bytesText(free), bytesText(uint64(used)))
	}
	return nil
}

// dirSize sums the sizes of the regular files under dir; a missing dir
// is 0.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // skip what cannot be read
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
