package natsstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rivulet/rivulet/internal/store"
)

// Account settings keep one JSON record per namespace in the metadata
// bucket, under "accounts.<account>.<region>".
var _ store.Accounts = (*Store)(nil)

func accountKey(account, region string) (string, error) {
	if err := checkToken("account", account); err != nil {
		return "", err
	}
	if err := checkToken("region", region); err != nil {
		return "", err
	}
	return "accounts." + account + "." + region, nil
}

// GetAccountSettings implements store.Accounts.
func (s *Store) GetAccountSettings(ctx context.Context, account, region string) (*store.AccountSettings, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	k, err := accountKey(account, region)
	if err != nil {
		return nil, 0, err
	}
	val, rev, err := s.kvGet(ctx, k)
	if err != nil {
		return nil, 0, err
	}
	var a store.AccountSettings
	if err := json.Unmarshal(val, &a); err != nil {
		return nil, 0, fmt.Errorf("natsstore: decode %s: %w", k, err)
	}
	return &a, rev, nil
}

// PutAccountSettings implements store.Accounts.
func (s *Store) PutAccountSettings(ctx context.Context, account, region string, a *store.AccountSettings, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	k, err := accountKey(account, region)
	if err != nil {
		return 0, err
	}
	val, err := json.Marshal(a)
	if err != nil {
		return 0, fmt.Errorf("natsstore: encode %s: %w", k, err)
	}
	return s.casPut(ctx, k, val, rev)
}
