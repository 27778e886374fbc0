package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/client/shardreader"
)

// subscriptionTimeout lets a SubscribeToShard response (5 minutes of
// events) outlive the per-request --timeout.
const subscriptionTimeout = 6 * time.Minute

// runTailApp is `rivulet tail --app`: a KCL worker of the application
// f.app that prints what it processes.
func runTailApp(ctx context.Context, e *env, f *tailFlags, from shardreader.Position) int {
	kconf := f.conn
	if f.fanout {
		// AWS subscribes over HTTP/2 only, and aws-sdk-go-v2 loses
		// subscriptions over HTTP/1.1 (docs/FANOUT.md).
		kconf.HTTP2 = true
		kconf.Timeout = max(kconf.Timeout, subscriptionTimeout)
	}
	kc, err := client.New(kconf)
	if err != nil {
		return usageError(e, "tail", err)
	}
	ddb, err := client.NewDynamoDB(f.conn)
	if err != nil {
		return usageError(e, "tail", err)
	}
	for _, hc := range []any{kc.Options().HTTPClient, ddb.Options().HTTPClient} {
		if c, ok := hc.(interface{ CloseIdleConnections() }); ok {
			defer c.CloseIdleConnections() // for in-process runs, as in tests
		}
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// After the first signal a second one kills at once, as usual.
	context.AfterFunc(ctx, stopSignals)
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()

	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := &appPrinter{out: bufio.NewWriterSize(e.stdout, 64<<10), format: f.format, max: f.max, stop: stopWorker, log: log}
	cfg := consumer.Config{
		AppName:         f.app,
		WorkerID:        f.workerID,
		Stream:          f.stream,
		Kinesis:         kc,
		DynamoDB:        ddb,
		Processor:       consumer.ProcessorFactoryFunc(func(string) consumer.Processor { return &shardPrinter{p: p} }),
		InitialPosition: initialPosition(from),
		FailoverTime:    f.failover,
		// A child shard starts within a second of its parents' end, not
		// the KCL's 10 s: tail is watched by people.
		ParentShardPollInterval: time.Second,
		// A shutdown only checkpoints each shard once; the bound matters
		// when -n stopped inside a closed shard's last batch, which the
		// worker waits on (see ShardEnded).
		ShutdownTimeout: 10 * time.Second,
		Logger:          log,
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		cfg.WorkerID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if f.fanout {
		cfg.Retrieval = consumer.FanOut{}
	}
	w, err := consumer.New(cfg)
	if err != nil {
		return usageError(e, "tail", err)
	}
	// The worker would wait for a missing stream, warning, forever.
	err = streamExists(wctx, kc, f.stream)
	if err == nil {
		err = w.Run(wctx)
	}
	if err == nil || wctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = p.failure()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet tail: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func initialPosition(from shardreader.Position) consumer.InitialPosition {
	switch from.Type {
	case types.ShardIteratorTypeLatest:
		return consumer.InitialPosition{Type: consumer.SentinelLatest}
	case types.ShardIteratorTypeAtTimestamp:
		return consumer.InitialPosition{Type: consumer.SentinelAtTimestamp, Timestamp: from.Timestamp}
	}
	return consumer.InitialPosition{Type: consumer.SentinelTrimHorizon}
}

// appPrinter writes the batches of every shard a worker processes, a
// whole batch at a time, and stops the worker after -n records or when
// standard output fails.
type appPrinter struct {
	format string
	max    int64
	stop   context.CancelFunc
	log    *slog.Logger

	mu      sync.Mutex
	out     *bufio.Writer
	printed int64
	err     error
}

// print writes recs, as many as -n still allows, and flushes them. It
// returns how many were written; 0 after a write error, since then none
// is known to be out.
func (p *appPrinter) print(shard string, recs []consumer.Record) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil || p.done() {
		return 0
	}
	n := 0
	for _, r := range recs {
		err := writeRecord(p.out, p.format, shardreader.Record{
			ShardID: shard, SequenceNumber: r.SequenceNumber, SubSequenceNumber: r.SubSequenceNumber, Aggregated: r.Aggregated,
			PartitionKey: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey, Data: r.Data, ArrivalTime: r.ApproximateArrivalTimestamp,
		})
		if err != nil {
			p.fail(err)
			return 0
		}
		n++
		p.printed++
		if p.done() {
			break
		}
	}
	if err := p.out.Flush(); err != nil {
		p.fail(err)
		return 0
	}
	if p.done() {
		p.stop()
	}
	return n
}

func (p *appPrinter) done() bool { return p.max > 0 && p.printed >= p.max }

func (p *appPrinter) fail(err error) {
	p.err = fmt.Errorf("writing records: %w", err)
	p.stop()
}

func (p *appPrinter) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// shardPrinter is one shard's processor: it checkpoints each batch once
// it is printed, and never past the last record printed, so that what -n
// or a failed write left out is printed by the next run.
type shardPrinter struct {
	p      *appPrinter
	last   *consumer.ExtendedSequenceNumber // the last record printed
	behind bool                             // a record delivered was not printed
}

func (s *shardPrinter) Initialize(context.Context, consumer.InitializeInput) {}

func (s *shardPrinter) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) {
	n := s.p.print(in.ShardID, in.Records)
	if n < len(in.Records) {
		s.behind = true
	}
	if n == 0 {
		return
	}
	pos := in.Records[n-1].Position()
	s.last = &pos
	s.checkpoint(ctx, in.ShardID, in.Checkpointer)
}

func (s *shardPrinter) checkpoint(ctx context.Context, shard string, cp consumer.Checkpointer) {
	if s.last == nil {
		return
	}
	err := cp.CheckpointAt(ctx, s.last.SequenceNumber, s.last.SubSequenceNumber)
	// A lost lease is normal: its new owner prints from the checkpoint.
	// Other failures are covered by the next batch's checkpoint.
	if err != nil && !errors.Is(err, consumer.ErrLeaseLost) {
		s.p.log.Warn("checkpoint failed", "shard", shard, "err", err)
	}
}

func (s *shardPrinter) ShardEnded(ctx context.Context, in consumer.ShardEndedInput) {
	if s.behind {
		// SHARD_END would skip what was not printed; the worker asks
		// again until its shutdown times out.
		s.checkpoint(ctx, in.ShardID, in.Checkpointer)
		return
	}
	if err := in.Checkpointer.Checkpoint(ctx); err != nil && !errors.Is(err, consumer.ErrLeaseLost) {
		s.p.log.Warn("checkpoint at the shard's end failed", "shard", in.ShardID, "err", err)
	}
}

func (s *shardPrinter) LeaseLost(context.Context, consumer.LeaseLostInput) {}

func (s *shardPrinter) ShutdownRequested(ctx context.Context, in consumer.ShutdownRequestedInput) {
	s.checkpoint(ctx, in.ShardID, in.Checkpointer)
}
