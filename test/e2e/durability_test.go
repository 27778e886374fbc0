package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// payload makes unique record data with every byte value in it, so blobs
// are checked byte for byte, not just as text.
func payload(id string, size int) string {
	var b strings.Builder
	b.WriteString(id)
	b.WriteByte('|')
	for i := 0; b.Len() < size; i++ {
		b.WriteByte(byte(i))
	}
	return b.String()
}

// putBatches puts n records with PutRecords, batch at a time, retrying
// only the entries that fail, and returns every acknowledged record.
func putBatches(ctx context.Context, t *testing.T, c *kinesis.Client, stream, prefix string, n, batch int) []ackedRecord {
	t.Helper()
	var acked []ackedRecord
	for start := 0; start < n; start += batch {
		var entries []types.PutRecordsRequestEntry
		for i := start; i < min(start+batch, n); i++ {
			entries = append(entries, types.PutRecordsRequestEntry{
				PartitionKey: aws.String(fmt.Sprintf("key-%d", i%41)),
				Data:         []byte(payload(fmt.Sprintf("%s%05d", prefix, i), 80+i%240)),
			})
		}
		for attempt := 0; len(entries) > 0; attempt++ {
			if attempt == 20 {
				t.Fatalf("PutRecords: %d entries still failing after %d attempts", len(entries), attempt)
			}
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatalf("PutRecords: %v", err)
			}
			if len(out.Records) != len(entries) {
				t.Fatalf("PutRecords: %d results for %d entries", len(out.Records), len(entries))
			}
			var retry []types.PutRecordsRequestEntry
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					retry = append(retry, entries[i])
					continue
				}
				acked = append(acked, ackedRecord{
					Shard:        aws.ToString(r.ShardId),
					Seq:          aws.ToString(r.SequenceNumber),
					PartitionKey: aws.ToString(entries[i].PartitionKey),
					Data:         string(entries[i].Data),
				})
			}
			if int(aws.ToInt32(out.FailedRecordCount)) != len(retry) {
				t.Errorf("FailedRecordCount %d, but %d entries carry an ErrorCode", aws.ToInt32(out.FailedRecordCount), len(retry))
			}
			entries = retry
			if len(retry) > 0 {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return acked
}

// TestRestartKeepsRecords: records acknowledged before a clean shutdown are
// all there, once each, after a restart on the same data directory.
func TestRestartKeepsRecords(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream, n, batch = "Restart", 600, 100
	dataDir := t.TempDir()

	s := startServer(t, serverOptions{dataDir: dataDir})
	c := s.kinesis()
	createStream(ctx, t, c, stream, 3)

	acked := putBatches(ctx, t, c, stream, "r", n, batch)
	verifyKeyOrder(t, acked)
	s.stop(t)

	s2 := startServer(t, serverOptions{dataDir: dataDir})
	c2 := s2.kinesis()
	waitActive(ctx, t, c2, stream)
	if got := len(listShards(ctx, t, c2, stream)); got != 3 {
		t.Errorf("after restart: %d shards, want 3", got)
	}
	read := readAll(ctx, t, c2, stream)
	if len(read) != len(acked) {
		t.Errorf("read %d records after restart, %d were acknowledged", len(read), len(acked))
	}
	verifyDurable(t, acked, nil, read)
	verifySeqAdvances(ctx, t, c2, stream, read)
	s2.stop(t)
}

// TestKillDuringWrites: SIGKILL the server while several writers put
// records; after a restart every acknowledged record is there exactly once.
// A put that was in flight at the kill may or may not have been stored.
func TestKillDuringWrites(t *testing.T) {
	for _, mode := range []string{"default", "always"} {
		t.Run("sync="+mode, func(t *testing.T) { testKillDuringWrites(t, mode) })
	}
}

func testKillDuringWrites(t *testing.T, syncMode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const stream = "Crash"
	dataDir := t.TempDir()

	s := startServer(t, serverOptions{dataDir: dataDir, sync: syncMode})
	createStream(ctx, t, s.kinesis(), stream, 2)
	// One attempt per put: a retry after a lost response would store the
	// record twice, and this test is about the server, not the SDK.
	w := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })

	var (
		mu      sync.Mutex
		acked   []ackedRecord
		unacked = make(map[string]bool) // data of puts with no answer yet
		killed  atomic.Bool
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	sent := func(data []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range data {
			unacked[d] = true
		}
	}
	ack := func(a ackedRecord) {
		mu.Lock()
		defer mu.Unlock()
		delete(unacked, a.Data)
		acked = append(acked, a)
	}
	// failed reports whether the writer should go on after err.
	failed := func(who string, err error) bool {
		if killed.Load() {
			return false
		}
		var thr *types.ProvisionedThroughputExceededException
		if errors.As(err, &thr) {
			time.Sleep(20 * time.Millisecond)
			return true
		}
		t.Errorf("%s: put failed before the kill: %v", who, err)
		return false
	}
	running := func() bool {
		select {
		case <-stop:
			return false
		default:
			return ctx.Err() == nil
		}
	}

	const writers = 4
	for n := 0; n < writers; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("writer-%d", n)
			for i := 0; running(); i++ {
				data := payload(fmt.Sprintf("w%d-%06d", n, i), 100)
				sent([]string{data})
				out, err := w.PutRecord(ctx, &kinesis.PutRecordInput{
					StreamName: aws.String(stream), PartitionKey: aws.String(key), Data: []byte(data),
				})
				if err != nil {
					if failed(key, err) {
						continue
					}
					return
				}
				ack(ackedRecord{Shard: aws.ToString(out.ShardId), Seq: aws.ToString(out.SequenceNumber), PartitionKey: key, Data: data})
			}
		}()
	}
	// One batch writer, so PutRecords' path is crashed too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; running(); i++ {
			var entries []types.PutRecordsRequestEntry
			var datas []string
			for j := 0; j < 25; j++ {
				d := payload(fmt.Sprintf("b%06d-%02d", i, j), 100)
				datas = append(datas, d)
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("batch-%d", j%5)), Data: []byte(d)})
			}
			sent(datas)
			out, err := w.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				if failed("batch", err) {
					continue
				}
				return
			}
			for j, r := range out.Records {
				if r.ErrorCode == nil {
					ack(ackedRecord{Shard: aws.ToString(r.ShardId), Seq: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(entries[j].PartitionKey), Data: datas[j]})
				}
			}
		}
	}()

	// Let the writers run for a while, with enough acknowledged to matter.
	start := time.Now()
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if time.Since(start) >= 1500*time.Millisecond && n >= 100 {
			break
		}
		if time.Since(start) > hangTimeout {
			close(stop)
			wg.Wait()
			t.Fatalf("only %d records acknowledged in %v", n, hangTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed.Store(true)
	s.kill(t)
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	verifyKeyOrder(t, acked)

	s2 := startServer(t, serverOptions{dataDir: dataDir, sync: syncMode})
	c2 := s2.kinesis()
	waitActive(ctx, t, c2, stream)
	read := readAll(ctx, t, c2, stream)
	t.Logf("sync=%s: %d acknowledged, %d in flight at the kill, %d read back", syncMode, len(acked), len(unacked), len(read))
	verifyDurable(t, acked, unacked, read)
	verifySeqAdvances(ctx, t, c2, stream, read)
	s2.stop(t)
}
