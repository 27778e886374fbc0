// Package fault injects errors and latency into Kinesis calls so that
// clients can test their retry logic. Rules come from --faults at start-up
// and can be replaced at run time through the /admin/faults endpoint; see
// docs/LIMITS.md.
package fault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// Rule says which calls fail, how, and how often.
//
// A rule matches a call when Op and Stream match ("" matches any). Each
// matching call fires the rule on a schedule: every Every-th matching call
// when Every is set, else with probability Rate, else (both zero) always.
// Once it has fired Count times (0 = no limit) it stays quiet.
type Rule struct {
	// Op is the operation name, such as "PutRecords"; "" is every one.
	Op string
	// Stream is the stream name; "" is every stream and calls with none.
	Stream string
	// Error is the AWS error to answer with, such as
	// "ProvisionedThroughputExceededException"; "" adds Latency only.
	Error string
	// Message replaces the default message for Error.
	Message string
	// Rate is the probability (0..1] that a matching call fires the rule;
	// 0 means 1.
	Rate float64
	// Every fires the rule on every Every-th matching call, a
	// deterministic alternative to Rate.
	Every int
	// Latency is added to each call that fires the rule, before it is
	// answered.
	Latency time.Duration
	// Count stops the rule after it has fired this many times; 0 never.
	Count int
	// Entries makes a PutRecords rule fail single entries (on Rate or
	// Every, counted per entry) instead of the whole call.
	Entries bool
}

// MaxLatency bounds Rule.Latency.
const MaxLatency = 10 * time.Minute

// Ops are the Kinesis operation names rules may name: every operation of
// the API, so rules can be written for ones rivulet does not serve yet.
var Ops = []string{
	"AddTagsToStream", "CreateChannel", "CreateStream", "DecreaseStreamRetentionPeriod", "DeleteChannel",
	"DeleteResourcePolicy", "DeleteStream", "DeregisterStreamConsumer", "DescribeAccountSettings", "DescribeChannel",
	"DescribeLimits", "DescribeStream", "DescribeStreamConsumer", "DescribeStreamSummary", "DisableEnhancedMonitoring",
	"EnableEnhancedMonitoring", "GetRecords", "GetResourcePolicy", "GetShardIterator", "IncreaseStreamRetentionPeriod",
	"ListChannels", "ListShards", "ListStreamConsumers", "ListStreams", "ListTagsForResource", "ListTagsForStream",
	"MergeShards", "PutRecord", "PutRecords", "PutResourcePolicy", "RegisterStreamConsumer", "RemoveTagsFromStream",
	"SplitShard", "StartStreamEncryption", "StopStreamEncryption", "SubscribeToShard", "TagResource", "UntagResource",
	"UpdateAccountSettings", "UpdateChannel", "UpdateMaxRecordSize", "UpdateShardCount", "UpdateStreamMode",
	"UpdateStreamRecordDistributionStrategy", "UpdateStreamWarmThroughput",
}

// Errors maps the error names rules may use to the service's kinds.
var Errors = map[string]error{
	"ProvisionedThroughputExceededException": kinesis.ErrProvisionedThroughputExceeded,
	"InternalFailure":                        kinesis.ErrInternal,
	"InternalFailureException":               kinesis.ErrInternal,
	"LimitExceededException":                 kinesis.ErrLimitExceeded,
	"ResourceNotFoundException":              kinesis.ErrResourceNotFound,
	"ResourceInUseException":                 kinesis.ErrResourceInUse,
	"InvalidArgumentException":               kinesis.ErrInvalidArgument,
	"ExpiredIteratorException":               kinesis.ErrExpiredIterator,
	"ExpiredNextTokenException":              kinesis.ErrExpiredNextToken,
	"ValidationException":                    kinesis.ErrValidation,
	"AccessDeniedException":                  kinesis.ErrAccessDenied,
}

// entryErrors are the only ErrorCodes a PutRecords entry can carry.
var entryErrors = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"InternalFailure":                        true,
}

// Injector implements kinesis.Faults. It is safe for concurrent use, and
// its rules can be replaced while calls are running.
type Injector struct {
	rules atomic.Pointer[[]*state]
	edit  sync.Mutex // serialises writers; readers never lock
	rngMu sync.Mutex
	rng   *rand.Rand // nil: the global source
}

var _ kinesis.Faults = (*Injector)(nil)

// state is a rule with its counters.
type state struct {
	Rule
	kind     error
	matched  atomic.Uint64
	injected atomic.Int64
}

// New returns an injector with rules, after validating them.
func New(rules ...Rule) (*Injector, error) {
	f := &Injector{}
	if err := f.Set(rules); err != nil {
		return nil, err
	}
	return f, nil
}

// Seed makes Rate decisions follow a deterministic sequence.
func (f *Injector) Seed(seed uint64) {
	f.rngMu.Lock()
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f.rngMu.Unlock()
}

func (f *Injector) float() float64 {
	f.rngMu.Lock()
	defer f.rngMu.Unlock()
	if f.rng == nil {
		return rand.Float64()
	}
	return f.rng.Float64()
}

// Set replaces every rule; counters start over.
func (f *Injector) Set(rules []Rule) error {
	states, err := compile(rules)
	if err != nil {
		return err
	}
	f.edit.Lock()
	f.rules.Store(&states)
	f.edit.Unlock()
	return nil
}

// Add appends one rule, keeping the others and their counters.
func (f *Injector) Add(r Rule) error {
	s, err := compile([]Rule{r})
	if err != nil {
		return err
	}
	f.edit.Lock()
	defer f.edit.Unlock()
	var next []*state
	if cur := f.rules.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s[0])
	f.rules.Store(&next)
	return nil
}

// Clear removes every rule.
func (f *Injector) Clear() { _ = f.Set(nil) }

// Rules returns the current rules.
func (f *Injector) Rules() []Rule {
	out := []Rule{}
	if cur := f.rules.Load(); cur != nil {
		for _, s := range *cur {
			out = append(out, s.Rule)
		}
	}
	return out
}

func compile(rules []Rule) ([]*state, error) {
	out := make([]*state, 0, len(rules))
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			if len(rules) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		out = append(out, &state{Rule: r, kind: Errors[r.Error]})
	}
	return out, nil
}

// Validate reports what is wrong with a rule, in words a user can act on.
func (r Rule) Validate() error {
	if r.Op != "" && !knownOp(r.Op) {
		for _, op := range Ops {
			if equalFold(op, r.Op) {
				return fmt.Errorf("unknown op %q (did you mean %q?)", r.Op, op)
			}
		}
		return fmt.Errorf("unknown op %q: want a Kinesis operation name such as PutRecords, or empty for every operation", r.Op)
	}
	if r.Error != "" {
		if _, ok := Errors[r.Error]; !ok {
			return fmt.Errorf("unknown error %q: want one of %s", r.Error, errorNames())
		}
	}
	switch {
	case r.Rate != r.Rate || r.Rate < 0 || r.Rate > 1:
		return fmt.Errorf("rate %v is outside 0..1", r.Rate)
	case r.Every < 0:
		return fmt.Errorf("every %d is negative", r.Every)
	case r.Every > 0 && r.Rate > 0:
		return errors.New("rate and every cannot be combined: give one schedule")
	case r.Count < 0:
		return fmt.Errorf("count %d is negative", r.Count)
	case r.Latency < 0:
		return fmt.Errorf("latency %v is negative", r.Latency)
	case r.Latency > MaxLatency:
		return fmt.Errorf("latency %v is longer than %v", r.Latency, MaxLatency)
	}
	if r.Entries {
		switch {
		case r.Op != "" && r.Op != "PutRecords":
			return fmt.Errorf("entries applies to PutRecords only, not %s", r.Op)
		case !entryErrors[r.Error]:
			return errors.New("entries rules need error ProvisionedThroughputExceededException or InternalFailure, the only per-entry ErrorCodes")
		case r.Latency != 0:
			return errors.New("entries rules fail single entries and cannot add latency; use a separate rule")
		}
		return nil
	}
	if r.Error == "" && r.Latency == 0 {
		return errors.New("rule does nothing: give an error, a latency or both")
	}
	return nil
}

func knownOp(op string) bool {
	for _, o := range Ops {
		if o == op {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// errorNames lists the canonical error names (not the alias).
func errorNames() string {
	return "ProvisionedThroughputExceededException, InternalFailure, LimitExceededException, " +
		"ResourceNotFoundException, ResourceInUseException, InvalidArgumentException, ExpiredIteratorException, " +
		"ExpiredNextTokenException, ValidationException, AccessDeniedException"
}

func (s *state) matches(op, stream string) bool {
	return (s.Op == "" || s.Op == op) && (s.Stream == "" || s.Stream == stream)
}

// fire decides whether the n-th matching call fires the rule, and counts
// it against Count when it does.
func (f *Injector) fire(s *state, n uint64) bool {
	switch {
	case s.Every > 0:
		if n%uint64(s.Every) != 0 {
			return false
		}
	case s.Rate > 0 && s.Rate < 1:
		if f.float() >= s.Rate {
			return false
		}
	}
	if s.Count == 0 {
		s.injected.Add(1)
		return true
	}
	for {
		c := s.injected.Load()
		if c >= int64(s.Count) {
			return false
		}
		if s.injected.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// Before applies the rules matching op and stream: it sleeps for the
// latency of every rule that fires and answers with the error of the
// first one that fires with an error. A cancelled ctx cuts the sleep
// short and is returned.
func (f *Injector) Before(ctx context.Context, op, stream string) error {
	cur := f.rules.Load()
	if cur == nil || len(*cur) == 0 {
		return nil
	}
	var (
		delay time.Duration
		fail  *state
	)
	for _, s := range *cur {
		if s.Entries || !s.matches(op, stream) {
			continue
		}
		n := s.matched.Add(1)
		if s.Error != "" && fail != nil {
			continue // the answer is chosen; do not spend this rule's Count
		}
		if !f.fire(s, n) {
			continue
		}
		delay += s.Latency
		if s.Error != "" {
			fail = s
		}
	}
	if delay > 0 {
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	}
	if fail == nil {
		return nil
	}
	return &kinesis.Error{Kind: fail.kind, Message: fail.message(kinesis.CallerFrom(ctx).Account, stream)}
}

// Entry fails one PutRecords entry when an entries rule fires.
func (f *Injector) Entry(k store.StreamKey, shard int) (code, message string) {
	stream := k.Name
	cur := f.rules.Load()
	if cur == nil || len(*cur) == 0 {
		return "", ""
	}
	for _, s := range *cur {
		if !s.Entries || !s.matches("PutRecords", stream) {
			continue
		}
		if !f.fire(s, s.matched.Add(1)) {
			continue
		}
		if s.Message != "" {
			return s.Error, s.Message
		}
		if s.kind == kinesis.ErrInternal {
			return "InternalFailure", "Internal Service Failure"
		}
		return s.Error, fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", kinesis.ShardID(shard), stream, k.Account)
	}
	return "", ""
}

// message is the rule's message, or one in AWS's style for its error.
func (s *state) message(account, stream string) string {
	if s.Message != "" {
		return s.Message
	}
	switch s.kind {
	case kinesis.ErrProvisionedThroughputExceeded, kinesis.ErrLimitExceeded:
		if stream == "" {
			return "Rate exceeded for account " + account + "."
		}
		return "Rate exceeded for stream " + stream + " under account " + account + "."
	case kinesis.ErrInternal:
		return "Internal Service Failure"
	case kinesis.ErrResourceNotFound:
		if stream == "" {
			return "Requested resource not found."
		}
		return "Stream " + stream + " under account " + account + " not found."
	case kinesis.ErrResourceInUse:
		if stream == "" {
			return "Resource in use."
		}
		return "Stream " + stream + " under account " + account + " not ACTIVE, instead in state UPDATING"
	case kinesis.ErrExpiredIterator:
		return "Iterator expired."
	case kinesis.ErrExpiredNextToken:
		return "The timestamp on the NextToken has expired."
	case kinesis.ErrAccessDenied:
		return "User is not authorized to perform this action."
	}
	return "Injected " + s.Error + "."
}

var sleep = func(ctx context.Context, d time.Duration) error { // a variable for tests
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
