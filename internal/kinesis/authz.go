package kinesis

import (
	"context"
	"errors"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// Authorizer decides whether the caller may perform action (such as
// "kinesis:PutRecord") on resource (an ARN, or "*"). It returns nil, or an
// *Error of kind ErrAccessDenied with AWS's message.
type Authorizer interface {
	Authorize(ctx context.Context, c Caller, action, resource string, about Resource) error
}

// Resource is what policies may look at on the resource itself.
type Resource struct {
	Policy string            // its resource policy, "" for none
	Tags   map[string]string // for aws:ResourceTag/KEY; nil when it does not exist
}

// Actions authorized against "*" rather than a stream, as AWS does.
var anyResource = map[string]bool{
	"ListStreams": true, "DescribeLimits": true, "ListChannels": true,
	"EnableEnhancedMonitoring": true, "DisableEnhancedMonitoring": true,
	"DescribeAccountSettings": true, "UpdateAccountSettings": true,
}

// authorizing puts the Authorizer in front of an operation. GetRecords
// and ListShards with a NextToken name their stream only inside the
// iterator or token, so they call authorize themselves.
func (s *Service) authorizing(o Operation) Operation {
	if s.cfg.Authorizer == nil {
		return o
	}
	call, name := o.Call, o.Name
	o.Call = func(ctx context.Context, in any) (any, error) {
		if err := s.authorizeInput(ctx, name, in); err != nil {
			return nil, err
		}
		return call(ctx, in)
	}
	return o
}

// authorizeInput finds the resource an operation's input names and asks
// the Authorizer. Inputs too malformed to name one go on to the
// operation, whose validation answers them as AWS does.
func (s *Service) authorizeInput(ctx context.Context, op string, in any) error {
	c := CallerFrom(ctx)
	action := "kinesis:" + op
	if anyResource[op] {
		return s.cfg.Authorizer.Authorize(ctx, c, action, "*", Resource{})
	}
	var resource, consumer *string
	switch v := in.(type) {
	case *api.CreateChannelInput, *api.DescribeChannelInput, *api.UpdateChannelInput, *api.DeleteChannelInput:
		return s.authorizeChannel(ctx, action, in) // channels.go
	case *api.GetRecordsInput:
		return nil // the iterator names the stream: GetRecords asks
	case *api.ListShardsInput:
		if v.NextToken != nil && v.StreamName == nil && v.StreamARN == nil {
			return nil // the token names the stream: ListShards asks
		}
	case *api.SubscribeToShardInput:
		consumer = v.ConsumerARN
	case *api.DescribeStreamConsumerInput: // also DeregisterStreamConsumer's
		consumer = v.ConsumerARN
		if consumer == nil && v.StreamARN != nil && v.ConsumerName != nil {
			return s.authorizeConsumerByName(ctx, action, *v.StreamARN, *v.ConsumerName)
		}
	case *api.TagResourceInput:
		resource = v.ResourceARN
	case *api.UntagResourceInput:
		resource = v.ResourceARN
	case *api.ListTagsForResourceInput:
		resource = v.ResourceARN
	case *api.PutResourcePolicyInput:
		resource = v.ResourceARN
	case *api.GetResourcePolicyInput:
		resource = v.ResourceARN
	case *api.DeleteResourcePolicyInput:
		resource = v.ResourceARN
	}
	if consumer != nil {
		resource = consumer
	}
	if resource != nil {
		if r, ok := parseConsumerARN(*resource); ok {
			return s.authorize(ctx, action, r.Stream, r.Name, *resource)
		}
		if k, ok := parseStreamARN(*resource); ok {
			return s.authorize(ctx, action, k, "", *resource)
		}
		if k, ok := parseChannelARN(*resource); ok { // the tag operations
			return s.authorizeChannelKey(ctx, action, k)
		}
		return nil // not an ARN: validation answers
	}
	var name, arn *string
	switch v := in.(type) { // the data path, spared reflection
	case *api.PutRecordInput:
		name, arn = v.StreamName, v.StreamARN
	case *api.PutRecordsInput:
		name, arn = v.StreamName, v.StreamARN
	default:
		name, arn = streamFields(in)
	}
	k, err := streamKey(ctx, name, arn)
	if err != nil || k.Name == "" {
		return nil // the operation answers a missing or bad name
	}
	return s.authorize(ctx, action, k, "", StreamARN(k))
}

// authorizeConsumerByName authorizes against a consumer named by its
// stream's ARN and its name; its ARN carries its creation time.
func (s *Service) authorizeConsumerByName(ctx context.Context, action, streamARN, name string) error {
	k, ok := parseStreamARN(streamARN)
	if !ok {
		return nil
	}
	arn := StreamARN(k) + "/consumer/" + name
	if st, err := s.view(ctx, k); err == nil {
		for _, c := range st.Consumers {
			if c.Name == name {
				arn = ConsumerARN(k, name, c.Created)
			}
		}
	}
	return s.authorize(ctx, action, k, name, arn)
}

// viewer is a backend that lends its cached copy of a stream, unchanged
// and uncopied, to readers that change nothing.
type viewer interface {
	View(ctx context.Context, key store.StreamKey) (*store.Stream, error)
}

// view reads a stream for authorization, without a copy when it can.
func (s *Service) view(ctx context.Context, k store.StreamKey) (*store.Stream, error) {
	if v, ok := s.be.(viewer); ok {
		return v.View(ctx, k)
	}
	st, _, err := s.be.Cached(ctx, k)
	return st, err
}

// authorize asks the Authorizer about one stream or consumer, with its
// resource policy. A missing stream has no policy; the operation then
// answers ResourceNotFound if the identity was allowed to ask.
func (s *Service) authorize(ctx context.Context, action string, k store.StreamKey, consumer, arn string) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	var about Resource
	st, err := s.view(ctx, k)
	switch {
	case err == nil && consumer == "":
		about = Resource{Policy: st.Policy, Tags: st.Tags}
	case err == nil:
		for _, c := range st.Consumers {
			if c.Name == consumer {
				about = Resource{Policy: c.Policy, Tags: c.Tags}
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	return s.cfg.Authorizer.Authorize(ctx, CallerFrom(ctx), action, arn, about)
}
