package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/config"
	"github.com/rivulet/rivulet/internal/transport"
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
The admin listener, --admin-addr (127.0.0.1:4568), serves /admin/faults
(GET, PUT, POST, DELETE: fault rules at run time) and GET /admin/limits
(docs/LIMITS.md), and /health; it refuses requests from web pages on other
sites (docs/SECURITY.md). --addr does not serve /admin/.
With --auth=sigv4 every request's signature is checked against the keys in
--credentials (stored in NATS, so other processes on it may omit the flag),
and the key's policies must allow it; admin requests must then be signed for
the service "rivulet" by a key allowed rivulet:AdminRead or rivulet:AdminWrite.
A non-loopback --addr needs --auth=sigv4, or an explicit --auth=none
(docs/SECURITY.md).

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
	if err == nil && cfg.TLSCert != "" {
		// Checked here too, so a bad file is a usage error, not a failed start.
		if _, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			err = fmt.Errorf("invalid --tls-cert/--tls-key: %w", err)
		}
	}
	if err == nil && cfg.Auth == config.AuthSigV4 && cfg.Credentials != "" {
		// Without a file the credentials come from NATS (docs/SECURITY.md).
		if _, err = auth.LoadFile(cfg.Credentials); err != nil {
			err = fmt.Errorf("invalid --credentials: %w", err)
		}
	}
	if err == nil {
		err = cfg.CheckExposure()
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet serve: %v\nRun 'rivulet serve --help' for usage.\n", err)
		return exitUsage
	}
	logger := newLogger(e.stderr, cfg)
	slog.SetDefault(logger)
	setMemoryLimit(cfg, e.lookupEnv)

	// Registered before "ready" is logged, so a supervisor's SIGTERM is
	// never lost to the default handler.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cfg.PprofAddr != "" {
		stopPprof, err := startPprof(cfg.PprofAddr, logger)
		if err != nil {
			logger.Error("cannot start pprof", "err", err)
			return exitFailure
		}
		defer stopPprof()
	}

	srv, err := rivulet.Start(ctx, serverConfig(cfg, logger))
	if err != nil {
		logger.Error("cannot start", "err", startHint(err))
		return exitFailure
	}

	ready := []any{"addr", srv.Endpoint()}
	if a := srv.TLSEndpoint(); a != "" {
		ready = append(ready, "tls_addr", a)
	}
	if a := srv.AdminEndpoint(); a != "" {
		ready = append(ready, "admin_addr", a)
	}
	switch {
	case cfg.NATSURL != "":
		ready = append(ready, "nats", cfg.NATSURL)
	case cfg.InMemory:
		ready = append(ready, "storage", "memory")
	default:
		ready = append(ready, "data_dir", cfg.DataDir, "sync", cfg.Sync)
	}
	if u := srv.NATSURL(); u != "" {
		ready = append(ready, "nats_listen", u)
	}
	ready = append(ready, "limits", cfg.Limits, "auth", cmp.Or(cfg.Auth, config.AuthNone))
	if !cfg.HTTPFastPath {
		ready = append(ready, "http_fast_path", false)
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
	// A drain that ran out of time cut requests off, but everything
	// acknowledged is stored; only a failed close of storage fails the exit.
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		code = exitFailure
	}
	logger.Info("stopped", "took", time.Since(began).Round(time.Millisecond).String())
	return code
}

// serverConfig maps the command line's settings onto the embedded server's.
func serverConfig(cfg *config.Config, logger *slog.Logger) rivulet.Config {
	rc := rivulet.Config{
		Addr:        cfg.Addr,
		TLSAddr:     cfg.TLSAddr(),
		TLSCertFile: cfg.TLSCert,
		TLSKeyFile:  cfg.TLSKey,
		DataDir:     cfg.DataDir,
		NATSURL:     cfg.NATSURL,
		NATSListen:  cfg.NATSListen,
		NATSAuth: rivulet.NATSAuth{
			User: cfg.NATSUser, Password: cfg.NATSPassword, Token: cfg.NATSToken, CredsFile: cfg.NATSCreds,
			TLSCertFile: cfg.NATSTLSCert, TLSKeyFile: cfg.NATSTLSKey, TLSCAFile: cfg.NATSTLSCA,
			AllowAnonymous: cfg.NATSAllowAnonymous,
		},
		Cluster: rivulet.Cluster{
			Name: cfg.ClusterName, Node: cfg.NodeName, Listen: cfg.ClusterListen, Routes: cfg.Routes(),
		},
		AdminAddr:           cfg.AdminAddr,
		Replicas:            cfg.Replicas,
		SyncAlways:          cfg.Sync == config.SyncAlways,
		DiscardRecords:      cfg.Storage == config.StorageDiscard,
		MaxStorage:          cfg.MaxStorage,
		NATSStoreKey:        cfg.NATSStoreKey,
		NATSStoreCipher:     cfg.NATSStoreCipher,
		KMSKeys:             cfg.KMSKeys,
		CreateDelay:         cfg.CreateDelay,
		DeleteDelay:         cfg.DeleteDelay,
		ReshardDelay:        cfg.ReshardDelay,
		ConsumerCreateDelay: cfg.ConsumerCreateDelay,
		ConsumerDeleteDelay: cfg.ConsumerDeleteDelay,
		OnDemand: rivulet.OnDemand{
			SplitAfter: cfg.OnDemandSplitAfter,
			MergeAfter: cfg.OnDemandMergeAfter,
			HotRecords: cfg.OnDemandHotRecords,
			HotBytes:   cfg.OnDemandHotBytes,
		},
		ShardLimit:          cfg.ShardLimit,
		AWSLimits:           cfg.Limits == config.LimitsAWS,
		Faults:              cfg.Faults,
		DisableHTTPFastPath: !cfg.HTTPFastPath,
		ReadHeaderTimeout:   cfg.ReadHeaderTimeout,
		ReadBodyTimeout:     offIfZero(cfg.ReadBodyTimeout),
		ReadBodyMinRate:     offIfZero(cfg.ReadBodyMinRate),
		MaxConnections:      offIfZero(cfg.MaxConnections),
		Auth:                cfg.Auth,
		Credentials:         cfg.Credentials,
		Logger:              logger,
	}
	if cfg.InMemory {
		rc.DataDir = ""
	}
	rc.Firehose = rivulet.Firehose{BucketDir: cfg.BucketDir, LambdaEndpoint: cfg.LambdaEndpoint, Off: !cfg.Delivery}
	rc.Metrics = rivulet.Metrics{Off: cfg.MetricsOff, Retention: cfg.MetricsRetention, FlushInterval: cfg.MetricsFlush, OpenMetrics: cfg.MetricsOpen}
	if cfg.S3Endpoint != "" {
		ep := cfg.S3Endpoint
		if ep == "aws" {
			ep = ""
		}
		rc.Firehose.S3 = &rivulet.S3{Endpoint: ep, Region: cfg.S3Region, AccessKeyID: cfg.S3AccessKeyID,
			SecretAccessKey: cfg.S3SecretAccessKey, VirtualHosted: cfg.S3VirtualHosted}
	}
	return rc
}

// startHint adds the setting to change to the start failures a user can
// fix from the command line.
func startHint(err error) error {
	var le *transport.ListenError
	if errors.As(err, &le) && le.Listener == "admin" {
		return fmt.Errorf("%w; give the admin listener another address with --admin-addr HOST:PORT, or turn it off with --admin-addr=off", err)
	}
	return natsHint(err)
}

// offIfZero maps a flag's "0 for none" onto rivulet.Config, where zero
// is the default and a negative value none.
func offIfZero[T int | int64 | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
