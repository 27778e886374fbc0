package producer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.uber.org/goleak"

	rivuletsrv "github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/aggregation"
	"github.com/rivulet/rivulet/producer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

// rivulet is a Rivulet server in this process and an SDK client for it.
type rivulet struct {
	client *kinesis.Client
	url    string
	srv    *rivuletsrv.Server
}

// startRivulet starts a server; with the zero Config it is in memory and
// streams become ACTIVE and reshards take effect at once.
func startRivulet(t testing.TB, cfg rivuletsrv.Config) *rivulet {
	t.Helper()
	srv, err := rivuletsrv.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return &rivulet{client: sdkClient(srv.Endpoint(), tr), url: srv.Endpoint(), srv: srv}
}

func sdkClient(url string, tr http.RoundTripper) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
		HTTPClient:       &http.Client{Transport: rivuletsrv.SDKTransport(tr)},
		RetryMaxAttempts: 1, // the producer retries
	})
}

var nameChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// createStream makes a stream named after the test.
func (r *rivulet) createStream(t testing.TB, shards int32) string {
	t.Helper()
	name := nameChars.ReplaceAllString(t.Name(), ".")
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	name += "-" + strconv.Itoa(rand.IntN(1e6))
	if _, err := r.client.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	return name
}

// newProducer starts a producer that Cleanup closes (a test may close it
// first).
func newProducer(t testing.TB, c producer.KinesisAPI, stream string, opts ...producer.Option) *producer.Producer {
	t.Helper()
	p, err := producer.New(c, stream, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// payload is record id as 8 digits, padded to size bytes.
func payload(id, size int) []byte {
	b := make([]byte, max(size, 8))
	copy(b, fmt.Sprintf("%08d", id))
	for i := 8; i < len(b); i++ {
		b[i] = 'a' + byte((id+i)%26)
	}
	return b
}

func payloadID(t testing.TB, b []byte) int {
	t.Helper()
	if len(b) < 8 {
		t.Fatalf("payload %q too short", b)
	}
	id, err := strconv.Atoi(string(b[:8]))
	if err != nil {
		t.Fatalf("payload %q: %v", b[:8], err)
	}
	return id
}

// stored is a Kinesis record as read from a shard.
type stored struct {
	shard string
	rng   *aggregation.HashRange
	rec   types.Record
}

// readStream reads every shard of the stream, closed ones included, from
// TRIM_HORIZON to the end.
func readStream(t testing.TB, c *kinesis.Client, stream string) []stored {
	t.Helper()
	ctx := context.Background()
	var out []stored
	var token *string
	for {
		in := &kinesis.ListShardsInput{NextToken: token}
		if token == nil {
			in.StreamName = &stream
		}
		ls, err := c.ListShards(ctx, in, readRetries)
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range ls.Shards {
			rng, err := aggregation.ParseHashRange(*sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range readShard(t, c, stream, *sh.ShardId) {
				out = append(out, stored{shard: *sh.ShardId, rng: rng, rec: r})
			}
		}
		if token = ls.NextToken; token == nil {
			return out
		}
	}
}

// readRetries gives the reads that check what was written the SDK's own
// retries, which the producer's client turns off: net/http's Transport now
// and then closes a kept-alive connection under a response being read
// (aws/aws-sdk-go-v2#2737), and the SDK retries that error by default.
func readRetries(o *kinesis.Options) { o.RetryMaxAttempts = 3 }

func readShard(t testing.TB, c *kinesis.Client, stream, shard string) []types.Record {
	t.Helper()
	ctx := context.Background()
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}, readRetries)
	if err != nil {
		t.Fatal(err)
	}
	var recs []types.Record
	next := it.ShardIterator
	for next != nil {
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next, Limit: aws.Int32(10000)}, readRetries)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, out.Records...)
		if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
			break
		}
		next = out.NextShardIterator
	}
	return recs
}

// user is a user record as a consumer sees it.
type user struct {
	id         int
	pk         string
	shard, seq string
	sub        uint64
	aggregated bool
}

// kclUsers de-aggregates as the Java KCL does: an aggregated record with
// any user record outside the shard's range is dropped whole.
func kclUsers(t testing.TB, recs []stored) []user {
	t.Helper()
	var out []user
	for _, s := range recs {
		urs, err := aggregation.Deaggregate(s.rec.Data)
		if err != nil {
			out = append(out, user{id: payloadID(t, s.rec.Data), pk: *s.rec.PartitionKey, shard: s.shard, seq: *s.rec.SequenceNumber})
			continue
		}
		inRange := true
		for _, u := range urs {
			k, err := u.HashKey()
			if err != nil || !s.rng.Contains(k) {
				inRange = false
			}
		}
		if !inRange {
			continue
		}
		for i, u := range urs {
			out = append(out, user{id: payloadID(t, u.Data), pk: u.PartitionKey, shard: s.shard, seq: *s.rec.SequenceNumber, sub: uint64(i), aggregated: true})
		}
	}
	return out
}

// packageUsers de-aggregates with aggregation.DeaggregateRecord, which drops
// out-of-range user records one by one.
func packageUsers(t testing.TB, recs []stored) []user {
	t.Helper()
	var out []user
	for _, s := range recs {
		urs, err := aggregation.DeaggregateRecord(aggregation.KinesisRecord{
			SequenceNumber: *s.rec.SequenceNumber, PartitionKey: *s.rec.PartitionKey, Data: s.rec.Data}, s.rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urs {
			out = append(out, user{id: payloadID(t, u.Data), pk: u.PartitionKey, shard: s.shard, seq: u.SequenceNumber, sub: u.SubSequenceNumber, aggregated: u.Aggregated})
		}
	}
	return out
}

// checkExactlyOnce asserts that users holds ids 0..n-1 once each, where
// the Results said.
func checkExactlyOnce(t testing.TB, users []user, results []producer.Result) {
	t.Helper()
	seen := make(map[int]user, len(users))
	for _, u := range users {
		if u.id < 0 || u.id >= len(results) {
			t.Fatalf("unexpected record id %d", u.id)
		}
		if prev, dup := seen[u.id]; dup {
			t.Fatalf("record %d read twice: %+v and %+v (result %+v)", u.id, prev, u, results[u.id])
		}
		seen[u.id] = u
	}
	for id, res := range results {
		u, ok := seen[id]
		if !ok {
			t.Fatalf("record %d lost (result %+v)", id, res)
		}
		if res.Err != nil {
			t.Fatalf("record %d: %v", id, res.Err)
		}
		if res.ShardID != u.shard || res.SequenceNumber != u.seq || res.SubSequenceNumber != u.sub || res.Aggregated != u.aggregated {
			t.Fatalf("record %d: result %+v, read at %+v", id, res, u)
		}
	}
}

// faulty wraps a client to count calls and inject failures.
type faulty struct {
	producer.KinesisAPI

	mu         sync.Mutex
	calls      int
	maxEntries int
	maxBytes   int
	entries    int
	// listErr fails ListShards.
	listErr error
	// refuse picks entries to answer with code without sending them.
	refuse func(e types.PutRecordsRequestEntry) (code string)
	// before fails a call before it is sent; after fails it after it was
	// sent (its outcome unknown to the caller).
	before, after func() error
	// gate, when set, holds every call until it is closed.
	gate chan struct{}
	// unknown collects the data of entries sent by calls failed by after.
	unknown [][]byte
}

func (f *faulty) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	f.calls++
	f.entries += len(in.Records)
	f.maxEntries = max(f.maxEntries, len(in.Records))
	size := 0
	for _, e := range in.Records {
		size += len(e.Data) + len(aws.ToString(e.PartitionKey))
	}
	f.maxBytes = max(f.maxBytes, size)
	gate, before, after, refuse := f.gate, f.before, f.after, f.refuse
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if before != nil {
		if err := before(); err != nil {
			return nil, err
		}
	}
	results := make([]types.PutRecordsResultEntry, len(in.Records))
	send := &kinesis.PutRecordsInput{StreamName: in.StreamName, StreamARN: in.StreamARN}
	var idx []int
	for i, e := range in.Records {
		if refuse != nil {
			if code := refuse(e); code != "" {
				results[i] = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")}
				continue
			}
		}
		idx = append(idx, i)
		send.Records = append(send.Records, e)
	}
	failed := len(in.Records) - len(idx)
	if len(send.Records) > 0 {
		out, err := f.KinesisAPI.PutRecords(ctx, send, opts...)
		if err != nil {
			return nil, err
		}
		for j, r := range out.Records {
			results[idx[j]] = r
			if r.ErrorCode != nil {
				failed++
			}
		}
	}
	if after != nil {
		if err := after(); err != nil {
			f.mu.Lock()
			for _, e := range send.Records {
				f.unknown = append(f.unknown, e.Data)
			}
			f.mu.Unlock()
			return nil, err
		}
	}
	return &kinesis.PutRecordsOutput{Records: results, FailedRecordCount: aws.Int32(int32(failed))}, nil
}

func (f *faulty) ListShards(ctx context.Context, in *kinesis.ListShardsInput, opts ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.mu.Lock()
	err := f.listErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.KinesisAPI.ListShards(ctx, in, opts...)
}

func (f *faulty) counts() (calls, entries, maxEntries int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.entries, f.maxEntries
}

// putAll puts records 0..n-1 built by mk and returns their Futures.
func putAll(t testing.TB, p *producer.Producer, n int, mk func(i int) producer.Record) []*producer.Future {
	t.Helper()
	futs := make([]*producer.Future, n)
	for i := range futs {
		f, err := p.Put(context.Background(), mk(i))
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		futs[i] = f
	}
	return futs
}

func results(t testing.TB, futs []*producer.Future) []producer.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	out := make([]producer.Result, len(futs))
	for i, f := range futs {
		r, err := f.Wait(ctx)
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("record %d: no result", i)
		}
		out[i] = r
	}
	return out
}
