package rivulet_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

func shardIterator(t *testing.T, c *kinesis.Client, stream string) string {
	t.Helper()
	out, err := c.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{
		StreamName: &stream, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ShardIterator)
}

func createAndPut(t *testing.T, c *kinesis.Client, stream string, data ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &stream, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &stream, PartitionKey: aws.String("k"), Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestShardIterators: iterators are shaped like AWS's, and GetRecords
// refuses an edited one, an expired one with AWS's message, and one from
// a deleted stream after a stream of the same name is created.
func TestShardIterators(t *testing.T) {
	clock := newFakeClock()
	srv := start(t, rivulet.Config{Clock: clock.Now})
	c := client(t, srv.Endpoint(), nil)
	ctx := context.Background()
	name := strings.Repeat("n", 128)
	createAndPut(t, c, name, "one")

	it := shardIterator(t, c, name)
	raw, err := base64.StdEncoding.DecodeString(it)
	if err != nil || len(it) > 512 || len(raw) < 152 || (len(raw)-152)%16 != 0 || string(raw[:8]) != "\x00\x00\x00\x00\x00\x00\x00\x01" {
		t.Fatalf("iterator %q (%d bytes decoded, %v) is not shaped like AWS's", it, len(raw), err)
	}
	if strings.Contains(string(raw), name) {
		t.Fatal("stream name readable in the iterator")
	}

	for _, bad := range []string{
		it[:100] + string(rune(it[100]^1)) + it[101:],
		it[:len(it)-24],
		base64.StdEncoding.EncodeToString(append(raw[:len(raw):len(raw)], make([]byte, 16)...)),
		"AAAAAAAAAAE" + strings.Repeat("A", 329),
	} {
		_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &bad})
		wantAPIError(t, err, "InvalidArgumentException", "Invalid ShardIterator.")
	}

	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &it})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "one" {
		t.Fatalf("GetRecords: %+v %v", out, err)
	}
	next := aws.ToString(out.NextShardIterator)

	// Expiry: an iterator works for 300 s, then AWS's message.
	issued := clock.Now()
	clock.Add(299 * time.Second)
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &next}); err != nil {
		t.Fatalf("iterator refused before 300 s: %v", err)
	}
	clock.Add(2 * time.Second)
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &next})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredIteratorException" {
		t.Fatalf("after 301 s: %v", err)
	}
	const javaDate = "Mon Jan 02 15:04:05 UTC 2006"
	if want := "Iterator expired. The iterator was created at time " + issued.UTC().Format(javaDate) +
		" while right now it is " + clock.Now().UTC().Format(javaDate) +
		" which is further in the future than the tolerated delay of 300000 milliseconds."; ae.ErrorMessage() != want {
		t.Fatalf("expired message %q\nwant %q", ae.ErrorMessage(), want)
	}

	// Incarnation: the old stream's iterator does not read the new one.
	old := shardIterator(t, c, name)
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: &name}); err != nil {
		t.Fatal(err)
	}
	createAndPut(t, c, name, "two")
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &old})
	wantAPIError(t, err, "ResourceNotFoundException",
		"Shard shardId-000000000000 in stream "+name+" under account 000000000000 does not exist")
	fresh := shardIterator(t, c, name)
	if out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: &fresh}); err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "two" {
		t.Fatalf("new stream: %+v %v", out, err)
	}
}

// TestShardIteratorsAcrossServers: two servers on one NATS share the
// iterator key, so an iterator of either reads on the other.
func TestShardIteratorsAcrossServers(t *testing.T) {
	a := start(t, rivulet.Config{NATSListen: "127.0.0.1:0"})
	b := start(t, rivulet.Config{NATSURL: a.NATSURL()})
	ca, cb := client(t, a.Endpoint(), nil), client(t, b.Endpoint(), nil)
	ctx := context.Background()
	createAndPut(t, ca, "shared", "r0")

	out, err := cb.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(shardIterator(t, ca, "shared"))})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "r0" {
		t.Fatalf("a's iterator on b: %+v %v", out, err)
	}
	if _, err := cb.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("shared"), PartitionKey: aws.String("k"), Data: []byte("r1")}); err != nil {
		t.Fatal(err)
	}
	out, err = ca.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "r1" {
		t.Fatalf("b's iterator on a: %+v %v", out, err)
	}
}
