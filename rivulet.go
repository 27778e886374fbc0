package rivulet

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/authz"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/cloudwatch"
	"github.com/rivulet/rivulet/internal/console"
	"github.com/rivulet/rivulet/internal/delivery"
	"github.com/rivulet/rivulet/internal/dynamodb"
	"github.com/rivulet/rivulet/internal/firehose"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/kinesis/fault"
	"github.com/rivulet/rivulet/internal/kinesis/limits"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/discard"
	"github.com/rivulet/rivulet/internal/store/natsstore"
	"github.com/rivulet/rivulet/internal/transport"
	"github.com/rivulet/rivulet/internal/wire"
)

// Config says how to run a server. The zero Config is a server for tests:
// in memory, on a free loopback port (and its admin listener on another),
// with every stream and consumer transition immediate and no logging.
type Config struct {
	// Addr is the plain listener, HTTP/1.1 and cleartext HTTP/2 on one
	// port. Empty means "127.0.0.1:0", a free loopback port.
	Addr string
	// TLSAddr adds a TLS listener (h2 by ALPN, and HTTP/1.1); empty means
	// none.
	TLSAddr string
	// TLSCertFile and TLSKeyFile are PEM files for TLSAddr. Without them a
	// self-signed certificate for localhost is made: kept in DataDir, or
	// only in memory when DataDir is empty.
	TLSCertFile, TLSKeyFile string

	// DataDir is where the embedded NATS JetStream keeps its files. Empty
	// keeps everything in memory, so nothing survives Close.
	DataDir string
	// NATSURL uses an external NATS with JetStream instead of the embedded
	// one; DataDir is then not used for records.
	NATSURL string
	// NATSListen lets other processes share the embedded NATS at this
	// host:port; empty means no NATS listener. A non-loopback address
	// needs NATSAuth (or NATSAuth.AllowAnonymous).
	NATSListen string
	// NATSAuth is how this process and its NATS authenticate each other
	// (docs/SECURITY.md).
	NATSAuth NATSAuth
	// Cluster joins the embedded NATS to other Rivulet nodes' as one
	// JetStream cluster (docs/CLUSTER.md); the zero value means none.
	Cluster Cluster
	// Replicas is the JetStream replica count per stream; 0 means 1, or
	// 3 with Cluster.
	Replicas int
	// SyncAlways fsyncs every write before it is acknowledged.
	SyncAlways bool
	// DiscardRecords acknowledges records and throws them away: a
	// ceiling for benchmarks, never for use.
	DiscardRecords bool
	// MaxStorage caps the embedded JetStream's storage in bytes (memory
	// when DataDir is empty); 0 means JetStream's default, 75% of the free
	// disk. Start refuses a cap the data directory's filesystem cannot
	// hold. Records stop a reserve below the cap, which is kept for
	// metadata so that DeleteStream and reads work while full.
	MaxStorage int64
	// NATSStoreKey encrypts everything the embedded NATS writes to
	// DataDir (JetStream store encryption); NATSStoreCipher is "aes" (the
	// default) or "chacha". A directory written with a key opens only
	// with it.
	NATSStoreKey, NATSStoreCipher string
	// KMSKeys is the JSON key ring file for StartStreamEncryption
	// (docs/SECURITY.md); empty means only alias/aws/kinesis.
	KMSKeys string

	// CreateDelay and DeleteDelay are how long streams stay CREATING and
	// DELETING; ReshardDelay how long a stream stays UPDATING before a
	// reshard, mode change or encryption change takes effect. Zero means
	// immediately.
	CreateDelay, DeleteDelay, ReshardDelay time.Duration
	// ConsumerCreateDelay and ConsumerDeleteDelay are the same for
	// enhanced fan-out consumers. Zero means immediately.
	ConsumerCreateDelay, ConsumerDeleteDelay time.Duration

	// OnDemand is the scaling policy of ON_DEMAND streams; zero fields
	// take the defaults in docs/RESHARDING.md.
	OnDemand OnDemand
	// ShardLimit is the account's shard limit per region; 0 means 500.
	ShardLimit int
	// AWSLimits enforces AWS's per-shard and control-plane rates,
	// divided among the processes sharing the storage.
	AWSLimits bool
	// Faults are fault-injection rules as JSON, or "@file" (docs/LIMITS.md).
	// They can be changed later on /admin/faults.
	Faults string
	// AdminAddr is the admin listener: /admin/faults, /admin/limits and
	// /health, refusing requests from other sites (docs/SECURITY.md).
	// Empty means "127.0.0.1:0", a free loopback port (AdminEndpoint
	// names it), so that servers in parallel tests never collide; "off"
	// means none. A non-loopback address is served with a warning.
	AdminAddr string

	// ReadHeaderTimeout bounds how long a client may take to send a
	// request head; zero means 10s.
	ReadHeaderTimeout time.Duration
	// ReadBodyTimeout plus the body's length at ReadBodyMinRate bytes a
	// second bounds reading a request body (docs/OPERATIONS.md). Zero
	// means 30s and 64 KiB/s; a negative ReadBodyTimeout means no limit,
	// a negative ReadBodyMinRate no allowance by length.
	ReadBodyTimeout time.Duration
	ReadBodyMinRate int64
	// MaxConnections caps the open connections on each listener; more
	// are refused. Zero means 10000, negative no cap.
	MaxConnections int

	// Auth is how requests are authenticated: AuthNone (or "") accepts
	// any complete SigV4 signature unchecked, the credential scope naming
	// the account and region; AuthSigV4 verifies every signature against
	// the keys in Credentials (docs/SECURITY.md).
	Auth string
	// Credentials is the JSON credentials file AuthSigV4 needs.
	Credentials string

	// Firehose configures where delivery streams deliver.
	Firehose Firehose

	// Metrics configures CloudWatch-style metrics, Prometheus's /metrics
	// and the web console's graphs (docs/METRICS.md).
	Metrics Metrics

	// DisableHTTPFastPath hands every request to net/http instead of
	// answering plain HTTP/1.1 requests with Rivulet's own small server.
	DisableHTTPFastPath bool
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Clock is the time the service and its limits go by: stream and
	// consumer transitions, iterator expiry, throughput buckets. Nil is
	// time.Now. Tests use it to hold time still; stored records keep
	// their real arrival times.
	Clock func() time.Time
}

// Metrics configures metrics.
type Metrics struct {
	// Off counts nothing: /metrics serves only process metrics and the
	// CloudWatch API finds no data. For measuring the cost of metrics.
	Off bool
	// Retention is how long one-minute datapoints are kept in NATS for
	// the CloudWatch API; 0 means 24 hours.
	Retention time.Duration
	// FlushInterval is how often each process writes what it counted;
	// 0 means 10 seconds.
	FlushInterval time.Duration
	// OpenMetrics serves /metrics without a signature even with
	// AuthSigV4, for Prometheus scrapers, which cannot sign.
	OpenMetrics bool
}

// Authentication modes (Config.Auth).
const (
	AuthNone  = "none"
	AuthSigV4 = "sigv4"
)

// OnDemand is the scaling policy of ON_DEMAND streams.
type OnDemand struct {
	// SplitAfter is how long a shard must be hot before it is split, and
	// MergeAfter how long two neighbours must be cold before they merge.
	SplitAfter, MergeAfter time.Duration
	// HotRecords and HotBytes are the per-second write rates above which
	// a shard is hot.
	HotRecords, HotBytes int
}

// NATSAuth is how Rivulet and NATS authenticate each other. With
// Config.NATSURL it is what this process presents to that NATS; with
// Config.NATSListen it is what the embedded NATS requires of every
// client.
type NATSAuth struct {
	// User and Password, or Token: at most one of the two.
	User, Password string
	Token          string
	// CredsFile is a NATS credentials file (user JWT and NKey seed), for
	// NATSURL only.
	CredsFile string
	// TLSCertFile and TLSKeyFile are PEM files: the embedded NATS's
	// certificate with NATSListen (its clients must then use TLS), this
	// process's client certificate with NATSURL.
	TLSCertFile, TLSKeyFile string
	// TLSCAFile is PEM: with NATSListen, clients must present a
	// certificate it signed; with NATSURL, it is trusted for the server's
	// certificate.
	TLSCAFile string
	// AllowAnonymous lets NATSListen be a non-loopback address without
	// any authentication.
	AllowAnonymous bool
}

// Cluster names this node and its peers in a JetStream cluster of
// embedded NATS servers.
type Cluster struct {
	// Name is the cluster's name, the same on every node; empty means no
	// cluster.
	Name string
	// Node is this node's name, unique in the cluster.
	Node string
	// Listen is the route listener's host:port; empty means
	// 127.0.0.1:6222, port 0 a free port. Routes present and require
	// NATSAuth.User and Password, and with NATSAuth.TLSCertFile,
	// TLSKeyFile and TLSCAFile use mutual TLS (a certificate needs the
	// CA). Beyond loopback it needs one of the two, or
	// NATSAuth.AllowAnonymous.
	Listen string
	// Routes are the nodes' route URLs, nats://host:port; this node's
	// own may be among them.
	Routes []string
	// Wait bounds how long Start waits for the cluster to form; 0 means
	// 60s.
	Wait time.Duration
}

// AdminOff is the Config.AdminAddr that turns the admin listener off.
const AdminOff = "off"

// Server is a running Rivulet.
type Server struct {
	stopMetrics context.CancelFunc
	metricsDone chan struct{}
	log         *slog.Logger
	st          *natsstore.Store
	svc         *kinesis.Service
	http        *transport.Server
	endpoint    string
	tls         string
	admin       string

	stopKeys func() // ends the watch on the shared credentials
	// stopDelivery ends the delivery engine; delivered is closed once it
	// has stopped.
	stopDelivery context.CancelFunc
	delivered    chan struct{}
	// tempBuckets is the bucket directory made for an in-memory server;
	// it goes at shutdown with the rest of the server's state.
	tempBuckets string
	stop        sync.Once
	result      error

	sdkOnce sync.Once
	sdk     *http.Client // HTTPClient's; its idle connections close with the server
}

// Start opens storage and starts serving. When it returns without an
// error the server answers requests at Endpoint. ctx bounds only the
// start; stop the server with Close or Shutdown.
func Start(ctx context.Context, cfg Config) (srv *Server, err error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	switch cfg.AdminAddr {
	case "":
		cfg.AdminAddr = "127.0.0.1:0"
	case AdminOff:
		cfg.AdminAddr = ""
	}
	rules, err := fault.Load(cfg.Faults)
	if err != nil {
		return nil, fmt.Errorf("rivulet: faults: %w", err)
	}
	faults, err := fault.New(rules...)
	if err != nil {
		return nil, fmt.Errorf("rivulet: faults: %w", err)
	}
	keys, err := loadKeys(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("rivulet: auth: %w", err)
	}
	var cert *tls.Certificate
	if cfg.TLSAddr != "" {
		if cert, err = loadCert(cfg, logger); err != nil {
			return nil, fmt.Errorf("rivulet: TLS: %w", err)
		}
	}

	a := cfg.NATSAuth
	var clientAuth natsstore.ClientAuth
	switch {
	case cfg.NATSURL != "":
		clientAuth = natsstore.ClientAuth{
			CredsFile: a.CredsFile, User: a.User, Password: a.Password, Token: a.Token,
			TLSCAFile: a.TLSCAFile, TLSCertFile: a.TLSCertFile, TLSKeyFile: a.TLSKeyFile,
		}
	case a.CredsFile != "":
		return nil, errors.New("rivulet: NATSAuth.CredsFile is for an external NATS (NATSURL)")
	case a != (NATSAuth{}) && cfg.NATSListen == "" && cfg.Cluster.Name == "":
		return nil, errors.New("rivulet: NATSAuth applies to NATSURL, NATSListen or Cluster")
	case cfg.Cluster.Name != "" && cfg.NATSURL != "":
		return nil, errors.New("rivulet: Cluster applies to the embedded NATS")
	}
	st, err := natsstore.Open(ctx, natsstore.Config{
		URL:        cfg.NATSURL,
		DataDir:    cfg.DataDir,
		InMemory:   cfg.DataDir == "" && cfg.NATSURL == "",
		SyncAlways: cfg.SyncAlways,
		Logger:     logger,
		Replicas:   cfg.Replicas,
		ListenAddr: cfg.NATSListen,
		Cluster: natsstore.Cluster{
			Name: cfg.Cluster.Name, Node: cfg.Cluster.Node, Listen: cfg.Cluster.Listen,
			Routes: cfg.Cluster.Routes, Wait: cfg.Cluster.Wait,
		},
		MaxStorage: cfg.MaxStorage,
		ListenAuth: natsstore.ServerAuth{
			User: a.User, Password: a.Password, Token: a.Token,
			TLSCertFile: a.TLSCertFile, TLSKeyFile: a.TLSKeyFile, TLSCAFile: a.TLSCAFile,
			AllowAnonymous: a.AllowAnonymous,
		},
		Auth: clientAuth,

		StoreKey:    cfg.NATSStoreKey,
		StoreCipher: cfg.NATSStoreCipher,

		MetricRetention: cfg.Metrics.Retention,
	})
	if err != nil {
		return nil, fmt.Errorf("rivulet: opening storage: %w", err)
	}
	ring, err := openKeyRing(cfg.KMSKeys, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	// With --auth=sigv4 every request is verified and then authorized by
	// the key's policies; with none, neither happens.
	var (
		verifier   *sigv4.Verifier
		ddbVerify  *sigv4.Verifier // the lease-table API's: service dynamodb
		fhVerify   *sigv4.Verifier // the Firehose API's: service firehose
		cwVerify   *sigv4.Verifier // the CloudWatch API's: service monitoring
		authorizer kinesis.Authorizer
		adminAuth  func(*http.Request) error
		stopKeys   = func() {}
	)
	if cfg.Auth == AuthSigV4 {
		live, stop, err := shareKeys(ctx, st, keys, logger)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("rivulet: auth: %w", err)
		}
		stopKeys = stop
		defer func() {
			if srv == nil {
				stop() // Start failed after the watch began
			}
		}()
		verifier = sigv4.New(sigv4.Config{Service: "kinesis", MaxSkew: sigv4.SkewKinesis, Keys: live})
		ddbVerify = sigv4.New(sigv4.Config{Service: "dynamodb", MaxSkew: sigv4.SkewDynamoDB, Keys: live})
		fhVerify = sigv4.New(sigv4.Config{Service: "firehose", MaxSkew: sigv4.SkewKinesis, Keys: live})
		cwVerify = sigv4.New(sigv4.Config{Service: "monitoring", MaxSkew: sigv4.SkewKinesis, Keys: live})
		authorizer = authz.New()
		adminAuth = authz.Admin(sigv4.New(sigv4.Config{Service: "rivulet", MaxSkew: sigv4.SkewKinesis, Keys: live}))
	}
	var backend store.Backend = st
	if cfg.DiscardRecords {
		logger.Warn("records are acknowledged and THROWN AWAY; for benchmarks only")
		backend = discard.Wrap(st)
	}
	if len(rules) > 0 {
		logger.Warn("fault injection is on", "rules", len(rules))
	}
	var lim *limits.Limiter     // nil with limits off; /admin/limits says so
	var limiter kinesis.Limiter // a nil *Limiter must not become a non-nil interface
	if cfg.AWSLimits {
		if lim, err = newLimiter(ctx, st, logger, cfg.Clock); err != nil {
			st.Close()
			return nil, fmt.Errorf("rivulet: limits: %w", err)
		}
		limiter = lim
	}

	var reg *metrics.Registry // nil counts nothing
	if !cfg.Metrics.Off {
		reg = metrics.New(metrics.Config{Store: st, FlushInterval: cfg.Metrics.FlushInterval, Logger: logger, Now: cfg.Clock})
	}
	svc := kinesis.New(backend, kinesis.Config{
		Now:                 cfg.Clock,
		CreateDelay:         immediate(cfg.CreateDelay),
		DeleteDelay:         immediate(cfg.DeleteDelay),
		ReshardDelay:        immediate(cfg.ReshardDelay),
		ConsumerCreateDelay: immediate(cfg.ConsumerCreateDelay),
		ConsumerDeleteDelay: immediate(cfg.ConsumerDeleteDelay),
		AutoScale: kinesis.AutoScale{
			SplitAfter: cfg.OnDemand.SplitAfter,
			MergeAfter: cfg.OnDemand.MergeAfter,
			HotRecords: float64(cfg.OnDemand.HotRecords),
			HotBytes:   float64(cfg.OnDemand.HotBytes),
		},
		ShardLimit: cfg.ShardLimit,
		Limits:     limiter,
		Faults:     faults,
		Logger:     logger,
		KMS:        ring,
		Authorizer: authorizer,
		Channels:   st,
		Accounts:   st,
		Metrics:    reg,
	})
	kin := wire.New(svc.Operations(), wire.Options{Logger: logger, Verifier: verifier})
	// The lease-table and Firehose APIs share the port; X-Amz-Target
	// tells them apart.
	ddbSvc := dynamodb.New(st, dynamodb.Config{
		Now:        cfg.Clock,
		Logger:     logger,
		Authorizer: authorizer,
	})
	ddb := dynamodb.NewHandler(ddbSvc, dynamodb.HandlerOptions{Logger: logger, Verifier: ddbVerify})
	fh := firehose.NewHandler(firehose.New(st, firehose.Config{
		Now:         cfg.Clock,
		Logger:      logger,
		Authorizer:  authorizer,
		CreateDelay: cfg.CreateDelay,
		KMS:         ring,
		Metrics:     reg,
	}), firehose.HandlerOptions{Logger: logger, Verifier: fhVerify})
	cw := cloudwatch.NewHandler(cloudwatch.New(st, cloudwatch.Config{
		Now:        cfg.Clock,
		Logger:     logger,
		Authorizer: authorizer,
	}), cloudwatch.HandlerOptions{Logger: logger, Verifier: cwVerify})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case dynamodb.IsTarget(r.Header):
			ddb.ServeHTTP(w, r)
		case firehose.IsTarget(r.Header):
			fh.ServeHTTP(w, r)
		case cloudwatch.IsRequest(r):
			cw.ServeHTTP(w, r)
		default:
			kin.ServeHTTP(w, r)
		}
	})
	objects, tempBuckets, err := objectStore(ctx, cfg, logger)
	if err != nil {
		svc.Close()
		st.Close()
		if tempBuckets != "" {
			os.RemoveAll(tempBuckets)
		}
		return nil, fmt.Errorf("rivulet: firehose: %w", err)
	}
	var hs *transport.Server
	prom := promHandler(reg, st, func() map[string]int64 { return hs.Connections() })
	admin := http.NewServeMux()
	admin.Handle("/admin/faults", faults.Handler())
	admin.Handle("/admin/limits", limits.Handler(lim))
	admin.Handle("/admin/cluster", clusterHandler(st))
	hs, err = transport.New(transport.Config{
		Addr:      cfg.Addr,
		TLSAddr:   cfg.TLSAddr,
		TLSCert:   cert,
		Health:    storageHealth(st),
		AdminAddr: cfg.AdminAddr,
		Admin:     admin,
		// Nil (auth none) allows every request that passed the
		// cross-site checks.
		AdminAuthorize:  adminAuth,
		Metrics:         prom,
		MetricsUnsigned: cfg.Metrics.OpenMetrics,
		Console:         console.Handler(),
		AdminAPI:        handler,
		Streaming:       kin.Streaming,
		DisableFastPath: cfg.DisableHTTPFastPath,

		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadBodyTimeout:   cfg.ReadBodyTimeout,
		ReadBodyMinRate:   cfg.ReadBodyMinRate,
		MaxConnections:    cfg.MaxConnections,
	}, handler, logger)
	if err == nil {
		err = hs.Start(ctx)
	}
	if err != nil {
		svc.Close()
		st.Close()
		if tempBuckets != "" {
			os.RemoveAll(tempBuckets)
		}
		return nil, fmt.Errorf("rivulet: %w", err)
	}
	s := &Server{log: logger, st: st, svc: svc, http: hs, endpoint: "http://" + hs.Addr().String(), stopKeys: stopKeys,
		stopDelivery: func() {}, delivered: make(chan struct{}), tempBuckets: tempBuckets}
	if cfg.Firehose.Off {
		close(s.delivered)
	} else {
		// Kinesis sources read through the service's own handlers, with
		// no signature check or policy: the engine acts as the service.
		ownDDB := dynamodb.NewHandler(ddbSvc, dynamodb.HandlerOptions{Logger: logger, Internal: true})
		ownKin := wire.New(svc.Operations(), wire.Options{Logger: logger, Internal: true})
		own := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if dynamodb.IsTarget(r.Header) {
				ownDDB.ServeHTTP(w, r)
				return
			}
			ownKin.ServeHTTP(w, r)
		})
		engine := delivery.New(delivery.Config{
			Store:          st,
			Objects:        objects,
			Clients:        deliveryClients(own),
			LambdaEndpoint: cfg.Firehose.LambdaEndpoint,
			KMS:            ring,
			Now:            cfg.Clock,
			Logger:         logger,
			Metrics:        reg,
		})
		dctx, cancel := context.WithCancel(context.Background())
		s.stopDelivery = cancel
		go runDelivery(dctx, engine, logger, s.delivered)
	}
	mctx, stopMetrics := context.WithCancel(context.Background())
	s.metricsDone = make(chan struct{})
	s.stopMetrics = stopMetrics
	go func() {
		defer close(s.metricsDone)
		reg.Run(mctx) // a nil registry returns at once
	}()
	if a := hs.TLSAddr(); a != nil {
		s.tls = "https://" + a.String()
	}
	if a := hs.AdminAddr(); a != nil {
		s.admin = "http://" + a.String()
	}
	return s, nil
}

// Endpoint is the plain listener's URL, such as "http://127.0.0.1:40123":
// the BaseEndpoint of an aws-sdk-go-v2 client, for Kinesis and for the
// lease-table (DynamoDB) API alike.
func (s *Server) Endpoint() string { return s.endpoint }

// TLSEndpoint is the TLS listener's URL, or "" without one.
func (s *Server) TLSEndpoint() string { return s.tls }

// AdminEndpoint is the admin listener's URL, such as
// "http://127.0.0.1:40124", or "" with Config.AdminAddr "off".
func (s *Server) AdminEndpoint() string { return s.admin }

// NATSURL is the address of the embedded NATS for other processes, or ""
// when it has no listener or the storage is external.
func (s *Server) NATSURL() string { return s.st.ClientURL() }

// HTTPClient is an HTTP client for aws-sdk-go-v2 clients of this server
// (their Options.HTTPClient): SDKTransport over a transport of its own,
// whose idle connections close with the server.
func (s *Server) HTTPClient() *http.Client {
	s.sdkOnce.Do(func() { s.sdk = &http.Client{Transport: SDKTransport(&http.Transport{})} })
	return s.sdk
}

// SDKTransport wraps rt (http.DefaultTransport if nil) so that an
// aws-sdk-go-v2 client never fails a request that succeeded: smithy-go
// closes a request body as soon as the response headers arrive, and
// against a server as fast as this one on loopback, net/http then
// sometimes closes the connection while the response is still being read
// ("StatusCode: 200 ... use of closed network connection"), for bodies
// over 4 KiB. The SDK retries that, so a PutRecords can store its records
// twice. The wrapper gives the transport its own copy of each body.
func SDKTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return client.OwnBody(rt)
}

// Err delivers an error if a listener fails while serving.
func (s *Server) Err() <-chan error { return s.http.Err() }

// Shutdown stops accepting requests, waits for in-flight ones until ctx
// ends, then closes storage, so that every acknowledged record is stored.
// An error from ctx means requests were cut off; storage is closed all the
// same. Later calls return the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop.Do(func() { s.result = s.shutdown(ctx) })
	return s.result
}

func (s *Server) shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.log.Warn("in-flight requests did not finish in time", "err", err)
	}
	s.stopDelivery()
	<-s.delivered
	s.stopMetrics() // Run flushes once more
	<-s.metricsDone
	if s.tempBuckets != "" {
		if rerr := os.RemoveAll(s.tempBuckets); rerr != nil {
			s.log.Warn("removing the temporary bucket directory", "dir", s.tempBuckets, "err", rerr)
		}
	}
	s.svc.Close()
	s.stopKeys()
	s.sdkOnce.Do(func() {}) // no client made after this
	if s.sdk != nil {
		s.sdk.CloseIdleConnections()
	}
	if cerr := s.st.Close(); cerr != nil {
		s.log.Error("closing storage failed", "err", cerr)
		err = errors.Join(err, fmt.Errorf("rivulet: closing storage: %w", cerr))
	}
	return err
}

// closeTimeout bounds how long Close waits for in-flight requests.
const closeTimeout = 10 * time.Second

// Close is Shutdown with a 10-second drain.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return s.Shutdown(ctx)
}

// immediate maps Config's "zero means immediately" to kinesis.Config,
// where zero means the default and a negative value immediately.
func immediate(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func loadCert(cfg Config, logger *slog.Logger) (*tls.Certificate, error) {
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, err
		}
		return &c, nil
	}
	if cfg.DataDir == "" {
		c, _, _, err := transport.SelfSignedCert(time.Now())
		if err != nil {
			return nil, err
		}
		logger.Info("using a self-signed TLS certificate kept only in memory")
		return &c, nil
	}
	// Kept in the data directory, so clients can trust it once.
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

// openKeyRing reads the KMS key ring file; alias/aws/kinesis lives in st.
func openKeyRing(path string, st *natsstore.Store) (*kms.Ring, error) {
	keys, err := kms.Load(path)
	if err != nil {
		return nil, fmt.Errorf("rivulet: KMS keys: %w", err)
	}
	ring, err := kms.New(keys, st)
	if err != nil {
		return nil, fmt.Errorf("rivulet: KMS keys: %w", err)
	}
	return ring, nil
}

// loadKeys loads the credentials for AuthSigV4; with AuthNone it returns
// nil, and nothing is verified or authorized.
func loadKeys(cfg Config, logger *slog.Logger) (*auth.Keyring, error) {
	switch cfg.Auth {
	case "", AuthNone:
		if cfg.Credentials != "" {
			return nil, fmt.Errorf("a credentials file (%s) is given but Auth is %q; set Auth to %q to check signatures", cfg.Credentials, AuthNone, AuthSigV4)
		}
		return nil, nil
	case AuthSigV4:
	default:
		return nil, fmt.Errorf("unknown mode %q (want %q or %q)", cfg.Auth, AuthNone, AuthSigV4)
	}
	if cfg.Credentials == "" {
		return nil, nil // shared by another process through NATS: shareKeys
	}
	keys, err := auth.LoadFile(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	if keys.Len() == 0 {
		return nil, fmt.Errorf("credentials file %s has no credentials: every request would be refused", cfg.Credentials)
	}
	logger.Info("checking SigV4 signatures and policies", "credentials", cfg.Credentials, "keys", keys.Len())
	return keys, nil
}

// credentialsKey is where the credentials file lives in NATS, so that
// every process on it verifies and authorizes alike.
const credentialsKey = "auth.credentials"

// shareKeys makes the credentials every process on this storage uses: a
// file given to this process replaces the stored one; without a file the
// stored one is used. The returned keyring follows later changes by any
// process until stop is called.
func shareKeys(ctx context.Context, st *natsstore.Store, file *auth.Keyring, logger *slog.Logger) (*auth.Live, func(), error) {
	if file != nil {
		for attempt := 0; ; attempt++ {
			_, rev, err := st.GetValue(ctx, credentialsKey)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
			_, err = st.PutValue(ctx, credentialsKey, file.Source(), rev)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExists) || attempt == 10 {
				return nil, nil, fmt.Errorf("storing the credentials: %w", err)
			}
		}
	}
	keys := file
	if keys == nil {
		raw, _, err := st.GetValue(ctx, credentialsKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("%q needs credentials: a credentials file (Config.Credentials, --credentials FILE), "+
				"given to this process or to another one on the same NATS; see docs/SECURITY.md", AuthSigV4)
		}
		if err != nil {
			return nil, nil, err
		}
		if keys, err = auth.Parse(raw); err != nil {
			return nil, nil, fmt.Errorf("the credentials stored in NATS: %w", err)
		}
	}
	live := auth.NewLive(keys)
	changed, stopWatch, err := st.WatchValue(ctx, credentialsKey)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-changed:
			}
			raw, _, err := st.GetValue(context.Background(), credentialsKey)
			if err != nil {
				logger.Error("cannot read the shared credentials; keeping the ones in use", "err", err)
				continue
			}
			if bytes.Equal(raw, live.Load().Source()) {
				continue
			}
			keys, err := auth.Parse(raw)
			if err != nil {
				logger.Error("the shared credentials changed but cannot be read; keeping the ones in use", "err", err)
				continue
			}
			live.Store(keys)
			logger.Info("credentials changed by another process", "keys", keys.Len())
		}
	}()
	stop := func() {
		stopWatch()
		close(done)
		wg.Wait()
	}
	return live, stop, nil
}

// healthProbe names a stream nobody needs to have: reading it is a real
// round trip to storage, and "not found" is a healthy answer.
var healthProbe = store.StreamKey{
	Account: kinesis.DefaultCaller.Account,
	Region:  kinesis.DefaultCaller.Region,
	Name:    "rivulet-health-probe",
}

func storageHealth(st *natsstore.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		_, _, err := st.Get(ctx, healthProbe)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("storage: %w", err)
		}
		if st.Full() {
			return fullHealth{}
		}
		if d := st.Damage(); len(d) > 0 {
			return degradedHealth(d)
		}
		return nil
	}
}

// degradedHealth is /health's answer after the start-up check found
// damage: the server serves what is left (200), and says what was lost
// until it restarts.
type degradedHealth []natsstore.Damage

func (d degradedHealth) Error() string {
	msg := fmt.Sprintf("storage damage found at start (%d problems; see the log or rivulet check): %s", len(d), d[0].Detail)
	if len(d) > 1 {
		msg += "; …"
	}
	return msg
}
func (degradedHealth) HealthStatus() string { return "degraded" }
func (degradedHealth) HealthCode() int      { return http.StatusOK }

// fullHealth is /health's answer while storage refuses writes for space:
// status "full" (transport.HealthStatus) instead of "unavailable".
type fullHealth struct{}

func (fullHealth) Error() string        { return "storage is full: writes are refused, reads work" }
func (fullHealth) Unwrap() error        { return store.ErrFull }
func (fullHealth) HealthStatus() string { return "full" }

// newLimiter joins the peer registry, so processes sharing the storage
// divide the limits; closing st stops the heartbeat.
func newLimiter(ctx context.Context, st *natsstore.Store, logger *slog.Logger, clock func() time.Time) (*limits.Limiter, error) {
	peers, err := st.StartHeartbeat(ctx)
	if err != nil {
		return nil, err
	}
	return limits.New(limits.Config{Now: clock, Peers: func() int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := peers.Count(ctx)
		if err != nil {
			logger.Warn("cannot count rivulet processes; keeping the last count", "err", err)
			return 0
		}
		return n
	}}), nil
}
