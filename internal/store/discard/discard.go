// Package discard is a benchmark-only store.Backend: stream metadata goes
// to the wrapped backend as usual, but records are acknowledged and thrown
// away. It measures the cost of everything but storage (HTTP, decoding,
// validation, routing) and must never serve real data.
package discard

import (
	"context"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// Backend discards records and keeps metadata in the wrapped backend.
type Backend struct {
	store.Backend

	mu   sync.Mutex
	tips map[store.ShardRef]*store.Tip
}

// Wrap returns a backend that stores metadata in b and discards records.
func Wrap(b store.Backend) *Backend {
	return &Backend{Backend: b, tips: map[store.ShardRef]*store.Tip{}}
}

func (d *Backend) tip(ref store.ShardRef) *store.Tip {
	t := d.tips[ref]
	if t == nil {
		t = &store.Tip{FirstSeq: 1}
		d.tips[ref] = t
	}
	return t
}

// Append acknowledges entries at once, one message per call, storing
// nothing.
func (d *Backend) Append(ctx context.Context, ref store.ShardRef, entries []store.Entry) ([]store.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	t := d.tip(ref)
	t.LastSeq++
	t.LastTime = time.Now()
	seq, at := t.LastSeq, t.LastTime
	d.mu.Unlock()
	pos := make([]store.Position, len(entries))
	for i := range pos {
		pos[i] = store.Position{Seq: seq, Sub: i, Time: at}
	}
	return pos, nil
}

// Read finds nothing: every record was discarded.
func (d *Backend) Read(ctx context.Context, ref store.ShardRef, from uint64, maxMsgs, maxBytes int) ([]store.Message, error) {
	return nil, ctx.Err()
}

// Tip reports how many messages were discarded.
func (d *Backend) Tip(ctx context.Context, ref store.ShardRef) (store.Tip, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.tip(ref), nil
}

// SeekTime points past everything discarded.
func (d *Backend) SeekTime(ctx context.Context, ref store.ShardRef, t time.Time) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tip(ref).LastSeq + 1, nil
}

// CloseShard reports the last discarded message.
func (d *Backend) CloseShard(ctx context.Context, ref store.ShardRef) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tip(ref).LastSeq, nil
}
