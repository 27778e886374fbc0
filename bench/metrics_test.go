package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rivulet/rivulet"
)

// BenchmarkMetricsOverhead measures what counting metrics costs: W1
// (PutRecords of 500 records of 1 KiB over 4 shards, 4 callers per core)
// and W2 (PutRecord of 100 bytes, 32 callers per core) against two servers
// side by side, one with metrics on, one with Config.Metrics.Off. W1 and
// W2 run on streams with stream-level metrics only (AWS's default);
// W2-shard-level on one with every shard-level metric enabled, the most
// counting there is. Each
// iteration runs a round of the same calls on each server in turn, so
// both see the same load of a shared machine; the figures are the
// process's CPU time per call and records/s for each, and
// overhead-pct-cpu / overhead-pct-rate, the "on" server's cost against
// the "off" one's (rate: how much longer the same calls took). Run with
//
//	go test -run '^$' -bench MetricsOverhead -benchtime 5x -count 5 ./bench/
//
// and take the medians of overhead-pct-*.
func BenchmarkMetricsOverhead(b *testing.B) {
	on := startConfig(b, rivulet.Config{DataDir: b.TempDir()})
	off := startConfig(b, rivulet.Config{DataDir: b.TempDir(), Metrics: rivulet.Metrics{Off: true}})
	for _, e := range []*env{on, off} {
		for _, s := range []string{"w1", "w2", "w2all"} {
			e.createStream(b, s, 4)
			e.waitActive(b, s)
		}
	}
	on.call(b, "EnableEnhancedMonitoring", []byte(`{"StreamName":"w2all","ShardLevelMetrics":["ALL"]}`))
	w1 := putRecordsBody("w1", 500, 1024)
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'y'}, 100))
	for _, wl := range []struct {
		name    string
		calls   int // per round and server
		callers int
		records int // per call
		call    func(e *env, i int)
	}{
		{"W1", 200, 8, 500, func(e *env, _ int) { e.call(b, "PutRecords", w1) }},
		{"W2", 20000, 64, 1, func(e *env, i int) {
			e.call(b, "PutRecord", fmt.Appendf(nil, `{"StreamName":"w2","PartitionKey":"k%d","Data":%q}`, i, data))
		}},
		{"W2-shard-level", 20000, 64, 1, func(e *env, i int) {
			e.call(b, "PutRecord", fmt.Appendf(nil, `{"StreamName":"w2all","PartitionKey":"k%d","Data":%q}`, i, data))
		}},
	} {
		b.Run(wl.name, func(b *testing.B) {
			var cpu, wall [2]time.Duration
			round := func(e *env) (time.Duration, time.Duration) {
				var next atomic.Int64
				var wg sync.WaitGroup
				cpu0, t0 := cpuTime(), time.Now()
				for range wl.callers {
					wg.Go(func() {
						for i := int(next.Add(1)); i <= wl.calls; i = int(next.Add(1)) {
							wl.call(e, i)
						}
					})
				}
				wg.Wait()
				return cpuTime() - cpu0, time.Since(t0)
			}
			n := 0
			for b.Loop() {
				// Alternate which goes first, so neither always runs on a
				// machine warmed (or loaded) by the other.
				n++
				order := []int{0, 1}
				if n%2 == 0 {
					order = []int{1, 0}
				}
				for _, k := range order {
					c, w := round([]*env{on, off}[k])
					cpu[k] += c
					wall[k] += w
				}
			}
			calls := float64(b.N * wl.calls)
			records := calls * float64(wl.records)
			b.ReportMetric(float64(cpu[0].Nanoseconds())/calls, "on-cpu-ns/call")
			b.ReportMetric(float64(cpu[1].Nanoseconds())/calls, "off-cpu-ns/call")
			b.ReportMetric(records/wall[0].Seconds(), "on-records/s")
			b.ReportMetric(records/wall[1].Seconds(), "off-records/s")
			b.ReportMetric(100*(float64(cpu[0])/float64(cpu[1])-1), "overhead-pct-cpu")
			b.ReportMetric(100*(wall[0].Seconds()/wall[1].Seconds()-1), "overhead-pct-rate")
		})
	}
}
