package rivulet_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

// awsSeq is a sequence number decoded by AWS's layout, independently of
// Rivulet's own code: 47 hex digits, '2' | shard creation (9) | low digit
// of the shard index (1) | index (16) | byte (2) | arrival (9) | shard
// index (8) | '2'.
type awsSeq struct {
	created, arrival int64
	shard            int
	seq              uint64 // index<<8|byte is seq<<20|sub in Rivulet
	sub              int
}

func decodeAWS(t *testing.T, s string) awsSeq {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || len(s) != 56 {
		t.Fatalf("sequence number %q is not 56 decimal digits", s)
	}
	h := n.Text(16)
	if len(h) != 47 || h[0] != '2' || h[46] != '2' {
		t.Fatalf("sequence number %s is hex %s, not AWS's layout", s, h)
	}
	hex := func(from, to int) uint64 {
		v, err := strconv.ParseUint(h[from:to], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	d := awsSeq{created: int64(hex(1, 10)), arrival: int64(hex(29, 38)), shard: int(hex(38, 46))}
	if hex(10, 11) != uint64(d.shard)&0xf {
		t.Fatalf("sequence number %s: low shard digit %s, shard %d", s, h[10:11], d.shard)
	}
	// The 72-bit field of index and byte.
	field, _ := new(big.Int).SetString(h[11:29], 16)
	d.seq = new(big.Int).Rsh(field, 20).Uint64()
	d.sub = int(new(big.Int).And(field, big.NewInt(1<<20-1)).Int64())
	return d
}

// TestSequenceNumbersAWSLayout: numbers from PutRecords, PutRecord,
// GetRecords and ListShards decode by AWS's layout with the right shard
// and times, work as iterator positions, and numbers from another shard or
// stream are refused with AWS's messages; Rivulet's earlier layout is
// still accepted.
func TestSequenceNumbersAWSLayout(t *testing.T) {
	srv := start(t, rivulet.Config{})
	c := client(t, srv.Endpoint(), nil)
	ctx := context.Background()
	stream := "seqnums"
	createStart := time.Now().Unix()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	createEnd := time.Now().Unix()

	// Even records to shard 0, odd ones to shard 1.
	hashes := []string{"0", "340282366920938463463374607431768211455"}
	before := time.Now().Unix()
	var entries []types.PutRecordsRequestEntry
	for i := range 6 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), ExplicitHashKey: &hashes[i%2], Data: fmt.Appendf(nil, "r%d", i)})
	}
	put, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: entries})
	if err != nil || aws.ToInt32(put.FailedRecordCount) != 0 {
		t.Fatalf("PutRecords: %v", err)
	}
	one, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &stream, PartitionKey: aws.String("k"), ExplicitHashKey: &hashes[0], Data: []byte("last")})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	results := append(put.Records, types.PutRecordsResultEntry{ShardId: one.ShardId, SequenceNumber: one.SequenceNumber})

	seqs := map[string][]string{} // by shard, in put order
	for _, r := range results {
		id, s := aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)
		d := decodeAWS(t, s)
		if want := fmt.Sprintf("shardId-%012d", d.shard); want != id {
			t.Errorf("%s encodes %s, put on %s", s, want, id)
		}
		if d.arrival < before-1 || d.arrival > after+1 {
			t.Errorf("%s: arrival %d outside [%d, %d]", s, d.arrival, before-1, after+1)
		}
		if d.created < createStart-1 || d.created > createEnd+1 {
			t.Errorf("%s: shard creation %d outside [%d, %d]", s, d.created, createStart-1, createEnd+1)
		}
		seqs[id] = append(seqs[id], s)
	}
	if len(seqs) != 2 {
		t.Fatalf("records landed on %d shards, want 2", len(seqs))
	}

	// ListShards: the starting number sits below every record's.
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards.Shards {
		start := aws.ToString(sh.SequenceNumberRange.StartingSequenceNumber)
		if d := decodeAWS(t, start); fmt.Sprintf("shardId-%012d", d.shard) != aws.ToString(sh.ShardId) || d.seq != 0 || d.sub != 0 {
			t.Errorf("%s starts at %s: %+v", aws.ToString(sh.ShardId), start, d)
		}
		for _, s := range seqs[aws.ToString(sh.ShardId)] {
			if !seqLess(start, s) {
				t.Errorf("record %s not above starting number %s", s, start)
			}
		}
	}

	// GetRecords carries each record's arrival; the record part of the
	// number is the one PutRecords gave.
	shard0 := "shardId-000000000000"
	var recs []types.Record
	for _, id := range []string{shard0, "shardId-000000000001"} {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) != len(seqs[id]) {
			t.Fatalf("%s: read %d records, put %d", id, len(out.Records), len(seqs[id]))
		}
		for i, r := range out.Records {
			got, want := decodeAWS(t, aws.ToString(r.SequenceNumber)), decodeAWS(t, seqs[id][i])
			if got.arrival != aws.ToTime(r.ApproximateArrivalTimestamp).Unix() {
				t.Errorf("%s: arrival %d, ApproximateArrivalTimestamp %v", aws.ToString(r.SequenceNumber), got.arrival, r.ApproximateArrivalTimestamp)
			}
			if got.shard != want.shard || got.seq != want.seq || got.sub != want.sub || got.created != want.created {
				t.Errorf("read %s (%+v), put %s (%+v)", aws.ToString(r.SequenceNumber), got, seqs[id][i], want)
			}
		}
		if id == shard0 {
			recs = out.Records
		}
	}
	if len(recs) < 3 {
		t.Fatalf("shard 0 holds %d records; the test needs 3", len(recs))
	}

	read := func(typ types.ShardIteratorType, seq string) string {
		t.Helper()
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: &shard0,
			ShardIteratorType: typ, StartingSequenceNumber: &seq})
		if err != nil {
			t.Fatalf("GetShardIterator %s %s: %v", typ, seq, err)
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
		if err != nil || len(out.Records) != 1 {
			t.Fatalf("GetRecords after %s %s: %v, %d records", typ, seq, err, len(out.Records))
		}
		return string(out.Records[0].Data)
	}
	mid := seqs[shard0][1]
	if got, want := read(types.ShardIteratorTypeAtSequenceNumber, mid), string(recs[1].Data); got != want {
		t.Errorf("AT_SEQUENCE_NUMBER %s read %q, want %q", mid, got, want)
	}
	if got, want := read(types.ShardIteratorTypeAfterSequenceNumber, mid), string(recs[2].Data); got != want {
		t.Errorf("AFTER_SEQUENCE_NUMBER %s read %q, want %q", mid, got, want)
	}

	// A checkpoint in Rivulet's earlier layout: "49", shard (12 digits),
	// seq (20), sub (6), the stream's creation in epoch ms (16).
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	ms := aws.ToTime(sum.StreamDescriptionSummary.StreamCreationTimestamp).UnixMilli()
	d := decodeAWS(t, mid)
	legacy := fmt.Sprintf("49%012d%020d%06d%016d", 0, d.seq, d.sub, ms)
	if got, want := read(types.ShardIteratorTypeAtSequenceNumber, legacy), string(recs[1].Data); got != want {
		t.Errorf("legacy AT_SEQUENCE_NUMBER %s read %q, want %q", legacy, got, want)
	}
	if got, want := read(types.ShardIteratorTypeAfterSequenceNumber, legacy), string(recs[2].Data); got != want {
		t.Errorf("legacy AFTER_SEQUENCE_NUMBER %s read %q, want %q", legacy, got, want)
	}

	iterErr := func(seq, code, msg string) {
		t.Helper()
		_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: &shard0,
			ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: &seq})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
			t.Errorf("GetShardIterator at %s: got %v\nwant %s: %s", seq, err, code, msg)
		}
	}
	other := seqs["shardId-000000000001"][0]
	iterErr(other, "InvalidArgumentException",
		"Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000")
	foreign := func(s string) {
		iterErr(s, "InvalidArgumentException", "StartingSequenceNumber "+s+
			" used in GetShardIterator on shard shardId-000000000000 in stream seqnums under account 000000000000 is invalid because it did not come from this stream.")
	}
	// The same record of a shard created a second earlier.
	n, _ := new(big.Int).SetString(mid, 10)
	foreign(n.Sub(n, new(big.Int).Lsh(big.NewInt(1), 148)).String())
	foreign(fmt.Sprintf("49%012d%020d%06d%016d", 0, d.seq, d.sub, ms+1))
	for _, bad := range []string{"49590338271490256608559692538361571095921575989136588899", "59000000000000000000000000000000000000000000000000000000", "123"} {
		iterErr(bad, "InvalidArgumentException", "StartingSequenceNumber "+bad+
			" used in GetShardIterator on shard shardId-000000000000 in stream seqnums under account 000000000000 is invalid.")
	}
}

// seqLess orders 56-digit sequence numbers.
func seqLess(a, b string) bool { return len(a) < len(b) || len(a) == len(b) && a < b }

// TestSequenceNumbersAcrossRestartAndReshard: on a data directory, the
// numbers of a shard keep growing after a restart, and keep its creation
// time; a split's children number their records with their own index and
// a later creation time, above the parent's last number.
func TestSequenceNumbersAcrossRestartAndReshard(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	put := func(c *kinesis.Client) string {
		t.Helper()
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("kept"), PartitionKey: aws.String("k"), Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.SequenceNumber)
	}
	srv, err := rivulet.Start(ctx, rivulet.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, srv.Endpoint(), nil)
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("kept"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	before := []string{put(c), put(c)}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv = start(t, rivulet.Config{DataDir: dir})
	c = client(t, srv.Endpoint(), nil)
	after := put(c)
	b, a := decodeAWS(t, before[1]), decodeAWS(t, after)
	if !seqLess(before[0], before[1]) || !seqLess(before[1], after) {
		t.Fatalf("numbers do not grow across the restart: %v then %s", before, after)
	}
	if a.shard != 0 || a.created != b.created || a.seq <= b.seq {
		t.Fatalf("after the restart %+v, before %+v", a, b)
	}

	// Split the shard; the children's numbers name them.
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("kept"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
		t.Fatal(err)
	}
	var child string
	for i := 0; child == ""; i++ {
		if i > 500 {
			t.Fatal("the split did not finish")
		}
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("kept"), PartitionKey: aws.String("k"), Data: []byte("y")})
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "ResourceInUseException" {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			t.Fatal(err)
		}
		if aws.ToString(out.ShardId) != "shardId-000000000000" {
			child = aws.ToString(out.SequenceNumber)
			if d := decodeAWS(t, child); fmt.Sprintf("shardId-%012d", d.shard) != aws.ToString(out.ShardId) || d.created < b.created {
				t.Fatalf("child number %s decodes to %+v on %s", child, d, aws.ToString(out.ShardId))
			}
		}
	}
	if !seqLess(after, child) {
		t.Fatalf("child number %s not above the parent's %s", child, after)
	}
}
