package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/bench/loadgen"
	"github.com/rivulet/rivulet/bench/rawclient"
	"github.com/rivulet/rivulet/internal/client"
)

func init() {
	register(command{name: "bench", summary: "generate load against any Kinesis endpoint and report throughput", run: runBench})
}

const benchHelp = `Usage: rivulet bench [flags]

Generates load against a Kinesis endpoint (Rivulet, kinesalite, kinesis-mock
or AWS) through the AWS SDK, and reports records/s, MB/s (10^6 bytes of
record data), call latency percentiles and errors by type.

--client raw sends the same Kinesis requests, signed the same way, through a
lightweight client that costs a fraction of the SDK's CPU: for benchmarking
servers on a small machine, where the load generator shares the cores with
the server under test. The SDK (--client sdk, the default) is the reference.

The stream is created with --shards shards if it does not exist, and used
as it is if it does. --workers writers each send --batch-size records per
call (1: PutRecord, more: PutRecords) of --record-size bytes, until
--duration has passed or --records records were sent. Throttled and failed
calls are retried with backoff and counted.

Modes: write; read (the stream from TRIM_HORIZON to its tip, on every
shard); write-read (write, then read everything back and check that every
acknowledged record is read exactly once: each record carries a unique id).

Progress goes to stderr (a bar on a terminal, a line a second otherwise);
the report to stdout, as a table or as one JSON object (see docs/CLI.md).
Exit status: 0 if every record was written (and, in write-read mode, read
back exactly once), 1 if not, 2 for bad flags.

The defaults write 500 x 1 KiB records per PutRecords from 8 writers for
10 s to 4 shards, then read them back. Flags:
`

func runBench(ctx context.Context, e *env, args []string) int {
	var (
		conn     client.Config
		cfg      loadgen.Config
		mode     string
		getRate  float64
		output   string
		progress string
		kind     string
	)
	fs := newFlagSet("bench")
	conn.AddFlags(fs, e.lookupEnv)
	fs.StringVar(&cfg.Stream, "stream", "rivulet-bench", "stream to use, created if missing")
	fs.IntVar(&cfg.Shards, "shards", 4, "shard count of a stream the run creates")
	fs.BoolVar(&cfg.DeleteAfter, "delete-after", false, "delete the stream at the end")
	fs.StringVar(&mode, "mode", string(loadgen.ModeWriteRead), "write, read or write-read")
	fs.IntVar(&cfg.Workers, "workers", 8, "concurrent writers")
	fs.IntVar(&cfg.RecordSize, "record-size", 1024, "bytes of data per record (at least 16 in write-read mode)")
	fs.IntVar(&cfg.BatchSize, "batch-size", 500, "records per call: 1 uses PutRecord, up to 500 PutRecords")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to write")
	fs.Int64Var(&cfg.Records, "records", 0, "write this many records instead of writing for --duration")
	fs.IntVar(&cfg.PartitionKeys, "partition-keys", 0, "distinct partition keys, used in turn (0: one per record)")
	fs.IntVar(&cfg.MaxRetries, "max-retries", 10, "retries of a failed call or entry before it counts as failed")
	fs.Float64Var(&getRate, "get-rate", 5, "GetRecords calls per second per shard (0: no cap)")
	fs.StringVar(&output, "output", "table", "report format: table or json")
	fs.StringVar(&progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, else nothing), bar, lines or none")
	fs.StringVar(&kind, "client", "sdk", "Kinesis client: sdk (aws-sdk-go-v2) or raw (lightweight, same requests, less CPU)")
	if code, done := parseFlags(e, fs, "bench", benchHelp, args); done {
		return code
	}
	cfg.Mode = loadgen.Mode(mode)
	cfg.GetRate = getRate
	if getRate == 0 {
		cfg.GetRate = -1
	}
	err := cfg.Validate()
	switch {
	case err != nil:
	case isSet(fs, "records") && isSet(fs, "duration"):
		err = errors.New("give --duration or --records, not both")
	case getRate < 0:
		err = errors.New("--get-rate must not be negative")
	case output != "table" && output != "json":
		err = fmt.Errorf("invalid --output %q: want table or json", output)
	case progress != "auto" && progress != "bar" && progress != "lines" && progress != "none":
		err = fmt.Errorf("invalid --progress %q: want auto, bar, lines or none", progress)
	case kind != "sdk" && kind != "raw":
		err = fmt.Errorf("invalid --client %q: want sdk or raw", kind)
	}
	if err != nil {
		return usageError(e, "bench", err)
	}
	conn.MaxConns = cfg.Workers + 16
	conn.MaxAttempts = 1 // the generator retries, and counts what it retries
	var api loadgen.API
	if kind == "raw" {
		rc, err := rawclient.New(conn)
		if err != nil {
			return usageError(e, "bench", err)
		}
		defer rc.Close()
		api = rc
	} else {
		kc, err := client.New(conn)
		if err != nil {
			return usageError(e, "bench", err)
		}
		api = kc
	}
	if progress == "auto" {
		// Quiet unless someone is watching.
		progress = "none"
		if isTerminal(e.stderr) {
			progress = "bar"
		}
	}
	if progress != "none" {
		pr := &progressPrinter{w: e.stderr, bar: progress == "bar"}
		cfg.OnProgress = pr.print
		if !pr.bar {
			cfg.ProgressEvery = time.Second
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, api, cfg)
	if rep == nil {
		fmt.Fprintf(e.stderr, "rivulet bench: %v\n", err)
		return exitFailure
	}
	rep.Endpoint = conn.Endpoint
	rep.Version = versionString()
	if cfg.Mode != loadgen.ModeRead && isSet(fs, "shards") && rep.Shards != cfg.Shards {
		fmt.Fprintf(e.stderr, "rivulet bench: note: stream %s already existed with %d open shards; it was used as it is\n", cfg.Stream, rep.Shards)
	}
	if output == "json" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		rep.WriteTable(e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet bench: %v\n", err)
	}
	if !rep.OK {
		return exitFailure
	}
	return exitOK
}

// progressPrinter draws loadgen progress: a bar redrawn in place on a
// terminal, else one line per report.
type progressPrinter struct {
	w   io.Writer
	bar bool
}

func (p *progressPrinter) print(pr loadgen.Progress) {
	var b strings.Builder
	if p.bar {
		b.WriteString(eraseLine)
	}
	fmt.Fprintf(&b, "%-5s ", pr.Phase)
	if pr.Fraction >= 0 {
		if p.bar {
			writeBar(&b, pr.Fraction)
		}
		fmt.Fprintf(&b, "%3.0f%% ", pr.Fraction*100)
	}
	secs := pr.Elapsed.Seconds()
	rate, mb := 0.0, 0.0
	if secs > 0 {
		rate, mb = float64(pr.Records)/secs, float64(pr.Bytes)/1e6/secs
	}
	fmt.Fprintf(&b, "%6.1fs %13s records %11s rec/s %8.1f MB/s  errors %s", secs, groupInt(pr.Records), groupInt(int64(rate)), mb, groupInt(pr.Errors))
	if pr.Throttled > 0 {
		fmt.Fprintf(&b, " (%s throttled)", groupInt(pr.Throttled))
	}
	if !p.bar || pr.Done {
		b.WriteString("\n")
	}
	io.WriteString(p.w, b.String())
}

// groupInt writes n with thousands separators.
func groupInt(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupInt(-n)
	}
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
