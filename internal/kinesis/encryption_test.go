package kinesis

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const (
	keyOn  = "11111111-2222-4333-8444-555555555555"
	keyOff = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

// testKeys is a key ring file's keys: keyOn (alias/on) and keyOff
// (alias/off), enabled as given.
func testKeys(t testing.TB, onEnabled, offEnabled bool) []kms.FileKey {
	t.Helper()
	material := func(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	return []kms.FileKey{
		{ID: keyOn, Aliases: []string{"alias/on"}, Material: material(1), Enabled: &onEnabled},
		{ID: keyOff, Aliases: []string{"alias/off"}, Material: material(2), Enabled: &offEnabled},
	}
}

// newKMSService is a service on be (a new backend if nil) with the given
// file keys; a second one on the same backend stands for a restarted or
// another process.
func newKMSService(t *testing.T, be store.Backend, c *clock, keys []kms.FileKey) *Service {
	t.Helper()
	if be == nil {
		be = openBackend(t)
	}
	ring, err := kms.New(keys, be)
	if err != nil {
		t.Fatal(err)
	}
	s := New(be, Config{CreateDelay: time.Second, DeleteDelay: time.Second, ShardLimit: 10, KMS: ring, Now: c.Now})
	t.Cleanup(s.Close)
	return s
}

func startEnc(s *Service, name, key string) error {
	_, err := s.StartStreamEncryption(ctx, &api.StartStreamEncryptionInput{StreamName: &name, EncryptionType: ptr("KMS"), KeyId: &key})
	return err
}

func stopEnc(s *Service, name, key string) error {
	_, err := s.StopStreamEncryption(ctx, &api.StopStreamEncryptionInput{StreamName: &name, EncryptionType: ptr("KMS"), KeyId: &key})
	return err
}

func putOne(t *testing.T, s *Service, name, pk, data string) *api.PutRecordOutput {
	t.Helper()
	out, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: &name, PartitionKey: &pk, Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func putMany(t *testing.T, s *Service, name, prefix string, n int) *api.PutRecordsOutput {
	t.Helper()
	var recs []api.PutRecordsRequestEntry
	for i := 0; i < n; i++ {
		recs = append(recs, api.PutRecordsRequestEntry{PartitionKey: ptr(fmt.Sprintf("%s-pk-%d", prefix, i)), Data: []byte(fmt.Sprintf("%s-data-%d", prefix, i))})
	}
	out, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: &name, Records: recs})
	if err != nil || out.FailedRecordCount != 0 {
		t.Fatalf("PutRecords: %v %+v", err, out)
	}
	return out
}

// readStream reads every shard from the start, in shard order.
func readStream(t *testing.T, s *Service, name string, shards int) []api.Record {
	t.Helper()
	var all []api.Record
	for i := 0; i < shards; i++ {
		recs, _ := getAll(t, s, iter(t, s, name, ShardID(i), api.TrimHorizon, nil, nil))
		all = append(all, recs...)
	}
	return all
}

// rawEntries reads a shard's stored entries as storage holds them.
func rawEntries(t *testing.T, be store.Backend, st *store.Stream, shard int) []store.Entry {
	t.Helper()
	msgs, err := be.Read(ctx, store.ShardRef{StreamID: st.ID, Shard: shard}, 0, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Entry
	for _, m := range msgs {
		out = append(out, m.Entries...)
	}
	return out
}

func describeEnc(t *testing.T, s *Service, name string) (status, typ, key string) {
	t.Helper()
	d, err := s.DescribeStream(ctx, &api.DescribeStreamInput{StreamName: &name})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: &name})
	if err != nil {
		t.Fatal(err)
	}
	a, b := d.StreamDescription, sum.StreamDescriptionSummary
	ka, kb := "", ""
	if a.KeyId != nil {
		ka = *a.KeyId
	}
	if b.KeyId != nil {
		kb = *b.KeyId
	}
	if a.EncryptionType != b.EncryptionType || ka != kb || a.StreamStatus != b.StreamStatus {
		t.Fatalf("DescribeStream %s/%s/%s and DescribeStreamSummary %s/%s/%s differ", a.StreamStatus, a.EncryptionType, ka, b.StreamStatus, b.EncryptionType, kb)
	}
	return a.StreamStatus, a.EncryptionType, ka
}

// TestEncryptionLifecycle: records before, during and after encryption
// read back byte for byte, from this service and from a fresh one on the
// same storage; storage holds the encrypted ones only sealed.
func TestEncryptionLifecycle(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, nil)
	mustCreate(t, s, c, "enc", 1)
	if _, typ, key := describeEnc(t, s, "enc"); typ != "NONE" || key != "" {
		t.Fatalf("new stream: %s %q", typ, key)
	}
	if out := putOne(t, s, "enc", "plain-pk", "plain-before"); out.EncryptionType != "NONE" {
		t.Fatalf("PutRecord EncryptionType %q", out.EncryptionType)
	}
	if out := putMany(t, s, "enc", "before", 3); out.EncryptionType != "NONE" {
		t.Fatalf("PutRecords EncryptionType %q", out.EncryptionType)
	}

	if err := startEnc(s, "enc", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	// UPDATING: writes go on in the clear until the stream is ACTIVE.
	if status, typ, key := describeEnc(t, s, "enc"); status != "UPDATING" || typ != "KMS" || key != kms.DefaultAlias {
		t.Fatalf("after start: %s %s %q", status, typ, key)
	}
	if err := startEnc(s, "enc", kms.DefaultAlias); err == nil {
		t.Fatal("a second start while UPDATING was accepted")
	} else {
		wantErr(t, err, ErrResourceInUse, "Stream enc under account 000000000000 not ACTIVE, instead in state UPDATING")
	}
	if out := putOne(t, s, "enc", "upd-pk", "during-updating"); out.EncryptionType != "NONE" {
		t.Fatalf("PutRecord while UPDATING: %q", out.EncryptionType)
	}
	c.Add(time.Second)
	if status, _, _ := describeEnc(t, s, "enc"); status != "ACTIVE" {
		t.Fatalf("status %s", status)
	}
	if out := putOne(t, s, "enc", "secret-pk", "secret-one"); out.EncryptionType != "KMS" {
		t.Fatalf("PutRecord after start: %q", out.EncryptionType)
	}
	if out := putMany(t, s, "enc", "secret", 20); out.EncryptionType != "KMS" {
		t.Fatalf("PutRecords after start: %q", out.EncryptionType)
	}

	if err := stopEnc(s, "enc", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	if out := putOne(t, s, "enc", "sealed-pk", "still-sealed"); out.EncryptionType != "KMS" {
		t.Fatalf("PutRecord while stopping: %q", out.EncryptionType)
	}
	c.Add(time.Second)
	if status, typ, key := describeEnc(t, s, "enc"); status != "ACTIVE" || typ != "NONE" || key != "" {
		t.Fatalf("after stop: %s %s %q", status, typ, key)
	}
	if out := putOne(t, s, "enc", "after-pk", "plain-after"); out.EncryptionType != "NONE" {
		t.Fatalf("PutRecord after stop: %q", out.EncryptionType)
	}

	want := []string{"plain-pk/plain-before"}
	for i := 0; i < 3; i++ {
		want = append(want, fmt.Sprintf("before-pk-%d/before-data-%d", i, i))
	}
	want = append(want, "upd-pk/during-updating", "secret-pk/secret-one")
	for i := 0; i < 20; i++ {
		want = append(want, fmt.Sprintf("secret-pk-%d/secret-data-%d", i, i))
	}
	want = append(want, "sealed-pk/still-sealed", "after-pk/plain-after")
	sealed := func(w string) bool { return strings.HasPrefix(w, "secret") || strings.HasPrefix(w, "sealed") }
	check := func(s *Service) {
		t.Helper()
		recs := readStream(t, s, "enc", 1)
		if len(recs) != len(want) {
			t.Fatalf("read %d records, want %d", len(recs), len(want))
		}
		for i, r := range recs {
			if got := r.PartitionKey + "/" + string(r.Data); got != want[i] {
				t.Fatalf("record %d = %q, want %q", i, got, want[i])
			}
			if enc := r.EncryptionType; sealed(want[i]) != (enc != nil && *enc == "KMS") {
				t.Fatalf("record %d (%s): EncryptionType %v", i, want[i], enc)
			}
		}
	}
	check(s)
	check(s) // from the data key cache
	// A new service: nothing cached, the default key read from storage.
	again := newKMSService(t, s.be, c, nil)
	check(again)

	st, _, err := s.be.Get(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "enc"})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawEntries(t, s.be, st, 0)
	if len(raw) != len(want) {
		t.Fatalf("%d raw entries", len(raw))
	}
	for i, e := range raw {
		if sealed(want[i]) {
			pk, data, _ := strings.Cut(want[i], "/")
			if e.Key == 0 || e.PartitionKey != "" || bytes.Contains(e.Data, []byte(data)) || bytes.Contains(e.Data, []byte(pk)) {
				t.Fatalf("entry %d is not sealed: %+v", i, e)
			}
		} else if e.Key != 0 {
			t.Fatalf("entry %d is sealed: %+v", i, e)
		}
	}
	if len(st.DataKeys) != 1 || st.DataKeys[0].Retired == nil || st.WriteKey != 0 && st.NextWriteKey == nil {
		t.Fatalf("data keys %+v, write key %d", st.DataKeys, st.WriteKey)
	}
	if n := len(again.dks.m); n != 1 {
		t.Fatalf("%d data keys cached, want 1", n)
	}
}

// TestEncryptionManyShards: PutRecords over several shards, and a
// reshard while encrypted: children seal too, parents stay readable.
func TestEncryptionManyShards(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, testKeys(t, true, true))
	mustCreate(t, s, c, "multi", 4)
	if err := startEnc(s, "multi", "alias/on"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	putMany(t, s, "multi", "a", 200)
	if _, err := s.UpdateShardCount(ctx, &api.UpdateShardCountInput{StreamName: ptr("multi"), TargetShardCount: ptr(int64(2)), ScalingType: ptr("UNIFORM_SCALING")}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	putMany(t, s, "multi", "b", 200)
	got := map[string]string{}
	for i := 0; i < 6; i++ {
		var recs []api.Record
		for it := ptr(iter(t, s, "multi", ShardID(i), api.TrimHorizon, nil, nil)); it != nil; {
			out, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: it})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, out.Records...)
			if it = out.NextShardIterator; len(out.Records) == 0 {
				break
			}
		}
		for _, r := range recs {
			if r.EncryptionType == nil || *r.EncryptionType != "KMS" {
				t.Fatalf("shard %d: record not sealed", i)
			}
			got[r.PartitionKey] = string(r.Data)
		}
	}
	for _, p := range []string{"a", "b"} {
		for i := 0; i < 200; i++ {
			if d := got[fmt.Sprintf("%s-pk-%d", p, i)]; d != fmt.Sprintf("%s-data-%d", p, i) {
				t.Fatalf("%s %d: %q", p, i, d)
			}
		}
	}
}

func TestEncryptionKeyIDs(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, testKeys(t, true, false))
	mustCreate(t, s, c, "ids", 1)
	for _, id := range []string{
		keyOn, "alias/on",
		"arn:aws:kms:us-east-1:000000000000:key/" + keyOn,
		"arn:aws:kms:us-east-1:000000000000:alias/on",
		kms.DefaultAlias,
		"arn:aws:kms:eu-west-1:123456789012:alias/aws/kinesis",
	} {
		if err := startEnc(s, "ids", id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		c.Add(time.Second)
		if _, typ, key := describeEnc(t, s, "ids"); typ != "KMS" || key != id {
			t.Fatalf("%s: described %s %q", id, typ, key)
		}
		putOne(t, s, "ids", "pk", id)
	}
	recs := readStream(t, s, "ids", 1)
	if len(recs) != 6 || string(recs[5].Data) != "arn:aws:kms:eu-west-1:123456789012:alias/aws/kinesis" {
		t.Fatalf("read back %d records", len(recs))
	}

	for _, tc := range []struct{ id, msg string }{
		{"99999999-2222-4333-8444-555555555555", "Key 'arn:aws:kms:us-east-1:000000000000:key/99999999-2222-4333-8444-555555555555' does not exist"},
		{"alias/nope", "Alias arn:aws:kms:us-east-1:000000000000:alias/nope is not found."},
		{"arn:aws:kms:eu-west-1:123456789012:alias/nope", "Alias arn:aws:kms:eu-west-1:123456789012:alias/nope is not found."},
		{"arn:aws:kms:eu-west-1:123456789012:key/" + strings.Repeat("0", 8), "Invalid keyId arn:aws:kms:eu-west-1:123456789012:key/00000000"},
		{"not-a-key", "Invalid keyId not-a-key"},
		{"arn:aws:s3:::bucket", "Invalid keyId arn:aws:s3:::bucket"},
	} {
		wantErr(t, startEnc(s, "ids", tc.id), ErrKMSNotFound, tc.msg)
	}
	err := startEnc(s, "ids", "alias/off")
	wantErr(t, err, ErrKMSDisabled, "arn:aws:kms:us-east-1:000000000000:key/"+keyOff+" is disabled.")
	// The stream is told apart before the key: a missing stream is that.
	wantErr(t, startEnc(s, "nope", "alias/nope"), ErrResourceNotFound, "Stream nope under account 000000000000 not found.")
}

// TestEncryptionDisabledKey: a key disabled (or removed) after records
// were sealed with it stops writes and reads with the KMS errors.
func TestEncryptionDisabledKey(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, testKeys(t, true, true))
	mustCreate(t, s, c, "dis", 1)
	putOne(t, s, "dis", "pk", "plain")
	if err := startEnc(s, "dis", "alias/on"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	putOne(t, s, "dis", "pk", "sealed")

	// Restarted with the key disabled in the file.
	off := newKMSService(t, s.be, c, testKeys(t, false, true))
	disabled := "arn:aws:kms:us-east-1:000000000000:key/" + keyOn + " is disabled."
	_, err := off.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("dis"), PartitionKey: ptr("pk"), Data: []byte("x")})
	wantErr(t, err, ErrKMSDisabled, disabled)
	_, err = off.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("dis"), Records: []api.PutRecordsRequestEntry{{PartitionKey: ptr("pk"), Data: []byte("x")}}})
	wantErr(t, err, ErrKMSDisabled, disabled)
	it := iter(t, off, "dis", ShardID(0), api.TrimHorizon, nil, nil)
	_, err = off.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
	wantErr(t, err, ErrKMSDisabled, disabled)
	// Switching to an enabled key works, and new records read back up to
	// the one sealed with the disabled key.
	if err := startEnc(off, "dis", "alias/off"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	putOne(t, off, "dis", "pk", "other-key")
	out, err := off.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it, Limit: ptr(int64(1))})
	if err != nil || len(out.Records) != 1 || string(out.Records[0].Data) != "plain" {
		t.Fatalf("first record: %+v %v", out, err)
	}

	// Restarted without the key at all.
	gone := newKMSService(t, s.be, c, testKeys(t, true, true)[1:])
	_, err = gone.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: out.NextShardIterator})
	wantErr(t, err, ErrKMSNotFound, "Key 'arn:aws:kms:us-east-1:000000000000:key/"+keyOn+"' does not exist")
	// The original service still has both keys.
	recs := readStream(t, s, "dis", 1)
	if len(recs) != 3 || string(recs[1].Data) != "sealed" || string(recs[2].Data) != "other-key" {
		t.Fatalf("read %+v", recs)
	}
}

func TestEncryptionValidation(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, nil)
	long := strings.Repeat("k", 2049)
	for _, tc := range []struct {
		in   api.StartStreamEncryptionInput
		kind error
		msg  string
	}{
		{api.StartStreamEncryptionInput{StreamName: ptr("v")}, ErrValidation,
			"2 validation errors detected: Value null at 'encryptionType' failed to satisfy constraint: Member must not be null; Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{api.StartStreamEncryptionInput{StreamName: ptr("v"), EncryptionType: ptr("AES"), KeyId: ptr("")}, ErrValidation,
			"2 validation errors detected: Value 'AES' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, KMS]; Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{api.StartStreamEncryptionInput{StreamName: ptr("v"), EncryptionType: ptr("KMS"), KeyId: &long}, ErrValidation,
			"1 validation error detected: Value '" + long + "' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{api.StartStreamEncryptionInput{StreamName: ptr("bad name"), EncryptionType: ptr("KMS"), KeyId: ptr("k")}, ErrValidation,
			"1 validation error detected: Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{api.StartStreamEncryptionInput{EncryptionType: ptr("KMS"), KeyId: ptr("k")}, ErrInvalidArgument,
			"Either StreamName or StreamARN should be provided."},
		{api.StartStreamEncryptionInput{StreamName: ptr("v"), EncryptionType: ptr("NONE"), KeyId: ptr("k")}, ErrInvalidArgument,
			"EncryptionType NONE is not supported here. The only valid value is KMS."},
		{api.StartStreamEncryptionInput{StreamName: ptr("v"), EncryptionType: ptr("KMS"), KeyId: ptr(kms.DefaultAlias)}, ErrResourceNotFound,
			"Stream v under account 000000000000 not found."},
	} {
		_, err := s.StartStreamEncryption(ctx, &tc.in)
		wantErr(t, err, tc.kind, tc.msg)
		stop := api.StopStreamEncryptionInput(tc.in)
		_, err = s.StopStreamEncryption(ctx, &stop)
		wantErr(t, err, tc.kind, tc.msg)
	}

	// Not ACTIVE: CREATING.
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("v"), ShardCount: ptr(int64(1))}); err != nil {
		t.Fatal(err)
	}
	notActive := "Stream v under account 000000000000 not ACTIVE, instead in state CREATING"
	wantErr(t, startEnc(s, "v", kms.DefaultAlias), ErrResourceInUse, notActive)
	wantErr(t, stopEnc(s, "v", kms.DefaultAlias), ErrResourceInUse, notActive)
	c.Add(time.Second)
	// Stopping a stream that is not encrypted changes nothing.
	if err := stopEnc(s, "v", "anything"); err != nil {
		t.Fatal(err)
	}
	if status, typ, _ := describeEnc(t, s, "v"); status != "ACTIVE" || typ != "NONE" {
		t.Fatalf("after a stop of nothing: %s %s", status, typ)
	}
	// By ARN.
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/v"
	if _, err := s.StartStreamEncryption(ctx, &api.StartStreamEncryptionInput{StreamARN: &arn, EncryptionType: ptr("KMS"), KeyId: ptr(kms.DefaultAlias)}); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptionLimits: 25 key changes and 25 stops per rolling 24 hours.
func TestEncryptionLimits(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, nil)
	mustCreate(t, s, c, "lim", 1)
	for i := 0; i < maxKeyChangesPerDay; i++ {
		if err := startEnc(s, "lim", kms.DefaultAlias); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		c.Add(time.Second)
		if err := stopEnc(s, "lim", kms.DefaultAlias); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
		c.Add(time.Second)
	}
	wantErr(t, startEnc(s, "lim", kms.DefaultAlias), ErrLimitExceeded,
		"Exceeded the limit of 25 StartStreamEncryption calls in a rolling 24-hour period for stream lim under account 000000000000.")
	c.Add(24 * time.Hour)
	if err := startEnc(s, "lim", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	if err := stopEnc(s, "lim", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)

	// The stops' own allowance.
	c.Add(24 * time.Hour)
	mustCreate(t, s, c, "lim2", 1)
	first := c.Now() // of the starts; the first stop comes a second later
	for i := 0; i < maxEncryptionStopsPerDay; i++ {
		if err := startEnc(s, "lim2", kms.DefaultAlias); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		c.Add(time.Second)
		if err := stopEnc(s, "lim2", kms.DefaultAlias); err != nil {
			t.Fatalf("stop %d: %v", i, err)
		}
		c.Add(time.Second)
	}
	c.Add(first.Add(24 * time.Hour).Sub(c.Now())) // the first start leaves the window, the first stop not yet
	if err := startEnc(s, "lim2", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	c.Add(600 * time.Millisecond) // past UPDATING (500 ms)
	wantErr(t, stopEnc(s, "lim2", kms.DefaultAlias), ErrLimitExceeded,
		"Exceeded the limit of 25 StopStreamEncryption calls in a rolling 24-hour period for stream lim2 under account 000000000000.")

	// Data keys retired longer ago than retention (and an hour) are
	// dropped at the next change; indexes are not reused.
	st, _, err := s.load(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "lim"})
	if err != nil || len(st.DataKeys) != 26 {
		t.Fatalf("stream keeps %d data keys, want 26: %v", len(st.DataKeys), err)
	}
	c.Add(2 * time.Hour)
	if err := startEnc(s, "lim", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	st, _, err = s.load(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "lim"})
	if err != nil || len(st.DataKeys) != 1 || st.DataKeys[0].Index != 27 {
		t.Fatalf("data keys after pruning: %+v, %v", st.DataKeys, err)
	}
}

// TestSealedRecordsStayPut: a sealed record copied into another shard's
// log does not open there (the shard is bound into it).
func TestSealedRecordsStayPut(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, nil)
	mustCreate(t, s, c, "put", 2)
	if err := startEnc(s, "put", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	out := putOne(t, s, "put", "pk", "moving")
	st, _, _ := s.be.Get(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "put"})
	from, to := 0, 1
	if out.ShardId == ShardID(1) {
		from, to = 1, 0
	}
	raw := rawEntries(t, s.be, st, from)
	if _, err := s.be.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: to}, raw); err != nil {
		t.Fatal(err)
	}
	it := iter(t, s, "put", ShardID(to), api.TrimHorizon, nil, nil)
	_, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
	wantErr(t, err, ErrInternal, "a stored record of shard "+ShardID(to)+" does not decrypt")
	// Flipping a byte is caught the same way.
	raw[0].Data[len(raw[0].Data)-1] ^= 1
	if _, err := s.be.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: from}, raw); err != nil {
		t.Fatal(err)
	}
	recs, _, err := readShardAll(s, st, from)
	if err == nil || len(recs) != 0 {
		t.Fatalf("damaged record read: %d records, %v", len(recs), err)
	}
}

func readShardAll(s *Service, st *store.Stream, shard int) ([]api.Record, store.Position, error) {
	res, err := s.readShard(ctx, st, shard, store.Position{}, time.Time{}, 10000, 1<<20)
	return res.Records, res.Next, err
}

// TestSubscriptionCopyPredatesKey: a reader holding stream metadata from
// before encryption started (as a subscription does) finds the new key.
func TestSubscriptionCopyPredatesKey(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, nil)
	mustCreate(t, s, c, "sub", 1)
	old, _, err := s.load(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	if err := startEnc(s, "sub", kms.DefaultAlias); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	secret := make([]byte, 100)
	_, _ = rand.Read(secret)
	if _, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("sub"), PartitionKey: ptr("pk"), Data: secret}); err != nil {
		t.Fatal(err)
	}
	recs, _, err := readShardAll(s, old, 0)
	if err != nil || len(recs) != 1 || !bytes.Equal(recs[0].Data, secret) || recs[0].PartitionKey != "pk" {
		t.Fatalf("read %+v, %v", recs, err)
	}
}

// TestSubscribeEncrypted: a subscription that began before encryption
// receives sealed records decrypted; one whose key is disabled ends with
// a KMSDisabledException event.
func TestSubscribeEncrypted(t *testing.T) {
	c := &clock{t: time.Now()}
	s := newKMSService(t, nil, c, testKeys(t, true, true))
	s.fan.tick = 20 * time.Millisecond
	mustCreate(t, s, c, "fan", 1)
	arn := register(t, s, "fan", "app").ConsumerARN
	c.Add(DefaultConsumerCreateDelay)
	st := subscribe(t, s, arn, ShardID(0), api.TrimHorizon, nil, nil)
	wantInitial(t, st)
	put(t, s, "fan", "k", "clear")
	if recs, _ := st.records(1, hangTimeout); dataOf(recs) != "clear" || recs[0].EncryptionType != nil {
		t.Fatalf("got %+v", recs)
	}
	if err := startEnc(s, "fan", "alias/on"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	put(t, s, "fan", "k2", "sealed")
	recs, _ := st.records(1, hangTimeout)
	if dataOf(recs) != "sealed" || recs[0].PartitionKey != "k2" || recs[0].EncryptionType == nil || *recs[0].EncryptionType != "KMS" {
		t.Fatalf("got %+v", recs)
	}
	st.close()

	off := newKMSService(t, s.be, c, testKeys(t, false, true))
	sub, err := trySubscribe(off, arn, ShardID(0), api.TrimHorizon, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st2 := respond(t, sub, "application/x-amz-json-1.1")
	wantInitial(t, st2)
	if m := st2.ended(hangTimeout); m.kind() != "exception:KMSDisabledException" {
		t.Fatalf("last message %s %s", m.kind(), m.payload)
	}
}

// BenchmarkSeal and BenchmarkOpen time sealing and opening one W1 call's
// records (500 of 1 KiB) alone: the CPU encryption adds to a PutRecords
// or GetRecords, without the noise of the whole path.
func BenchmarkSeal(b *testing.B) {
	z, entries := benchSealer(b)
	work := make([]store.Entry, len(entries))
	b.SetBytes(int64(len(entries) * 1024))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, entries)
		z.seal(work, 0)
	}
}

func BenchmarkOpen(b *testing.B) {
	z, entries := benchSealer(b)
	z.seal(entries, 0)
	sealed := make([][]byte, len(entries))
	for i, e := range entries {
		sealed[i] = bytes.Clone(e.Data)
	}
	o := opener{s: &Service{}, st: &store.Stream{ID: z.streamID}, shard: 0, index: z.index, key: z.key, aad: recordAAD(z.streamID, 0, z.index)}
	b.SetBytes(int64(len(entries) * 1024))
	b.ReportAllocs()
	for b.Loop() {
		for i := range entries {
			e := store.Entry{Data: entries[i].Data, Key: z.index}
			copy(e.Data, sealed[i]) // opening works in place
			if err := o.open(ctx, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchSealer(b *testing.B) (*sealer, []store.Entry) {
	b.Helper()
	ring, err := kms.New(testKeys(b, true, true), nil)
	if err != nil {
		b.Fatal(err)
	}
	master, err := ring.Resolve(ctx, "alias/on", "r", "a")
	if err != nil {
		b.Fatal(err)
	}
	plain, _ := master.GenerateDataKey(nil)
	block, _ := aes.NewCipher(plain)
	aead, _ := cipher.NewGCM(block)
	entries := make([]store.Entry, 500)
	data := bytes.Repeat([]byte{'x'}, 1024)
	for i := range entries {
		entries[i] = store.Entry{PartitionKey: fmt.Sprintf("pk-%d", i), Data: data}
	}
	return &sealer{key: &dataKey{aead: aead, master: master}, index: 1, streamID: "bench"}, entries
}
