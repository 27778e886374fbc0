package consumer

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// ownCodec gives a subscription its own JSON protocol: the SDK's shares
// one event-stream decoder buffer among a client's streams, which
// corrupts concurrent subscriptions.
func ownCodec(o *kinesis.Options) {
	if _, ok := o.Protocol.(*awsjson.Protocol); ok {
		o.Protocol = awsjson.New11(schemas.Kinesis_20131202)
	}
}

// batch is one GetRecords response or one SubscribeToShard event.
type batch struct {
	records      []ktypes.Record
	millisBehind int64
	ended        bool // the shard is closed and was read to its end
	children     []ktypes.ChildShard
}

// fetcher reads one shard in order; next fails only when ctx ends.
type fetcher interface {
	next(ctx context.Context) (batch, error)
	close()
}

// newFetcher reads shardID from from; ctx bounds the polling prefetch.
func (w *Worker) newFetcher(ctx context.Context, shardID string, from ExtendedSequenceNumber) fetcher {
	if w.s.fanOut != nil {
		return &fanOutFetcher{w: w, shard: shardID, from: from}
	}
	return newPrefetcher(ctx, &pollFetcher{w: w, shard: shardID, from: from})
}

// prefetcher reads the next batch while the processor handles the
// current one, as the KCL's PrefetchRecordsPublisher: one goroutine keeps
// the order, and the unbuffered hand-off keeps it one batch ahead.
type prefetcher struct {
	out    chan fetched
	cancel context.CancelFunc
	done   chan struct{}
	f      fetcher
}

type fetched struct {
	b   batch
	err error
}

func newPrefetcher(ctx context.Context, f fetcher) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetcher{out: make(chan fetched), cancel: cancel, done: make(chan struct{}), f: f}
	go func() {
		defer close(p.done)
		for {
			b, err := f.next(ctx)
			select {
			case p.out <- fetched{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || b.ended {
				return
			}
		}
	}()
	return p
}

func (p *prefetcher) next(ctx context.Context) (batch, error) {
	select {
	case r := <-p.out:
		return r.b, r.err
	case <-ctx.Done():
		return batch{}, ctx.Err()
	}
}

func (p *prefetcher) close() {
	p.cancel()
	<-p.done
	p.f.close()
}

// streamRef names the stream by name or, for "arn:...", by ARN.
func (w *Worker) streamRef() (name, arn *string) {
	if isARN(w.s.Stream) {
		return nil, aws.String(w.s.Stream)
	}
	return aws.String(w.s.Stream), nil
}

func isARN(s string) bool { return len(s) > 4 && s[:4] == "arn:" }

// pollFetcher reads with GetRecords.
type pollFetcher struct {
	w        *Worker
	shard    string
	from     ExtendedSequenceNumber // where reading starts
	it       string
	lastSeq  string // last record read, for a new iterator
	lastCall time.Time
	wait     time.Duration
	failures int
}

func (f *pollFetcher) close() {}

func (f *pollFetcher) iteratorInput() *kinesis.GetShardIteratorInput {
	in := &kinesis.GetShardIteratorInput{ShardId: aws.String(f.shard)}
	in.StreamName, in.StreamARN = f.w.streamRef()
	switch {
	case f.lastSeq != "":
		in.ShardIteratorType = ktypes.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(f.lastSeq)
	case f.from.SequenceNumber == SentinelTrimHorizon || f.from.SequenceNumber == "":
		in.ShardIteratorType = ktypes.ShardIteratorTypeTrimHorizon
	case f.from.SequenceNumber == SentinelLatest:
		in.ShardIteratorType = ktypes.ShardIteratorTypeLatest
	case f.from.SequenceNumber == SentinelAtTimestamp:
		in.ShardIteratorType = ktypes.ShardIteratorTypeAtTimestamp
		in.Timestamp = aws.Time(f.w.s.InitialPosition.Timestamp)
	default:
		// AT, not AFTER: the checkpoint may be inside an aggregated
		// record; userRecords drops what was checkpointed.
		in.ShardIteratorType = ktypes.ShardIteratorTypeAtSequenceNumber
		in.StartingSequenceNumber = aws.String(f.from.SequenceNumber)
	}
	return in
}

func (f *pollFetcher) fail(op string, err error) {
	f.failures++
	f.wait = backoff(f.failures, 100*time.Millisecond, 5*time.Second)
	if !throttled(err) {
		f.w.log.Warn(op, "shard", f.shard, "err", err)
	}
}

func (f *pollFetcher) next(ctx context.Context) (batch, error) {
	for {
		if err := sleep(ctx, max(f.wait, f.w.s.polling.MinCallInterval-time.Since(f.lastCall))); err != nil {
			return batch{}, err
		}
		if f.it == "" {
			f.lastCall = time.Now()
			out, err := f.w.s.Kinesis.GetShardIterator(ctx, f.iteratorInput())
			if err != nil {
				if ctx.Err() != nil {
					return batch{}, ctx.Err()
				}
				f.fail("GetShardIterator", err)
				continue
			}
			f.it = aws.ToString(out.ShardIterator)
			f.wait = 0
		}
		f.lastCall = time.Now()
		out, err := f.w.s.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(f.it), Limit: aws.Int32(f.w.s.polling.MaxRecords)})
		if err != nil {
			if ctx.Err() != nil {
				return batch{}, ctx.Err()
			}
			if isCode(err, "ExpiredIteratorException") {
				f.w.log.Debug("shard iterator expired", "shard", f.shard)
				f.it, f.wait = "", 0
				continue
			}
			f.fail("GetRecords", err)
			continue
		}
		f.failures, f.wait = 0, 0
		b := batch{records: out.Records, millisBehind: aws.ToInt64(out.MillisBehindLatest), children: out.ChildShards}
		if n := len(out.Records); n > 0 {
			f.lastSeq = aws.ToString(out.Records[n-1].SequenceNumber)
		} else {
			f.wait = f.w.s.polling.IdleTimeBetweenReads
		}
		if out.NextShardIterator == nil {
			b.ended = true
		} else {
			f.it = *out.NextShardIterator
		}
		return b, nil
	}
}

// fanOutFetcher reads with SubscribeToShard, subscribing again when a
// subscription ends (every 5 minutes) from the last continuation.
type fanOutFetcher struct {
	w        *Worker
	shard    string
	from     ExtendedSequenceNumber
	cont     string // ContinuationSequenceNumber of the last event
	stream   *kinesis.SubscribeToShardEventStream
	cancel   context.CancelFunc
	lastSub  time.Time
	wait     time.Duration
	failures int
}

func (f *fanOutFetcher) close() {
	if f.stream != nil {
		_ = f.stream.Close()
		f.cancel()
		f.stream, f.cancel = nil, nil
	}
}

func (f *fanOutFetcher) position() *ktypes.StartingPosition {
	switch {
	case f.cont != "":
		return &ktypes.StartingPosition{Type: ktypes.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(f.cont)}
	case f.from.SequenceNumber == SentinelTrimHorizon || f.from.SequenceNumber == "":
		return &ktypes.StartingPosition{Type: ktypes.ShardIteratorTypeTrimHorizon}
	case f.from.SequenceNumber == SentinelLatest:
		return &ktypes.StartingPosition{Type: ktypes.ShardIteratorTypeLatest}
	case f.from.SequenceNumber == SentinelAtTimestamp:
		return &ktypes.StartingPosition{Type: ktypes.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(f.w.s.InitialPosition.Timestamp)}
	}
	return &ktypes.StartingPosition{Type: ktypes.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(f.from.SequenceNumber)}
}

func (f *fanOutFetcher) fail(err error) {
	f.failures++
	// One subscription a second per shard and consumer.
	f.wait = max(time.Second, backoff(f.failures, 200*time.Millisecond, 5*time.Second))
	if !throttled(err) && !isCode(err, "ResourceInUseException") {
		f.w.log.Warn("SubscribeToShard", "shard", f.shard, "err", err)
	}
}

func (f *fanOutFetcher) next(ctx context.Context) (batch, error) {
	for {
		if f.stream == nil {
			if err := sleep(ctx, max(f.wait, time.Second-time.Since(f.lastSub))); err != nil {
				return batch{}, err
			}
			f.lastSub = time.Now()
			sctx, cancel := context.WithCancel(ctx)
			out, err := f.w.s.Kinesis.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{
				ConsumerARN:      aws.String(f.w.consumerARN),
				ShardId:          aws.String(f.shard),
				StartingPosition: f.position(),
			}, ownCodec)
			if err != nil {
				cancel()
				if ctx.Err() != nil {
					return batch{}, ctx.Err()
				}
				f.fail(err)
				continue
			}
			f.stream, f.cancel, f.wait = out.GetStream(), cancel, 0
		}
		select {
		case <-ctx.Done():
			f.close()
			return batch{}, ctx.Err()
		case ev, ok := <-f.stream.Events():
			if !ok {
				err := f.stream.Err()
				f.w.log.Debug("subscription ended", "shard", f.shard, "err", err)
				f.close()
				if err != nil && ctx.Err() == nil {
					f.fail(err)
				}
				continue
			}
			e, isEvent := ev.(*ktypes.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !isEvent {
				continue
			}
			f.failures = 0
			v := e.Value
			b := batch{records: v.Records, millisBehind: aws.ToInt64(v.MillisBehindLatest), children: v.ChildShards}
			if v.ContinuationSequenceNumber != nil {
				f.cont = *v.ContinuationSequenceNumber
			} else {
				// No continuation: the shard is closed and read to its end.
				b.ended = true
				f.close()
			}
			return b, nil
		}
	}
}
