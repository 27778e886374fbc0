package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rivulet/rivulet/internal/store"
)

var _ store.Resources = (*Store)(nil)

type resKey struct {
	kind string
	key  store.TableKey
}

func checkResource(kind string, k store.TableKey) error {
	switch kind {
	case store.KindDeliveryStream, store.KindChannel:
	default:
		return fmt.Errorf("memstore: unknown resource kind %q", kind)
	}
	if k.Account == "" || k.Region == "" || k.Name == "" {
		return fmt.Errorf("memstore: incomplete %s key %+v", kind, k)
	}
	return nil
}

// GetResource implements store.Resources.
func (s *Store) GetResource(ctx context.Context, kind string, key store.TableKey) ([]byte, store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkResource(kind, key); err != nil {
		return nil, 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	r, ok := s.st.res[resKey{kind, key}]
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	return slices.Clone(r.val), r.rev, nil
}

// PutResource implements store.Resources.
func (s *Store) PutResource(ctx context.Context, kind string, key store.TableKey, val []byte, rev store.Revision) (store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := checkResource(kind, key); err != nil {
		return 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return casLocked(s.st, s.st.res, resKey{kind, key}, slices.Clone(val), rev)
}

// DeleteResource implements store.Resources.
func (s *Store) DeleteResource(ctx context.Context, kind string, key store.TableKey, rev store.Revision) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkResource(kind, key); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k := resKey{kind, key}
	cur, ok := s.st.res[k]
	switch {
	case !ok:
		return nil
	case rev != 0 && cur.rev != rev:
		return store.ErrConflict
	}
	delete(s.st.res, k)
	return nil
}

// ListResources implements store.Resources.
func (s *Store) ListResources(ctx context.Context, kind, account, region string) ([]store.TableKey, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	var out []store.TableKey
	for k := range s.st.res {
		if k.kind == kind && (account == "" || k.key.Account == account && k.key.Region == region) {
			out = append(out, k.key)
		}
	}
	slices.SortFunc(out, func(a, b store.TableKey) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}
