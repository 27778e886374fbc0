package delivery

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/local"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/natsstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait for an outcome: only a hang reaches it.
const patience = time.Minute

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openStore opens an in-memory embedded NATS store; with server set, it
// attaches to that store's server instead, as another process would.
func openStore(t *testing.T, server *natsstore.Store) *natsstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cfg := natsstore.Config{InMemory: true, Logger: quietLogger()}
	if server != nil {
		cfg = natsstore.Config{Server: server.Server(), Logger: quietLogger()}
	}
	s, err := natsstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("natsstore.Open: %v", err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { _ = s.Close() }) })
	return s
}

func newObjects(t *testing.T) *local.Store {
	t.Helper()
	o, err := local.New(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	return o
}

func ptr[T any](v T) *T { return &v }

// s3Stream is a DirectPut delivery stream to bucket "dest".
func s3Stream(name string, size, interval int32) *model.DeliveryStream {
	return &model.DeliveryStream{
		Account: "123456789012", Region: "us-east-1", Name: name, ID: "id-" + name,
		Type: model.TypeDirectPut, Status: model.StatusActive, VersionID: 1,
		DestinationID: "destinationId-000000000001",
		Destination: model.Destination{ExtendedS3: &model.ExtendedS3DestinationConfiguration{
			BucketARN:      ptr("arn:aws:s3:::dest"),
			BufferingHints: &model.BufferingHints{SizeInMBs: ptr(size), IntervalInSeconds: ptr(interval)},
		}},
	}
}

// createStream creates the buffer log and the stored record, as the API
// does.
func createStream(t *testing.T, st *natsstore.Store, ds *model.DeliveryStream) {
	t.Helper()
	ctx := context.Background()
	ref := store.ShardRef{StreamID: store.BufferLogPrefix + ds.ID}
	if err := st.CreateShard(ctx, ref, 24*time.Hour, store.ShardSpec{}); err != nil {
		t.Fatalf("CreateShard: %v", err)
	}
	raw, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	key := store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}
	if _, err := st.PutResource(ctx, store.KindDeliveryStream, key, raw, 0); err != nil {
		t.Fatalf("PutResource: %v", err)
	}
}

// putRecords appends records to the buffer log in one call.
func putRecords(t *testing.T, st *natsstore.Store, ds *model.DeliveryStream, data ...string) {
	t.Helper()
	ents := make([]store.Entry, len(data))
	for i, d := range data {
		ents[i] = store.Entry{Data: []byte(d)}
	}
	ref := store.ShardRef{StreamID: store.BufferLogPrefix + ds.ID}
	if _, err := st.Append(context.Background(), ref, ents); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// testEngine is a running engine.
type testEngine struct {
	e    *Engine
	stop func()
}

// startEngine runs an engine with short periods until the test ends or
// stop is called.
func startEngine(t *testing.T, st Storage, objs dest.ObjectStore, owner string) *testEngine {
	t.Helper()
	e := New(Config{
		Store: st, Objects: objs, Owner: owner,
		LeaseTTL: 3 * time.Second, Scan: 50 * time.Millisecond,
		Logger: quietLogger().With("owner", owner),
	})
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
	return &testEngine{e: e, stop: stop}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func list(t *testing.T, o *local.Store, bucket, prefix string) []string {
	t.Helper()
	keys, err := o.List(context.Background(), bucket, prefix)
	if err != nil && !errors.Is(err, dest.ErrNotFound) {
		t.Fatalf("List: %v", err)
	}
	return keys
}

func get(t *testing.T, o *local.Store, bucket, key string) []byte {
	t.Helper()
	b, err := o.Get(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	if strings.HasSuffix(key, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip %s: %v", key, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gunzip %s: %v", key, err)
		}
	}
	return b
}

// lines returns the newline-terminated records of every object under
// prefix, sorted.
func lines(t *testing.T, o *local.Store, bucket, prefix string) []string {
	t.Helper()
	var out []string
	for _, k := range list(t, o, bucket, prefix) {
		for _, l := range strings.SplitAfter(string(get(t, o, bucket, k)), "\n") {
			if l != "" {
				out = append(out, strings.TrimSuffix(l, "\n"))
			}
		}
	}
	sort.Strings(out)
	return out
}

func recs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "\n"
	}
	return out
}
