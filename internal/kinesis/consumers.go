package kinesis

// Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer,
// ListStreamConsumers and DeregisterStreamConsumer. Consumers live inside
// their stream's metadata, so they change by the same compare-and-swap as
// the stream and disappear with it; their CREATING→ACTIVE and DELETING→gone
// transitions are deadlines that every reader applies, like a stream's.

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// Consumer defaults and AWS's per-stream limits.
const (
	DefaultConsumerCreateDelay = 500 * time.Millisecond
	DefaultConsumerDeleteDelay = 500 * time.Millisecond
	maxConsumers               = 20
	maxCreatingConsumers       = 5
	defaultConsumerPage        = 100
)

var (
	vConsumerName   = vStr{min: 1, max: 128, pattern: vNamePattern}
	vConsumerARNPat = vNewPattern(`^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`,
		`(arn):aws`+vJavaDot+`*:kinesis:`+vJavaDot+`*:`+vJavaDigits+`{12}:`+vJavaDot+`*stream/[a-zA-Z0-9_.-]+/consumer/[a-zA-Z0-9_.-]+:[0-9]+`)
	vConsumerARN = vStr{min: 1, max: 2048, pattern: vConsumerARNPat}
)

// consumerRef is what a consumer ARN names.
type consumerRef struct {
	Stream  store.StreamKey
	Name    string
	Created int64 // epoch seconds
}

// ConsumerARN renders a consumer's ARN: the stream's ARN, the consumer's
// name and its creation time in epoch seconds.
func ConsumerARN(k store.StreamKey, name string, created time.Time) string {
	return StreamARN(k) + "/consumer/" + name + ":" + strconv.FormatInt(created.Unix(), 10)
}

func validName(s string) bool { return vNamePattern.re.MatchString(s) && len(s) <= 128 }

// parseConsumerARN splits
// arn:aws:kinesis:REGION:ACCOUNT:stream/NAME/consumer/CONSUMER:EPOCH.
func parseConsumerARN(arn string) (consumerRef, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" ||
		parts[3] == "" || parts[4] == "" {
		return consumerRef{}, false
	}
	rest, ok := strings.CutPrefix(parts[5], "stream/")
	if !ok {
		return consumerRef{}, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return consumerRef{}, false
	}
	epoch := rest[i+1:]
	if epoch == "" || len(epoch) > 12 || strings.Trim(epoch, "0123456789") != "" {
		return consumerRef{}, false
	}
	created, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return consumerRef{}, false
	}
	stream, name, ok := strings.Cut(rest[:i], "/consumer/")
	if !ok || !validName(stream) || !validName(name) {
		return consumerRef{}, false
	}
	return consumerRef{Stream: store.StreamKey{Account: parts[4], Region: parts[3], Name: stream}, Name: name, Created: created}, true
}

func (r consumerRef) arn() string { return ConsumerARN(r.Stream, r.Name, time.Unix(r.Created, 0)) }

// settleConsumers applies consumer transitions whose time has come; it
// reports whether anything changed.
func settleConsumers(st *store.Stream, now time.Time) bool {
	changed := false
	kept := st.Consumers[:0]
	for _, c := range st.Consumers {
		if !c.StatusUntil.IsZero() && !now.Before(c.StatusUntil) {
			changed = true
			if c.NextStatus == "" {
				continue
			}
			c.Status, c.NextStatus, c.StatusUntil = c.NextStatus, "", time.Time{}
		}
		kept = append(kept, c)
	}
	clear(st.Consumers[len(kept):])
	st.Consumers = kept
	return changed
}

func findConsumer(st *store.Stream, name string) *store.Consumer {
	for i := range st.Consumers {
		if st.Consumers[i].Name == name {
			return &st.Consumers[i]
		}
	}
	return nil
}

// consumerByRef finds the consumer an ARN names: same name and the same
// creation second, so an ARN of a deleted consumer does not reach a new
// one of the same name.
func consumerByRef(st *store.Stream, r consumerRef) *store.Consumer {
	c := findConsumer(st, r.Name)
	if c == nil || c.Created.Unix() != r.Created {
		return nil
	}
	return c
}

func consumerNotFound(k store.StreamKey, name string) error {
	return Errorf(ErrResourceNotFound, "Consumer %s under stream %s under account %s not found.", name, k.Name, k.Account)
}

func consumerNotActive(k store.StreamKey, c *store.Consumer) error {
	return Errorf(ErrResourceInUse, "Consumer %s with creation timestamp %d under stream: %s , account %s is not in ACTIVE status.",
		c.Name, c.Created.Unix(), k.Name, k.Account)
}

func consumersExist(k store.StreamKey) error {
	return Errorf(ErrResourceInUse, "DeleteStream can't delete %s because there are consumers associated with this data stream. "+
		"To delete %s anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers "+
		"that are associated with it.", StreamARN(k), k.Name)
}

// liveConsumerCount is how many consumers a stream has after due
// transitions.
func (s *Service) liveConsumerCount(st *store.Stream) int {
	settleConsumers(st, s.now())
	return len(st.Consumers)
}

func apiConsumer(k store.StreamKey, c *store.Consumer) api.Consumer {
	return api.Consumer{ConsumerName: c.Name, ConsumerARN: ConsumerARN(k, c.Name, c.Created),
		ConsumerStatus: c.Status, ConsumerCreationTimestamp: *api.NewTime(c.Created)}
}

func validateRegisterStreamConsumer(in *api.RegisterStreamConsumerInput) error {
	var v validator
	v.str("streamARN", in.StreamARN, true, vStreamARN)
	v.str("consumerName", in.ConsumerName, true, vConsumerName)
	if in.Tags != nil {
		v.tags(in.Tags)
	}
	return v.err()
}

func validateConsumerTarget(in *api.DescribeStreamConsumerInput) error {
	var v validator
	v.str("streamARN", in.StreamARN, false, vStreamARN)
	v.str("consumerName", in.ConsumerName, false, vConsumerName)
	v.str("consumerARN", in.ConsumerARN, false, vConsumerARN)
	return v.err()
}

func validateListStreamConsumers(in *api.ListStreamConsumersInput) error {
	var v validator
	v.str("streamARN", in.StreamARN, true, vStreamARN)
	v.str("nextToken", in.NextToken, false, vNextToken)
	v.num("maxResults", in.MaxResults, false, vBetween(1, 10000))
	return v.err()
}

func checkTagText(tags map[string]string) error {
	for key, v := range tags {
		if !validTagText(key) || !validTagText(v) {
			return Errorf(ErrInvalidArgument, "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - %% @ :.")
		}
	}
	return nil
}

// RegisterStreamConsumer registers a consumer in CREATING; it becomes
// ACTIVE after Config.ConsumerCreateDelay.
func (s *Service) RegisterStreamConsumer(ctx context.Context, in *api.RegisterStreamConsumerInput) (*api.RegisterStreamConsumerOutput, error) {
	if err := validateRegisterStreamConsumer(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, nil, in.StreamARN)
	if err != nil {
		return nil, err
	}
	name := *in.ConsumerName
	if len(in.Tags) > maxTags {
		return nil, Errorf(ErrInvalidArgument, "Failed to register consumer %s under stream %s under account %s because a given consumer cannot have more than %d tags associated with it.",
			name, k.Name, k.Account, maxTags)
	}
	if err := checkTagText(in.Tags); err != nil {
		return nil, err
	}
	var out store.Consumer
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		now := s.now()
		settleConsumers(st, now)
		if st.Status != api.StatusActive && st.Status != api.StatusUpdating {
			return notActive(st)
		}
		if findConsumer(st, name) != nil {
			return Errorf(ErrResourceInUse, "Consumer %s under stream %s already exists for account %s.", name, k.Name, k.Account)
		}
		if len(st.Consumers) >= maxConsumers {
			return Errorf(ErrLimitExceeded, "Consumer limit of %d has been reached for stream %s under account %s.", maxConsumers, k.Name, k.Account)
		}
		creating := 0
		for _, c := range st.Consumers {
			if c.Status == api.ConsumerStatusCreating {
				creating++
			}
		}
		if creating >= maxCreatingConsumers {
			return Errorf(ErrLimitExceeded, "Only %d consumers can be in CREATING status at the same time for stream %s under account %s.",
				maxCreatingConsumers, k.Name, k.Account)
		}
		out = store.Consumer{Name: name, Created: now.Truncate(time.Millisecond), Status: api.ConsumerStatusActive}
		if len(in.Tags) > 0 {
			out.Tags = in.Tags
		}
		if d := s.cfg.ConsumerCreateDelay; d > 0 {
			out.Status, out.NextStatus, out.StatusUntil = api.ConsumerStatusCreating, api.ConsumerStatusActive, now.Add(d)
		}
		st.Consumers = append(st.Consumers, out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.RegisterStreamConsumerOutput{Consumer: apiConsumer(k, &out)}, nil
}

// consumerTarget resolves ConsumerARN, or StreamARN plus ConsumerName.
func consumerTarget(in *api.DescribeStreamConsumerInput) (store.StreamKey, string, *consumerRef, error) {
	if in.ConsumerARN != nil {
		r, ok := parseConsumerARN(*in.ConsumerARN)
		if !ok {
			return store.StreamKey{}, "", nil, Errorf(ErrInvalidArgument, "ConsumerARN %s is invalid.", *in.ConsumerARN)
		}
		return r.Stream, r.Name, &r, nil
	}
	if in.StreamARN == nil || in.ConsumerName == nil {
		return store.StreamKey{}, "", nil, Errorf(ErrInvalidArgument, "ConsumerARN or both ConsumerName and StreamARN are required for this request.")
	}
	k, ok := parseStreamARN(*in.StreamARN)
	if !ok {
		return store.StreamKey{}, "", nil, Errorf(ErrInvalidArgument, "StreamARN %s is invalid.", *in.StreamARN)
	}
	return k, *in.ConsumerName, nil, nil
}

// lookupConsumer finds a consumer in a loaded, settled stream.
func lookupConsumer(st *store.Stream, name string, ref *consumerRef) *store.Consumer {
	if ref != nil {
		return consumerByRef(st, *ref)
	}
	return findConsumer(st, name)
}

// DescribeStreamConsumer describes one consumer.
func (s *Service) DescribeStreamConsumer(ctx context.Context, in *api.DescribeStreamConsumerInput) (*api.DescribeStreamConsumerOutput, error) {
	if err := validateConsumerTarget(in); err != nil {
		return nil, err
	}
	k, name, ref, err := consumerTarget(in)
	if err != nil {
		return nil, err
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	settleConsumers(st, s.now())
	c := lookupConsumer(st, name, ref)
	if c == nil {
		return nil, consumerNotFound(k, name)
	}
	a := apiConsumer(k, c)
	return &api.DescribeStreamConsumerOutput{ConsumerDescription: api.ConsumerDescription{
		ConsumerName: a.ConsumerName, ConsumerARN: a.ConsumerARN, ConsumerStatus: a.ConsumerStatus,
		ConsumerCreationTimestamp: a.ConsumerCreationTimestamp, StreamARN: StreamARN(k),
	}}, nil
}

// DeregisterStreamConsumer marks a consumer DELETING; it is gone after
// Config.ConsumerDeleteDelay. Its subscriptions end with
// ResourceNotFoundException.
func (s *Service) DeregisterStreamConsumer(ctx context.Context, in *api.DeregisterStreamConsumerInput) (*api.DeregisterStreamConsumerOutput, error) {
	if err := validateConsumerTarget(in); err != nil {
		return nil, err
	}
	k, name, ref, err := consumerTarget(in)
	if err != nil {
		return nil, err
	}
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		now := s.now()
		settleConsumers(st, now)
		c := lookupConsumer(st, name, ref)
		if c == nil {
			return consumerNotFound(k, name)
		}
		if c.Status == api.ConsumerStatusDeleting {
			return nil
		}
		if d := s.cfg.ConsumerDeleteDelay; d > 0 {
			c.Status, c.NextStatus, c.StatusUntil = api.ConsumerStatusDeleting, "", now.Add(d)
			return nil
		}
		st.Consumers = slices.DeleteFunc(st.Consumers, func(x store.Consumer) bool { return x.Name == c.Name })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.DeregisterStreamConsumerOutput{}, nil
}

// ListStreamConsumers pages through a stream's consumers in name order.
func (s *Service) ListStreamConsumers(ctx context.Context, in *api.ListStreamConsumersInput) (*api.ListStreamConsumersOutput, error) {
	if err := validateListStreamConsumers(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, nil, in.StreamARN)
	if err != nil {
		return nil, err
	}
	after, id := "", ""
	if in.NextToken != nil {
		if in.StreamCreationTimestamp != nil {
			return nil, Errorf(ErrInvalidArgument, "NextToken and StreamCreationTimestamp cannot be provided together.")
		}
		t, err := s.decodeToken(ctx, "consumers", *in.NextToken)
		if err != nil {
			return nil, err
		}
		if t.key() != k {
			return nil, Errorf(ErrInvalidArgument, "Invalid NextToken.")
		}
		after, id = t.After, t.StreamID
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	if id != "" && id != st.ID {
		return nil, notFound(k)
	}
	if in.StreamCreationTimestamp != nil && !in.StreamCreationTimestamp.Equal(st.Created) {
		return nil, notFound(k)
	}
	limit := defaultConsumerPage
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), defaultConsumerPage)
	}
	settleConsumers(st, s.now())
	cs := slices.Clone(st.Consumers)
	slices.SortFunc(cs, func(a, b store.Consumer) int { return strings.Compare(a.Name, b.Name) })
	out := &api.ListStreamConsumersOutput{Consumers: []api.Consumer{}}
	more := false
	for i := range cs {
		if after != "" && cs[i].Name <= after {
			continue
		}
		if len(out.Consumers) == limit {
			more = true
			break
		}
		out.Consumers = append(out.Consumers, apiConsumer(k, &cs[i]))
	}
	if more {
		tok, err := s.encodeToken(ctx, pageToken{Kind: "consumers", Account: k.Account, Region: k.Region, Name: k.Name,
			StreamID: st.ID, After: out.Consumers[len(out.Consumers)-1].ConsumerName})
		if err != nil {
			return nil, err
		}
		out.NextToken = &tok
	}
	return out, nil
}

// updateConsumer changes one consumer, named by ARN, by CAS on its stream.
func (s *Service) updateConsumer(ctx context.Context, r consumerRef, fn func(c *store.Consumer) error) error {
	_, err := s.update(ctx, r.Stream, func(st *store.Stream) error {
		settleConsumers(st, s.now())
		c := consumerByRef(st, r)
		if c == nil {
			return consumerNotFound(r.Stream, r.Name)
		}
		return fn(c)
	})
	return err
}

// tagConsumer adds or overwrites a consumer's tags (TagResource).
func (s *Service) tagConsumer(ctx context.Context, r consumerRef, tags map[string]string) error {
	if err := checkTagText(tags); err != nil {
		return err
	}
	return s.updateConsumer(ctx, r, func(c *store.Consumer) error {
		merged := make(map[string]string, len(c.Tags)+len(tags))
		for key, v := range c.Tags {
			merged[key] = v
		}
		for key, v := range tags {
			merged[key] = v
		}
		if len(merged) > maxTags {
			return Errorf(ErrInvalidArgument, "Failed to add tags to consumer %s under stream %s under account %s because a given consumer cannot have more than %d tags associated with it.",
				r.Name, r.Stream.Name, r.Stream.Account, maxTags)
		}
		c.Tags = merged
		return nil
	})
}

// untagConsumer removes tags from a consumer (UntagResource).
func (s *Service) untagConsumer(ctx context.Context, r consumerRef, keys []string) error {
	return s.updateConsumer(ctx, r, func(c *store.Consumer) error {
		for _, key := range keys {
			delete(c.Tags, key)
		}
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
		return nil
	})
}

// consumerTags lists a consumer's tags (ListTagsForResource).
func (s *Service) consumerTags(ctx context.Context, r consumerRef) ([]api.Tag, error) {
	c, err := s.consumerOf(ctx, r)
	if err != nil {
		return nil, err
	}
	return sortedTags(c.Tags), nil
}

// consumerOf reads the consumer an ARN names, as it is now.
func (s *Service) consumerOf(ctx context.Context, r consumerRef) (*store.Consumer, error) {
	st, _, err := s.load(ctx, r.Stream)
	if err != nil {
		return nil, err
	}
	settleConsumers(st, s.now())
	c := consumerByRef(st, r)
	if c == nil {
		return nil, consumerNotFound(r.Stream, r.Name)
	}
	return c, nil
}
