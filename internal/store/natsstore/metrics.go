package natsstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// CloudWatch datapoints (store.Metrics) live in one stream of their own,
// apart from the shard logs, the check and the backups: see
// docs/format/metrics.md. Each PutMetrics call stores one message per
// (account, region, namespace, stream) holding that stream's datums, on
// "kdsm.<account>.<region>.<base64url namespace>.<base64url stream>", so
// a reader narrows by subject and by publish time without reading the
// rest. MaxAge (Config.MetricRetention) expires old datums.
var _ store.Metrics = (*Store)(nil)

const (
	metricsStream = "rivulet-metrics"
	// metricsPrefix is not "kds.": check lists shard logs by that subject.
	metricsPrefix = "kdsm."
	metricsFormat = 1
	// defaultMetricRetention is Config.MetricRetention's default.
	defaultMetricRetention = 24 * time.Hour
	// metricsMsgTarget splits one stream's datums of a call into messages
	// of about this size, far below an external NATS's default 1 MiB
	// max_payload.
	metricsMsgTarget = 256 << 10
	// A datum for minute M is stored at or after M by its writer's clock,
	// usually within a flush interval. readStartSlack covers writers whose
	// clock runs ahead of the NATS server's; readEndSlack is how late after
	// q.To a datum may be stored and still be found by a query whose To
	// lies in the past (a query up to now reads to the end anyway).
	readStartSlack = 2 * time.Minute
	readEndSlack   = 15 * time.Minute
	// readBatch and readBytes bound one direct get, and so what one
	// ReadMetrics call holds besides its result.
	readBatch = 1000
	readBytes = 1 << 20
	// maxMetricStream bounds the stream dimension's value, which becomes
	// a subject token (CloudWatch allows 1024 characters).
	maxMetricStream = 1024
	// minDatumSize is the smallest encoded datum: one byte each for the
	// metric, dimension count, unit, minute and four statistics.
	minDatumSize = 8
)

// metricsState is what PutMetrics needs to re-create a missing stream.
type metricsState struct {
	retention time.Duration
}

// openMetrics creates the metrics stream, or sets an existing one's
// MaxAge to a retention given explicitly (0 leaves it: rivulet check and
// recover must not undo a server's --metrics-retention). Failure is not
// fatal: a full store may refuse it, and PutMetrics tries again.
func (s *Store) openMetrics(ctx context.Context, retention time.Duration) {
	s.metrics.retention = retention
	if retention <= 0 {
		s.metrics.retention = defaultMetricRetention
	}
	if err := s.ensureMetrics(ctx, retention > 0); err != nil {
		s.log.Warn("cannot create the metrics stream yet; retrying on the first metrics write", "err", err)
	}
}

func (s *Store) metricsConfig() jetstream.StreamConfig {
	age := s.metrics.retention
	if age <= 0 {
		age = defaultMetricRetention
	}
	return jetstream.StreamConfig{
		Name:        metricsStream,
		Description: "rivulet CloudWatch datapoints",
		Subjects:    []string{metricsPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      age,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Storage:     s.storage,
		Replicas:    s.replicas,
		Duplicates:  dupWindow(age),
		AllowDirect: true,
	}
}

// ensureMetrics creates the metrics stream if it is missing; with
// setAge, an existing stream gets this Store's retention. Several
// processes may race here; all end with one stream.
func (s *Store) ensureMetrics(ctx context.Context, setAge bool) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	want := s.metricsConfig()
	st, err := s.js.Stream(ctx, metricsStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, want)
		if err == nil {
			s.log.Debug("metrics stream created", "max_age", want.MaxAge)
			return nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return s.storeErr("create "+metricsStream, err)
		}
		st, err = s.js.Stream(ctx, metricsStream)
	}
	if err != nil {
		return fmt.Errorf("natsstore: stream %s: %w", metricsStream, err)
	}
	cfg := st.CachedInfo().Config
	if !setAge || cfg.MaxAge == want.MaxAge {
		return nil
	}
	cfg.MaxAge, cfg.Duplicates = want.MaxAge, want.Duplicates
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return s.storeErr("update "+metricsStream, err)
	}
	s.quota.freed() // a shorter retention may have trimmed datums
	s.log.Debug("metrics retention set", "max_age", want.MaxAge)
	return nil
}

// metricStream is the datum's stream: its first StreamName or
// DeliveryStreamName dimension.
func metricStream(d *store.MetricDatum) (string, bool) {
	for _, dim := range d.Dimensions {
		if dim.Name == "StreamName" || dim.Name == "DeliveryStreamName" {
			return dim.Value, true
		}
	}
	return "", false
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// checkDatum refuses what cannot be stored or found again.
func checkDatum(d *store.MetricDatum) error {
	if err := checkToken("account", d.Account); err != nil {
		return err
	}
	if err := checkToken("region", d.Region); err != nil {
		return err
	}
	if d.Namespace == "" || d.Metric == "" {
		return errors.New("natsstore: metric datum without namespace or metric name")
	}
	name, ok := metricStream(d)
	if !ok || name == "" {
		return fmt.Errorf("natsstore: metric %s has no StreamName or DeliveryStreamName dimension", d.Metric)
	}
	if len(name) > maxMetricStream {
		return fmt.Errorf("natsstore: metric %s: stream dimension longer than %d bytes", d.Metric, maxMetricStream)
	}
	if d.Minute.IsZero() {
		return fmt.Errorf("natsstore: metric %s has no minute", d.Metric)
	}
	return nil
}

// metricsSubject is where one stream's datums are stored.
func metricsSubject(account, region, namespace, stream string) string {
	return metricsPrefix + account + "." + region + "." + b64(namespace) + "." + b64(stream)
}

type metricsMsg struct {
	subject string
	data    []byte
}

type metricGroup struct{ account, region, namespace, stream string }

// encodeMetricMsgs checks every datum, then packs each stream's datums,
// in the order given, into messages of about target bytes.
func encodeMetricMsgs(ds []store.MetricDatum, target int) ([]metricsMsg, error) {
	groups := map[metricGroup][]int{}
	var order []metricGroup
	for i := range ds {
		d := &ds[i]
		if err := checkDatum(d); err != nil {
			return nil, fmt.Errorf("%w (datum %d)", err, i)
		}
		name, _ := metricStream(d)
		g := metricGroup{d.Account, d.Region, d.Namespace, name}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	var out []metricsMsg
	for _, g := range order {
		subject := metricsSubject(g.account, g.region, g.namespace, g.stream)
		var e *metricsEncoder
		for _, i := range groups[g] {
			if e == nil {
				e = newMetricsEncoder(g.account, g.region, g.namespace)
			}
			e.add(&ds[i])
			if e.size() >= target {
				out = append(out, metricsMsg{subject, e.finish()})
				e = nil
			}
		}
		if e != nil {
			out = append(out, metricsMsg{subject, e.finish()})
		}
	}
	return out, nil
}

// metricsEncoder writes one message (docs/format/metrics.md): strings
// are written once and referred to by number afterwards.
type metricsEncoder struct {
	head, body []byte
	strs       map[string]uint64
	n          int
	minute     int64 // the last datum's, in Unix milliseconds
}

func newMetricsEncoder(account, region, namespace string) *metricsEncoder {
	e := &metricsEncoder{strs: map[string]uint64{}, head: []byte{metricsFormat}}
	e.head = e.str(e.head, account)
	e.head = e.str(e.head, region)
	e.head = e.str(e.head, namespace)
	return e
}

func (e *metricsEncoder) str(b []byte, s string) []byte {
	if ref, ok := e.strs[s]; ok {
		return binary.AppendUvarint(b, ref)
	}
	e.strs[s] = uint64(len(e.strs) + 1)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendFloat writes the IEEE 754 bits byte-reversed as a uvarint, so
// whole numbers and short fractions, whose low mantissa bytes are zero,
// take one to three bytes.
func appendFloat(b []byte, f float64) []byte {
	return binary.AppendUvarint(b, bits.ReverseBytes64(math.Float64bits(f)))
}

func (e *metricsEncoder) add(d *store.MetricDatum) {
	b := e.str(e.body, d.Metric)
	b = binary.AppendUvarint(b, uint64(len(d.Dimensions)))
	for _, dim := range d.Dimensions {
		b = e.str(b, dim.Name)
		b = e.str(b, dim.Value)
	}
	b = e.str(b, d.Unit)
	ms := d.Minute.UnixMilli()
	b = binary.AppendVarint(b, ms-e.minute)
	e.minute = ms
	for _, f := range [...]float64{d.SampleCount, d.Sum, d.Min, d.Max} {
		b = appendFloat(b, f)
	}
	e.body = b
	e.n++
}

func (e *metricsEncoder) size() int { return len(e.head) + len(e.body) }

func (e *metricsEncoder) finish() []byte {
	out := make([]byte, 0, len(e.head)+binary.MaxVarintLen64+len(e.body))
	out = append(out, e.head...)
	out = binary.AppendUvarint(out, uint64(e.n))
	return append(out, e.body...)
}

var errMetricsCorrupt = errors.New("natsstore: corrupt metrics message")

// metricsReader decodes one message.
type metricsReader struct {
	b    []byte
	strs []string
}

func (r *metricsReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errMetricsCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *metricsReader) varint() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, errMetricsCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *metricsReader) str() (string, error) {
	ref, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if ref > 0 {
		if ref > uint64(len(r.strs)) {
			return "", fmt.Errorf("%w: string %d of %d", errMetricsCorrupt, ref, len(r.strs))
		}
		return r.strs[ref-1], nil
	}
	n, err := r.uvarint()
	if err != nil {
		return "", err
	}
	if n > uint64(len(r.b)) {
		return "", fmt.Errorf("%w: string of %d bytes, %d left", errMetricsCorrupt, n, len(r.b))
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	r.strs = append(r.strs, s)
	return s, nil
}

func (r *metricsReader) float() (float64, error) {
	v, err := r.uvarint()
	return math.Float64frombits(bits.ReverseBytes64(v)), err
}

// decodeMetrics decodes a whole message. Every datum gets the message's
// account, region and namespace, its Minute in UTC.
func decodeMetrics(data []byte) ([]store.MetricDatum, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", errMetricsCorrupt)
	}
	if data[0] != metricsFormat {
		return nil, fmt.Errorf("%w: format %d, this version reads %d", errMetricsCorrupt, data[0], metricsFormat)
	}
	r := &metricsReader{b: data[1:]}
	var head [3]string
	for i := range head {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		head[i] = s
	}
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)/minDatumSize) {
		return nil, fmt.Errorf("%w: %d datums in %d bytes", errMetricsCorrupt, n, len(r.b))
	}
	// Capacities grow with what decodes, not with what a count claims.
	out := make([]store.MetricDatum, 0, min(n, 1024))
	var minute int64
	for range n {
		out = append(out, store.MetricDatum{})
		d := &out[len(out)-1]
		d.Account, d.Region, d.Namespace = head[0], head[1], head[2]
		if d.Metric, err = r.str(); err != nil {
			return nil, err
		}
		nd, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		if nd > uint64(len(r.b)/2) {
			return nil, fmt.Errorf("%w: %d dimensions in %d bytes", errMetricsCorrupt, nd, len(r.b))
		}
		if nd > 0 {
			d.Dimensions = make([]store.Dimension, 0, min(nd, 16))
		}
		for range nd {
			var dim store.Dimension
			if dim.Name, err = r.str(); err != nil {
				return nil, err
			}
			if dim.Value, err = r.str(); err != nil {
				return nil, err
			}
			d.Dimensions = append(d.Dimensions, dim)
		}
		if d.Unit, err = r.str(); err != nil {
			return nil, err
		}
		delta, err := r.varint()
		if err != nil {
			return nil, err
		}
		minute += delta
		d.Minute = time.UnixMilli(minute).UTC()
		for _, f := range [...]*float64{&d.SampleCount, &d.Sum, &d.Min, &d.Max} {
			if *f, err = r.float(); err != nil {
				return nil, err
			}
		}
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last datum", errMetricsCorrupt, len(r.b))
	}
	return out, nil
}

// PutMetrics implements store.Metrics. Datums are checked first, so a
// bad one stores nothing; storage full is store.ErrFull, refused at the
// same limit as records, so metrics never use the reserve left for
// metadata.
func (s *Store) PutMetrics(ctx context.Context, ds []store.MetricDatum) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	msgs, err := encodeMetricMsgs(ds, min(metricsMsgTarget, s.maxPayload/2))
	if err != nil || len(msgs) == 0 {
		return err
	}
	missing, err := s.publishMetrics(ctx, msgs)
	if err != nil || len(missing) == 0 {
		return err
	}
	// Deleted, or never made (a full store at Open): make it and retry
	// what found no stream.
	if err := s.ensureMetrics(ctx, false); err != nil {
		return err
	}
	missing, err = s.publishMetrics(ctx, missing)
	if err == nil && len(missing) > 0 {
		err = fmt.Errorf("natsstore: put metrics: no stream %s answers", metricsStream)
	}
	return err
}

// publishMetrics publishes msgs and waits for their acks. It returns the
// messages no stream took, and the first other failure. Once the quota
// refuses one message it publishes no more.
func (s *Store) publishMetrics(ctx context.Context, msgs []metricsMsg) (missing []metricsMsg, err error) {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	admitted := make([]int, len(msgs))
	for i, m := range msgs {
		if err = s.quota.admit(len(m.data)); err != nil {
			break
		}
		admitted[i] = len(m.data)
		futures[i], err = s.js.PublishMsgAsync(&nats.Msg{Subject: m.subject, Data: m.data},
			jetstream.WithRetryAttempts(0), jetstream.WithStallWait(ackTimeout))
		if err != nil {
			s.quota.release(admitted[i], false)
			futures[i], admitted[i] = nil, 0
			err = fmt.Errorf("natsstore: put metrics: %w", err)
			break
		}
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		var perr error
		select {
		case ack := <-f.Ok():
			if ack.Stream != metricsStream {
				perr = fmt.Errorf("natsstore: %s stored in stream %s", msgs[i].subject, ack.Stream)
			}
		case perr = <-f.Err():
		case <-ctx.Done():
			// The publish may still land; the usage estimate catches up
			// at its next read.
			perr = ctx.Err()
		}
		s.quota.release(admitted[i], perr == nil)
		switch {
		case perr == nil:
			s.quota.stored()
		case errors.Is(perr, jetstream.ErrNoStreamResponse):
			missing = append(missing, msgs[i])
		case err != nil:
		case isFull(perr):
			s.quota.refused(int64(len(msgs[i].data)))
			err = fmt.Errorf("natsstore: put metrics: %w: %w", store.ErrFull, perr)
		case errors.Is(perr, ctx.Err()):
			err = fmt.Errorf("natsstore: put metrics: %w", perr)
		default:
			err = fmt.Errorf("natsstore: put metrics: %w", perr)
		}
	}
	return missing, err
}

// metricsFilter is the subject filter of q.
func metricsFilter(q store.MetricQuery) (string, error) {
	if err := checkToken("account", q.Account); err != nil {
		return "", err
	}
	if err := checkToken("region", q.Region); err != nil {
		return "", err
	}
	if q.Namespace == "" {
		return "", errors.New("natsstore: metric query without namespace")
	}
	if q.Stream == "" {
		return metricsPrefix + q.Account + "." + q.Region + "." + b64(q.Namespace) + ".*", nil
	}
	return metricsSubject(q.Account, q.Region, q.Namespace, q.Stream), nil
}

// ReadMetrics implements store.Metrics. It reads the messages on q's
// subjects stored from readStartSlack before q.From on, to the end of the
// stream or readEndSlack past q.To, in batches of direct gets. A message
// that does not decode is logged and skipped.
func (s *Store) ReadMetrics(ctx context.Context, q store.MetricQuery) ([]store.MetricDatum, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	filter, err := metricsFilter(q)
	if err != nil {
		return nil, err
	}
	out := []store.MetricDatum{}
	if !q.From.Before(q.To) {
		return out, nil
	}
	stopAt := q.To.Add(readEndSlack)
	req := directReq{NextFor: filter, Batch: readBatch, MaxBytes: readBytes}
	if start := q.From.Add(-readStartSlack).UTC(); start.After(time.Unix(0, 0)) {
		req.StartTime = &start
	} else {
		req.Seq = 1
	}
	for {
		rctx, cancel := withTimeout(ctx)
		msgs, pending, err := s.directGet(rctx, metricsStream, req)
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			return out, nil // no stream: nothing was ever written
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, fmt.Errorf("natsstore: read metrics: %w", cerr)
			}
			return nil, err
		}
		for _, m := range msgs {
			if !m.time.Before(stopAt) {
				return out, nil
			}
			ds, err := decodeMetrics(m.data)
			if err != nil {
				s.log.Warn("skipping a metrics message", "stream", metricsStream, "seq", m.seq, "subject", m.subject, "err", err)
				continue
			}
			for i := range ds {
				if d := &ds[i]; matchDatum(d, q) {
					out = append(out, *d)
				}
			}
		}
		if len(msgs) == 0 || pending == 0 {
			return out, nil
		}
		req = directReq{Seq: msgs[len(msgs)-1].seq + 1, NextFor: filter, Batch: readBatch, MaxBytes: readBytes}
	}
}

// matchDatum applies what the subject filter cannot: the metric and the
// minute. The rest is checked again in case a foreign writer used the
// subject.
func matchDatum(d *store.MetricDatum, q store.MetricQuery) bool {
	if d.Account != q.Account || d.Region != q.Region || d.Namespace != q.Namespace {
		return false
	}
	if q.Metric != "" && d.Metric != q.Metric {
		return false
	}
	if q.Stream != "" {
		if name, _ := metricStream(d); name != q.Stream {
			return false
		}
	}
	return !d.Minute.Before(q.From) && d.Minute.Before(q.To)
}
