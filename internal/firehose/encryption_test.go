package firehose

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/rivulet/rivulet/internal/firehose/envelope"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const (
	customerKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	disabledKeyID = "00000000-0000-4000-8000-000000000001"
)

// testRing is a key ring with alias/orders (enabled as given) and
// alias/off (disabled), plus the built-in key kept in meta.
func testRing(t *testing.T, meta store.Meta, ordersEnabled bool) *kms.Ring {
	t.Helper()
	off := false
	mat := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, kms.KeySize)) }
	ring, err := kms.New([]kms.FileKey{
		{ID: customerKeyID, Aliases: []string{"alias/orders"}, Material: mat(1), Enabled: &ordersEnabled},
		{ID: disabledKeyID, Aliases: []string{"alias/off"}, Material: mat(2), Enabled: &off},
	}, meta)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func (e *env) start(name string, enc *types.DeliveryStreamEncryptionConfigurationInput) error {
	_, err := e.c.StartDeliveryStreamEncryption(context.Background(), &fh.StartDeliveryStreamEncryptionInput{
		DeliveryStreamName: aws.String(name), DeliveryStreamEncryptionConfigurationInput: enc})
	return err
}

func (e *env) stop(name string) error {
	_, err := e.c.StopDeliveryStreamEncryption(context.Background(), &fh.StopDeliveryStreamEncryptionInput{DeliveryStreamName: aws.String(name)})
	return err
}

// put puts one record and returns whether AWS would call it encrypted.
func (e *env) put(name, data string) bool {
	e.t.Helper()
	out, err := e.c.PutRecord(context.Background(), &fh.PutRecordInput{DeliveryStreamName: aws.String(name), Record: &types.Record{Data: []byte(data)}})
	if err != nil {
		e.t.Fatalf("PutRecord %q: %v", data, err)
	}
	return aws.ToBool(out.Encrypted)
}

func (e *env) record(name string) *model.DeliveryStream {
	e.t.Helper()
	ds, _, err := e.svc.load(context.Background(), store.TableKey{Account: account, Region: "us-east-1", Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

// opened opens every stored entry as a new process would: a fresh key
// cache over the ring, the stream record as stored now.
func (e *env) opened(name string, ring *kms.Ring) []string {
	e.t.Helper()
	_, entries, _ := e.stored(name)
	keys := envelope.New(ring)
	ds := e.record(name)
	var out []string
	for _, en := range entries {
		if err := keys.Open(context.Background(), ds, &en, nil); err != nil {
			e.t.Fatalf("open: %v", err)
		}
		out = append(out, string(en.Data))
	}
	return out
}

func TestEncryptionSealsBufferLog(t *testing.T) {
	e := newEnv(t, Config{})
	ring := e.svc.cfg.KMS
	ctx := context.Background()
	e.create("sse")
	if e.put("sse", "plain-zero") {
		t.Fatal("Encrypted before encryption was started")
	}
	if err := e.start("sse", &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk}); err != nil {
		t.Fatal(err)
	}
	if !e.put("sse", "secret-one") {
		t.Fatal("PutRecord: Encrypted false with encryption ENABLED")
	}
	batch, err := e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("sse"),
		Records: []types.Record{{Data: []byte("secret-two")}, {Data: []byte("secret-three")}}})
	if err != nil || !aws.ToBool(batch.Encrypted) || aws.ToInt32(batch.FailedPutCount) != 0 {
		t.Fatalf("PutRecordBatch: %v %+v", err, batch)
	}
	// AWS_OWNED_CMK is the ring's built-in key.
	owned, err := ring.Resolve(ctx, kms.DefaultAlias, "us-east-1", account)
	if err != nil {
		t.Fatal(err)
	}
	ds := e.record("sse")
	if len(ds.DataKeys) != 1 || ds.DataKeys[0].MasterKeyID != owned.ID || ds.WriteKey != ds.DataKeys[0].Index {
		t.Fatalf("data keys %+v, write key %d", ds.DataKeys, ds.WriteKey)
	}

	// Another key: alias ARN of a customer managed key.
	if err := e.start("sse", &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk,
		KeyARN: aws.String("arn:aws:kms:us-east-1:" + account + ":alias/orders")}); err != nil {
		t.Fatal(err)
	}
	if !e.put("sse", "secret-four") {
		t.Fatal("Encrypted false after a key change")
	}
	ds = e.record("sse")
	if len(ds.DataKeys) != 2 || ds.DataKeys[1].MasterKeyID != customerKeyID || ds.DataKeys[0].Retired == nil {
		t.Fatalf("data keys after the key change: %+v", ds.DataKeys)
	}

	// Off again: new records in the clear, old ones still readable.
	if err := e.stop("sse"); err != nil {
		t.Fatal(err)
	}
	if e.put("sse", "plain-five") {
		t.Fatal("Encrypted true after encryption was stopped")
	}

	_, entries, _ := e.stored("sse")
	wantKeys := []uint32{0, 1, 1, 1, 2, 0}
	if len(entries) != len(wantKeys) {
		t.Fatalf("%d entries stored, want %d", len(entries), len(wantKeys))
	}
	for i, en := range entries {
		if en.Key != wantKeys[i] {
			t.Fatalf("entry %d: data key %d, want %d", i, en.Key, wantKeys[i])
		}
		plain := strings.HasPrefix(string(en.Data), "plain-")
		if en.Key != 0 && (bytes.Contains(en.Data, []byte("secret")) || plain) {
			t.Fatalf("entry %d stored in the clear: %q", i, en.Data)
		}
		if en.Key == 0 && !plain {
			t.Fatalf("entry %d: %q, want a record in the clear", i, en.Data)
		}
	}
	want := []string{"plain-zero", "secret-one", "secret-two", "secret-three", "secret-four", "plain-five"}
	if got := e.opened("sse", ring); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("opened %q, want %q", got, want)
	}

	// A damaged sealed entry is refused, not returned as garbage.
	bad := entries[1]
	bad.Data = bytes.Clone(bad.Data)
	bad.Data[len(bad.Data)-1] ^= 1
	if err := envelope.New(ring).Open(ctx, e.record("sse"), &bad, nil); !errors.Is(err, envelope.ErrDamaged) {
		t.Fatalf("damaged entry: %v", err)
	}
}

func TestEncryptionFollowsTransitions(t *testing.T) {
	e := newEnv(t, Config{CreateDelay: time.Second})
	ctx := context.Background()
	_, err := e.c.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{
		DeliveryStreamName:                         aws.String("tr"),
		ExtendedS3DestinationConfiguration:         s3Dest(),
		DeliveryStreamEncryptionConfigurationInput: &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk},
	})
	if err != nil {
		t.Fatal(err)
	}
	if enc := e.describe("tr").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusEnabling {
		t.Fatalf("%+v", enc)
	}
	// AWS: records put while ENABLING are not encrypted.
	if e.put("tr", "a") {
		t.Fatal("sealed while ENABLING")
	}
	e.clock.Add(time.Second)
	if !e.put("tr", "b") {
		t.Fatal("not sealed once ENABLED")
	}
	// A key change keeps the old key until it is ENABLED again.
	if err := e.start("tr", &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk,
		KeyARN: aws.String("arn:aws:kms:us-east-1:" + account + ":key/" + customerKeyID)}); err != nil {
		t.Fatal(err)
	}
	if !e.put("tr", "c") {
		t.Fatal("not sealed during a key change")
	}
	e.clock.Add(time.Second)
	e.put("tr", "d")
	// Stopping seals until DISABLED.
	if err := e.stop("tr"); err != nil {
		t.Fatal(err)
	}
	if !e.put("tr", "e") {
		t.Fatal("not sealed while DISABLING")
	}
	e.clock.Add(time.Second)
	if e.put("tr", "f") {
		t.Fatal("sealed once DISABLED")
	}
	_, entries, _ := e.stored("tr")
	var keys []uint32
	for _, en := range entries {
		keys = append(keys, en.Key)
	}
	if want := []uint32{0, 1, 1, 2, 2, 0}; !equalKeys(keys, want) {
		t.Fatalf("data keys of the records %v, want %v", keys, want)
	}
	if got := strings.Join(e.opened("tr", e.svc.cfg.KMS), ""); got != "abcdef" {
		t.Fatalf("opened %q", got)
	}
}

func equalKeys(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncryptionKeyErrors(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.create("k")
	arn := func(rest string) *string { return aws.String("arn:aws:kms:us-east-1:" + account + ":" + rest) }
	cmk := func(a *string) *types.DeliveryStreamEncryptionConfigurationInput {
		return &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeCustomerManagedCmk, KeyARN: a}
	}
	apiErr(t, e.start("k", cmk(arn("key/99999999-9999-4999-8999-999999999999"))), "InvalidKMSResourceException",
		"Key 'arn:aws:kms:us-east-1:"+account+":key/99999999-9999-4999-8999-999999999999' does not exist")
	apiErr(t, e.start("k", cmk(arn("alias/nope"))), "InvalidKMSResourceException",
		"Alias arn:aws:kms:us-east-1:"+account+":alias/nope is not found.")
	apiErr(t, e.start("k", cmk(arn("key/"+disabledKeyID))), "InvalidKMSResourceException",
		"arn:aws:kms:us-east-1:"+account+":key/"+disabledKeyID+" is disabled.")
	// The error carries the KMS exception as its code member.
	code, m := e.raw("StartDeliveryStreamEncryption", `{"DeliveryStreamName":"k","DeliveryStreamEncryptionConfigurationInput":{"KeyType":"CUSTOMER_MANAGED_CMK","KeyARN":"arn:aws:kms:us-east-1:`+account+`:alias/off"}}`)
	if code != 400 || m["__type"] != "InvalidKMSResourceException" || m["code"] != "DisabledException" {
		t.Fatalf("disabled alias: %d %v", code, m)
	}
	if enc := e.describe("k").DeliveryStreamEncryptionConfiguration; enc.Status != types.DeliveryStreamEncryptionStatusDisabled || len(e.record("k").DataKeys) != 0 {
		t.Fatalf("a refused key changed the stream: %+v", enc)
	}
	// An unknown stream is reported before the key.
	apiErr(t, e.start("none", cmk(arn("alias/nope"))), "ResourceNotFoundException", "")

	// CreateDeliveryStream refuses the key and creates nothing.
	_, err := e.c.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{
		DeliveryStreamName:                         aws.String("k2"),
		ExtendedS3DestinationConfiguration:         s3Dest(),
		DeliveryStreamEncryptionConfigurationInput: cmk(arn("alias/off")),
	})
	apiErr(t, err, "InvalidKMSResourceException", "arn:aws:kms:us-east-1:"+account+":key/"+disabledKeyID+" is disabled.")
	if _, err := e.c.DescribeDeliveryStream(ctx, &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("k2")}); err == nil {
		t.Fatal("stream created with a disabled key")
	}

	// The key is disabled after encryption started (the ring file edited,
	// the server restarted): puts fail, nothing is stored in the clear.
	if err := e.start("k", cmk(arn("alias/orders"))); err != nil {
		t.Fatal(err)
	}
	e.put("k", "sealed")
	e.svc.keys = envelope.New(testRing(t, e.st.Store, false))
	_, err = e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("k"), Record: &types.Record{Data: []byte("x")}})
	apiErr(t, err, "InvalidKMSResourceException", "arn:aws:kms:us-east-1:"+account+":key/"+customerKeyID+" is disabled.")
	_, err = e.c.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("k"), Records: []types.Record{{Data: []byte("x")}}})
	apiErr(t, err, "InvalidKMSResourceException", "")
	if _, entries, _ := e.stored("k"); len(entries) != 1 {
		t.Fatalf("%d entries stored, want 1", len(entries))
	}
	// Turning encryption off needs no key.
	if err := e.stop("k"); err != nil {
		t.Fatal(err)
	}
	if e.put("k", "clear") {
		t.Fatal("Encrypted after stop")
	}
}

func TestEncryptionWithoutKeyRing(t *testing.T) {
	e := newEnvRing(t, Config{}, true)
	e.create("n")
	apiErr(t, e.start("n", nil), "InvalidKMSResourceException", "Server-side encryption needs a key ring, and this server has none configured.")
	if err := e.stop("n"); err != nil {
		t.Fatal(err)
	}
}

func TestEncryptionDailyLimitAndKeyRetirement(t *testing.T) {
	e := newEnv(t, Config{})
	e.create("lim")
	owned := &types.DeliveryStreamEncryptionConfigurationInput{KeyType: types.KeyTypeAwsOwnedCmk}
	for i := range maxEncryptionChangesPerDay {
		var err error
		if i%2 == 0 {
			err = e.start("lim", owned)
		} else {
			err = e.stop("lim")
		}
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		e.put("lim", "r")
		e.clock.Add(time.Minute)
	}
	apiErr(t, e.stop("lim"), "LimitExceededException", "")
	if n := len(e.record("lim").DataKeys); n != 13 {
		t.Fatalf("%d data keys, want 13", n)
	}
	// A day later the allowance is back, and keys retired longer ago than
	// the buffer log keeps records are gone.
	e.clock.Add(26 * time.Hour)
	if err := e.stop("lim"); err != nil {
		t.Fatal(err)
	}
	ds := e.record("lim")
	if len(ds.DataKeys) != 1 || ds.DataKeys[0].Index != 13 || ds.DataKeys[0].Retired == nil || ds.WriteKey != 0 {
		t.Fatalf("data keys %+v, write key %d", ds.DataKeys, ds.WriteKey)
	}
	if err := e.start("lim", owned); err != nil {
		t.Fatal(err)
	}
	if ds := e.record("lim"); len(ds.DataKeys) != 2 || ds.WriteKey != 14 {
		t.Fatalf("data keys %+v, write key %d", ds.DataKeys, ds.WriteKey)
	}
}
