// Package loadgen is the load generator behind `rivulet bench`: it writes
// records to any Kinesis endpoint with PutRecord or PutRecords from many
// workers, reads them back with GetRecords, checks that every acknowledged
// record is read exactly once, and reports throughput, latency and errors.
//
// It talks to the endpoint through an API with the AWS SDK's Kinesis
// client's methods: the SDK itself, or bench/rawclient, which sends the
// same signed requests for a fraction of the CPU. Either way the same run
// is fair to Rivulet, kinesalite, kinesis-mock and AWS.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/client/shardreader"
)

// API is the part of *kinesis.Client the generator uses.
type API interface {
	shardreader.API
	CreateStream(context.Context, *kinesis.CreateStreamInput, ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	DeleteStream(context.Context, *kinesis.DeleteStreamInput, ...func(*kinesis.Options)) (*kinesis.DeleteStreamOutput, error)
	PutRecord(context.Context, *kinesis.PutRecordInput, ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
	PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Mode says which phases run.
type Mode string

// Modes.
const (
	ModeWrite     Mode = "write"      // write only
	ModeRead      Mode = "read"       // read an existing stream from TRIM_HORIZON to its tip
	ModeWriteRead Mode = "write-read" // write, then read everything back and check it
)

// Kinesis limits the settings must respect.
const (
	MaxBatchSize  = 500     // entries in one PutRecords
	MaxRecordSize = 1 << 20 // data plus partition key, by default
)

// Config describes a run.
type Config struct {
	Stream string
	// Shards is the shard count of a stream created by the run; an
	// existing stream is used as it is.
	Shards      int
	DeleteAfter bool // delete the stream at the end
	Mode        Mode
	Workers     int // concurrent writers
	RecordSize  int // bytes of data per record
	// BatchSize is records per call: 1 uses PutRecord, more PutRecords.
	BatchSize int
	// Duration or Records bounds the write phase; Records wins if set.
	Duration time.Duration
	Records  int64
	// PartitionKeys is the number of distinct partition keys, used in
	// turn; 0 gives every record its own.
	PartitionKeys int
	// MaxRetries bounds the retries of one batch; 0 means 10.
	MaxRetries int
	// GetRate caps GetRecords calls per shard per second (Kinesis allows
	// 5); negative means no cap, 0 means 5.
	GetRate float64
	// GetLimit is GetRecords' Limit; 0 means 10000.
	GetLimit int32
	// ReadGrace is how long the read phase keeps polling a shard at its tip
	// while acknowledged records are still missing there; 0 means 5 s.
	ReadGrace time.Duration
	// OnProgress, if set, is called every ProgressEvery (0: 250 ms) from
	// a goroutine of the run, and once at the end of each phase.
	OnProgress    func(Progress)
	ProgressEvery time.Duration
}

// Progress is a snapshot of the running phase.
type Progress struct {
	Phase   string // "write" or "read"
	Elapsed time.Duration
	// Fraction done, 0..1, or -1 when it cannot be known.
	Fraction  float64
	Records   int64 // written and acknowledged, or read
	Bytes     int64
	Errors    int64
	Throttled int64
	Done      bool // the phase is over
}

// Validate checks the settings.
func (c *Config) Validate() error {
	switch {
	case c.Stream == "":
		return errors.New("--stream must not be empty")
	case c.Mode != ModeWrite && c.Mode != ModeRead && c.Mode != ModeWriteRead:
		return fmt.Errorf("invalid --mode %q: want write, read or write-read", c.Mode)
	case c.Shards < 1:
		return errors.New("--shards must be at least 1")
	case c.Mode == ModeRead:
		return nil
	case c.Workers < 1:
		return errors.New("--workers must be at least 1")
	case c.RecordSize < 1 || c.RecordSize > MaxRecordSize-256:
		return fmt.Errorf("--record-size must be in [1, %d]", MaxRecordSize-256)
	case c.Mode == ModeWriteRead && c.RecordSize < idLen:
		return fmt.Errorf("--record-size must be at least %d in write-read mode, to hold the record's id", idLen)
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return fmt.Errorf("--batch-size must be in [1, %d]", MaxBatchSize)
	case c.BatchSize*c.RecordSize > 10<<20:
		return errors.New("--batch-size × --record-size exceeds the 10 MiB PutRecords limit")
	case c.Records < 0:
		return errors.New("--records must not be negative")
	case c.Records == 0 && c.Duration <= 0:
		return errors.New("--duration must be positive (or give --records)")
	case c.PartitionKeys < 0:
		return errors.New("--partition-keys must not be negative")
	case c.MaxRetries < 0:
		return errors.New("--max-retries must not be negative")
	}
	return nil
}

type gen struct {
	api   API
	cfg   Config
	nonce uint64
	led   *ledger

	progMu    sync.Mutex   // serializes OnProgress calls
	phase     atomic.Value // string
	phaseFrom atomic.Int64 // unix nanos
	records   atomic.Int64 // of the running phase
	bytes     atomic.Int64
	failed    atomic.Int64
	calls     atomic.Int64
	claimed   atomic.Int64 // records mode: records handed to workers
	throttled atomic.Int64
	retries   atomic.Int64
	nerrors   atomic.Int64
	expected  int64 // records to read back, for progress

	errMu  sync.Mutex
	errors map[string]int64
}

// Run runs cfg against api. It returns a report even when the run fails
// part way (with the error); setup failures return no report.
func Run(ctx context.Context, api API, cfg Config) (rep *Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 10
	}
	if cfg.GetLimit == 0 {
		cfg.GetLimit = 10000
	}
	if cfg.ReadGrace == 0 {
		cfg.ReadGrace = 5 * time.Second
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 250 * time.Millisecond
	}
	g := &gen{api: api, cfg: cfg, nonce: rand.Uint64(), errors: map[string]int64{}}
	rep = &Report{
		StartedAt: time.Now().UTC(), Stream: cfg.Stream, Mode: cfg.Mode, Workers: cfg.Workers, RecordSize: cfg.RecordSize,
		BatchSize: cfg.BatchSize, PartitionKeys: cfg.PartitionKeys, RecordsLimit: cfg.Records,
	}
	if cfg.Records == 0 {
		rep.DurationLimit = cfg.Duration.Seconds()
	}
	if cfg.Mode == ModeRead {
		rep.Workers, rep.RecordSize, rep.BatchSize, rep.DurationLimit = 0, 0, 0, 0
	}

	shards, err := g.ensureStream(ctx)
	if err != nil {
		return nil, err
	}
	rep.Shards = shards
	if cfg.DeleteAfter {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if derr := g.deleteStream(dctx); derr != nil && err == nil {
				err = fmt.Errorf("deleting the stream: %w", derr)
				rep.OK = false
			}
		}()
	}

	stopProgress := g.progressLoop()
	defer stopProgress()

	if cfg.Mode != ModeRead {
		if cfg.Mode == ModeWriteRead {
			g.led = newLedger(cfg.Workers)
		}
		rep.Write = g.write(ctx)
	}
	if cfg.Mode != ModeWrite && ctx.Err() == nil {
		if g.led != nil {
			g.expected = rep.Write.Records
		}
		rep.Read, err = g.read(ctx)
		if g.led != nil && err == nil && ctx.Err() == nil {
			rep.Check = g.led.check()
		}
	}
	stopProgress()

	rep.Errors = g.errorCounts()
	rep.Throttled, rep.Retries = g.throttled.Load(), g.retries.Load()
	rep.Interrupted = ctx.Err() != nil
	rep.OK = err == nil && !rep.Interrupted && (rep.Write == nil || rep.Write.FailedRecords == 0) && (rep.Check == nil || rep.Check.OK)
	return rep, err
}

func (g *gen) countError(code string, n int64) {
	g.nerrors.Add(n)
	if client.IsThrottleCode(code) {
		g.throttled.Add(n)
	}
	g.errMu.Lock()
	g.errors[code] += n
	g.errMu.Unlock()
}

func (g *gen) errorCounts() map[string]int64 {
	g.errMu.Lock()
	defer g.errMu.Unlock()
	out := make(map[string]int64, len(g.errors))
	for k, v := range g.errors {
		out[k] = v
	}
	return out
}

// startPhase resets the phase counters.
func (g *gen) startPhase(name string) time.Time {
	now := time.Now()
	g.records.Store(0)
	g.bytes.Store(0)
	g.calls.Store(0)
	g.phaseFrom.Store(now.UnixNano())
	g.phase.Store(name)
	return now
}

func (g *gen) snapshot() Progress {
	name, _ := g.phase.Load().(string)
	p := Progress{
		Phase: name, Elapsed: time.Since(time.Unix(0, g.phaseFrom.Load())), Fraction: -1,
		Records: g.records.Load(), Bytes: g.bytes.Load(), Errors: g.nerrors.Load(), Throttled: g.throttled.Load(),
	}
	switch {
	case name == "write" && g.cfg.Records > 0:
		p.Fraction = float64(g.records.Load()+g.failed.Load()) / float64(g.cfg.Records)
	case name == "write":
		p.Fraction = p.Elapsed.Seconds() / g.cfg.Duration.Seconds()
	case name == "read" && g.expected > 0:
		p.Fraction = float64(p.Records) / float64(g.expected)
	}
	if p.Fraction > 1 {
		p.Fraction = 1
	}
	return p
}

// progressLoop reports progress until the returned function is called
// (which is safe to call twice).
func (g *gen) progressLoop() func() {
	if g.cfg.OnProgress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(g.cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				g.progMu.Lock()
				if name, _ := g.phase.Load().(string); name != "" {
					g.cfg.OnProgress(g.snapshot())
				}
				g.progMu.Unlock()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop); wg.Wait() }) }
}

func (g *gen) endPhase() {
	g.progMu.Lock()
	defer g.progMu.Unlock()
	if g.cfg.OnProgress != nil {
		p := g.snapshot()
		p.Done = true
		g.cfg.OnProgress(p)
	}
	g.phase.Store("")
}

// write runs the write phase.
func (g *gen) write(ctx context.Context) *Phase {
	start := g.startPhase("write")
	deadline := start.Add(g.cfg.Duration)
	hists := make([]Histogram, g.cfg.Workers)
	var wg sync.WaitGroup
	for w := range g.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.writer(ctx, w, deadline, &hists[w])
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var h Histogram
	for i := range hists {
		h.Merge(&hists[i])
	}
	op := "PutRecords"
	if g.cfg.BatchSize == 1 {
		op = "PutRecord"
	}
	p := newPhase(op, g.records.Load(), g.bytes.Load(), g.failed.Load(), g.calls.Load(), took, &h)
	g.endPhase()
	return p
}

// claim hands out up to n records to write, or 0 when the phase is over.
func (g *gen) claim(ctx context.Context, n int, deadline time.Time) int {
	if ctx.Err() != nil {
		return 0
	}
	if g.cfg.Records == 0 {
		if time.Now().After(deadline) {
			return 0
		}
		return n
	}
	for {
		c := g.claimed.Load()
		left := g.cfg.Records - c
		if left <= 0 {
			return 0
		}
		take := min(int64(n), left)
		if g.claimed.CompareAndSwap(c, c+take) {
			return int(take)
		}
	}
}

// entry is one record of a batch.
type entry struct {
	seq  uint64 // the worker's record counter
	key  string
	data []byte
}

func (g *gen) writer(ctx context.Context, w int, deadline time.Time, h *Histogram) {
	size := g.cfg.RecordSize
	buf := make([]byte, g.cfg.BatchSize*size)
	// Random filler, so no layer can compress the load away.
	for i := range buf {
		buf[i] = byte(rand.Uint32())
	}
	entries := make([]entry, g.cfg.BatchSize)
	var seq uint64
	for {
		n := g.claim(ctx, g.cfg.BatchSize, deadline)
		if n == 0 {
			return
		}
		if g.led != nil {
			g.led.grow(w, seq+uint64(n)-1)
		}
		for i := range n {
			data := buf[i*size : (i+1)*size]
			putID(data, g.nonce, w, seq)
			entries[i] = entry{seq: seq, key: g.partitionKey(w, seq), data: data}
			seq++
		}
		if g.cfg.BatchSize == 1 {
			g.putOne(ctx, w, &entries[0], h)
		} else {
			g.putBatch(ctx, w, entries[:n], h)
		}
	}
}

func (g *gen) partitionKey(w int, seq uint64) string {
	if g.cfg.PartitionKeys > 0 {
		return "pk-" + strconv.FormatUint((uint64(w)+seq)%uint64(g.cfg.PartitionKeys), 10)
	}
	return strconv.FormatUint(uint64(w)<<40|seq, 36)
}

func (g *gen) acked(w int, e *entry, shardID, seqNum *string) {
	g.records.Add(1)
	g.bytes.Add(int64(len(e.data)))
	if g.led != nil {
		g.led.ack(w, e.seq, aws.ToString(shardID), aws.ToString(seqNum))
	}
}

// backoff waits before retry attempt (1, 2, ...); false if ctx ended.
func (g *gen) backoff(ctx context.Context, attempt int) bool {
	g.retries.Add(1)
	d := shardreader.Backoff(attempt, 50*time.Millisecond, 2*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (g *gen) putOne(ctx context.Context, w int, e *entry, h *Histogram) {
	in := &kinesis.PutRecordInput{StreamName: aws.String(g.cfg.Stream), PartitionKey: aws.String(e.key), Data: e.data}
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		out, err := g.api.PutRecord(ctx, in)
		h.Record(time.Since(t0))
		g.calls.Add(1)
		if err == nil {
			g.acked(w, e, out.ShardId, out.SequenceNumber)
			return
		}
		if ctx.Err() != nil {
			g.failed.Add(1)
			return
		}
		code := client.ErrorCode(err)
		g.countError(code, 1)
		if !client.IsRetryableCode(code) || attempt > g.cfg.MaxRetries || !g.backoff(ctx, attempt) {
			g.failed.Add(1)
			return
		}
	}
}

func (g *gen) putBatch(ctx context.Context, w int, entries []entry, h *Histogram) {
	pending := make([]*entry, len(entries))
	for i := range entries {
		pending[i] = &entries[i]
	}
	reqs := make([]types.PutRecordsRequestEntry, 0, len(entries))
	for attempt := 1; ; attempt++ {
		reqs = reqs[:0]
		for _, e := range pending {
			reqs = append(reqs, types.PutRecordsRequestEntry{PartitionKey: aws.String(e.key), Data: e.data})
		}
		t0 := time.Now()
		out, err := g.api.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(g.cfg.Stream), Records: reqs})
		h.Record(time.Since(t0))
		g.calls.Add(1)
		if err == nil && len(out.Records) != len(pending) {
			err = fmt.Errorf("PutRecords answered %d entries for %d records", len(out.Records), len(pending))
		}
		if err != nil {
			if ctx.Err() != nil {
				g.failed.Add(int64(len(pending)))
				return
			}
			code := client.ErrorCode(err)
			g.countError(code, 1)
			if !client.IsRetryableCode(code) || attempt > g.cfg.MaxRetries || !g.backoff(ctx, attempt) {
				g.failed.Add(int64(len(pending)))
				return
			}
			continue
		}
		again := pending[:0:0]
		for i, res := range out.Records {
			e := pending[i]
			code := aws.ToString(res.ErrorCode)
			if code == "" {
				g.acked(w, e, res.ShardId, res.SequenceNumber)
				continue
			}
			g.countError(code, 1)
			if client.IsRetryableCode(code) {
				again = append(again, e)
			} else {
				g.failed.Add(1)
			}
		}
		if len(again) == 0 {
			return
		}
		if attempt > g.cfg.MaxRetries || !g.backoff(ctx, attempt) {
			g.failed.Add(int64(len(again)))
			return
		}
		pending = again
	}
}

// read runs the read phase: every shard from TRIM_HORIZON to its tip.
func (g *gen) read(ctx context.Context) (*Phase, error) {
	start := g.startPhase("read")
	var (
		mu      sync.Mutex
		h       Histogram
		maxRead = map[string]string{}
	)
	cfg := shardreader.Config{
		Stream:         g.cfg.Stream,
		From:           shardreader.TrimHorizon,
		Limit:          g.cfg.GetLimit,
		CallsPerSecond: g.cfg.GetRate,
		IdleWait:       100 * time.Millisecond,
		MaxRetries:     g.cfg.MaxRetries,
		OnGetRecords: func(_ string, took time.Duration, err error) {
			g.calls.Add(1)
			mu.Lock()
			h.Record(took)
			mu.Unlock()
		},
		OnError: func(op, code string) {
			g.countError(code, 1)
			g.retries.Add(1)
		},
		StopAtTip: func(shardID string, idle time.Duration) bool {
			if g.led == nil {
				return true
			}
			want, ok := g.led.highestAcked(shardID)
			if !ok {
				return true
			}
			mu.Lock()
			got := maxRead[shardID]
			mu.Unlock()
			return !seqLess(got, want) || idle >= g.cfg.ReadGrace
		},
	}
	err := shardreader.Read(ctx, g.api, cfg, func(recs []shardreader.Record) error {
		var n int64
		for _, r := range recs {
			n += int64(len(r.Data))
			if g.led != nil {
				g.led.read(r.Data, g.nonce)
			}
		}
		g.records.Add(int64(len(recs)))
		g.bytes.Add(n)
		last := recs[len(recs)-1]
		mu.Lock()
		maxRead[last.ShardID] = last.SequenceNumber
		mu.Unlock()
		return nil
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // interrupted; Run reports it
	}
	took := time.Since(start)
	mu.Lock()
	p := newPhase("GetRecords", g.records.Load(), g.bytes.Load(), 0, g.calls.Load(), took, &h)
	mu.Unlock()
	g.endPhase()
	return p, err
}

// ensureStream waits until the stream is ACTIVE, creating it if it does
// not exist (except in read mode), and returns its open shard count.
func (g *gen) ensureStream(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	failures := 0
	for {
		out, err := g.api.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(g.cfg.Stream)})
		wait := 250 * time.Millisecond
		switch code := client.ErrorCode(err); {
		case err == nil:
			d := out.StreamDescriptionSummary
			if d.StreamStatus == types.StreamStatusActive {
				return int(aws.ToInt32(d.OpenShardCount)), nil
			}
		case code == "ResourceNotFoundException" && g.cfg.Mode == ModeRead:
			return 0, fmt.Errorf("stream %s not found", g.cfg.Stream)
		case code == "ResourceNotFoundException":
			_, err := g.api.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(g.cfg.Stream), ShardCount: aws.Int32(int32(g.cfg.Shards))})
			if err != nil && client.ErrorCode(err) != "ResourceInUseException" && !client.IsRetryableCode(client.ErrorCode(err)) {
				return 0, fmt.Errorf("creating stream %s: %w", g.cfg.Stream, err)
			}
		case client.IsRetryableCode(code) && failures < 3: // an endpoint that is down fails fast
			failures++
			wait = shardreader.Backoff(failures, 100*time.Millisecond, 2*time.Second)
		default:
			return 0, fmt.Errorf("describing stream %s: %w", g.cfg.Stream, err)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return 0, fmt.Errorf("waiting for stream %s to become ACTIVE: %w", g.cfg.Stream, err)
		}
	}
}

// deleteStream deletes the stream and waits until it is gone.
func (g *gen) deleteStream(ctx context.Context) error {
	_, err := g.api.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(g.cfg.Stream), EnforceConsumerDeletion: aws.Bool(true)})
	if err != nil {
		if client.ErrorCode(err) == "ResourceNotFoundException" {
			return nil
		}
		return err
	}
	for {
		_, err := g.api.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(g.cfg.Stream)})
		if client.ErrorCode(err) == "ResourceNotFoundException" {
			return nil
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
