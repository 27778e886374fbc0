package natsstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestMetricsContractEmbeddedFile(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) store.Metrics { return mustOpen(t, Config{DataDir: t.TempDir()}) })
}

func TestMetricsContractEmbeddedMemory(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) store.Metrics { return mustOpen(t, Config{InMemory: true}) })
}

// The suite through a second Store that reaches the server over TCP, as
// another process would.
func TestMetricsContractTwoProcesses(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) store.Metrics {
		a := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0"})
		return mustOpen(t, Config{URL: a.ClientURL(), InMemory: true})
	})
}

const (
	tAccount = "123456789012"
	tRegion  = "us-east-1"
)

func tDatum(stream, metric string, minute time.Time, sum float64) store.MetricDatum {
	return store.MetricDatum{Account: tAccount, Region: tRegion, Namespace: "AWS/Kinesis", Metric: metric,
		Dimensions: []store.Dimension{{Name: "StreamName", Value: stream}}, Unit: "Count",
		Minute: minute, SampleCount: 1, Sum: sum, Min: sum, Max: sum}
}

func tQuery(from, to time.Time) store.MetricQuery {
	return store.MetricQuery{Account: tAccount, Region: tRegion, Namespace: "AWS/Kinesis", From: from, To: to}
}

func readMetrics(t *testing.T, s *Store, q store.MetricQuery) []store.MetricDatum {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	ds, err := s.ReadMetrics(ctx, q)
	if err != nil {
		t.Fatalf("ReadMetrics: %v", err)
	}
	return ds
}

func putMetrics(t *testing.T, s *Store, ds ...store.MetricDatum) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := s.PutMetrics(ctx, ds); err != nil {
		t.Fatalf("PutMetrics: %v", err)
	}
}

func metricsInfo(t *testing.T, s *Store, opts ...jetstream.StreamInfoOpt) *jetstream.StreamInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	st, err := s.js.Stream(ctx, metricsStream)
	if err != nil {
		t.Fatalf("metrics stream: %v", err)
	}
	info, err := st.Info(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Stores on one NATS, attached in-process and over TCP, all see every
// writer's datums, which merge into one statistic set.
func TestMetricsSharedNATS(t *testing.T) {
	a := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0"})
	b := mustOpen(t, Config{Server: a.Server(), InMemory: true})
	c := mustOpen(t, Config{URL: a.ClientURL(), InMemory: true})
	minute := time.Now().UTC().Truncate(time.Minute)
	for i, s := range []*Store{a, b, c} {
		putMetrics(t, s, tDatum("shared", "IncomingRecords", minute, float64(i+1)))
	}
	for _, s := range []*Store{a, b, c} {
		got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute)))
		var sum store.MetricDatum
		for _, d := range got {
			store.MergeDatum(&sum, d)
		}
		if len(got) != 3 || sum.SampleCount != 3 || sum.Sum != 6 || sum.Min != 1 || sum.Max != 3 {
			t.Errorf("read %d datums merging into %+v; want 3 with n=3 sum=6 min=1 max=3", len(got), sum)
		}
	}
}

// A short MetricRetention becomes the stream's MaxAge, and JetStream
// expires old datums by itself.
func TestMetricsRetention(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true, MetricRetention: time.Second})
	if got := metricsInfo(t, s).Config.MaxAge; got != time.Second {
		t.Fatalf("MaxAge %v, want 1s", got)
	}
	minute := time.Now().UTC().Truncate(time.Minute)
	putMetrics(t, s, tDatum("short", "IncomingRecords", minute, 1))
	for deadline := time.Now().Add(hangTimeout); ; time.Sleep(50 * time.Millisecond) {
		if len(readMetrics(t, s, tQuery(minute, minute.Add(time.Minute)))) == 0 && metricsInfo(t, s).State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("datums outlived a 1s retention")
		}
	}
}

// Datums survive a restart of a file store; a retention given at Open
// is applied to the existing stream, and none given (rivulet check and
// recover) leaves it as it is.
func TestMetricsReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	minute := time.Now().UTC().Truncate(time.Minute)
	want := []store.MetricDatum{tDatum("durable", "IncomingBytes", minute, 42)}
	open := func(retention time.Duration) *Store {
		t.Helper()
		s, err := Open(ctx, Config{DataDir: dir, MetricRetention: retention})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(0)
	if got := metricsInfo(t, s); got.Config.MaxAge != defaultMetricRetention || got.Config.Storage != jetstream.FileStorage {
		t.Errorf("new stream: MaxAge %v, storage %v; want 24h, file", got.Config.MaxAge, got.Config.Storage)
	}
	putMetrics(t, s, want...)
	s.Close()

	s = open(48 * time.Hour)
	if got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute))); !reflect.DeepEqual(got, want) {
		t.Errorf("after a restart: %+v, want %+v", got, want)
	}
	if got := metricsInfo(t, s).Config.MaxAge; got != 48*time.Hour {
		t.Errorf("MaxAge %v after opening with 48h", got)
	}
	s.Close()

	s = open(0)
	defer s.Close()
	if got := metricsInfo(t, s).Config.MaxAge; got != 48*time.Hour {
		t.Errorf("MaxAge %v after opening with no retention, want 48h kept", got)
	}
	if got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute))); !reflect.DeepEqual(got, want) {
		t.Errorf("after a second restart: %+v, want %+v", got, want)
	}
}

// The layout of docs/format/metrics.md: one stream, memory storage with
// InMemory, and one message per (account, region, namespace, stream) and
// call, on that stream's subject.
func TestMetricsLayout(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	cfg := metricsInfo(t, s).Config
	if cfg.Name != "rivulet-metrics" || !slices.Equal(cfg.Subjects, []string{"kdsm.>"}) || cfg.Storage != jetstream.MemoryStorage ||
		cfg.Replicas != 1 || cfg.MaxAge != 24*time.Hour || !cfg.AllowDirect || cfg.Discard != jetstream.DiscardOld {
		t.Errorf("metrics stream config %+v", cfg)
	}
	minute := time.Now().UTC().Truncate(time.Minute)
	var ds []store.MetricDatum
	wantSubjects := map[string]uint64{}
	for i := range 200 {
		d := tDatum(fmt.Sprintf("s%d", i%10), fmt.Sprintf("m%d", i/20), minute, float64(i))
		if i%2 == 1 {
			d.Namespace = "AWS/Firehose"
			d.Dimensions[0].Name = "DeliveryStreamName"
		}
		ds = append(ds, d)
		wantSubjects[metricsSubject(d.Account, d.Region, d.Namespace, d.Dimensions[0].Value)] = 1
	}
	putMetrics(t, s, ds...)
	info := metricsInfo(t, s, jetstream.WithSubjectFilter("kdsm.>"))
	if info.State.Msgs != 10 || !reflect.DeepEqual(info.State.Subjects, wantSubjects) {
		t.Errorf("one call stored %d messages on %v; want 10 on %v", info.State.Msgs, info.State.Subjects, wantSubjects)
	}
	if sub := metricsSubject(tAccount, tRegion, "AWS/Kinesis", "orders"); sub != "kdsm.123456789012.us-east-1.QVdTL0tpbmVzaXM.b3JkZXJz" {
		t.Errorf("subject %s", sub)
	}
}

// The metrics stream is no shard log, stream record or backup member:
// check and recover find nothing to say about it, and a backup leaves it
// out (its datums are a day's statistics, not data).
func TestMetricsLeaveMachineryAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	dir := t.TempDir()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.ShardRef{StreamID: "logs", Shard: 0}
	key := store.StreamKey{Account: tAccount, Region: tRegion, Name: "logs"}
	if _, err := s.Put(ctx, &store.Stream{Key: key, ID: "logs", Status: "ACTIVE",
		Shards: []store.Shard{{Index: 0, StartHash: "0", EndHash: "340282366920938463463374607431768211455"}}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateShard(ctx, ref, time.Hour, store.ShardSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, ref, []store.Entry{{PartitionKey: "k", Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	minute := time.Now().UTC().Truncate(time.Minute)
	putMetrics(t, s, tDatum("logs", "IncomingRecords", minute, 1))
	rep, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Damage) != 0 || len(rep.Shards) != 1 || rep.Shards[0].StreamID != "logs" {
		t.Errorf("check: %+v", rep)
	}
	acts, err := s.Recover(ctx)
	if err != nil || len(acts) != 0 {
		t.Errorf("recover: %+v, %v", acts, err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	m, err := s.Backup(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range m.Streams {
		if bs.Name == metricsStream {
			t.Errorf("backup holds %s", metricsStream)
		}
	}
	s.Close()

	// The owner's start-up check sees the metrics stream too.
	s = mustOpen(t, Config{DataDir: dir})
	if d := s.Damage(); len(d) != 0 {
		t.Errorf("start-up check: %+v", d)
	}
	if got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute))); len(got) != 1 {
		t.Errorf("read %d datums after reopening", len(got))
	}

	// A restore target that holds only a metrics stream counts as empty:
	// the restore neither needs nor brings one.
	fresh := t.TempDir()
	raw, err := OpenRaw(ctx, Config{DataDir: fresh})
	if err != nil {
		t.Fatal(err)
	}
	raw.openMetrics(ctx, 0)
	metricsInfo(t, raw)
	if _, err := raw.Restore(ctx, backup); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r := mustOpen(t, Config{DataDir: fresh})
	if got := readMetrics(t, r, tQuery(minute, minute.Add(time.Minute))); len(got) != 0 {
		t.Errorf("restored store reads %d datums, want none", len(got))
	}
	putMetrics(t, r, tDatum("logs", "IncomingRecords", minute, 1))
	if got := readMetrics(t, r, tQuery(minute, minute.Add(time.Minute))); len(got) != 1 {
		t.Errorf("restored store reads %d datums after a put, want 1", len(got))
	}
	if d := r.Damage(); len(d) != 0 {
		t.Errorf("restored store's start-up check: %+v", d)
	}
}

// bigPut is one stream's datums, about 100 KiB encoded.
func bigPut(n int) []store.MetricDatum {
	minute := time.Now().UTC().Truncate(time.Minute)
	ds := make([]store.MetricDatum, 5000)
	for i := range ds {
		ds[i] = tDatum("full", fmt.Sprintf("metric-%d-%d", n, i), minute, float64(i)+0.123)
	}
	return ds
}

// fillWithMetrics puts metrics until a put fails, which must be with
// store.ErrFull.
func fillWithMetrics(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for i, deadline := 0, time.Now().Add(hangTimeout); time.Now().Before(deadline); i++ {
		err := s.PutMetrics(ctx, bigPut(i))
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrFull) {
			t.Fatalf("PutMetrics on a filling store: %v", err)
		}
		return
	}
	t.Fatalf("a store capped at %d bytes still takes metrics", testCap)
}

// Metrics stop at the record limit, so the reserve still takes metadata;
// with only JetStream's own limit left, its refusal is store.ErrFull too.
func TestMetricsFull(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, Config{DataDir: t.TempDir(), MaxStorage: testCap})
	fillWithMetrics(t, s)
	if !s.Full() {
		t.Error("Full is false after a refused metrics write")
	}
	st := &store.Stream{Key: store.StreamKey{Account: "a", Region: "r", Name: "meta"}, ID: "m"}
	if _, err := s.Put(ctx, st, 0); err != nil {
		t.Errorf("metadata Put after metrics filled the store: %v", err)
	}
	if _, err := s.ReadMetrics(ctx, tQuery(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))); err != nil {
		t.Errorf("ReadMetrics on a full store: %v", err)
	}

	hard := mustOpen(t, Config{DataDir: t.TempDir(), MaxStorage: testCap})
	hard.quota.usage = nil // only JetStream's limit is left
	fillWithMetrics(t, hard)
}

// A metrics stream deleted behind the Store's back reads as empty and is
// made again by the next put.
func TestMetricsStreamRecreated(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := s.js.DeleteStream(ctx, metricsStream); err != nil {
		t.Fatal(err)
	}
	minute := time.Now().UTC().Truncate(time.Minute)
	q := tQuery(minute, minute.Add(time.Minute))
	if got := readMetrics(t, s, q); len(got) != 0 {
		t.Fatalf("read %d datums from no stream", len(got))
	}
	putMetrics(t, s, tDatum("again", "IncomingRecords", minute, 1))
	if got := readMetrics(t, s, q); len(got) != 1 {
		t.Errorf("read %d datums after the put, want 1", len(got))
	}
}

func TestMetricsClosed(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	s.Close()
	minute := time.Now().UTC().Truncate(time.Minute)
	if err := s.PutMetrics(context.Background(), []store.MetricDatum{tDatum("s", "IncomingRecords", minute, 1)}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutMetrics after Close: %v", err)
	}
	if _, err := s.ReadMetrics(context.Background(), tQuery(minute, minute.Add(time.Minute))); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ReadMetrics after Close: %v", err)
	}
}

// A message that does not decode is skipped, not fatal to the read.
func TestMetricsCorruptMessageSkipped(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	minute := time.Now().UTC().Truncate(time.Minute)
	putMetrics(t, s, tDatum("s", "IncomingRecords", minute, 1))
	if _, err := s.js.Publish(ctx, metricsSubject(tAccount, tRegion, "AWS/Kinesis", "s"), []byte{1, 0xff}); err != nil {
		t.Fatal(err)
	}
	putMetrics(t, s, tDatum("s", "IncomingRecords", minute, 2))
	if got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute))); len(got) != 2 {
		t.Errorf("read %d datums around a corrupt message, want 2", len(got))
	}
}

// A long read crosses several direct-get batches.
func TestMetricsReadBatches(t *testing.T) {
	s := mustOpen(t, Config{InMemory: true})
	minute := time.Now().UTC().Truncate(time.Minute)
	for i := range 3*readBatch + 7 {
		// One stream per datum: one message each.
		putMetrics(t, s, tDatum(fmt.Sprintf("s%d", i), "IncomingRecords", minute, float64(i)))
	}
	if got := readMetrics(t, s, tQuery(minute, minute.Add(time.Minute))); len(got) != 3*readBatch+7 {
		t.Errorf("read %d datums, want %d", len(got), 3*readBatch+7)
	}
}

func docDatums() []store.MetricDatum {
	minute := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	a := tDatum("s", "IncomingRecords", minute, 10)
	a.SampleCount, a.Min, a.Max = 2, 4, 6
	b := tDatum("s", "IncomingBytes", minute, 1024)
	b.Unit, b.SampleCount, b.Min, b.Max = "Bytes", 2, 512, 512
	return []store.MetricDatum{a, b}
}

// The example of docs/format/metrics.md.
func TestMetricsDocExample(t *testing.T) {
	msgs, err := encodeMetricMsgs(docDatums(), metricsMsgTarget)
	if err != nil {
		t.Fatal(err)
	}
	const want = "01" + // version 1
		"000c313233343536373839303132" + // "123456789012" (string 1)
		"000975732d656173742d31" + // "us-east-1" (2)
		"000b4157532f4b696e65736973" + // "AWS/Kinesis" (3)
		"02" + // 2 datums
		"000f496e636f6d696e675265636f726473" + // "IncomingRecords" (4)
		"01" + "000a53747265616d4e616d65" + "000173" + // 1 dimension: "StreamName" (5) = "s" (6)
		"0005436f756e74" + // "Count" (7)
		"80d08fa59863" + // minute +1704067200000 ms
		"40" + "c048" + "c020" + "c030" + // n=2 sum=10 min=4 max=6
		"000d496e636f6d696e674279746573" + // "IncomingBytes" (8)
		"01" + "05" + "06" + // 1 dimension: string 5 = string 6
		"00054279746573" + // "Bytes" (9)
		"00" + // same minute
		"40" + "c0a002" + "c08002" + "c08002" // n=2 sum=1024 min=512 max=512
	if len(msgs) != 1 || msgs[0].subject != "kdsm.123456789012.us-east-1.QVdTL0tpbmVzaXM.cw" {
		t.Fatalf("messages %+v", msgs)
	}
	if got := hex.EncodeToString(msgs[0].data); got != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
}

// Messages split at the target size, and decode to what was put.
func TestMetricsSplit(t *testing.T) {
	minute := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ds []store.MetricDatum
	for i := range 500 {
		ds = append(ds, tDatum("s", fmt.Sprintf("metric-%d", i), minute.Add(time.Duration(i%7)*time.Minute), float64(i)/3))
	}
	msgs, err := encodeMetricMsgs(ds, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 5 {
		t.Fatalf("%d messages for ~10 KB at a 1000-byte target", len(msgs))
	}
	var got []store.MetricDatum
	for _, m := range msgs {
		if len(m.data) > 1100 {
			t.Errorf("message of %d bytes", len(m.data))
		}
		part, err := decodeMetrics(m.data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, part...)
	}
	if !reflect.DeepEqual(got, ds) {
		t.Error("split messages do not decode to the datums put")
	}
}

func FuzzDecodeMetrics(f *testing.F) {
	msgs, _ := encodeMetricMsgs(docDatums(), metricsMsgTarget)
	f.Add(msgs[0].data)
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Add([]byte{1, 0, 1, 'a', 1, 1, 0, 0})                                  // refs
	f.Add([]byte{1, 0, 1, 'a', 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})          // huge count
	f.Add([]byte{1, 0, 1, 'a', 1, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})    // huge dimension count
	f.Add([]byte{1, 0, 1, 'a', 1, 1, 1, 5, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 9}) // bad ref, trailing
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := decodeMetrics(data)
		if err != nil {
			if !errors.Is(err, errMetricsCorrupt) {
				t.Fatalf("error %v is not errMetricsCorrupt", err)
			}
			return
		}
		if len(ds) == 0 {
			return
		}
		// What decodes re-encodes to what decodes the same (compared as
		// text: NaN is not equal to itself).
		e := newMetricsEncoder(ds[0].Account, ds[0].Region, ds[0].Namespace)
		for i := range ds {
			e.add(&ds[i])
		}
		again, err := decodeMetrics(e.finish())
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if a, b := fmt.Sprintf("%#v", ds), fmt.Sprintf("%#v", again); a != b {
			t.Fatalf("re-encoded message decodes to\n%s\nwant\n%s", b, a)
		}
		if !bytes.Equal(data[:1], []byte{metricsFormat}) {
			t.Fatal("decoded a message of another format")
		}
	})
}
