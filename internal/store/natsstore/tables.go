package natsstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// Lease tables (the DynamoDB-compatible API) keep one record per table in
// the metadata bucket, under "tables.<account>.<region>.<base64url name>",
// and one KV bucket of items per table incarnation, "ddb-<id>". Every
// item write is a compare-and-swap on the key's revision, so processes
// sharing a NATS evaluate conditions against the same state.
const (
	tablesPrefix = "tables."
	itemBucket   = "ddb-"
	// itemStreamPrefix is the JetStream stream behind each item bucket.
	itemStreamPrefix = "KV_" + itemBucket
	// maxPlainKey bounds the base64 form of an item key used as its KV
	// key; longer keys (DynamoDB allows 2 KB + 1 KB) go by their hash,
	// since a NATS subject must fit a control line.
	maxPlainKey = 512
)

var _ store.Tables = (*Store)(nil)

func tableKey(k store.TableKey) (string, error) {
	if err := checkToken("account", k.Account); err != nil {
		return "", err
	}
	if err := checkToken("region", k.Region); err != nil {
		return "", err
	}
	if k.Name == "" {
		return "", errors.New("natsstore: empty table name")
	}
	return tablesPrefix + k.Account + "." + k.Region + "." + base64.RawURLEncoding.EncodeToString([]byte(k.Name)), nil
}

// GetTable implements store.Tables.
func (s *Store) GetTable(ctx context.Context, key store.TableKey) ([]byte, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	k, err := tableKey(key)
	if err != nil {
		return nil, 0, err
	}
	return s.kvGet(ctx, k)
}

// PutTable implements store.Tables.
func (s *Store) PutTable(ctx context.Context, key store.TableKey, val []byte, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	k, err := tableKey(key)
	if err != nil {
		return 0, err
	}
	return s.casPut(ctx, k, val, rev)
}

// DeleteTable implements store.Tables.
func (s *Store) DeleteTable(ctx context.Context, key store.TableKey, rev store.Revision) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	k, err := tableKey(key)
	if err != nil {
		return err
	}
	return s.casDelete(ctx, s.kv, k, rev)
}

// casDelete deletes k from kv if it still has revision rev (0: any). A
// key already gone is not an error.
func (s *Store) casDelete(ctx context.Context, kv jetstream.KeyValue, k string, rev store.Revision) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var opts []jetstream.KVDeleteOpt
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(uint64(rev)))
	}
	err := kv.Delete(ctx, k, opts...)
	if isWrongLastSeq(err) {
		if _, gerr := kv.Get(ctx, k); errors.Is(gerr, jetstream.ErrKeyNotFound) || errors.Is(gerr, jetstream.ErrKeyDeleted) {
			return nil
		}
		return store.ErrConflict
	}
	if err != nil {
		return s.storeErr("delete "+k, err)
	}
	return nil
}

// ListTables implements store.Tables.
func (s *Store) ListTables(ctx context.Context, account, region string) ([]string, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if err := checkToken("account", account); err != nil {
		return nil, err
	}
	if err := checkToken("region", region); err != nil {
		return nil, err
	}
	prefix := kvSubjectPrefix + tablesPrefix + account + "." + region + "."
	latest, err := s.latestValues(ctx, "KV_"+metaBucket, prefix+"*")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(latest))
	for subj := range latest {
		name, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(subj, prefix))
		if err != nil {
			return nil, fmt.Errorf("natsstore: table key %s: %w", subj, err)
		}
		names = append(names, string(name))
	}
	slices.Sort(names)
	return names, nil
}

// latestValues reads every live value of a KV stream whose subject
// matches filter, by subject.
func (s *Store) latestValues(ctx context.Context, stream, filter string) (map[string]rawMsg, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	latest := make(map[string]rawMsg)
	for next := uint64(1); ; {
		msgs, pending, err := s.directGet(ctx, stream, directReq{Seq: next, NextFor: filter, Batch: 1000})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			latest[m.subject] = m
			next = m.seq + 1
		}
		if len(msgs) == 0 || pending == 0 {
			break
		}
	}
	for subj, m := range latest {
		if m.header.Get("KV-Operation") != "" || m.header.Get(jetstream.MarkerReasonHeader) != "" {
			delete(latest, subj) // deleted or purged
		}
	}
	return latest, nil
}

func bucketName(id string) (string, error) {
	if err := checkToken("bucket", id); err != nil {
		return "", err
	}
	return itemBucket + id, nil
}

// CreateBucket implements store.Tables.
func (s *Store) CreateBucket(ctx context.Context, id string) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	name, err := bucketName(id)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	kv, err := s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "rivulet lease table items",
		History:     1,
		Storage:     s.storage,
		Replicas:    s.replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		kv, err = s.js.KeyValue(ctx, name)
	}
	if err != nil {
		return s.storeErr("create bucket "+name, err)
	}
	s.buckets.Store(id, kv)
	return nil
}

// DropBucket implements store.Tables.
func (s *Store) DropBucket(ctx context.Context, id string) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	name, err := bucketName(id)
	if err != nil {
		return err
	}
	s.buckets.Delete(id)
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = s.js.DeleteKeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("natsstore: drop bucket %s: %w", name, err)
	}
	return nil
}

// bucket binds an item bucket, once per process; ErrNotFound if it is
// missing.
func (s *Store) bucket(ctx context.Context, id string) (jetstream.KeyValue, error) {
	if kv, ok := s.buckets.Load(id); ok {
		return kv.(jetstream.KeyValue), nil
	}
	name, err := bucketName(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	kv, err := s.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: bucket %s: %w", name, err)
	}
	s.buckets.Store(id, kv)
	return kv, nil
}

// itemKey is the KV key of an item's key bytes: base64url, or for long
// keys "h.<sha-256>". The stored value starts with the key itself (see
// packItem), so Items never has to reverse the hash.
func itemKey(key []byte) (string, error) {
	if len(key) == 0 {
		return "", errors.New("natsstore: empty item key")
	}
	if k := base64.RawURLEncoding.EncodeToString(key); len(k) <= maxPlainKey {
		return "k." + k, nil
	}
	sum := sha256.Sum256(key)
	return "h." + hex.EncodeToString(sum[:]), nil
}

// packItem prefixes val with key's length and key.
func packItem(key, val []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(key)+len(val)), uint64(len(key)))
	return append(append(b, key...), val...)
}

func unpackItem(b []byte) (key, val []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, errors.New("natsstore: item value without its key")
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// GetItem implements store.Tables.
func (s *Store) GetItem(ctx context.Context, bucket string, key []byte) ([]byte, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	kv, err := s.bucket(ctx, bucket)
	if err != nil {
		return nil, 0, err
	}
	k, err := itemKey(key)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var raw []byte
	var rev store.Revision
	e, err := kv.Get(ctx, k)
	switch {
	case (errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)) && s.replicas > 1:
		// This node's replica may not have the item yet; ask the leader.
		if raw, rev, err = s.leaderKV(ctx, kv.Bucket(), k); err != nil {
			return nil, 0, err
		}
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		return nil, 0, store.ErrNotFound
	case errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound):
		s.buckets.Delete(bucket)
		return nil, 0, store.ErrNotFound
	case err != nil:
		return nil, 0, fmt.Errorf("natsstore: get item: %w", err)
	default:
		raw, rev = e.Value(), store.Revision(e.Revision())
	}
	stored, val, err := unpackItem(raw)
	if err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(stored, key) {
		// Two keys with one hash: practically impossible, but an item
		// must never answer for another.
		return nil, 0, errors.New("natsstore: item key hash collision")
	}
	return val, rev, nil
}

// PutItem implements store.Tables.
func (s *Store) PutItem(ctx context.Context, bucket string, key, val []byte, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	kv, err := s.bucket(ctx, bucket)
	if err != nil {
		return 0, err
	}
	k, err := itemKey(key)
	if err != nil {
		return 0, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	b := packItem(key, val)
	var n uint64
	if rev == 0 {
		n, err = kv.Create(ctx, k, b)
	} else {
		n, err = kv.Update(ctx, k, b, uint64(rev))
	}
	if isWrongLastSeq(err) {
		return 0, store.ErrConflict
	}
	if err != nil {
		return 0, s.storeErr("put item", err)
	}
	s.quota.stored()
	return store.Revision(n), nil
}

// DeleteItem implements store.Tables.
func (s *Store) DeleteItem(ctx context.Context, bucket string, key []byte, rev store.Revision) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	kv, err := s.bucket(ctx, bucket)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	k, err := itemKey(key)
	if err != nil {
		return err
	}
	return s.casDelete(ctx, kv, k, rev)
}

// Items implements store.Tables: one batched direct get over the bucket's
// stream, which keeps only each key's latest value.
func (s *Store) Items(ctx context.Context, bucket string) ([]store.StoredItem, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	name, err := bucketName(bucket)
	if err != nil {
		return nil, err
	}
	latest, err := s.latestValues(ctx, "KV_"+name, "$KV."+name+".>")
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // no bucket: no items
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: items of %s: %w", name, err)
	}
	out := make([]store.StoredItem, 0, len(latest))
	for subj, m := range latest {
		key, val, err := unpackItem(m.data)
		if err != nil {
			return nil, fmt.Errorf("natsstore: %s: %w", subj, err)
		}
		out = append(out, store.StoredItem{Key: key, Val: val, Rev: store.Revision(m.seq)})
	}
	slices.SortFunc(out, func(a, b store.StoredItem) int { return bytes.Compare(a.Key, b.Key) })
	return out, nil
}
