package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/rivulet/rivulet/internal/store"
)

// Tables is an in-memory store.Tables: table records and item buckets in
// maps under one lock, with a revision counter shared by all of them so a
// revision is never reused.
type Tables struct {
	mu      sync.Mutex
	rev     store.Revision
	tables  map[store.TableKey]memRecord
	buckets map[string]map[string]memRecord
}

type memRecord struct {
	val []byte
	rev store.Revision
}

// NewTables returns an empty in-memory table store.
func NewTables() *Tables {
	return &Tables{tables: map[store.TableKey]memRecord{}, buckets: map[string]map[string]memRecord{}}
}

var _ store.Tables = (*Tables)(nil)

func (t *Tables) next() store.Revision {
	t.rev++
	return t.rev
}

// GetTable implements store.Tables.
func (t *Tables) GetTable(ctx context.Context, key store.TableKey) ([]byte, store.Revision, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.tables[key]
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	return bytes.Clone(r.val), r.rev, nil
}

// PutTable implements store.Tables.
func (t *Tables) PutTable(ctx context.Context, key store.TableKey, val []byte, rev store.Revision) (store.Revision, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.tables[key]
	switch {
	case rev == 0 && ok:
		return 0, store.ErrExists
	case rev != 0 && (!ok || r.rev != rev):
		return 0, store.ErrConflict
	}
	n := t.next()
	t.tables[key] = memRecord{val: bytes.Clone(val), rev: n}
	return n, nil
}

// DeleteTable implements store.Tables.
func (t *Tables) DeleteTable(ctx context.Context, key store.TableKey, rev store.Revision) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.tables[key]
	if !ok {
		return nil
	}
	if rev != 0 && r.rev != rev {
		return store.ErrConflict
	}
	delete(t.tables, key)
	return nil
}

// ListTables implements store.Tables.
func (t *Tables) ListTables(ctx context.Context, account, region string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var names []string
	for k := range t.tables {
		if k.Account == account && k.Region == region {
			names = append(names, k.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// CreateBucket implements store.Tables.
func (t *Tables) CreateBucket(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.buckets[id]; !ok {
		t.buckets[id] = map[string]memRecord{}
	}
	return nil
}

// DropBucket implements store.Tables.
func (t *Tables) DropBucket(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.buckets, id)
	return nil
}

// GetItem implements store.Tables.
func (t *Tables) GetItem(ctx context.Context, bucket string, key []byte) ([]byte, store.Revision, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.buckets[bucket][string(key)]
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	return bytes.Clone(r.val), r.rev, nil
}

// PutItem implements store.Tables. Writing into a missing bucket is
// ErrNotFound: its table was deleted.
func (t *Tables) PutItem(ctx context.Context, bucket string, key, val []byte, rev store.Revision) (store.Revision, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets[bucket]
	if !ok {
		return 0, store.ErrNotFound
	}
	r, ok := b[string(key)]
	if (rev == 0 && ok) || (rev != 0 && (!ok || r.rev != rev)) {
		return 0, store.ErrConflict
	}
	n := t.next()
	b[string(key)] = memRecord{val: bytes.Clone(val), rev: n}
	return n, nil
}

// DeleteItem implements store.Tables.
func (t *Tables) DeleteItem(ctx context.Context, bucket string, key []byte, rev store.Revision) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[bucket]
	r, ok := b[string(key)]
	if !ok {
		return nil
	}
	if rev != 0 && r.rev != rev {
		return store.ErrConflict
	}
	delete(b, string(key))
	return nil
}

// Items implements store.Tables.
func (t *Tables) Items(ctx context.Context, bucket string) ([]store.StoredItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[bucket]
	out := make([]store.StoredItem, 0, len(b))
	for k, r := range b {
		out = append(out, store.StoredItem{Key: []byte(k), Val: bytes.Clone(r.val), Rev: r.rev})
	}
	slices.SortFunc(out, func(a, b store.StoredItem) int { return bytes.Compare(a.Key, b.Key) })
	return out, nil
}
