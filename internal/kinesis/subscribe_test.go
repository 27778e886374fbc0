package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/eventstream"
	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

// pipeResponse is an http.ResponseWriter whose body a test reads as it is
// written, like a client.
type pipeResponse struct {
	header http.Header
	pw     *io.PipeWriter
	status int
}

func (p *pipeResponse) Header() http.Header         { return p.header }
func (p *pipeResponse) WriteHeader(code int)        { p.status = code }
func (p *pipeResponse) Write(b []byte) (int, error) { return p.pw.Write(b) }
func (p *pipeResponse) Flush()                      {}

// message is one decoded event-stream message.
type message struct {
	headers map[string]string
	payload []byte
}

func (m message) kind() string {
	if m.headers[":message-type"] == "exception" {
		return "exception:" + m.headers[":exception-type"]
	}
	return m.headers[":event-type"]
}

func (m message) event(t *testing.T) api.SubscribeToShardEvent {
	t.Helper()
	var ev api.SubscribeToShardEvent
	if err := json.Unmarshal(m.payload, &ev); err != nil {
		t.Fatalf("event payload %q: %v", m.payload, err)
	}
	return ev
}

// stream is a running subscription as a client sees it.
type stream struct {
	t      *testing.T
	msgs   chan message
	cancel context.CancelFunc
	done   chan struct{}
	resp   *pipeResponse
}

// respond runs sub.Respond as a request with the given content type.
func respond(t *testing.T, sub *Subscription, contentType string) *stream {
	t.Helper()
	pr, pw := io.Pipe()
	rctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, "/", nil)
	req.Header.Set("Content-Type", contentType)
	st := &stream{t: t, msgs: make(chan message, 1000), cancel: cancel, done: make(chan struct{}),
		resp: &pipeResponse{header: http.Header{}, pw: pw}}
	go func() {
		defer close(st.done)
		sub.Respond(st.resp, req)
		pw.Close()
	}()
	go func() {
		defer close(st.msgs)
		dec := eventstream.NewDecoder()
		for {
			m, err := dec.Decode(pr, nil)
			if err != nil {
				pr.CloseWithError(err)
				return
			}
			h := map[string]string{}
			for _, x := range m.Headers {
				h[x.Name] = x.Value.String()
			}
			st.msgs <- message{headers: h, payload: append([]byte(nil), m.Payload...)}
		}
	}()
	t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	for range st.msgs {
	}
	<-st.done
}

// hangTimeout bounds the waits for a message that should come: only a hang
// reaches it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

// next waits for the next message; ok is false at the end of the stream.
func (st *stream) next(wait time.Duration) (message, bool) {
	st.t.Helper()
	select {
	case m, ok := <-st.msgs:
		return m, ok
	case <-time.After(wait):
		st.t.Fatalf("no message within %v", wait)
		return message{}, false
	}
}

// records collects the records of events until it has n, skipping empty
// events.
func (st *stream) records(n int, wait time.Duration) ([]api.Record, api.SubscribeToShardEvent) {
	st.t.Helper()
	var out []api.Record
	var last api.SubscribeToShardEvent
	deadline := time.Now().Add(wait)
	for len(out) < n {
		m, ok := st.next(time.Until(deadline))
		if !ok {
			st.t.Fatalf("stream ended after %d of %d records", len(out), n)
		}
		if m.kind() != eventSubscribe {
			st.t.Fatalf("got %s, want an event", m.kind())
		}
		last = m.event(st.t)
		out = append(out, last.Records...)
	}
	return out, last
}

// ended waits for the end of the stream, skipping events; it returns the
// last message.
func (st *stream) ended(wait time.Duration) message {
	st.t.Helper()
	var last message
	deadline := time.Now().Add(wait)
	for {
		m, ok := st.next(time.Until(deadline))
		if !ok {
			return last
		}
		last = m
	}
}

// fanService is a service with an ACTIVE stream and consumer.
func fanService(t *testing.T, shards int64) (*Service, *clock, string) {
	t.Helper()
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "fan", shards)
	cons := register(t, s, "fan", "app")
	c.Add(DefaultConsumerCreateDelay)
	return s, c, cons.ConsumerARN
}

func subscribe(t *testing.T, s *Service, arn, shard, typ string, seq *string, ts *time.Time) *stream {
	t.Helper()
	sub, err := trySubscribe(s, arn, shard, typ, seq, ts)
	if err != nil {
		t.Fatal(err)
	}
	return respond(t, sub, "application/x-amz-json-1.1")
}

func trySubscribe(s *Service, arn, shard, typ string, seq *string, ts *time.Time) (*Subscription, error) {
	pos := &api.StartingPosition{Type: &typ, SequenceNumber: seq}
	if ts != nil {
		pos.Timestamp = &api.Time{Time: *ts}
	}
	return s.SubscribeToShard(ctx, &api.SubscribeToShardInput{ConsumerARN: &arn, ShardId: &shard, StartingPosition: pos})
}

func wantInitial(t *testing.T, st *stream) {
	t.Helper()
	m, ok := st.next(hangTimeout)
	if !ok || m.kind() != "initial-response" || string(m.payload) != "{}" || m.headers[":message-type"] != "event" {
		t.Fatalf("first message %+v, want the initial-response", m)
	}
	if st.resp.status != http.StatusOK || st.resp.header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("response %d %v", st.resp.status, st.resp.header)
	}
}

func dataOf(recs []api.Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.Write(r.Data)
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// TestSubscribePushesRecords: with the periodic wake-up made longer than
// the test, records still arrive at once, so they are pushed by the write
// path.
func TestSubscribePushesRecords(t *testing.T) {
	s, _, arn := fanService(t, 1)
	s.fan.tick = time.Hour
	st := subscribe(t, s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantInitial(t, st)
	p1 := put(t, s, "fan", "k", "one")
	// Any wait shorter than the hour-long tick shows the push; this one
	// only bounds a hang.
	recs, ev := st.records(1, hangTimeout)
	if dataOf(recs) != "one" || recs[0].PartitionKey != "k" || recs[0].SequenceNumber != p1.SequenceNumber ||
		*ev.ContinuationSequenceNumber != p1.SequenceNumber || ev.MillisBehindLatest != 0 || ev.ChildShards != nil {
		t.Fatalf("event %+v", ev)
	}
	if time.Since(recs[0].ApproximateArrivalTimestamp.Time) > time.Minute {
		t.Fatalf("arrival time %v", recs[0].ApproximateArrivalTimestamp)
	}
	var batch []api.PutRecordsRequestEntry
	for _, d := range []string{"two", "three", "four"} {
		batch = append(batch, api.PutRecordsRequestEntry{PartitionKey: ptr("k"), Data: []byte(d)})
	}
	if _, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("fan"), Records: batch}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := st.records(3, hangTimeout); dataOf(recs) != "two three four" {
		t.Fatalf("got %q", dataOf(recs))
	}
}

func TestSubscribeStartingPositions(t *testing.T) {
	s, _, arn := fanService(t, 1)
	s.fan.tick = 50 * time.Millisecond
	const shard = "shardId-000000000000"
	p1 := put(t, s, "fan", "k", "a")
	p2 := put(t, s, "fan", "k", "b")
	// Arrival times are the store's real clock.
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	put(t, s, "fan", "k", "c")
	cases := []struct {
		typ  string
		seq  *string
		ts   *time.Time
		want string
	}{
		{api.TrimHorizon, nil, nil, "a b c"},
		{api.AtSequenceNumber, &p2.SequenceNumber, nil, "b c"},
		{api.AfterSequenceNumber, &p1.SequenceNumber, nil, "b c"},
		{api.AtTimestamp, nil, &mid, "c"},
	}
	for _, tc := range cases {
		// A subscription that ended releases its lease at once.
		st := subscribe(t, s, arn, shard, tc.typ, tc.seq, tc.ts)
		wantInitial(t, st)
		if recs, _ := st.records(strings.Count(tc.want, " ")+1, hangTimeout); dataOf(recs) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.typ, dataOf(recs), tc.want)
		}
		st.close()
	}
	// LATEST sees only what comes next.
	st := subscribe(t, s, arn, shard, api.Latest, nil, nil)
	wantInitial(t, st)
	put(t, s, "fan", "k", "d")
	if recs, _ := st.records(1, hangTimeout); dataOf(recs) != "d" {
		t.Errorf("LATEST: got %q", dataOf(recs))
	}
	st.close()

	bad := "49999999999999999999999999999999999999999999999999999999"
	_, err := trySubscribe(s, arn, shard, api.AtSequenceNumber, &bad, nil)
	wantErr(t, err, ErrInvalidArgument, "")
	_, err = trySubscribe(s, arn, shard, api.AtSequenceNumber, nil, nil)
	wantErr(t, err, ErrInvalidArgument, "")
	_, err = trySubscribe(s, arn, shard, "SOMEWHERE", nil, nil)
	wantErr(t, err, ErrValidation, "")
	_, err = trySubscribe(s, arn, "shardId-000000000007", api.Latest, nil, nil)
	wantErr(t, err, ErrResourceNotFound, "Shard shardId-000000000007 in stream fan under account 000000000000 does not exist")
	_, err = s.SubscribeToShard(ctx, &api.SubscribeToShardInput{ConsumerARN: &arn, ShardId: ptr(shard)})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null")
}

// TestSubscribeIdleEventsContinue: an idle subscription keeps sending
// events, and each continuation resumes exactly after what was delivered.
func TestSubscribeIdleEventsContinue(t *testing.T) {
	s, _, arn := fanService(t, 1)
	s.fan.tick = 30 * time.Millisecond
	const shard = "shardId-000000000000"
	for _, typ := range []string{api.TrimHorizon, api.Latest} {
		st := subscribe(t, s, arn, shard, typ, nil, nil)
		wantInitial(t, st)
		var cont string
		for i := 0; i < 3; i++ {
			m, _ := st.next(hangTimeout)
			ev := m.event(t)
			if m.kind() != eventSubscribe || len(ev.Records) != 0 || ev.ContinuationSequenceNumber == nil {
				t.Fatalf("%s: idle event %+v", typ, ev)
			}
			cont = *ev.ContinuationSequenceNumber
		}
		st.close()
		put(t, s, "fan", "k", "after-"+typ)
		for _, how := range []string{api.AfterSequenceNumber, api.AtSequenceNumber} {
			st = subscribe(t, s, arn, shard, how, &cont, nil)
			wantInitial(t, st)
			if recs, _ := st.records(1, hangTimeout); dataOf(recs) != "after-"+typ {
				t.Fatalf("%s then %s of the idle continuation: got %q", typ, how, dataOf(recs))
			}
			st.close()
		}
		// Skip what was read, for the next round.
		_, last := func() ([]api.Record, api.SubscribeToShardEvent) {
			st := subscribe(t, s, arn, shard, api.AfterSequenceNumber, &cont, nil)
			wantInitial(t, st)
			defer st.close()
			return st.records(1, hangTimeout)
		}()
		cont = *last.ContinuationSequenceNumber
	}
}

func TestSubscribeTakeover(t *testing.T) {
	s, c, arn := fanService(t, 1)
	s.fan.tick = time.Hour // the lease watch alone must notice
	const shard = "shardId-000000000000"
	first := subscribe(t, s, arn, shard, api.Latest, nil, nil)
	wantInitial(t, first)
	_, err := trySubscribe(s, arn, shard, api.Latest, nil, nil)
	wantErr(t, err, ErrResourceInUse, "Another active subscription exists for this consumer: 000000000000:fan:shardId-000000000000:app")
	c.Add(takeoverAfter)
	second := subscribe(t, s, arn, shard, api.Latest, nil, nil)
	wantInitial(t, second)
	last := first.ended(hangTimeout)
	if last.kind() != "exception:ResourceInUseException" ||
		!strings.Contains(string(last.payload), `"message":"Another active subscription exists for this consumer: 000000000000:fan:shardId-000000000000:app"`) {
		t.Fatalf("the replaced subscription ended with %s %s", last.kind(), last.payload)
	}
	put(t, s, "fan", "k", "x")
	if recs, _ := second.records(1, hangTimeout); dataOf(recs) != "x" {
		t.Fatalf("the new subscription got %q", dataOf(recs))
	}
	// Another shard of the same consumer is independent.
	s2, _, arn2 := fanService(t, 2)
	a := subscribe(t, s2, arn2, "shardId-000000000000", api.Latest, nil, nil)
	b := subscribe(t, s2, arn2, "shardId-000000000001", api.Latest, nil, nil)
	wantInitial(t, a)
	wantInitial(t, b)
}

func TestSubscribeEndsWhenConsumerOrStreamGoes(t *testing.T) {
	s, c, arn := fanService(t, 1)
	s.fan.tick = 30 * time.Millisecond
	st := subscribe(t, s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantInitial(t, st)
	if _, err := s.DeregisterStreamConsumer(ctx, &api.DeregisterStreamConsumerInput{ConsumerARN: &arn}); err != nil {
		t.Fatal(err)
	}
	if m := st.ended(hangTimeout); m.kind() != "exception:ResourceNotFoundException" {
		t.Fatalf("after deregistering: %s %s", m.kind(), m.payload)
	}
	_, err := trySubscribe(s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantErr(t, err, ErrResourceInUse, "Consumer app with creation timestamp "+strings.TrimPrefix(arn[strings.LastIndexByte(arn, ':'):], ":")+
		" under stream: fan , account 000000000000 is not in ACTIVE status.")
	c.Add(DefaultConsumerDeleteDelay)
	_, err = trySubscribe(s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantErr(t, err, ErrResourceNotFound, "Consumer app under stream fan under account 000000000000 not found.")

	cons := register(t, s, "fan", "again")
	_, err = trySubscribe(s, cons.ConsumerARN, "shardId-000000000000", api.Latest, nil, nil)
	wantErr(t, err, ErrResourceInUse, "") // still CREATING
	c.Add(DefaultConsumerCreateDelay)
	st = subscribe(t, s, cons.ConsumerARN, "shardId-000000000000", api.Latest, nil, nil)
	wantInitial(t, st)
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("fan"), EnforceConsumerDeletion: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if m := st.ended(hangTimeout); m.kind() != "exception:ResourceNotFoundException" ||
		!strings.Contains(string(m.payload), "Stream fan under account 000000000000 not found.") {
		t.Fatalf("after deleting the stream: %s %s", m.kind(), m.payload)
	}
}

// TestSubscribeShardEnd: at the end of a split shard the last event has
// the children and no continuation, and the stream ends.
func TestSubscribeShardEnd(t *testing.T) {
	s, c, arn := fanService(t, 1)
	s.cfg.ReshardDelay = 0
	s.fan.tick = 30 * time.Millisecond
	put(t, s, "fan", "k", "before")
	st := subscribe(t, s, arn, "shardId-000000000000", api.TrimHorizon, nil, nil)
	wantInitial(t, st)
	st.records(1, hangTimeout)
	if _, err := s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("fan"), ShardToSplit: ptr("shardId-000000000000"),
		NewStartingHashKey: ptr("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	var last api.SubscribeToShardEvent
	for {
		m, ok := st.next(hangTimeout)
		if !ok {
			break
		}
		if m.kind() != eventSubscribe {
			t.Fatalf("got %s %s", m.kind(), m.payload)
		}
		last = m.event(t)
	}
	if len(last.ChildShards) != 2 || last.ContinuationSequenceNumber != nil || len(last.Records) != 0 ||
		last.ChildShards[0].ShardId != "shardId-000000000001" || last.ChildShards[1].ParentShards[0] != "shardId-000000000000" {
		t.Fatalf("last event %+v", last)
	}
	// Subscribing to the closed shard again replays it and ends the same way.
	st = subscribe(t, s, arn, "shardId-000000000000", api.TrimHorizon, nil, nil)
	wantInitial(t, st)
	if recs, _ := st.records(1, hangTimeout); dataOf(recs) != "before" {
		t.Fatalf("replay %q", dataOf(recs))
	}
	if m := st.ended(hangTimeout); len(m.event(t).ChildShards) != 2 {
		t.Fatalf("replay ended with %s", m.payload)
	}
}

func TestSubscribeLifetimeAndClose(t *testing.T) {
	s, _, arn := fanService(t, 1)
	s.fan.lifetime = 100 * time.Millisecond
	st := subscribe(t, s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantInitial(t, st)
	if m := st.ended(hangTimeout); m.headers != nil && m.headers[":message-type"] != "event" {
		t.Fatalf("expiry ended with %s", m.kind())
	}
	// The lease went with it: subscribing again at once is fine.
	s.fan.lifetime = time.Hour
	st = subscribe(t, s, arn, "shardId-000000000000", api.Latest, nil, nil)
	wantInitial(t, st)
	s.fan.close() // what Service.Close and a server shutdown do
	if m := st.ended(hangTimeout); m.headers != nil && m.headers[":message-type"] != "event" {
		t.Fatalf("Close ended it with %s", m.kind())
	}
}

// TestSubscribeEndsOnServerShutdown: http.Server.Shutdown waits for
// handlers, so subscriptions must end when it starts.
func TestSubscribeEndsOnServerShutdown(t *testing.T) {
	s, _, arn := fanService(t, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := trySubscribe(s, arn, "shardId-000000000000", api.Latest, nil, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sub.Respond(w, r)
	}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "application/x-amz-json-1.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := eventstream.NewDecoder().Decode(resp.Body, nil); err != nil { // the initial response
		t.Fatal(err)
	}
	// A Shutdown that waited for the subscription would wait for its
	// lifetime, five minutes: this bound is far shorter, so it fails that,
	// and far longer than any machine needs to end the subscription.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := srv.Config.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown with an open subscription: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream did not end cleanly: %v", err)
	}
}

func TestSubscribeCBOR(t *testing.T) {
	s, _, arn := fanService(t, 1)
	sub, err := trySubscribe(s, arn, "shardId-000000000000", api.Latest, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := respond(t, sub, "application/x-amz-cbor-1.1")
	m, _ := st.next(hangTimeout)
	if m.kind() != "initial-response" || !bytes.Equal(m.payload, []byte{0xa0}) || m.headers[":content-type"] != "application/x-amz-cbor-1.1" {
		t.Fatalf("initial response %+v", m)
	}
	put(t, s, "fan", "k", "\x00binary")
	m, _ = st.next(hangTimeout)
	var ev struct {
		Records []struct {
			Data                        []byte
			ApproximateArrivalTimestamp cbor.RawTag
		}
		ContinuationSequenceNumber string
	}
	if err := cbor.Unmarshal(m.payload, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 || string(ev.Records[0].Data) != "\x00binary" || ev.ContinuationSequenceNumber == "" {
		t.Fatalf("CBOR event %+v", ev)
	}
	ts := ev.Records[0].ApproximateArrivalTimestamp
	var ms int64
	if ts.Number != 1 || cbor.Unmarshal(ts.Content, &ms) != nil || time.Since(time.UnixMilli(ms)) > time.Minute {
		t.Fatalf("CBOR timestamp %+v is not tag 1 around epoch milliseconds", ts)
	}
}

// fakeLimits allows everything; it only switches the fan-out rate on.
type fakeLimits struct{}

func (fakeLimits) Write(store.StreamKey, int, int, int) bool { return true }
func (fakeLimits) Read(store.StreamKey, int) bool            { return true }
func (fakeLimits) ReadDone(store.StreamKey, int, int)        {}
func (fakeLimits) Control(Caller, string, string) bool       { return true }
func (fakeLimits) ShardIterator(store.StreamKey, int) bool   { return true }
func (fakeLimits) Subscribe(string, int) bool                { return true }

// TestSubscribeRate: with limits on, each subscription is paced (2 MiB/s
// per consumer and shard on AWS): what goes beyond the burst is held until
// its debt is repaid (TestTokenBucket has the arithmetic). Without limits
// nothing is held.
func TestSubscribeRate(t *testing.T) {
	if r := newFanout().rate; r != 2<<20 {
		t.Fatalf("fan-out rate %v, want 2 MiB/s", r)
	}
	big := strings.Repeat("x", 256<<10)
	for _, limited := range []bool{false, true} {
		s, _, arn := fanService(t, 1)
		s.fan.tick = time.Hour // no idle events
		if limited {
			s.cfg.Limits = fakeLimits{}
			s.fan.rate = 1 << 10 // a 1 KiB burst: 256 KiB more is minutes of debt
		}
		st := subscribe(t, s, arn, "shardId-000000000000", api.Latest, nil, nil)
		wantInitial(t, st)
		put(t, s, "fan", "k", "small")
		if recs, _ := st.records(1, hangTimeout); dataOf(recs) != "small" {
			t.Fatalf("limited=%v: got %q, want the record within the burst", limited, dataOf(recs))
		}
		put(t, s, "fan", "k", big)
		if !limited {
			if recs, _ := st.records(1, hangTimeout); len(recs) != 1 || len(recs[0].Data) != len(big) {
				t.Fatalf("without limits: %d records after the big one", len(recs))
			}
			st.close()
			continue
		}
		// Minutes in debt, the subscription holds the big record. Waiting
		// gives a subscription that does not the time to send it; a slow
		// machine can only make this check miss that, never fail.
		time.Sleep(500 * time.Millisecond)
		s.fan.close() // a drain ends the wait, and the stream
		for {
			m, ok := st.next(hangTimeout)
			if !ok {
				break
			}
			if m.kind() == eventSubscribe && len(m.event(t).Records) > 0 {
				t.Fatalf("a record beyond the burst was sent without waiting: %d records", len(m.event(t).Records))
			}
		}
	}
}

func TestTokenBucket(t *testing.T) {
	// The arithmetic, on a clock the test moves: 1 KiB/s, 1 KiB of burst.
	b := newTokenBucket(1024)
	t0 := b.last
	for _, step := range []struct {
		at   time.Duration // since t0
		n    int
		wait time.Duration
	}{
		{0, 1024, 0},                     // the first second's worth at once
		{0, 256, 250 * time.Millisecond}, // a debt of 256 bytes
		{250 * time.Millisecond, 0, 0},   // repaid by waiting for it
		{250 * time.Millisecond, 512, 500 * time.Millisecond},
		{time.Hour, 1024, 0},           // idle refills one second's worth,
		{time.Hour, 1024, time.Second}, // not more
	} {
		if got := b.charge(t0.Add(step.at), step.n); got != step.wait {
			t.Fatalf("%d bytes at t0+%v wait %v, want %v", step.n, step.at, got, step.wait)
		}
	}

	// take waits only when in debt; stop and ctx end the wait.
	stopped := make(chan struct{})
	close(stopped)
	b = newTokenBucket(1024)
	if err := b.take(ctx, stopped, 1024); err != nil {
		t.Fatalf("within the burst: %v, want no wait", err)
	}
	if err := b.take(ctx, stopped, 1<<30); err != errClosed {
		t.Fatalf("a debt of days ended by stop: %v, want errClosed", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := newTokenBucket(1024).take(cctx, make(chan struct{}), 1<<30); err != errClosed {
		t.Fatalf("a debt of days ended by ctx: %v, want errClosed", err)
	}
	// A wait nothing interrupts ends by itself once the debt is repaid.
	if err := newTokenBucket(1<<20).take(ctx, make(chan struct{}), 1<<20+1<<10); err != nil {
		t.Fatalf("a short debt: %v", err)
	}
}
