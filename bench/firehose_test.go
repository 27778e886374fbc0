package bench

// Firehose delivery: how fast DirectPut records reach their destination
// (a local directory, or S3 on versitygw), uncompressed and GZIP, against
// Rivulet's own Kinesis PutRecords ingest of the same records in the same
// run; and how long one record takes from PutRecord to a visible object
// with no buffering interval. Run with
//
//	go test -run '^$' -bench 'Firehose$|FirehoseLatency' -benchtime 1x -count 3 -timeout 30m ./bench/
//
// with this file's flags after -args (-firehose.records=100000 ...).
// The server runs in-process (rivulet.Start, on disk); S3 is a real
// versitygw (internal/tests3), whose POSIX backend stores each object as a
// file. Delivered records are counted from the objects as files: bucket B
// is the directory B under the bucket directory or versitygw's root.
// While the clock runs only sizes are read (a GZIP object's from its
// trailer); records are counted, GZIP decompressed, after it stops.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/tests3"
)

var (
	// firehoseRecords are put by every throughput case; rounded up to a
	// multiple of 500 (one PutRecordBatch).
	firehoseRecords = 1_000_000
	// firehoseProducers call PutRecordBatch (or PutRecords) at once.
	firehoseProducers = 8
	// firehoseInterval is IntervalInSeconds of the throughput cases. The
	// last records of a run wait for it by definition, so it adds a fixed
	// tail to every delivered rate; 0 is AWS's zero buffering.
	firehoseInterval = 1
	// firehoseSamples are timed by BenchmarkFirehoseLatency per iteration.
	firehoseSamples = 50
)

func init() {
	flag.IntVar(&firehoseRecords, "firehose.records", firehoseRecords, "records each Firehose throughput case puts (a multiple of 500)")
	flag.IntVar(&firehoseProducers, "firehose.producers", firehoseProducers, "concurrent PutRecordBatch/PutRecords callers")
	flag.IntVar(&firehoseInterval, "firehose.interval", firehoseInterval, "IntervalInSeconds of the throughput cases' delivery streams (0: zero buffering)")
	flag.IntVar(&firehoseSamples, "firehose.samples", firehoseSamples, "records BenchmarkFirehoseLatency times one by one")
}

const (
	fhBatch   = 500
	fhShards  = 4
	fhBufSize = 5 // SizeInMBs of the throughput cases
	// fhTemplates distinct batches are cycled through: enough variety for
	// GZIP to work on, little memory for any record count.
	fhTemplates = 20
)

// fhData is the records: fhTemplates batches of 500, each record 100 to
// 1000 bytes of lowercase words ending in a newline, so that delivered
// records are counted as lines (DirectPut adds no delimiter).
type fhData struct {
	fh         [][]fhtypes.Record
	kin        [][]types.PutRecordsRequestEntry
	batchBytes []int64
}

var fhRecordsOnce = sync.OnceValue(func() *fhData {
	rng := rand.New(rand.NewPCG(1, 2))
	d := &fhData{}
	for t := range fhTemplates {
		fh := make([]fhtypes.Record, fhBatch)
		kin := make([]types.PutRecordsRequestEntry, fhBatch)
		var n int64
		for i := range fhBatch {
			size := 100 + rng.IntN(901)
			rec := fmt.Appendf(make([]byte, 0, size), "%05d ", t*fhBatch+i)
			for len(rec) < size-1 {
				if rng.IntN(7) == 0 {
					rec = append(rec, ' ')
				} else {
					rec = append(rec, byte('a'+rng.IntN(26)))
				}
			}
			rec = append(rec, '\n')
			fh[i] = fhtypes.Record{Data: rec}
			kin[i] = types.PutRecordsRequestEntry{Data: rec, PartitionKey: aws.String(fmt.Sprintf("pk-%d", i))}
			n += int64(len(rec))
		}
		d.fh = append(d.fh, fh)
		d.kin = append(d.kin, kin)
		d.batchBytes = append(d.batchBytes, n)
	}
	return d
})

// fhLoad is the count of batches and the record bytes they carry.
func fhLoad() (batches int, bytes int64) {
	d := fhRecordsOnce()
	batches = (max(firehoseRecords, 1) + fhBatch - 1) / fhBatch
	for k := range batches {
		bytes += d.batchBytes[k%fhTemplates]
	}
	return batches, bytes
}

const mib = 1 << 20

// fhEnv is a server with a Firehose destination.
type fhEnv struct {
	kc *kinesis.Client
	fc *firehose.Client
	// root holds one directory per bucket, each object a file below.
	root      string
	newBucket func(b *testing.B, name string)
}

// startFirehose runs Rivulet on disk delivering to a local directory
// ("local"), to versitygw ("s3"), or not at all ("off").
func startFirehose(b *testing.B, target string) *fhEnv {
	b.Helper()
	cfg := rivulet.Config{DataDir: b.TempDir()}
	e := &fhEnv{newBucket: func(*testing.B, string) {}}
	switch target {
	case "local":
		e.root = b.TempDir()
		cfg.Firehose.BucketDir = e.root
	case "s3":
		vgw := tests3.Start(b)
		e.root = vgw.Dir
		e.newBucket = func(b *testing.B, name string) { vgw.CreateBucket(b, name) }
		cfg.Firehose.S3 = &rivulet.S3{Endpoint: vgw.Endpoint, Region: vgw.Region, AccessKeyID: vgw.AccessKey, SecretAccessKey: vgw.SecretKey}
	case "off":
		// The Firehose API without delivery: PutRecordBatch's own cost.
		e.root = b.TempDir()
		cfg.Firehose.BucketDir = e.root
		cfg.Firehose.Off = true
	default:
		b.Fatalf("unknown target %q", target)
	}
	url := startServer(b, cfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	e.kc = kinesisClient(url, tr)
	e.fc = firehose.NewFromConfig(awsConfig(tr), func(o *firehose.Options) { o.BaseEndpoint = aws.String(url) })
	return e
}

// createDeliveryStream makes a DirectPut stream into bucket (created
// first) and waits until it is ACTIVE.
func (e *fhEnv) createDeliveryStream(b *testing.B, name, bucket string, sizeMB, intervalS int32, comp fhtypes.CompressionFormat) {
	b.Helper()
	e.newBucket(b, bucket)
	ctx := context.Background()
	_, err := e.fc.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(name),
		DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			BucketARN:         aws.String("arn:aws:s3:::" + bucket),
			RoleARN:           aws.String("arn:aws:iam::000000000000:role/firehose"),
			BufferingHints:    &fhtypes.BufferingHints{SizeInMBs: aws.Int32(sizeMB), IntervalInSeconds: aws.Int32(intervalS)},
			CompressionFormat: comp,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(hangTimeout)
	for {
		out, err := e.fc.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
		if err != nil {
			b.Fatal(err)
		}
		if s := out.DeliveryStreamDescription.DeliveryStreamStatus; s == fhtypes.DeliveryStreamStatusActive {
			return
		} else if time.Now().After(deadline) {
			b.Fatalf("delivery stream %s still %s", name, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// putAll sends batches 0..n-1 from producers callers at once; the first
// error stops them all.
func putAll(ctx context.Context, n, producers int, put func(ctx context.Context, k int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
				if err := put(ctx, k); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// maxResends bounds how often one batch's failed entries are sent again.
const maxResends = 100

// putRecordBatch sends one batch, again for its failed entries, and
// returns how many entries failed along the way.
func putRecordBatch(ctx context.Context, fc *firehose.Client, name string, recs []fhtypes.Record) (int, error) {
	failed := 0
	for range maxResends {
		out, err := fc.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: &name, Records: recs})
		if err != nil {
			return failed, err
		}
		if aws.ToInt32(out.FailedPutCount) == 0 {
			return failed, nil
		}
		var again []fhtypes.Record
		for i, r := range out.RequestResponses {
			if r.ErrorCode != nil {
				again = append(again, recs[i])
			}
		}
		failed += len(again)
		recs = again
		time.Sleep(10 * time.Millisecond)
	}
	return failed, fmt.Errorf("PutRecordBatch: entries still failing after %d resends", maxResends)
}

func putRecords(ctx context.Context, kc *kinesis.Client, stream string, recs []types.PutRecordsRequestEntry) (int, error) {
	failed := 0
	for range maxResends {
		out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: recs})
		if err != nil {
			return failed, err
		}
		if aws.ToInt32(out.FailedRecordCount) == 0 {
			return failed, nil
		}
		var again []types.PutRecordsRequestEntry
		for i, r := range out.Records {
			if r.ErrorCode != nil {
				again = append(again, recs[i])
			}
		}
		failed += len(again)
		recs = again
		time.Sleep(10 * time.Millisecond)
	}
	return failed, fmt.Errorf("PutRecords: entries still failing after %d resends", maxResends)
}

// tally counts the records (lines) and bytes in a bucket's objects,
// reading each object once, or again if its size changed. A quick tally
// counts only bytes, from each object's size (or a GZIP object's ISIZE
// trailer), so that the benchmark's counting does not take the server's
// CPU while the clock runs; verify then counts the records in full.
type tally struct {
	dir     string
	gzip    bool
	quick   bool
	watch   *dirWatch // set by the throughput cases
	seen    map[string]fileCount
	records int64
	bytes   int64
}

type fileCount struct {
	size           int64
	records, bytes int64
}

func newTally(dir string, gz bool) *tally {
	return &tally{dir: dir, gzip: gz, seen: map[string]fileCount{}}
}

func newQuickTally(dir string, gz bool) *tally {
	t := newTally(dir, gz)
	t.quick = true
	return t
}

// verify counts every object in full and checks the totals.
func (t *tally) verify(records, bytes int64) error {
	full := newTally(t.dir, t.gzip)
	if err := full.scan(); err != nil {
		return err
	}
	if full.records != records || full.bytes != bytes {
		return fmt.Errorf("delivered %d records (%d bytes), want %d (%d bytes)", full.records, full.bytes, records, bytes)
	}
	return nil
}

func (t *tally) objects() int { return len(t.seen) }

// scan counts the objects that are new or changed since the last scan.
// Names starting with a dot are temporary files of a writer in progress
// (the local store's and versitygw's) and are skipped.
func (t *tally) scan() error {
	err := filepath.WalkDir(t.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the bucket or a directory is not there yet
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != t.dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, ok := t.seen[p]; ok && t.quick {
			// A visible object is whole (writers rename it into place) and
			// a retry rewrites the same bytes: not stat'ed again, since
			// this polling shares the CPU with what it measures.
			return nil
		}
		return t.count1(p)
	})
	return err
}

// count1 counts the object p if it is new or its size changed.
func (t *tally) count1(p string) error {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	old, ok := t.seen[p]
	if ok && old.size == info.Size() {
		return nil
	}
	count := t.count
	if t.quick {
		count = t.size
	}
	c, err := count(p)
	if err != nil {
		return nil // being written or replaced: the next scan sees it whole
	}
	t.records += c.records - old.records
	t.bytes += c.bytes - old.bytes
	t.seen[p] = c
	return nil
}

func (t *tally) count(p string) (fileCount, error) {
	f, err := os.Open(p)
	if err != nil {
		return fileCount{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fileCount{}, err
	}
	var r io.Reader = f
	if t.gzip {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fileCount{}, err
		}
		r = zr
	}
	var lc lineCounter
	if _, err := io.Copy(&lc, r); err != nil {
		return fileCount{}, err
	}
	return fileCount{size: info.Size(), records: lc.lines, bytes: lc.bytes}, nil
}

// size is an object's record bytes without reading it: its size, or for
// GZIP (one member per object) the ISIZE trailer. Records are not counted.
func (t *tally) size(p string) (fileCount, error) {
	f, err := os.Open(p)
	if err != nil {
		return fileCount{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fileCount{}, err
	}
	c := fileCount{size: info.Size(), bytes: info.Size()}
	if t.gzip {
		var trailer [4]byte
		if info.Size() < 18 {
			return fileCount{}, errors.New("short GZIP object")
		}
		if _, err := f.ReadAt(trailer[:], info.Size()-4); err != nil {
			return fileCount{}, err
		}
		c.bytes = int64(binary.LittleEndian.Uint32(trailer[:]))
	}
	return c, nil
}

type lineCounter struct{ lines, bytes int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	c.bytes += int64(len(p))
	return len(p), nil
}

// waitFor scans every interval until records and bytes are all there and
// returns when it saw them. It fails when the count passes the goal (a
// duplicate or a corrupt object), when nothing new arrives for
// hangTimeout, or when ctx ends. With a dirWatch (watch), the objects
// each interval brings are found from its events and the whole tree is
// scanned only once a second: a scan costs in proportion to the objects
// already there, which with zero buffering run to thousands.
func (t *tally) waitFor(ctx context.Context, records, bytes int64, every time.Duration) (time.Time, error) {
	progress := time.Now()
	last := int64(-1)
	var scanned time.Time
	for {
		if t.watch == nil || time.Since(scanned) >= time.Second {
			if t.watch != nil {
				// The scan counts what the events said; new directories
				// still get watched.
				if err := t.watch.drain(); err != nil {
					return time.Time{}, err
				}
			}
			if err := t.scan(); err != nil {
				return time.Time{}, err
			}
			scanned = time.Now()
		} else if err := t.watch.apply(t, every); err != nil {
			return time.Time{}, err
		}
		now := time.Now()
		if t.quick {
			records = t.records // not counted
		}
		switch {
		case t.records == records && t.bytes == bytes:
			return now, nil
		case t.records > records || t.bytes > bytes:
			return now, fmt.Errorf("delivered %d records (%d bytes), want %d (%d bytes)", t.records, t.bytes, records, bytes)
		case t.bytes != last:
			last, progress = t.bytes, now
		case now.Sub(progress) > hangTimeout:
			return now, fmt.Errorf("delivered %d of %d records (%d of %d bytes); nothing new for %v", t.records, records, t.bytes, bytes, hangTimeout)
		}
		if t.watch != nil {
			// apply waits for events for up to every.
			if err := ctx.Err(); err != nil {
				return now, fmt.Errorf("delivered %d of %d records: %w", t.records, records, context.Cause(ctx))
			}
			continue
		}
		select {
		case <-ctx.Done():
			return now, fmt.Errorf("delivered %d of %d records: %w", t.records, records, context.Cause(ctx))
		case <-time.After(every):
		}
	}
}

// fhCase is a destination ("local", "s3", or "off": none) and a
// compression format.
type fhCase struct {
	target string
	comp   fhtypes.CompressionFormat
}

func (c fhCase) name() string { return c.target + "-" + strings.ToLower(string(c.comp)) }

// fhCases are the delivering cases of the Firehose benchmarks.
var fhCases = []fhCase{
	{"local", fhtypes.CompressionFormatUncompressed},
	{"local", fhtypes.CompressionFormatGzip},
	{"s3", fhtypes.CompressionFormatUncompressed},
	{"s3", fhtypes.CompressionFormatGzip},
}

// BenchmarkFirehose puts the same records (-firehose.records of 100–1000
// bytes, 500 per call, -firehose.producers callers) with PutRecordBatch
// into a DirectPut delivery stream (SizeInMBs 5, IntervalInSeconds -firehose.interval, 1 by default)
// that delivers to a local directory or to S3, with and without GZIP, or
// not at all (putbatch-no-delivery: the API's own cost), each case on a
// new server. Delivery rates (records/s, MiB/s) count from the first call
// to the moment the last byte is seen in an object (new objects found
// through inotify on Linux, else by a scan every 20 ms, and counted by
// size; every record is counted after the clock stops;
// a warm-up record delivered before the clock starts leaves out the
// engine taking up the new stream); ingest rates from the first call to
// the last answer.
//
// The baseline is Kinesis PutRecords of the same records into a 4-shard
// stream, measured on the same server just before every Firehose run, so
// that both see the same load of a shared machine: kinesis-records/s.
// pct-of-ingest is the case's records/s against it; pct-of-putbatch the
// delivered rate against the case's own PutRecordBatch ingest.
func BenchmarkFirehose(b *testing.B) {
	batches, total := fhLoad()
	records := int64(batches * fhBatch)
	data := fhRecordsOnce()
	iteration := 0
	for _, tc := range append([]fhCase{{"off", fhtypes.CompressionFormatUncompressed}}, fhCases...) {
		name := tc.name()
		delivering := tc.target != "off"
		if !delivering {
			name = "putbatch-no-delivery"
		}
		b.Run(name, func(b *testing.B) {
			e := startFirehose(b, tc.target)
			var base, ingest, deliver, tail time.Duration
			var objects int
			var failed atomic.Int64
			for b.Loop() {
				iteration++
				stream := fmt.Sprintf("fh-%s-%d", name, iteration)
				bucket := fmt.Sprintf("bench-%d", iteration)
				b.StopTimer()
				base += e.kinesisIngest(b, fmt.Sprintf("base-%d", iteration), batches)
				e.createDeliveryStream(b, stream, bucket, fhBufSize, int32(firehoseInterval), tc.comp)
				t := newQuickTally(filepath.Join(e.root, bucket), tc.comp == fhtypes.CompressionFormatGzip)
				t.watch = newDirWatch(b, t.dir)
				// One record first, so that the engine has taken up the new
				// stream before the clock starts (BenchmarkFirehoseLatency's
				// first-record-ms is that wait).
				warm := []byte("warm-up\n")
				if delivering {
					if _, err := e.fc.PutRecord(context.Background(), &firehose.PutRecordInput{DeliveryStreamName: &stream, Record: &fhtypes.Record{Data: warm}}); err != nil {
						b.Fatal(err)
					}
					if _, err := t.waitFor(context.Background(), 1, int64(len(warm)), 5*time.Millisecond); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				ctx, cancel := context.WithCancelCause(context.Background())
				type seen struct {
					at  time.Time
					err error
				}
				delivered := make(chan seen, 1)
				start := time.Now()
				if delivering {
					go func() {
						at, err := t.waitFor(ctx, records+1, total+int64(len(warm)), 20*time.Millisecond)
						delivered <- seen{at, err}
					}()
				}
				err := putAll(ctx, batches, firehoseProducers, func(ctx context.Context, k int) error {
					n, err := putRecordBatch(ctx, e.fc, stream, data.fh[k%fhTemplates])
					failed.Add(int64(n))
					return err
				})
				putDone := time.Now()
				if err != nil {
					cancel(err)
				}
				d := seen{at: putDone}
				if delivering {
					d = <-delivered
				}
				cancel(nil)
				if err != nil {
					b.Fatal(err)
				}
				if d.err != nil {
					b.Fatal(d.err)
				}
				if delivering {
					b.StopTimer()
					if err := t.verify(records+1, total+int64(len(warm))); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				ingest += putDone.Sub(start)
				deliver += d.at.Sub(start)
				tail += d.at.Sub(putDone)
				objects += max(t.objects()-1, 0)
			}
			n := float64(b.N)
			perSec := func(d time.Duration) (float64, float64) {
				return n * float64(records) / d.Seconds(), n * float64(total) / mib / d.Seconds()
			}
			kRate, kMiB := perSec(base)
			inRate, inMiB := perSec(ingest)
			rate, mibs := perSec(deliver)
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(mibs, "MiB/s")
			b.ReportMetric(kRate, "kinesis-records/s")
			b.ReportMetric(100*rate/kRate, "pct-of-ingest")
			if !delivering {
				b.Logf("%s: %d records (%.1f MiB) a run: PutRecordBatch %.0f records/s, %.1f MiB/s = %.0f %% of Kinesis ingest (%.0f records/s, %.1f MiB/s); %d entries resent",
					name, records, float64(total)/mib, rate, mibs, 100*rate/kRate, kRate, kMiB, failed.Load())
				return
			}
			b.ReportMetric(inRate, "ingest-records/s")
			b.ReportMetric(inMiB, "ingest-MiB/s")
			b.ReportMetric(100*rate/inRate, "pct-of-putbatch")
			b.ReportMetric(float64(objects)/n, "objects")
			b.ReportMetric(float64(tail.Milliseconds())/n, "ms-after-last-put")
			b.Logf("%s: %d records (%.1f MiB) a run: delivered %.0f records/s, %.1f MiB/s = %.0f %% of Kinesis ingest (%.0f records/s, %.1f MiB/s), %.0f %% of its PutRecordBatch ingest (%.0f records/s, %.1f MiB/s); %.0f objects; last record seen %.0f ms after the last put; %d entries resent",
				name, records, float64(total)/mib, rate, mibs, 100*rate/kRate, kRate, kMiB, 100*rate/inRate, inRate, inMiB,
				float64(objects)/n, float64(tail.Milliseconds())/n, failed.Load())
		})
	}
}

// kinesisIngest puts the records into a new 4-shard stream, deleted
// after, and returns how long the puts took.
func (e *fhEnv) kinesisIngest(b *testing.B, stream string, batches int) time.Duration {
	b.Helper()
	createStreamSDK(b, e.kc, stream, fhShards)
	data := fhRecordsOnce()
	start := time.Now()
	err := putAll(context.Background(), batches, firehoseProducers, func(ctx context.Context, k int) error {
		_, err := putRecords(ctx, e.kc, stream, data.kin[k%fhTemplates])
		return err
	})
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.kc.DeleteStream(context.Background(), &kinesis.DeleteStreamInput{StreamName: &stream}); err != nil {
		b.Fatal(err)
	}
	return took
}

func createStreamSDK(b *testing.B, kc *kinesis.Client, name string, shards int32) {
	b.Helper()
	ctx := context.Background()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		b.Fatal(err)
	}
	w := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: &name}, hangTimeout); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFirehoseLatency puts one 100-byte record at a time into a
// delivery stream with the smallest buffering (SizeInMBs 1,
// IntervalInSeconds 0) and times it from the start of its PutRecord to its
// object appearing in the bucket, polled every millisecond; the next
// record is put after. Reported over all samples of all iterations:
// p50-ms and p90-ms of that, and put-p50-ms of PutRecord alone; the
// first record of each new delivery stream is timed apart
// (first-record-ms), since it also waits for the engine to take the
// stream up.
func BenchmarkFirehoseLatency(b *testing.B) {
	for _, target := range []string{"local", "s3"} {
		b.Run(target, func(b *testing.B) {
			e := startFirehose(b, target)
			var lat, put, first []time.Duration
			iteration := 0
			payload := bytes.Repeat([]byte{'l'}, 100)
			for b.Loop() {
				iteration++
				stream := fmt.Sprintf("fh-lat-%d", iteration)
				bucket := fmt.Sprintf("lat-%d", iteration)
				b.StopTimer()
				e.createDeliveryStream(b, stream, bucket, 1, 0, fhtypes.CompressionFormatUncompressed)
				b.StartTimer()
				t := newTally(filepath.Join(e.root, bucket), false)
				// Sample 0 also waits for the engine to take up the new
				// delivery stream: reported apart, as first-record-ms.
				for i := range firehoseSamples + 1 {
					rec := fmt.Appendf(nil, "%06d ", i)
					rec = append(rec, payload[len(rec)+1:]...)
					rec = append(rec, '\n')
					start := time.Now()
					_, err := e.fc.PutRecord(context.Background(), &firehose.PutRecordInput{DeliveryStreamName: &stream, Record: &fhtypes.Record{Data: rec}})
					if err != nil {
						b.Fatal(err)
					}
					called := time.Since(start)
					at, err := t.waitFor(context.Background(), int64(i+1), int64(i+1)*int64(len(rec)), time.Millisecond)
					if err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						first = append(first, at.Sub(start))
						continue
					}
					put = append(put, called)
					lat = append(lat, at.Sub(start))
				}
			}
			p50, p90, pp50 := quantileMS(lat, 0.5), quantileMS(lat, 0.9), quantileMS(put, 0.5)
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(p90, "p90-ms")
			b.ReportMetric(pp50, "put-p50-ms")
			b.ReportMetric(quantileMS(first, 0.5), "first-record-ms")
			b.Logf("%s: PutRecord → visible object over %d samples: p50 %.1f ms, p90 %.1f ms, max %.1f ms (PutRecord alone p50 %.1f ms); first record of a new stream %.0f ms",
				target, len(lat), p50, p90, quantileMS(lat, 1), pp50, quantileMS(first, 0.5))
		})
	}
}

func quantileMS(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(q*float64(len(s)-1))]) / float64(time.Millisecond)
}
