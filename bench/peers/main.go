// Command peers is the side-by-side benchmark behind `make bench-peers`.
//
// It installs kinesalite and kinesis-mock (npm kinesis-local) at pinned
// versions into bench/.peers (git-ignored), builds Rivulet once, starts
// each server on a loopback port, runs the same `rivulet bench` workloads
// against each one after the other, and writes docs/BENCHMARKS.md from the
// medians. Every process it starts is stopped by its PID when it ends,
// also on an error or a signal.
//
//	go run ./bench/peers               # the full run, about 10 minutes
//	QUICK=1 go run ./bench/peers       # one 2 s run of each, to test the harness
//
// Settings come from flags or the environment: QUICK, RUNS, DURATION,
// SERVERS (a comma-separated subset of rivulet,kinesalite,kinesis-mock) and
// OUT. A quick run writes bench/.peers/BENCHMARKS-quick.md unless OUT says
// otherwise, so it never replaces the real report. Raw results (every
// run's JSON and the servers' logs) go to bench/.peers/runs/TIMESTAMP/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	quick    bool
	runs     int
	duration time.Duration // of every write phase
	servers  []string
	out      string
	// idleStreams x idleShardsPer idle shards for the memory workload.
	idleStreams, idleShardsPer int
	settle                     time.Duration // idle time before reading RSS
	// quietWait bounds the wait for an idle machine before each run,
	// quietBudget all those waits together.
	quietWait, quietBudget time.Duration
}

func main() { os.Exit(run()) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-peers: "+format+"\n", args...)
}

func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

func parseOptions(args []string) (options, error) {
	var o options
	var servers string
	fs := flag.NewFlagSet("bench-peers", flag.ContinueOnError)
	quick, _ := strconv.ParseBool(envOr("QUICK", "false"))
	fs.BoolVar(&o.quick, "quick", quick, "one short run of each workload, to test the harness (env QUICK)")
	fs.IntVar(&o.runs, "runs", 0, "runs of each workload; medians are reported (env RUNS; default 3, 1 when quick)")
	fs.DurationVar(&o.duration, "duration", 0, "write phase of each workload (env DURATION; default 10s, 2s when quick)")
	fs.StringVar(&servers, "servers", envOr("SERVERS", strings.Join([]string{rivulet, kinesalite, kinesisMock}, ",")), "servers to run, comma-separated (env SERVERS)")
	fs.StringVar(&o.out, "out", os.Getenv("OUT"), "report to write, relative to the repository (env OUT; default docs/BENCHMARKS.md, bench/.peers/BENCHMARKS-quick.md when quick)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.runs == 0 {
		o.runs = 3
		if o.quick {
			o.runs = 1
		}
		if v := os.Getenv("RUNS"); v != "" {
			if o.runs, err = strconv.Atoi(v); err != nil {
				return o, fmt.Errorf("RUNS: %w", err)
			}
		}
	}
	if o.duration == 0 {
		o.duration = 10 * time.Second
		if o.quick {
			o.duration = 2 * time.Second
		}
		if v := os.Getenv("DURATION"); v != "" {
			if o.duration, err = time.ParseDuration(v); err != nil {
				return o, fmt.Errorf("DURATION: %w", err)
			}
		}
	}
	if o.out == "" {
		o.out = "docs/BENCHMARKS.md"
		if o.quick {
			o.out = "bench/.peers/BENCHMARKS-quick.md"
		}
	}
	for _, s := range strings.Split(servers, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case rivulet, kinesalite, kinesisMock:
			o.servers = append(o.servers, s)
		case "":
		default:
			return o, fmt.Errorf("unknown server %q: want rivulet, kinesalite or kinesis-mock", s)
		}
	}
	if !slices.Contains(o.servers, rivulet) {
		return o, errors.New("the servers must include rivulet")
	}
	if o.runs < 1 || o.duration < time.Second {
		return o, errors.New("need at least 1 run and a duration of at least 1s")
	}
	o.idleStreams, o.idleShardsPer = 10, 100
	o.settle = 3 * time.Second
	o.quietWait, o.quietBudget = 30*time.Second, 4*time.Minute
	if o.quick {
		o.settle = time.Second
		o.quietWait, o.quietBudget = 3*time.Second, 15*time.Second
	}
	return o, nil
}

// harness is one run of the benchmark.
type harness struct {
	options
	root, work, runDir    string
	rivuletBin, fanoutBin string
	nodeModules           string
	servers               []*server
	procs                 procSet
	env                   environment
	workloads             []*workload
	samples               []sample
	started, finished     time.Time
	skipped               map[string]string // server -> why it could not run
}

func run() int {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		logf("%v", err)
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		logf("%v", err)
		return 1
	}
	h := &harness{options: o, root: root, work: filepath.Join(root, "bench", ".peers"), skipped: map[string]string{}}
	h.nodeModules = filepath.Join(h.work, "node_modules")
	h.rivuletBin = filepath.Join(h.work, "bin", "rivulet")
	h.fanoutBin = filepath.Join(h.work, "bin", "fanoutlat")
	h.started = time.Now()
	h.runDir = filepath.Join(h.work, "runs", h.started.UTC().Format("20060102T150405Z"))
	if !filepath.IsAbs(h.out) {
		h.out = filepath.Join(root, h.out)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	defer h.procs.stopAll()

	if err := h.setup(ctx); err != nil {
		logf("%v", err)
		return 1
	}
	logf("%d run(s) of each workload, %v write phases; servers %s; raw results in %s",
		h.runs, h.duration, strings.Join(h.options.servers, ", "), rel(root, h.runDir))
	for r := 1; r <= h.runs; r++ {
		if err := h.runRound(ctx, r); err != nil {
			logf("%v", err)
			return 1
		}
	}
	h.finished = time.Now()
	// Paths in messages, relative to the repository, as the report shows them.
	for i := range h.samples {
		h.samples[i].Error = strings.ReplaceAll(h.samples[i].Error, h.root+string(filepath.Separator), "")
	}
	for k, v := range h.skipped {
		h.skipped[k] = strings.ReplaceAll(v, h.root+string(filepath.Separator), "")
	}
	if err := h.saveResults(); err != nil {
		logf("%v", err)
		return 1
	}
	if err := h.writeReport(); err != nil {
		logf("%v", err)
		return 1
	}
	logf("done in %v; wrote %s", h.finished.Sub(h.started).Round(time.Second), rel(root, h.out))
	return 0
}

func (h *harness) setup(ctx context.Context) error {
	if err := os.MkdirAll(h.runDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.work, "tmp"), 0o755); err != nil {
		return err
	}
	goTool := envOr("GO", "go")
	for _, b := range []struct{ out, pkg string }{{h.rivuletBin, "./cmd/rivulet"}, {h.fanoutBin, "./bench/fanoutlat"}} {
		logf("%s build -o %s %s", goTool, rel(h.root, b.out), b.pkg)
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", b.out, b.pkg)
		cmd.Dir = h.root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b.pkg, err)
		}
	}
	if slices.Contains(h.options.servers, kinesalite) || slices.Contains(h.options.servers, kinesisMock) {
		if err := installPeers(ctx, h.work); err != nil {
			return err
		}
	}
	for _, name := range h.options.servers {
		var s *server
		switch name {
		case rivulet:
			s = rivuletServer()
		case kinesalite:
			s = kinesaliteServer()
			s.version = installedVersion(h.work, "kinesalite")
		case kinesisMock:
			s = kinesisMockServer()
			s.version = installedVersion(h.work, "kinesis-local")
		}
		h.servers = append(h.servers, s)
	}
	h.env = probeEnvironment(ctx, h.root)
	h.workloads = workloads(h.options)
	return nil
}

// server returns the selected server by name, or nil.
func (h *harness) server(name string) *server {
	for _, s := range h.servers {
		if s.name == name {
			return s
		}
	}
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "cmd", "rivulet")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the rivulet repository")
		}
		dir = parent
	}
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
