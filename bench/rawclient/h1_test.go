package rawclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/internal/client"
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

// Cancelling or timing out a call that waits for its answer ends it with
// the context's error, and the connection is not reused. /slow answers
// only when the test ends, so nothing but the context can end these calls.
func TestH1Cancel(t *testing.T) {
	srv, conns, tr := slowServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := post(t, ctx, tr, srv.URL+"/slow", "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out call: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := post(t, ctx2, tr, srv.URL+"/slow", "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
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

// scripted is a raw HTTP/1.1 server: it reads each request and writes
// what answer returns for it, byte for byte, closing the connection after
// it if close is set. It counts connections.
func scripted(t *testing.T, answer func(n int, r *http.Request) (raw string, close bool)) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns, requests atomic.Int32
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		var open []net.Conn
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			open = append(open, c)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body)
					raw, close := answer(int(requests.Add(1)), r)
					if _, err := io.WriteString(c, raw); err != nil || close {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// The answers of the peers the client talks to: Node.js (kinesalite) with
// keep-alive headers and chunked or sized bodies, HTTP/1.0 bodies that
// end with the connection, informational answers first, and
// Connection: close.
func TestH1PeerAnswers(t *testing.T) {
	const node = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nDate: Tue, 01 Dec 2026 12:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
	for _, tc := range []struct {
		name  string
		raw   string
		close bool
		conns int32
	}{
		{"node chunked", node + "Transfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n", false, 1},
		{"node sized", node + "Content-Length: 4\r\n\r\nbody", false, 1},
		{"http/1.0 until close", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody", true, 3},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nbody", false, 1},
		{"100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", false, 1},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := scripted(t, func(int, *http.Request) (string, bool) { return tc.raw, tc.close })
			tr := newH1Transport(4)
			defer tr.CloseIdleConnections()
			for i := range 3 {
				if got, err := post(t, context.Background(), tr, url, "b"); err != nil || got != "body" {
					t.Fatalf("call %d: %q %v", i, got, err)
				}
			}
			if n := conns.Load(); n != tc.conns {
				t.Fatalf("%d connections, want %d", n, tc.conns)
			}
		})
	}
}

// A whole PutRecord against a Node.js-style chunked answer.
func TestH1PutRecordNodeChunked(t *testing.T) {
	const out = `{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000003"}`
	url, conns := scripted(t, func(_ int, r *http.Request) (string, bool) {
		if r.Header.Get("X-Amz-Target") != "Kinesis_20131202.PutRecord" || r.Header.Get("User-Agent") != "Go-http-client/1.1" || r.ContentLength <= 0 {
			return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", true
		}
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nx-amzn-RequestId: abc\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(out), out), false
	})
	c, err := New(client.Config{Endpoint: url, Region: region, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		got, err := c.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte("x")})
		if err != nil || aws.ToString(got.ShardId) != "shardId-000000000003" {
			t.Fatalf("%+v %v", got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// A deadline given to do ends a call that waits for its answer with
// context.DeadlineExceeded, and one that passed after its call does not
// stay on the kept connection.
func TestH1Deadline(t *testing.T) {
	srv, conns, tr := slowServer(t)
	call := func(path string, deadline time.Time) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		req.ContentLength = 4
		resp, err := tr.do(context.Background(), req, []byte("body"), deadline)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// The first call must end before its deadline for what follows to
	// mean anything. A machine that stalls past it spoils the try, which
	// is made again: each spoiled try may have cost a connection.
	spoiled := int32(0)
	for hang := time.Now().Add(hangTimeout); ; spoiled++ {
		got, err := call("/", time.Now().Add(50*time.Millisecond))
		if err == nil && got == "body" {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(hang) {
			t.Fatalf("%q %v", got, err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the kept connection's deadline passes
	if got, err := call("/", time.Time{}); err != nil || got != "body" {
		t.Fatalf("after the deadline passed: %q %v", got, err)
	}
	// /slow answers only when the test ends: only the deadline ends this.
	if _, err := call("/slow", time.Now().Add(50*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out call: %v", err)
	}
	if got, err := call("/", time.Now().Add(time.Minute)); err != nil || got != "body" {
		t.Fatalf("after: %q %v", got, err)
	}
	if n := conns.Load(); n < 2 || n > 2+spoiled {
		t.Fatalf("%d connections, want 2 (and up to %d more for spoiled tries)", n, spoiled)
	}
}

// A body given as bytes is sent again on a new connection when the kept
// one turns out closed.
func TestH1StaleRetriedFromBytes(t *testing.T) {
	srv, conns := h1Server(t, echo)
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	call := func(body string) (string, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
		req.ContentLength = int64(len(body))
		resp, err := tr.do(context.Background(), req, []byte(body), time.Time{})
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if _, err := call("first"); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if got, err := call("second"); err != nil || got != "second" {
		t.Fatalf("%q %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// A context used for call after call is watched once per connection; it
// ending while the connection is idle leaves the connection fit for the
// next call, and ending during a call still ends the call.
func TestH1ContextWatch(t *testing.T) {
	srv, conns, tr := slowServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 3 {
		if got, err := post(t, ctx, tr, srv.URL, "a"); err != nil || got != "a" {
			t.Fatalf("call %d: %q %v", i, got, err)
		}
	}
	cancel()
	time.Sleep(10 * time.Millisecond)
	if got, err := post(t, context.Background(), tr, srv.URL, "b"); err != nil || got != "b" {
		t.Fatalf("after the idle connection's context ended: %q %v", got, err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	ctx, cancel = context.WithCancel(context.Background())
	if got, err := post(t, ctx, tr, srv.URL, "c"); err != nil || got != "c" {
		t.Fatalf("%q %v", got, err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := post(t, ctx, tr, srv.URL+"/slow", "d"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if got, err := post(t, context.Background(), tr, srv.URL, "e"); err != nil || got != "e" {
		t.Fatalf("%q %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// opaqueCtx is a context the context package does not know, so that
// context.AfterFunc watches it with a goroutine: a watch left behind
// shows as one.
type opaqueCtx struct{ done chan struct{} }

func (c opaqueCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c opaqueCtx) Done() <-chan struct{}       { return c.done }
func (c opaqueCtx) Value(any) any               { return nil }
func (c opaqueCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// A closed connection stops watching its context: a long-lived one does
// not keep every connection it saw.
func TestH1ClosedConnectionUnwatches(t *testing.T) {
	url, conns := scripted(t, func(int, *http.Request) (string, bool) {
		return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true
	})
	tr := newH1Transport(4)
	defer tr.CloseIdleConnections()
	ctx := opaqueCtx{make(chan struct{})}
	defer close(ctx.done)
	before := runtime.NumGoroutine()
	for i := range 20 {
		if got, err := post(t, ctx, tr, url, "x"); err != nil || got != "ok" {
			t.Fatalf("call %d: %q %v", i, got, err)
		}
	}
	if n := conns.Load(); n != 20 {
		t.Fatalf("%d connections", n)
	}
	// A watch left behind never ends: the bound only limits the wait.
	for deadline := time.Now().Add(hangTimeout); runtime.NumGoroutine() > before+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: watches left behind", runtime.NumGoroutine(), before)
		}
	}
}

// slowServer echoes, holding /slow until the test ends or the client goes
// away, and returns a transport for it.
func slowServer(t *testing.T) (*httptest.Server, *atomic.Int32, *h1Transport) {
	t.Helper()
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
	t.Cleanup(func() { close(release) })
	tr := newH1Transport(4)
	t.Cleanup(tr.CloseIdleConnections)
	return srv, conns, tr
}
