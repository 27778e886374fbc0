package consumer

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestStealBalances: a worker joining takes its share by stealing from
// the worker holding every lease, one lease at a time; MaxLeasesForWorker
// caps a worker.
func TestStealBalances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 4)
		app := uniqueName(t)
		rec := newRecorder()
		cfg := Config{AppName: app, Stream: stream, WorkerID: "A"}
		fastTiming(&cfg)
		cfg.Processor = rec.factory("A", true)
		a := e.startWorker(t, cfg)
		waitFor(t, "A holding all four leases", func() bool { return a.heldCount() == 4 })

		cfgB := cfg
		cfgB.WorkerID = "B"
		cfgB.Processor = rec.factory("B", true)
		b := e.startWorker(t, cfgB)
		waitFor(t, "B stealing its share", func() bool { return a.heldCount() == 2 && b.heldCount() == 2 })

		cfgC := cfg
		cfgC.WorkerID = "C"
		cfgC.MaxLeasesForWorker = 1
		cfgC.Processor = rec.factory("C", true)
		c := e.startWorker(t, cfgC)
		waitFor(t, "C holding one lease", func() bool { return c.heldCount() == 1 })
		ks := keys(20)
		e.put(t, stream, ks, 0, 10)
		waitFor(t, "all records processed", func() bool { return rec.count() == 200 })
		rec.checkFirstOrder(t, ks, 10)
		// C stays at its cap however long it runs.
		time.Sleep(3 * cfg.TakeInterval)
		if n := c.heldCount(); n != 1 {
			t.Errorf("C holds %d leases, capped at 1", n)
		}
	})
}

// TestInitialPositions: LATEST skips what was written before the worker
// started; AT_TIMESTAMP starts at the first record at or after the time.
func TestInitialPositions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		stream := e.createStream(t, 2)
		ks := keys(10)
		e.put(t, stream, ks, 0, 5)
		time.Sleep(50 * time.Millisecond) // arrival times are milliseconds apart
		at := time.Now()
		time.Sleep(50 * time.Millisecond)
		e.put(t, stream, ks, 5, 10)

		latest := newRecorder()
		cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "latest"}
		fastTiming(&cfg)
		cfg.InitialPosition = InitialPosition{Type: SentinelLatest}
		// Empty batches tell when a shard's LATEST iterator exists.
		cfg.CallProcessRecordsEvenForEmptyRecordList = true
		cfg.Processor = latest.factory("latest", true)
		e.startWorker(t, cfg)
		waitFor(t, "both shards read", func() bool {
			latest.mu.Lock()
			defer latest.mu.Unlock()
			return len(latest.polled) == 2
		})
		e.put(t, stream, ks, 10, 15)

		stamped := newRecorder()
		cfg2 := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "ts"}
		fastTiming(&cfg2)
		cfg2.InitialPosition = InitialPosition{Type: SentinelAtTimestamp, Timestamp: at}
		cfg2.Processor = stamped.factory("ts", true)
		e.startWorker(t, cfg2)

		waitFor(t, "LATEST worker's records", func() bool { return latest.count() == 50 })
		waitFor(t, "AT_TIMESTAMP worker's records", func() bool { return stamped.count() == 100 })
		for _, k := range ks {
			for n := range 15 {
				s := k + "/" + strconv.Itoa(n)
				if latest.has(s) != (n >= 10) {
					t.Errorf("LATEST: %s delivered %v", s, latest.has(s))
				}
				if stamped.has(s) != (n >= 5) {
					t.Errorf("AT_TIMESTAMP: %s delivered %v", s, stamped.has(s))
				}
			}
		}
	})
}

// TestParentLeaseCleanup: once both children of a split checkpoint past
// their start, the parent's lease is deleted.
func TestParentLeaseCleanup(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		stream := e.createStream(t, 1)
		rec := newRecorder()
		cfg := Config{AppName: uniqueName(t), Stream: stream, WorkerID: "A"}
		fastTiming(&cfg)
		cfg.Processor = rec.factory("A", true)
		w := e.startWorker(t, cfg)
		ks := keys(20)
		e.put(t, stream, ks, 0, 5)
		if _, err := e.kin.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: &stream, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
			t.Fatal(err)
		}
		e.waitActive(t, stream)
		e.put(t, stream, ks, 5, 10)
		waitFor(t, "all records processed", func() bool { return rec.count() == 200 })
		rec.checkFirstOrder(t, ks, 10)
		waitFor(t, "the parent's lease deleted", func() bool {
			l, err := w.w.store.get(ctx, "shardId-000000000000")
			return err == nil && l == nil
		})
		rest, _ := w.w.store.list(ctx)
		for _, l := range rest {
			if l.checkpoint.rank() != 1 {
				t.Errorf("child lease %s checkpoint %v", l.key, l.checkpoint)
			}
		}
	})
}

// TestThrottled: with AWS's limits enforced and injected throttling and
// failures of the read calls, both retrievals back off, retry and still
// deliver everything in order.
func TestThrottled(t *testing.T) {
	t.Parallel()
	faults := `[
		{"op":"GetRecords","error":"ProvisionedThroughputExceededException","every":3},
		{"op":"GetShardIterator","error":"InternalFailure","every":4},
		{"op":"SubscribeToShard","error":"LimitExceededException","every":2}
	]`
	for _, rt := range []struct {
		name string
		r    Retrieval
	}{{"Polling", Polling{IdleTimeBetweenReads: time.Millisecond, MaxRecords: 50}}, {"FanOut", FanOut{}}} {
		for _, b := range backends() {
			t.Run(rt.name+"/"+b, func(t *testing.T) {
				t.Parallel()
				e := newEnvWith(t, b, ServerConfig{AWSLimits: true, Faults: faults})
				stream := e.createStream(t, 2)
				rec := newRecorder()
				app := uniqueName(t)
				for _, id := range []string{"A", "B"} {
					cfg := Config{AppName: app, Stream: stream, WorkerID: id, Retrieval: rt.r}
					fastTiming(&cfg)
					cfg.Processor = rec.factory(id, true)
					e.startWorker(t, cfg)
				}
				ks := keys(20)
				e.put(t, stream, ks, 0, 20)
				waitFor(t, "all records processed", func() bool { return rec.count() == 400 })
				rec.checkFirstOrder(t, ks, 20)
			})
		}
	}
}
