package firehose

import (
	"context"
	"slices"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// TagDeliveryStream adds or replaces tags; a stream has at most 50.
func (s *Service) TagDeliveryStream(ctx context.Context, in *TagDeliveryStreamInput) (*TagDeliveryStreamOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	if in.Tags == nil {
		v.null("tags")
	} else {
		v.tags("tags", in.Tags, 1)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "TagDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	_, err := s.modify(ctx, *in.DeliveryStreamName, func(ds *model.DeliveryStream) error {
		if ds.Tags == nil {
			ds.Tags = map[string]string{}
		}
		for _, t := range in.Tags {
			ds.Tags[*t.Key] = model.Str(t.Value)
		}
		if len(ds.Tags) > maxTags {
			return errorf(ErrLimitExceeded, "Firehose %s under account %s cannot have more than %d tags.", ds.Name, ds.Account, maxTags)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TagDeliveryStreamOutput{}, nil
}

// UntagDeliveryStream removes tags by key; missing keys are ignored.
func (s *Service) UntagDeliveryStream(ctx context.Context, in *UntagDeliveryStreamInput) (*UntagDeliveryStreamOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	switch {
	case in.TagKeys == nil:
		v.null("tagKeys")
	case len(in.TagKeys) < 1:
		v.fail("tagKeys", "'[]'", "Member must have length greater than or equal to 1")
	case len(in.TagKeys) > maxTags:
		v.fail("tagKeys", "'[...]'", "Member must have length less than or equal to 50")
	}
	for i := range in.TagKeys {
		v.str("tagKeys."+itoa(i+1)+".member", &in.TagKeys[i], true, 1, 128, validTagKey, tagKeyPatternText)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "UntagDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	_, err := s.modify(ctx, *in.DeliveryStreamName, func(ds *model.DeliveryStream) error {
		for _, k := range in.TagKeys {
			delete(ds.Tags, k)
		}
		if len(ds.Tags) == 0 {
			ds.Tags = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UntagDeliveryStreamOutput{}, nil
}

// ListTagsForDeliveryStream pages through tags in key order.
func (s *Service) ListTagsForDeliveryStream(ctx context.Context, in *ListTagsForDeliveryStreamInput) (*ListTagsForDeliveryStreamOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	v.str("exclusiveStartTagKey", in.ExclusiveStartTagKey, false, 1, 128, validTagKey, tagKeyPatternText)
	v.num("limit", in.Limit, 1, 50)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListTagsForDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	ds, _, err := s.get(ctx, *in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(ds.Tags))
	for k := range ds.Tags {
		if in.ExclusiveStartTagKey == nil || k > *in.ExclusiveStartTagKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	limit := int(model.Int(in.Limit, 50))
	out := &ListTagsForDeliveryStreamOutput{Tags: []Tag{}}
	for i, k := range keys {
		if i == limit {
			out.HasMoreTags = true
			break
		}
		out.Tags = append(out.Tags, Tag{Key: str(k), Value: str(ds.Tags[k])})
	}
	return out, nil
}
