package firehose

import (
	"bytes"
	"context"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/rivulet/rivulet/internal/store"
)

var recordIDShape = regexp.MustCompile(`^[A-Za-z0-9+/]{224}$`)

// stored reads back every entry of a stream's buffer log.
func (e *env) stored(name string) (string, []store.Entry, []store.Position) {
	e.t.Helper()
	ctx := context.Background()
	ds, _, err := e.svc.load(ctx, store.TableKey{Account: account, Region: "us-east-1", Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := e.st.Read(ctx, BufferLog(ds.ID), 0, 1000, 64<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Entry
	var pos []store.Position
	for _, m := range msgs {
		for i, en := range m.Entries {
			out = append(out, en)
			pos = append(pos, store.Position{Seq: m.Seq, Sub: i})
		}
	}
	return ds.ID, out, pos
}

func TestPutRecordIsStoredBeforeReply(t *testing.T) {
	e := newEnv(t, Config{})
	e.create("in")
	ctx := context.Background()
	out, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("in"), Record: &types.Record{Data: []byte("hello\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if !recordIDShape.MatchString(aws.ToString(out.RecordId)) || aws.ToBool(out.Encrypted) {
		t.Fatalf("%+v", out)
	}
	batch, err := e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("in"), Records: []types.Record{
		{Data: []byte("a")}, {Data: []byte{}}, {Data: []byte("c")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(batch.FailedPutCount) != 0 || len(batch.RequestResponses) != 3 {
		t.Fatalf("%+v", batch)
	}
	id, entries, pos := e.stored("in")
	want := []string{"hello\n", "a", "", "c"}
	if len(entries) != len(want) {
		t.Fatalf("stored %d entries", len(entries))
	}
	ids := []string{aws.ToString(out.RecordId)}
	for _, r := range batch.RequestResponses {
		if r.ErrorCode != nil {
			t.Fatalf("%+v", r)
		}
		ids = append(ids, aws.ToString(r.RecordId))
	}
	seen := map[string]bool{}
	for i, en := range entries {
		if string(en.Data) != want[i] {
			t.Fatalf("entry %d = %q", i, en.Data)
		}
		// The id is derived from where the record was stored.
		if ids[i] != RecordID(id, pos[i]) || seen[ids[i]] {
			t.Fatalf("record id %d", i)
		}
		seen[ids[i]] = true
	}
}

func TestPutRecordErrors(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.create("in")
	_, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("nope"), Record: &types.Record{Data: []byte("x")}})
	apiErr(t, err, "ResourceNotFoundException", "Firehose nope under account "+account+" not found.")
	_, err = e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("nope"), Records: []types.Record{{Data: []byte("x")}}})
	apiErr(t, err, "ResourceNotFoundException", "Firehose nope under account "+account+" not found.")

	_, err = e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("in"), Record: &types.Record{Data: make([]byte, 1_024_001)}})
	apiErr(t, err, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000")
	if _, err = e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("in"), Record: &types.Record{Data: make([]byte, 1_024_000)}}); err != nil {
		t.Fatal(err)
	}
	e.rawErr("PutRecord", `{"DeliveryStreamName":"in"}`, 400, "ValidationException",
		"1 validation error detected: Value null at 'record' failed to satisfy constraint: Member must not be null")
	e.rawErr("PutRecordBatch", `{"DeliveryStreamName":"in","Records":[]}`, 400, "ValidationException",
		"1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1")
	many := make([]types.Record, 501)
	for i := range many {
		many[i].Data = []byte("x")
	}
	_, err = e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("in"), Records: many})
	apiErr(t, err, "ValidationException", "1 validation error detected: Value '[...]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
	big := make([]types.Record, 5)
	for i := range big {
		big[i].Data = bytes.Repeat([]byte("y"), 1_000_000)
	}
	_, err = e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("in"), Records: big})
	apiErr(t, err, "InvalidArgumentException", "Records size exceeds 4 MiB limit: the batch's data totals 5000000 bytes.")
	e.rawErr("PutRecord", `{"DeliveryStreamName":"in","Record":{"Data":"!!!"}}`, 400, "SerializationException",
		"'!!!' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3")
	if _, entries, _ := e.stored("in"); len(entries) != 1 {
		t.Fatalf("refused records were stored: %d entries", len(entries))
	}

	// A Kinesis-sourced stream takes no direct puts.
	_, err = e.c.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("k"), DeliveryStreamType: types.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: &types.KinesisStreamSourceConfiguration{
			KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:" + account + ":stream/src"), RoleARN: aws.String(roleARN)},
		ExtendedS3DestinationConfiguration: s3Dest(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("k"), Record: &types.Record{Data: []byte("x")}})
	apiErr(t, err, "InvalidArgumentException", "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
	_, err = e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("k"), Records: []types.Record{{Data: []byte("x")}}})
	apiErr(t, err, "InvalidArgumentException", "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
}

func TestPutWhileStorageFull(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.create("in")
	e.st.full = true
	_, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("in"), Record: &types.Record{Data: []byte("x")}})
	apiErr(t, err, "ServiceUnavailableException", fullMessage)
	out, err := e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("in"), Records: []types.Record{{Data: []byte("x")}, {Data: []byte("y")}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.FailedPutCount) != 2 {
		t.Fatalf("%+v", out)
	}
	for _, r := range out.RequestResponses {
		if aws.ToString(r.ErrorCode) != "ServiceUnavailableException" || aws.ToString(r.ErrorMessage) != fullMessage || r.RecordId != nil {
			t.Fatalf("%+v", r)
		}
	}
	e.st.full = false
	if _, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("in"), Record: &types.Record{Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
}

func TestRecordIDStable(t *testing.T) {
	a := RecordID("s1", store.Position{Seq: 7, Sub: 3})
	if a != RecordID("s1", store.Position{Seq: 7, Sub: 3}) || !recordIDShape.MatchString(a) {
		t.Fatal(a)
	}
	for _, other := range []string{RecordID("s2", store.Position{Seq: 7, Sub: 3}), RecordID("s1", store.Position{Seq: 7, Sub: 4}),
		RecordID("s1", store.Position{Seq: 8, Sub: 3})} {
		if other == a {
			t.Fatal("record ids collide")
		}
	}
	if _, err := base64.StdEncoding.DecodeString(a); err != nil {
		t.Fatal(err)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.create("t")
	_, err := e.c.TagDeliveryStream(ctx, &fh.TagDeliveryStreamInput{DeliveryStreamName: aws.String("t"), Tags: []types.Tag{
		{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("c")}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.c.ListTagsForDeliveryStream(ctx, &fh.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("t"), Limit: aws.Int32(2)})
	if err != nil || len(out.Tags) != 2 || aws.ToString(out.Tags[0].Key) != "a" || aws.ToString(out.Tags[1].Value) != "2" || !aws.ToBool(out.HasMoreTags) {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = e.c.ListTagsForDeliveryStream(ctx, &fh.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("t"), ExclusiveStartTagKey: aws.String("b")})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "c" || aws.ToBool(out.HasMoreTags) {
		t.Fatalf("%v %+v", err, out)
	}
	if _, err := e.c.UntagDeliveryStream(ctx, &fh.UntagDeliveryStreamInput{DeliveryStreamName: aws.String("t"), TagKeys: []string{"a", "zz"}}); err != nil {
		t.Fatal(err)
	}
	out, err = e.c.ListTagsForDeliveryStream(ctx, &fh.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("t")})
	if err != nil || len(out.Tags) != 2 {
		t.Fatalf("%v %+v", err, out)
	}
	tags := make([]types.Tag, 49)
	for i := range tags {
		tags[i] = types.Tag{Key: aws.String("k" + itoa(i)), Value: aws.String("v")}
	}
	_, err = e.c.TagDeliveryStream(ctx, &fh.TagDeliveryStreamInput{DeliveryStreamName: aws.String("t"), Tags: tags})
	apiErr(t, err, "LimitExceededException", "Firehose t under account "+account+" cannot have more than 50 tags.")
	e.rawErr("TagDeliveryStream", `{"DeliveryStreamName":"t","Tags":[{"Key":"aws:x"}]}`, 400, "ValidationException",
		`1 validation error detected: Value 'aws:x' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:)[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$`)
	e.rawErr("UntagDeliveryStream", `{"DeliveryStreamName":"t","TagKeys":[]}`, 400, "ValidationException",
		"1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: Member must have length greater than or equal to 1")
	_, err = e.c.ListTagsForDeliveryStream(ctx, &fh.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Firehose nope under account "+account+" not found.")
	// Tags given at creation are kept.
	_, err = e.c.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("t2"),
		ExtendedS3DestinationConfiguration: s3Dest(), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err = e.c.ListTagsForDeliveryStream(ctx, &fh.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("t2")})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != "x" {
		t.Fatalf("%v %+v", err, out)
	}
}

func TestEncryption(t *testing.T) {
	e := newEnv(t, Config{CreateDelay: time.Second})
	ctx := context.Background()
	e.create("enc")
	e.clock.Add(time.Second)
	_, err := e.c.StartDeliveryStreamEncryption(ctx, &fh.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc"),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk}})
	if err != nil {
		t.Fatal(err)
	}
	if enc := e.describe("enc").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusEnabling || enc.KeyType != types.KeyTypeAwsOwnedCmk {
		t.Fatalf("%+v", enc)
	}
	e.clock.Add(time.Second)
	if enc := e.describe("enc").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusEnabled {
		t.Fatalf("%+v", enc)
	}
	out, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("enc"), Record: &types.Record{Data: []byte("x")}})
	if err != nil || !aws.ToBool(out.Encrypted) {
		t.Fatalf("%v %+v", err, out)
	}
	if _, err := e.c.StopDeliveryStreamEncryption(ctx, &fh.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc")}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	if enc := e.describe("enc").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusDisabled || enc.KeyType != "" {
		t.Fatalf("%+v", enc)
	}
	_, err = e.c.StartDeliveryStreamEncryption(ctx, &fh.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc"),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk}})
	apiErr(t, err, "InvalidArgumentException", "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
	key := "arn:aws:kms:us-east-1:" + account + ":key/" + customerKeyID
	_, err = e.c.StartDeliveryStreamEncryption(ctx, &fh.StartDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("enc"),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk, KeyARN: aws.String(key)}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	if enc := e.describe("enc").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusEnabled || aws.ToString(enc.KeyARN) != key {
		t.Fatalf("%+v", enc)
	}
	e.rawErr("StartDeliveryStreamEncryption", `{"DeliveryStreamName":"enc","DeliveryStreamEncryptionConfigurationInput":{"KeyType":"MINE"}}`, 400, "ValidationException",
		"1 validation error detected: Value 'MINE' at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]")
	_, err = e.c.StopDeliveryStreamEncryption(ctx, &fh.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Firehose nope under account "+account+" not found.")
	if !strings.HasPrefix(key, "arn:") {
		t.Fatal(key)
	}
}
