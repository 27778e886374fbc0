package kinesis

import (
	"context"
	"math"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/auth/policy"
	"github.com/rivulet/rivulet/internal/store"
)

// maxPolicyBytes caps a resource policy. AWS's limit for Kinesis is
// unconfirmed; 20 KiB is what other services' resource policies allow.
const maxPolicyBytes = 20 << 10

// PutResourcePolicy attaches a resource policy to a stream or consumer,
// replacing any it had.
func (s *Service) PutResourcePolicy(ctx context.Context, in *api.PutResourcePolicyInput) (*api.PutResourcePolicyOutput, error) {
	var v validator
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	v.str("policy", in.Policy, true, vStr{min: 1, max: math.MaxInt32})
	if err := v.err(); err != nil {
		return nil, err
	}
	doc := *in.Policy
	if len(doc) > maxPolicyBytes {
		return nil, Errorf(ErrLimitExceeded, "Policy size %d bytes exceeds the limit of %d bytes.", len(doc), maxPolicyBytes)
	}
	p, err := policy.Parse([]byte(doc))
	if err == nil {
		err = p.ValidateResource()
	}
	if err != nil {
		return nil, Errorf(ErrInvalidArgument, "Invalid policy: %s", err.Error())
	}
	if err := s.setPolicy(ctx, *in.ResourceARN, doc); err != nil {
		return nil, err
	}
	return &api.PutResourcePolicyOutput{}, nil
}

// GetResourcePolicy returns the policy attached to a stream or consumer,
// "{}" when there is none.
func (s *Service) GetResourcePolicy(ctx context.Context, in *api.GetResourcePolicyInput) (*api.GetResourcePolicyOutput, error) {
	var v validator
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	if err := v.err(); err != nil {
		return nil, err
	}
	arn := *in.ResourceARN
	var doc string
	if r, ok := parseConsumerARN(arn); ok {
		c, err := s.consumerOf(ctx, r)
		if err != nil {
			return nil, err
		}
		doc = c.Policy
	} else {
		k, err := resourceKey(arn)
		if err != nil {
			return nil, err
		}
		st, _, err := s.load(ctx, k)
		if err != nil {
			return nil, err
		}
		doc = st.Policy
	}
	if doc == "" {
		doc = "{}"
	}
	return &api.GetResourcePolicyOutput{Policy: doc}, nil
}

// DeleteResourcePolicy removes a stream's or consumer's policy. Removing
// a policy that is not there is not an error.
func (s *Service) DeleteResourcePolicy(ctx context.Context, in *api.DeleteResourcePolicyInput) (*api.DeleteResourcePolicyOutput, error) {
	var v validator
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.setPolicy(ctx, *in.ResourceARN, ""); err != nil {
		return nil, err
	}
	return &api.DeleteResourcePolicyOutput{}, nil
}

// setPolicy stores doc ("" removes it) on the stream or consumer arn names.
func (s *Service) setPolicy(ctx context.Context, arn, doc string) error {
	if r, ok := parseConsumerARN(arn); ok {
		return s.updateConsumer(ctx, r, func(c *store.Consumer) error {
			c.Policy = doc
			return nil
		})
	}
	k, err := resourceKey(arn)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		st.Policy = doc
		return nil
	})
	return err
}
