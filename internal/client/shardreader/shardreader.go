// Package shardreader reads every shard of a Kinesis stream with
// GetRecords, in the order consumers must keep: each shard in sequence, and
// a child shard only after all of its parents reached SHARD_END. It follows
// resharding through the ChildShards that GetRecords returns at the end of a
// closed shard (falling back to ListShards for servers that omit them),
// keeps below the per-shard GetRecords rate, retries throttling and
// transient failures, and can de-aggregate KPL records.
//
// It backs `rivulet tail` and the read side of `rivulet bench`.
package shardreader

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/aggregation"
	"github.com/rivulet/rivulet/internal/client"
)

// API is the part of *kinesis.Client the reader uses.
type API interface {
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Position is where reading starts.
type Position struct {
	Type      types.ShardIteratorType // TRIM_HORIZON, LATEST or AT_TIMESTAMP
	Timestamp time.Time               // for AT_TIMESTAMP
}

// Starting positions.
var (
	TrimHorizon = Position{Type: types.ShardIteratorTypeTrimHorizon}
	Latest      = Position{Type: types.ShardIteratorTypeLatest}
)

// AtTimestamp starts at the first record that arrived at or after t.
func AtTimestamp(t time.Time) Position {
	return Position{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: t}
}

// DefaultCallsPerSecond is Kinesis's GetRecords limit per shard.
const DefaultCallsPerSecond = 5

// Config says what to read and how.
type Config struct {
	Stream string // a name, or an ARN ("arn:...")
	// From is the starting position of the shards open when reading
	// starts (LATEST) or of every shard (TRIM_HORIZON, AT_TIMESTAMP).
	// Children found later start at TRIM_HORIZON, or at the timestamp.
	From Position
	// Follow keeps polling open shards at their tip. Without it, an open
	// shard stops at its tip: the first empty response with
	// MillisBehindLatest 0 (or absent), subject to StopAtTip.
	Follow bool
	// StopAtTip, if set and not following, decides whether a shard that
	// has been at its tip for idle stops; it is asked again at every poll.
	StopAtTip func(shardID string, idle time.Duration) bool
	// Deaggregate splits KPL aggregated records into user records,
	// dropping those outside the shard's hash key range as the KCL does.
	Deaggregate bool
	// Limit is GetRecords' Limit; 0 leaves the server's default (10000).
	Limit int32
	// CallsPerSecond caps GetRecords calls per shard; 0 means 5, the
	// Kinesis limit, and a negative value means no cap.
	CallsPerSecond float64
	// IdleWait is the pause after an empty response; 0 means 500 ms.
	IdleWait time.Duration
	// MaxRetries bounds consecutive retries of a failing call that is not
	// throttled (throttling is retried until ctx ends); 0 means 10.
	MaxRetries int
	// OnGetRecords, if set, is called after every GetRecords attempt with
	// its latency and error, from the shard's goroutine.
	OnGetRecords func(shardID string, took time.Duration, err error)
	// OnError, if set, is called for every failed call that will be
	// retried, with the error's code (see client.ErrorCode).
	OnError func(op, code string)
}

// Record is one record read: a plain Kinesis record, or one user record of
// an aggregated record when de-aggregating.
type Record struct {
	ShardID           string
	SequenceNumber    string
	SubSequenceNumber uint64
	// Aggregated tells a user record from a plain record.
	Aggregated      bool
	PartitionKey    string
	ExplicitHashKey string
	Data            []byte
	ArrivalTime     time.Time
}

// Stop, returned by a Handler, ends reading without an error.
var Stop = errors.New("shardreader: stop")

// Handler receives the records of one GetRecords response of one shard, in
// order. Calls never overlap, and all of a parent's records are handed over
// before any of its children's. records is not retained after the call.
type Handler func(records []Record) error

// Read reads the stream until every shard stopped (see Config.Follow), the
// handler returns an error (Stop ends reading cleanly), a call fails for
// good, or ctx ends; then it returns ctx's error.
func Read(ctx context.Context, api API, cfg Config, h Handler) error {
	if cfg.Stream == "" {
		return errors.New("shardreader: no stream")
	}
	if cfg.From.Type == "" {
		cfg.From = TrimHorizon
	}
	if cfg.CallsPerSecond == 0 {
		cfg.CallsPerSecond = DefaultCallsPerSecond
	}
	if cfg.IdleWait == 0 {
		cfg.IdleWait = 500 * time.Millisecond
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 10
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &reader{api: api, cfg: cfg, h: h, cancel: cancel, shards: map[string]*shard{}}

	listed, err := r.listShards(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	for _, s := range listed {
		sh := r.addListed(s)
		// With LATEST only the open shards are read; the closed ones hold
		// nothing newer.
		if s.endingSeq != "" && cfg.From.Type == types.ShardIteratorTypeLatest {
			sh.state = done
		}
	}
	for _, s := range listed {
		r.startIfReady(ctx, r.shards[s.id], cfg.From)
	}
	r.mu.Unlock()

	r.wg.Wait()
	err = context.Cause(ctx)
	if errors.Is(err, Stop) {
		return nil
	}
	return err
}

type shardState int

const (
	pending shardState = iota
	running
	done
)

type shard struct {
	id        string
	parents   []string
	hashRange *aggregation.HashRange // nil: unknown, taken as the whole key space
	endingSeq string                 // of a shard known to be closed, else ""
	state     shardState
}

type reader struct {
	api    API
	cfg    Config
	h      Handler
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // guards shards
	shards map[string]*shard

	deliverMu sync.Mutex // serializes handler calls
	stopped   bool       // the handler returned an error; guarded by deliverMu
}

// add records a shard once; later sightings only fill in what was missing.
func (r *reader) add(id string, parents []string, hr *aggregation.HashRange) *shard {
	sh, ok := r.shards[id]
	if !ok {
		sh = &shard{id: id}
		r.shards[id] = sh
	}
	if len(sh.parents) == 0 {
		sh.parents = parents
	}
	if sh.hashRange == nil {
		sh.hashRange = hr
	}
	return sh
}

func (r *reader) addListed(s listedShard) *shard {
	sh := r.add(s.id, s.parents, s.hashRange)
	if sh.endingSeq == "" {
		sh.endingSeq = s.endingSeq
	}
	return sh
}

// startIfReady starts sh once every parent that is known is done; a parent
// that is not known has expired (or was skipped), so it does not hold the
// child back. Call with r.mu held.
func (r *reader) startIfReady(ctx context.Context, sh *shard, from Position) {
	if sh.state != pending {
		return
	}
	for _, p := range sh.parents {
		if ps, ok := r.shards[p]; ok && ps.state != done {
			return
		}
	}
	sh.state = running
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.readShard(ctx, sh, from); err != nil {
			r.cancel(err)
		}
	}()
}

// finish marks sh done and starts the children that were waiting for it.
func (r *reader) finish(ctx context.Context, sh *shard, children []listedShard) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sh.state = done
	from := TrimHorizon
	if r.cfg.From.Type == types.ShardIteratorTypeAtTimestamp {
		from = r.cfg.From
	}
	for _, c := range children {
		r.addListed(c)
	}
	for _, c := range children {
		r.startIfReady(ctx, r.shards[c.id], from)
	}
}

// readShard reads one shard from from until its end, its tip (when not
// following) or ctx's end. It returns an error only for a failure that
// should end the whole read.
func (r *reader) readShard(ctx context.Context, sh *shard, from Position) error {
	it, err := r.iterator(ctx, sh.id, from, "")
	if err != nil {
		return err
	}
	var interval time.Duration
	if r.cfg.CallsPerSecond > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.CallsPerSecond)
	}
	var (
		lastSeq   string
		lastCall  time.Time
		idleSince time.Time
		failures  int
		pause     time.Duration
	)
	for {
		wait := max(pause, interval-now().Sub(lastCall))
		if err := sleep(ctx, wait); err != nil {
			return nil
		}
		lastCall = now()
		in := &kinesis.GetRecordsInput{ShardIterator: aws.String(it)}
		if r.cfg.Limit > 0 {
			in.Limit = aws.Int32(r.cfg.Limit)
		}
		out, err := r.api.GetRecords(ctx, in)
		if r.cfg.OnGetRecords != nil {
			r.cfg.OnGetRecords(sh.id, now().Sub(lastCall), err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			code := client.ErrorCode(err)
			if code == "ExpiredIteratorException" {
				r.onError("GetRecords", code)
				if it, err = r.iterator(ctx, sh.id, from, lastSeq); err != nil {
					return err
				}
				pause = 0
				continue
			}
			if pause, err = r.retry("GetRecords", err, &failures); err != nil {
				return fmt.Errorf("reading %s: %w", sh.id, err)
			}
			continue
		}
		failures, pause = 0, 0

		if len(out.Records) > 0 {
			idleSince = time.Time{}
			if r.deliver(sh, out.Records) {
				return nil
			}
			lastSeq = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
		}
		ended := out.NextShardIterator == nil
		if end := r.endingSeq(sh); !ended && end != "" {
			// Some servers (kinesalite) never end a closed shard's
			// iterators: reading past the ending sequence number, or an
			// empty page without MillisBehindLatest, is its end.
			ended = lastSeq != "" && !seqLess(lastSeq, end) || len(out.Records) == 0 && out.MillisBehindLatest == nil
		}
		if ended {
			children, err := r.children(ctx, sh.id, out.ChildShards)
			if err != nil {
				return err
			}
			r.finish(ctx, sh, children)
			return nil
		}
		it = *out.NextShardIterator
		if len(out.Records) == 0 {
			pause = r.cfg.IdleWait
			if aws.ToInt64(out.MillisBehindLatest) == 0 && !r.cfg.Follow && r.endingSeq(sh) == "" {
				if idleSince.IsZero() {
					idleSince = now()
				}
				if r.cfg.StopAtTip == nil || r.cfg.StopAtTip(sh.id, now().Sub(idleSince)) {
					return nil
				}
			}
		}
	}
}

// endingSeq is the ending sequence number of sh if it is known to be
// closed, else "".
func (r *reader) endingSeq(sh *shard) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sh.endingSeq
}

// seqLess compares sequence numbers, decimals without leading zeros.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (r *reader) onError(op, code string) {
	if r.cfg.OnError != nil {
		r.cfg.OnError(op, code)
	}
}

// retry counts a failure and returns how long to wait before trying again,
// or the error when it should not be retried.
func (r *reader) retry(op string, err error, failures *int) (time.Duration, error) {
	code := client.ErrorCode(err)
	if !client.IsRetryableCode(code) {
		return 0, err
	}
	r.onError(op, code)
	*failures++
	if !client.IsThrottleCode(code) && *failures > r.cfg.MaxRetries {
		return 0, err
	}
	return Backoff(*failures, 100*time.Millisecond, 5*time.Second), nil
}

// Backoff is exponential backoff with full jitter: a random wait up to
// base·2^(attempt-1), capped at ceiling.
func Backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if attempt < 30 {
		d = min(ceiling, base<<(max(attempt, 1)-1))
	}
	return d/2 + rand.N(d/2+1)
}

// deliver hands recs to the handler; true means reading is over, because
// the handler returned an error now or earlier.
func (r *reader) deliver(sh *shard, recs []types.Record) bool {
	out := make([]Record, 0, len(recs))
	for _, kr := range recs {
		if !r.cfg.Deaggregate {
			out = append(out, Record{
				ShardID:        sh.id,
				SequenceNumber: aws.ToString(kr.SequenceNumber),
				PartitionKey:   aws.ToString(kr.PartitionKey),
				Data:           kr.Data,
				ArrivalTime:    aws.ToTime(kr.ApproximateArrivalTimestamp),
			})
			continue
		}
		k := aggregation.KinesisRecord{
			SequenceNumber:              aws.ToString(kr.SequenceNumber),
			PartitionKey:                aws.ToString(kr.PartitionKey),
			Data:                        kr.Data,
			ApproximateArrivalTimestamp: aws.ToTime(kr.ApproximateArrivalTimestamp),
		}
		users, err := aggregation.DeaggregateRecord(k, sh.hashRange)
		if err != nil { // a bad range, which parseRange never returns
			users, _ = aggregation.DeaggregateRecord(k, nil)
		}
		for _, u := range users {
			out = append(out, Record{
				ShardID:           sh.id,
				SequenceNumber:    u.SequenceNumber,
				SubSequenceNumber: u.SubSequenceNumber,
				Aggregated:        u.Aggregated,
				PartitionKey:      u.PartitionKey,
				ExplicitHashKey:   u.ExplicitHashKey,
				Data:              u.Data,
				ArrivalTime:       u.ApproximateArrivalTimestamp,
			})
		}
	}
	r.deliverMu.Lock()
	defer r.deliverMu.Unlock()
	if r.stopped {
		return true
	}
	if len(out) == 0 {
		return false
	}
	if err := r.h(out); err != nil {
		// Cancelled under the lock, so err is the cause Read returns, not
		// a later shard's.
		r.stopped = true
		r.cancel(err)
		return true
	}
	return false
}

// iterator gets a shard iterator at from, or just after afterSeq if set.
func (r *reader) iterator(ctx context.Context, shardID string, from Position, afterSeq string) (string, error) {
	in := &kinesis.GetShardIteratorInput{
		ShardId:           aws.String(shardID),
		ShardIteratorType: from.Type,
	}
	in.StreamName, in.StreamARN = r.stream()
	switch {
	case afterSeq != "":
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(afterSeq)
	case from.Type == types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(from.Timestamp)
	}
	failures := 0
	for {
		out, err := r.api.GetShardIterator(ctx, in)
		if err == nil {
			return aws.ToString(out.ShardIterator), nil
		}
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		wait, err := r.retry("GetShardIterator", err, &failures)
		if err != nil {
			return "", fmt.Errorf("shard iterator for %s: %w", shardID, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return "", err
		}
	}
}

// stream names the stream by name or, for "arn:...", by ARN.
func (r *reader) stream() (name, arn *string) {
	if strings.HasPrefix(r.cfg.Stream, "arn:") {
		return nil, aws.String(r.cfg.Stream)
	}
	return aws.String(r.cfg.Stream), nil
}

type listedShard struct {
	id        string
	parents   []string
	hashRange *aggregation.HashRange
	endingSeq string
}

func parseRange(h *types.HashKeyRange) *aggregation.HashRange {
	if h == nil {
		return nil
	}
	hr, err := aggregation.ParseHashRange(aws.ToString(h.StartingHashKey), aws.ToString(h.EndingHashKey))
	if err != nil {
		return nil // a server's odd range must not lose records: read it as the whole space
	}
	return hr
}

// listShards lists every shard of the stream, following pages.
func (r *reader) listShards(ctx context.Context) ([]listedShard, error) {
	var out []listedShard
	in := &kinesis.ListShardsInput{}
	in.StreamName, in.StreamARN = r.stream()
	failures := 0
	for {
		page, err := r.api.ListShards(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			wait, err2 := r.retry("ListShards", err, &failures)
			if err2 != nil {
				return nil, fmt.Errorf("listing shards: %w", err)
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		}
		for _, s := range page.Shards {
			var parents []string
			for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
				if aws.ToString(p) != "" {
					parents = append(parents, *p)
				}
			}
			var ending string
			if s.SequenceNumberRange != nil {
				ending = aws.ToString(s.SequenceNumberRange.EndingSequenceNumber)
			}
			out = append(out, listedShard{id: aws.ToString(s.ShardId), parents: parents, hashRange: parseRange(s.HashKeyRange), endingSeq: ending})
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

// children are the shards that continue shardID after its end: from
// GetRecords' ChildShards, or else from ListShards.
func (r *reader) children(ctx context.Context, shardID string, given []types.ChildShard) ([]listedShard, error) {
	if len(given) > 0 {
		out := make([]listedShard, 0, len(given))
		for _, c := range given {
			out = append(out, listedShard{id: aws.ToString(c.ShardId), parents: c.ParentShards, hashRange: parseRange(c.HashKeyRange)})
		}
		return out, nil
	}
	all, err := r.listShards(ctx)
	if err != nil {
		return nil, err
	}
	var out []listedShard
	for _, s := range all {
		for _, p := range s.parents {
			if p == shardID {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

// now and sleep are the reader's clock; tests replace them.
var now = time.Now

var sleep = func(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
