package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

const (
	// requestTimeout bounds one unary call, so that a stopped node
	// (SIGSTOP) costs a client 10 s, not forever.
	requestTimeout = 10 * time.Second
	// retryPause is the pause before a client tries the next endpoint.
	retryPause = 100 * time.Millisecond
	// writePace is each writer's pause between batches: writes go on
	// without starving three nodes on two cores, or the test's memory.
	writePace = 100 * time.Millisecond
	// pollIdle is how long a polling reader waits after an empty page.
	pollIdle = 250 * time.Millisecond
	// eventSilence ends a subscription that sent nothing for this long;
	// Rivulet sends an event at least every 2 s.
	eventSilence = 20 * time.Second
	// logEvery throttles each goroutine's logging of failures.
	logEvery = 5 * time.Second
	// payloadPadding makes each payload about 100 bytes.
	payloadPadding = "................................................................"
)

// WorkloadConfig says what to run against a cluster.
type WorkloadConfig struct {
	Endpoints []string // nodes' http endpoints; writers and readers fail over between them
	Stream    string   // an existing stream
	Writers   int      // PutRecords writers (default 3)
	EFO       bool     // also run one enhanced fan-out subscriber
}

// Record is one record as a writer, a reader or the checker met it.
type Record struct {
	Shard   string    `json:"shard"`
	Seq     string    `json:"seq"`
	Payload string    `json:"payload"`
	At      time.Time `json:"at"` // acknowledged or seen
}

// History is what a workload did and saw. Read it only after Stop.
type History struct {
	Stream string
	// AckLog is the file recPlace every acknowledged record was appended as
	// a JSON line (a Record).
	AckLog string
	// Acks are the acknowledged records in the order of their answers.
	Acks []Record
	// Sends is how many times each payload was sent: 1 plus its retries.
	Sends map[string]int
	// Retries counts records sent again after a failed attempt.
	Retries int
	// Failures counts failed calls of writers and readers.
	Failures int
	// Readers holds, per reader ("poll/<shard>", "efo/<shard>"), the
	// records it saw in order.
	Readers map[string][]Record
	// Started and Stopped bound the time the writers ran.
	Started, Stopped time.Time

	lastWrite time.Time     // last successful PutRecords answer
	longest   time.Duration // longest gap between two of them
}

// Acked is the number of acknowledged records.
func (h *History) Acked() int { return len(h.Acks) }

// Unavailable is the longest gap between consecutive successful PutRecords
// answers while the writers ran, counting from the start and to the stop.
func (h *History) Unavailable() time.Duration { return h.longest }

// Workload is continuous writers and readers against a stream.
type Workload struct {
	t      testing.TB
	cfg    WorkloadConfig
	run    string // tags this workload's payloads
	cancel context.CancelFunc
	wg     sync.WaitGroup
	tr     *http.Transport
	unary  *http.Client
	stream *http.Client // no overall timeout: subscriptions last minutes
	cls    []*kinesis.Client

	mu       sync.Mutex
	h        *History
	log      *os.File
	logErr   error
	polling  map[string]bool // shards with a polling reader
	fanning  map[string]bool // shards with a subscription
	stopOnce sync.Once
}

// StartWorkload starts cfg.Writers writers, one polling reader per shard
// and, with cfg.EFO, one enhanced fan-out consumer subscribed to every
// shard. Each follows the stream's reshards and fails over between
// cfg.Endpoints. Stop ends them.
func StartWorkload(ctx context.Context, t testing.TB, cfg WorkloadConfig) *Workload {
	t.Helper()
	if len(cfg.Endpoints) == 0 || cfg.Stream == "" {
		t.Fatalf("StartWorkload: endpoints %v, stream %q", cfg.Endpoints, cfg.Stream)
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 3
	}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	path := filepath.Join(t.TempDir(), "acks.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{ResponseHeaderTimeout: requestTimeout, MaxIdleConnsPerHost: 32}
	w := &Workload{
		t: t, cfg: cfg, run: hex.EncodeToString(tag), tr: tr,
		unary:   &http.Client{Transport: rivulet.SDKTransport(tr), Timeout: requestTimeout},
		stream:  &http.Client{Transport: rivulet.SDKTransport(tr)},
		log:     f,
		polling: map[string]bool{}, fanning: map[string]bool{},
		h: &History{Stream: cfg.Stream, AckLog: path, Sends: map[string]int{}, Readers: map[string][]Record{}},
	}
	for _, ep := range cfg.Endpoints {
		w.cls = append(w.cls, newClient(ep, w.unary))
	}
	shards, err := listShards(ctx, w.cls, cfg.Stream, 0, time.Minute)
	if err != nil {
		_ = f.Close()
		tr.CloseIdleConnections()
		t.Fatalf("StartWorkload: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	t.Cleanup(func() { w.Stop() })

	now := time.Now()
	w.h.Started, w.h.lastWrite = now, now
	for i := range cfg.Writers {
		w.wg.Go(func() { w.writer(wctx, i) })
	}
	for _, s := range shards {
		if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil {
			w.startPoll(wctx, aws.ToString(s.ShardId))
		}
	}
	if cfg.EFO {
		w.wg.Go(func() { w.fanOut(wctx, shards) })
	}
	return w
}

// Stop ends the writers and readers, waits for them and returns what they
// did. Later calls return the same History.
func (w *Workload) Stop() *History {
	w.stopOnce.Do(func() {
		w.cancel()
		w.wg.Wait()
		w.tr.CloseIdleConnections()
		w.mu.Lock()
		defer w.mu.Unlock()
		w.h.Stopped = time.Now()
		w.h.longest = max(w.h.longest, w.h.Stopped.Sub(w.h.lastWrite))
		if err := w.log.Close(); err != nil && w.logErr == nil {
			w.logErr = err
		}
		if w.logErr != nil {
			w.t.Errorf("ack log %s: %v", w.h.AckLog, w.logErr)
		}
	})
	return w.h
}

// newClient is a Kinesis client of one endpoint that never retries by
// itself: the workload's retries are its own, and counted.
func newClient(endpoint string, hc *http.Client) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// mayLog reports whether a goroutine that last logged at *last may log
// again.
func mayLog(last *time.Time) bool {
	if time.Since(*last) < logEvery {
		return false
	}
	*last = time.Now()
	return true
}

// sleepCtx sleeps for d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writer puts batches of 10 to 50 records until ctx ends. A record that
// failed, alone or with its call, goes again with the same payload to the
// next endpoint.
func (w *Workload) writer(ctx context.Context, id int) {
	rng := mrand.New(mrand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	ep := id % len(w.cls)
	var logged time.Time
	for n := 0; ctx.Err() == nil; n++ {
		if n > 0 && !sleepCtx(ctx, writePace) {
			return
		}
		pending := make([]types.PutRecordsRequestEntry, 10+rng.IntN(41))
		for i := range pending {
			p := fmt.Sprintf("w%d-%d-%d %s %s", id, n, i, w.run, payloadPadding)
			pending[i] = types.PutRecordsRequestEntry{Data: []byte(p), PartitionKey: aws.String(fmt.Sprintf("k%x", rng.Uint64()))}
		}
		for first := true; len(pending) > 0 && ctx.Err() == nil; first = false {
			w.sent(pending, !first)
			out, err := w.cls[ep].PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &w.cfg.Stream, Records: pending})
			if err != nil {
				w.failed()
				if ctx.Err() == nil && mayLog(&logged) {
					w.t.Logf("writer %d: PutRecords via %s: %v", id, w.cfg.Endpoints[ep], err)
				}
				ep = (ep + 1) % len(w.cls)
				sleepCtx(ctx, retryPause)
				continue
			}
			var acks []Record
			var again []types.PutRecordsRequestEntry
			for i, r := range out.Records {
				if i >= len(pending) {
					break
				}
				if r.ErrorCode != nil || r.SequenceNumber == nil {
					again = append(again, pending[i])
					continue
				}
				acks = append(acks, Record{Shard: aws.ToString(r.ShardId), Seq: aws.ToString(r.SequenceNumber), Payload: string(pending[i].Data)})
			}
			if len(out.Records) < len(pending) {
				again = append(again, pending[len(out.Records):]...)
			}
			w.acked(acks)
			if len(again) > 0 {
				ep = (ep + 1) % len(w.cls)
				sleepCtx(ctx, retryPause)
			}
			pending = again
		}
	}
}

// sent counts the sending of records, retry says whether again.
func (w *Workload) sent(recs []types.PutRecordsRequestEntry, retry bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range recs {
		w.h.Sends[string(r.Data)]++
	}
	if retry {
		w.h.Retries += len(recs)
	}
}

func (w *Workload) failed() {
	w.mu.Lock()
	w.h.Failures++
	w.mu.Unlock()
}

// acked logs acknowledged records, in memory and in the ack log, and
// times the gap since the last successful answer.
func (w *Workload) acked(recs []Record) {
	if len(recs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.h.longest = max(w.h.longest, now.Sub(w.h.lastWrite))
	w.h.lastWrite = now
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range recs {
		recs[i].At = now
		_ = enc.Encode(recs[i])
	}
	w.h.Acks = append(w.h.Acks, recs...)
	if w.logErr == nil {
		_, w.logErr = w.log.Write(buf.Bytes())
	}
}

// saw records what a reader received.
func (w *Workload) saw(reader string, shard string, recs []types.Record) string {
	if len(recs) == 0 {
		return ""
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range recs {
		w.h.Readers[reader] = append(w.h.Readers[reader], Record{Shard: shard, Seq: aws.ToString(r.SequenceNumber), Payload: string(r.Data), At: now})
	}
	return aws.ToString(recs[len(recs)-1].SequenceNumber)
}

// startPoll starts a polling reader of shard unless one runs.
func (w *Workload) startPoll(ctx context.Context, shard string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polling[shard] || ctx.Err() != nil {
		return
	}
	w.polling[shard] = true
	w.wg.Go(func() { w.poll(ctx, shard) })
}

// poll reads shard with GetRecords until it ends or ctx does, resuming
// after the last record seen on the next endpoint after a failure, then
// reads the shard's children.
func (w *Workload) poll(ctx context.Context, shard string) {
	name := "poll/" + shard
	ep := len(shard) % len(w.cls)
	var last string
	var it *string
	var logged time.Time
	fail := func(what string, err error) {
		w.failed()
		if ctx.Err() == nil && mayLog(&logged) {
			w.t.Logf("%s: %s via %s: %v", name, what, w.cfg.Endpoints[ep], err)
		}
		it = nil
		ep = (ep + 1) % len(w.cls)
		sleepCtx(ctx, retryPause)
	}
	for ctx.Err() == nil {
		c := w.cls[ep]
		if it == nil {
			in := &kinesis.GetShardIteratorInput{StreamName: &w.cfg.Stream, ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if last != "" {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(last)
			}
			out, err := c.GetShardIterator(ctx, in)
			if err != nil {
				fail("GetShardIterator", err)
				continue
			}
			it = out.ShardIterator
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
		if err != nil {
			fail("GetRecords", err)
			continue
		}
		if seq := w.saw(name, shard, out.Records); seq != "" {
			last = seq
		}
		if out.NextShardIterator == nil {
			w.children(ctx, shard, out.ChildShards, w.startPoll)
			return
		}
		it = out.NextShardIterator
		if len(out.Records) == 0 {
			sleepCtx(ctx, pollIdle)
		}
	}
}

// children starts readers of the children of a shard that ended: those
// the service named, or else those ListShards names.
func (w *Workload) children(ctx context.Context, shard string, named []types.ChildShard, start func(context.Context, string)) {
	for _, c := range named {
		start(ctx, aws.ToString(c.ShardId))
	}
	if len(named) > 0 {
		return
	}
	for ctx.Err() == nil {
		shards, err := listShards(ctx, w.cls, w.cfg.Stream, len(shard), time.Minute)
		found := false
		for _, s := range shards {
			if aws.ToString(s.ParentShardId) == shard || aws.ToString(s.AdjacentParentShardId) == shard {
				start(ctx, aws.ToString(s.ShardId))
				found = true
			}
		}
		if found {
			return
		}
		if err == nil {
			w.t.Logf("shard %s ended without children", shard)
		}
		sleepCtx(ctx, time.Second)
	}
}

// listShards lists every shard of a stream, trying the endpoints in turn
// from the one at first (modulo their number) until one answers or patience
// runs out.
func listShards(ctx context.Context, cls []*kinesis.Client, stream string, first int, patience time.Duration) ([]types.Shard, error) {
	deadline := time.Now().Add(patience)
	for i := first; ; i++ {
		shards, err := listShardsOf(ctx, cls[i%len(cls)], stream)
		if err == nil {
			return shards, nil
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, retryPause) {
			return nil, fmt.Errorf("ListShards %s: %w", stream, err)
		}
	}
}

// listShardsOf lists every shard of a stream through one client.
func listShardsOf(ctx context.Context, c *kinesis.Client, stream string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// fanOut registers one enhanced fan-out consumer and subscribes it to every
// open shard, then to their children.
func (w *Workload) fanOut(ctx context.Context, shards []types.Shard) {
	arn, err := w.register(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.t.Errorf("enhanced fan-out consumer: %v", err)
		}
		return
	}
	for _, s := range shards {
		if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil {
			w.startSubscriber(arn)(ctx, aws.ToString(s.ShardId))
		}
	}
}

// startSubscriber is a function that starts a subscriber of the consumer
// arn to a shard unless one runs.
func (w *Workload) startSubscriber(arn string) func(context.Context, string) {
	return func(ctx context.Context, shard string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fanning[shard] || ctx.Err() != nil {
			return
		}
		w.fanning[shard] = true
		w.wg.Go(func() { w.subscribe(ctx, arn, shard) })
	}
}

// register registers the workload's consumer through any endpoint and
// waits until it is ACTIVE.
func (w *Workload) register(ctx context.Context) (string, error) {
	name := "workload-" + w.run
	deadline := time.Now().Add(2 * time.Minute)
	var arn string
	var err error
	for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
		c := w.cls[i%len(w.cls)]
		if arn == "" {
			var sum *kinesis.DescribeStreamSummaryOutput
			if sum, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &w.cfg.Stream}); err != nil {
				sleepCtx(ctx, retryPause)
				continue
			}
			streamARN := sum.StreamDescriptionSummary.StreamARN
			var out *kinesis.RegisterStreamConsumerOutput
			out, err = c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: &name})
			var inUse *types.ResourceInUseException
			if errors.As(err, &inUse) {
				// An earlier attempt registered it but its answer was lost.
				var d *kinesis.DescribeStreamConsumerOutput
				if d, err = c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: streamARN, ConsumerName: &name}); err == nil {
					arn = aws.ToString(d.ConsumerDescription.ConsumerARN)
				}
			} else if err == nil {
				arn = aws.ToString(out.Consumer.ConsumerARN)
			}
			if arn == "" {
				sleepCtx(ctx, retryPause)
				continue
			}
		}
		var d *kinesis.DescribeStreamConsumerOutput
		d, err = c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &arn})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			return arn, nil
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = errors.New("not ACTIVE in 2m")
	}
	return "", fmt.Errorf("consumer %s (ARN %q): %w", name, arn, err)
}

// subscribe reads shard through SubscribeToShard until the shard ends or
// ctx does: again after each subscription ends, after the last record seen,
// and on the next endpoint after a failure. Each subscription has a client
// of its own: two SubscribeToShard calls on one client race in smithy-go.
func (w *Workload) subscribe(ctx context.Context, arn, shard string) {
	name := "efo/" + shard
	ep := (len(shard) + 1) % len(w.cls)
	var last string
	var logged time.Time
	for ctx.Err() == nil {
		pos := types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}
		if last != "" {
			pos = types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(last)}
		}
		c := newClient(w.cfg.Endpoints[ep], w.stream)
		ended, seq, err := w.subscription(ctx, c, arn, name, shard, pos)
		if seq != "" {
			last = seq
		}
		if ended {
			return
		}
		if err != nil {
			w.failed()
			if ctx.Err() == nil && mayLog(&logged) {
				w.t.Logf("%s: SubscribeToShard via %s: %v", name, w.cfg.Endpoints[ep], err)
			}
			ep = (ep + 1) % len(w.cls)
			sleepCtx(ctx, retryPause)
		}
	}
}

// subscription runs one SubscribeToShard call to its end. ended says the
// shard ended (and its children's subscriptions started); seq is the last
// sequence number seen.
func (w *Workload) subscription(ctx context.Context, c *kinesis.Client, arn, name, shard string, pos types.StartingPosition) (ended bool, seq string, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out, err := c.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: &shard, StartingPosition: &pos})
	if err != nil {
		return false, "", err
	}
	es := out.GetStream()
	defer es.Close()
	// A node that stops answering (SIGSTOP) leaves the stream open.
	silent := time.AfterFunc(eventSilence, cancel)
	defer silent.Stop()
	var children []types.ChildShard
	closed := false
	for ev := range es.Events() {
		silent.Reset(eventSilence)
		e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
		if !ok {
			continue
		}
		if s := w.saw(name, shard, e.Value.Records); s != "" {
			seq = s
		}
		if e.Value.ContinuationSequenceNumber == nil && len(e.Value.ChildShards) > 0 {
			closed, children = true, e.Value.ChildShards
			break
		}
	}
	if closed {
		w.children(ctx, shard, children, w.startSubscriber(arn))
		return true, seq, nil
	}
	if err := es.Err(); err != nil {
		return false, seq, err
	}
	if sctx.Err() != nil && ctx.Err() == nil {
		return false, seq, fmt.Errorf("no event in %v", eventSilence)
	}
	return false, seq, nil
}
