package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rivulet/rivulet/bench/loadgen"
)

// metric is one row of the results table: a figure taken from each run's
// sample, reported as the median over runs.
type metric struct {
	workload string
	name     string
	lower    bool // lower is better
	info     bool // no ratio against peers
	prec     int  // decimals shown
	value    func(*sample) (float64, bool)
}

func phase(get func(*loadgen.Report) *loadgen.Phase, f func(*loadgen.Phase) float64) func(*sample) (float64, bool) {
	return func(s *sample) (float64, bool) {
		if s.Bench == nil || get(s.Bench) == nil {
			return 0, false
		}
		return f(get(s.Bench)), true
	}
}

func writes(r *loadgen.Report) *loadgen.Phase { return r.Write }
func reads(r *loadgen.Report) *loadgen.Phase  { return r.Read }

func recPerSec(p *loadgen.Phase) float64 { return p.RecordsPerSecond }
func mbPerSec(p *loadgen.Phase) float64  { return p.MBPerSecond }
func p50(p *loadgen.Phase) float64       { return p.Latency.P50 }
func p99(p *loadgen.Phase) float64       { return p.Latency.P99 }

func positive(v float64) (float64, bool) { return v, v > 0 }

func peakRSS(s *sample) (float64, bool) { return positive(mib(s.PeakRSS)) }

func cores(cpu func(*sample) float64) func(*sample) (float64, bool) {
	return func(s *sample) (float64, bool) {
		if s.Wall <= 0 || s.Bench == nil {
			return 0, false
		}
		return cpu(s) / s.Wall, true
	}
}

func fan(f func(*fanResult) float64) func(*sample) (float64, bool) {
	return func(s *sample) (float64, bool) {
		if s.Fanout == nil || s.Fanout.Received == 0 {
			return 0, false
		}
		return f(s.Fanout), true
	}
}

func idleShards(f func(*sample) float64) func(*sample) (float64, bool) {
	return func(s *sample) (float64, bool) {
		if s.IdleShards == 0 || s.ShardsRSS == 0 {
			return 0, false
		}
		return f(s), true
	}
}

// Row names used again by the targets.
const (
	mStartup     = "start-up to first ListStreams, ms"
	mPerShard    = "RSS per idle shard (total ÷ shards), KiB"
	mWrite       = "write records/s"
	mRead        = "read records/s"
	mPutP99      = "PutRecords p99, ms"
	mPeakRSS     = "peak RSS, MiB"
	mPutOne      = "PutRecord records/s"
	mFanP50      = "PutRecord → event p50, ms"
	mFanP99      = "PutRecord → event p99, ms"
	mShardsTotal = "RSS with the idle shards, MiB"
)

func metrics() []metric {
	return []metric{
		{workload: wStart, name: mStartup, lower: true, value: func(s *sample) (float64, bool) { return positive(s.StartupMS) }},
		{workload: wStart, name: "RSS after start-up, no stream, MiB", lower: true, prec: 1, value: func(s *sample) (float64, bool) { return positive(mib(s.IdleRSS)) }},
		{workload: wStart, name: mShardsTotal, lower: true, prec: 1, value: idleShards(func(s *sample) float64 { return mib(s.ShardsRSS) })},
		{workload: wStart, name: mPerShard, lower: true, prec: 1, value: idleShards(func(s *sample) float64 { return float64(s.ShardsRSS) / 1024 / float64(s.IdleShards) })},
		{workload: wStart, name: "RSS added per idle shard, KiB", lower: true, prec: 1, value: idleShards(func(s *sample) float64 { return float64(s.ShardsRSS-s.IdleRSS) / 1024 / float64(s.IdleShards) })},

		{workload: w1, name: mWrite, value: phase(writes, recPerSec)},
		{workload: w1, name: "write MB/s", prec: 1, value: phase(writes, mbPerSec)},
		{workload: w1, name: "PutRecords p50, ms", lower: true, prec: 1, value: phase(writes, p50)},
		{workload: w1, name: mPutP99, lower: true, prec: 1, value: phase(writes, p99)},
		{workload: w1, name: mRead, value: phase(reads, recPerSec)},
		{workload: w1, name: "read MB/s", prec: 1, value: phase(reads, mbPerSec)},
		{workload: w1, name: "GetRecords p99, ms", lower: true, prec: 1, value: phase(reads, p99)},
		{workload: w1, name: mPeakRSS, lower: true, value: peakRSS},
		{workload: w1, name: "server CPU over the run, cores", info: true, prec: 2, value: cores(func(s *sample) float64 { return s.ServerCPU })},
		{workload: w1, name: "load generator CPU over the run, cores", info: true, prec: 2, value: cores(func(s *sample) float64 { return s.ClientCPU })},

		{workload: w2, name: mPutOne, value: phase(writes, recPerSec)},
		{workload: w2, name: "PutRecord p50, ms", lower: true, prec: 1, value: phase(writes, p50)},
		{workload: w2, name: "PutRecord p99, ms", lower: true, prec: 1, value: phase(writes, p99)},
		{workload: w2, name: mPeakRSS, lower: true, value: peakRSS},

		{workload: w3, name: mFanP50, lower: true, prec: 1, value: fan(func(f *fanResult) float64 { return f.LatencyP50 })},
		{workload: w3, name: "PutRecord → event p90, ms", lower: true, prec: 1, value: fan(func(f *fanResult) float64 { return f.LatencyP90 })},
		{workload: w3, name: mFanP99, lower: true, prec: 1, value: fan(func(f *fanResult) float64 { return f.LatencyP99 })},

		{workload: w4, name: mWrite, value: phase(writes, recPerSec)},
		{workload: w4, name: mPutP99, lower: true, prec: 1, value: phase(writes, p99)},
		{workload: w4, name: mRead, value: phase(reads, recPerSec)},
		{workload: w4, name: mPeakRSS, lower: true, value: peakRSS},

		{workload: wCeiling, name: mWrite, value: phase(writes, recPerSec)},
		{workload: wCeiling, name: mPutP99, lower: true, prec: 1, value: phase(writes, p99)},
	}
}

// cell is a metric's median for one server.
type cell struct {
	median float64
	n      int  // runs with a value
	flag   bool // some run of this server and workload reported an error
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// results are the medians of every metric for every server.
type results map[string]map[string]cell // workload+"/"+metric name -> server -> cell

func key(workload, name string) string { return workload + "/" + name }

func summarize(samples []sample) results {
	res := results{}
	for _, m := range metrics() {
		vals := map[string][]float64{}
		flagged := map[string]bool{}
		for i := range samples {
			s := &samples[i]
			if s.Workload != m.workload {
				continue
			}
			if s.Error != "" {
				flagged[s.Server] = true
			}
			if v, ok := m.value(s); ok {
				vals[s.Server] = append(vals[s.Server], v)
			}
		}
		row := map[string]cell{}
		for srv, v := range vals {
			row[srv] = cell{median: median(v), n: len(v), flag: flagged[srv]}
		}
		for srv := range flagged {
			if _, ok := row[srv]; !ok {
				row[srv] = cell{median: math.NaN(), flag: true}
			}
		}
		res[key(m.workload, m.name)] = row
	}
	return res
}

// get returns a median, if there is one.
func (r results) get(workload, name, server string) (float64, bool) {
	c, ok := r[key(workload, name)][server]
	if !ok || c.n == 0 {
		return 0, false
	}
	return c.median, true
}

// number formats v with prec decimals and thousands separators.
func number(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := fmt.Sprintf("%.*f", prec, v)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func ratio(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f×", v)
	case v >= 1:
		return fmt.Sprintf("%.1f×", v)
	default:
		return fmt.Sprintf("%.2f×", v)
	}
}

// target is one of the targets, judged on the medians.
type target struct {
	name, want string
	got        float64
	ok         bool // measured
	detail     string
	atLeast    bool // got must be >= limit (else <= limit, or < when strict)
	strict     bool
	limit      float64
	show       func(float64) string
}

func (t target) verdict() string {
	if !t.ok {
		return "not measured"
	}
	switch {
	case t.atLeast && t.got >= t.limit:
		return "**met**"
	case t.atLeast:
		return fmt.Sprintf("**missed** by %.0f %% (%s of the %s needed)", 100*(1-t.got/t.limit), t.show(t.got), t.show(t.limit))
	case t.strict && t.got < t.limit, !t.strict && t.got <= t.limit:
		return "**met**"
	default:
		return fmt.Sprintf("**missed**: %.0f %% over (%s against at most %s)", 100*(t.got/t.limit-1), t.show(t.got), t.show(t.limit))
	}
}

func targets(r results) []target {
	times := func(v float64) string { return ratio(v) }
	pct := func(v float64) string { return fmt.Sprintf("%.0f %%", 100*v) }
	msec := func(v float64) string { return number(v, 1) + " ms" }
	kib := func(v float64) string { return number(v, 1) + " KiB" }
	vs := func(workload, name string, prec int, unit string, higher bool) target {
		t := target{show: times, atLeast: higher}
		a, okA := r.get(workload, name, rivulet)
		b, okB := r.get(workload, name, kinesalite)
		if okA && okB && b > 0 {
			t.got, t.ok = a/b, true
			t.detail = fmt.Sprintf("%s against %s %s", number(a, prec), number(b, prec), unit)
		}
		return t
	}
	of := func(wa, wb, name string) target {
		t := target{show: pct, atLeast: true}
		a, okA := r.get(wa, name, rivulet)
		b, okB := r.get(wb, name, rivulet)
		if okA && okB && b > 0 {
			t.got, t.ok = a/b, true
			t.detail = fmt.Sprintf("%s against %s records/s", number(a, 0), number(b, 0))
		}
		return t
	}
	own := func(workload, name string, show func(float64) string) target {
		t := target{show: show}
		t.got, t.ok = r.get(workload, name, rivulet)
		return t
	}
	var ts []target
	add := func(t target, name, want string, limit float64) {
		t.name, t.want, t.limit = name, want, limit
		ts = append(ts, t)
	}
	add(vs(w1, mWrite, 0, "records/s", true), "W1 writes, records/s", "≥ 8× kinesalite", 8)
	add(of(w1, wCeiling, mWrite), "W1 writes, share of the ceiling", "≥ 70 % of --storage=discard", 0.7)
	add(vs(w1, mRead, 0, "records/s", true), "W1 reads, records/s", "≥ 8× kinesalite", 8)
	add(vs(w1, mPutP99, 1, "ms", false), "W1 PutRecords p99", "≤ 1/5 of kinesalite's (0.20×)", 0.2)
	add(vs(w1, mPeakRSS, 0, "MiB", false), "W1 peak RSS", "≤ 1/3 of kinesalite's (0.33×)", 1.0/3)
	add(vs(w2, mPutOne, 0, "records/s", true), "W2 PutRecord, records/s", "≥ 5× kinesalite", 5)
	p50 := own(w3, mFanP50, msec)
	p50.strict = true
	add(p50, "W3 fan-out p50", "< 10 ms", 10)
	p99 := own(w3, mFanP99, msec)
	p99.strict = true
	add(p99, "W3 fan-out p99", "< 50 ms", 50)
	add(of(w4, w1, mWrite), "W4 (--sync=always) writes", "≥ 40 % of W1's", 0.4)
	add(own(wStart, mPerShard, kib), "Idle memory per shard", "≤ 100 KiB", 100)
	add(vs(wStart, mStartup, 0, "ms", false), "Start-up time", "≤ 1/5 of kinesalite's (0.20×)", 0.2)
	return ts
}

const (
	notesBegin = "<!-- notes: kept as they are when bench/peers rewrites this file -->"
	notesEnd   = "<!-- /notes -->"
)

// keptNotes returns the notes section of an earlier report, if any.
func keptNotes(old string) string {
	_, rest, ok := strings.Cut(old, notesBegin)
	if !ok {
		return ""
	}
	notes, _, ok := strings.Cut(rest, notesEnd)
	if !ok {
		return ""
	}
	return strings.Trim(notes, "\n")
}

func (h *harness) writeReport() error {
	old, _ := os.ReadFile(h.out)
	var names []string
	for _, s := range h.servers {
		names = append(names, s.name)
	}
	doc := render(reportInput{
		env: h.env, runs: h.runs, duration: h.duration.String(), quick: h.quick, servers: names,
		samples: h.samples, workloads: h.workloads, skipped: h.skipped, notes: keptNotes(string(old)),
		took: h.finished.Sub(h.started).Round(time.Second).String(), idleShards: h.idleStreams * h.idleShardsPer,
		idleStreams: h.idleStreams, idleShardsPer: h.idleShardsPer, settle: h.settle.String(),
		commands: map[string]string{
			rivulet: rivuletServer().shown(nil), kinesalite: kinesaliteServer().shown(nil), kinesisMock: kinesisMockServer().shown(nil)},
	})
	if err := os.WriteFile(h.out, []byte(doc), 0o644); err != nil {
		return err
	}
	for _, t := range targets(summarize(h.samples)) {
		got := "—"
		if t.ok {
			got = t.show(t.got)
		}
		logf("target %-34s %-30s %-8s %s", t.name, t.want, got, strings.ReplaceAll(t.verdict(), "**", ""))
	}
	return nil
}

type reportInput struct {
	env                        environment
	runs                       int
	duration                   string
	quick                      bool
	servers                    []string
	samples                    []sample
	workloads                  []*workload
	skipped                    map[string]string
	notes                      string
	took                       string
	idleShards                 int
	idleStreams, idleShardsPer int
	settle                     string
	commands                   map[string]string
}

var displayName = map[string]string{rivulet: "Rivulet", kinesalite: "kinesalite", kinesisMock: "kinesis-mock"}

// render writes the report in Markdown.
func render(in reportInput) string {
	r := summarize(in.samples)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	peers := slices.DeleteFunc(slices.Clone(in.servers), func(s string) bool { return s == rivulet })

	p("# Benchmarks: Rivulet against kinesalite and kinesis-mock\n\n")
	p("Generated by `make bench-peers` ([bench/peers](../bench/peers)) on %s; the run took %s. ", in.env.Date, in.took)
	p("Every figure is the **median of %d run(s)**; every run starts a fresh server process and stops it afterwards, ", in.runs)
	p("and the runs of the servers and workloads alternate, round by round. Before each run the harness waits (up to 30 s) for the machine to be idle, under %.1f cores busy. ", quietBelow)
	p("Write phases last %s. ", in.duration)
	p("The load generator (`rivulet bench`) runs on the same machine as the server, so they share its %d cores; ", in.env.CPUs)
	p("W1, W2, W4 and the ceiling use its `--client raw` (hand-encoded, SigV4-signed Kinesis JSON over HTTP/1.1, the same for every server), so that the generator's own CPU takes as little as possible from the server under test. ")
	p("Rerun with `make bench-peers`; only the notes section below is kept when the file is regenerated.\n\n")
	if in.quick {
		p("> **Quick run** (QUICK=1): a smoke test of the harness, not a measurement.\n\n")
	}
	if mean, most := otherLoad(in.samples); most >= 0.1 {
		p("> **The machine was not idle:** other processes used %.2f cores on average during the load runs, %.2f at most. ", mean, most)
		p("Ratios hold better than absolute figures, since the servers' runs alternate; see \"other\" CPU in [All runs](#all-runs).\n\n")
	}

	p("## Targets\n\nFrom issue 6, judged on the medians below.\n\n")
	p("| target | wanted | measured | verdict |\n|---|---|---|---|\n")
	for _, t := range targets(r) {
		got := "—"
		if t.ok {
			got = t.show(t.got)
			if t.detail != "" {
				got += " (" + t.detail + ")"
			}
		}
		p("| %s | %s | %s | %s |\n", t.name, t.want, got, t.verdict())
	}

	p("\n## Results\n\nMedians; MB is 10⁶ bytes of record data; latencies are per call as the client sees them; ")
	p("RSS is the server process's resident memory (peak: the highest VmHWM/VmRSS sampled every 100 ms). ")
	p("The ratio columns are Rivulet's figure divided by the peer's: above 1× is better for rates, below 1× for times and memory.\n\n")
	p("| workload | metric | %s |", strings.Join(mapNames(in.servers), " | "))
	for _, peer := range peers {
		p(" Rivulet ÷ %s |", displayName[peer])
	}
	p("\n|---|---|%s\n", strings.Repeat("---:|", len(in.servers)+len(peers)))
	var flagged bool
	wl := map[string]*workload{}
	for _, w := range in.workloads {
		wl[w.id] = w
	}
	for _, m := range metrics() {
		w, ok := wl[m.workload]
		if !ok {
			continue
		}
		row := r[key(m.workload, m.name)]
		p("| %s | %s |", m.workload, m.name)
		for _, srv := range in.servers {
			c, ok := row[srv]
			switch {
			case !w.runsOn(srv) && w.kind == kindFanout:
				p(" no fan-out |")
			case !w.runsOn(srv):
				p(" not run |")
			case in.skipped[srv] != "":
				p(" did not start |")
			case !ok || c.n == 0:
				p(" failed |")
				flagged = true
			default:
				mark := ""
				if c.flag {
					mark, flagged = " †", true
				}
				if c.n < in.runs {
					mark += fmt.Sprintf(" (%d of %d runs)", c.n, in.runs)
				}
				p(" %s%s |", number(c.median, m.prec), mark)
			}
		}
		for _, peer := range peers {
			a, okA := r.get(m.workload, m.name, rivulet)
			bv, okB := r.get(m.workload, m.name, peer)
			if m.info || !okA || !okB || bv == 0 {
				p(" |")
				continue
			}
			p(" %s |", ratio(a/bv))
		}
		p("\n")
	}
	if flagged {
		p("\n† some runs reported an error; see [All runs](#all-runs).\n")
	}
	for _, srv := range in.servers {
		if why := in.skipped[srv]; why != "" {
			p("\n**%s did not run:** %s\n", displayName[srv], why)
		}
	}

	p("\n## Workloads\n\n")
	p("- **Start**: start-up time from the process's start to its first successful `ListStreams` (polled every 2 ms); RSS %s after start-up with no stream, then with %d idle shards (%d streams × %d shards, created and ACTIVE, then %s idle).\n",
		in.settle, in.idleShards, in.idleStreams, in.idleShardsPer, in.settle)
	for _, w := range in.workloads {
		if w.kind == kindIdle {
			continue
		}
		cmd := "rivulet bench --endpoint URL " + strings.Join(append(slices.Clone(w.args), benchCommon...), " ")
		if w.kind == kindFanout {
			cmd = "fanoutlat --endpoint URL " + strings.Join(w.args, " ")
		}
		p("- **%s** (%s): `%s`", w.id, w.title, cmd)
		if len(w.serve) > 0 {
			p(", against `rivulet serve ... %s`", strings.Join(w.serve, " "))
		}
		if w.only != nil {
			p("; Rivulet only")
		}
		p(".\n")
	}
	p("\nW3's `fanoutlat` ([bench/fanoutlat](../bench/fanoutlat)) registers a consumer, subscribes to every shard with SubscribeToShard from LATEST, ")
	p("puts 200 records/s with PutRecord, and times each record from the start of its PutRecord to the event that carries it. ")
	p("Neither kinesalite nor kinesis-mock implements SubscribeToShard.\n")

	p("\n## Servers\n\n")
	p("Each on a free loopback port; PORT, DIR and TLSPORT are filled in per run. Streams become ACTIVE at once on every server and the shard limit is raised to %d for the idle-shard workload.\n\n", idleShardLimit)
	for _, srv := range in.servers {
		p("- **%s**: `%s`\n", displayName[srv], in.commands[srv])
	}
	p("\nRivulet stores on disk (embedded JetStream file store, `--sync default`: acknowledged once written to the files); ")
	p("kinesalite and kinesis-mock keep everything in memory (their defaults). ")
	p("kinesalite's CLI listens on every interface, so it is started through its module API on 127.0.0.1 with the CLI's options; ")
	p("kinesis-mock has no listen-address setting and binds 0.0.0.0 (its HTTP port gets only loopback traffic here; it always opens a TLS port too).\n")

	p("\n## Machine and versions\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %d × %s |\n", in.env.CPUs, in.env.CPUModel)
	p("| memory | %s GiB |\n", in.env.MemoryGiB)
	p("| OS | %s, Linux %s |\n", in.env.OS, in.env.Kernel)
	p("| Go | %s |\n", in.env.GoVersion)
	dirty := ""
	if in.env.Dirty {
		dirty = " with uncommitted changes"
	}
	p("| Rivulet | commit %s%s |\n", in.env.Commit, dirty)
	p("| Node.js | %s |\n", in.env.Node)
	p("| kinesalite | %s (npm) |\n", orUnknown(in.env.Kinesalite))
	p("| kinesis-mock | %s (npm `kinesis-local`) |\n", orUnknown(in.env.KinesisLocal))

	p("\n## Commands\n\n```sh\n")
	p("make bench-peers                 # = go run ./bench/peers; QUICK=1 for a 2 s smoke run\n")
	p("npm install --prefix bench/.peers --save-exact kinesalite@%s kinesis-local@%s\n", kinesaliteVersion, kinesisLocalVersion)
	p("go build -o bench/.peers/bin/rivulet ./cmd/rivulet\n")
	p("go build -o bench/.peers/bin/fanoutlat ./bench/fanoutlat\n")
	p("```\n\nRaw reports of every run, the servers' logs and `results.json` are written to `bench/.peers/runs/`.\n")

	p("\n## All runs\n\n| workload | server | run | figures | error |\n|---|---|---:|---|---|\n")
	for i := range in.samples {
		s := &in.samples[i]
		fig := ""
		if s.Error == "" || s.Bench != nil || s.Fanout != nil || s.IdleRSS > 0 {
			fig = s.summary()
		}
		p("| %s | %s | %d | %s | %s |\n", s.Workload, displayName[s.Server], s.Run, fig, strings.ReplaceAll(s.Error, "|", `\|`))
	}

	p("\n## Notes\n\n%s\n", notesBegin)
	if in.notes != "" {
		p("%s\n", in.notes)
	} else {
		p("(None yet. Where a target is missed, say here by how much and what the profile shows stands in the way.)\n")
	}
	p("%s\n", notesEnd)
	return b.String()
}

// otherLoad is the mean and the highest CPU use, in cores, of processes
// other than the server and the load generator during the load runs.
func otherLoad(samples []sample) (mean, most float64) {
	var sum float64
	var n int
	for _, s := range samples {
		if s.Wall <= 0 {
			continue
		}
		c := s.OtherCPU / s.Wall
		sum += c
		n++
		most = max(most, c)
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), most
}

func mapNames(servers []string) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = displayName[s]
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "not installed"
	}
	return s
}
