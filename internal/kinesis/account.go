package kinesis

// Account settings: DescribeAccountSettings and UpdateAccountSettings.
// The one setting is the MinimumThroughputBillingCommitment, kept per
// account and region in storage. AWS documents its rules: a commitment
// lasts at least 24 hours; disabling it earlier schedules the end for the
// earliest allowed time (ENABLED_UNTIL_EARLIEST_ALLOWED_END); enabling it
// again before then cancels that. Rivulet bills nothing, so the
// commitment only gates UpdateStreamWarmThroughput, as on AWS.

import (
	"context"
	"errors"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// minCommitment is AWS's minimum commitment window.
const minCommitment = 24 * time.Hour

var vCommitmentStatus = vStr{min: vNone, max: vNone, enum: []string{api.CommitmentEnabled, api.CommitmentDisabled}}

func validateUpdateAccountSettings(in *api.UpdateAccountSettingsInput) error {
	var v validator
	if in.MinimumThroughputBillingCommitment == nil {
		v.null("minimumThroughputBillingCommitment")
	} else {
		v.str("minimumThroughputBillingCommitment.status", in.MinimumThroughputBillingCommitment.Status, true, vCommitmentStatus)
	}
	return v.err()
}

// accounts is the account-settings storage: the backend's, or else that of
// the resource storage beside it (the same NATS; the backend may be
// wrapped).
func (s *Service) accounts() (store.Accounts, error) {
	if s.cfg.Accounts != nil {
		return s.cfg.Accounts, nil
	}
	if a, ok := s.be.(store.Accounts); ok {
		return a, nil
	}
	return nil, Errorf(ErrInternal, "Account settings are not available on this server: it has no storage for them.")
}

// settleCommitment ends a scheduled end whose time has come.
func settleCommitment(c store.Commitment, now time.Time) store.Commitment {
	if c.Status == api.CommitmentEnabledUntilEarliestAllowedEnd && !now.Before(c.EarliestAllowedEndAt) {
		c.Status, c.EndedAt = api.CommitmentDisabled, c.EarliestAllowedEndAt
	}
	if c.Status == "" {
		c.Status = api.CommitmentDisabled
	}
	return c
}

// commitment reads the caller's commitment, settled.
func (s *Service) commitment(ctx context.Context, c Caller) (store.Commitment, error) {
	a, err := s.accounts()
	if err != nil {
		return store.Commitment{}, err
	}
	got, _, err := a.GetAccountSettings(ctx, c.Account, c.Region)
	if errors.Is(err, store.ErrNotFound) {
		return settleCommitment(store.Commitment{}, s.now()), nil
	}
	if err != nil {
		return store.Commitment{}, err
	}
	return settleCommitment(got.Commitment, s.now()), nil
}

func commitmentOut(c store.Commitment) *api.MinimumThroughputBillingCommitmentOutput {
	out := &api.MinimumThroughputBillingCommitmentOutput{Status: c.Status}
	at := func(t time.Time) *api.Time {
		if t.IsZero() {
			return nil
		}
		return api.NewTime(t)
	}
	out.StartedAt, out.EndedAt, out.EarliestAllowedEndAt = at(c.StartedAt), at(c.EndedAt), at(c.EarliestAllowedEndAt)
	return out
}

// DescribeAccountSettings reports the caller's account settings in the
// region it signed for. An account that never changed them has the
// commitment DISABLED, with no times.
func (s *Service) DescribeAccountSettings(ctx context.Context, in *api.DescribeAccountSettingsInput) (*api.DescribeAccountSettingsOutput, error) {
	c, err := s.commitment(ctx, CallerFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &api.DescribeAccountSettingsOutput{MinimumThroughputBillingCommitment: commitmentOut(c)}, nil
}

// UpdateAccountSettings enables or disables the commitment, at once.
// Asking for the state it is already in changes nothing.
func (s *Service) UpdateAccountSettings(ctx context.Context, in *api.UpdateAccountSettingsInput) (*api.UpdateAccountSettingsOutput, error) {
	if err := validateUpdateAccountSettings(in); err != nil {
		return nil, err
	}
	a, err := s.accounts()
	if err != nil {
		return nil, err
	}
	caller := CallerFrom(ctx)
	want := *in.MinimumThroughputBillingCommitment.Status
	for attempt := 0; ; attempt++ {
		got, rev, err := a.GetAccountSettings(ctx, caller.Account, caller.Region)
		if errors.Is(err, store.ErrNotFound) {
			got, rev, err = &store.AccountSettings{}, 0, nil
		}
		if err != nil {
			return nil, err
		}
		now := s.now()
		c := changeCommitment(settleCommitment(got.Commitment, now), want, now)
		if c == got.Commitment {
			return &api.UpdateAccountSettingsOutput{MinimumThroughputBillingCommitment: commitmentOut(c)}, nil
		}
		next := *got
		next.Commitment = c
		_, err = a.PutAccountSettings(ctx, caller.Account, caller.Region, &next, rev)
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &api.UpdateAccountSettingsOutput{MinimumThroughputBillingCommitment: commitmentOut(c)}, nil
	}
}

// changeCommitment applies a request for status want to the settled
// commitment c.
func changeCommitment(c store.Commitment, want string, now time.Time) store.Commitment {
	switch {
	case want == api.CommitmentEnabled && c.Status == api.CommitmentDisabled:
		return store.Commitment{Status: api.CommitmentEnabled, StartedAt: now, EarliestAllowedEndAt: now.Add(minCommitment)}
	case want == api.CommitmentEnabled && c.Status == api.CommitmentEnabledUntilEarliestAllowedEnd:
		c.Status, c.EndedAt = api.CommitmentEnabled, time.Time{} // the scheduled end is cancelled
	case want == api.CommitmentDisabled && c.Status == api.CommitmentEnabled && now.Before(c.EarliestAllowedEndAt):
		c.Status, c.EndedAt = api.CommitmentEnabledUntilEarliestAllowedEnd, c.EarliestAllowedEndAt
	case want == api.CommitmentDisabled && c.Status == api.CommitmentEnabled:
		c.Status, c.EndedAt = api.CommitmentDisabled, now
	}
	return c
}
