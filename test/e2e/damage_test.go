package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/internal/domain/seqnum"
)

// The tests in this file damage the files of a stopped or killed server,
// as a crash on a bad disk would, and check what Rivulet makes of it: it
// reports the damage, and never hands out a sequence number twice.

// runRivulet runs a rivulet subcommand (check, recover) and returns its
// output and exit code. Like serve in tryStart, it gets no RIVULET_*
// settings from whoever runs the tests.
func runRivulet(ctx context.Context, t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, hangTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, rivuletBinary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIVULET_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.WaitDelay = hangTimeout
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("rivulet %v: %v\nstderr:\n%s", args, err, errb.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("rivulet %v timed out\nstdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector fired inside rivulet %v:\n%s", args, tail(errb.String()))
	}
	return out.String(), errb.String(), code
}

// checkReport is the part of `rivulet check --json` the tests read.
type checkReport struct {
	Streams int           `json:"streams"`
	Shards  []checkShard  `json:"shards"`
	Damage  []checkDamage `json:"damage"`
}

type checkShard struct {
	Stream   string `json:"stream"`
	StreamID string `json:"streamId"`
	Shard    int    `json:"shard"`
	LastSeq  uint64 `json:"lastSeq"`
	Reserved uint64 `json:"reserved"`
	Acked    uint64 `json:"acked"`
	Orphan   bool   `json:"orphan"`
}

type checkDamage struct {
	Kind     string `json:"kind"`
	Stream   string `json:"stream"`
	StreamID string `json:"streamId"`
	Shard    int    `json:"shard"`
	Detail   string `json:"detail"`
}

// checkJSON runs `rivulet check --json` with the given target flags.
func checkJSON(ctx context.Context, t *testing.T, target ...string) (checkReport, int) {
	t.Helper()
	stdout, stderr, code := runRivulet(ctx, t, append(append([]string{"check"}, target...), "--json")...)
	var rep checkReport
	if code > 1 || json.Unmarshal([]byte(stdout), &rep) != nil {
		t.Fatalf("rivulet check %v --json: exit %d\nstdout:\n%s\nstderr:\n%s", target, code, stdout, stderr)
	}
	return rep, code
}

// streamDir is the directory of a JetStream stream's files.
func streamDir(t *testing.T, dataDir, stream string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(dataDir, "jetstream", "*", "streams", stream))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("directory of JetStream stream %s: %q %v", stream, dirs, err)
	}
	return dirs[0]
}

// blockFiles returns a stream's block files, oldest (lowest number) first.
func blockFiles(t *testing.T, dataDir, stream string) []string {
	t.Helper()
	blks, err := filepath.Glob(filepath.Join(streamDir(t, dataDir, stream), "msgs", "*.blk"))
	if err != nil || len(blks) == 0 {
		t.Fatalf("no block files for %s: %v", stream, err)
	}
	num := func(p string) int {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".blk"))
		if err != nil {
			t.Fatalf("block file %s: %v", p, err)
		}
		return n
	}
	slices.SortFunc(blks, func(a, b string) int { return num(a) - num(b) })
	return blks
}

// forgetState deletes a stream's state file, as a crash before it was
// written would leave it, so JetStream rebuilds the state from the blocks.
func forgetState(t *testing.T, dataDir, stream string) {
	t.Helper()
	err := os.Remove(filepath.Join(streamDir(t, dataDir, stream), "msgs", "index.db"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// getHealth returns /health's status code and "status".
func getHealth(ctx context.Context, t *testing.T, s *server) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint()+"/health", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /health: body: %v", err)
	}
	return resp.StatusCode, body
}

// logicalSeq is the seq field of a sequence number: the stored message's
// logical sequence in its shard log.
func logicalSeq(t *testing.T, s string) uint64 {
	t.Helper()
	p, err := seqnum.Parse(s)
	if err != nil {
		t.Fatalf("sequence number %q: %v", s, err)
	}
	return p.Seq
}

// TestDamagedShardNeverReusesSequences: the newest block file of a shard's
// log is damaged after a kill -9. The check reports the loss, the server
// reports it at start and on /health, and no sequence number acknowledged
// before the damage ever names other data afterwards.
func TestDamagedShardNeverReusesSequences(t *testing.T) {
	tests := []struct {
		name string
		// damage spoils the newest block file of the shard's log.
		damage func(t *testing.T, blk string)
		// inside: the loss may show as lost-inside instead of lost-tail.
		inside bool
	}{
		{name: "cut-last-4KiB", damage: func(t *testing.T, blk string) {
			size := fileSize(t, blk)
			if size < 8<<10 {
				t.Fatalf("newest block %s holds only %d bytes", blk, size)
			}
			if err := os.Truncate(blk, size-(4<<10)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "overwrite-4KiB-middle", inside: true, damage: func(t *testing.T, blk string) {
			size := fileSize(t, blk)
			if size < 16<<10 {
				t.Fatalf("newest block %s holds only %d bytes", blk, size)
			}
			junk := make([]byte, 4<<10)
			rand.Read(junk)
			f, err := os.OpenFile(blk, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt(junk, size/2-(2<<10)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "cut-to-zero", damage: func(t *testing.T, blk string) {
			if err := os.Truncate(blk, 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testDamagedShard(t, tt.damage, tt.inside) })
	}
}

func testDamagedShard(t *testing.T, damage func(t *testing.T, blk string), inside bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const stream = "Damaged"
	dataDir := t.TempDir()
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))

	s := startServer(t, serverOptions{dataDir: dataDir, extra: []string{"--nats-listen", natsAddr}})
	c := s.kinesis()
	createStream(ctx, t, c, stream, 1)
	acked := putBatches(ctx, t, c, stream, "r", 4000, 100)
	bySeq := make(map[string]ackedRecord, len(acked))
	sent := make(map[string]bool, len(acked))
	var high uint64 // the highest acknowledged logical sequence
	lastSeq := acked[0].Seq
	for _, a := range acked {
		if _, dup := bySeq[a.Seq]; dup {
			t.Fatalf("sequence number %s acknowledged twice", a.Seq)
		}
		bySeq[a.Seq] = a
		sent[a.Data] = true
		high = max(high, logicalSeq(t, a.Seq))
		if bigInt(t, a.Seq).Cmp(bigInt(t, lastSeq)) > 0 {
			lastSeq = a.Seq
		}
	}

	// Wait until the shard's acked mark covers every acknowledged record,
	// so the loss is known to have been acknowledged.
	var streamID string
	for {
		rep, code := checkJSON(ctx, t, "--nats-url", "nats://"+natsAddr)
		if code != 0 {
			t.Fatalf("check of the healthy server found damage: %+v", rep.Damage)
		}
		i := slices.IndexFunc(rep.Shards, func(sh checkShard) bool {
			return sh.Stream == stream && sh.Shard == 0
		})
		if i < 0 {
			t.Fatalf("check lists no shard 0 of %s: %+v", stream, rep.Shards)
		}
		sh := rep.Shards[i]
		if sh.LastSeq < high || sh.Reserved < high {
			t.Fatalf("shard log ends at %d, reserved %d, but %d was acknowledged", sh.LastSeq, sh.Reserved, high)
		}
		if sh.Acked >= high {
			streamID = sh.StreamID
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("acked mark %d never reached %d", sh.Acked, high)
		case <-time.After(200 * time.Millisecond):
		}
	}
	s.kill(t)

	logName := "KDS_" + streamID + "_0"
	blks := blockFiles(t, dataDir, logName)
	newest := blks[len(blks)-1]
	t.Logf("%d records acknowledged up to logical %d; %d block files, the newest %s of %d bytes",
		len(acked), high, len(blks), filepath.Base(newest), fileSize(t, newest))
	damage(t, newest)
	forgetState(t, dataDir, logName)

	// The check reports the loss.
	stdout, stderr, code := runRivulet(ctx, t, "check", "--data-dir", dataDir)
	if code != 1 {
		t.Errorf("rivulet check --data-dir: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var lost []string
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.Contains(line, "shard 0") {
			continue
		}
		if strings.HasPrefix(line, "lost-tail:") || inside && strings.HasPrefix(line, "lost-inside:") {
			lost = append(lost, line)
		}
	}
	if len(lost) == 0 {
		t.Errorf("rivulet check --data-dir reports no loss on shard 0:\n%s\nstderr:\n%s", stdout, stderr)
	}
	t.Logf("rivulet check:\n%s", stdout)

	// The server reports it too, and serves what is left.
	s2 := startServer(t, serverOptions{dataDir: dataDir})
	c2 := s2.kinesis()
	if !strings.Contains(s2.log.String(), "storage damage") {
		t.Errorf("the restarted server logged no storage damage")
	}
	if code, body := getHealth(ctx, t, s2); code != http.StatusOK || body["status"] != "degraded" {
		t.Errorf("/health after the damage: %d %v, want 200 degraded", code, body)
	}

	// The next record goes above every number acknowledged before.
	const afterData = "after the damage"
	put, err := c2.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("after"), Data: []byte(afterData)})
	if err != nil {
		t.Fatalf("PutRecord after the damage: %v", err)
	}
	newSeq := aws.ToString(put.SequenceNumber)
	t.Logf("the new record is at logical %d (%s)", logicalSeq(t, newSeq), newSeq)
	if bigInt(t, newSeq).Cmp(bigInt(t, lastSeq)) <= 0 {
		t.Errorf("new sequence number %s is not above %s, acknowledged before the damage", newSeq, lastSeq)
	}
	// check is a record read back: an acknowledged one with its data, or
	// the new one.
	check := func(how string, r types.Record) {
		t.Helper()
		seq, data := aws.ToString(r.SequenceNumber), string(r.Data)
		a, old := bySeq[seq]
		switch {
		case old && a.Data != data:
			t.Errorf("%s: sequence number %s reused: acknowledged with %.40q, now holds %.40q", how, seq, a.Data, data)
		case old:
		case seq != newSeq && sent[data]:
			// A call the SDK retried (a lost answer) stored its records
			// twice; only the retry's numbers were acknowledged.
			t.Logf("%s: record %s is an unacknowledged copy of %.40q", how, seq, data)
		case seq != newSeq:
			t.Errorf("%s: record %s (data %.40q) was never acknowledged", how, seq, data)
		case data != afterData:
			t.Errorf("%s: new record %s holds %.40q", how, seq, data)
		}
	}

	// Reading at the last acknowledged (maybe lost) number returns old
	// records with their data, then the new one; never other data under
	// an old number.
	it, err := c2.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shardID(0)),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(lastSeq)})
	if err != nil {
		t.Fatalf("GetShardIterator AT_SEQUENCE_NUMBER %s: %v", lastSeq, err)
	}
	iter, sawNew := it.ShardIterator, false
	for empty := 0; iter != nil && empty < 3; {
		out, err := c2.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatalf("GetRecords at %s: %v", lastSeq, err)
		}
		for _, r := range out.Records {
			check("at "+lastSeq, r)
			if aws.ToString(r.SequenceNumber) == newSeq {
				sawNew = true
			}
		}
		if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
			empty++
		} else {
			empty = 0
		}
		iter = out.NextShardIterator
	}
	if !sawNew {
		t.Errorf("reading AT_SEQUENCE_NUMBER %s never reached the new record %s", lastSeq, newSeq)
	}

	// Everything left maps each number to the data acknowledged under it.
	read := readAll(ctx, t, c2, stream)
	survived := 0
	for i, r := range read {
		check("from TRIM_HORIZON", types.Record{SequenceNumber: aws.String(r.Seq), Data: []byte(r.Data)})
		if i > 0 && bigInt(t, r.Seq).Cmp(bigInt(t, read[i-1].Seq)) <= 0 {
			t.Errorf("sequence number %s read after %s", r.Seq, read[i-1].Seq)
		}
		if r.Seq != newSeq {
			survived++
		}
	}
	if n := len(read); n == 0 || read[n-1].Seq != newSeq {
		t.Errorf("the new record %s is not the last one read from TRIM_HORIZON", newSeq)
	}
	if survived == len(acked) {
		t.Errorf("all %d acknowledged records survived: the test damaged nothing", survived)
	}
	t.Logf("%d of %d acknowledged records survived", survived, len(acked))
	s2.stop(t)

	// The loss is reported once: the new segment starts above the acked
	// mark, so after a clean stop nothing is missing any more.
	if stdout, stderr, code := runRivulet(ctx, t, "check", "--data-dir", dataDir); code != 0 {
		t.Errorf("rivulet check --data-dir after a clean stop: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestLostMetadataIsRecovered: the metadata bucket of a stopped server is
// damaged so a stream's record is gone. The server serves on, degraded;
// rivulet check reports the lost metadata, and rivulet recover rebuilds
// the stream from its shard logs, with every record.
func TestLostMetadataIsRecovered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const stream, metaLog = "Recovered", "KV_rivulet-meta"
	dataDir := t.TempDir()

	s := startServer(t, serverOptions{dataDir: dataDir})
	c := s.kinesis()
	createStream(ctx, t, c, stream, 2)
	before := listShards(ctx, t, c, stream)
	summary, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	created := aws.ToTime(summary.StreamDescriptionSummary.StreamCreationTimestamp)
	acked := putBatches(ctx, t, c, stream, "m", 1200, 100)
	s.stop(t)

	// Cut the end of the metadata; if the stream record survives that,
	// all of it.
	blks := blockFiles(t, dataDir, metaLog)
	newest := blks[len(blks)-1]
	if size := fileSize(t, newest); size > 300 {
		if err := os.Truncate(newest, size-300); err != nil {
			t.Fatal(err)
		}
	}
	forgetState(t, dataDir, metaLog)
	metaLost := func(rep checkReport) bool {
		return slices.ContainsFunc(rep.Damage, func(d checkDamage) bool {
			return d.Kind == "metadata-lost" && d.Stream == stream
		})
	}
	if rep, _ := checkJSON(ctx, t, "--data-dir", dataDir); !metaLost(rep) {
		t.Logf("the stream record survived cutting 300 bytes of %s; cutting all %d block files to zero", newest, len(blks))
		for _, b := range blks {
			if err := os.Truncate(b, 0); err != nil {
				t.Fatal(err)
			}
		}
		forgetState(t, dataDir, metaLog)
	}

	s2 := startServer(t, serverOptions{dataDir: dataDir})
	c2 := s2.kinesis()
	_, err = c2.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("DescribeStreamSummary after the damage: %v, want ResourceNotFoundException: the test damaged nothing", err)
	}
	ls, err := c2.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ls.StreamNames, stream) {
		t.Errorf("ListStreams after the damage still lists %s", stream)
	}
	if code, body := getHealth(ctx, t, s2); code != http.StatusOK || body["status"] != "degraded" {
		t.Errorf("/health after the damage: %d %v, want 200 degraded", code, body)
	}
	if !strings.Contains(s2.log.String(), "storage damage") {
		t.Errorf("the server logged no storage damage")
	}
	s2.stop(t)

	stdout, stderr, code := runRivulet(ctx, t, "check", "--data-dir", dataDir)
	if code != 1 || !hasLine(stdout, "metadata-lost:") {
		t.Errorf("rivulet check --data-dir: exit %d, want 1 and a metadata-lost line\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runRivulet(ctx, t, "recover", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, "rebuilt") {
		t.Fatalf("rivulet recover --data-dir: exit %d, want 0 and a rebuilt stream\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Logf("rivulet recover:\n%s", stdout)

	s3 := startServer(t, serverOptions{dataDir: dataDir})
	c3 := s3.kinesis()
	// Recovered: nothing is missing any more.
	if code, body := getHealth(ctx, t, s3); code != http.StatusOK || body["status"] != "ok" {
		t.Errorf("/health after recover: %d %v, want 200 ok", code, body)
	}
	d, err := c3.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStream after recover: %v", err)
	}
	if got := d.StreamDescription; got.StreamStatus != types.StreamStatusActive || len(got.Shards) != len(before) {
		t.Fatalf("after recover: %s with %d shards, want ACTIVE with %d", got.StreamStatus, len(got.Shards), len(before))
	}
	if got := aws.ToTime(d.StreamDescription.StreamCreationTimestamp); !got.Equal(created) {
		t.Errorf("after recover: created %v, want %v", got, created)
	}
	for i, sh := range d.StreamDescription.Shards {
		want := before[i]
		if aws.ToString(sh.ShardId) != aws.ToString(want.ShardId) ||
			aws.ToString(sh.HashKeyRange.StartingHashKey) != aws.ToString(want.HashKeyRange.StartingHashKey) ||
			aws.ToString(sh.HashKeyRange.EndingHashKey) != aws.ToString(want.HashKeyRange.EndingHashKey) {
			t.Errorf("shard %d after recover: %s %s-%s, want %s %s-%s", i,
				aws.ToString(sh.ShardId), aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey),
				aws.ToString(want.ShardId), aws.ToString(want.HashKeyRange.StartingHashKey), aws.ToString(want.HashKeyRange.EndingHashKey))
		}
	}
	read := readAll(ctx, t, c3, stream)
	shardsRead := map[string]bool{}
	for _, r := range read {
		shardsRead[r.Shard] = true
	}
	if len(shardsRead) != 2 {
		t.Errorf("records read from %d shards, want 2", len(shardsRead))
	}
	verifyDurable(t, acked, nil, read)
	verifySeqAdvances(ctx, t, c3, stream, read)
	s3.stop(t)
}

// hasLine reports whether a line of out starts with prefix.
func hasLine(out, prefix string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}
