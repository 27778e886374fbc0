package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// Small values (leases and the like) live in the metadata bucket under
// "v.<key>", apart from stream records ("streams.") and the secret. Every
// successful change is then announced on "kdsv.<key>": the bucket's own
// subject reaches plain subscribers before the change is stored, so a
// watcher woken by it could still read the old value.
const (
	valuePrefix   = "v."
	valueNotifies = "kdsv."
)

// valueKey checks a caller's key and returns its KV key.
func valueKey(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		return "", fmt.Errorf("natsstore: invalid value key %q", key)
	}
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("natsstore: value key %q has characters other than [-_.a-zA-Z0-9]", key)
		}
	}
	return valuePrefix + key, nil
}

// GetValue reads a value and its revision.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	k, err := valueKey(key)
	if err != nil {
		return nil, 0, err
	}
	return s.kvGet(ctx, k)
}

// PutValue creates (rev 0) or replaces (rev = the revision read) a value.
func (s *Store) PutValue(ctx context.Context, key string, val []byte, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	k, err := valueKey(key)
	if err != nil {
		return 0, err
	}
	n, err := s.casPut(ctx, k, val, rev)
	if err != nil {
		return 0, err
	}
	s.announceValue(key)
	return n, nil
}

// DeleteValue removes a value if it still has revision rev (0: any).
func (s *Store) DeleteValue(ctx context.Context, key string, rev store.Revision) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	k, err := valueKey(key)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var opts []jetstream.KVDeleteOpt
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(uint64(rev)))
	}
	err = s.kv.Delete(ctx, k, opts...)
	if isWrongLastSeq(err) {
		if _, _, gerr := s.GetValue(ctx, key); errors.Is(gerr, store.ErrNotFound) {
			return nil
		}
		return store.ErrConflict
	}
	if err != nil {
		return s.storeErr("delete "+k, err)
	}
	s.announceValue(key)
	return nil
}

func (s *Store) announceValue(key string) {
	if err := s.nc.Publish(valueNotifies+key, nil); err != nil {
		s.log.Debug("value notification failed", "key", key, "err", err)
	}
}

// WatchValue subscribes to the key's announcements: a plain
// subscription, no JetStream consumer.
func (s *Store) WatchValue(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	if _, err := valueKey(key); err != nil {
		return nil, nil, err
	}
	return s.watchSubject(ctx, valueNotifies+key)
}
