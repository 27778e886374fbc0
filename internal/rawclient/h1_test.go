package rawclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// h1Server answers every POST with its body echoed, and counts the
// connections it accepted.
func h1Server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(b)
}

func post(t *testing.T, ctx context.Context, tr *h1Transport, url, body string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestH1ReusesConnections(t *testing.T) {
	srv, conns := h1Server(t, echo)
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	for i := range 50 {
		want := strings.Repeat("x", i*1000)
		if got, err := post(t, context.Background(), tr, srv.URL, want); err != nil || got != want {
			t.Fatalf("call %d: %d bytes, %v", i, len(got), err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 50 sequential calls, want 1", n)
	}
}

// A chunked answer and one that asks to close the connection work, and
// the second is not reused.
func TestH1ChunkedAndClose(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte("part one,"))
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write([]byte("part two"))
	})
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	for _, path := range []string{"/", "/", "/close", "/"} {
		if got, err := post(t, context.Background(), tr, srv.URL+path, "b"); err != nil || got != "part one,part two" {
			t.Fatalf("%s: %q %v", path, got, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (a new one after Connection: close)", n)
	}
}

// A kept connection the server closed while idle is replaced, and the
// request sent again.
func TestH1StaleConnectionRetried(t *testing.T) {
	srv, conns := h1Server(t, echo)
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	if _, err := post(t, context.Background(), tr, srv.URL, "first"); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if got, err := post(t, context.Background(), tr, srv.URL, "second"); err != nil || got != "second" {
		t.Fatalf("after the server closed the idle connection: %q %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// A body closed before its end takes the connection with it.
func TestH1EarlyCloseDropsConnection(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("y", 100000))) })
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("b"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, err := post(t, context.Background(), tr, srv.URL, "b"); err != nil || len(got) != 100000 {
		t.Fatalf("next call: %d bytes %v", len(got), err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Cancelling or timing out a call that waits for its answer ends it at
// once with the context's error, and the connection is not reused.
func TestH1Cancel(t *testing.T) {
	release := make(chan struct{})
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		echo(w, r)
	})
	defer close(release)
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := post(t, ctx, tr, srv.URL+"/slow", "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out call: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := post(t, ctx2, tr, srv.URL+"/slow", "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("took %v", took)
	}
	if got, err := post(t, context.Background(), tr, srv.URL, "after"); err != nil || got != "after" {
		t.Fatalf("after: %q %v", got, err)
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
}

func TestH1DialError(t *testing.T) {
	tr := newH1Transport(4)
	if _, err := post(t, context.Background(), tr, "http://127.0.0.1:1/", "b"); err == nil {
		t.Fatal("a call to a closed port succeeded")
	}
}

// A connection idle for longer than maxIdleTime is not used again.
func TestH1OldIdleConnectionReplaced(t *testing.T) {
	srv, conns := h1Server(t, echo)
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	if _, err := post(t, context.Background(), tr, srv.URL, "first"); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	for _, list := range tr.idle {
		for _, pc := range list {
			pc.since = pc.since.Add(-maxIdleTime)
		}
	}
	tr.mu.Unlock()
	if got, err := post(t, context.Background(), tr, srv.URL, "second"); err != nil || got != "second" {
		t.Fatalf("%q %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}
