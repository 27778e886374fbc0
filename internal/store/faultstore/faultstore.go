// Package faultstore wraps a store.Backend to make chosen calls fail, so
// tests can reach the error paths of the code above storage. Rules pick
// calls by operation, by shard, stream or value key, by their index among
// the calls a rule matches, and by probability from a seeded source, so a
// failing run can be replayed. Rules come and go while the backend is in
// use, and the wrapper counts every call it sees.
//
// Without rules the wrapper is transparent: it passes the storetest
// contract like the backend it wraps.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// ErrInjected is wrapped by every error the wrapper makes up.
var ErrInjected = errors.New("faultstore: injected fault")

// Op is one method of store.Backend.
type Op int

// The operations, one per store.Backend method. OpAny in a rule matches
// all of them but OpClose, which is only failed when asked for by name.
const (
	OpAny Op = iota
	OpGet
	OpCached
	OpPut
	OpDelete
	OpList
	OpSecret
	OpGetValue
	OpPutValue
	OpDeleteValue
	OpWatchValue
	OpCreateShard
	OpDeleteShard
	OpCloseShard
	OpSetRetention
	OpAppend
	OpRead
	OpTip
	OpSeekTime
	OpWatch
	OpClose
	numOps
)

var opNames = [numOps]string{
	"Any", "Get", "Cached", "Put", "Delete", "List", "Secret",
	"GetValue", "PutValue", "DeleteValue", "WatchValue",
	"CreateShard", "DeleteShard", "CloseShard", "SetRetention",
	"Append", "Read", "Tip", "SeekTime", "Watch", "Close",
}

func (o Op) String() string {
	if o >= 0 && o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Call describes one call into the backend, as rules see it.
type Call struct {
	Op Op
	// Stream is the stream a metadata call names (Get, Cached, Put,
	// Delete); List fills in only Account and Region.
	Stream store.StreamKey
	// Shard is the log a log call names (CreateShard ... Watch).
	Shard store.ShardRef
	// Key is the value key of GetValue, PutValue, DeleteValue, WatchValue.
	Key string
}

// Rule says which calls fail and how. Every condition set must hold; the
// zero Rule fails every call but Close.
type Rule struct {
	Op Op // OpAny: every operation but Close
	// Stream, if set, limits the rule to metadata calls on that stream.
	Stream *store.StreamKey
	// Shard, if set, limits the rule to log calls on that shard; StreamID
	// to log calls on any shard of that stream ID.
	Shard    *store.ShardRef
	StreamID string
	// Key, if set, limits the rule to value calls on that key.
	Key string
	// Match, if set, must also accept the call. It runs under the
	// wrapper's lock, so it must not call the wrapper.
	Match func(Call) bool

	// Nth fails only the Nth call the rule matches (from 1, counted since
	// the rule was added); From fails every matching call from the From-th
	// on. Zero means no such condition; set at most one.
	Nth, From int
	// Prob, if above 0, fails a call that meets every other condition
	// with this probability, drawn from the wrapper's seeded source.
	Prob float64

	// Err is the error to return; it is wrapped together with
	// ErrInjected, so errors.Is sees both. Nil means ErrInjected alone.
	Err error
	// After runs the call before failing it: its effect takes place but
	// the caller sees the error, as when storage's reply is lost.
	After bool
}

func (r *Rule) validate() error {
	switch {
	case r.Op < 0 || r.Op >= numOps:
		return fmt.Errorf("faultstore: unknown op %d", int(r.Op))
	case r.Nth < 0 || r.From < 0:
		return errors.New("faultstore: negative call index")
	case r.Nth > 0 && r.From > 0:
		return errors.New("faultstore: Nth and From both set")
	case r.Prob < 0 || r.Prob > 1:
		return fmt.Errorf("faultstore: probability %v outside [0, 1]", r.Prob)
	}
	return nil
}

// matches reports whether the rule is about this call, leaving out the
// index and probability conditions.
func (r *Rule) matches(c Call) bool {
	if r.Op == OpAny && c.Op == OpClose || r.Op != OpAny && r.Op != c.Op {
		return false
	}
	isLog := c.Op >= OpCreateShard && c.Op <= OpWatch
	isMeta := c.Op >= OpGet && c.Op <= OpDelete
	isValue := c.Op >= OpGetValue && c.Op <= OpWatchValue
	if r.Stream != nil && (!isMeta || c.Stream != *r.Stream) {
		return false
	}
	if r.Shard != nil && (!isLog || c.Shard != *r.Shard) {
		return false
	}
	if r.StreamID != "" && (!isLog || c.Shard.StreamID != r.StreamID) {
		return false
	}
	if r.Key != "" && (!isValue || c.Key != r.Key) {
		return false
	}
	return r.Match == nil || r.Match(c)
}

// InjectedError is the error a rule makes a call return.
type InjectedError struct {
	Call Call
	Rule RuleID
	Err  error // the rule's Err; nil for ErrInjected alone
}

func (e *InjectedError) Error() string {
	msg := fmt.Sprintf("faultstore: injected %s fault (rule %d)", e.Call.Op, e.Rule)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives ErrInjected and the rule's error.
func (e *InjectedError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInjected}
	}
	return []error{ErrInjected, e.Err}
}

// RuleID names an added rule.
type RuleID int

type rule struct {
	Rule
	id      RuleID
	matched int // calls matched so far
	fired   int // calls failed
}

// Backend is a store.Backend that fails calls as its rules say.
type Backend struct {
	inner store.Backend

	mu     sync.Mutex
	rng    *rand.Rand
	rules  []*rule
	nextID RuleID
	calls  [numOps]int
	faults [numOps]int
}

var _ store.Backend = (*Backend)(nil)

// Wrap returns inner behind a wrapper without rules. seed seeds the
// source of Rule.Prob, so runs with the same seed and the same call order
// fail the same calls.
func Wrap(inner store.Backend, seed uint64) *Backend {
	return &Backend{inner: inner, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Inner returns the wrapped backend.
func (b *Backend) Inner() store.Backend { return b.inner }

// Add adds a rule, checked after those added before it.
func (b *Backend) Add(r Rule) (RuleID, error) {
	if err := r.validate(); err != nil {
		return 0, err
	}
	// Copy what the caller could change later.
	if r.Stream != nil {
		k := *r.Stream
		r.Stream = &k
	}
	if r.Shard != nil {
		ref := *r.Shard
		r.Shard = &ref
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	b.rules = append(b.rules, &rule{Rule: r, id: b.nextID})
	return b.nextID, nil
}

// Remove removes a rule; it reports whether the rule was there.
func (b *Backend) Remove(id RuleID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, r := range b.rules {
		if r.id == id {
			b.rules = append(b.rules[:i:i], b.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Reset removes every rule. Counts stay.
func (b *Backend) Reset() {
	b.mu.Lock()
	b.rules = nil
	b.mu.Unlock()
}

// Calls is how many calls of op the wrapper has seen, failed or not
// (OpAny: of every op).
func (b *Backend) Calls(op Op) int { return b.count(&b.calls, op) }

// Faults is how many calls of op were failed by a rule (OpAny: of every
// op).
func (b *Backend) Faults(op Op) int { return b.count(&b.faults, op) }

func (b *Backend) count(a *[numOps]int, op Op) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if op != OpAny {
		return a[op]
	}
	n := 0
	for _, v := range a {
		n += v
	}
	return n
}

// Fired is how many calls a rule has failed so far (0 for an unknown
// or removed rule).
func (b *Backend) Fired(id RuleID) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.rules {
		if r.id == id {
			return r.fired
		}
	}
	return 0
}

// fault counts the call and returns the failure the first firing rule
// chooses, if any. Every matching rule counts the call, whether or not an
// earlier rule fired, so a rule's indices do not depend on the others.
func (b *Backend) fault(c Call) (after bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[c.Op]++
	var hit *rule
	for _, r := range b.rules {
		if !r.matches(c) {
			continue
		}
		r.matched++
		if hit != nil {
			continue
		}
		switch {
		case r.Nth > 0 && r.matched != r.Nth:
			continue
		case r.From > 0 && r.matched < r.From:
			continue
		case r.Prob > 0 && b.rng.Float64() >= r.Prob:
			continue
		}
		hit = r
	}
	if hit == nil {
		return false, nil
	}
	hit.fired++
	b.faults[c.Op]++
	return hit.After, &InjectedError{Call: c, Rule: hit.id, Err: hit.Err}
}

// run makes one call through the rules: fn is the call to the inner
// backend.
func (b *Backend) run(c Call, fn func() error) error {
	after, ferr := b.fault(c)
	if ferr != nil && !after {
		return ferr
	}
	if err := fn(); ferr == nil {
		return err
	}
	return ferr
}

// Get implements store.Meta.
func (b *Backend) Get(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	var st *store.Stream
	var rev store.Revision
	err := b.run(Call{Op: OpGet, Stream: key}, func() (err error) {
		st, rev, err = b.inner.Get(ctx, key)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return st, rev, nil
}

// Cached implements store.Meta.
func (b *Backend) Cached(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	var st *store.Stream
	var rev store.Revision
	err := b.run(Call{Op: OpCached, Stream: key}, func() (err error) {
		st, rev, err = b.inner.Cached(ctx, key)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return st, rev, nil
}

// Put implements store.Meta.
func (b *Backend) Put(ctx context.Context, s *store.Stream, rev store.Revision) (store.Revision, error) {
	var n store.Revision
	err := b.run(Call{Op: OpPut, Stream: s.Key}, func() (err error) {
		n, err = b.inner.Put(ctx, s, rev)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Delete implements store.Meta.
func (b *Backend) Delete(ctx context.Context, key store.StreamKey, rev store.Revision) error {
	return b.run(Call{Op: OpDelete, Stream: key}, func() error { return b.inner.Delete(ctx, key, rev) })
}

// List implements store.Meta.
func (b *Backend) List(ctx context.Context, account, region string) ([]*store.Stream, error) {
	var out []*store.Stream
	err := b.run(Call{Op: OpList, Stream: store.StreamKey{Account: account, Region: region}}, func() (err error) {
		out, err = b.inner.List(ctx, account, region)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Secret implements store.Meta.
func (b *Backend) Secret(ctx context.Context) ([]byte, error) {
	var k []byte
	err := b.run(Call{Op: OpSecret}, func() (err error) {
		k, err = b.inner.Secret(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// GetValue implements store.Meta.
func (b *Backend) GetValue(ctx context.Context, key string) ([]byte, store.Revision, error) {
	var v []byte
	var rev store.Revision
	err := b.run(Call{Op: OpGetValue, Key: key}, func() (err error) {
		v, rev, err = b.inner.GetValue(ctx, key)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return v, rev, nil
}

// PutValue implements store.Meta.
func (b *Backend) PutValue(ctx context.Context, key string, val []byte, rev store.Revision) (store.Revision, error) {
	var n store.Revision
	err := b.run(Call{Op: OpPutValue, Key: key}, func() (err error) {
		n, err = b.inner.PutValue(ctx, key, val, rev)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteValue implements store.Meta.
func (b *Backend) DeleteValue(ctx context.Context, key string, rev store.Revision) error {
	return b.run(Call{Op: OpDeleteValue, Key: key}, func() error { return b.inner.DeleteValue(ctx, key, rev) })
}

// WatchValue implements store.Meta. A watch failed after it started is
// stopped first.
func (b *Backend) WatchValue(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	return b.watch(Call{Op: OpWatchValue, Key: key}, func() (<-chan struct{}, func(), error) {
		return b.inner.WatchValue(ctx, key)
	})
}

// watch runs open as call c; a watch failed after it started is stopped.
func (b *Backend) watch(c Call, open func() (<-chan struct{}, func(), error)) (<-chan struct{}, func(), error) {
	var ch <-chan struct{}
	var stop func()
	err := b.run(c, func() (err error) {
		ch, stop, err = open()
		return err
	})
	if err != nil {
		if stop != nil {
			stop()
		}
		return nil, nil, err
	}
	return ch, stop, nil
}

// CreateShard implements store.Log.
func (b *Backend) CreateShard(ctx context.Context, ref store.ShardRef, retention time.Duration, spec store.ShardSpec) error {
	return b.run(Call{Op: OpCreateShard, Shard: ref}, func() error { return b.inner.CreateShard(ctx, ref, retention, spec) })
}

// DeleteShard implements store.Log.
func (b *Backend) DeleteShard(ctx context.Context, ref store.ShardRef) error {
	return b.run(Call{Op: OpDeleteShard, Shard: ref}, func() error { return b.inner.DeleteShard(ctx, ref) })
}

// CloseShard implements store.Log.
func (b *Backend) CloseShard(ctx context.Context, ref store.ShardRef) (uint64, error) {
	var last uint64
	err := b.run(Call{Op: OpCloseShard, Shard: ref}, func() (err error) {
		last, err = b.inner.CloseShard(ctx, ref)
		return err
	})
	if err != nil {
		return 0, err
	}
	return last, nil
}

// SetRetention implements store.Log.
func (b *Backend) SetRetention(ctx context.Context, ref store.ShardRef, retention time.Duration) error {
	return b.run(Call{Op: OpSetRetention, Shard: ref}, func() error { return b.inner.SetRetention(ctx, ref, retention) })
}

// Append implements store.Log.
func (b *Backend) Append(ctx context.Context, ref store.ShardRef, entries []store.Entry) ([]store.Position, error) {
	var pos []store.Position
	err := b.run(Call{Op: OpAppend, Shard: ref}, func() (err error) {
		pos, err = b.inner.Append(ctx, ref, entries)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pos, nil
}

// Read implements store.Log.
func (b *Backend) Read(ctx context.Context, ref store.ShardRef, from uint64, maxMsgs, maxBytes int) ([]store.Message, error) {
	var msgs []store.Message
	err := b.run(Call{Op: OpRead, Shard: ref}, func() (err error) {
		msgs, err = b.inner.Read(ctx, ref, from, maxMsgs, maxBytes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// Tip implements store.Log.
func (b *Backend) Tip(ctx context.Context, ref store.ShardRef) (store.Tip, error) {
	var tip store.Tip
	err := b.run(Call{Op: OpTip, Shard: ref}, func() (err error) {
		tip, err = b.inner.Tip(ctx, ref)
		return err
	})
	if err != nil {
		return store.Tip{}, err
	}
	return tip, nil
}

// SeekTime implements store.Log.
func (b *Backend) SeekTime(ctx context.Context, ref store.ShardRef, t time.Time) (uint64, error) {
	var seq uint64
	err := b.run(Call{Op: OpSeekTime, Shard: ref}, func() (err error) {
		seq, err = b.inner.SeekTime(ctx, ref, t)
		return err
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// Watch implements store.Log. A watch failed after it started is stopped
// first.
func (b *Backend) Watch(ctx context.Context, ref store.ShardRef) (<-chan struct{}, func(), error) {
	return b.watch(Call{Op: OpWatch, Shard: ref}, func() (<-chan struct{}, func(), error) {
		return b.inner.Watch(ctx, ref)
	})
}

// Close closes the wrapped backend, unless a rule for OpClose fails it
// before (then the inner backend stays open: close it through Inner).
func (b *Backend) Close() error {
	return b.run(Call{Op: OpClose}, b.inner.Close)
}
