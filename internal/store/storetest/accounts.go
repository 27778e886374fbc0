package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// RunAccounts runs the store.Accounts contract against fresh storage from
// open.
func RunAccounts(t *testing.T, open func(t *testing.T) store.Accounts) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Accounts)
	}{
		{"CreateGetReplace", accountsCAS},
		{"NamespacesApart", accountsApart},
		{"BadKey", accountsBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func accountsCAS(t *testing.T, a store.Accounts) {
	ctx := context.Background()
	const acct, region = "111122223333", "us-east-1"
	if _, _, err := a.GetAccountSettings(ctx, acct, region); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	start := time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.UTC)
	one := &store.AccountSettings{Commitment: store.Commitment{Status: "ENABLED", StartedAt: start, EarliestAllowedEndAt: start.Add(24 * time.Hour)}}
	rev, err := a.PutAccountSettings(ctx, acct, region, one, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutAccountSettings(ctx, acct, region, one, 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create twice: %v, want ErrExists", err)
	}
	got, grev, err := a.GetAccountSettings(ctx, acct, region)
	if err != nil || grev != rev {
		t.Fatalf("get = rev %d, %v; want %d", grev, err, rev)
	}
	if got.Commitment.Status != "ENABLED" || !got.Commitment.StartedAt.Equal(start) ||
		!got.Commitment.EarliestAllowedEndAt.Equal(start.Add(24*time.Hour)) || !got.Commitment.EndedAt.IsZero() {
		t.Fatalf("get = %+v, want %+v", got.Commitment, one.Commitment)
	}
	two := &store.AccountSettings{Commitment: store.Commitment{Status: "DISABLED", StartedAt: start, EndedAt: start.Add(48 * time.Hour)}}
	rev2, err := a.PutAccountSettings(ctx, acct, region, two, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutAccountSettings(ctx, acct, region, one, rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replace: %v, want ErrConflict", err)
	}
	got, grev, err = a.GetAccountSettings(ctx, acct, region)
	if err != nil || grev != rev2 || got.Commitment.Status != "DISABLED" || !got.Commitment.EndedAt.Equal(start.Add(48*time.Hour)) {
		t.Fatalf("get = %+v rev %d, %v; want DISABLED rev %d", got, grev, err, rev2)
	}
}

// Each (account, region) has its own settings.
func accountsApart(t *testing.T, a store.Accounts) {
	ctx := context.Background()
	on := &store.AccountSettings{Commitment: store.Commitment{Status: "ENABLED"}}
	if _, err := a.PutAccountSettings(ctx, "111122223333", "us-east-1", on, 0); err != nil {
		t.Fatal(err)
	}
	for _, ns := range [][2]string{{"111122223333", "eu-west-1"}, {"444455556666", "us-east-1"}} {
		if _, _, err := a.GetAccountSettings(ctx, ns[0], ns[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get %v: %v, want ErrNotFound", ns, err)
		}
	}
}

func accountsBadKey(t *testing.T, a store.Accounts) {
	ctx := context.Background()
	for _, ns := range [][2]string{{"", "us-east-1"}, {"111122223333", ""}} {
		if _, _, err := a.GetAccountSettings(ctx, ns[0], ns[1]); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("get %q: %v, want a key error", ns, err)
		}
		if _, err := a.PutAccountSettings(ctx, ns[0], ns[1], &store.AccountSettings{}, 0); err == nil {
			t.Errorf("put %q: no error", ns)
		}
	}
}
