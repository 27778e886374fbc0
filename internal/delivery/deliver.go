package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/encode"
	"github.com/rivulet/rivulet/internal/delivery/prefix"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

// Error output types (firehose:error-output-type).
const (
	ErrProcessing       = "processing-failed"
	ErrFormatConversion = "format-conversion-failed"
	ErrHTTPEndpoint     = "http-endpoint-failed"
)

// deliver delivers one batch: it returns nil once every record is stored
// in the destination or set aside in the error output, and an error only
// when ctx ended, so that the caller does not checkpoint.
func (e *Engine) deliver(ctx context.Context, ds *model.DeliveryStream, b Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	p, err := e.planFor(ctx, ds)
	if err != nil {
		return err
	}
	d := &delivery{e: e, ds: ds, p: p, b: b, errs: map[string][][]byte{}}
	dest := "DeliveryToS3"
	switch {
	case ds.Destination.ExtendedS3 != nil:
		err = d.toS3(ctx)
	case ds.Destination.HTTPEndpoint != nil:
		dest = "DeliveryToHttpEndpoint"
		err = d.toHTTP(ctx)
	default:
		dest = "DeliveryToRedshift"
		err = d.toRedshift(ctx)
	}
	if err != nil {
		return err
	}
	if err := d.flushErrors(ctx); err != nil {
		return err
	}
	e.observeBatch(ds, dest, b)
	return nil
}

// delivery is one batch on its way.
type delivery struct {
	e  *Engine
	ds *model.DeliveryStream
	p  *plan
	b  Batch
	// errs are the error records set aside, JSON lines by error type;
	// errTime is the oldest arrival among them.
	errs    map[string][][]byte
	errTime map[string]time.Time
}

// process runs the pipeline, retrying a run that could not complete until
// ctx ends.
func (d *delivery) process(ctx context.Context) ([]process.Record, error) {
	src := d.b.Records
	for n := 0; ; n++ {
		// The pipeline may change records in place; keep the source.
		in := make([]process.Record, len(src))
		copy(in, src)
		out, failed, err := d.p.pipe.Run(ctx, in)
		if err == nil {
			for _, f := range failed {
				d.setAside(ErrProcessing, f.Record.Arrival, processingFailed{
					AttemptsMade:           max(f.Attempts, 1),
					ArrivalTimestamp:       f.Record.Arrival.UnixMilli(),
					ErrorCode:              f.Code,
					ErrorMessage:           f.Message,
					AttemptEndingTimestamp: d.e.cfg.Now().UnixMilli(),
					RawData:                f.Record.Data,
					LambdaARN:              f.LambdaARN,
				})
			}
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d.e.cfg.Logger.Warn("delivery: processing did not complete; retrying", "deliveryStream", d.ds.Name, "err", err)
		if err := sleep(ctx, d.e.backoff(min(n, 7))); err != nil {
			return nil, err
		}
	}
}

// toS3 delivers to an ExtendedS3 destination.
func (d *delivery) toS3(ctx context.Context) error {
	if err := d.backupSource(ctx); err != nil {
		return err
	}
	out, err := d.process(ctx)
	if err != nil {
		return err
	}
	for _, g := range d.partition(out) {
		if err := d.putPartition(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// group is one partition's records.
type group struct {
	key  string // "" without dynamic partitioning
	recs []process.Record
}

// partition groups records by their partition keys, in first-seen order.
func (d *delivery) partition(recs []process.Record) []group {
	if !d.p.dynamic {
		if len(recs) == 0 {
			return nil
		}
		return []group{{recs: recs}}
	}
	var gs []group
	idx := map[string]int{}
	for _, r := range recs {
		k, _ := json.Marshal([2]map[string]string{r.Query, r.Lambda}) // maps marshal sorted
		i, ok := idx[string(k)]
		if !ok {
			i = len(gs)
			idx[string(k)] = i
			gs = append(gs, group{key: string(k)})
		}
		gs[i].recs = append(gs[i].recs, r)
	}
	return gs
}

// putPartition converts, compresses and stores one partition's object.
func (d *delivery) putPartition(ctx context.Context, g group) error {
	l := d.p.out
	t := oldest(g.recs)
	// Every record of a group has the same keys; the first's stand for all.
	vals := prefix.Values{Time: t, Location: l.loc, Query: g.recs[0].Query, Lambda: g.recs[0].Lambda,
		Random: randomStrings(d.b.ID, "s3", g.key)}
	pfx, err := l.prefix.Eval(vals)
	if err != nil {
		for _, r := range g.recs {
			d.setAside(ErrProcessing, r.Arrival, processingFailed{
				AttemptsMade: 1, ArrivalTimestamp: r.Arrival.UnixMilli(),
				ErrorCode: "DynamicPartitioning.PrefixEvaluationFailed", ErrorMessage: err.Error(),
				AttemptEndingTimestamp: d.e.cfg.Now().UnixMilli(), RawData: r.Data,
			})
		}
		return nil
	}
	data := make([][]byte, len(g.recs))
	for i, r := range g.recs {
		data[i] = r.Data
	}
	var body []byte
	ext := ""
	if d.p.conv != nil {
		file, bad, err := d.p.conv.Convert(data)
		if err != nil {
			bad = map[int]string{}
			for i := range g.recs {
				bad[i] = err.Error()
			}
		}
		d.conversionFailures(g.recs, bad)
		if len(bad) == len(g.recs) {
			return nil
		}
		body, ext = file, d.p.conv.Extension()
	} else {
		buf := joinBufs.Get().(*[]byte)
		body = joinInto((*buf)[:0], data)
		defer func() { *buf = body[:0]; joinBufs.Put(buf) }() // Put keeps no body
	}
	id := stableID(d.b.ID, "s3", g.key)
	return d.putObject(ctx, l, pfx, t, id, ext, d.p.fileExt, body)
}

// putObject compresses body and stores it as prefix + object name.
func (d *delivery) putObject(ctx context.Context, l *s3Loc, pfx string, t time.Time, id, ext, fileExt string, body []byte) error {
	name := prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, id, ext)
	z, err := encode.Compress(l.compression, body, name)
	if err != nil {
		// A compression the API accepted but the encoder refuses: store
		// the data plain rather than lose it.
		d.e.cfg.Logger.Error("delivery: compression failed; storing uncompressed", "deliveryStream", d.ds.Name, "format", l.compression, "err", err)
		z = body
	} else {
		ext += encode.Extension(l.compression)
	}
	if fileExt != "" {
		ext = fileExt
	}
	key := pfx + prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, id, ext)
	return d.e.put(ctx, d.ds, l.bucket, key, z)
}

// put stores an object, retrying with capped backoff until ctx ends. AWS
// gives up on S3 after 24 hours and drops the data; we keep retrying, so
// an unreachable bucket delays delivery but never loses records.
func (e *Engine) put(ctx context.Context, ds *model.DeliveryStream, bucket, key string, body []byte) error {
	for n := 0; ; n++ {
		err := e.cfg.Objects.Put(ctx, bucket, key, body)
		e.observe(ds, "DeliveryToS3.Success", success(err))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.cfg.Logger.Warn("delivery: S3 put failed; retrying", "bucket", bucket, "key", key, "attempt", n+1, "err", err)
		if err := sleep(ctx, e.backoff(n)); err != nil {
			return err
		}
	}
}

// backupSource writes the source records, before processing, to the S3
// backup location when S3BackupMode is Enabled.
func (d *delivery) backupSource(ctx context.Context) error {
	l := d.p.backup
	if l == nil {
		return nil
	}
	return d.putRecords(ctx, l, d.b.Records, "backup")
}

// putRecords stores records concatenated under l's prefix.
func (d *delivery) putRecords(ctx context.Context, l *s3Loc, recs []process.Record, role string) error {
	if len(recs) == 0 {
		return nil
	}
	t := oldest(recs)
	pfx, err := l.prefix.Eval(prefix.Values{Time: t, Location: l.loc, Random: randomStrings(d.b.ID, role)})
	if err != nil {
		// Backup and staging prefixes have no partition keys, so this
		// is a bad configuration; fall back to AWS's default layout.
		d.e.cfg.Logger.Error("delivery: prefix evaluation failed; using the default prefix", "deliveryStream", d.ds.Name, "err", err)
		pfx = prefix.DefaultPrefix(t, l.loc)
	}
	data := make([][]byte, len(recs))
	for i, r := range recs {
		data[i] = r.Data
	}
	return d.putObject(ctx, l, pfx, t, stableID(d.b.ID, role), "", "", bytes.Join(data, nil))
}

// toHTTP delivers to an HTTP endpoint.
func (d *delivery) toHTTP(ctx context.Context) error {
	c := d.ds.Destination.HTTPEndpoint
	out, err := d.process(ctx)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	if c.S3BackupMode == "AllData" {
		// AllData keeps a copy of every batch as sent to the endpoint.
		if err := d.putRecords(ctx, d.p.out, out, "backup"); err != nil {
			return err
		}
	}
	attempts, err := d.send(ctx, dest.Batch{ID: d.b.ID, Records: datas(out), Arrival: oldest(out)})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, dest.ErrPermanent) {
		// The HTTP endpoint sink is permanent only for 413, and AWS does
		// not back up a batch the endpoint refused as too large.
		d.e.cfg.Logger.Error("delivery: HTTP endpoint refused the batch as too large; not backed up, as on AWS",
			"deliveryStream", d.ds.Name, "batch", d.b.ID, "records", len(out), "err", err)
		return nil
	}
	code, msg := failureOf(err)
	now := d.e.cfg.Now().UnixMilli()
	for _, r := range out {
		var sub uint64
		if r.Kinesis != nil {
			sub = r.Kinesis.SubsequenceNumber
		}
		d.setAside(ErrHTTPEndpoint, r.Arrival, httpFailed{
			AttemptsMade: attempts, ArrivalTimestamp: r.Arrival.UnixMilli(),
			ErrorCode: code, ErrorMessage: msg, AttemptEndingTimestamp: now,
			RawData: r.Data, SubsequenceNumber: sub, DataID: dataID(r),
		})
	}
	return nil
}

// send sends a batch to the sink, retrying with backoff until the retry
// duration has passed since the first failure; an error wrapping
// dest.ErrPermanent ends retrying at once. It returns the attempts made.
func (d *delivery) send(ctx context.Context, b dest.Batch) (int, error) {
	var first time.Time
	for n := 0; ; n++ {
		err := d.p.sink.Send(ctx, b)
		if err == nil || ctx.Err() != nil || errors.Is(err, dest.ErrPermanent) {
			return n + 1, err
		}
		now := d.e.cfg.Now()
		if n == 0 {
			first = now
		}
		wait := d.e.backoff(n)
		if now.Add(wait).Sub(first) > d.p.retry {
			return n + 1, err
		}
		d.e.cfg.Logger.Warn("delivery: destination failed; retrying", "deliveryStream", d.ds.Name, "batch", b.ID, "attempt", n+1, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return n + 1, err
		}
	}
}

// toRedshift stages the batch in S3Configuration's bucket, then loads it
// with the PostgreSQL sink.
func (d *delivery) toRedshift(ctx context.Context) error {
	if err := d.backupSource(ctx); err != nil {
		return err
	}
	out, err := d.process(ctx)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	l := d.p.out
	t := oldest(out)
	pfx, err := l.prefix.Eval(prefix.Values{Time: t, Location: l.loc, Random: randomStrings(d.b.ID, "stage")})
	if err != nil {
		d.e.cfg.Logger.Error("delivery: prefix evaluation failed; using the default prefix", "deliveryStream", d.ds.Name, "err", err)
		pfx = prefix.DefaultPrefix(t, l.loc)
	}
	id := stableID(d.b.ID, "stage")
	ext := encode.Extension(l.compression)
	key := pfx + prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, id, ext)
	body, err := encode.Compress(l.compression, bytes.Join(datas(out), nil), prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, id, ""))
	if err != nil {
		// COPY must be able to read what is staged: retrying cannot fix
		// this, the configuration must change.
		d.e.cfg.Logger.Error("delivery: compression failed; staging uncompressed", "deliveryStream", d.ds.Name, "err", err)
		key = pfx + prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, id, "")
		body = bytes.Join(datas(out), nil)
	}
	if err := d.e.put(ctx, d.ds, l.bucket, key, body); err != nil {
		return err
	}
	_, err = d.send(ctx, dest.Batch{ID: d.b.ID, Records: datas(out), Arrival: t, Staged: &dest.ObjectRef{Bucket: l.bucket, Key: key}})
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	// As AWS does after the retry duration, skip the load and leave a
	// Redshift COPY manifest naming the staged object under errors/ for a
	// manual backfill: errors/manifests/yyyy/MM/dd/HH/<object name>.
	d.e.cfg.Logger.Error("delivery: load failed past the retry duration; manifest written under errors/",
		"deliveryStream", d.ds.Name, "batch", d.b.ID, "staged", key, "err", err)
	manifest, _ := json.Marshal(redshiftManifest{Entries: []manifestEntry{{URL: "s3://" + l.bucket + "/" + key, Mandatory: true}}})
	mkey := "errors/manifests/" + prefix.DefaultPrefix(t, l.loc) + prefix.ObjectNameIn(d.ds.Name, d.ds.VersionID, t, l.loc, stableID(d.b.ID, "manifest"), "")
	return d.e.put(ctx, d.ds, l.bucket, mkey, manifest)
}

// redshiftManifest is a Redshift COPY manifest.
type redshiftManifest struct {
	Entries []manifestEntry `json:"entries"`
}

type manifestEntry struct {
	URL       string `json:"url"`
	Mandatory bool   `json:"mandatory"`
}

func datas(recs []process.Record) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.Data
	}
	return out
}

func oldest(recs []process.Record) time.Time {
	var t time.Time
	for i, r := range recs {
		if i == 0 || r.Arrival.Before(t) {
			t = r.Arrival
		}
	}
	return t
}

// failureOf returns a sink error's errorCode and errorMessage.
func failureOf(err error) (string, string) {
	var f *dest.Failure
	if errors.As(err, &f) {
		return f.Code, f.Message
	}
	return "Firehose.DeliveryFailed", err.Error()
}

// dataID identifies a record in error records: the Kinesis sequence and
// subsequence, or the DirectPut record ID.
func dataID(r process.Record) string {
	if r.Kinesis != nil {
		return r.Kinesis.SequenceNumber + "." + strconv.FormatUint(r.Kinesis.SubsequenceNumber, 10)
	}
	return r.ID
}

// joinBufs keeps object bodies for reuse: a fresh 5 MiB body per object
// cost more in page faults and copying than the rest of the engine's
// work on it.
var joinBufs = sync.Pool{New: func() any { return new([]byte) }}

// joinInto appends the records to b, growing it once.
func joinInto(b []byte, data [][]byte) []byte {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	b = slices.Grow(b, n)
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}
