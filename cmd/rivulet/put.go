package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/producer"
)

func init() {
	register(command{name: "put", summary: "put lines of stdin or files into a stream as records", run: runPut})
}

const putHelp = `Usage: rivulet put --stream NAME [flags] < lines

Puts every non-empty line of standard input (or of the --file files, in
order; "-" is standard input) into a stream as one record, without its line
ending, through the producer package (the KPL's equivalent): records are
batched into PutRecords calls, kept below the shards' write limits, and
retried with backoff when throttled or failed, for up to 30 s each.
Records of one partition key may land out of order when calls run
concurrently or are retried, unless --ordered is given.

Partition keys are random unless --partition-key gives a fixed one or
--key-field names a field of JSON lines (a.b.c, with numbers indexing
arrays; a string, number or boolean). With both, --partition-key is used
for lines that lack the field; with --key-field alone such lines fail.

--aggregate packs records bound for the same shard into KPL aggregated
records (read them with 'rivulet tail' or any KCL consumer).

Prints counts on stderr at the end, and a progress bar of the bytes read
while reading files when stderr is a terminal; the exit status is 1 if any
record failed. Flags:
`

type putFlags struct {
	conn         client.Config
	stream       string
	files        []string
	partitionKey string
	keyField     string
	aggregate    bool
	ordered      bool
}

func runPut(ctx context.Context, e *env, args []string) int {
	var f putFlags
	fs := newFlagSet("put")
	f.conn.AddFlags(fs, e.lookupEnv)
	fs.StringVar(&f.stream, "stream", "", "stream name or ARN (required)")
	fs.Func("file", "read lines from `FILE` instead of stdin (repeatable; - is stdin)", func(s string) error {
		f.files = append(f.files, s)
		return nil
	})
	fs.StringVar(&f.partitionKey, "partition-key", "", "fixed partition key for every record")
	fs.StringVar(&f.keyField, "key-field", "", "take the partition key from this `FIELD` of JSON lines (a.b.c)")
	fs.BoolVar(&f.aggregate, "aggregate", false, "aggregate records KPL-style")
	fs.BoolVar(&f.ordered, "ordered", false, "keep each partition key's records in input order, retries included (slower for few keys)")
	if code, done := parseFlags(e, fs, "put", putHelp, args); done {
		return code
	}
	if err := f.validate(); err != nil {
		return usageError(e, "put", err)
	}
	f.conn.MaxAttempts = 1 // the producer retries, until its record TTL
	f.conn.MaxConns = producer.DefaultMaxConnections
	kc, err := client.New(f.conn)
	if err != nil {
		return usageError(e, "put", err)
	}
	if err := streamExists(ctx, kc, f.stream); err != nil {
		fmt.Fprintf(e.stderr, "rivulet put: %v\n", err)
		return exitFailure
	}
	p, err := producer.New(kc, f.stream, producer.WithAggregation(f.aggregate), producer.WithPreserveOrdering(f.ordered))
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet put: %v\n", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	keys := &keyChooser{fixed: f.partitionKey, field: splitField(f.keyField)}
	var (
		lines, rejected int64
		readErr         error
	)
	srcs := sources(f.files)
	var bar *byteBar // nil: no bar
	if isTerminal(e.stderr) {
		if size, ok := inputSize(e, srcs); ok {
			bar = newByteBar(e.stderr, size)
		}
	}
	reject := func(where string, err error) {
		rejected++
		if rejected <= 10 {
			bar.clear()
			fmt.Fprintf(e.stderr, "rivulet put: %s: %v\n", where, err)
		}
	}
	for _, src := range srcs {
		readErr = eachLine(e, src, bar, func(n int64, line []byte) error {
			lines++
			where := fmt.Sprintf("%s:%d", src, n)
			if src == "-" {
				where = fmt.Sprintf("line %d", n)
			}
			pk, err := keys.key(line)
			if err == nil {
				_, err = p.Put(ctx, producer.Record{PartitionKey: pk, Data: bytes.Clone(line)})
			}
			switch {
			case errors.Is(err, producer.ErrInvalidRecord) || err != nil && ctx.Err() == nil:
				reject(where, err)
			case err != nil:
				return err
			}
			return nil
		})
		if readErr != nil {
			break
		}
	}
	bar.finish()
	// Interrupted, Close gives up at once on what is still held.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	if ctx.Err() != nil {
		cancel()
	}
	closeErr := p.Close(cctx)
	st := p.Stats()
	failed := st.UserRecordsFailed + rejected
	fmt.Fprintf(e.stderr, "rivulet put: %s records put, %s failed (%s lines read; %s Kinesis records in %s PutRecords calls) in %s\n",
		groupInt(st.UserRecordsPut), groupInt(failed), groupInt(lines), groupInt(st.KinesisRecordsPut), groupInt(st.Requests),
		time.Since(began).Round(time.Millisecond))
	if st.Throttled+st.EntryErrors+st.RequestErrors > 0 {
		fmt.Fprintf(e.stderr, "rivulet put: retried %s records: %s entries throttled, %s entries refused otherwise, %s calls failed\n",
			groupInt(st.UserRecordsRetried), groupInt(st.Throttled), groupInt(st.EntryErrors), groupInt(st.RequestErrors))
	}
	var fe *producer.FlushError
	switch {
	case readErr != nil && errors.Is(readErr, context.Canceled):
		fmt.Fprintln(e.stderr, "rivulet put: interrupted")
		return exitFailure
	case readErr != nil:
		fmt.Fprintf(e.stderr, "rivulet put: %v\n", readErr)
		return exitFailure
	case errors.As(closeErr, &fe):
		fmt.Fprintf(e.stderr, "rivulet put: %v\n", fe)
		return exitFailure
	case closeErr != nil:
		fmt.Fprintf(e.stderr, "rivulet put: %v\n", closeErr)
		return exitFailure
	case failed > 0:
		return exitFailure
	}
	return exitOK
}

// streamExists fails fast for a stream that is not there, which the
// producer would otherwise retry until its records expire.
func streamExists(ctx context.Context, kc *kinesis.Client, stream string) error {
	in := &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)}
	if strings.HasPrefix(stream, "arn:") {
		in = &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String(stream)}
	}
	_, err := kc.DescribeStreamSummary(ctx, in)
	if client.ErrorCode(err) == "ResourceNotFoundException" {
		return fmt.Errorf("stream %s not found", stream)
	}
	return err
}

func (f *putFlags) validate() error {
	switch {
	case f.stream == "":
		return errors.New("--stream is required")
	case f.partitionKey != "" && utf8.RuneCountInString(f.partitionKey) > 256:
		return errors.New("--partition-key is longer than 256 characters")
	case f.partitionKey != "" && !utf8.ValidString(f.partitionKey):
		return errors.New("--partition-key is not valid UTF-8")
	}
	if f.keyField != "" {
		for _, p := range strings.Split(f.keyField, ".") {
			if p == "" {
				return fmt.Errorf("invalid --key-field %q: empty path element", f.keyField)
			}
		}
	}
	return nil
}

func sources(files []string) []string {
	if len(files) == 0 {
		return []string{"-"}
	}
	return files
}

// eachLine calls fn with every non-empty line of src (a path, or "-" for
// stdin), without its line ending; the line is reused after fn returns.
// The bytes read are counted on bar, if there is one.
func eachLine(e *env, src string, bar *byteBar, fn func(n int64, line []byte) error) error {
	var r io.Reader
	if src == "-" {
		r = e.stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if bar != nil {
		r = barReader{r: r, bar: bar}
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			long := bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			n++
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) > 0 {
				if ferr := fn(n, line); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
	}
}

// keyChooser picks a record's partition key.
type keyChooser struct {
	fixed string   // fixed key, or fallback with field
	field []string // JSON path, or nil
}

func splitField(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

func (k *keyChooser) key(line []byte) (string, error) {
	if k.field == nil {
		if k.fixed != "" {
			return k.fixed, nil
		}
		return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()), nil
	}
	pk, err := fieldKey(line, k.field)
	if err != nil {
		if k.fixed != "" {
			return k.fixed, nil
		}
		return "", err
	}
	return pk, nil
}

// fieldKey takes the value at path from a JSON line as a partition key.
func fieldKey(line []byte, path []string) (string, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", errors.New("not a JSON line, so it has no key field")
	}
	for _, p := range path {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[p]; !ok {
				return "", fmt.Errorf("key field %s: no %q", strings.Join(path, "."), p)
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return "", fmt.Errorf("key field %s: no element %q", strings.Join(path, "."), p)
			}
			v = t[i]
		default:
			return "", fmt.Errorf("key field %s: %q is inside a scalar", strings.Join(path, "."), p)
		}
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	case bool:
		s = strconv.FormatBool(t)
	default:
		return "", fmt.Errorf("key field %s is not a string, number or boolean", strings.Join(path, "."))
	}
	if s == "" || utf8.RuneCountInString(s) > 256 {
		return "", fmt.Errorf("key field %s: a partition key must be 1 to 256 characters", strings.Join(path, "."))
	}
	return s, nil
}
