// Package natsstore is the store.Backend on NATS JetStream: stream metadata
// in one KV bucket, and one JetStream stream per shard whose messages each
// pack several records (internal/store/batch). By default it runs nats-server
// in-process with no network listener; with Config.URL it uses an external
// NATS system instead. docs/format/batch.md describes the layout.
package natsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/netaddr"
	"github.com/rivulet/rivulet/internal/store"
)

// Config chooses and tunes the NATS system behind a Store.
type Config struct {
	// URL of an external NATS system. Empty starts an embedded server.
	URL string
	// DataDir holds the embedded server's files; the server keeps them in
	// DataDir/jetstream.
	DataDir string
	// InMemory keeps every stream and the KV bucket in memory: nothing
	// survives Close.
	InMemory bool
	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges it (JetStream sync_always).
	SyncAlways bool
	Logger     *slog.Logger
	// Replicas per stream and bucket, for clustered NATS. Default 1, or
	// DefaultClusterReplicas with Cluster.
	Replicas int
	// Cluster joins the embedded server to a JetStream cluster
	// (cluster.go); its zero value means a standalone server.
	Cluster Cluster
	// ListenAddr ("host:port", port 0 picks one) makes the embedded server
	// accept client connections, so other processes can share it. Empty
	// means no listener at all.
	ListenAddr string
	// ListenAuth is what ListenAddr requires of clients (auth.go). A
	// non-loopback ListenAddr without any is refused unless
	// ListenAuth.AllowAnonymous.
	ListenAuth ServerAuth
	// Server attaches in-process to an embedded server another Store
	// started (see Store.Server) instead of starting one. Close leaves it
	// running.
	Server *server.Server
	// Auth is what this Store presents to URL or Server.
	Auth ClientAuth
	// MaxStorage caps the embedded server's storage in bytes (JetStream's
	// max store, or max memory when InMemory); 0 leaves JetStream's
	// default, 75% of the free disk. A file store's cap is checked against
	// the data directory's free space at Open.
	MaxStorage int64
	// NoRepair skips the start-up check and repair of an embedded file
	// store (rivulet check runs its own, on a copy).
	NoRepair bool
	// StoreKey turns on JetStream's own encryption of the embedded file
	// store (everything: records, metadata, indexes), with a key derived
	// from it; StoreCipher is "aes" (AES-GCM, the default) or "chacha"
	// (ChaCha20-Poly1305). A directory written with a key only opens
	// with it.
	StoreKey    string
	StoreCipher string
	// MetricRetention is how long CloudWatch datapoints (store.Metrics)
	// are kept; 0 means 24 hours.
	MetricRetention time.Duration
}

// syncQueue sizes the channel of each synchronous subscription. Every
// direct get opens one, and nats.go's default of 64Ki entries made that
// allocation the largest cost of a read; List reads batches of 1000.
var syncQueue = nats.SyncQueueLen(2048)

const (
	metaBucket = "rivulet-meta"
	secretKey  = "secret.iterator"
	// embeddedMaxPayload lets one 10 MiB record plus framing fit a message.
	embeddedMaxPayload = 16 << 20
	// packTarget is the size group commit aims for per stored message.
	packTarget = 1 << 20
	// flusherIdle is how long a shard's flusher waits for work before it
	// exits.
	flusherIdle = time.Second
	// ackTimeout bounds how long a published message may wait for its
	// PubAck, so no caller or Close hangs on a lost reply.
	ackTimeout = 30 * time.Second
	// opTimeout bounds requests whose caller's context has no deadline.
	opTimeout = 10 * time.Second
)

// Store is a store.Backend on NATS JetStream. It is safe for concurrent
// use, also by several Stores (processes) on one NATS system.
type Store struct {
	taps       taps // Tap callbacks (tap.go)
	log        *slog.Logger
	ns         *server.Server // owned embedded server, nil otherwise
	tmpDir     string         // removed on Close
	nc         *nats.Conn
	js         jetstream.JetStream
	kv         jetstream.KeyValue
	storage    jetstream.StorageType
	replicas   int
	maxPayload int
	target     int

	mu     sync.Mutex
	closed bool
	queues map[store.ShardRef]*shardQueue
	quit   chan struct{}
	wg     sync.WaitGroup

	secretMu sync.Mutex
	secret   []byte

	cache metaCache
	quota quota
	segs  segCache

	buckets sync.Map // lease-table item buckets bound so far, by id

	metrics metricsState // store.Metrics (metrics.go)

	damageMu sync.Mutex
	damage   []Damage // found by the start-up check
}

var _ store.Backend = (*Store)(nil)

// Open starts or connects to NATS and makes sure the metadata bucket
// exists.
func Open(ctx context.Context, cfg Config) (st *Store, err error) {
	s, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()
	clusterCtx := ctx // openClustered has its own, longer bound
	ctx, cancel := withTimeout(ctx)
	defer func() { cancel() }()
	if s.ns != nil && cfg.StoreKey != "" {
		if err = s.checkLoaded(ctx, cfg.DataDir); err != nil {
			return nil, err
		}
	}
	if s.ns != nil && cfg.Cluster.Name != "" {
		err = s.openClustered(clusterCtx, cfg.Cluster)
		// The usual bound starts once the cluster is ready.
		cancel()
		ctx, cancel = withTimeout(clusterCtx)
	} else {
		err = s.openBucket(ctx)
		if rerr := s.replicaError("meta bucket", err); rerr != nil {
			err = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	if s.ns != nil {
		s.startQuota(s.ns)
	} else if cfg.Server != nil {
		s.startQuota(cfg.Server)
	}
	// Made now, not on the first read: a full store could not write it.
	if _, serr := s.Secret(ctx); serr != nil {
		s.log.Warn("cannot create the iterator secret yet; retrying on first use", "err", serr)
	}
	s.openMetrics(ctx, cfg.MetricRetention)
	if s.ns != nil && !cfg.InMemory && !cfg.NoRepair {
		// This process owns the files: nobody has written since they were
		// last closed or lost, so this is where damage shows and where
		// each shard's next sequences are moved above its reservation.
		if err = s.clusterRetry(clusterCtx, cfg.Cluster, s.startupCheck); err != nil {
			return nil, err
		}
	}
	if err = s.clusterRetry(clusterCtx, cfg.Cluster, s.watchSegments); err != nil {
		return nil, err
	}
	s.log.Debug("opened", "embedded", s.ns != nil, "max_payload", s.maxPayload, "storage", s.storage.String())
	return s, nil
}

// connect starts or reaches NATS and checks that JetStream answers; it
// creates nothing.
func connect(ctx context.Context, cfg Config) (st *Store, err error) {
	s := &Store{
		replicas: cfg.Replicas,
		storage:  jetstream.FileStorage,
		queues:   make(map[store.ShardRef]*shardQueue),
		quit:     make(chan struct{}),
	}
	base := cfg.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	s.log = base.With("component", "natsstore")
	if s.replicas <= 0 {
		s.replicas = 1
		if cfg.Cluster.Name != "" && cfg.URL == "" && cfg.Server == nil {
			s.replicas = DefaultClusterReplicas
		}
	}
	if cfg.InMemory {
		s.storage = jetstream.MemoryStorage
	}
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()

	errH := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		s.log.Warn("nats async error", "err", err)
	})
	opts := []nats.Option{nats.Name("rivulet"), syncQueue, errH}
	auth := cfg.Auth
	if cfg.URL != "" || cfg.Server != nil {
		ao, err := cfg.Auth.options()
		if err != nil {
			return nil, err
		}
		opts = append(opts, ao...)
	}
	switch {
	case cfg.URL != "":
		s.nc, err = nats.Connect(cfg.URL, append(opts, nats.MaxReconnects(-1))...)
	case cfg.Server != nil:
		s.nc, err = nats.Connect("", append(opts, nats.InProcessServer(cfg.Server))...)
	default:
		if err = s.startEmbedded(cfg, base.With("component", "nats-server")); err != nil {
			return nil, err
		}
		opts = append(opts, cfg.ListenAuth.inProcess()...)
		s.nc, err = nats.Connect("", append(opts, nats.InProcessServer(s.ns))...)
		auth = ClientAuth{User: cfg.ListenAuth.User, Password: cfg.ListenAuth.Password, Token: cfg.ListenAuth.Token}
	}
	if err != nil {
		return nil, connectError(err, auth)
	}
	s.maxPayload = int(s.nc.MaxPayload())
	s.target = min(packTarget, s.maxPayload)

	s.js, err = jetstream.New(s.nc,
		jetstream.WithPublishAsyncMaxPending(1024),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return nil, fmt.Errorf("natsstore: jetstream: %w", err)
	}
	if s.ns != nil && cfg.Cluster.Name != "" {
		wctx, wcancel := context.WithTimeout(ctx, cfg.Cluster.wait())
		err = waitCluster(wctx, s.ns)
		wcancel()
		if err != nil {
			return nil, err
		}
	}
	if s.ns != nil && cfg.Cluster.Name != "" {
		// A node restarting into a cluster that is itself recovering (a
		// new meta leader, or every node after a crash) waits for it as
		// long as for a first start.
		err = s.clusterRetry(ctx, cfg.Cluster, func(ctx context.Context) error {
			_, err := s.js.AccountInfo(ctx)
			return err
		})
	} else {
		actx, cancel := withTimeout(ctx)
		_, err = s.js.AccountInfo(actx)
		cancel()
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: JetStream not available: %w", err)
	}
	return s, nil
}

func (s *Store) startEmbedded(cfg Config, serverLog *slog.Logger) error {
	dir := cfg.DataDir
	if cfg.InMemory {
		// JetStream wants a writable store dir even when every stream is in
		// memory; keep it private and remove it on Close.
		tmp, err := os.MkdirTemp("", "rivulet-nats-")
		if err != nil {
			return fmt.Errorf("natsstore: %w", err)
		}
		s.tmpDir, dir = tmp, tmp
	} else if dir == "" {
		return errors.New("natsstore: DataDir is required for an embedded file store")
	} else if cfg.MaxStorage > 0 {
		if err := checkCapacity(dir, cfg.MaxStorage); err != nil {
			return err
		}
	}
	opts := &server.Options{
		ServerName: "rivulet",
		JetStream:  true,
		StoreDir:   dir, // the server adds "jetstream" itself
		SyncAlways: cfg.SyncAlways,
		MaxPayload: embeddedMaxPayload,
		DontListen: cfg.ListenAddr == "",
		NoSigs:     true,
	}
	if cfg.Cluster.Name != "" {
		if err := cfg.Cluster.apply(opts, cfg.ListenAuth); err != nil {
			return err
		}
	}
	if err := storeEncryption(cfg, dir, opts); err != nil {
		return err
	}
	if cfg.MaxStorage > 0 {
		if cfg.InMemory {
			opts.JetStreamMaxMemory = cfg.MaxStorage
		} else {
			opts.JetStreamMaxStore = cfg.MaxStorage
		}
	}
	if cfg.ListenAddr != "" {
		if err := cfg.ListenAuth.check(cfg.ListenAddr); err != nil {
			return err
		}
		if err := cfg.ListenAuth.apply(opts); err != nil {
			return err
		}
		host, p, err := listenAddr("ListenAddr", cfg.ListenAddr)
		if err != nil {
			return err
		}
		opts.Host, opts.Port = host, p
	} else if cfg.Cluster.Name != "" {
		// nats-server starts routing only once its client listener is
		// up, so a cluster node needs one: a free loopback port.
		opts.DontListen = false
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("natsstore: embedded server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{serverLog}, false, false, false)
	s.ns = ns
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return errors.New("natsstore: embedded server did not start")
	}
	if !ns.JetStreamEnabled() {
		return errors.New("natsstore: embedded server has no JetStream")
	}
	if c := cfg.Cluster; c.Name != "" && !netaddr.IsLoopback(c.Listen) && c.Listen != "" && cfg.ListenAuth.User == "" && cfg.ListenAuth.TLSCAFile == "" {
		s.log.Warn("cluster routes listen beyond loopback with no authentication (allowed explicitly)", "cluster_listen", c.Listen)
	}
	if a := cfg.ListenAuth; cfg.ListenAddr != "" && !netaddr.IsLoopback(cfg.ListenAddr) {
		switch {
		case !a.authenticates():
			s.log.Warn("NATS listens beyond loopback with no authentication (allowed explicitly)", "nats_listen", cfg.ListenAddr)
		case a.TLSCertFile == "":
			s.log.Warn("NATS listens beyond loopback without TLS: credentials and records cross the network in clear", "nats_listen", cfg.ListenAddr)
		}
	}
	return nil
}

// openBucket binds the metadata bucket, creating it on first use. Two
// processes may race here; the loser binds to the winner's bucket.
func (s *Store) openBucket(ctx context.Context) error {
	kv, err := s.js.KeyValue(ctx, metaBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      metaBucket,
			Description: "rivulet stream metadata",
			History:     1,
			Storage:     s.storage,
			Replicas:    s.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = s.js.KeyValue(ctx, metaBucket)
		}
	}
	if err != nil {
		return fmt.Errorf("natsstore: meta bucket: %w", err)
	}
	s.kv = kv
	return nil
}

// ClientURL is the embedded server's client URL when it listens (see
// Config.ListenAddr), else "".
func (s *Store) ClientURL() string {
	if s.ns == nil || s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Server is the embedded server this Store started, or nil.
func (s *Store) Server() *server.Server { return s.ns }

// Close waits for accepted appends to finish, then disconnects and shuts
// the embedded server down, which flushes its files. Calling it again is a
// no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()
	s.stopWatch()
	s.wg.Wait()
	s.shutdown()
	s.log.Debug("closed")
	return nil
}

func (s *Store) shutdown() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	if s.tmpDir != "" {
		if err := os.RemoveAll(s.tmpDir); err != nil {
			s.log.Warn("remove temp dir", "dir", s.tmpDir, "err", err)
		}
	}
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// withTimeout gives a default deadline to contexts that have none, so a
// lost reply cannot block forever.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// serverLogger routes nats-server's log to slog one level quieter than the
// server means it: its notices are startup chatter.
type serverLogger struct{ l *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.l.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Maximum payloads over") {
		// Rivulet raises max_payload on purpose for 10 MiB records.
		l.l.Debug(msg)
		return
	}
	if strings.HasPrefix(msg, "Plaintext passwords detected") {
		// --nats-password is given in plain text: the process's own
		// in-process connection presents it.
		l.l.Debug(msg)
		return
	}
	l.l.Warn(msg)
}
func (l serverLogger) Fatalf(format string, v ...any) { l.l.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any) { l.l.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any) { l.l.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(string, ...any)          {}
