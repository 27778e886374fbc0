package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/bench/loadgen"
)

// Workload kinds.
const (
	kindBench  = "bench"  // rivulet bench --output json
	kindFanout = "fanout" // bench/fanoutlat
	kindIdle   = "idle"   // start-up time and idle memory
)

// workload is one line of the list.
type workload struct {
	id    string // W1, W2, ...
	title string
	kind  string
	// only limits the workload to these servers (nil: every one).
	only []string
	// serve are more `rivulet serve` flags for this workload.
	serve []string
	// args follow `rivulet bench --endpoint URL` or `fanoutlat --endpoint URL`.
	args []string
}

func (w *workload) runsOn(server string) bool {
	return w.only == nil || slices.Contains(w.only, server)
}

// Workload ids.
const (
	wStart   = "Start"
	w1       = "W1"
	w2       = "W2"
	w3       = "W3"
	w4       = "W4"
	wCeiling = "Ceiling"
)

// benchCommon makes every bench print one JSON report and no progress.
var benchCommon = []string{"--output", "json", "--progress", "none"}

func workloads(o options) []*workload {
	d := o.duration.String()
	// W1: PutRecords of 500 x 1 KiB from 8 writers to 4 shards, then every
	// record read back from TRIM_HORIZON with GetRecords, as fast as the
	// server answers (--get-rate 0: no per-shard cap).
	//
	// The load generator shares the machine's cores with the server, so
	// the bench workloads use the lightweight client (--client raw), the
	// same for every server: through the SDK the generator spent about
	// 6.7 µs of CPU per W1 record and 164 µs per W2 call, as much as the
	// servers it measured.
	w1Args := []string{"--stream", "w1", "--shards", "4", "--workers", "8", "--record-size", "1024", "--batch-size", "500",
		"--duration", d, "--mode", "write-read", "--get-rate", "0", "--client", "raw"}
	ceilingArgs := slices.Clone(w1Args)
	ceilingArgs[slices.Index(ceilingArgs, "write-read")] = "write"
	return []*workload{
		{id: wStart, title: "Start-up and idle memory", kind: kindIdle},
		{id: w1, title: "Write, then read", kind: kindBench, args: w1Args},
		{id: w2, title: "Small writes", kind: kindBench, args: []string{"--stream", "w2", "--shards", "4", "--workers", "64",
			"--record-size", "100", "--batch-size", "1", "--duration", d, "--mode", "write", "--client", "raw"}},
		{id: w3, title: "Fan-out latency", kind: kindFanout, only: []string{rivulet},
			args: []string{"--stream", "w3", "--shards", "4", "--rate", "200", "--record-size", "100", "--duration", d}},
		{id: w4, title: "W1 with --sync=always", kind: kindBench, only: []string{rivulet}, serve: []string{"--sync", "always"}, args: w1Args},
		{id: wCeiling, title: "W1 writes with --storage=discard", kind: kindBench, only: []string{rivulet},
			serve: []string{"--storage", "discard"}, args: ceilingArgs},
	}
}

// sample is one run of one workload against one server.
type sample struct {
	Workload string          `json:"workload"`
	Server   string          `json:"server"`
	Run      int             `json:"run"`
	Error    string          `json:"error,omitempty"`
	Bench    *loadgen.Report `json:"bench,omitempty"`
	Fanout   *fanResult      `json:"fanout,omitempty"`
	// StartupMS is the time from process start to the first successful
	// ListStreams.
	StartupMS float64 `json:"startup_ms"`
	// PeakRSS is the server's highest VmHWM/VmRSS during the run, bytes.
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
	// ServerCPU and ClientCPU are CPU seconds used during the run by the
	// server and by the load generator.
	ServerCPU float64 `json:"server_cpu_seconds,omitempty"`
	ClientCPU float64 `json:"client_cpu_seconds,omitempty"`
	// OtherCPU is the CPU time the rest of the machine used meanwhile:
	// other processes skew the figures.
	OtherCPU float64 `json:"other_cpu_seconds,omitempty"`
	Wall     float64 `json:"wall_seconds,omitempty"`
	// IdleRSS is the RSS after start-up with no stream; ShardsRSS with
	// IdleShards idle shards.
	IdleRSS    int64 `json:"idle_rss_bytes,omitempty"`
	ShardsRSS  int64 `json:"shards_rss_bytes,omitempty"`
	IdleShards int   `json:"idle_shards,omitempty"`
}

// fanResult is the part of fanoutlat's JSON report used here.
type fanResult struct {
	Put        int     `json:"put"`
	Received   int     `json:"received"`
	Missing    int     `json:"missing"`
	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP90 float64 `json:"latency_p90_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`
	LatencyMax float64 `json:"latency_max_ms"`
}

// runRound runs every workload once against every server. Rounds rather
// than workloads are the outer loop, so that a drift in the machine's
// speed (other processes) touches every server and every workload alike,
// and ratios between them hold. A failed run is recorded, not fatal; only
// cancellation stops the harness.
func (h *harness) runRound(ctx context.Context, r int) error {
	for _, w := range h.workloads {
		for _, s := range h.servers {
			if !w.runsOn(s.name) {
				continue
			}
			if why, ok := h.skipped[s.name]; ok {
				h.samples = append(h.samples, sample{Workload: w.id, Server: s.name, Run: r, Error: why})
				continue
			}
			smp := h.runOne(ctx, w, s, r)
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			if smp.Error != "" {
				logf("[%s %d/%d] %s: FAILED: %s", w.id, r, h.runs, s.name, smp.Error)
			} else {
				logf("[%s %d/%d] %s: %s", w.id, r, h.runs, s.name, smp.summary())
			}
			h.samples = append(h.samples, smp)
		}
	}
	return nil
}

func (h *harness) runOne(ctx context.Context, w *workload, s *server, r int) sample {
	smp := sample{Workload: w.id, Server: s.name, Run: r}
	h.waitQuiet(ctx)
	base := filepath.Join(h.runDir, fmt.Sprintf("%s-%s-%d", w.id, s.name, r))
	port, err := freePort()
	if err != nil {
		smp.Error = err.Error()
		return smp
	}
	var dataDir string
	if s.name == rivulet {
		if dataDir, err = os.MkdirTemp(filepath.Join(h.work, "tmp"), "data-"); err != nil {
			smp.Error = err.Error()
			return smp
		}
	}
	argv, env := s.command(h, port, dataDir, w.serve)
	p, startup, err := h.procs.start(ctx, s.name, argv, env, port, base+".server.log", dataDir)
	if err != nil {
		if dataDir != "" {
			os.RemoveAll(dataDir)
		}
		smp.Error = err.Error()
		if w.id == wStart && r == 1 && s.name != rivulet {
			// A peer that cannot start at all is reported as such and
			// not tried again.
			h.skipped[s.name] = "could not start: " + err.Error()
		}
		return smp
	}
	defer h.procs.stop(p)
	smp.StartupMS = float64(startup.Microseconds()) / 1000

	switch w.kind {
	case kindIdle:
		h.idle(ctx, p, &smp)
	case kindBench, kindFanout:
		h.load(ctx, w, p, base, &smp)
	}
	return smp
}

// quietBelow is the CPU use, in cores, under which the machine counts as
// idle between runs.
const quietBelow = 0.2

// waitQuiet waits until the machine has been nearly idle for a second, so
// that other processes (a shared developer machine) skew the next run less.
// It waits at most quietWait per run and quietBudget in all, then goes on.
func (h *harness) waitQuiet(ctx context.Context) {
	start := time.Now()
	deadline := start.Add(min(h.quietWait, h.quietBudget))
	defer func() { h.quietBudget -= time.Since(start) }()
	logged := false
	for {
		t0 := time.Now()
		b0, err := readBusy()
		if err != nil || !sleepCtx(ctx, time.Second) {
			return
		}
		b1, err := readBusy()
		if err != nil {
			return
		}
		used := (b1 - b0) / time.Since(t0).Seconds()
		switch {
		case used < quietBelow:
			return
		case time.Now().After(deadline):
			logf("machine still busy (%.2f cores in use by other processes); going on", used)
			return
		case !logged:
			logf("machine busy (%.2f cores in use by other processes); waiting up to %v", used, time.Until(deadline).Round(time.Second))
			logged = true
		}
	}
}

// idle reads the RSS of a server after start-up, then again once
// idleStreams x idleShardsPer shards exist and it has been idle a while.
func (h *harness) idle(ctx context.Context, p *proc, smp *sample) {
	if !sleepCtx(ctx, h.settle) {
		return
	}
	m, err := readMemory(p.pid)
	if err != nil {
		smp.Error = err.Error()
		return
	}
	smp.IdleRSS = m.rss
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	for i := range h.idleStreams {
		body := fmt.Sprintf(`{"StreamName":"idle-%03d","ShardCount":%d}`, i, h.idleShardsPer)
		if status, out, err := call(ctx, hc, p.endpoint, "CreateStream", body); err != nil || status != http.StatusOK {
			smp.Error = fmt.Sprintf("CreateStream: %d %s %v", status, bytes.TrimSpace(out), err)
			return
		}
	}
	for i := range h.idleStreams {
		if err := waitActive(ctx, hc, p.endpoint, fmt.Sprintf("idle-%03d", i)); err != nil {
			smp.Error = err.Error()
			return
		}
	}
	if !sleepCtx(ctx, h.settle) {
		return
	}
	if m, err = readMemory(p.pid); err != nil {
		smp.Error = err.Error()
		return
	}
	smp.ShardsRSS = m.rss
	smp.IdleShards = h.idleStreams * h.idleShardsPer
}

func waitActive(ctx context.Context, hc *http.Client, endpoint, stream string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, out, err := call(ctx, hc, endpoint, "DescribeStreamSummary", fmt.Sprintf(`{"StreamName":%q}`, stream))
		if err == nil && status == http.StatusOK {
			var d struct{ StreamDescriptionSummary struct{ StreamStatus string } }
			if json.Unmarshal(out, &d) == nil && d.StreamDescriptionSummary.StreamStatus == "ACTIVE" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream %s not ACTIVE within 2 minutes (last: %d %s %v)", stream, status, bytes.TrimSpace(out), err)
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// load runs rivulet bench (or fanoutlat) against p, sampling the server's
// memory and CPU while it runs.
func (h *harness) load(ctx context.Context, w *workload, p *proc, base string, smp *sample) {
	bin, args := h.rivuletBin, append([]string{"bench", "--endpoint", p.endpoint}, append(slices.Clone(w.args), benchCommon...)...)
	if w.kind == kindFanout {
		bin, args = h.fanoutBin, append([]string{"--endpoint", p.endpoint}, w.args...)
	}
	// Generous: kinesis-mock's calls take seconds each under this load.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute+5*h.duration)
	defer cancel()
	errLog, err := os.Create(base + ".stderr")
	if err != nil {
		smp.Error = err.Error()
		return
	}
	defer errLog.Close()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, errLog
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1")
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second

	peak := samplePeak(p.pid)
	cpu0, _ := readCPU(p.pid)
	busy0, _ := readBusy()
	t0 := time.Now()
	runErr := cmd.Run()
	smp.Wall = time.Since(t0).Seconds()
	cpu1, _ := readCPU(p.pid)
	busy1, _ := readBusy()
	smp.PeakRSS = peak.finish()
	smp.ServerCPU = cpu1 - cpu0
	if ps := cmd.ProcessState; ps != nil {
		smp.ClientCPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	smp.OtherCPU = max(0, busy1-busy0-smp.ServerCPU-smp.ClientCPU)
	if err := os.WriteFile(base+".json", stdout.Bytes(), 0o644); err != nil {
		smp.Error = err.Error()
		return
	}
	var decodeErr error
	if w.kind == kindFanout {
		smp.Fanout = new(fanResult)
		decodeErr = json.Unmarshal(stdout.Bytes(), smp.Fanout)
	} else {
		smp.Bench = new(loadgen.Report)
		decodeErr = json.Unmarshal(stdout.Bytes(), smp.Bench)
	}
	switch {
	case cctx.Err() != nil:
		smp.Error = fmt.Sprintf("timed out after %v", time.Since(t0).Round(time.Second))
	case decodeErr != nil:
		smp.Error = fmt.Sprintf("%v: no report (%v); see %s", runErr, decodeErr, base+".stderr")
		smp.Bench, smp.Fanout = nil, nil
	case runErr != nil:
		// The report is there but says something failed; keep the figures.
		smp.Error = fmt.Sprintf("%v: %s", runErr, lastLine(base+".stderr"))
	}
}

func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// summary is one progress line.
func (s *sample) summary() string {
	switch {
	case s.Bench != nil:
		var b strings.Builder
		if w := s.Bench.Write; w != nil {
			fmt.Fprintf(&b, "write %s rec/s %.1f MB/s p50 %.1f p99 %.1f ms", group(w.RecordsPerSecond), w.MBPerSecond, w.Latency.P50, w.Latency.P99)
		}
		if r := s.Bench.Read; r != nil {
			fmt.Fprintf(&b, "; read %s rec/s", group(r.RecordsPerSecond))
		}
		fmt.Fprintf(&b, "; peak RSS %.0f MiB; CPU s: server %.1f, client %.1f, other %.1f", mib(s.PeakRSS), s.ServerCPU, s.ClientCPU, s.OtherCPU)
		return b.String()
	case s.Fanout != nil:
		return fmt.Sprintf("%d records, latency p50 %.1f p99 %.1f ms; CPU s: other %.1f", s.Fanout.Received, s.Fanout.LatencyP50, s.Fanout.LatencyP99, s.OtherCPU)
	default:
		return fmt.Sprintf("start-up %.0f ms; RSS %.1f MiB idle, %.1f MiB with %d shards", s.StartupMS, mib(s.IdleRSS), mib(s.ShardsRSS), s.IdleShards)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// group writes v rounded with thousands separators.
func group(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// saveResults writes every sample and the environment as JSON next to
// the raw reports.
func (h *harness) saveResults() error {
	b, err := json.MarshalIndent(struct {
		Environment environment `json:"environment"`
		Samples     []sample    `json:"samples"`
	}{h.env, h.samples}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(h.runDir, "results.json"), b, 0o644)
}
