package natsstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// kvSubjectPrefix is how the KV bucket names its keys' subjects.
const kvSubjectPrefix = "$KV." + metaBucket + "."

// metaKey is the KV key of a stream. KV keys allow only [-/_=.a-zA-Z0-9]
// and '.' separates tokens, so the free-form name is base64url encoded.
func metaKey(k store.StreamKey) (string, error) {
	if err := checkToken("account", k.Account); err != nil {
		return "", err
	}
	if err := checkToken("region", k.Region); err != nil {
		return "", err
	}
	if k.Name == "" {
		return "", errors.New("natsstore: empty stream name")
	}
	return "streams." + k.Account + "." + k.Region + "." + base64.RawURLEncoding.EncodeToString([]byte(k.Name)), nil
}

// checkToken accepts what can stand as one KV key token unencoded.
func checkToken(what, v string) error {
	if v == "" {
		return fmt.Errorf("natsstore: empty %s", what)
	}
	for _, c := range []byte(v) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("natsstore: %s %q has characters other than [-_a-zA-Z0-9]", what, v)
		}
	}
	return nil
}

// isWrongLastSeq reports a lost compare-and-swap. Replicated streams use
// a different error code than single-replica ones.
func isWrongLastSeq(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Get reads the stream's current record from the bucket (and refreshes
// the cache behind Cached with it).
func (s *Store) Get(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	k, err := metaKey(key)
	if err != nil {
		return nil, 0, err
	}
	val, rev, err := s.kvGet(ctx, k)
	if err != nil {
		return nil, 0, err
	}
	var st store.Stream
	if err := json.Unmarshal(val, &st); err != nil {
		return nil, 0, fmt.Errorf("natsstore: decode %s: %w", k, err)
	}
	s.cacheStore(k, &st, rev)
	return &st, rev, nil
}

// kvGet reads one key of the bucket with its revision.
func (s *Store) kvGet(ctx context.Context, k string) ([]byte, store.Revision, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if s.replicas > 1 {
			return s.leaderKV(ctx, metaBucket, k)
		}
		return nil, 0, store.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("natsstore: get %s: %w", k, err)
	}
	return e.Value(), store.Revision(e.Revision()), nil
}

// Put creates (rev 0) or replaces (rev = the revision read) a stream's
// record.
func (s *Store) Put(ctx context.Context, st *store.Stream, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	k, err := metaKey(st.Key)
	if err != nil {
		return 0, err
	}
	val, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("natsstore: encode %s: %w", k, err)
	}
	n, err := s.casPut(ctx, k, val, rev)
	if err != nil {
		s.cacheDrop(k)
		return 0, err
	}
	s.cacheStore(k, st, n)
	return n, nil
}

// casPut creates key (rev 0) or replaces it if its revision is still rev.
// Create also succeeds over a delete marker, so a deleted stream's name can
// be reused.
func (s *Store) casPut(ctx context.Context, k string, val []byte, rev store.Revision) (store.Revision, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var n uint64
	var err error
	if rev == 0 {
		n, err = s.kv.Create(ctx, k, val)
		if isWrongLastSeq(err) {
			return 0, store.ErrExists
		}
	} else {
		n, err = s.kv.Update(ctx, k, val, uint64(rev))
		if isWrongLastSeq(err) {
			return 0, store.ErrConflict
		}
	}
	if err != nil {
		return 0, s.storeErr("put "+k, err)
	}
	s.quota.stored()
	return store.Revision(n), nil
}

// Delete removes a stream's record if its revision is still rev. Rev 0
// deletes whatever is there.
func (s *Store) Delete(ctx context.Context, key store.StreamKey, rev store.Revision) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	k, err := metaKey(key)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if rev == 0 {
		if _, _, err := s.Get(ctx, key); err != nil {
			return err
		}
	}
	err = s.kv.Delete(ctx, k, jetstream.LastRevision(uint64(rev)))
	s.cacheDrop(k)
	if isWrongLastSeq(err) {
		// Tell a stale revision from a record that is gone.
		if _, _, gerr := s.Get(ctx, key); errors.Is(gerr, store.ErrNotFound) {
			return store.ErrNotFound
		}
		return store.ErrConflict
	}
	if err != nil {
		return s.storeErr("delete "+k, err)
	}
	return nil
}

// List reads the namespace's records with batched direct gets on the
// bucket's stream; no consumer is created.
func (s *Store) List(ctx context.Context, account, region string) ([]*store.Stream, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if err := checkToken("account", account); err != nil {
		return nil, err
	}
	if err := checkToken("region", region); err != nil {
		return nil, err
	}
	out, err := s.listRecords(ctx, kvSubjectPrefix+"streams."+account+"."+region+".*")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *store.Stream) int { return strings.Compare(a.Key.Name, b.Key.Name) })
	return out, nil
}

// listRecords reads every live stream record whose subject matches filter.
func (s *Store) listRecords(ctx context.Context, filter string) ([]*store.Stream, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	latest := make(map[string]rawMsg) // by subject; later sequences win
	for next := uint64(1); ; {
		msgs, pending, err := s.directGet(ctx, "KV_"+metaBucket, directReq{Seq: next, NextFor: filter, Batch: 1000})
		if err != nil {
			return nil, fmt.Errorf("natsstore: list: %w", err)
		}
		for _, m := range msgs {
			latest[m.subject] = m
			next = m.seq + 1
		}
		if len(msgs) == 0 || pending == 0 {
			break
		}
	}
	out := make([]*store.Stream, 0, len(latest))
	for subj, m := range latest {
		if m.header.Get("KV-Operation") != "" || m.header.Get(jetstream.MarkerReasonHeader) != "" {
			continue // deleted or purged
		}
		var st store.Stream
		if err := json.Unmarshal(m.data, &st); err != nil {
			return nil, fmt.Errorf("natsstore: decode %s: %w", strings.TrimPrefix(subj, kvSubjectPrefix), err)
		}
		out = append(out, &st)
	}
	return out, nil
}

// Secret returns the 32-byte key shared by all processes on this NATS
// system. The first caller anywhere creates it; kv.Create makes the race
// between processes safe, and the loser reads the winner's key.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != nil {
		return slices.Clone(s.secret), nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	e, err := s.kv.Get(ctx, secretKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("natsstore: secret: %w", err)
		}
		_, err = s.kv.Create(ctx, secretKey, fresh)
		if err == nil {
			s.secret = fresh
			return slices.Clone(fresh), nil
		}
		if !isWrongLastSeq(err) {
			return nil, s.storeErr("create secret", err)
		}
		e, err = s.kv.Get(ctx, secretKey)
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: read secret: %w", err)
	}
	if len(e.Value()) != 32 {
		return nil, fmt.Errorf("natsstore: stored secret has %d bytes, want 32", len(e.Value()))
	}
	s.secret = slices.Clone(e.Value())
	return slices.Clone(s.secret), nil
}
