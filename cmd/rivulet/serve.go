package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/internal/config"
	"github.com/rivulet/rivulet/internal/kinesis/fault"
	"github.com/rivulet/rivulet/internal/kinesis/limits"
	"github.com/rivulet/rivulet/internal/transport"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/discard"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"github.com/rivulet/rivulet/internal/wire"
)

func init() {
	register(command{name: "serve", summary: "run the Kinesis-compatible server", run: runServe})
}

func serveUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: rivulet serve [flags]

Serves the Kinesis Data Streams API on --addr: HTTP/1.1 and cleartext HTTP/2
(prior knowledge) on one port, plus TLS on --tls-port if given. GET /health
answers {"status":"ok"} while storage is reachable. SIGINT or SIGTERM drains
in-flight requests, then closes storage; a second signal exits at once.
/admin/faults (GET, PUT, POST, DELETE) changes fault rules at run time and
GET /admin/limits shows the throughput limits, on --addr only (docs/LIMITS.md).

Every flag is also an environment variable (RIVULET_ plus the name in upper
snake case) and a key of the --config file, one "key = value" per line.

Flags:
`)
	config.Usage(w)
}

func runServe(ctx context.Context, e *env, args []string) int {
	cfg, err := config.Load(args, e.lookupEnv)
	if errors.Is(err, config.ErrHelp) {
		serveUsage(e.stdout)
		return exitOK
	}
	var cert *tls.Certificate
	if err == nil && cfg.TLSCert != "" {
		var c tls.Certificate
		if c, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			err = fmt.Errorf("invalid --tls-cert/--tls-key: %w", err)
		}
		cert = &c
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet serve: %v\nRun 'rivulet serve --help' for usage.\n", err)
		return exitUsage
	}
	logger := newLogger(e.stderr, cfg)
	slog.SetDefault(logger)
	setMemoryLimit(cfg, e.lookupEnv)

	if cfg.TLSPort != 0 && cert == nil {
		if cert, err = selfSignedCert(cfg, logger); err != nil {
			logger.Error("cannot set up TLS", "err", err)
			return exitFailure
		}
	}

	// Registered before "ready" is logged, so a supervisor's SIGTERM is
	// never lost to the default handler.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := natsstore.Open(ctx, natsstore.Config{
		URL:        cfg.NATSURL,
		DataDir:    cfg.DataDir,
		InMemory:   cfg.InMemory,
		SyncAlways: cfg.Sync == config.SyncAlways,
		Logger:     logger,
		Replicas:   cfg.Replicas,
		ListenAddr: cfg.NATSListen,
	})
	if err != nil {
		logger.Error("cannot open storage", "err", err)
		return exitFailure
	}
	var backend store.Backend = st
	if cfg.Storage == config.StorageDiscard {
		logger.Warn("--storage=discard: records are acknowledged and THROWN AWAY; for benchmarks only")
		backend = discard.Wrap(st)
	}
	lim, faults, err := limitsAndFaults(ctx, cfg, st, logger)
	if err != nil {
		logger.Error("cannot set up limits and faults", "err", err)
		st.Close()
		return exitFailure
	}
	var limiter kinesis.Limiter // a nil *Limiter must not become a non-nil interface
	if lim != nil {
		limiter = lim
	}
	svc := kinesis.New(backend, kinesis.Config{
		CreateDelay:         serviceDelay(cfg.CreateDelay),
		DeleteDelay:         serviceDelay(cfg.DeleteDelay),
		ReshardDelay:        serviceDelay(cfg.ReshardDelay),
		ConsumerCreateDelay: serviceDelay(cfg.ConsumerCreateDelay),
		ConsumerDeleteDelay: serviceDelay(cfg.ConsumerDeleteDelay),
		AutoScale: kinesis.AutoScale{
			SplitAfter: cfg.OnDemandSplitAfter,
			MergeAfter: cfg.OnDemandMergeAfter,
			HotRecords: float64(cfg.OnDemandHotRecords),
			HotBytes:   float64(cfg.OnDemandHotBytes),
		},
		ShardLimit: cfg.ShardLimit,
		Limits:     limiter,
		Faults:     faults,
		Logger:     logger,
	})
	closeStorage := func() int {
		svc.Close()
		if err := st.Close(); err != nil {
			logger.Error("closing storage failed", "err", err)
			return exitFailure
		}
		return exitOK
	}

	if cfg.PprofAddr != "" {
		stopPprof, err := startPprof(cfg.PprofAddr, logger)
		if err != nil {
			logger.Error("cannot start pprof", "err", err)
			closeStorage()
			return exitFailure
		}
		defer stopPprof()
	}

	srv, err := transport.New(transport.Config{
		Addr:    cfg.Addr,
		TLSAddr: cfg.TLSAddr(),
		TLSCert: cert,
		Health:  storageHealth(st),
		Admin:   adminHandler(faults, lim),
	}, wire.NewHandler(svc.Operations(), logger), logger)
	if err == nil {
		err = srv.Start(ctx)
	}
	if err != nil {
		logger.Error("cannot start the server", "err", err)
		closeStorage()
		return exitFailure
	}

	ready := []any{"addr", "http://" + srv.Addr().String()}
	if a := srv.TLSAddr(); a != nil {
		ready = append(ready, "tls_addr", "https://"+a.String())
	}
	switch {
	case cfg.NATSURL != "":
		ready = append(ready, "nats", cfg.NATSURL)
	case cfg.InMemory:
		ready = append(ready, "storage", "memory")
	default:
		ready = append(ready, "data_dir", cfg.DataDir, "sync", cfg.Sync)
	}
	ready = append(ready, "limits", cfg.Limits)
	if n := len(faults.Rules()); n > 0 {
		ready = append(ready, "fault_rules", n)
	}
	ready = append(ready, "version", versionString(), "startup", time.Since(e.started).Round(time.Millisecond).String())
	logger.Info("rivulet ready", ready...)

	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "cause", context.Cause(ctx).Error(), "drain_timeout", cfg.ShutdownTimeout.String())
	case err := <-srv.Err():
		logger.Error("server failed; shutting down", "err", err)
		code = exitFailure
	}
	stop() // from here a second signal kills the process
	began := time.Now()

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	err = srv.Shutdown(sctx)
	cancel()
	if err != nil {
		// Requests were cut off, but none of them is running any more and
		// everything acknowledged is stored; closing storage stays safe.
		logger.Warn("in-flight requests did not finish in time", "err", err)
	}
	if c := closeStorage(); c != exitOK {
		code = c
	}
	logger.Info("stopped", "took", time.Since(began).Round(time.Millisecond).String())
	return code
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serviceDelay maps a configured delay to kinesis.Config, where zero means
// "the default" and a negative value means "immediately".
func serviceDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// selfSignedCert is kept in the data directory, so clients can trust it
// once, or only in memory with --in-memory.
func selfSignedCert(cfg *config.Config, logger *slog.Logger) (*tls.Certificate, error) {
	if cfg.InMemory {
		c, _, _, err := transport.SelfSignedCert(time.Now())
		if err != nil {
			return nil, err
		}
		logger.Info("using a self-signed TLS certificate kept only in memory")
		return &c, nil
	}
	c, created, err := transport.LoadOrCreateCert(cfg.DataDir, time.Now())
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created a self-signed TLS certificate",
			"cert", filepath.Join(cfg.DataDir, transport.CertDir, transport.CertFileName),
			"hosts", "localhost 127.0.0.1 ::1", "expires", c.Leaf.NotAfter.Format(time.DateOnly))
	}
	return &c, nil
}

// healthProbe names a stream nobody needs to have: reading it is a real
// round trip to storage, and "not found" is a healthy answer.
var healthProbe = store.StreamKey{
	Account: kinesis.DefaultCaller.Account,
	Region:  kinesis.DefaultCaller.Region,
	Name:    "rivulet-health-probe",
}

func storageHealth(m store.Meta) func(context.Context) error {
	return func(ctx context.Context) error {
		_, _, err := m.Get(ctx, healthProbe)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("storage: %w", err)
	}
}

// limitsAndFaults builds the --limits and --faults hooks. The limiter is
// nil with --limits=off. With --limits=aws this process joins the peer
// registry, so processes sharing the storage divide the limits; closing
// st stops its heartbeat. The injector always exists, so /admin/faults
// can add rules to a server started without any.
func limitsAndFaults(ctx context.Context, cfg *config.Config, st *natsstore.Store, logger *slog.Logger) (*limits.Limiter, *fault.Injector, error) {
	rules, err := fault.Load(cfg.Faults)
	if err != nil {
		return nil, nil, fmt.Errorf("--faults: %w", err)
	}
	faults, err := fault.New(rules...)
	if err != nil {
		return nil, nil, fmt.Errorf("--faults: %w", err)
	}
	if len(rules) > 0 {
		logger.Warn("fault injection is on", "rules", len(rules))
	}
	if cfg.Limits != config.LimitsAWS {
		return nil, faults, nil
	}
	peers, err := st.StartHeartbeat(ctx)
	if err != nil {
		return nil, nil, err
	}
	lim := limits.New(limits.Config{Peers: func() int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := peers.Count(ctx)
		if err != nil {
			logger.Warn("cannot count rivulet processes; keeping the last count", "err", err)
			return 0
		}
		return n
	}})
	return lim, faults, nil
}

// adminHandler serves /admin/faults and /admin/limits.
func adminHandler(faults *fault.Injector, lim *limits.Limiter) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/admin/faults", faults.Handler())
	mux.Handle("/admin/limits", limits.Handler(lim))
	return mux
}

// setMemoryLimit applies --memory-limit, unless it is the default and the
// environment sets GOMEMLIMIT, which the Go runtime has already applied.
// The limit keeps the heap from growing to twice its live size under load
// (GetRecords of 10 MiB come and go fast).
func setMemoryLimit(cfg *config.Config, lookupEnv func(string) (string, bool)) {
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" && cfg.MemoryLimit == config.DefaultMemoryLimit {
		return
	}
	if cfg.MemoryLimit == 0 {
		debug.SetMemoryLimit(math.MaxInt64)
		return
	}
	debug.SetMemoryLimit(cfg.MemoryLimit)
}
