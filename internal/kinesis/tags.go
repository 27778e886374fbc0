package kinesis

import (
	"context"
	"sort"
	"unicode"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

func tooManyTags(k store.StreamKey) error {
	return Errorf(ErrInvalidArgument, "Failed to add tags to stream %s under account %s because a given stream cannot have more than %d tags associated with it.", k.Name, k.Account, maxTags)
}

// validTagText allows what AWS allows: Unicode letters, digits, white
// space and _ . / = + - % @ :
func validTagText(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) {
			continue
		}
		switch r {
		case '_', '.', '/', '=', '+', '-', '%', '@', ':':
			continue
		}
		return false
	}
	return true
}

func (s *Service) addTags(ctx context.Context, k store.StreamKey, tags map[string]string) error {
	for key, v := range tags {
		if !validTagText(key) || !validTagText(v) {
			return Errorf(ErrInvalidArgument, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - %% @ :.")
		}
	}
	_, err := s.update(ctx, k, func(st *store.Stream) error {
		merged := make(map[string]string, len(st.Tags)+len(tags))
		for key, v := range st.Tags {
			merged[key] = v
		}
		for key, v := range tags {
			merged[key] = v
		}
		if len(merged) > maxTags {
			return tooManyTags(k)
		}
		st.Tags = merged
		return nil
	})
	return err
}

func (s *Service) removeTags(ctx context.Context, k store.StreamKey, keys []string) error {
	_, err := s.update(ctx, k, func(st *store.Stream) error {
		for _, key := range keys {
			delete(st.Tags, key)
		}
		return nil
	})
	return err
}

func sortedTags(m map[string]string) []api.Tag {
	out := make([]api.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, api.Tag{Key: k, Value: ptr(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// AddTagsToStream adds or overwrites tags.
func (s *Service) AddTagsToStream(ctx context.Context, in *api.AddTagsToStreamInput) (*api.AddTagsToStreamOutput, error) {
	if err := validateAddTagsToStream(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	if err := s.addTags(ctx, k, in.Tags); err != nil {
		return nil, err
	}
	return &api.AddTagsToStreamOutput{}, nil
}

// RemoveTagsFromStream removes tags; missing keys are ignored.
func (s *Service) RemoveTagsFromStream(ctx context.Context, in *api.RemoveTagsFromStreamInput) (*api.RemoveTagsFromStreamOutput, error) {
	if err := validateRemoveTagsFromStream(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	if err := s.removeTags(ctx, k, in.TagKeys); err != nil {
		return nil, err
	}
	return &api.RemoveTagsFromStreamOutput{}, nil
}

// ListTagsForStream pages through tags in key order.
func (s *Service) ListTagsForStream(ctx context.Context, in *api.ListTagsForStreamInput) (*api.ListTagsForStreamOutput, error) {
	if err := validateListTagsForStream(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	limit := maxTags
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	out := &api.ListTagsForStreamOutput{Tags: []api.Tag{}}
	for _, t := range sortedTags(st.Tags) {
		if in.ExclusiveStartTagKey != nil && t.Key <= *in.ExclusiveStartTagKey {
			continue
		}
		if len(out.Tags) == limit {
			out.HasMoreTags = true
			break
		}
		out.Tags = append(out.Tags, t)
	}
	return out, nil
}

func resourceKey(arn string) (store.StreamKey, error) {
	k, ok := parseStreamARN(arn)
	if !ok {
		return store.StreamKey{}, Errorf(ErrInvalidArgument, "Invalid ResourceARN %s.", arn)
	}
	return k, nil
}

// TagResource tags a stream, consumer or channel by ARN.
func (s *Service) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	if err := validateTagResource(in); err != nil {
		return nil, err
	}
	if r, ok := parseConsumerARN(*in.ResourceARN); ok { // enhanced fan-out consumer
		if err := s.tagConsumer(ctx, r, in.Tags); err != nil {
			return nil, err
		}
		return &api.TagResourceOutput{}, nil
	}
	if k, ok := parseChannelARN(*in.ResourceARN); ok {
		if err := s.tagChannel(ctx, k, in.Tags); err != nil {
			return nil, err
		}
		return &api.TagResourceOutput{}, nil
	}
	k, err := resourceKey(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if err := s.addTags(ctx, k, in.Tags); err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes tags from a stream, consumer or channel by ARN.
func (s *Service) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	if err := validateUntagResource(in); err != nil {
		return nil, err
	}
	if r, ok := parseConsumerARN(*in.ResourceARN); ok { // enhanced fan-out consumer
		if err := s.untagConsumer(ctx, r, in.TagKeys); err != nil {
			return nil, err
		}
		return &api.UntagResourceOutput{}, nil
	}
	if k, ok := parseChannelARN(*in.ResourceARN); ok {
		if err := s.untagChannel(ctx, k, in.TagKeys); err != nil {
			return nil, err
		}
		return &api.UntagResourceOutput{}, nil
	}
	k, err := resourceKey(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	if err := s.removeTags(ctx, k, in.TagKeys); err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTagsForResource lists a stream's, consumer's or channel's tags by ARN.
func (s *Service) ListTagsForResource(ctx context.Context, in *api.ListTagsForResourceInput) (*api.ListTagsForResourceOutput, error) {
	if err := validateListTagsForResource(in); err != nil {
		return nil, err
	}
	if r, ok := parseConsumerARN(*in.ResourceARN); ok { // enhanced fan-out consumer
		tags, err := s.consumerTags(ctx, r)
		if err != nil {
			return nil, err
		}
		return &api.ListTagsForResourceOutput{Tags: tags}, nil
	}
	if k, ok := parseChannelARN(*in.ResourceARN); ok {
		tags, err := s.channelTags(ctx, k)
		if err != nil {
			return nil, err
		}
		return &api.ListTagsForResourceOutput{Tags: tags}, nil
	}
	k, err := resourceKey(*in.ResourceARN)
	if err != nil {
		return nil, err
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	return &api.ListTagsForResourceOutput{Tags: sortedTags(st.Tags)}, nil
}
