package natsstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/rivulet/rivulet/internal/store"
)

// Delivery streams and channels keep one record each in the metadata
// bucket, under "<kind>.<account>.<region>.<base64url name>", beside the
// stream ("streams.") and table ("tables.") records.
var _ store.Resources = (*Store)(nil)

func resourceKey(kind string, k store.TableKey) (string, error) {
	if err := checkKind(kind); err != nil {
		return "", err
	}
	if err := checkToken("account", k.Account); err != nil {
		return "", err
	}
	if err := checkToken("region", k.Region); err != nil {
		return "", err
	}
	if k.Name == "" {
		return "", fmt.Errorf("natsstore: empty %s name", kind)
	}
	return kind + "." + k.Account + "." + k.Region + "." + base64.RawURLEncoding.EncodeToString([]byte(k.Name)), nil
}

// checkKind allows only the known kinds, so that no kind can reach into
// another key space of the metadata bucket.
func checkKind(kind string) error {
	switch kind {
	case store.KindDeliveryStream, store.KindChannel:
		return nil
	}
	return fmt.Errorf("natsstore: unknown resource kind %q", kind)
}

// GetResource implements store.Resources.
func (s *Store) GetResource(ctx context.Context, kind string, key store.TableKey) ([]byte, store.Revision, error) {
	if s.isClosed() {
		return nil, 0, store.ErrClosed
	}
	k, err := resourceKey(kind, key)
	if err != nil {
		return nil, 0, err
	}
	return s.kvGet(ctx, k)
}

// PutResource implements store.Resources.
func (s *Store) PutResource(ctx context.Context, kind string, key store.TableKey, val []byte, rev store.Revision) (store.Revision, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	k, err := resourceKey(kind, key)
	if err != nil {
		return 0, err
	}
	return s.casPut(ctx, k, val, rev)
}

// DeleteResource implements store.Resources.
func (s *Store) DeleteResource(ctx context.Context, kind string, key store.TableKey, rev store.Revision) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	k, err := resourceKey(kind, key)
	if err != nil {
		return err
	}
	return s.casDelete(ctx, s.kv, k, rev)
}

// ListResources implements store.Resources.
func (s *Store) ListResources(ctx context.Context, kind, account, region string) ([]store.TableKey, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	filter := kvSubjectPrefix + kind + ".>"
	if account != "" {
		if err := checkToken("account", account); err != nil {
			return nil, err
		}
		if err := checkToken("region", region); err != nil {
			return nil, err
		}
		filter = kvSubjectPrefix + kind + "." + account + "." + region + ".*"
	}
	latest, err := s.latestValues(ctx, "KV_"+metaBucket, filter)
	if err != nil {
		return nil, err
	}
	keys := make([]store.TableKey, 0, len(latest))
	for subj := range latest {
		parts := strings.Split(strings.TrimPrefix(subj, kvSubjectPrefix+kind+"."), ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("natsstore: %s key %s: not <account>.<region>.<name>", kind, subj)
		}
		name, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return nil, fmt.Errorf("natsstore: %s key %s: %w", kind, subj, err)
		}
		keys = append(keys, store.TableKey{Account: parts[0], Region: parts[1], Name: string(name)})
	}
	slices.SortFunc(keys, compareKeys)
	return keys, nil
}

func compareKeys(a, b store.TableKey) int {
	return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region), strings.Compare(a.Name, b.Name))
}
