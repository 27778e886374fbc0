// The Kinesis source's tests drive the whole engine (Run) against an
// in-process Rivulet; the root package imports this one, so they are an
// external test package.
package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/aggregation"
	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/delivery"
	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// kinesisHang bounds waits for what should happen; only a hang reaches it.
const kinesisHang = 90 * time.Second

const kinesisBucket = "kinesis-bucket"

// kenv is an in-process Rivulet serving Kinesis and the lease tables
// (its DynamoDB API shares the endpoint), and an object store that logs
// every Put in order.
type kenv struct {
	kin     *kinesis.Client
	ddb     *dynamodb.Client
	objects *putLog
}

func newKinesisEnv(t *testing.T) *kenv {
	t.Helper()
	srv, err := rivulet.Start(context.Background(), rivulet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Errorf("closing Rivulet: %v", err)
		}
	})
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
	})
	hc := &http.Client{Transport: rivulet.SDKTransport(tr)}
	return &kenv{
		kin: kinesis.New(kinesis.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1",
			Credentials: creds, HTTPClient: hc}),
		ddb: dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1",
			Credentials: creds, HTTPClient: hc}),
		objects: &putLog{objects: map[string][]byte{}},
	}
}

// createStream makes an ACTIVE stream and returns its ARN.
func (k *kenv) createStream(t *testing.T, name string, shards int32) string {
	t.Helper()
	ctx := context.Background()
	if _, err := k.kin.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	return k.waitActive(t, name)
}

func (k *kenv) waitActive(t *testing.T, name string) string {
	t.Helper()
	var arn string
	kinesisWait(t, "stream ACTIVE", func() bool {
		out, err := k.kin.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: &name})
		if err != nil || out.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
			return false
		}
		arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
		return true
	})
	return arn
}

// deliveryStream is a KinesisStreamAsSource delivery stream to an
// uncompressed S3 destination that flushes after every read (interval 0).
func deliveryStream(name, streamARN string) *model.DeliveryStream {
	return &model.DeliveryStream{
		Account: "000000000000", Region: "us-east-1", Name: name,
		ID:   uuid.NewString(),
		Type: model.TypeKinesisSource, Status: model.StatusActive,
		Created: time.Now(), Updated: time.Now(), VersionID: 1,
		Source:        &model.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(streamARN), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
		DestinationID: "destinationId-000000000001",
		Destination: model.Destination{ExtendedS3: &model.ExtendedS3DestinationConfiguration{
			RoleARN:           aws.String("arn:aws:iam::000000000000:role/r"),
			BucketARN:         aws.String("arn:aws:s3:::" + kinesisBucket),
			Prefix:            aws.String(""),
			BufferingHints:    &model.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(0)},
			CompressionFormat: "UNCOMPRESSED",
		}},
	}
}

// startEngine runs an engine over st until the returned stop is called
// (or the test ends); stop waits for Run to return.
func (k *kenv) startEngine(t *testing.T, st *memstore.Store, lambda *httptest.Server) (stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("DELIVERY_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	cfg := delivery.Config{
		Store:   st,
		Objects: k.objects,
		Clients: func(string, string) (consumer.KinesisAPI, consumer.DynamoDBAPI) { return k.kin, k.ddb },
		Owner:   "engine-" + uuid.NewString()[:8],
		Logger:  log,
	}
	if lambda != nil {
		cfg.HTTPClient = lambda.Client()
	}
	e := delivery.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(kinesisHang):
				t.Errorf("Run did not return after its ctx ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// storeWith is a store holding the delivery stream's record, as the
// Firehose API writes it.
func storeWith(t *testing.T, ds *model.DeliveryStream) *memstore.Store {
	t.Helper()
	st := memstore.New(memstore.Config{})
	raw, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	key := store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}
	if _, err := st.PutResource(context.Background(), store.KindDeliveryStream, key, raw, 0); err != nil {
		t.Fatal(err)
	}
	return st
}

// kput is one record as Kinesis stored it.
type kput struct {
	data  string
	key   string
	shard string
	seq   string
}

// putRecords writes records "<prefix>-<i>\n" for i in [from, to), with
// partition key "pk-<i mod keys>", and returns them as stored.
func (k *kenv) putRecords(t *testing.T, streamARN, prefix string, from, to, keys int) []kput {
	t.Helper()
	out, err := k.tryPutRecords(streamARN, prefix, from, to, keys)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryPutRecords is putRecords for other goroutines than the test's.
func (k *kenv) tryPutRecords(streamARN, prefix string, from, to, keys int) ([]kput, error) {
	var out []kput
	for lo := from; lo < to; lo += 500 {
		hi := min(lo+500, to)
		var entries []ktypes.PutRecordsRequestEntry
		var batch []kput
		for i := lo; i < hi; i++ {
			p := kput{data: fmt.Sprintf("%s-%d\n", prefix, i), key: "pk-" + strconv.Itoa(i%keys)}
			batch = append(batch, p)
			entries = append(entries, ktypes.PutRecordsRequestEntry{Data: []byte(p.data), PartitionKey: aws.String(p.key)})
		}
		res, err := k.kin.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamARN: &streamARN, Records: entries})
		if err != nil {
			return nil, err
		}
		for i, r := range res.Records {
			if r.ErrorCode != nil {
				return nil, fmt.Errorf("PutRecords: %s: %s", *r.ErrorCode, aws.ToString(r.ErrorMessage))
			}
			batch[i].shard, batch[i].seq = aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
		}
		out = append(out, batch...)
	}
	return out, nil
}

// putLog is an object store in memory that logs every Put in order.
type putLog struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    []objectPut
}

type objectPut struct {
	key  string
	body []byte
}

func (l *putLog) Put(ctx context.Context, bucket, key string, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.objects[bucket+"/"+key] = bytes.Clone(body)
	l.puts = append(l.puts, objectPut{key: bucket + "/" + key, body: bytes.Clone(body)})
	return nil
}

func (l *putLog) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("%s/%s: %w", bucket, key, dest.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (l *putLog) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keys []string
	for k := range l.objects {
		if rest, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(rest, prefix) {
			keys = append(keys, rest)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// delivered is every record delivered, in the order of the Puts from mark
// on, split at the newline that ends each test record; mark is the number
// of Puts so far.
func (l *putLog) delivered(t *testing.T, from int) (recs []string, mark int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.puts[from:] {
		if strings.Contains(p.key, "failed") {
			t.Fatalf("records were set aside: %s: %q", p.key, p.body)
		}
		for _, line := range strings.SplitAfter(string(p.body), "\n") {
			if line == "" {
				continue
			}
			if !strings.HasSuffix(line, "\n") {
				t.Fatalf("object %s ends inside a record: %q", p.key, p.body)
			}
			recs = append(recs, line)
		}
	}
	return recs, len(l.puts)
}

// waitDelivered waits until every record of want was delivered.
func (l *putLog) waitDelivered(t *testing.T, want []kput) {
	t.Helper()
	kinesisWait(t, fmt.Sprintf("%d records delivered", len(want)), func() bool {
		got, _ := l.delivered(t, 0)
		have := map[string]bool{}
		for _, r := range got {
			have[r] = true
		}
		for _, p := range want {
			if !have[p.data] {
				return false
			}
		}
		return true
	})
}

func kinesisWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(kinesisHang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOrder checks that got holds each record of want exactly once and,
// per shard, in the order Kinesis stored them.
func checkExactlyOnceInOrder(t *testing.T, got []string, want []kput) {
	t.Helper()
	byData := map[string]kput{}
	for _, p := range want {
		byData[p.data] = p
	}
	seen := map[string]int{}
	perShard := map[string][]string{}
	for _, r := range got {
		p, ok := byData[r]
		if !ok {
			t.Errorf("delivered a record never put: %q", r)
			continue
		}
		seen[r]++
		perShard[p.shard] = append(perShard[p.shard], r)
	}
	for _, p := range want {
		if n := seen[p.data]; n != 1 {
			t.Errorf("record %q delivered %d times", p.data, n)
		}
	}
	wantShard := map[string][]string{}
	for _, p := range want {
		wantShard[p.shard] = append(wantShard[p.shard], p.data)
	}
	for shard, w := range wantShard {
		if !slices.Equal(perShard[shard], w) {
			t.Errorf("shard %s: delivered out of order:\n got %q\nwant %q", shard, perShard[shard], w)
		}
	}
}

// TestKinesisDelivers: records put after the engine started arrive in the
// destination byte for byte, each once, in order per shard.
func TestKinesisDelivers(t *testing.T) {
	t.Parallel()
	k := newKinesisEnv(t)
	arn := k.createStream(t, "delivers", 3)
	ds := deliveryStream("delivers", arn)
	stop := k.startEngine(t, storeWith(t, ds), nil)

	recs := k.putRecords(t, arn, "a", 0, 150, 11)
	k.objects.waitDelivered(t, recs)
	more := k.putRecords(t, arn, "b", 0, 150, 11)
	recs = append(recs, more...)
	k.objects.waitDelivered(t, recs)
	stop()

	got, _ := k.objects.delivered(t, 0)
	checkExactlyOnceInOrder(t, got, recs)
	var all, want bytes.Buffer
	for _, r := range got {
		all.WriteString(r)
	}
	for _, p := range recs {
		want.WriteString(p.data)
	}
	if all.Len() != want.Len() {
		t.Errorf("delivered %d bytes, put %d", all.Len(), want.Len())
	}

	// The lease table holds a checkpoint at each shard's last record.
	last := map[string]string{}
	for _, p := range recs {
		last[p.shard] = p.seq
	}
	cps := k.checkpoints(t, ds)
	for shard, seq := range last {
		if cps[shard].SequenceNumber != seq {
			t.Errorf("shard %s checkpointed at %v, want %s", shard, cps[shard], seq)
		}
	}
}

// checkpoints reads the lease table.
func (k *kenv) checkpoints(t *testing.T, ds *model.DeliveryStream) map[string]consumer.ExtendedSequenceNumber {
	t.Helper()
	out, err := k.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(delivery.KinesisLeaseTable(ds)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	cps := map[string]consumer.ExtendedSequenceNumber{}
	for _, item := range out.Items {
		key, _ := item["leaseKey"].(*dtypes.AttributeValueMemberS)
		cp, _ := item["checkpoint"].(*dtypes.AttributeValueMemberS)
		if key == nil || cp == nil {
			t.Fatalf("odd lease %v", item)
		}
		e := consumer.ExtendedSequenceNumber{SequenceNumber: cp.Value}
		if sub, ok := item["checkpointSubSequenceNumber"].(*dtypes.AttributeValueMemberN); ok {
			e.SubSequenceNumber, _ = strconv.ParseUint(sub.Value, 10, 64)
		}
		cps[key.Value] = e
	}
	return cps
}

func seqAfter(seq string, cp consumer.ExtendedSequenceNumber) bool {
	switch cp.SequenceNumber {
	case consumer.SentinelTrimHorizon, consumer.SentinelLatest, consumer.SentinelAtTimestamp, "":
		return true
	case consumer.SentinelShardEnd:
		return false
	}
	a, _ := new(big.Int).SetString(seq, 10)
	b, _ := new(big.Int).SetString(cp.SequenceNumber, 10)
	return a.Cmp(b) > 0
}

// TestKinesisRestart: an engine stopped while records flow and a new one
// started later resume from the checkpoints: nothing is lost, and only
// records after a shard's last checkpoint are delivered again.
func TestKinesisRestart(t *testing.T) {
	t.Parallel()
	k := newKinesisEnv(t)
	arn := k.createStream(t, "restart", 2)
	ds := deliveryStream("restart", arn)

	stop := k.startEngine(t, storeWith(t, ds), nil)
	recs := k.putRecords(t, arn, "a", 0, 100, 5)
	k.objects.waitDelivered(t, recs)
	// More records, and a stop while they are being delivered.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		during  []kput
		putting = make(chan struct{})
	)
	wg.Go(func() {
		for i := 0; ; i += 10 {
			select {
			case <-putting:
				return
			default:
			}
			b, err := k.tryPutRecords(arn, "b", i, i+10, 5)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			during = append(during, b...)
			mu.Unlock()
		}
	})
	kinesisWait(t, "some of the records being put delivered", func() bool {
		got, _ := k.objects.delivered(t, 0)
		return slices.ContainsFunc(got, func(r string) bool { return strings.HasPrefix(r, "b-") })
	})
	stop()
	close(putting)
	wg.Wait()
	recs = append(recs, during...)
	firstRun, mark := k.objects.delivered(t, 0)
	cps := k.checkpoints(t, ds)

	// Records put while no engine runs are delivered by the next one.
	recs = append(recs, k.putRecords(t, arn, "c", 0, 100, 5)...)
	k.startEngine(t, storeWith(t, ds), nil)
	k.objects.waitDelivered(t, recs)
	secondRun, _ := k.objects.delivered(t, mark)

	byData := map[string]kput{}
	for _, p := range recs {
		byData[p.data] = p
	}
	for _, r := range secondRun {
		p := byData[r]
		if !seqAfter(p.seq, cps[p.shard]) {
			t.Errorf("record %q (shard %s, %s) was checkpointed at %v yet delivered again", r, p.shard, p.seq, cps[p.shard])
		}
	}
	dups := 0
	inFirst := map[string]bool{}
	for _, r := range firstRun {
		inFirst[r] = true
	}
	for _, r := range secondRun {
		if inFirst[r] {
			dups++
		}
	}
	t.Logf("%d records in the first run, %d in the second, %d delivered twice", len(firstRun), len(secondRun), dups)
	// Each run on its own is in order per shard without duplicates.
	for _, run := range [][]string{firstRun, secondRun} {
		var want []kput
		seen := map[string]bool{}
		for _, r := range run {
			seen[r] = true
		}
		for _, p := range recs {
			if seen[p.data] {
				want = append(want, p)
			}
		}
		checkExactlyOnceInOrder(t, run, want)
	}
}

// TestKinesisReshard: delivery goes on through a split, and a key's
// records from the parent come before those from the children.
func TestKinesisReshard(t *testing.T) {
	t.Parallel()
	k := newKinesisEnv(t)
	arn := k.createStream(t, "reshard", 1)
	ds := deliveryStream("reshard", arn)
	stop := k.startEngine(t, storeWith(t, ds), nil)

	recs := k.putRecords(t, arn, "before", 0, 60, 9)
	k.objects.waitDelivered(t, recs)
	mid := new(big.Int).Lsh(big.NewInt(1), 127).String()
	if _, err := k.kin.SplitShard(context.Background(), &kinesis.SplitShardInput{StreamARN: &arn,
		ShardToSplit: aws.String(recs[0].shard), NewStartingHashKey: &mid}); err != nil {
		t.Fatal(err)
	}
	k.waitActive(t, "reshard")
	after := k.putRecords(t, arn, "after", 0, 120, 9)
	shards := map[string]bool{}
	for _, p := range after {
		shards[p.shard] = true
	}
	if len(shards) != 2 || shards[recs[0].shard] {
		t.Fatalf("records after the split went to %v", shards)
	}
	recs = append(recs, after...)
	k.objects.waitDelivered(t, recs)
	stop()

	got, _ := k.objects.delivered(t, 0)
	checkExactlyOnceInOrder(t, got, recs)
	// Per key: the parent's records, then the children's.
	key := map[string]string{}
	for _, p := range recs {
		key[p.data] = p.key
	}
	var afterSeen = map[string]bool{}
	for _, r := range got {
		if strings.HasPrefix(r, "after-") {
			afterSeen[key[r]] = true
		} else if afterSeen[key[r]] {
			t.Errorf("%q delivered after a record of its key from a child shard", r)
		}
	}
	cps := k.checkpoints(t, ds)
	if cp, ok := cps[recs[0].shard]; ok && cp != consumer.ShardEnd {
		t.Errorf("parent shard checkpointed at %v, want SHARD_END", cp)
	}
}

// lambdaEvent is the Firehose transformation event, as far as read here.
type lambdaEvent struct {
	SourceKinesisStreamArn string `json:"sourceKinesisStreamArn"`
	Records                []struct {
		RecordID string `json:"recordId"`
		Data     string `json:"data"`
		Meta     *struct {
			ShardID           string `json:"shardId"`
			PartitionKey      string `json:"partitionKey"`
			SequenceNumber    string `json:"sequenceNumber"`
			SubsequenceNumber uint64 `json:"subsequenceNumber"`
		} `json:"kinesisRecordMetadata"`
	} `json:"records"`
}

// TestKinesisAggregated: a KPL aggregated record is delivered as its user
// records, each with its partition key and sub-sequence number, which a
// Lambda transformation sees in kinesisRecordMetadata.
func TestKinesisAggregated(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []lambdaEvent
	)
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev lambdaEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
		type rec struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     string `json:"data"`
		}
		var out struct {
			Records []rec `json:"records"`
		}
		for _, r := range ev.Records {
			out.Records = append(out.Records, rec{RecordID: r.RecordID, Result: "Ok", Data: r.Data})
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(lambda.Close)

	k := newKinesisEnv(t)
	arn := k.createStream(t, "aggregated", 1)
	ds := deliveryStream("aggregated", arn)
	ds.Destination.ExtendedS3.ProcessingConfiguration = &model.ProcessingConfiguration{
		Enabled: aws.Bool(true),
		Processors: []model.Processor{{Type: "Lambda", Parameters: []model.ProcessorParameter{
			{ParameterName: "LambdaArn", ParameterValue: aws.String(lambda.URL)},
		}}},
	}
	k.startEngine(t, storeWith(t, ds), lambda)

	users := []aggregation.Record{
		{PartitionKey: "alpha", Data: []byte("user-0\n")},
		{PartitionKey: "beta", Data: []byte("user-1\n")},
		{PartitionKey: "alpha", Data: []byte{0, 1, 2, 0xff, '\n'}},
	}
	blob := aggregation.Encode(users)
	res, err := k.kin.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamARN: &arn, PartitionKey: aws.String("outer"), Data: blob})
	if err != nil {
		t.Fatal(err)
	}
	plain := k.putRecords(t, arn, "plain", 0, 1, 1)

	var want []kput
	for _, u := range users {
		want = append(want, kput{data: string(u.Data), shard: aws.ToString(res.ShardId), seq: aws.ToString(res.SequenceNumber)})
	}
	want = append(want, plain...)
	k.objects.waitDelivered(t, want)
	got, _ := k.objects.delivered(t, 0)
	checkExactlyOnceInOrder(t, got, want)

	mu.Lock()
	defer mu.Unlock()
	type meta struct {
		data, key, seq string
		sub            uint64
	}
	var metas []meta
	ids := map[string]bool{}
	for _, ev := range seen {
		if ev.SourceKinesisStreamArn != arn {
			t.Errorf("sourceKinesisStreamArn %q, want %q", ev.SourceKinesisStreamArn, arn)
		}
		for _, r := range ev.Records {
			if r.Meta == nil {
				t.Fatalf("record %s without kinesisRecordMetadata", r.RecordID)
			}
			if r.Meta.ShardID != aws.ToString(res.ShardId) {
				t.Errorf("shardId %q, want %q", r.Meta.ShardID, aws.ToString(res.ShardId))
			}
			ids[r.RecordID] = true
			data, err := base64.StdEncoding.DecodeString(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			metas = append(metas, meta{string(data), r.Meta.PartitionKey, r.Meta.SequenceNumber, r.Meta.SubsequenceNumber})
		}
	}
	wantMeta := []meta{
		{"user-0\n", "alpha", aws.ToString(res.SequenceNumber), 0},
		{"user-1\n", "beta", aws.ToString(res.SequenceNumber), 1},
		{string([]byte{0, 1, 2, 0xff, '\n'}), "alpha", aws.ToString(res.SequenceNumber), 2},
		{"plain-0\n", "pk-0", plain[0].seq, 0},
	}
	if !slices.Equal(metas, wantMeta) {
		t.Errorf("Lambda saw\n%+v\nwant\n%+v", metas, wantMeta)
	}
	if len(ids) != len(wantMeta) {
		t.Errorf("%d distinct record IDs for %d records", len(ids), len(wantMeta))
	}
}

// TestKinesisDropLeaseTable: DeleteLeaseTable (dropKinesis) deletes the
// lease table, and with a client that cannot delete tables empties it; a
// missing table is fine.
func TestKinesisDropLeaseTable(t *testing.T) {
	t.Parallel()
	k := newKinesisEnv(t)
	arn := k.createStream(t, "drop", 1)
	ctx := context.Background()
	for _, withDelete := range []bool{true, false} {
		ds := deliveryStream("drop", arn)
		stop := k.startEngine(t, storeWith(t, ds), nil)
		recs := k.putRecords(t, arn, "drop-"+strconv.FormatBool(withDelete), 0, 3, 1)
		k.objects.waitDelivered(t, recs)
		stop()
		if len(k.checkpoints(t, ds)) == 0 {
			t.Fatal("no leases before the drop")
		}
		var ddb consumer.DynamoDBAPI = k.ddb
		if !withDelete {
			ddb = struct{ consumer.DynamoDBAPI }{k.ddb} // hides DeleteTable
		}
		for range 2 {
			if err := delivery.DeleteLeaseTable(ctx, ddb, ds); err != nil {
				t.Fatal(err)
			}
		}
		_, err := k.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(delivery.KinesisLeaseTable(ds))})
		var nf *dtypes.ResourceNotFoundException
		switch {
		case withDelete && !errors.As(err, &nf):
			t.Errorf("lease table still there: %v", err)
		case !withDelete && err != nil:
			t.Fatal(err)
		case !withDelete && len(k.checkpoints(t, ds)) != 0:
			t.Errorf("leases left: %v", k.checkpoints(t, ds))
		}
	}
}
