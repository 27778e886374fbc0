package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/kinesis/limits"
)

// startLimited runs the server with --limits=aws.
func startLimited(b *testing.B) *env {
	b.Helper()
	url := startServer(b, rivulet.Config{DataDir: b.TempDir(), AWSLimits: true})
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	return &env{url: url, client: &http.Client{Transport: tr}}
}

type putRecordsResult struct {
	FailedRecordCount int
	Records           []struct {
		SequenceNumber string
		ErrorCode      string
		ErrorMessage   string
	}
}

// BenchmarkLimitsPutRecords offers a 1-shard stream far more than its
// 1000 records/s (calls of 100 records of 100 bytes, 4 callers per core)
// with --limits=aws, and reports the records accepted and throttled per
// second. accepted/s should be close to 1000; it may fall short on a busy
// machine but must never exceed it by more than rounding. Measure over a
// few seconds:
//
//	go test -run '^$' -bench LimitsPutRecords -benchtime 3s ./bench/
func BenchmarkLimitsPutRecords(b *testing.B) {
	const stream = "limited"
	e := startLimited(b)
	e.createStream(b, stream, 1)
	body := putRecordsBody(stream, 100, 100)
	wantMsg := fmt.Sprintf("Rate exceeded for shard shardId-000000000000 in stream %s under account %s.",
		stream, kinesis.DefaultCaller.Account)

	var accepted, throttled, other atomic.Int64
	var badEntry atomic.Pointer[string]
	put := func() {
		var out putRecordsResult
		if err := json.Unmarshal(e.call(b, "PutRecords", body), &out); err != nil {
			b.Error(err)
			return
		}
		ok := 0
		for _, r := range out.Records {
			switch {
			case r.ErrorCode == "":
				ok++
			case r.ErrorCode == "ProvisionedThroughputExceededException" && r.ErrorMessage == wantMsg:
				throttled.Add(1)
			default:
				other.Add(1)
				s := r.ErrorCode + ": " + r.ErrorMessage
				badEntry.CompareAndSwap(nil, &s)
			}
		}
		accepted.Add(int64(ok))
		if out.FailedRecordCount != len(out.Records)-ok {
			b.Errorf("FailedRecordCount %d, but %d of %d entries failed", out.FailedRecordCount, len(out.Records)-ok, len(out.Records))
		}
	}
	// Spend the one-second burst first, so the window measures the rate.
	for deadline := time.Now().Add(hangTimeout); throttled.Load() == 0; {
		if time.Now().After(deadline) {
			b.Fatal("no entry was throttled: is the Limiter wired into PutRecords?")
		}
		put()
	}
	accepted.Store(0)
	throttled.Store(0)

	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			put()
		}
	})
	secs := time.Since(start).Seconds()
	b.StopTimer()

	if p := badEntry.Load(); p != nil {
		b.Errorf("%d entries failed otherwise than throttled with %q; first: %s", other.Load(), wantMsg, *p)
	}
	rate := float64(accepted.Load()) / secs
	if limit := limits.WriteRecordsPerSec*secs + 100; float64(accepted.Load()) > limit {
		b.Errorf("accepted %d records in %.2fs: above the limit of 1000/s", accepted.Load(), secs)
	}
	b.ReportMetric(rate, "accepted/s")
	b.ReportMetric(float64(throttled.Load())/secs, "throttled/s")
	b.ReportMetric(float64(b.N*100)/secs, "offered/s")
}
