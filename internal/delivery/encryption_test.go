package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/dest/local"
	"github.com/rivulet/rivulet/internal/firehose"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/natsstore"
)

const cmkID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// keyRing is a ring over st with alias/orders, enabled as given; every
// ring over one store shares the built-in key, as processes do.
func keyRing(t *testing.T, st *natsstore.Store, enabled bool) *kms.Ring {
	t.Helper()
	r, err := kms.New([]kms.FileKey{{ID: cmkID, Aliases: []string{"alias/orders"},
		Material: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, kms.KeySize)), Enabled: &enabled}}, st)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// logWatch is a log sink a test can search.
type logWatch struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *logWatch) has(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Contains(w.buf.String(), s)
}

// startKMSEngine is startEngine with a key ring and, optionally, a log
// to watch.
func startKMSEngine(t *testing.T, st Storage, objs *local.Store, owner string, ring *kms.Ring, logs io.Writer) func() {
	t.Helper()
	logger := quietLogger().With("owner", owner)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	e := New(Config{Store: st, Objects: objs, Owner: owner, LeaseTTL: 3 * time.Second, Scan: 50 * time.Millisecond, Logger: logger, KMS: ring})
	e.retryBase, e.retryMax = 20*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// apiStream creates a DirectPut stream to bucket "dest" through the
// Firehose API, flushing on every read.
func apiStream(t *testing.T, svc *firehose.Service, name string, enc *model.DeliveryStreamEncryptionConfigurationInput) {
	t.Helper()
	_, err := svc.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: ptr(name),
		ExtendedS3DestinationConfiguration: &model.ExtendedS3DestinationConfiguration{
			RoleARN: ptr("arn:aws:iam::000000000000:role/r"), BucketARN: ptr("arn:aws:s3:::dest"),
			BufferingHints: &model.BufferingHints{SizeInMBs: ptr(int32(1)), IntervalInSeconds: ptr(int32(0))},
		},
		DeliveryStreamEncryptionConfigurationInput: enc,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// apiPut puts records in one PutRecordBatch and reports Encrypted.
func apiPut(t *testing.T, svc *firehose.Service, name string, data ...string) bool {
	t.Helper()
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: ptr(name)}
	for _, d := range data {
		in.Records = append(in.Records, firehose.Record{Data: []byte(d + "\n")})
	}
	out, err := svc.PutRecordBatch(context.Background(), in)
	if err != nil || out.FailedPutCount != 0 {
		t.Fatalf("PutRecordBatch: %v %+v", err, out)
	}
	return out.Encrypted
}

// rawLog reads a stream's buffer log as stored.
func rawLog(t *testing.T, st *natsstore.Store, name string) []store.Entry {
	t.Helper()
	ctx := context.Background()
	raw, _, err := st.GetResource(ctx, store.KindDeliveryStream, store.TableKey{Account: "000000000000", Region: "us-east-1", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var ds model.DeliveryStream
	if err := json.Unmarshal(raw, &ds); err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Read(ctx, firehose.BufferLog(ds.ID), 0, 1000, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Entry
	for _, m := range msgs {
		out = append(out, m.Entries...)
	}
	return out
}

func TestEncryptedRecordsDelivered(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	svc := firehose.New(st, firehose.Config{KMS: keyRing(t, st, true)})
	ctx := context.Background()
	apiStream(t, svc, "sse", nil)
	if apiPut(t, svc, "sse", "clear-1") {
		t.Fatal("Encrypted before encryption started")
	}
	if _, err := svc.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: ptr("sse")}); err != nil {
		t.Fatal(err)
	}
	if !apiPut(t, svc, "sse", "secret-2", "secret-3") {
		t.Fatal("not Encrypted with encryption ENABLED")
	}
	// Another key, then off: every record stays deliverable.
	if _, err := svc.StartDeliveryStreamEncryption(ctx, &firehose.StartDeliveryStreamEncryptionInput{DeliveryStreamName: ptr("sse"),
		DeliveryStreamEncryptionConfigurationInput: &model.DeliveryStreamEncryptionConfigurationInput{KeyType: "CUSTOMER_MANAGED_CMK",
			KeyARN: ptr("arn:aws:kms:us-east-1:000000000000:alias/orders")}}); err != nil {
		t.Fatal(err)
	}
	apiPut(t, svc, "sse", "secret-4")
	if _, err := svc.StopDeliveryStreamEncryption(ctx, &firehose.StopDeliveryStreamEncryptionInput{DeliveryStreamName: ptr("sse")}); err != nil {
		t.Fatal(err)
	}
	if apiPut(t, svc, "sse", "clear-5") {
		t.Fatal("Encrypted after encryption stopped")
	}

	// NATS holds the sealed records' ciphertext only.
	var keys []uint32
	for _, en := range rawLog(t, st, "sse") {
		keys = append(keys, en.Key)
		if sealed := en.Key != 0; sealed == strings.HasPrefix(string(en.Data), "clear-") || bytes.Contains(en.Data, []byte("secret")) {
			t.Fatalf("stored entry %+v", en)
		}
	}
	if !slices.Equal(keys, []uint32{0, 1, 1, 2, 0}) {
		t.Fatalf("stored data keys %v", keys)
	}

	// Another process (its own ring over the same storage) delivers the
	// plaintext.
	startKMSEngine(t, openStore(t, st), objs, "a", keyRing(t, st, true), nil)
	want := []string{"clear-1", "clear-5", "secret-2", "secret-3", "secret-4"}
	waitFor(t, "every record", func() bool { return len(lines(t, objs, "dest", "")) >= len(want) })
	if got := lines(t, objs, "dest", ""); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}

func TestSealedRecordWaitsForItsKey(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	svc := firehose.New(st, firehose.Config{KMS: keyRing(t, st, true)})
	apiStream(t, svc, "wait", &model.DeliveryStreamEncryptionConfigurationInput{KeyType: "CUSTOMER_MANAGED_CMK",
		KeyARN: ptr("arn:aws:kms:us-east-1:000000000000:key/" + cmkID)})
	if !apiPut(t, svc, "wait", "secret-1", "secret-2") {
		t.Fatal("not Encrypted")
	}

	// This process has the key disabled: it refuses to deliver, and says
	// why.
	var logs logWatch
	stop := startKMSEngine(t, st, objs, "a", keyRing(t, st, false), &logs)
	waitFor(t, "the refusal in the log", func() bool { return logs.has("does not open") && logs.has("is disabled") })
	stop()
	if got := lines(t, objs, "dest", ""); len(got) != 0 {
		t.Fatalf("delivered %q with the key disabled", got)
	}
	// Without a key ring, the same.
	var logsB logWatch
	stop = startKMSEngine(t, st, objs, "b", nil, &logsB)
	waitFor(t, "the refusal in the log", func() bool { return logsB.has("no key ring") })
	stop()

	// With the key enabled again, nothing was lost.
	startKMSEngine(t, st, objs, "c", keyRing(t, st, true), nil)
	want := []string{"secret-1", "secret-2"}
	waitFor(t, "the records", func() bool { return len(lines(t, objs, "dest", "")) >= len(want) })
	if got := lines(t, objs, "dest", ""); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}
