package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

const (
	e2eKMSKey = "0b0e2e00-1111-4222-8333-444455556666"
	disKey    = "0b0e2e00-7777-4888-8999-aaaabbbbcccc"
)

// writeKeyRing writes a --kms-keys file: e2eKMSKey (alias/e2e, enabled) and
// disKey (alias/dis, enabled as given).
func writeKeyRing(t *testing.T, path string, material [2][]byte, disEnabled bool) {
	t.Helper()
	body := fmt.Sprintf(`{"keys":[
  {"id":%q,"aliases":["alias/e2e"],"material":%q,"enabled":true},
  {"id":%q,"aliases":["alias/dis"],"material":%q,"enabled":%t}
]}`, e2eKMSKey, base64.StdEncoding.EncodeToString(material[0]), disKey, base64.StdEncoding.EncodeToString(material[1]), disEnabled)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// filesWith lists the files under dir holding any of needles.
func filesWith(t *testing.T, dir string, needles [][]byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				hits = append(hits, fmt.Sprintf("%s holds %q", p, n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

type encRecord struct{ pk, data string }

// putBatch writes records with PutRecords and checks the EncryptionType the
// response reports.
func putBatch(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, recs []encRecord, want types.EncryptionType) {
	t.Helper()
	var entries []types.PutRecordsRequestEntry
	for _, r := range recs {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(r.pk), Data: []byte(r.data)})
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
		t.Fatalf("PutRecords: %v %+v", err, out)
	}
	if out.EncryptionType != want {
		t.Fatalf("PutRecords EncryptionType %q, want %q", out.EncryptionType, want)
	}
}

func distinct(t *testing.T, tag string, n int) []encRecord {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	out := make([]encRecord, n)
	for i := range out {
		out[i] = encRecord{pk: fmt.Sprintf("%sPK-%s-%d", tag, id, i), data: payload(fmt.Sprintf("%sDATA-%s-%d", tag, id, i), 80+i)}
	}
	return out
}

func waitEncryption(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, typ types.EncryptionType, key string) {
	t.Helper()
	waitActive(ctx, t, c, stream)
	for _, d := range []func() (types.EncryptionType, *string, error){
		func() (types.EncryptionType, *string, error) {
			out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
			if err != nil {
				return "", nil, err
			}
			return out.StreamDescriptionSummary.EncryptionType, out.StreamDescriptionSummary.KeyId, nil
		},
		func() (types.EncryptionType, *string, error) {
			out, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
			if err != nil {
				return "", nil, err
			}
			return out.StreamDescription.EncryptionType, out.StreamDescription.KeyId, nil
		},
	} {
		gt, gk, err := d()
		if err != nil || gt != typ || aws.ToString(gk) != key {
			t.Fatalf("%s: EncryptionType %q KeyId %q, want %q %q (%v)", stream, gt, aws.ToString(gk), typ, key, err)
		}
	}
}

// TestEncryptionAtRest: records written while a stream is encrypted are
// nowhere in the data directory, and every record (in the clear before,
// sealed during, in the clear after) reads back byte for byte after a
// restart. Key errors come back as AWS's KMS exceptions.
func TestEncryptionAtRest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keys.json")
	var material [2][]byte
	for i := range material {
		material[i] = make([]byte, 32)
		_, _ = rand.Read(material[i])
	}
	writeKeyRing(t, keys, material, true)
	// UPDATING lasts 2 s, long enough to see it from the SDK.
	opts := serverOptions{dataDir: dataDir, extra: []string{"--kms-keys", keys, "--reshard-delay", "2s"}}
	s := startServer(t, opts)
	c := s.kinesis()
	const stream, dis = "Enc", "Dis"
	createStream(ctx, t, c, stream, 2)
	createStream(ctx, t, c, dis, 1)

	before := distinct(t, "PLAINBEFORE", 30)
	putBatch(ctx, t, c, stream, before, types.EncryptionTypeNone)

	awsJSON(ctx, t, s, nil, "kinesis", "start-stream-encryption", "--stream-name", stream, "--encryption-type", "KMS", "--key-id", "alias/e2e")
	_, err := c.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String(stream), EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/e2e")})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second StartStreamEncryption while UPDATING: %v", err)
	}
	waitEncryption(ctx, t, c, stream, types.EncryptionTypeKms, "alias/e2e")

	during := distinct(t, "SECRET", 60)
	putBatch(ctx, t, c, stream, during[:50], types.EncryptionTypeKms)
	for _, r := range during[50:] {
		var out struct{ ShardId, SequenceNumber, EncryptionType string }
		awsJSON(ctx, t, s, &out, "kinesis", "put-record", "--stream-name", stream, "--partition-key", r.pk,
			"--data", base64.StdEncoding.EncodeToString([]byte(r.data)))
		if out.EncryptionType != "KMS" {
			t.Fatalf("put-record EncryptionType %q", out.EncryptionType)
		}
	}

	awsJSON(ctx, t, s, nil, "kinesis", "stop-stream-encryption", "--stream-name", stream, "--encryption-type", "KMS", "--key-id", "alias/e2e")
	waitEncryption(ctx, t, c, stream, types.EncryptionTypeNone, "")
	after := distinct(t, "PLAINAFTER", 30)
	putBatch(ctx, t, c, stream, after, types.EncryptionTypeNone)

	// Key errors, through the AWS CLI; the stream must be ACTIVE for them
	// to show, so the good key comes last.
	for _, tc := range []struct{ key, want string }{
		{"alias/none", "KMSNotFoundException"},
		{"0b0e2e00-0000-4000-8000-000000000000", "KMSNotFoundException"},
		{"arn:aws:kms:us-east-1:000000000000:key/" + disKey, ""}, // enabled for now
	} {
		_, stderr, code := awsRun(ctx, t, s, "kinesis", "start-stream-encryption", "--stream-name", dis, "--encryption-type", "KMS", "--key-id", tc.key)
		if tc.want == "" {
			if code != 0 {
				t.Fatalf("start with %s: %s", tc.key, stderr)
			}
			continue
		}
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Fatalf("start with %s: exit %d, stderr %s; want %s", tc.key, code, stderr, tc.want)
		}
	}
	waitEncryption(ctx, t, c, dis, types.EncryptionTypeKms, "arn:aws:kms:us-east-1:000000000000:key/"+disKey)
	disRecs := distinct(t, "DISSECRET", 5)
	putBatch(ctx, t, c, dis, disRecs, types.EncryptionTypeKms)
	s.stop(t)

	var needles [][]byte
	for _, r := range append(append([]encRecord{}, during...), disRecs...) {
		needles = append(needles, []byte(r.data[:strings.IndexByte(r.data, '|')]), []byte(r.pk))
	}
	if hits := filesWith(t, dataDir, needles); len(hits) > 0 {
		t.Fatalf("sealed records found in the data directory:\n%s", strings.Join(hits, "\n"))
	}
	// The search itself works: the records in the clear are found.
	if hits := filesWith(t, dataDir, [][]byte{[]byte(before[0].pk), []byte(after[0].pk)}); len(hits) < 2 {
		t.Fatalf("records in the clear not found in the data directory: %v", hits)
	}

	// Restart with alias/dis disabled in the key ring.
	writeKeyRing(t, keys, material, false)
	s2 := startServer(t, opts)
	c2 := s2.kinesis()
	waitActive(ctx, t, c2, stream)
	read := readAll(ctx, t, c2, stream)
	want := map[string]string{}
	for _, r := range append(append(append([]encRecord{}, before...), during...), after...) {
		want[r.pk] = r.data
	}
	if len(read) != len(want) {
		t.Fatalf("read %d records, wrote %d", len(read), len(want))
	}
	for _, r := range read {
		if d, ok := want[r.PartitionKey]; !ok || d != r.Data {
			t.Fatalf("record %s read back as %q, want %q", r.PartitionKey, r.Data, d)
		}
		delete(want, r.PartitionKey)
	}
	// And through the AWS CLI: a sealed record's bytes, base64 on the wire.
	var it struct{ ShardIterator string }
	awsJSON(ctx, t, s2, &it, "kinesis", "get-shard-iterator", "--stream-name", stream, "--shard-id", "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON")
	var got struct {
		Records []struct{ PartitionKey, Data, EncryptionType string }
	}
	awsJSON(ctx, t, s2, &got, "kinesis", "get-records", "--shard-iterator", it.ShardIterator)
	sealed := 0
	for _, r := range got.Records {
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(r.PartitionKey, "SECRET") {
			sealed++
			if r.EncryptionType != "KMS" {
				t.Errorf("sealed record %s: EncryptionType %q", r.PartitionKey, r.EncryptionType)
			}
		}
		for _, w := range [][]encRecord{before, during, after} {
			for _, x := range w {
				if x.pk == r.PartitionKey && x.data != string(data) {
					t.Fatalf("CLI read %s as %q", r.PartitionKey, data)
				}
			}
		}
	}
	if sealed == 0 {
		t.Fatalf("no sealed record on shard 0 through the CLI (%d records)", len(got.Records))
	}

	// The disabled key stops writes to, and reads from, its stream.
	_, stderr, code := awsRun(ctx, t, s2, "kinesis", "put-record", "--stream-name", dis, "--partition-key", "k", "--data", "AAAA")
	if code == 0 || !strings.Contains(stderr, "KMSDisabledException") {
		t.Fatalf("put-record with the key disabled: exit %d, %s", code, stderr)
	}
	_, err = c2.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(dis), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
	var disabled *types.KMSDisabledException
	if !errors.As(err, &disabled) {
		t.Fatalf("PutRecords with the key disabled: %v", err)
	}
	s2.stop(t)
}

// TestStoreEncryptionFlag: with --nats-store-key nothing of a record is in
// the data directory, whatever the stream's own encryption; the directory
// restarts with the key and the server refuses it without.
func TestStoreEncryptionFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "store.key")
	if err := os.WriteFile(keyFile, []byte("an e2e store key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := serverOptions{dataDir: dataDir, extra: []string{"--nats-store-key", "@" + keyFile}}
	s := startServer(t, opts)
	c := s.kinesis()
	const stream = "StoreEncryptedStreamName"
	createStream(ctx, t, c, stream, 1)
	recs := distinct(t, "DISKPLAIN", 20)
	putBatch(ctx, t, c, stream, recs, types.EncryptionTypeNone)
	s.stop(t)
	var needles [][]byte
	for _, r := range recs {
		needles = append(needles, []byte(r.pk), []byte(r.data[:strings.IndexByte(r.data, '|')]))
	}
	if hits := filesWith(t, dataDir, append(needles, []byte(stream))); len(hits) > 0 {
		t.Fatalf("plaintext in the data directory:\n%s", strings.Join(hits, "\n"))
	}

	// Without the key: a clear refusal, not an empty server.
	cmd := exec.CommandContext(ctx, rivuletBinary(t), "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--nats-store-key") {
		t.Fatalf("start without the key: %v\n%s", err, out)
	}

	s2 := startServer(t, opts)
	read := readAll(ctx, t, s2.kinesis(), stream)
	if len(read) != len(recs) {
		t.Fatalf("read %d of %d records", len(read), len(recs))
	}
	for i, r := range read {
		if r.PartitionKey != recs[i].pk || r.Data != recs[i].data {
			t.Fatalf("record %d: %q/%q", i, r.PartitionKey, r.Data)
		}
	}
	s2.stop(t)
}
