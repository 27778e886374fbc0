package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/eventstream"
)

// Enhanced fan-out with real clients: aws-sdk-go-v2 over HTTP/1.1, h2c and
// TLS, the JS SDK v3 over its default HTTP/2 handler, takeover, the end of
// a subscription when its consumer goes, a KCL-style reader that follows
// resharding through ContinuationSequenceNumber and ChildShards, and two
// processes on one NATS.

// registerConsumer registers a consumer and waits until it is ACTIVE.
func registerConsumer(ctx context.Context, t *testing.T, c *kinesis.Client, stream, name string) string {
	t.Helper()
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: sum.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String(name)})
	if err != nil {
		t.Fatalf("RegisterStreamConsumer: %v", err)
	}
	arn := aws.ToString(out.Consumer.ConsumerARN)
	if out.Consumer.ConsumerStatus != types.ConsumerStatusCreating ||
		!strings.HasSuffix(arn, fmt.Sprintf(":stream/%s/consumer/%s:%d", stream, name, out.Consumer.ConsumerCreationTimestamp.Unix())) {
		t.Fatalf("registered %+v", out.Consumer)
	}
	deadline := time.Now().Add(hangTimeout)
	for {
		d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &arn})
		if err == nil && d.ConsumerDescription.ConsumerStatus == types.ConsumerStatusActive {
			return arn
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s not ACTIVE (last error %v)", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fanSub is one SubscribeToShard stream read by a goroutine into
// events; err holds how it ended.
type fanSub struct {
	out    *kinesis.SubscribeToShardOutput
	events chan types.SubscribeToShardEvent
	done   chan struct{}
	err    error
}

func subscribeSDK(ctx context.Context, c *kinesis.Client, arn, shard string, pos types.StartingPosition) (*fanSub, error) {
	out, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: &shard, StartingPosition: &pos})
	if err != nil {
		return nil, err
	}
	s := &fanSub{out: out, events: make(chan types.SubscribeToShardEvent, 1000), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		es := out.GetStream()
		for ev := range es.Events() {
			if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
				s.events <- e.Value
			}
		}
		s.err = es.Err()
	}()
	return s, nil
}

func mustSubscribe(ctx context.Context, t *testing.T, c *kinesis.Client, arn, shard string, pos types.StartingPosition) *fanSub {
	t.Helper()
	s, err := subscribeSDK(ctx, c, arn, shard, pos)
	if err != nil {
		t.Fatalf("SubscribeToShard %s: %v", shard, err)
	}
	t.Cleanup(s.close)
	return s
}

func (s *fanSub) close() {
	s.out.GetStream().Close()
	for range s.events {
	}
	<-s.done
}

// records reads events until n records arrived.
func (s *fanSub) records(t *testing.T, n int, wait time.Duration) ([]types.Record, types.SubscribeToShardEvent) {
	t.Helper()
	var recs []types.Record
	var last types.SubscribeToShardEvent
	timeout := time.After(wait)
	for len(recs) < n {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended after %d of %d records: %v", len(recs), n, s.err)
			}
			recs = append(recs, ev.Records...)
			last = ev
		case <-timeout:
			t.Fatalf("%d of %d records within %v", len(recs), n, wait)
		}
	}
	return recs, last
}

// ended waits for the end of the stream and returns its error.
func (s *fanSub) ended(t *testing.T, wait time.Duration) error {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				<-s.done
				return s.err
			}
		case <-timeout:
			t.Fatalf("the subscription did not end within %v", wait)
		}
	}
}

func fanLatest() types.StartingPosition {
	return types.StartingPosition{Type: types.ShardIteratorTypeLatest}
}

// fanClient builds an aws-sdk-go-v2 client on a transport, recording the
// protocol of the responses.
func fanClient(t *testing.T, endpoint string, tr *http.Transport, proto *string) *kinesis.Client {
	t.Helper()
	t.Cleanup(tr.CloseIdleConnections)
	return fanSDK(endpoint, tr, proto)
}

func fanSDK(endpoint string, tr *http.Transport, proto *string) *kinesis.Client {
	var mu sync.Mutex
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := tr.RoundTrip(r)
		if err == nil && proto != nil {
			mu.Lock()
			*proto = resp.Proto
			mu.Unlock()
		}
		return resp, err
	})}
	return kinesis.NewFromConfig(aws.Config{
		Region: region, HTTPClient: hc,
		Retryer:     func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
	}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// h2cTransport speaks cleartext HTTP/2 with prior knowledge, as AWS's
// SDKs do for SubscribeToShard.
func h2cTransport() *http.Transport {
	p := &http.Protocols{}
	p.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: p}
}

// TestFanoutSubscribeGoSDK subscribes with aws-sdk-go-v2 over h2c and over
// TLS (h2 by ALPN), checks records arrive as they are put and empty events
// keep coming while idle.
//
// Over HTTP/1.1 the SDK races itself: smithy-go closes the request body as
// soon as the response headers arrive, while net/http's writer may still
// be checking the body for extra bytes; the read of the closed body fails
// and net/http closes the connection under the event stream. AWS requires
// HTTP/2 for SubscribeToShard anyway; TestFanoutHTTP1 covers HTTP/1.1 with
// a plain client.
func TestFanoutSubscribeGoSDK(t *testing.T) {
	tlsPort := freePort(t)
	// A drain timeout far longer than any wait below: a shutdown that
	// waited for open subscriptions would outlast them.
	srv := startServer(t, serverOptions{extra: []string{"--tls-port", strconv.Itoa(tlsPort), "--shutdown-timeout", "10m"}})
	pemBytes, err := os.ReadFile(filepath.Join(srv.dataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	ctx := context.Background()
	setup := srv.kinesis()
	createStream(ctx, t, setup, "fan", 1)
	arn := registerConsumer(ctx, t, setup, "fan", "go")

	cases := []struct {
		name, endpoint, proto string
		tr                    *http.Transport
	}{
		{"H2C", srv.endpoint(), "HTTP/2.0", h2cTransport()},
		{"TLS", "https://localhost:" + strconv.Itoa(tlsPort), "HTTP/2.0",
			&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var proto string
			c := fanClient(t, tc.endpoint, tc.tr, &proto)
			sub := mustSubscribe(ctx, t, c, arn, "shardId-000000000000", fanLatest())
			if proto != tc.proto {
				t.Fatalf("subscribed over %s, want %s", proto, tc.proto)
			}
			for i := 0; i < 3; i++ {
				data := fmt.Sprintf("%s-%d", tc.name, i)
				put, err := setup.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("fan"), PartitionKey: aws.String("k"), Data: []byte(data)})
				if err != nil {
					t.Fatal(err)
				}
				recs, ev := sub.records(t, 1, hangTimeout)
				if string(recs[0].Data) != data || aws.ToString(recs[0].SequenceNumber) != aws.ToString(put.SequenceNumber) ||
					aws.ToString(ev.ContinuationSequenceNumber) != aws.ToString(put.SequenceNumber) || recs[0].ApproximateArrivalTimestamp == nil {
					t.Fatalf("event %+v with %+v", ev, recs[0])
				}
			}
			// Idle: empty events with a continuation keep coming.
			select {
			case ev := <-sub.events:
				if len(ev.Records) != 0 || ev.ContinuationSequenceNumber == nil || aws.ToInt64(ev.MillisBehindLatest) != 0 {
					t.Fatalf("idle event %+v", ev)
				}
			case <-time.After(hangTimeout): // only a hang reaches it
				t.Fatalf("no event while idle for %v", hangTimeout)
			}
		})
	}

	// Shutting down ends open subscriptions cleanly instead of waiting for
	// them: they would last 5 minutes, the drain 10. stop fails unless the
	// process exits 0 within hangTimeout, a minute, which only a shutdown
	// that does not wait for the subscription can do.
	sub := mustSubscribe(ctx, t, fanClient(t, srv.endpoint(), h2cTransport(), nil), arn, "shardId-000000000000", fanLatest())
	srv.stop(t)
	if err := sub.ended(t, hangTimeout); err != nil {
		t.Errorf("shutdown ended the subscription with %v", err)
	}
}

// TestFanoutTakeover: a second subscription within 5 s is refused; after
// 5 s it takes over and the first ends with ResourceInUseException. The two
// subscribers use two servers on one NATS, so the rule holds across
// processes, and records put through one process reach a subscriber on the
// other.
func TestFanoutTakeover(t *testing.T) {
	ctx := context.Background()
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	a := startServer(t, serverOptions{extra: []string{"--nats-listen", natsAddr}})
	b := startServer(t, serverOptions{extra: []string{"--nats-url", "nats://" + natsAddr}})
	ca, cb := a.kinesis(), b.kinesis()
	createStream(ctx, t, ca, "take", 1)

	// The refusal is only owed within 5 s of the first subscription. If
	// the machine stalls so long that the second call comes later, it
	// proves nothing either way: start over with a fresh consumer.
	var (
		arn, wantMsg string
		first        *fanSub
		started      time.Time
		inUse        *types.ResourceInUseException
	)
	for attempt := 1; ; attempt++ {
		name := fmt.Sprintf("app%d", attempt)
		arn = registerConsumer(ctx, t, ca, "take", name)
		began := time.Now()
		first = mustSubscribe(ctx, t, ca, arn, "shardId-000000000000", fanLatest())
		started = time.Now()
		late, err := subscribeSDK(ctx, cb, arn, "shardId-000000000000", fanLatest())
		wantMsg = "Another active subscription exists for this consumer: 000000000000:take:shardId-000000000000:" + name
		if err == nil && time.Since(began) >= 5*time.Second && attempt < 5 {
			t.Logf("attempt %d: the second subscription came %v after the first began; trying again", attempt, time.Since(began))
			late.close()
			continue
		}
		if !errors.As(err, &inUse) || aws.ToString(inUse.Message) != wantMsg {
			if late != nil {
				late.close()
			}
			t.Fatalf("second subscription within 5 s: %v", err)
		}
		break
	}
	if _, err := cb.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("take"), PartitionKey: aws.String("k"), Data: []byte("via b")}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := first.records(t, 1, hangTimeout); string(recs[0].Data) != "via b" {
		t.Fatalf("got %q", recs[0].Data)
	}
	time.Sleep(5*time.Second - time.Since(started) + 200*time.Millisecond)
	second := mustSubscribe(ctx, t, cb, arn, "shardId-000000000000", fanLatest())
	err := first.ended(t, hangTimeout)
	if !errors.As(err, &inUse) || aws.ToString(inUse.Message) != wantMsg {
		t.Fatalf("the replaced subscription ended with %v", err)
	}
	if _, err := ca.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("take"), PartitionKey: aws.String("k"), Data: []byte("via a")}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := second.records(t, 1, hangTimeout); string(recs[0].Data) != "via a" {
		t.Fatalf("got %q", recs[0].Data)
	}
}

// TestFanoutDeregisterEndsSubscription: deregistering the consumer ends
// its subscription with ResourceNotFoundException, and deleting a stream
// with consumers needs EnforceConsumerDeletion.
func TestFanoutDeregisterEndsSubscription(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, serverOptions{})
	c := srv.kinesis()
	createStream(ctx, t, c, "dereg", 1)
	arn := registerConsumer(ctx, t, c, "dereg", "app")
	sub := mustSubscribe(ctx, t, c, arn, "shardId-000000000000", fanLatest())
	_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("dereg")})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("DeleteStream with a consumer: %v", err)
	}
	if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: &arn}); err != nil {
		t.Fatal(err)
	}
	var nf *types.ResourceNotFoundException
	if err := sub.ended(t, hangTimeout); !errors.As(err, &nf) {
		t.Fatalf("after DeregisterStreamConsumer the subscription ended with %v", err)
	}
	list, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/dereg")})
	if err != nil || len(list.Consumers) > 1 {
		t.Fatalf("ListStreamConsumers: %+v %v", list, err)
	}
}

// efoReader reads a stream the way the KCL does with enhanced fan-out: one
// subscription chain per shard, re-subscribing with AFTER_SEQUENCE_NUMBER
// and the last ContinuationSequenceNumber, a shard's children started only
// once all their parents reached SHARD_END. To exercise re-subscribing, it
// drops each subscription after a few events.
type efoReader struct {
	// client makes one client per shard: aws-sdk-go-v2 (kinesis v1.56)
	// shares one event-stream decoder per client, so concurrent
	// subscriptions on one client race.
	client func() *kinesis.Client
	arn    string

	mu       sync.Mutex
	ended    map[string]bool
	started  map[string]bool
	parents  map[string][]string // child -> parents
	byKey    map[string][]string // partition key -> data in delivery order
	resubs   int
	children int
	errs     []error
	wg       sync.WaitGroup
}

func (k *efoReader) start(ctx context.Context, shard string, pos types.StartingPosition) {
	k.mu.Lock()
	if k.started[shard] {
		k.mu.Unlock()
		return
	}
	k.started[shard] = true
	k.mu.Unlock()
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		if err := k.follow(ctx, shard, pos); err != nil && ctx.Err() == nil {
			k.mu.Lock()
			k.errs = append(k.errs, fmt.Errorf("%s: %w", shard, err))
			k.mu.Unlock()
		}
	}()
}

// follow reads one shard to its end.
func (k *efoReader) follow(ctx context.Context, shard string, pos types.StartingPosition) error {
	c := k.client()
	for {
		sub, err := subscribeSDK(ctx, c, k.arn, shard, pos)
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			// The previous subscription is still being released.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		events, dropped := 0, false
		for ev := range sub.events {
			k.mu.Lock()
			for _, r := range ev.Records {
				key := aws.ToString(r.PartitionKey)
				k.byKey[key] = append(k.byKey[key], string(r.Data))
			}
			k.mu.Unlock()
			if ev.ContinuationSequenceNumber == nil {
				// SHARD_END.
				sub.close()
				k.shardEnded(ctx, shard, ev.ChildShards)
				return nil
			}
			pos = types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: ev.ContinuationSequenceNumber}
			if events++; events == 4 {
				dropped = true // closing it ourselves, so its error is ours
				break
			}
		}
		sub.close()
		if sub.err != nil && !dropped {
			return fmt.Errorf("after %d events from %v: %w", events, pos, sub.err)
		}
		if ctx.Err() != nil {
			return nil
		}
		k.mu.Lock()
		k.resubs++
		k.mu.Unlock()
	}
}

func (k *efoReader) shardEnded(ctx context.Context, shard string, children []types.ChildShard) {
	k.mu.Lock()
	k.ended[shard] = true
	var ready []string
	for _, ch := range children {
		id := aws.ToString(ch.ShardId)
		k.parents[id] = ch.ParentShards
		all := true
		for _, p := range ch.ParentShards {
			all = all && k.ended[p]
		}
		if all {
			ready = append(ready, id)
		}
	}
	k.mu.Unlock()
	for _, id := range ready {
		k.mu.Lock()
		k.children++
		k.mu.Unlock()
		k.start(ctx, id, types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	}
}

// TestFanoutKCLAcrossReshard writes with several keys while a split and a
// merge happen, and reads with efoReader: every acknowledged record must
// arrive exactly once, in order for its key.
func TestFanoutKCLAcrossReshard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := startServer(t, serverOptions{extra: []string{"--reshard-delay", "100ms"}})
	tr := h2cTransport()
	c := fanClient(t, srv.endpoint(), tr, nil)
	createStream(ctx, t, c, "kcl", 2)
	arn := registerConsumer(ctx, t, c, "kcl", "kcl-app")
	k := &efoReader{client: func() *kinesis.Client { return fanSDK(srv.endpoint(), tr, nil) }, arn: arn, ended: map[string]bool{}, started: map[string]bool{},
		parents: map[string][]string{}, byKey: map[string][]string{}}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	for _, sh := range listShards(ctx, t, c, "kcl") {
		k.start(readCtx, aws.ToString(sh.ShardId), types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	}

	// Producer: keys k0..k7, each with its own counter.
	const keys = 8
	var (
		mu    sync.Mutex
		acked = map[string][]string{}
		wg    sync.WaitGroup
	)
	stopPut := make(chan struct{})
	for w := 0; w < keys; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "k" + strconv.Itoa(w)
			for i := 0; ; i++ {
				select {
				case <-stopPut:
					return
				default:
				}
				data := fmt.Sprintf("%s:%d", key, i)
				_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("kcl"), PartitionKey: &key, Data: []byte(data)})
				if err != nil {
					t.Errorf("PutRecord: %v", err)
					return
				}
				mu.Lock()
				acked[key] = append(acked[key], data)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	waitUpdated := func() {
		deadline := time.Now().Add(hangTimeout)
		for time.Now().Before(deadline) {
			out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("kcl")})
			if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("stream did not become ACTIVE after resharding")
	}
	time.Sleep(time.Second)
	// Split shard 0 at a quarter of the key space: children 2 and 3.
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("kcl"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864")}); err != nil {
		t.Fatal(err)
	}
	waitUpdated()
	time.Sleep(time.Second)
	// Merge 3 (the upper quarter of the first half) with 1: child 4.
	if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("kcl"),
		ShardToMerge: aws.String("shardId-000000000003"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	waitUpdated()
	time.Sleep(time.Second)
	close(stopPut)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Wait until the reader has everything acknowledged.
	total := 0
	for _, v := range acked {
		total += len(v)
	}
	deadline := time.Now().Add(hangTimeout)
	for {
		k.mu.Lock()
		got := 0
		for _, v := range k.byKey {
			got += len(v)
		}
		errs := k.errs
		k.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("reader failed: %v", errs)
		}
		if got >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records", got, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Anything duplicated would show up a little later.
	time.Sleep(500 * time.Millisecond)
	stopReading()
	k.wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, want := range acked {
		if got := k.byKey[key]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("key %s: read %d records, %d acknowledged; first difference at %d", key, len(got), len(want), fanFirstDiff(got, want))
		}
	}
	for _, sh := range []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000003"} {
		if !k.ended[sh] {
			t.Errorf("%s never reached SHARD_END", sh)
		}
	}
	if p := k.parents["shardId-000000000004"]; len(p) != 2 {
		t.Errorf("merge child's parents: %v", p)
	}
	t.Logf("%d records over %d keys; %d re-subscriptions; children started: %d", total, keys, k.resubs, k.children)
	if k.resubs == 0 {
		t.Error("the reader never re-subscribed with a continuation")
	}
}

func fanFirstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFanoutJSSDK runs clients/js_subscribe.mjs: SubscribeToShard with
// @aws-sdk/client-kinesis and its default NodeHttp2Handler.
func TestFanoutJSSDK(t *testing.T) { runJSClient(t, "js_subscribe.mjs", "JsFanout") }

// TestFanoutHTTP1 subscribes over HTTP/1.1 with a plain client: the event
// stream is a chunked response, each message flushed as it is sent.
func TestFanoutHTTP1(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, serverOptions{})
	c := srv.kinesis()
	createStream(ctx, t, c, "h1", 1)
	arn := registerConsumer(ctx, t, c, "h1", "app")
	body := fmt.Sprintf(`{"ConsumerARN":%q,"ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}`, arn)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.endpoint(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
	signRaw(t, req, []byte(body))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" ||
		len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("response %s %d %v %v", resp.Proto, resp.StatusCode, resp.TransferEncoding, resp.Header)
	}
	msgs := make(chan eventstream.Message, 10)
	go func() {
		defer close(msgs)
		dec := eventstream.NewDecoder()
		for {
			m, err := dec.Decode(resp.Body, nil)
			if err != nil {
				return
			}
			m.Payload = append([]byte(nil), m.Payload...)
			msgs <- m
		}
	}()
	next := func() eventstream.Message {
		t.Helper()
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("the stream ended")
			}
			return m
		case <-time.After(hangTimeout):
			t.Fatalf("no message within %v", hangTimeout)
		}
		return eventstream.Message{}
	}
	if m := next(); m.Headers.Get(":event-type").String() != "initial-response" || string(m.Payload) != "{}" {
		t.Fatalf("first message %v %s", m.Headers, m.Payload)
	}
	put, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("h1"), PartitionKey: aws.String("k"), Data: []byte("chunked")})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m := next()
		var ev struct {
			Records []struct {
				Data           []byte
				SequenceNumber string
			}
		}
		if m.Headers.Get(":event-type").String() != "SubscribeToShardEvent" || json.Unmarshal(m.Payload, &ev) != nil {
			t.Fatalf("message %v %s", m.Headers, m.Payload)
		}
		if len(ev.Records) == 0 {
			continue
		}
		if string(ev.Records[0].Data) != "chunked" || ev.Records[0].SequenceNumber != aws.ToString(put.SequenceNumber) {
			t.Fatalf("event %s", m.Payload)
		}
		break
	}
	resp.Body.Close()
	for range msgs {
	}
}
