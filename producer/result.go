package producer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

var (
	// ErrClosed: the producer is closed, or was closed before the record
	// could be delivered.
	ErrClosed = errors.New("producer: closed")
	// ErrBufferFull: Put found the buffer full and WithBlockOnFull(false)
	// is set.
	ErrBufferFull = errors.New("producer: buffer full")
	// ErrExpired: the record was not acknowledged within RecordTTL. The
	// error also wraps the last failure, if any.
	ErrExpired = errors.New("producer: record expired")
	// ErrInvalidRecord: Kinesis would refuse the record.
	ErrInvalidRecord = errors.New("producer: invalid record")
)

// EntryError is Kinesis's refusal of one PutRecords entry.
type EntryError struct {
	Code    string // ProvisionedThroughputExceededException, InternalFailure, ...
	Message string
}

func (e *EntryError) Error() string { return e.Code + ": " + e.Message }

// Throttled reports whether the entry was refused for the shard's rate.
func (e *EntryError) Throttled() bool { return e.Code == codeThrottled }

// WrongShardError is why a record was sent again: it was aggregated with
// records predicted for one shard, but the aggregated record landed on
// another (the stream was resharded) whose range does not hold every user
// record in it, so a KCL consumer would drop the whole aggregated record.
type WrongShardError struct {
	Predicted, Actual string
}

func (e *WrongShardError) Error() string {
	return fmt.Sprintf("aggregated record predicted for %s landed on %s", e.Predicted, e.Actual)
}

// Result is the outcome of one Put.
type Result struct {
	// ShardID and SequenceNumber are the Kinesis record's that carries the
	// user record.
	ShardID        string
	SequenceNumber string
	// SubSequenceNumber is the user record's position in the aggregated
	// record (0 when not aggregated), as the KCL numbers it.
	SubSequenceNumber uint64
	// Aggregated tells whether the record travelled in an aggregated record.
	Aggregated bool
	// Attempts counts the PutRecords calls that carried the record.
	Attempts int
	// Err is nil on success.
	Err error
}

// Future is the pending Result of a Put.
type Future struct {
	done chan struct{}
	res  Result
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

func (f *Future) complete(r Result) {
	f.res = r
	close(f.done)
}

// Done is closed when the Result is ready.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result waits for the outcome.
func (f *Future) Result() Result {
	<-f.done
	return f.res
}

// Wait waits for the outcome or for ctx. It returns the Result and its
// Err, or ctx's error (the record stays in the producer).
func (f *Future) Wait(ctx context.Context) (Result, error) {
	select {
	case <-f.done:
		return f.res, f.res.Err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// FlushError lists the records a Flush or Close could not deliver.
type FlushError struct {
	// Failed counts the records that ended in an error.
	Failed int
	// Causes groups them by error message, most frequent first.
	Causes []Cause
}

// Cause is one error and how many records ended with it.
type Cause struct {
	Err   error
	Count int
}

func (e *FlushError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "producer: %d records failed", e.Failed)
	for i, c := range e.Causes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d × %v", c.Count, c.Err)
	}
	return b.String()
}

// Unwrap lets errors.Is find ErrExpired, ErrClosed... among the causes.
func (e *FlushError) Unwrap() []error {
	out := make([]error, len(e.Causes))
	for i, c := range e.Causes {
		out[i] = c.Err
	}
	return out
}

// maxCauses bounds the distinct errors a FlushError keeps.
const maxCauses = 10

// tally collects failures for a FlushError.
type tally struct {
	failed int
	causes map[string]*Cause
	other  int // failures beyond maxCauses distinct messages
}

func (t *tally) add(err error) {
	t.failed++
	if t.causes == nil {
		t.causes = make(map[string]*Cause)
	}
	msg := err.Error()
	if c := t.causes[msg]; c != nil {
		c.Count++
		return
	}
	if len(t.causes) == maxCauses {
		t.other++
		return
	}
	t.causes[msg] = &Cause{Err: err, Count: 1}
}

func (t *tally) err() error {
	if t.failed == 0 {
		return nil
	}
	e := &FlushError{Failed: t.failed}
	for _, c := range t.causes {
		e.Causes = append(e.Causes, *c)
	}
	sort.Slice(e.Causes, func(i, j int) bool {
		if e.Causes[i].Count != e.Causes[j].Count {
			return e.Causes[i].Count > e.Causes[j].Count
		}
		return e.Causes[i].Err.Error() < e.Causes[j].Err.Error()
	})
	if t.other > 0 {
		e.Causes = append(e.Causes, Cause{Err: errors.New("other errors"), Count: t.other})
	}
	return e
}

// Stats is a snapshot of the producer's counters. User records are what
// Put accepted; Kinesis records are PutRecords entries, one per user record
// or one per aggregated record.
type Stats struct {
	// UserRecordsPut counts user records acknowledged by Kinesis.
	UserRecordsPut int64
	// UserRecordsFailed counts user records that ended in an error,
	// UserRecordsExpired those of them that outlived RecordTTL.
	UserRecordsFailed  int64
	UserRecordsExpired int64
	// UserRecordsRetried counts sends of a user record after its first.
	UserRecordsRetried int64
	// Buffered and BufferedBytes are the user records accepted and not yet
	// finished, in flight included.
	Buffered      int64
	BufferedBytes int64

	// KinesisRecordsPut counts entries Kinesis acknowledged.
	KinesisRecordsPut int64
	// Throttled counts entries refused with
	// ProvisionedThroughputExceededException; EntryErrors entries refused
	// with any other code (InternalFailure...).
	Throttled   int64
	EntryErrors int64
	// WrongShard counts entries that landed on another shard than predicted.
	WrongShard int64

	// Requests counts PutRecords calls; RequestErrors those that failed as
	// a whole (network, timeout, an error response), all entries retried.
	Requests      int64
	RequestErrors int64
	// ShardMapRefreshes counts successful ListShards listings.
	ShardMapRefreshes int64

	// BufferingTime is how long user records waited from Put to their
	// first send.
	BufferingTime DurationSummary
	// BatchEntries and BatchBytes describe PutRecords calls: entries and
	// bytes (data plus partition keys) per call.
	BatchEntries Summary
	BatchBytes   Summary
	// RecordsPerEntry is user records per Kinesis record (the aggregation
	// factor).
	RecordsPerEntry Summary
}

// Summary describes a series of observations.
type Summary struct {
	Count, Sum, Min, Max int64
}

func (s *Summary) observe(v int64) {
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Sum += v
}

// Mean is Sum/Count, 0 for no observations.
func (s Summary) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Count)
}

// DurationSummary describes a series of durations.
type DurationSummary struct {
	Count           int64
	Total, Min, Max time.Duration
}

func (s *DurationSummary) observe(d time.Duration) {
	if s.Count == 0 || d < s.Min {
		s.Min = d
	}
	if s.Count == 0 || d > s.Max {
		s.Max = d
	}
	s.Count++
	s.Total += d
}

// Mean is Total/Count, 0 for no observations.
func (s DurationSummary) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Count)
}
