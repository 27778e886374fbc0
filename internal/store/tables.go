package store

import "context"

// Tables is what the DynamoDB-compatible lease-table service needs from
// storage: one small record per table, changed only by compare-and-swap,
// and one bucket of items per table, each item also changed only by
// compare-and-swap. A conditional write reads the item and its revision,
// evaluates the condition, and writes with that revision; losing the swap
// means another process wrote first, and the caller starts over. That is
// what keeps two processes on one NATS consistent.
//
// Values are opaque bytes here; the service owns their encoding.
type Tables interface {
	// GetTable reads a table record; ErrNotFound if there is none.
	GetTable(ctx context.Context, key TableKey) ([]byte, Revision, error)
	// PutTable creates (rev 0; ErrExists if present) or replaces (rev =
	// the revision read; ErrConflict if stale) a table record.
	PutTable(ctx context.Context, key TableKey, val []byte, rev Revision) (Revision, error)
	// DeleteTable removes a table record if it still has revision rev
	// (0: any); ErrConflict if stale. A missing record is not an error.
	DeleteTable(ctx context.Context, key TableKey, rev Revision) error
	// ListTables returns the table names of one namespace, sorted.
	ListTables(ctx context.Context, account, region string) ([]string, error)

	// CreateBucket makes the item bucket named id (the table's unique
	// incarnation id, [A-Za-z0-9_-]); an existing bucket is kept.
	CreateBucket(ctx context.Context, id string) error
	// DropBucket deletes a bucket and its items; a missing one is not an
	// error.
	DropBucket(ctx context.Context, id string) error

	// GetItem reads one item by its encoded key; ErrNotFound if absent
	// (or the bucket is missing).
	GetItem(ctx context.Context, bucket string, key []byte) ([]byte, Revision, error)
	// PutItem creates (rev 0; ErrConflict if present) or replaces (rev =
	// the revision read; ErrConflict if stale) an item.
	PutItem(ctx context.Context, bucket string, key, val []byte, rev Revision) (Revision, error)
	// DeleteItem removes an item if it still has revision rev (0: any);
	// ErrConflict if stale. A missing item is not an error.
	DeleteItem(ctx context.Context, bucket string, key []byte, rev Revision) error
	// Items returns every item of a bucket, sorted by key bytes.
	Items(ctx context.Context, bucket string) ([]StoredItem, error)
}

// TableKey names a table inside an (account, region) namespace.
type TableKey struct {
	Account string
	Region  string
	Name    string
}

// StoredItem is one item as Items returns it.
type StoredItem struct {
	Key []byte
	Val []byte
	Rev Revision
}
