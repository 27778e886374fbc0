package kinesis

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/seqnum"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// storeFlag picks the tests' backend: memstore needs no JetStream and
// is the default; -store=nats runs the same tests on natsstore.
var storeFlag = flag.String("store", "mem", "backend of the tests: mem or nats")

func openBackend(t *testing.T) store.Backend {
	t.Helper()
	switch *storeFlag {
	case "nats":
		return openNATS(t)
	case "mem":
	default:
		t.Fatalf("-store=%s: want mem or nats", *storeFlag)
	}
	be := memstore.New(memstore.Config{})
	t.Cleanup(func() { be.Close() })
	return be
}

func openNATS(t *testing.T) store.Backend {
	t.Helper()
	be, err := natsstore.Open(context.Background(), natsstore.Config{InMemory: true, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

func newTestService(t *testing.T, be store.Backend) (*Service, *clock) {
	t.Helper()
	c := &clock{t: time.Now()}
	if be == nil {
		be = openBackend(t)
	}
	s := New(be, Config{CreateDelay: time.Second, DeleteDelay: time.Second, ShardLimit: 10, Now: c.Now})
	t.Cleanup(s.Close)
	return s, c
}

var ctx = context.Background()

func wantErr(t *testing.T, err error, kind error, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	if msg != "" && e.Message != msg {
		t.Fatalf("message\n got: %s\nwant: %s", e.Message, msg)
	}
}

func mustCreate(t *testing.T, s *Service, c *clock, name string, shards int64) {
	t.Helper()
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
}

func TestStreamLifecycle(t *testing.T) {
	s, c := newTestService(t, nil)
	name := "life"
	n := int64(2)
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: &name, ShardCount: &n, Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	sum, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil || sum.StreamDescriptionSummary.StreamStatus != api.StatusCreating {
		t.Fatalf("want CREATING: %+v %v", sum, err)
	}
	_, err = s.CreateStream(ctx, &api.CreateStreamInput{StreamName: &name, ShardCount: &n})
	wantErr(t, err, ErrResourceInUse, "Stream life under account 000000000000 already exists.")
	_, err = s.PutRecord(ctx, &api.PutRecordInput{StreamName: &name, PartitionKey: ptr("k"), Data: []byte("x")})
	wantErr(t, err, ErrResourceNotFound, "Stream life under account 000000000000 not found.")
	_, err = s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: &name})
	wantErr(t, err, ErrResourceInUse, "Stream life under account 000000000000 not ACTIVE, instead in state CREATING")

	c.Add(time.Second)
	d, err := s.DescribeStream(ctx, &api.DescribeStreamInput{StreamName: &name})
	if err != nil {
		t.Fatal(err)
	}
	sd := d.StreamDescription
	if sd.StreamStatus != api.StatusActive || len(sd.Shards) != 2 || sd.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/life" ||
		sd.RetentionPeriodHours != 24 || *sd.StreamModeDetails.StreamMode != api.ModeProvisioned {
		t.Fatalf("bad description %+v", sd)
	}
	if sd.Shards[0].HashKeyRange.EndingHashKey != "170141183460469231731687303715884105727" ||
		sd.Shards[1].HashKeyRange.StartingHashKey != "170141183460469231731687303715884105728" ||
		sd.Shards[1].ShardId != "shardId-000000000001" {
		t.Fatalf("bad shards %+v", sd.Shards)
	}
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: &name}); err != nil {
		t.Fatal(err)
	}
	sum, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil || sum.StreamDescriptionSummary.StreamStatus != api.StatusDeleting {
		t.Fatalf("want DELETING: %+v %v", sum, err)
	}
	c.Add(time.Second)
	_, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: &name})
	wantErr(t, err, ErrResourceNotFound, "Stream life under account 000000000000 not found.")
	// The name is free again.
	mustCreate(t, s, c, name, 1)
}

func TestNamespacesAndARN(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "ns", 1)
	other := WithCaller(ctx, Caller{Account: "123456789012", Region: "eu-west-1"})
	_, err := s.DescribeStreamSummary(other, &api.DescribeStreamSummaryInput{StreamName: ptr("ns")})
	wantErr(t, err, ErrResourceNotFound, "Stream ns under account 123456789012 not found.")
	out, err := s.DescribeStreamSummary(other, &api.DescribeStreamSummaryInput{StreamARN: ptr("arn:aws:kinesis:us-east-1:000000000000:stream/ns")})
	if err != nil || out.StreamDescriptionSummary.StreamName != "ns" {
		t.Fatalf("by ARN: %v", err)
	}
	_, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{})
	wantErr(t, err, ErrInvalidArgument, "")
}

func TestShardLimit(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "a", 8)
	_, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("b"), ShardCount: ptr(int64(3))})
	wantErr(t, err, ErrLimitExceeded, "This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 8. Limit: 10. Number of additional shards that would have resulted from this request: 3. Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
	lim, err := s.DescribeLimits(ctx, &api.DescribeLimitsInput{})
	if err != nil || lim.ShardLimit != 10 || lim.OpenShardCount != 8 {
		t.Fatalf("limits %+v %v", lim, err)
	}
	mode := api.ModeOnDemand
	_, err = s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("od"), StreamModeDetails: &api.StreamModeDetails{StreamMode: &mode}})
	wantErr(t, err, ErrLimitExceeded, "")
}

func TestOnDemandHasFourShards(t *testing.T) {
	s, c := newTestService(t, nil)
	mode := api.ModeOnDemand
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("od"), StreamModeDetails: &api.StreamModeDetails{StreamMode: &mode}}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	sum, _ := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("od")})
	if sum.StreamDescriptionSummary.OpenShardCount != 4 || *sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != api.ModeOnDemand {
		t.Fatalf("%+v", sum.StreamDescriptionSummary)
	}
}

func getAll(t *testing.T, s *Service, it string) ([]api.Record, string) {
	t.Helper()
	var recs []api.Record
	for i := 0; i < 100; i++ {
		out, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, out.Records...)
		it = *out.NextShardIterator
		if len(out.Records) == 0 {
			return recs, it
		}
	}
	t.Fatal("no end")
	return nil, ""
}

func iter(t *testing.T, s *Service, name, shard, typ string, seq *string, ts *time.Time) string {
	t.Helper()
	in := &api.GetShardIteratorInput{StreamName: &name, ShardId: &shard, ShardIteratorType: &typ, StartingSequenceNumber: seq}
	if ts != nil {
		in.Timestamp = &api.Time{Time: *ts}
	}
	out, err := s.GetShardIterator(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.ShardIterator
}

func TestPutAndGet(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "data", 2)
	var entries []api.PutRecordsRequestEntry
	for i := 0; i < 300; i++ {
		entries = append(entries, api.PutRecordsRequestEntry{PartitionKey: ptr(fmt.Sprintf("pk-%d", i)), Data: []byte(fmt.Sprintf("rec-%d", i))})
	}
	// Explicit hash keys pin two records to each end of the key space.
	entries = append(entries,
		api.PutRecordsRequestEntry{PartitionKey: ptr("x"), ExplicitHashKey: ptr("0"), Data: []byte("low")},
		api.PutRecordsRequestEntry{PartitionKey: ptr("x"), ExplicitHashKey: ptr("340282366920938463463374607431768211455"), Data: []byte("high")})
	out, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("data"), Records: entries})
	if err != nil || out.FailedRecordCount != 0 || len(out.Records) != len(entries) {
		t.Fatalf("put: %v %+v", err, out)
	}
	if *out.Records[300].ShardId != "shardId-000000000000" || *out.Records[301].ShardId != "shardId-000000000001" {
		t.Fatal("explicit hash keys routed wrong")
	}
	byShard := map[string][]string{}
	for i, r := range out.Records {
		if len(*r.SequenceNumber) != 56 {
			t.Fatalf("seq %s", *r.SequenceNumber)
		}
		byShard[*r.ShardId] = append(byShard[*r.ShardId], string(entries[i].Data))
	}
	total := 0
	for shard, want := range byShard {
		recs, _ := getAll(t, s, iter(t, s, "data", shard, api.TrimHorizon, nil, nil))
		if len(recs) != len(want) {
			t.Fatalf("%s: got %d want %d", shard, len(recs), len(want))
		}
		prev := new(big.Int)
		for i, r := range recs {
			if string(r.Data) != want[i] {
				t.Fatalf("%s[%d]: %q want %q", shard, i, r.Data, want[i])
			}
			n, _ := new(big.Int).SetString(r.SequenceNumber, 10)
			if n.Cmp(prev) <= 0 {
				t.Fatal("sequence numbers not increasing")
			}
			prev = n
		}
		total += len(recs)
	}
	if total != len(entries) {
		t.Fatal("lost records")
	}
}

func TestIteratorTypes(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "its", 1)
	var seqs []string
	put := func(v string) {
		out, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("its"), PartitionKey: ptr("k"), Data: []byte(v)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, out.SequenceNumber)
	}
	put("a")
	put("b")
	latest := iter(t, s, "its", "shardId-000000000000", api.Latest, nil, nil)
	put("c")
	data := func(rs []api.Record) string {
		var b strings.Builder
		for _, r := range rs {
			b.Write(r.Data)
		}
		return b.String()
	}
	if got, _ := getAll(t, s, latest); data(got) != "c" {
		t.Fatalf("LATEST got %q", data(got))
	}
	if got, _ := getAll(t, s, iter(t, s, "its", "shardId-000000000000", api.AtSequenceNumber, &seqs[1], nil)); data(got) != "bc" {
		t.Fatalf("AT got %q", data(got))
	}
	if got, _ := getAll(t, s, iter(t, s, "its", "shardId-000000000000", api.AfterSequenceNumber, &seqs[1], nil)); data(got) != "c" {
		t.Fatalf("AFTER got %q", data(got))
	}
	past := time.Now().Add(-time.Hour)
	if got, _ := getAll(t, s, iter(t, s, "its", "shardId-000000000000", api.AtTimestamp, nil, &past)); data(got) != "abc" {
		t.Fatalf("AT_TIMESTAMP got %q", data(got))
	}
	// A record's sequence number used on another shard, and a made-up one.
	wrong := seqnum.Format(seqnum.Parts{Shard: 1, Seq: 1, ShardCreated: 1})
	_, err := s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("its"), ShardId: ptr("shardId-000000000000"),
		ShardIteratorType: ptr(api.AtSequenceNumber), StartingSequenceNumber: &wrong})
	wantErr(t, err, ErrInvalidArgument, "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000")
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("its"), ShardId: ptr("shardId-000000000000"),
		ShardIteratorType: ptr(api.AtSequenceNumber), StartingSequenceNumber: ptr("123")})
	wantErr(t, err, ErrInvalidArgument, "StartingSequenceNumber 123 used in GetShardIterator on shard shardId-000000000000 in stream its under account 000000000000 is invalid.")
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("its"), ShardId: ptr("shardId-000000000007"), ShardIteratorType: ptr(api.Latest)})
	wantErr(t, err, ErrResourceNotFound, "Shard shardId-000000000007 in stream its under account 000000000000 does not exist")
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("its"), ShardId: ptr("shardId-000000000000"), ShardIteratorType: ptr(api.AtTimestamp)})
	wantErr(t, err, ErrInvalidArgument, "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
}

func TestGetRecordsLimitsAndIterators(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "lim", 1)
	for i := 0; i < 5; i++ {
		var es []api.PutRecordsRequestEntry
		for j := 0; j < 10; j++ {
			es = append(es, api.PutRecordsRequestEntry{PartitionKey: ptr("k"), Data: []byte{byte(i*10 + j)}})
		}
		if _, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("lim"), Records: es}); err != nil {
			t.Fatal(err)
		}
	}
	it := iter(t, s, "lim", "0", api.TrimHorizon, nil, nil)
	var got []byte
	for len(got) < 50 {
		out, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it, Limit: ptr(int64(7))})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) > 7 || len(out.Records) == 0 {
			t.Fatalf("got %d records", len(out.Records))
		}
		if len(got)+len(out.Records) < 50 && out.MillisBehindLatest < 0 {
			t.Fatal("negative lag")
		}
		for _, r := range out.Records {
			got = append(got, r.Data[0])
		}
		it = *out.NextShardIterator
	}
	for i, b := range got {
		if int(b) != i {
			t.Fatalf("record %d is %d", i, b)
		}
	}
	out, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
	if err != nil || len(out.Records) != 0 || out.MillisBehindLatest != 0 {
		t.Fatalf("tip: %+v %v", out, err)
	}
	// Tampering and expiry.
	bad := []byte(it)
	bad[10] ^= 1
	_, err = s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: ptr(string(bad))})
	wantErr(t, err, ErrInvalidArgument, "Invalid ShardIterator.")
	issued := c.Now()
	c.Add(301 * time.Second)
	_, err = s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
	wantErr(t, err, ErrExpiredIterator, fmt.Sprintf("Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of 300000 milliseconds.",
		issued.UTC().Format("Mon Jan 02 15:04:05 UTC 2006"), c.Now().UTC().Format("Mon Jan 02 15:04:05 UTC 2006")))
}

func TestIteratorsWorkAcrossServices(t *testing.T) {
	be := openBackend(t)
	a, c := newTestService(t, be)
	b, _ := newTestService(t, be)
	b.cfg.Now = c.Now
	mustCreate(t, a, c, "shared", 1)
	if _, err := b.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("shared"), PartitionKey: ptr("k"), Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	recs, _ := getAll(t, b, iter(t, a, "shared", "shardId-000000000000", api.TrimHorizon, nil, nil))
	if len(recs) != 1 || string(recs[0].Data) != "v" {
		t.Fatalf("got %+v", recs)
	}
}

func TestListStreamsAndShardsPaging(t *testing.T) {
	s, c := newTestService(t, nil)
	for _, n := range []string{"s3", "s1", "s2"} {
		mustCreate(t, s, c, n, 3)
	}
	out, err := s.ListStreams(ctx, &api.ListStreamsInput{Limit: ptr(int64(2))})
	if err != nil || strings.Join(out.StreamNames, ",") != "s1,s2" || !out.HasMoreStreams || out.NextToken == nil || len(out.StreamSummaries) != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	out, err = s.ListStreams(ctx, &api.ListStreamsInput{NextToken: out.NextToken})
	if err != nil || strings.Join(out.StreamNames, ",") != "s3" || out.HasMoreStreams {
		t.Fatalf("%+v %v", out, err)
	}
	out, _ = s.ListStreams(ctx, &api.ListStreamsInput{ExclusiveStartStreamName: ptr("s1")})
	if strings.Join(out.StreamNames, ",") != "s2,s3" {
		t.Fatalf("%v", out.StreamNames)
	}

	ls, err := s.ListShards(ctx, &api.ListShardsInput{StreamName: ptr("s1"), MaxResults: ptr(int64(2))})
	if err != nil || len(ls.Shards) != 2 || ls.NextToken == nil {
		t.Fatalf("%+v %v", ls, err)
	}
	_, err = s.ListShards(ctx, &api.ListShardsInput{StreamName: ptr("s1"), NextToken: ls.NextToken})
	wantErr(t, err, ErrInvalidArgument, "NextToken and StreamName cannot be provided together.")
	_, err = s.ListShards(ctx, &api.ListShardsInput{StreamARN: ptr("arn:aws:kinesis:us-east-1:000000000000:stream/s1"), NextToken: ls.NextToken})
	wantErr(t, err, ErrInvalidArgument, "NextToken and StreamARN cannot be provided together.")
	_, err = s.ListShards(ctx, &api.ListShardsInput{NextToken: ls.NextToken, ShardFilter: &api.ShardFilter{Type: ptr("AT_LATEST")}})
	wantErr(t, err, ErrInvalidArgument, "NextToken and ShardFilter cannot be provided together.")
	_, err = s.ListShards(ctx, &api.ListShardsInput{})
	wantErr(t, err, ErrInvalidArgument, "Either NextToken or StreamName should be provided.")
	ls2, err := s.ListShards(ctx, &api.ListShardsInput{NextToken: ls.NextToken})
	if err != nil || len(ls2.Shards) != 1 || ls2.Shards[0].ShardId != "shardId-000000000002" || ls2.NextToken != nil {
		t.Fatalf("%+v %v", ls2, err)
	}
	c.Add(301 * time.Second)
	_, err = s.ListShards(ctx, &api.ListShardsInput{NextToken: ls.NextToken})
	wantErr(t, err, ErrExpiredNextToken, "")
	_, err = s.ListShards(ctx, &api.ListShardsInput{NextToken: ptr("garbage")})
	wantErr(t, err, ErrInvalidArgument, "Invalid NextToken.")

	for typ, want := range map[string]int{api.FilterAtLatest: 3, api.FilterAtTrimHorizon: 3, api.FilterFromTrimHorizon: 3} {
		ls, err := s.ListShards(ctx, &api.ListShardsInput{StreamName: ptr("s1"), ShardFilter: &api.ShardFilter{Type: ptr(typ)}})
		if err != nil || len(ls.Shards) != want {
			t.Fatalf("%s: %d %v", typ, len(ls.Shards), err)
		}
	}
	ls, err = s.ListShards(ctx, &api.ListShardsInput{StreamName: ptr("s1"), ShardFilter: &api.ShardFilter{Type: ptr(api.FilterAfterShardID), ShardId: ptr("shardId-000000000000")}})
	if err != nil || len(ls.Shards) != 2 {
		t.Fatalf("AFTER_SHARD_ID %v %v", ls, err)
	}
	_, err = s.ListShards(ctx, &api.ListShardsInput{StreamName: ptr("s1"), ShardFilter: &api.ShardFilter{Type: ptr(api.FilterAtTimestamp)}})
	wantErr(t, err, ErrInvalidArgument, "")
}

func TestRetentionAndTags(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "ret", 1)
	in := &api.IncreaseStreamRetentionPeriodInput{StreamName: ptr("ret"), RetentionPeriodHours: ptr(int64(12))}
	_, err := s.DecreaseStreamRetentionPeriod(ctx, in)
	wantErr(t, err, ErrInvalidArgument, "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.")
	in.RetentionPeriodHours = ptr(int64(48))
	if _, err := s.IncreaseStreamRetentionPeriod(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.RetentionPeriodHours = ptr(int64(72))
	_, err = s.DecreaseStreamRetentionPeriod(ctx, in)
	wantErr(t, err, ErrInvalidArgument, "Requested retention period (72 hours) for stream ret can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.")
	in.RetentionPeriodHours = ptr(int64(24))
	_, err = s.IncreaseStreamRetentionPeriod(ctx, in)
	wantErr(t, err, ErrInvalidArgument, "Requested retention period (24 hours) for stream ret can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.")
	sum, _ := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("ret")})
	if sum.StreamDescriptionSummary.RetentionPeriodHours != 48 {
		t.Fatal("retention not stored")
	}

	if _, err := s.AddTagsToStream(ctx, &api.AddTagsToStreamInput{StreamName: ptr("ret"), Tags: map[string]string{"b": "2", "a": "1"}}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/ret"
	if _, err := s.TagResource(ctx, &api.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"c": "3"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := s.ListTagsForStream(ctx, &api.ListTagsForStreamInput{StreamName: ptr("ret"), Limit: ptr(int64(2))})
	if err != nil || len(lt.Tags) != 2 || lt.Tags[0].Key != "a" || !lt.HasMoreTags {
		t.Fatalf("%+v %v", lt, err)
	}
	if _, err := s.UntagResource(ctx, &api.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	rt, err := s.ListTagsForResource(ctx, &api.ListTagsForResourceInput{ResourceARN: &arn})
	if err != nil || len(rt.Tags) != 2 || rt.Tags[0].Key != "b" {
		t.Fatalf("%+v %v", rt, err)
	}
	many := map[string]string{}
	for i := 0; i < 49; i++ {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = s.AddTagsToStream(ctx, &api.AddTagsToStreamInput{StreamName: ptr("ret"), Tags: many})
	wantErr(t, err, ErrInvalidArgument, "Failed to add tags to stream ret under account 000000000000 because a given stream cannot have more than 50 tags associated with it.")
}

func TestRecordSizeAndHashKeyErrors(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "size", 1)
	big := make([]byte, 1<<20)
	_, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("size"), PartitionKey: ptr("k"), Data: big})
	wantErr(t, err, ErrValidation, "")
	_, err = s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("size"), PartitionKey: ptr("k"), Data: []byte("x"),
		ExplicitHashKey: ptr("340282366920938463463374607431768211456")})
	wantErr(t, err, ErrInvalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456")
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/size"
	if _, err := s.UpdateMaxRecordSize(ctx, &api.UpdateMaxRecordSizeInput{StreamARN: &arn, MaxRecordSizeInKiB: ptr(int64(2048))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("size"), PartitionKey: ptr("k"), Data: big}); err != nil {
		t.Fatalf("1 MiB record after raising the limit: %v", err)
	}
	recs, _ := getAll(t, s, iter(t, s, "size", "shardId-000000000000", api.TrimHorizon, nil, nil))
	if len(recs) != 1 || len(recs[0].Data) != 1<<20 {
		t.Fatal("large record not read back")
	}
}
