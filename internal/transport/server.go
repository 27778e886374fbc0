// Package transport is rivulet's HTTP transport: one plain port serving
// HTTP/1.1 and cleartext HTTP/2 with prior knowledge (what the JS SDK v3
// sends to http:// endpoints), an optional TLS port negotiating h2 or
// HTTP/1.1 by ALPN, an optional admin listener (admin.go), a health
// route, and a shutdown that drains in-flight requests before the caller
// closes storage. The plain port's common HTTP/1.1 request is answered by
// a small server of its own (h1.go), unless Config.DisableFastPath;
// net/http has everything else.
package transport

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/netaddr"
)

// Config says where and how to listen.
type Config struct {
	// Addr is the plain listener ("host:port"; port 0 picks a free one).
	Addr string
	// TLSAddr is the TLS listener; empty means no TLS.
	TLSAddr string
	// TLSCert is served on TLSAddr; required with it.
	TLSCert *tls.Certificate
	// Health reports whether the server can do its work; GET /health
	// answers 503 while it fails. Nil means always healthy.
	Health func(ctx context.Context) error
	// AdminAddr is the admin listener ("host:port"; port 0 picks a free
	// one); empty means none. It serves /health and Admin, and refuses
	// cross-site requests (admin.go). A non-loopback address is logged as
	// a warning. The plain and TLS listeners never serve Admin.
	AdminAddr string
	// Admin serves paths under /admin/ (fault rules, limits) on
	// AdminAddr; nil answers 404 there.
	Admin http.Handler
	// AdminAuthorize, if set, is asked about every /admin/ request after
	// the cross-site checks; an error refuses it with 403 (or the
	// error's AuthorizeStatus) and its text. Nil allows every request.
	AdminAuthorize func(*http.Request) error
	// Metrics serves GET /metrics (Prometheus) on AdminAddr, authorized
	// like /admin/; nil answers 404.
	Metrics http.Handler
	// MetricsUnsigned serves /metrics without AdminAuthorize, for
	// Prometheus scrapers, which cannot sign requests.
	MetricsUnsigned bool
	// Console serves the web console's pages and assets (GET / and
	// /console/...) on AdminAddr. They hold no data, so they are served
	// without AdminAuthorize; the console's data comes through AdminAPI.
	Console http.Handler
	// AdminAPI serves the AWS APIs on AdminAddr for the console: a POST
	// to / with X-Amz-Target, or to /service/... (Smithy RPC v2 CBOR).
	// It authenticates and authorizes as on the API port (SigV4 and
	// policies); the admin listener adds only its cross-site checks.
	AdminAPI http.Handler
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request head: on a new connection from when it is accepted, on a
	// kept-alive one from the head's first byte. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadBodyTimeout and ReadBodyMinRate bound reading a request body:
	// it must be read within ReadBodyTimeout plus its length at
	// ReadBodyMinRate bytes a second (a body of unknown length counts as
	// 10 MiB), from the end of the head. A client too slow is
	// disconnected (an h2 stream is reset). Defaults 30s and 64 KiB/s;
	// a negative ReadBodyTimeout means no limit, a negative
	// ReadBodyMinRate no allowance by length.
	ReadBodyTimeout time.Duration
	ReadBodyMinRate int64
	// MaxConnections caps the connections open at once on each listener;
	// those beyond it are refused (reset) and a warning is logged at most
	// once a minute. Default 10000; negative means no cap.
	MaxConnections int
	// IdleTimeout closes keep-alive connections idle this long. Default
	// 2m.
	IdleTimeout time.Duration
	// Streaming reports whether a request, by its header (Host left
	// out, as net/http gives it), is answered by a stream written over
	// time. The plain port's fast path hands such requests to net/http,
	// which flushes as the handler writes and notices a client that goes
	// away. It must not modify the header. Nil means nothing streams.
	Streaming func(h http.Header) bool
	// DisableFastPath serves every plain-port connection with net/http
	// alone, to compare the two or to rule the fast path out.
	DisableFastPath bool
}

const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	healthTimeout            = 2 * time.Second
	// forceCloseWait bounds how long Shutdown waits, after closing every
	// connection, for handlers to notice and return.
	forceCloseWait = 5 * time.Second
)

// Server serves one handler on the configured listeners.
type Server struct {
	cfg     Config
	log     *slog.Logger
	hs      *http.Server
	adminHS *http.Server // nil without AdminAddr
	fast    *h1Server    // the plain port's HTTP/1.1 requests; nil with DisableFastPath
	handler http.Handler
	body    bodyLimit

	inFlight atomic.Int64
	draining atomic.Bool

	mu        sync.Mutex
	started   bool
	addr      net.Addr
	tlsAddr   net.Addr
	adminAddr net.Addr
	// listeners count open connections by listener name, for Connections.
	listeners map[string]*capListener

	serving sync.WaitGroup
	errc    chan error
}

// New prepares a server for handler. GET and HEAD of /health and /healthz
// are answered by the server itself; every other request goes to handler.
func New(cfg Config, handler http.Handler, logger *slog.Logger) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("server: Addr is required")
	}
	if cfg.TLSAddr != "" && cfg.TLSCert == nil {
		return nil, errors.New("server: TLSAddr needs TLSCert")
	}
	if handler == nil {
		return nil, errors.New("server: nil handler")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.ReadBodyTimeout == 0 {
		cfg.ReadBodyTimeout = defaultReadBodyTimeout
	}
	if cfg.ReadBodyMinRate == 0 {
		cfg.ReadBodyMinRate = defaultReadBodyMinRate
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = defaultMaxConnections
	}
	s := &Server{
		cfg:     cfg,
		log:     logger,
		handler: handler,
		body:    bodyLimit{base: cfg.ReadBodyTimeout, minRate: cfg.ReadBodyMinRate},
		errc:    make(chan error, 3),
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	protocols.SetHTTP2(true) // used only on the TLS listener
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveNetHTTP),
		Protocols:         &protocols,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		// Room for 10 MiB PutRecords bodies without waiting on window
		// updates at every megabyte.
		HTTP2: &http.HTTP2Config{
			MaxReceiveBufferPerStream:     4 << 20,
			MaxReceiveBufferPerConnection: 16 << 20,
		},
		ErrorLog: log.New(errorLogWriter{logger}, "", 0),
	}
	if cfg.AdminAddr != "" {
		var p http.Protocols
		p.SetHTTP1(true)
		s.adminHS = &http.Server{
			Handler:           http.HandlerFunc(s.serveAdmin),
			Protocols:         &p,
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			ErrorLog:          s.hs.ErrorLog,
		}
	}
	if cfg.TLSCert != nil {
		s.hs.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{*cfg.TLSCert},
			MinVersion:   tls.VersionTLS12,
		}
	}
	return s, nil
}

// Start binds the listeners and serves in the background. ctx bounds only
// the binding; stop the server with Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return &ListenError{Listener: "plain", Addr: s.cfg.Addr, Err: err}
	}
	var tln, aln net.Listener
	if s.cfg.TLSAddr != "" {
		tln, err = lc.Listen(ctx, "tcp", s.cfg.TLSAddr)
		if err != nil {
			ln.Close()
			return &ListenError{Listener: "TLS", Addr: s.cfg.TLSAddr, Err: err}
		}
	}
	if s.adminHS != nil {
		aln, err = lc.Listen(ctx, "tcp", s.cfg.AdminAddr)
		if err != nil {
			ln.Close()
			if tln != nil {
				tln.Close()
			}
			return &ListenError{Listener: "admin", Addr: s.cfg.AdminAddr, Err: err}
		}
	}
	s.started = true
	s.addr = ln.Addr()
	s.listeners = make(map[string]*capListener, 3)
	ln = s.capped("plain", ln)
	if s.cfg.DisableFastPath {
		s.serve(func() error { return s.hs.Serve(ln) })
	} else {
		handoff := newHandoffListener(ln.Addr())
		s.fast = newH1Server(http.HandlerFunc(s.serveHTTP), handoff, s.log, s.cfg.IdleTimeout, s.cfg.ReadHeaderTimeout, s.cfg.Streaming)
		s.fast.body = s.body
		s.serve(func() error { return s.fast.serve(ln) })
		s.serve(func() error { return s.hs.Serve(handoff) })
	}
	if tln != nil {
		s.tlsAddr = tln.Addr()
		tln = s.capped("TLS", tln)
		// ServeTLS adds h2 and http/1.1 to the ALPN list.
		s.serve(func() error { return s.hs.ServeTLS(tln, "", "") })
	}
	if aln != nil {
		s.adminAddr = aln.Addr()
		if !netaddr.IsLoopback(s.adminAddr.String()) {
			s.log.Warn("the admin listener is not on loopback: whoever reaches it can change fault rules",
				"admin_addr", s.adminAddr.String())
		}
		aln = s.capped("admin", aln)
		s.serve(func() error { return s.adminHS.Serve(aln) })
	}
	return nil
}

// capped wraps a listener in the connection cap and keeps it for
// Connections. s.mu is held.
func (s *Server) capped(name string, ln net.Listener) net.Listener {
	cl := newCapListener(ln, s.cfg.MaxConnections, s.log)
	s.listeners[name] = cl
	return cl
}

func (s *Server) serve(f func() error) {
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// Addr is the bound plain address (with the real port), nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// TLSAddr is the bound TLS address, nil before Start or without TLS.
func (s *Server) TLSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsAddr
}

// AdminAddr is the bound admin address, nil before Start or without one.
func (s *Server) AdminAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

// Err delivers an error if a listener fails while serving.
func (s *Server) Err() <-chan error { return s.errc }

// Shutdown stops accepting connections and waits until in-flight requests
// finish or ctx ends. In the latter case it closes every connection, waits
// briefly for the handlers to return, and reports ctx's error. When
// Shutdown returns nil no handler is running any more.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	fast := s.fast
	s.mu.Unlock()
	var ferr error
	if fast != nil {
		ferr = fast.shutdown(ctx)
	}
	err := s.hs.Shutdown(ctx)
	if err == nil {
		err = ferr
	}
	if s.adminHS != nil {
		if aerr := s.adminHS.Shutdown(ctx); err == nil {
			err = aerr
		}
	}
	if err != nil {
		s.log.Warn("shutdown: closing connections with requests still running",
			"in_flight", s.inFlight.Load(), "err", err)
		s.hs.Close()
		if s.adminHS != nil {
			s.adminHS.Close()
		}
		if fast != nil {
			fast.close()
		}
		if !s.waitIdle(forceCloseWait) {
			s.log.Error("shutdown: handlers still running after connections were closed",
				"in_flight", s.inFlight.Load())
		}
	} else if !s.waitIdle(forceCloseWait) {
		// Hijacked connections are not tracked by http.Server.
		err = errors.New("server: handlers still running after shutdown")
	}
	if fast != nil {
		fast.wait()
	}
	s.serving.Wait()
	return err
}

// waitIdle polls until no handler runs or d passes.
func (s *Server) waitIdle(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for s.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// serveNetHTTP is net/http's entry (HTTP/1.1 it was handed, h2c, TLS):
// it sets the body's read deadline, which the fast path sets itself.
func (s *Server) serveNetHTTP(w http.ResponseWriter, r *http.Request) {
	s.limitBody(w, r)
	s.serveHTTP(w, r)
}

func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if dl := s.body.deadline(time.Now(), r.ContentLength); !dl.IsZero() {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(dl) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, w: w, http1: r.ProtoMajor == 1}
			}
		}
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if (r.URL.Path == "/health" || r.URL.Path == "/healthz") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.health(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// HealthStatus is implemented by a Health error that names its own
// status, such as "full"; other errors answer "unavailable". One that
// also has HealthCode answers with that code instead of 503 ("degraded":
// serving, with a problem to look at).
type HealthStatus interface{ HealthStatus() string }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ok"}
	code := http.StatusOK
	if s.draining.Load() {
		body["status"], code = "shutting down", http.StatusServiceUnavailable
	} else if s.cfg.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		err := s.cfg.Health(ctx)
		cancel()
		if err != nil {
			status := "unavailable"
			var hs HealthStatus
			if errors.As(err, &hs) {
				status = hs.HealthStatus()
			}
			body = map[string]string{"status": status, "error": err.Error()}
			code = http.StatusServiceUnavailable
			var hc interface{ HealthCode() int }
			if errors.As(err, &hc) {
				code = hc.HealthCode()
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(body)
	}
}

// errorLogWriter routes net/http's own log to slog. Failed TLS handshakes
// are routine (clients that distrust a self-signed certificate), so they
// go to debug.
type errorLogWriter struct{ log *slog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, "http: "+strings.TrimPrefix(msg, "http: "))
	return len(p), nil
}

// Connections counts the open connections per listener ("plain", "TLS",
// "admin"), for the listeners this server has; nil before Start.
func (s *Server) Connections() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listeners == nil {
		return nil
	}
	out := make(map[string]int64, len(s.listeners))
	for name, l := range s.listeners {
		out[name] = l.Open()
	}
	return out
}
