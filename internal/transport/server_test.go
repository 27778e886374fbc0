package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// protoHandler answers with the request's protocol.
var protoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "kinesis "+r.Method+" "+r.URL.Path+" "+r.Proto)
})

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

func start(t *testing.T, cfg Config, h http.Handler) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s, err := New(cfg, h, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// startOwned starts a server on a free port whose Shutdown the test calls
// itself.
func startOwned(t *testing.T, h http.Handler) *Server {
	t.Helper()
	s, err := New(Config{Addr: "127.0.0.1:0"}, h, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// client returns an HTTP client speaking only the given protocols.
func client(t *testing.T, set func(*http.Protocols), tlsConf *tls.Config) *http.Client {
	t.Helper()
	var p http.Protocols
	set(&p)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: tlsConf}
	t.Cleanup(tr.CloseIdleConnections)
	// A request may span a test's waits, each bounded by hangTimeout.
	return &http.Client{Transport: tr, Timeout: 3 * hangTimeout}
}

func get(t *testing.T, c *http.Client, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func http1(p *http.Protocols) { p.SetHTTP1(true) }
func h2c(p *http.Protocols)   { p.SetUnencryptedHTTP2(true) }
func h2(p *http.Protocols)    { p.SetHTTP2(true) }

func TestHTTP1AndH2COnOnePort(t *testing.T) {
	s := start(t, Config{}, protoHandler)
	port := s.Addr().(*net.TCPAddr).Port
	if port == 0 {
		t.Fatal("Addr reports port 0")
	}
	url := "http://" + s.Addr().String() + "/"
	if s.TLSAddr() != nil {
		t.Errorf("TLSAddr = %v without TLS", s.TLSAddr())
	}
	for _, tc := range []struct {
		name  string
		set   func(*http.Protocols)
		proto string
	}{
		{"http1", http1, "HTTP/1.1"},
		{"h2c prior knowledge", h2c, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, client(t, tc.set, nil), http.MethodPost, url)
			if resp.StatusCode != 200 || body != "kinesis POST / "+tc.proto {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "kinesis POST / "+tc.proto)
			}
		})
	}
}

func TestTLSALPN(t *testing.T) {
	cert, certPEM, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: &cert}, protoHandler)
	if s.TLSAddr() == nil || s.TLSAddr().(*net.TCPAddr).Port == 0 {
		t.Fatalf("TLSAddr = %v", s.TLSAddr())
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	// Verify the SAN too: connect by name and by both loopback addresses.
	tlsPort := s.TLSAddr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name, host string
		set        func(*http.Protocols)
		proto      string
		alpn       string
	}{
		{"h2 by ALPN", "localhost", h2, "HTTP/2.0", "h2"},
		{"http1 over TLS", "127.0.0.1", http1, "HTTP/1.1", ""}, // no ALPN offered
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, tc.set, &tls.Config{RootCAs: roots})
			url := "https://" + net.JoinHostPort(tc.host, strconv.Itoa(tlsPort)) + "/"
			resp, body := get(t, c, http.MethodPost, url)
			if body != "kinesis POST / "+tc.proto {
				t.Errorf("body %q, want protocol %s", body, tc.proto)
			}
			if resp.TLS == nil || resp.TLS.NegotiatedProtocol != tc.alpn {
				t.Errorf("ALPN: got %+v, want %q", resp.TLS, tc.alpn)
			}
		})
	}
	// The plain port stays plain next to TLS.
	_, body := get(t, client(t, h2c, nil), http.MethodPost, "http://"+s.Addr().String()+"/")
	if body != "kinesis POST / HTTP/2.0" {
		t.Errorf("plain port with TLS on: %q", body)
	}
}

func TestHealth(t *testing.T) {
	var healthErr atomic.Pointer[error]
	s := start(t, Config{Health: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("health check without deadline")
		}
		if p := healthErr.Load(); p != nil {
			return *p
		}
		return nil
	}}, protoHandler)
	base := "http://" + s.Addr().String()
	c := client(t, http1, nil)

	for _, path := range []string{"/health", "/healthz"} {
		resp, body := get(t, c, http.MethodGet, base+path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got) != 1 || got["status"] != "ok" {
			t.Errorf("GET %s body %q", path, body)
		}
	}
	if resp, body := get(t, c, http.MethodHead, base+"/health"); resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /health: %d %q", resp.StatusCode, body)
	}
	// Everything else is the Kinesis handler's.
	for _, tc := range [][2]string{{"POST", "/health"}, {"POST", "/"}, {"GET", "/"}, {"GET", "/health/x"}} {
		_, body := get(t, c, tc[0], base+tc[1])
		if want := "kinesis " + tc[0] + " " + tc[1] + " HTTP/1.1"; body != want {
			t.Errorf("%s %s: got %q, want the handler's %q", tc[0], tc[1], body, want)
		}
	}

	down := errors.New("nats down")
	healthErr.Store(&down)
	resp, body := get(t, c, http.MethodGet, base+"/health")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "nats down") {
		t.Errorf("failing check: %d %q", resp.StatusCode, body)
	}
}

// TestShutdownDrains: a request in flight when shutdown starts completes;
// new connections are refused; Shutdown returns once it has.
func TestShutdownDrains(t *testing.T) {
	for _, proto := range []struct {
		name string
		set  func(*http.Protocols)
	}{{"http1", http1}, {"h2c", h2c}} {
		t.Run(proto.name, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-release
				io.WriteString(w, "done")
			})
			s := startOwned(t, h)
			addr := s.Addr().String()
			c := client(t, proto.set, nil)

			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := c.Post("http://"+addr+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
				if err != nil {
					got <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				got <- result{string(b), err}
			}()
			<-entered

			shut := make(chan error, 1)
			go func() {
				// Only a hang reaches this bound: the request is held
				// past the waits below, each bounded by hangTimeout.
				ctx, cancel := context.WithTimeout(context.Background(), 3*hangTimeout)
				defer cancel()
				shut <- s.Shutdown(ctx)
			}()
			// The listener closes while the request still runs.
			deadline := time.Now().Add(hangTimeout)
			for {
				conn, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					break
				}
				conn.Close()
				if time.Now().After(deadline) {
					t.Fatal("listener still accepting during shutdown")
				}
				time.Sleep(10 * time.Millisecond)
			}
			select {
			case err := <-shut:
				t.Fatalf("Shutdown returned %v with a request in flight", err)
			case <-time.After(50 * time.Millisecond):
			}

			close(release)
			if r := <-got; r.err != nil || r.body != "done" {
				t.Errorf("in-flight request: %q, %v", r.body, r.err)
			}
			if err := <-shut; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if n := s.inFlight.Load(); n != 0 {
				t.Errorf("%d handlers still running after Shutdown", n)
			}
		})
	}
}

// TestShutdownBounded: a request that does not finish in time is cut off,
// its handler sees its context end, and Shutdown reports the timeout.
func TestShutdownBounded(t *testing.T) {
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	s := startOwned(t, h)
	c := client(t, http1, nil)
	reqErr := make(chan error, 1)
	go func() {
		resp, err := c.Get("http://" + s.Addr().String() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		reqErr <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// The handler never returns by itself: only cutting it off ends
	// Shutdown. The bound only turns a hang into a failure.
	select {
	case err := <-shut:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want deadline exceeded", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Shutdown still waiting a minute after its context ended")
	}
	if n := s.inFlight.Load(); n != 0 {
		t.Errorf("%d handlers still running", n)
	}
	if err := <-reqErr; err == nil {
		t.Error("cut-off request succeeded")
	}
}

func TestHealthWhileDraining(t *testing.T) {
	s := start(t, Config{}, protoHandler)
	rec := httptest.NewRecorder()
	s.draining.Store(true)
	s.serveHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Errorf("health while draining: %d %q", rec.Code, rec.Body.String())
	}
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cert, _, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Addr: busy.Addr().String()},
		{Addr: "127.0.0.1:0", TLSAddr: busy.Addr().String(), TLSCert: &cert},
	} {
		s, err := New(cfg, protoHandler, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("Start on a busy port (%+v): %v", cfg, err)
		}
		s.Shutdown(context.Background())
	}
	// The plain listener bound before the TLS one failed is released.
	s := start(t, Config{}, protoHandler)
	if err := s.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		h   http.Handler
	}{
		{Config{}, protoHandler},
		{Config{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}, protoHandler},
		{Config{Addr: "127.0.0.1:0"}, nil},
	} {
		if _, err := New(tc.cfg, tc.h, nil); err == nil {
			t.Errorf("New(%+v) accepted", tc.cfg)
		}
	}
}

func TestErrorLogLevels(t *testing.T) {
	var buf bytes.Buffer
	w := errorLogWriter{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	w.Write([]byte("http: TLS handshake error from 127.0.0.1:5: remote error: bad certificate\n"))
	if buf.Len() != 0 {
		t.Errorf("handshake error logged above debug: %s", buf.String())
	}
	w.Write([]byte("http: panic serving 127.0.0.1:5: boom\n"))
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "panic serving") {
		t.Errorf("panic not logged as a warning: %s", buf.String())
	}
}

// TestAdmin: /admin/ paths go to the admin handler on the admin listener
// only; the plain and TLS ports hand them to the Kinesis handler like any
// other path.
func TestAdmin(t *testing.T) {
	cert, certPEM, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin "+r.Method+" "+r.URL.Path)
	})
	s := start(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: &cert, AdminAddr: "127.0.0.1:0", Admin: admin}, protoHandler)
	c := client(t, http1, nil)
	plain := "http://" + s.Addr().String()
	adm := "http://" + s.AdminAddr().String()
	for _, tc := range [][3]string{
		{"GET", adm + "/admin/faults", "admin GET /admin/faults"},
		{"GET", adm + "/admin/limits", "admin GET /admin/limits"},
		{"GET", plain + "/admin/faults", "kinesis GET /admin/faults HTTP/1.1"},
		{"PUT", plain + "/admin/limits", "kinesis PUT /admin/limits HTTP/1.1"},
		{"POST", plain + "/", "kinesis POST / HTTP/1.1"},
	} {
		if _, body := get(t, c, tc[0], tc[1]); body != tc[2] {
			t.Errorf("%s %s: %q, want %q", tc[0], tc[1], body, tc[2])
		}
	}
	for _, path := range []string{"/health", "/admin", "/"} {
		resp, body := get(t, c, http.MethodGet, adm+path)
		want := http.StatusNotFound
		if path == "/health" {
			want = http.StatusOK
		}
		if resp.StatusCode != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("admin GET %s: %d %s, want %d JSON", path, resp.StatusCode, body, want)
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tc := client(t, h2, &tls.Config{RootCAs: roots})
	if _, body := get(t, tc, http.MethodGet, "https://localhost:"+strconv.Itoa(s.TLSAddr().(*net.TCPAddr).Port)+"/admin/faults"); body != "kinesis GET /admin/faults HTTP/2.0" {
		t.Errorf("TLS port served the admin handler: %q", body)
	}
}
