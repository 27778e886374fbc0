package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/store/natsstore"
)

// fileServer runs Rivulet on file storage in dir with its NATS listening
// on loopback, as backups need. Close it with the returned function (also
// run at cleanup; a second call is a no-op).
func fileServer(t *testing.T, dir string) (*rivulet.Server, *kinesis.Client, func()) {
	t.Helper()
	srv, err := rivulet.Start(context.Background(), rivulet.Config{DataDir: dir, NATSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing server: %v", err)
		}
	}
	t.Cleanup(stop)
	kc, err := client.New(client.Config{Endpoint: srv.Endpoint(), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, kc, stop
}

// record is one record as written or read back.
type record struct {
	Shard, Seq, Key, Data string
}

// streamView is everything about a stream a restore must keep, bar records.
type streamView struct {
	Describe  *types.StreamDescription
	Tags      []types.Tag
	Consumers []types.Consumer
}

func viewStreams(t *testing.T, kc *kinesis.Client) map[string]streamView {
	t.Helper()
	ctx := context.Background()
	ls, err := kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]streamView{}
	for _, name := range ls.StreamNames {
		d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		tags, err := kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		cons, err := kc.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: d.StreamDescription.StreamARN})
		if err != nil {
			t.Fatal(err)
		}
		if d.StreamDescription.HasMoreShards != nil && *d.StreamDescription.HasMoreShards {
			t.Fatalf("%s: more shards than one DescribeStream page", name)
		}
		views[name] = streamView{Describe: d.StreamDescription, Tags: tags.Tags, Consumers: cons.Consumers}
	}
	return views
}

// readShard reads a shard from its start until it is closed and read to
// its end, or open and caught up.
func readShard(t *testing.T, kc *kinesis.Client, stream, shard string) []record {
	t.Helper()
	ctx := context.Background()
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	iter := it.ShardIterator
	var out []record
	for range 10000 {
		r, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("%s/%s: %v", stream, shard, err)
		}
		for _, rec := range r.Records {
			out = append(out, record{shard, aws.ToString(rec.SequenceNumber), aws.ToString(rec.PartitionKey), string(rec.Data)})
		}
		iter = r.NextShardIterator
		if iter == nil || len(r.Records) == 0 && aws.ToInt64(r.MillisBehindLatest) == 0 {
			return out
		}
	}
	t.Fatalf("%s/%s: no end in sight", stream, shard)
	return nil
}

func readAll(t *testing.T, kc *kinesis.Client, views map[string]streamView) map[string][]record {
	t.Helper()
	all := map[string][]record{}
	for name, v := range views {
		for _, sh := range v.Describe.Shards {
			all[name+"/"+aws.ToString(sh.ShardId)] = readShard(t, kc, name, aws.ToString(sh.ShardId))
		}
	}
	return all
}

func putRecords(t *testing.T, kc *kinesis.Client, stream string, n int, explicit bool) []record {
	t.Helper()
	var entries []types.PutRecordsRequestEntry
	for i := range n {
		e := types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("k%d", i)), Data: fmt.Appendf(nil, "%s-%d", stream, i)}
		if explicit && i%2 == 0 {
			// Hash keys spread over the whole range, shard by shard.
			e.ExplicitHashKey = aws.String(fmt.Sprintf("%d", uint64(i)*(1<<60)))
		}
		entries = append(entries, e)
	}
	out, err := kc.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for i, r := range out.Records {
		if r.ErrorCode != nil {
			t.Fatalf("record %d: %s", i, aws.ToString(r.ErrorCode))
		}
		recs = append(recs, record{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber), *entries[i].PartitionKey, string(entries[i].Data)})
	}
	return recs
}

// writer puts records into a stream one by one until stopped, keeping
// the acknowledged ones.
type writer struct {
	mu    sync.Mutex
	acked []record
	stop  chan struct{}
	done  chan struct{}
}

func startWriter(kc *kinesis.Client, stream string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			key, data := fmt.Sprintf("w%d", i%13), fmt.Sprintf("live-%d", i)
			out, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream),
				PartitionKey: aws.String(key), Data: []byte(data)})
			if err != nil {
				continue // the check below needs only acknowledged records
			}
			w.mu.Lock()
			w.acked = append(w.acked, record{aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber), key, data})
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *writer) ackedSoFar() []record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

func (w *writer) halt(t *testing.T) {
	close(w.stop)
	select {
	case <-w.done:
	case <-time.After(hangTimeout):
		t.Fatal("writer did not stop")
	}
}

// TestBackupRestoreRoundTrip backs up a server with resharded, tagged,
// retention-changed streams and a consumer while a writer keeps writing,
// restores it into a new data directory, and compares everything.
func TestBackupRestoreRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	ctx := context.Background()
	srcDir, backupDir, dstDir := t.TempDir(), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "d")
	src, kc, stopSrc := fileServer(t, srcDir)

	createStream(t, kc, "alpha", 3)
	createStream(t, kc, "beta", 2)
	createStream(t, kc, "gamma", 1) // stays empty
	mustDo(t, func() error {
		_, err := kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("alpha"),
			Tags: map[string]string{"team": "data", "env": "test"}})
		return err
	})
	mustDo(t, func() error {
		_, err := kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("beta"),
			RetentionPeriodHours: aws.Int32(72)})
		return err
	})
	waitActive(t, kc, "beta")
	var consumerARN string
	mustDo(t, func() error {
		d, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("alpha")})
		if err != nil {
			return err
		}
		c, err := kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: d.StreamDescriptionSummary.StreamARN,
			ConsumerName: aws.String("reader")})
		if err == nil {
			consumerARN = aws.ToString(c.Consumer.ConsumerARN)
		}
		return err
	})

	acked := putRecords(t, kc, "beta", 40, true)
	// Split beta's first shard, so it gets closed with children.
	mustDo(t, func() error {
		_, err := kc.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("beta"),
			ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000000000000000000000000000000000000")})
		return err
	})
	waitActive(t, kc, "beta")
	acked = append(acked, putRecords(t, kc, "beta", 40, true)...)
	acked = append(acked, putRecords(t, kc, "alpha", 100, true)...)

	itOut, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("alpha"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}

	w := startWriter(kc, "alpha")
	// Let the writer get going, so some of its records precede the backup.
	for deadline := time.Now().Add(hangTimeout); len(w.ackedSoFar()) < 10; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the writer acknowledged nothing")
		}
	}
	before := append(slices.Clone(acked), w.ackedSoFar()...)
	code, out, errOut := runCmd(t, "", "backup", "--nats-url", src.NATSURL(), "--to", backupDir)
	w.halt(t)
	if code != exitOK {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "written to "+backupDir) {
		t.Errorf("backup output: %q", out)
	}
	m, err := natsstore.ReadManifest(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Streams[0].Name != "KV_rivulet-meta" || len(m.Streams) != 1+3+2+2+1 {
		var names []string
		for _, s := range m.Streams {
			names = append(names, s.Name)
		}
		t.Errorf("manifest streams %v, want the metadata first and 9 shards", names)
	}

	wantViews := viewStreams(t, kc)
	wantRecords := readAll(t, kc, wantViews)
	stopSrc()

	code, out, errOut = runCmd(t, "", "restore", "--from", backupDir, "--data-dir", dstDir)
	if code != exitOK || !strings.Contains(out, "restored into "+dstDir) {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	dst, kc2, _ := fileServer(t, dstDir)

	gotViews := viewStreams(t, kc2)
	if len(gotViews) != 3 {
		t.Errorf("restored streams: %d, want 3", len(gotViews))
	}
	for name, want := range wantViews {
		got, ok := gotViews[name]
		if !ok {
			t.Errorf("stream %s missing after restore", name)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("stream %s differs after restore:\ngot  %s\nwant %s", name, g, w)
		}
	}
	if c := gotViews["alpha"].Consumers; len(c) != 1 || aws.ToString(c[0].ConsumerARN) != consumerARN {
		t.Errorf("alpha consumers after restore: %+v", c)
	}
	if h := aws.ToInt32(gotViews["beta"].Describe.RetentionPeriodHours); h != 72 {
		t.Errorf("beta retention %d h after restore", h)
	}
	children := 0
	for _, sh := range gotViews["beta"].Describe.Shards {
		if aws.ToString(sh.ParentShardId) == "shardId-000000000000" {
			children++
		}
	}
	if sh := gotViews["beta"].Describe.Shards; len(sh) != 4 || sh[0].SequenceNumberRange.EndingSequenceNumber == nil || children != 2 {
		t.Errorf("beta shards after restore: %d shards, %d children of the split one", len(sh), children)
	}

	// Each restored shard is a prefix of the original, and holds every
	// record acknowledged before the backup began.
	gotRecords := readAll(t, kc2, gotViews)
	for shard, want := range wantRecords {
		got := gotRecords[shard]
		if len(got) > len(want) || !reflect.DeepEqual(got, want[:len(got)]) {
			t.Errorf("%s: restored records are not a prefix of the original's (%d vs %d)", shard, len(got), len(want))
		}
	}
	have := map[record]bool{}
	for _, recs := range gotRecords {
		for _, r := range recs {
			have[r] = true
		}
	}
	missing := 0
	for _, r := range before {
		if !have[r] {
			missing++
			if missing < 5 {
				t.Errorf("record acknowledged before the backup is missing: %+v", r)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d records acknowledged before the backup are missing", missing, len(before))
	}
	restored, original := 0, 0
	for shard := range wantRecords {
		restored, original = restored+len(gotRecords[shard]), original+len(wantRecords[shard])
	}
	t.Logf("%d records acknowledged before the backup, %d by the live writer in all; %d of %d records restored",
		len(before), len(w.ackedSoFar()), restored, original)
	if len(before) < 190 {
		t.Errorf("only %d records checked", len(before))
	}

	// The iterator secret came along: an old iterator still reads.
	r, err := kc2.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: itOut.ShardIterator})
	if err != nil {
		t.Fatalf("iterator from before the backup: %v", err)
	}
	first := wantRecords["alpha/shardId-000000000000"]
	if len(r.Records) == 0 || len(first) == 0 || aws.ToString(r.Records[0].SequenceNumber) != first[0].Seq {
		t.Errorf("old iterator read %d records, want the shard's first %v", len(r.Records), first[:min(1, len(first))])
	}

	// The restored server takes writes after what it has.
	putRecords(t, kc2, "beta", 5, false)

	// A second restore into the running server's NATS is refused.
	code, _, errOut = runCmd(t, "", "restore", "--from", backupDir, "--nats-url", dst.NATSURL())
	if code != exitFailure || !strings.Contains(errOut, "not empty") || !strings.Contains(errOut, "KV_rivulet-meta") {
		t.Errorf("restore into a used NATS: exit %d, stderr %q", code, errOut)
	}
}

func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// TestBackupEmptyServerAndBadBackups backs up a server with no streams,
// restores it, and checks that a corrupted or unknown-version backup and a
// used data directory are refused before anything is created.
func TestBackupEmptyServerAndBadBackups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	srcDir, backupDir := t.TempDir(), filepath.Join(t.TempDir(), "b")
	src, _, stopSrc := fileServer(t, srcDir)
	code, out, errOut := runCmd(t, "", "backup", "--nats-url", src.NATSURL(), "--to", backupDir)
	if code != exitOK {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	// The directory is no longer empty: a second backup into it fails.
	if code, _, errOut := runCmd(t, "", "backup", "--nats-url", src.NATSURL(), "--to", backupDir); code != exitFailure || !strings.Contains(errOut, "not empty") {
		t.Errorf("backup into a used dir: exit %d, %q", code, errOut)
	}
	stopSrc()
	m, err := natsstore.ReadManifest(backupDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Streams) != 1 || m.Streams[0].Name != "KV_rivulet-meta" || m.Format != natsstore.BackupFormat {
		t.Errorf("manifest %+v", m)
	}

	// The empty backup restores, and serves no streams.
	dst := filepath.Join(t.TempDir(), "d")
	if code, out, errOut := runCmd(t, "", "restore", "--from", backupDir, "--data-dir", dst); code != exitOK {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	_, kc, stopDst := fileServer(t, dst)
	ls, err := kc.ListStreams(context.Background(), &kinesis.ListStreamsInput{})
	if err != nil || len(ls.StreamNames) != 0 {
		t.Errorf("ListStreams after restore: %v %v", ls, err)
	}
	stopDst()

	// A used data directory is refused.
	code, _, errOut = runCmd(t, "", "restore", "--from", backupDir, "--data-dir", dst)
	if code != exitFailure || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore into a used data dir: exit %d, %q", code, errOut)
	}

	// Corrupt copies: a flipped byte, and a newer format.
	snap := filepath.Join(backupDir, "KV_rivulet-meta.snap")
	orig, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(orig)
	bad[len(bad)/2] ^= 0xff
	writeFile(t, snap, bad)
	fresh := filepath.Join(t.TempDir(), "fresh")
	code, _, errOut = runCmd(t, "", "restore", "--from", backupDir, "--data-dir", fresh)
	if code != exitFailure || !strings.Contains(errOut, "checksum mismatch") {
		t.Errorf("restore of a corrupted snapshot: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused restore created %s (%v)", fresh, err)
	}
	writeFile(t, snap, orig)

	manifest := filepath.Join(backupDir, natsstore.ManifestName)
	mb, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, manifest, []byte(strings.Replace(string(mb), `"format": 1`, `"format": 99`, 1)))
	code, _, errOut = runCmd(t, "", "restore", "--from", backupDir, "--data-dir", fresh)
	if code != exitFailure || !strings.Contains(errOut, "manifest format 99") {
		t.Errorf("restore of a format 99 backup: exit %d, %q", code, errOut)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestoreUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--to", "x"}, "--nats-url is required"},
		{[]string{"backup", "--nats-url", "nats://127.0.0.1:1"}, "--to is required"},
		{[]string{"restore", "--data-dir", "x"}, "--from is required"},
		{[]string{"restore", "--from", "x"}, "exactly one of --data-dir and --nats-url"},
		{[]string{"restore", "--from", "x", "--data-dir", "y", "--nats-url", "z"}, "exactly one of"},
	} {
		code, _, errOut := runCmd(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
	for _, c := range []string{"backup", "restore"} {
		code, out, _ := runCmd(t, "", c, "--help")
		if code != exitOK || !strings.Contains(out, "Usage: rivulet "+c) || !strings.Contains(out, "--nats-url") {
			t.Errorf("%s --help: exit %d, %q", c, code, out)
		}
	}
}
