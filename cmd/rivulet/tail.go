package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/client/shardreader"
)

func init() {
	register(command{name: "tail", summary: "print a stream's records, across all shards and reshards", run: runTail})
}

const tailHelp = `Usage: rivulet tail --stream NAME [flags]

Reads every shard of a stream with GetRecords and prints its records. A
child shard is read only after all its parents reached their end, so each
partition key's records come out in order across splits and merges. KPL
aggregated records are split into their user records. At most 5
GetRecords calls per second are made per shard, as Kinesis allows.

--from is trim-horizon (the oldest record), latest (only new records), an
RFC 3339 time (2026-01-02T15:04:05Z) or a negative duration (-10m: that
long ago). With latest it follows the stream until interrupted; otherwise
it stops once every shard is read to its tip, unless --follow is given.

With --app NAME, tail is a KCL application named NAME instead: its
workers (every rivulet tail --app NAME, and any other KCL worker of NAME)
share the stream's shards through leases in the DynamoDB table NAME,
served by rivulet serve on the same endpoint (--dynamodb-endpoint to use
another). After each batch is written to standard output, its shard is
checkpointed, so the next run resumes after it; a record may be printed
again only if a worker stopped, or lost its lease, between printing and
checkpointing it. --from applies only to shards without a checkpoint. It
follows until interrupted or -n; SIGINT or SIGTERM checkpoints and
releases the leases, so other workers take them at once.

Formats: raw prints each record's data on a line; json prints the data as
JSON if it is JSON, else as a JSON string; json-meta prints one object per
record with shard_id, sequence_number, sub_sequence_number, partition_key,
explicit_hash_key (if any), arrival_time and data (as for json).

Flags:
`

type tailFlags struct {
	conn        client.Config
	stream      string
	from        string
	follow      bool
	noFollow    bool
	max         int64
	format      string
	deaggregate bool

	// KCL application mode (tail_app.go).
	app      string
	workerID string
	failover time.Duration
	fanout   bool
}

func runTail(ctx context.Context, e *env, args []string) int {
	var f tailFlags
	fs := newFlagSet("tail")
	f.conn.AddFlags(fs, e.lookupEnv)
	fs.StringVar(&f.stream, "stream", "", "stream name or ARN (required)")
	fs.StringVar(&f.from, "from", "trim-horizon", "where to start: trim-horizon, latest, an RFC 3339 time or -DURATION")
	fs.BoolVar(&f.follow, "follow", false, "keep reading at the tip (default with --from latest)")
	fs.BoolVar(&f.noFollow, "no-follow", false, "stop once every shard is read to its tip")
	fs.Int64Var(&f.max, "n", 0, "stop after N records (0: no limit)")
	fs.StringVar(&f.format, "format", "raw", "output: raw, json or json-meta")
	fs.BoolVar(&f.deaggregate, "deaggregate", true, "split KPL aggregated records into user records")
	fs.StringVar(&f.app, "app", "", "consume as the KCL application `NAME`, sharing the shards with its other workers; NAME is also the lease table")
	fs.StringVar(&f.workerID, "worker-id", "", "with --app: this worker's `ID` in the lease table (default HOST-PID)")
	fs.DurationVar(&f.failover, "failover", 10*time.Second, "with --app: how long a lease of a silent worker lasts before others take it")
	fs.BoolVar(&f.fanout, "fanout", false, "with --app: read with enhanced fan-out, as the stream consumer NAME")
	f.conn.AddDynamoDBFlags(fs)
	if code, done := parseFlags(e, fs, "tail", tailHelp, args); done {
		return code
	}
	from, err := parseFrom(f.from, time.Now())
	if err == nil {
		err = f.validate(fs)
	}
	if err != nil {
		return usageError(e, "tail", err)
	}
	if f.app != "" {
		return runTailApp(ctx, e, &f, from)
	}
	follow := from.Type == shardreader.Latest.Type
	if isSet(fs, "follow") {
		follow = f.follow
	}
	if f.noFollow {
		follow = false
	}
	kc, err := client.New(f.conn)
	if err != nil {
		return usageError(e, "tail", err)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	var printed int64
	err = shardreader.Read(ctx, kc, shardreader.Config{
		Stream:      f.stream,
		From:        from,
		Follow:      follow,
		Deaggregate: f.deaggregate,
	}, func(recs []shardreader.Record) error {
		for _, r := range recs {
			if err := writeRecord(out, f.format, r); err != nil {
				return err
			}
			printed++
			if f.max > 0 && printed >= f.max {
				break
			}
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if f.max > 0 && printed >= f.max {
			return shardreader.Stop
		}
		return nil
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	switch {
	case err == nil, errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitOK // interrupted: the usual way to end --follow
	default:
		fmt.Fprintf(e.stderr, "rivulet tail: %v\n", err)
		return exitFailure
	}
}

func (f *tailFlags) validate(fs *flag.FlagSet) error {
	switch {
	case f.stream == "":
		return errors.New("--stream is required")
	case f.max < 0:
		return errors.New("-n must not be negative")
	case f.format != "raw" && f.format != "json" && f.format != "json-meta":
		return fmt.Errorf("invalid --format %q: want raw, json or json-meta", f.format)
	case f.noFollow && isSet(fs, "follow") && f.follow:
		return errors.New("--follow and --no-follow contradict each other")
	}
	if f.app == "" {
		for _, name := range []string{"worker-id", "failover", "fanout", "dynamodb-endpoint"} {
			if isSet(fs, name) {
				return fmt.Errorf("--%s needs --app", name)
			}
		}
		return nil
	}
	switch {
	case f.noFollow || isSet(fs, "follow") && !f.follow:
		return errors.New("--app follows until interrupted or -n; --no-follow does not apply")
	case !f.deaggregate:
		return errors.New("--app always splits aggregated records; --deaggregate=false does not apply")
	case f.failover < 100*time.Millisecond:
		return fmt.Errorf("--failover %v is too short: want at least 100ms", f.failover)
	}
	return nil
}

// parseFrom reads --from.
func parseFrom(s string, now time.Time) (shardreader.Position, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "trim-horizon":
		return shardreader.TrimHorizon, nil
	case "latest":
		return shardreader.Latest, nil
	}
	if strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s[1:]); err == nil && d >= 0 {
			return shardreader.AtTimestamp(now.Add(-d)), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return shardreader.Position{}, fmt.Errorf("invalid --from %q: want trim-horizon, latest, an RFC 3339 time or -DURATION", s)
	}
	return shardreader.AtTimestamp(t), nil
}

// jsonData is a record's data as JSON: itself if it is JSON, else a
// string (invalid UTF-8 becomes U+FFFD; use the raw format for binary).
func jsonData(data []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Valid(data) && json.Compact(&b, data) == nil {
		return b.Bytes()
	}
	s, _ := json.Marshal(string(data))
	return s
}

type metaRecord struct {
	ShardID           string          `json:"shard_id"`
	SequenceNumber    string          `json:"sequence_number"`
	SubSequenceNumber uint64          `json:"sub_sequence_number"`
	PartitionKey      string          `json:"partition_key"`
	ExplicitHashKey   string          `json:"explicit_hash_key,omitempty"`
	ArrivalTime       string          `json:"arrival_time"`
	Data              json.RawMessage `json:"data"`
}

func writeRecord(w *bufio.Writer, format string, r shardreader.Record) error {
	switch format {
	case "json":
		w.Write(jsonData(r.Data))
	case "json-meta":
		b, err := json.Marshal(metaRecord{
			ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, SubSequenceNumber: r.SubSequenceNumber,
			PartitionKey: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey,
			ArrivalTime: r.ArrivalTime.UTC().Format(time.RFC3339Nano), Data: jsonData(r.Data),
		})
		if err != nil {
			return err
		}
		w.Write(b)
	default:
		w.Write(r.Data)
		if len(r.Data) > 0 && r.Data[len(r.Data)-1] == '\n' {
			return nil
		}
	}
	return w.WriteByte('\n')
}

// Flag handling shared by put, tail and bench.

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; done means the command should return code now
// (after --help, or a usage error, both already printed).
func parseFlags(e *env, fs *flag.FlagSet, name, help string, args []string) (code int, done bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		io.WriteString(e.stdout, help)
		printFlags(e.stdout, fs)
		return exitOK, true
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		return usageError(e, name, err), true
	}
	return 0, false
}

func usageError(e *env, name string, err error) int {
	msg := err.Error()
	// The flag package names flags with one dash; the docs use two.
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = "unknown flag --" + rest
	}
	msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	fmt.Fprintf(e.stderr, "rivulet %s: %s\nRun 'rivulet %s --help' for usage.\n", name, msg, name)
	return exitUsage
}

// printFlags lists fs's flags, GNU style.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		name, usage := flag.UnquoteUsage(f)
		switch name {
		case "":
		case "int", "uint", "float":
			name = "N"
		case "string", "value":
			name = "VALUE"
		default:
			name = strings.ToUpper(name)
		}
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  %s%s%s\n        %s", dash, f.Name, name, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
