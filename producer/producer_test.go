package producer_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	rivuletsrv "github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/aggregation"
	"github.com/rivulet/rivulet/producer"
)

var bg = context.Background()

func flush(t testing.TB, p *producer.Producer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, hangTimeout)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// TestBatching: records go out in few, full PutRecords calls.
func TestBatching(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 2)
	f := &faulty{KinesisAPI: r.client}
	// Only full calls and the flush send: no timer races the Puts.
	p := newProducer(t, f, stream, producer.WithAggregation(false), producer.WithRecordMaxBufferedTime(time.Hour))
	const n = 2000
	futs := putAll(t, p, n, func(i int) producer.Record {
		return producer.Record{PartitionKey: fmt.Sprintf("key-%d", i), Data: payload(i, 100)}
	})
	flush(t, p)
	calls, entries, maxEntries := f.counts()
	if calls < n/500 || calls > n/500+1 || maxEntries != 500 || entries != n {
		t.Fatalf("%d records went out in %d calls, %d entries, at most %d per call; want %d full calls", n, calls, entries, maxEntries, n/500)
	}
	res := results(t, futs)
	checkExactlyOnce(t, kclUsers(t, readStream(t, r.client, stream)), res)
	st := p.Stats()
	if st.UserRecordsPut != n || st.KinesisRecordsPut != n || st.Requests != int64(calls) || st.BatchEntries.Max != 500 ||
		st.Buffered != 0 || st.BufferedBytes != 0 || st.UserRecordsFailed != 0 || st.BufferingTime.Count != n {
		t.Fatalf("stats %+v", st)
	}
}

// TestCollectionMaxSize: calls stay under the size cap.
func TestCollectionMaxSize(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	f := &faulty{KinesisAPI: r.client}
	p := newProducer(t, f, stream, producer.WithAggregation(false), producer.WithCollectionMaxSize(20_000))
	futs := putAll(t, p, 100, func(i int) producer.Record {
		return producer.Record{PartitionKey: "k", Data: payload(i, 999)}
	})
	flush(t, p)
	calls, _, _ := f.counts()
	if f.maxBytes > 20_000 || calls < 5 {
		t.Fatalf("%d calls, largest %d bytes; want calls of at most 20000 bytes", calls, f.maxBytes)
	}
	checkExactlyOnce(t, kclUsers(t, readStream(t, r.client, stream)), results(t, futs))
}

// TestRecordMaxBufferedTime: a lone record waits for company, but not
// longer than RecordMaxBufferedTime.
func TestRecordMaxBufferedTime(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	// Nothing but the buffering timer sends a lone small record when
	// nobody flushes: it must go out on its own.
	for _, wait := range []time.Duration{0, 400 * time.Millisecond} {
		t.Run(wait.String(), func(t *testing.T) {
			p := newProducer(t, r.client, stream, producer.WithRecordMaxBufferedTime(wait))
			ctx, cancel := context.WithTimeout(bg, time.Minute) // only a hang ends this wait
			defer cancel()
			// The first record also waits for the shard map.
			if _, err := p.PutSync(ctx, producer.Record{PartitionKey: "warm", Data: payload(0, 10)}); err != nil {
				t.Fatal(err)
			}
			res, err := p.PutSync(ctx, producer.Record{PartitionKey: "k", Data: payload(1, 10)})
			if err != nil || res.ShardID != "shardId-000000000000" || res.SequenceNumber == "" || res.Attempts != 1 {
				t.Fatalf("result %+v, %v", res, err)
			}
			// The producer's own account of how long each record waited
			// before its call: never less than RecordMaxBufferedTime, as
			// neither was flushed nor part of a full call.
			if st := p.Stats(); st.BufferingTime.Count != 2 || st.BufferingTime.Min < wait {
				t.Fatalf("buffering times %+v with RecordMaxBufferedTime %v: a record was sent before its time", st.BufferingTime, wait)
			}
		})
	}
	// A record that may wait an hour is not sent until Flush asks.
	t.Run("until flushed", func(t *testing.T) {
		f := &faulty{KinesisAPI: r.client}
		p := newProducer(t, f, stream, producer.WithRecordMaxBufferedTime(time.Hour))
		putAll(t, p, 1, func(int) producer.Record { return producer.Record{PartitionKey: "warm", Data: payload(0, 10)} })
		flush(t, p) // the shard map is loaded
		before, _, _ := f.counts()
		fut, err := p.Put(bg, producer.Record{PartitionKey: "k", Data: payload(1, 10)})
		if err != nil {
			t.Fatal(err)
		}
		// Give a wrongly eager dispatcher the chance to send it. A slow
		// machine can only make this check miss a bug, never fail.
		time.Sleep(300 * time.Millisecond)
		select {
		case <-fut.Done():
			t.Fatalf("sent without Flush, an hour early: %+v", fut.Result())
		default:
		}
		if calls, _, _ := f.counts(); calls != before {
			t.Fatalf("%d PutRecords calls before Flush, want none", calls-before)
		}
		flush(t, p)
		if res := fut.Result(); res.Err != nil || res.SequenceNumber == "" || res.Attempts != 1 {
			t.Fatalf("after Flush: %+v", res)
		}
	})
}

// TestAggregation reads records back and de-aggregates them as the KCL
// does: every user record is there exactly once, where its Result says.
func TestAggregation(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("aggregation=", on), func(t *testing.T) {
			stream := r.createStream(t, 4)
			// No timer sends half-filled records while the Puts run.
			p := newProducer(t, r.client, stream, producer.WithAggregation(on), producer.WithAggregationMaxSize(4096),
				producer.WithRecordMaxBufferedTime(time.Hour))
			rnd := rand.New(rand.NewPCG(1, 2))
			const n = 5000
			futs := putAll(t, p, n, func(i int) producer.Record {
				rec := producer.Record{PartitionKey: fmt.Sprintf("user-%d", rnd.IntN(300)), Data: payload(i, 20+rnd.IntN(300))}
				if i%10 == 0 { // routed by an explicit hash key instead
					hi, lo := new(big.Int).SetUint64(rnd.Uint64()), new(big.Int).SetUint64(rnd.Uint64())
					rec.ExplicitHashKey = hi.Lsh(hi, 64).Or(hi, lo).String()
				}
				if i%1000 == 999 { // too big to aggregate: goes alone
					rec.Data = payload(i, 5000)
				}
				return rec
			})
			flush(t, p)
			res := results(t, futs)
			stored := readStream(t, r.client, stream)
			checkExactlyOnce(t, kclUsers(t, stored), res)
			aggregated := 0
			for _, s := range stored {
				if aggregation.IsAggregated(s.rec.Data) {
					aggregated++
					if len(s.rec.Data) > 4096 {
						t.Fatalf("aggregated record of %d bytes, limit 4096", len(s.rec.Data))
					}
				}
			}
			st := p.Stats()
			if st.WrongShard != 0 || st.UserRecordsPut != n {
				t.Fatalf("stats %+v", st)
			}
			if on && (aggregated == 0 || len(stored) > n/10 || st.RecordsPerEntry.Max < 10 || st.KinesisRecordsPut != int64(len(stored))) {
				t.Fatalf("aggregation on: %d user records in %d Kinesis records (%d aggregated); stats %+v", n, len(stored), aggregated, st)
			}
			if !on && (aggregated != 0 || len(stored) != n) {
				t.Fatalf("aggregation off: %d user records in %d Kinesis records (%d aggregated)", n, len(stored), aggregated)
			}
		})
	}
}

// TestListShardsFailure: without a shard map records still go out, plain.
func TestListShardsFailure(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 2)
	f := &faulty{KinesisAPI: r.client, listErr: errors.New("AccessDenied")}
	p := newProducer(t, f, stream)
	futs := putAll(t, p, 50, func(i int) producer.Record {
		return producer.Record{PartitionKey: fmt.Sprint(i), Data: payload(i, 50)}
	})
	flush(t, p)
	res := results(t, futs)
	checkExactlyOnce(t, kclUsers(t, readStream(t, r.client, stream)), res)
	for _, x := range res {
		if x.Aggregated {
			t.Fatalf("aggregated without a shard map: %+v", x)
		}
	}
}

// TestOrdering: with partial failures and retries, records of one key
// arrive in Put order when ordering is preserved; without it they do not.
func TestOrdering(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	for _, tc := range []struct {
		name          string
		ordered, aggr bool
	}{
		{"ordered", true, false},
		{"ordered+aggregated", true, true},
		{"unordered control", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := r.createStream(t, 2)
			var mu sync.Mutex
			rnd := rand.New(rand.NewPCG(7, 7))
			f := &faulty{KinesisAPI: r.client, refuse: func(types.PutRecordsRequestEntry) string {
				mu.Lock()
				defer mu.Unlock()
				switch x := rnd.IntN(10); {
				case x < 2:
					return "ProvisionedThroughputExceededException"
				case x < 3:
					return "InternalFailure"
				}
				return ""
			}}
			p := newProducer(t, f, stream, producer.WithPreserveOrdering(tc.ordered), producer.WithAggregation(tc.aggr),
				producer.WithRetry(20*time.Millisecond, 100*time.Millisecond, 0.5), producer.WithAggregationMaxSize(2000))
			const n, keys = 600, 8
			futs := putAll(t, p, n, func(i int) producer.Record {
				return producer.Record{PartitionKey: fmt.Sprintf("key-%d", i%keys), Data: payload(i, 100)}
			})
			flush(t, p)
			res := results(t, futs)
			users := kclUsers(t, readStream(t, r.client, stream))
			checkExactlyOnce(t, users, res)
			last := map[string]int{}
			disorder := 0
			for _, u := range users { // in shard order
				if prev, ok := last[u.pk]; ok && u.id < prev {
					disorder++
				}
				last[u.pk] = u.id
			}
			st := p.Stats()
			if st.Throttled == 0 || st.EntryErrors == 0 || st.UserRecordsRetried == 0 {
				t.Fatalf("no failures injected: %+v", st)
			}
			if tc.ordered && disorder > 0 {
				t.Fatalf("%d records out of order", disorder)
			}
			if !tc.ordered && disorder == 0 {
				t.Fatal("control: retries without ordering should reorder records")
			}
		})
	}
}

// TestBackPressure: a full buffer blocks Put, or fails it.
func TestBackPressure(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	rec := func(i int) producer.Record { return producer.Record{PartitionKey: "k", Data: payload(i, 998)} }

	t.Run("block", func(t *testing.T) {
		gate := make(chan struct{})
		f := &faulty{KinesisAPI: r.client, gate: gate}
		p := newProducer(t, f, stream, producer.WithMaxBufferedRecords(10), producer.WithRecordMaxBufferedTime(0))
		futs := putAll(t, p, 10, rec)
		ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
		defer cancel()
		if _, err := p.Put(ctx, rec(10)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put on a full buffer: %v, want it to wait until ctx ends", err)
		}
		done := make(chan error, 1)
		go func() {
			f, err := p.Put(bg, rec(10))
			if err == nil {
				futs = append(futs, f) // read only after done
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Put returned %v on a full buffer", err)
		case <-time.After(100 * time.Millisecond):
		}
		if st := p.Stats(); st.Buffered != 10 {
			t.Fatalf("buffered %d", st.Buffered)
		}
		close(gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		flush(t, p)
		checkExactlyOnce(t, kclUsers(t, readStream(t, r.client, stream)), results(t, futs))
	})

	t.Run("fail", func(t *testing.T) {
		gate := make(chan struct{})
		f := &faulty{KinesisAPI: r.client, gate: gate}
		p := newProducer(t, f, stream, producer.WithMaxBufferedBytes(4*1000+500), producer.WithBlockOnFull(false))
		putAll(t, p, 4, rec)
		// The gate holds every call, so no room appears before the
		// records expire (RecordTTL, 30 s): a Put that waited for room
		// would return later with nil, or with this context's error.
		ctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		if _, err := p.Put(ctx, rec(4)); !errors.Is(err, producer.ErrBufferFull) {
			t.Fatalf("Put on a full buffer: %v, want ErrBufferFull without waiting", err)
		}
		if st := p.Stats(); st.Buffered != 4 {
			t.Fatalf("buffered %d after a refused Put, want 4", st.Buffered)
		}
		close(gate)
		flush(t, p)
		if _, err := p.Put(bg, rec(4)); err != nil {
			t.Fatalf("Put after flush: %v", err)
		}
	})
}

// TestRecordTTL: a record throttled forever fails with ErrExpired, with
// the throttling as its last error.
func TestRecordTTL(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	f := &faulty{KinesisAPI: r.client, refuse: func(types.PutRecordsRequestEntry) string { return "ProvisionedThroughputExceededException" }}
	// The TTL runs on the real clock. A machine too slow to try the record
	// twice before it expires runs the case again with a longer TTL: the
	// machine decides how many runs it takes, never the outcome.
	for ttl := 500 * time.Millisecond; ; ttl *= 4 {
		p := newProducer(t, f, stream, producer.WithRecordTTL(ttl), producer.WithRetry(50*time.Millisecond, 100*time.Millisecond, 0.2))
		ctx, cancel := context.WithTimeout(bg, ttl+time.Minute) // only a hang ends this wait
		res, err := p.PutSync(ctx, producer.Record{PartitionKey: "k", Data: []byte("x")})
		cancel()
		if !errors.Is(err, producer.ErrExpired) {
			t.Fatalf("result %+v, err %v; want ErrExpired", res, err)
		}
		if res.Attempts < 2 && ttl < 30*time.Second {
			t.Logf("expired after %d attempts with RecordTTL %v; trying a longer TTL", res.Attempts, ttl)
			continue
		}
		var ee *producer.EntryError
		if !errors.As(err, &ee) || !ee.Throttled() || res.Attempts < 2 {
			t.Fatalf("result %+v, err %v; want the throttling as the last error, after retries", res, err)
		}
		st := p.Stats()
		if st.UserRecordsExpired != 1 || st.UserRecordsFailed != 1 || st.Throttled != int64(res.Attempts) ||
			st.UserRecordsRetried != int64(res.Attempts-1) || st.UserRecordsPut != 0 {
			t.Fatalf("stats %+v after %d attempts", st, res.Attempts)
		}
		break
	}
	if stored := readStream(t, r.client, stream); len(stored) != 0 {
		t.Fatalf("%d records stored, want none", len(stored))
	}
}

// TestCallErrors: failed calls are retried whole unless retrying cannot
// help; refused entries with unknown codes fail at once.
func TestCallErrors(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	t.Run("network", func(t *testing.T) {
		var mu sync.Mutex
		fails := 2
		f := &faulty{KinesisAPI: r.client, before: func() error {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 {
				fails--
				return errors.New("connection reset by peer")
			}
			return nil
		}}
		p := newProducer(t, f, stream, producer.WithRetry(10*time.Millisecond, 20*time.Millisecond, 0))
		res, err := p.PutSync(bg, producer.Record{PartitionKey: "k", Data: payload(0, 10)})
		if err != nil || res.Attempts != 3 {
			t.Fatalf("result %+v, %v", res, err)
		}
		if st := p.Stats(); st.RequestErrors != 2 || st.Requests != 3 || st.UserRecordsRetried != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("validation", func(t *testing.T) {
		f := &faulty{KinesisAPI: r.client, before: func() error {
			return &smithy.GenericAPIError{Code: "ValidationException", Message: "no"}
		}}
		p := newProducer(t, f, stream)
		res, err := p.PutSync(bg, producer.Record{PartitionKey: "k", Data: payload(0, 10)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || res.Attempts != 1 {
			t.Fatalf("result %+v, %v", res, err)
		}
	})
	t.Run("entry", func(t *testing.T) {
		f := &faulty{KinesisAPI: r.client, refuse: func(types.PutRecordsRequestEntry) string { return "KMSAccessDeniedException" }}
		p := newProducer(t, f, stream, producer.WithAggregation(false))
		futs := putAll(t, p, 3, func(i int) producer.Record { return producer.Record{PartitionKey: "k", Data: payload(i, 10)} })
		err := p.Flush(bg)
		var fe *producer.FlushError
		if !errors.As(err, &fe) || fe.Failed != 3 || len(fe.Causes) != 1 || fe.Causes[0].Count != 3 {
			t.Fatalf("flush: %v", err)
		}
		var ee *producer.EntryError
		if res := futs[0].Result(); !errors.As(res.Err, &ee) || ee.Code != "KMSAccessDeniedException" || ee.Throttled() {
			t.Fatalf("result %+v", res)
		}
		if st := p.Stats(); st.EntryErrors != 3 || st.Throttled != 0 || st.UserRecordsFailed != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// TestFlushAndClose covers Flush, Close and what follows Close.
func TestFlushAndClose(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 2)
	rec := func(i int) producer.Record {
		return producer.Record{PartitionKey: fmt.Sprint(i), Data: payload(i, 100)}
	}

	p := newProducer(t, r.client, stream, producer.WithRecordMaxBufferedTime(time.Hour))
	futs := putAll(t, p, 100, rec)
	flush(t, p) // with an hour to wait, only Flush sends them
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("record %d not finished after Flush", i)
		}
	}
	futs = append(futs, putAll(t, p, 100, func(i int) producer.Record { return rec(100 + i) })...)
	if err := p.Close(bg); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, kclUsers(t, readStream(t, r.client, stream)), results(t, futs))
	if _, err := p.Put(bg, rec(0)); !errors.Is(err, producer.ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if err := p.Flush(bg); !errors.Is(err, producer.ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	if err := p.Close(bg); !errors.Is(err, producer.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Flush(bg); !errors.Is(err, producer.ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}

	t.Run("timeout", func(t *testing.T) {
		f := &faulty{KinesisAPI: r.client, gate: make(chan struct{})} // never opens
		p := newProducer(t, f, stream, producer.WithRecordMaxBufferedTime(0))
		futs := putAll(t, p, 5, rec)
		// A blocked Put is released by Close too.
		pf, err := producer.New(f, stream, producer.WithMaxBufferedRecords(1), producer.WithRecordMaxBufferedTime(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		putAll(t, pf, 1, rec)
		blocked := make(chan error, 1)
		go func() { _, err := pf.Put(bg, rec(1)); blocked <- err }()

		ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
		defer cancel()
		err = p.Close(ctx)
		var fe *producer.FlushError
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &fe) || fe.Failed != 5 || !errors.Is(err, producer.ErrClosed) {
			t.Fatalf("Close: %v", err)
		}
		for i, f := range futs {
			if res := f.Result(); !errors.Is(res.Err, producer.ErrClosed) {
				t.Fatalf("record %d: %+v", i, res)
			}
		}
		ctx2, cancel2 := context.WithTimeout(bg, 100*time.Millisecond)
		defer cancel2()
		if err := pf.Close(ctx2); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v", err)
		}
		if err := <-blocked; !errors.Is(err, producer.ErrClosed) {
			t.Fatalf("blocked Put: %v", err)
		}
	})
}

// TestInvalid: records Kinesis would refuse are refused by Put.
func TestInvalid(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	p := newProducer(t, r.client, r.createStream(t, 1))
	long := make([]rune, 257)
	for i := range long {
		long[i] = 'é'
	}
	for _, rec := range []producer.Record{
		{PartitionKey: ""},
		{PartitionKey: string(long)},
		{PartitionKey: "\xff"},
		{PartitionKey: "k", ExplicitHashKey: "-1"},
		{PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211456"},
		{PartitionKey: "k", ExplicitHashKey: "01"},
		{PartitionKey: "k", Data: make([]byte, 1<<20)},
	} {
		if _, err := p.Put(bg, rec); !errors.Is(err, producer.ErrInvalidRecord) {
			t.Errorf("Put(%.20q, %q, %d bytes): %v", rec.PartitionKey, rec.ExplicitHashKey, len(rec.Data), err)
		}
	}
	ok := []producer.Record{
		{PartitionKey: string(long[:256])},
		{PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211455"},
		{PartitionKey: "k", Data: make([]byte, 1<<20-1)},
	}
	for _, rec := range ok {
		if _, err := p.Put(bg, rec); err != nil {
			t.Errorf("Put(%.20q, %q, %d bytes): %v", rec.PartitionKey, rec.ExplicitHashKey, len(rec.Data), err)
		}
	}
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	if _, err := p.Put(cancelled, ok[1]); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v", err)
	}
}

// TestNewOptions: out-of-range options are refused by New.
func TestNewOptions(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	for i, o := range []producer.Option{
		producer.WithAggregationMaxSize(10),
		producer.WithAggregationMaxSize(2 << 20),
		producer.WithAggregationMaxCount(0),
		producer.WithCollectionMaxCount(0),
		producer.WithCollectionMaxCount(501),
		producer.WithCollectionMaxSize(0),
		producer.WithCollectionMaxSize(10<<20 + 1),
		producer.WithRecordMaxBufferedTime(-1),
		producer.WithRecordTTL(0),
		producer.WithRateLimit(0),
		producer.WithMaxBufferedRecords(0),
		producer.WithMaxBufferedBytes(-1),
		producer.WithRetry(0, time.Second, 0),
		producer.WithRetry(time.Second, time.Millisecond, 0),
		producer.WithRetry(time.Millisecond, time.Second, 1.5),
		producer.WithShardRefreshInterval(-time.Second),
		producer.WithMaxConnections(0),
		producer.WithRequestTimeout(0),
		producer.WithMaxRecordSize(100),
		producer.WithLogger(nil),
		nil,
	} {
		if p, err := producer.New(r.client, "s", o); !errors.Is(err, producer.ErrInvalidOption) || p != nil {
			t.Errorf("option %d: %v", i, err)
		}
	}
	if _, err := producer.New(nil, "s"); !errors.Is(err, producer.ErrInvalidOption) {
		t.Errorf("nil client: %v", err)
	}
	if _, err := producer.New(r.client, ""); !errors.Is(err, producer.ErrInvalidOption) {
		t.Errorf("empty stream: %v", err)
	}
}

// TestReshard splits shards while records are produced: nothing is lost,
// and a KCL-style consumer reads every record exactly once.
func TestReshard(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 2)
	p := newProducer(t, r.client, stream, producer.WithShardRefreshInterval(0), producer.WithRecordMaxBufferedTime(20*time.Millisecond))
	const n = 12000
	futs := make([]*producer.Future, n)
	split := func(shard string) {
		ls, err := r.client.ListShards(bg, &kinesis.ListShardsInput{StreamName: &stream})
		if err != nil {
			t.Error(err)
			return
		}
		for _, s := range ls.Shards {
			if *s.ShardId != shard {
				continue
			}
			lo, _ := new(big.Int).SetString(*s.HashKeyRange.StartingHashKey, 10)
			hi, _ := new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
			mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1).String()
			if _, err := r.client.SplitShard(bg, &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: &shard, NewStartingHashKey: &mid}); err != nil {
				t.Error(err)
			}
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i++ {
		f, err := p.Put(bg, producer.Record{PartitionKey: fmt.Sprintf("device-%d", rnd.IntN(500)), Data: payload(i, 60)})
		if err != nil {
			t.Fatal(err)
		}
		futs[i] = f
		switch i {
		case n / 3:
			split("shardId-000000000000")
		case 2 * n / 3:
			split("shardId-000000000001")
		}
		if i%500 == 0 {
			time.Sleep(10 * time.Millisecond) // spread the load over time
		}
	}
	if err := p.Close(bg); err != nil {
		t.Fatal(err)
	}
	res := results(t, futs)
	stored := readStream(t, r.client, stream)
	checkExactlyOnce(t, kclUsers(t, stored), res)
	st := p.Stats()
	if st.WrongShard == 0 || st.ShardMapRefreshes < 2 {
		t.Fatalf("reshards not noticed: %+v", st)
	}
	// A consumer that drops out-of-range user records one by one (not the
	// KCL) also reads every record, and sees twice only records that were
	// sent twice.
	seen := map[int]int{}
	for _, u := range packageUsers(t, stored) {
		seen[u.id]++
	}
	dups := 0
	for id, res := range res {
		switch c := seen[id]; {
		case c == 0:
			t.Fatalf("record %d lost", id)
		case c > 1:
			dups++
			if res.Attempts < 2 {
				t.Fatalf("record %d read %d times but sent once", id, c)
			}
		}
	}
	t.Logf("%d records; %d wrong-shard landings, %d re-sends, %d shard listings; %d duplicates for a per-record de-aggregator",
		n, st.WrongShard, st.UserRecordsRetried, st.ShardMapRefreshes, dups)
}

// TestThrottling runs against Rivulet's AWS limits with the producer's own
// limit set above them: entries are throttled and retried, and each record
// is stored once.
func TestThrottling(t *testing.T) {
	// The limits' clock stands still until the producer has been
	// throttled: the shard's buckets cannot refill, so the records below
	// (each case more than one second's worth) are throttled however slow
	// the machine is. Then time runs again and the retries get through.
	var held atomic.Int64 // unix nanos; 0 = time runs
	clock := func() time.Time {
		if n := held.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Now()
	}
	limited := startRivulet(t, rivuletsrv.Config{AWSLimits: true, NATSListen: "127.0.0.1:0", Clock: clock})
	reader := startRivulet(t, rivuletsrv.Config{NATSURL: limited.srv.NATSURL()}) // unlimited, same storage, to read back
	for _, tc := range []struct {
		name  string
		aggr  bool
		n     int
		size  int
		extra []producer.Option
	}{
		{"plain", false, 1500, 1000, nil},
		{"aggregated", true, 3000, 500, nil},
		// Ordering allows one entry per key per call, so only big
		// aggregated records reach the shard's limit.
		{"aggregated, ordered", true, 2000, 1000, []producer.Option{producer.WithPreserveOrdering(true), producer.WithAggregationMaxSize(300_000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := limited.createStream(t, 1)
			opts := append([]producer.Option{producer.WithAggregation(tc.aggr), producer.WithRateLimit(400),
				producer.WithRetry(20*time.Millisecond, 200*time.Millisecond, 0.5)}, tc.extra...)
			p := newProducer(t, limited.client, stream, opts...)
			held.Store(time.Now().UnixNano())
			start := time.Now()
			// Put may wait for buffer space while time stands still, so the
			// records go in from another goroutine.
			type putDone struct {
				futs []*producer.Future
				err  error
			}
			done := make(chan putDone, 1)
			go func() {
				var d putDone
				for i := 0; i < tc.n && d.err == nil; i++ {
					var f *producer.Future
					f, d.err = p.Put(context.Background(), producer.Record{PartitionKey: fmt.Sprintf("k%d", i%20), Data: payload(i, tc.size)})
					d.futs = append(d.futs, f)
				}
				done <- d
			}()
			hang := time.After(hangTimeout)
			for p.Stats().Throttled == 0 {
				select {
				case <-hang:
					t.Fatalf("nothing throttled while the clock stood still: %+v", p.Stats())
				case <-time.After(5 * time.Millisecond):
				}
			}
			held.Store(0)
			var d putDone
			select {
			case d = <-done:
			case <-hang:
				t.Fatal("puts still blocked after time ran again")
			}
			if d.err != nil {
				t.Fatalf("put: %v", d.err)
			}
			flush(t, p)
			took := time.Since(start)
			res := results(t, d.futs)
			st := p.Stats()
			if st.RequestErrors != 0 {
				t.Fatalf("whole calls failed: %+v", st)
			}
			// No call failed whole, so no outcome was unknown: exactly once.
			checkExactlyOnce(t, kclUsers(t, readStream(t, reader.client, stream)), res)
			t.Logf("%d records of %d bytes in %v: %d entries throttled, %d re-sends, %d calls",
				tc.n, tc.size, took.Round(time.Millisecond), st.Throttled, st.UserRecordsRetried, st.Requests)
		})
	}
}

// TestUnknownOutcome: calls that reach Kinesis but whose answer is lost are
// retried whole. Those records are the only ones that may be stored twice.
func TestUnknownOutcome(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 2)
	var mu sync.Mutex
	call := 0
	rnd := rand.New(rand.NewPCG(5, 6))
	f := &faulty{KinesisAPI: r.client,
		after: func() error {
			mu.Lock()
			defer mu.Unlock()
			if call++; call%3 == 2 {
				return &smithy.GenericAPIError{Code: "InternalFailure", Message: "response lost"}
			}
			return nil
		},
		refuse: func(types.PutRecordsRequestEntry) string {
			mu.Lock()
			defer mu.Unlock()
			if rnd.IntN(5) == 0 {
				return "ProvisionedThroughputExceededException"
			}
			return ""
		},
	}
	p := newProducer(t, f, stream, producer.WithAggregation(false), producer.WithRetry(10*time.Millisecond, 50*time.Millisecond, 0.5))
	const n = 2000
	futs := putAll(t, p, n, func(i int) producer.Record {
		return producer.Record{PartitionKey: fmt.Sprint(i), Data: payload(i, 50)}
	})
	flush(t, p)
	res := results(t, futs)
	unknown := map[int]bool{}
	for _, d := range f.unknown {
		unknown[payloadID(t, d)] = true
	}
	seen := map[int]int{}
	for _, u := range kclUsers(t, readStream(t, r.client, stream)) {
		seen[u.id]++
	}
	dups := 0
	for id, x := range res {
		if x.Err != nil {
			t.Fatalf("record %d: %v", id, x.Err)
		}
		switch c := seen[id]; {
		case c == 0:
			t.Fatalf("record %d lost", id)
		case c > 1:
			dups++
			if !unknown[id] {
				t.Fatalf("record %d stored %d times, but no call carrying it had an unknown outcome", id, c)
			}
		}
	}
	if dups == 0 {
		t.Fatal("no duplicates: the lost answers were not exercised")
	}
}

// TestStreamARN: a stream can be named by its ARN.
func TestStreamARN(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 1)
	d, err := r.client.DescribeStreamSummary(bg, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, r.client, aws.ToString(d.StreamDescriptionSummary.StreamARN))
	if res, err := p.PutSync(bg, producer.Record{PartitionKey: "k", Data: []byte("x")}); err != nil || res.ShardID != "shardId-000000000000" {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestConcurrentPuts: many goroutines share a producer; with ordering,
// each goroutine's records keep their order.
func TestConcurrentPuts(t *testing.T) {
	r := startRivulet(t, rivuletsrv.Config{})
	stream := r.createStream(t, 3)
	p := newProducer(t, r.client, stream, producer.WithPreserveOrdering(true), producer.WithMaxBufferedRecords(500))
	const workers, per = 8, 400
	futs := make([]*producer.Future, workers*per)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := w*per + i
				f, err := p.Put(bg, producer.Record{PartitionKey: fmt.Sprintf("worker-%d", w), Data: payload(id, 200)})
				if err != nil {
					t.Error(err)
					return
				}
				futs[id] = f
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	flush(t, p)
	users := kclUsers(t, readStream(t, r.client, stream))
	checkExactlyOnce(t, users, results(t, futs))
	last := map[string]int{}
	for _, u := range users {
		if prev, ok := last[u.pk]; ok && u.id < prev {
			t.Fatalf("key %s: record %d after %d", u.pk, u.id, prev)
		}
		last[u.pk] = u.id
	}
}
