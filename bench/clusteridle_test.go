package bench

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clusterIdleShards are created by BenchmarkClusterIdle (10 streams).
var clusterIdleShards = 300

func init() {
	flag.IntVar(&clusterIdleShards, "cluster.idle-shards", clusterIdleShards, "idle shards BenchmarkClusterIdle creates (a multiple of 10)")
}

// BenchmarkClusterIdle measures what an idle shard costs in memory, for
// the capacity model of docs/CLUSTER.md: the process's resident memory
// with -cluster.idle-shards idle shards (10 streams) against before, on
// one node with one replica (R1) and on three nodes with three (R3).
// All nodes run in this process, so R3's figure covers three replicas of
// each shard: per-replica is the delta over shards times three.
func BenchmarkClusterIdle(b *testing.B) {
	per := clusterIdleShards / 10
	for b.Loop() {
		for _, n := range []int{1, 3} {
			nodes, stop := startNodes(b, n, false)
			before := settledRSS(b)
			for s := range 10 {
				name := fmt.Sprintf("idle-%d", s)
				if _, err := nodes[0].try(b.Context(), "CreateStream", fmt.Appendf(nil, `{"StreamName":%q,"ShardCount":%d}`, name, per)); err != nil {
					b.Fatal(err)
				}
				for _, e := range nodes {
					e.waitSeen(b, name)
				}
			}
			time.Sleep(3 * time.Second) // idle
			after := settledRSS(b)
			shards := float64(per * 10)
			perShard := float64(after-before) / 1024 / shards
			b.ReportMetric(perShard, fmt.Sprintf("R%d-KiB/shard", n))
			b.ReportMetric(perShard/float64(n), fmt.Sprintf("R%d-KiB/replica", n))
			b.Logf("R%d, %d node(s): RSS %.1f MiB idle, %.1f MiB with %d idle shards: %.1f KiB per shard, %.1f KiB per replica",
				n, n, float64(before)/(1<<20), float64(after)/(1<<20), per*10, perShard, perShard/float64(n))
			stop()
		}
	}
}

// settledRSS is the process's resident memory after a GC has returned
// what it can.
func settledRSS(b *testing.B) int64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.Lines(raw) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
