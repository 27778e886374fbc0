package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/bench/loadgen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseStatus(t *testing.T) {
	status := "Name:\tnode\nVmPeak:\t 1200 kB\nVmHWM:\t  812340 kB\nVmRSS:\t  500000 kB\nThreads:\t11\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.hwm != 812340<<10 || m.rss != 500000<<10 {
		t.Fatalf("got %+v", m)
	}
	if _, err := parseStatus([]byte("Name:\tx\nVmRSS:\tlots kB\n")); err == nil {
		t.Fatal("a malformed VmRSS was accepted")
	}
	if _, err := parseStatus([]byte("Name:\tkthreadd\n")); err == nil {
		t.Fatal("a status without VmRSS was accepted")
	}
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  1000 50 300 90000 400 20 30 0 0 0\ncpu0 500 25 150 45000 200 10 15 0 0 0\n"
	got, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 14 { // (1000+50+300+20+30) ticks, idle and iowait left out
		t.Fatalf("busy = %v, want 14", got)
	}
	for _, bad := range []string{"", "intr 1 2 3 4 5 6", "cpu 1 2 x 4 5 6"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

func TestOtherLoad(t *testing.T) {
	mean, most := otherLoad([]sample{{Wall: 10, OtherCPU: 2}, {Wall: 10, OtherCPU: 6}, {StartupMS: 5}})
	if math.Abs(mean-0.4) > 1e-9 || math.Abs(most-0.6) > 1e-9 {
		t.Fatalf("mean %v, most %v", mean, most)
	}
}

func TestMedian(t *testing.T) {
	if v := median([]float64{5, 1, 3}); v != 3 {
		t.Errorf("odd: %v", v)
	}
	if v := median([]float64{4, 1, 3, 10}); v != 3.5 {
		t.Errorf("even: %v", v)
	}
	if v := median(nil); !math.IsNaN(v) {
		t.Errorf("empty: %v", v)
	}
	in := []float64{3, 2, 1}
	median(in)
	if in[0] != 3 {
		t.Error("median sorted its argument in place")
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		prec int
		want string
	}{{1234567.891, 0, "1,234,568"}, {999, 1, "999.0"}, {1000.25, 2, "1,000.25"}, {-12345, 0, "-12,345"}, {math.NaN(), 0, "—"}} {
		if got := number(c.v, c.prec); got != c.want {
			t.Errorf("number(%v, %d) = %q, want %q", c.v, c.prec, got, c.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	show := func(v float64) string { return ratio(v) }
	for _, c := range []struct {
		t    target
		want string
	}{
		{target{ok: true, atLeast: true, got: 8, limit: 8, show: show}, "**met**"},
		{target{ok: true, atLeast: true, got: 6, limit: 8, show: show}, "**missed** by 25 % (6.0× of the 8.0× needed)"},
		{target{ok: true, got: 0.2, limit: 0.2, show: show}, "**met**"},
		{target{ok: true, got: 0.3, limit: 0.2, show: show}, "**missed**: 50 % over (0.30× against at most 0.20×)"},
		{target{ok: true, strict: true, got: 10, limit: 10, show: show}, "**missed**: 0 % over (10× against at most 10×)"},
		{target{ok: true, strict: true, got: 9.9, limit: 10, show: show}, "**met**"},
		{target{}, "not measured"},
	} {
		if got := c.t.verdict(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.t, got, c.want)
		}
	}
}

func benchSample(workload, server string, run int, write, read, p99 float64, rss int64) sample {
	rep := &loadgen.Report{Write: &loadgen.Phase{RecordsPerSecond: write, Latency: loadgen.Latency{P99: p99}}}
	if read > 0 {
		rep.Read = &loadgen.Phase{RecordsPerSecond: read}
	}
	return sample{Workload: workload, Server: server, Run: run, Bench: rep, PeakRSS: rss, Wall: 10}
}

// TestTargets judges synthetic medians: the runs' middle values decide.
func TestTargets(t *testing.T) {
	var s []sample
	for run, k := range []float64{1, 3, 2} { // medians are the k=2 runs
		s = append(s,
			benchSample(w1, rivulet, run+1, 80000*k, 40000*k, 20*k, int64(k)*100<<20),
			benchSample(w1, kinesalite, run+1, 10000*k, 10000*k, 200*k, int64(k)*200<<20),
			benchSample(wCeiling, rivulet, run+1, 100000*k, 0, 10, 1),
			benchSample(w4, rivulet, run+1, 30000*k, 30000*k, 50, 1),
			sample{Workload: wStart, Server: rivulet, Run: run + 1, StartupMS: 20 * k, IdleRSS: 20 << 20, ShardsRSS: int64(k) * 50 << 20, IdleShards: 1000},
			sample{Workload: wStart, Server: kinesalite, Run: run + 1, StartupMS: 200 * k, IdleRSS: 50 << 20, ShardsRSS: 60 << 20, IdleShards: 1000},
			sample{Workload: w3, Server: rivulet, Run: run + 1, Fanout: &fanResult{Received: 10, LatencyP50: 2 * k, LatencyP99: 30 * k}},
		)
	}
	got := map[string]target{}
	for _, tg := range targets(summarize(s)) {
		got[tg.name] = tg
	}
	check := func(name string, want float64, met bool) {
		t.Helper()
		tg, ok := got[name]
		if !ok || !tg.ok {
			t.Fatalf("%s: not measured", name)
		}
		if math.Abs(tg.got-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", name, tg.got, want)
		}
		if v := tg.verdict(); (v == "**met**") != met {
			t.Errorf("%s: verdict %q, want met=%v", name, v, met)
		}
	}
	check("W1 writes, records/s", 8, true)
	check("W1 writes, share of the ceiling", 0.8, true)
	check("W1 reads, records/s", 4, false)
	check("W1 PutRecords p99", 0.1, true)
	check("W1 peak RSS", 0.5, false)
	check("W3 fan-out p50", 4, true)
	check("W3 fan-out p99", 60, false)
	check("W4 (--sync=always) writes", 60000.0/160000, false)
	check("Idle memory per shard", 100*1024.0/1000, false) // 100 MiB / 1000 shards
	check("Start-up time", 0.1, true)
	if tg := got["W2 PutRecord, records/s"]; tg.ok || tg.verdict() != "not measured" {
		t.Errorf("W2 without samples: %+v", tg)
	}
}

func TestRenderKeepsNotesAndMarksPeers(t *testing.T) {
	in := reportInput{
		runs: 1, duration: "2s", servers: []string{rivulet, kinesalite, kinesisMock}, workloads: workloads(options{duration: 2 * time.Second}),
		skipped: map[string]string{kinesisMock: "could not start: no node"},
		samples: []sample{
			benchSample(w1, rivulet, 1, 50000, 60000, 30, 100<<20),
			benchSample(w1, kinesalite, 1, 10000, 20000, 300, 200<<20),
			{Workload: w1, Server: kinesisMock, Run: 1, Error: "could not start: no node"},
			{Workload: w3, Server: rivulet, Run: 1, Fanout: &fanResult{Received: 5, LatencyP50: 1.5, LatencyP99: 4}},
		},
		notes:    "The p99 is held up by X.\n\nSecond paragraph.",
		commands: map[string]string{},
	}
	doc := render(in)
	for _, want := range []string{
		"| W1 | write records/s | 50,000 | 10,000 | did not start | 5.0× |",
		"| W3 | PutRecord → event p50, ms | 1.5 | no fan-out | no fan-out |",
		"| W1 writes, records/s | ≥ 8× kinesalite | 5.0× (50,000 against 10,000 records/s) | **missed** by 38 %",
		"**kinesis-mock did not run:** could not start: no node",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if got := keptNotes(doc); got != in.notes {
		t.Fatalf("notes after a round trip: %q", got)
	}
	in.notes = ""
	if got := keptNotes(render(in)); !strings.HasPrefix(got, "(None yet.") {
		t.Fatalf("placeholder notes: %q", got)
	}
	if keptNotes("no markers here") != "" {
		t.Fatal("notes found in a file without markers")
	}
}

func TestParseOptions(t *testing.T) {
	for _, k := range []string{"RUNS", "DURATION", "OUT"} {
		t.Setenv(k, "")
	}
	t.Setenv("QUICK", "1")
	t.Setenv("SERVERS", "rivulet,kinesalite")
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.runs != 1 || o.duration != 2*time.Second || o.out != "bench/.peers/BENCHMARKS-quick.md" || len(o.servers) != 2 {
		t.Fatalf("quick options: %+v", o)
	}
	t.Setenv("QUICK", "")
	t.Setenv("RUNS", "5")
	o, err = parseOptions([]string{"-duration", "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if o.runs != 5 || o.duration != 3*time.Second || o.out != "docs/BENCHMARKS.md" {
		t.Fatalf("options: %+v", o)
	}
	for _, args := range [][]string{{"-servers", "kinesalite"}, {"-servers", "rivulet,localstack"}, {"-runs", "-1"}, {"-duration", "10ms"}} {
		if _, err := parseOptions(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
