package memstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rivulet/rivulet/internal/store"
)

var _ store.Accounts = (*Store)(nil)

// accountKind files account settings among the resources, under a kind
// the Resources methods refuse, so neither can reach the other.
const accountKind = "accounts"

func accountResKey(account, region string) (resKey, error) {
	if account == "" || region == "" {
		return resKey{}, fmt.Errorf("memstore: incomplete account settings key %q %q", account, region)
	}
	return resKey{accountKind, store.TableKey{Account: account, Region: region}}, nil
}

// GetAccountSettings implements store.Accounts.
func (s *Store) GetAccountSettings(ctx context.Context, account, region string) (*store.AccountSettings, store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	k, err := accountResKey(account, region)
	if err != nil {
		return nil, 0, err
	}
	s.st.mu.Lock()
	r, ok := s.st.res[k]
	s.st.mu.Unlock()
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	var a store.AccountSettings
	if err := json.Unmarshal(r.val, &a); err != nil {
		return nil, 0, fmt.Errorf("memstore: decode account settings: %w", err)
	}
	return &a, r.rev, nil
}

// PutAccountSettings implements store.Accounts.
func (s *Store) PutAccountSettings(ctx context.Context, account, region string, a *store.AccountSettings, rev store.Revision) (store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	k, err := accountResKey(account, region)
	if err != nil {
		return 0, err
	}
	val, err := json.Marshal(a)
	if err != nil {
		return 0, fmt.Errorf("memstore: encode account settings: %w", err)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return casLocked(s.st, s.st.res, k, val, rev)
}
