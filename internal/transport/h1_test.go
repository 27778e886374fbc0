package transport

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// writerHandler answers with the type of its ResponseWriter, which tells
// the fast path (*transport.h1Response) from net/http's (*http.response).
var writerHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%T %s %s %s %d %q", w, r.Method, r.URL.Path, r.Proto, r.ContentLength, b)
})

const fastWriter, netWriter = "*transport.h1Response", "*http.response"

// subscribeStreams is Config.Streaming as the wire adapter answers it for
// Kinesis.
func subscribeStreams(h http.Header) bool {
	return h.Get("X-Amz-Target") == "Kinesis_20131202.SubscribeToShard"
}

// rawConn is a client connection that writes bytes as given.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, hangTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(hangTimeout)) // only a hang reaches it
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response, its body whole.
func (c *rawConn) read() (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	for err == nil && resp.StatusCode < 200 {
		resp, err = http.ReadResponse(c.br, nil)
	}
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		// A short body is part of the answer compared.
		return resp, fmt.Sprintf("%s (%v)", b, err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection. Every caller
// expects it closed: the deadline only turns a hang into a failure.
func (c *rawConn) closed() bool {
	c.nc.SetReadDeadline(time.Now().Add(hangTimeout))
	_, err := c.br.ReadByte()
	return err == io.EOF
}

func post(body string, extra ...string) string {
	return "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\n" +
		strings.Join(extra, "") + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
}

func TestH1FastPathAndHandOff(t *testing.T) {
	s := start(t, Config{Streaming: subscribeStreams}, writerHandler)
	addr := s.Addr().String()
	for _, tc := range []struct {
		name, req, writer string
		status            int
		closes            bool // the server closes the connection after
	}{
		{"unary POST", post(`{"a":1}`), fastWriter, 200, false},
		{"no body", "POST / HTTP/1.1\r\nHost: h\r\n\r\n", fastWriter, 200, false},
		{"lower-case names", "POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\nx-amz-target: Kinesis_20131202.PutRecord\r\n\r\n{}", fastWriter, 200, false},
		{"connection keep-alive", post("{}", "Connection: keep-alive\r\n"), fastWriter, 200, false},
		{"event stream", post("{}", "X-Amz-Target: Kinesis_20131202.SubscribeToShard\r\n"), netWriter, 200, false},
		{"chunked body", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", netWriter, 200, false},
		{"expect continue", post("{}", "Expect: 100-continue\r\n"), netWriter, 200, false},
		{"other path", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", netWriter, 200, false},
		{"query", "POST /?a=b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", netWriter, 200, false},
		{"GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", netWriter, 200, false},
		{"HTTP/1.0", "POST / HTTP/1.0\r\nHost: h\r\nContent-Length: 0\r\n\r\n", netWriter, 200, true},
		{"bare LF", "POST / HTTP/1.1\nHost: h\nContent-Length: 0\n\n", netWriter, 200, false},
		{"big head", post("{}", "X-Big: "+strings.Repeat("b", 20<<10)+"\r\n"), netWriter, 200, false},
		{"folded header", post("{}", "X-A: a\r\n b\r\n"), netWriter, 200, false},
		{"no host", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "", 400, false},
		{"two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "", 400, false},
		{"bad length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "", 400, false},
		{"space before colon", "POST / HTTP/1.1\r\nHost: h\r\nX-A : b\r\nContent-Length: 0\r\n\r\n", "", 400, false},
		{"control in value", "POST / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n", "", 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(tc.req)
			resp, body := c.read()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.status, body)
			}
			if tc.writer != "" && !strings.HasPrefix(body, tc.writer+" ") {
				t.Errorf("served by %q, want %s", body, tc.writer)
			}
			if tc.status != 200 || tc.closes {
				if !c.closed() {
					t.Error("connection still open")
				}
				return
			}
			// The connection goes on, on whichever side it now is.
			c.send(post("{}"))
			if resp, body := c.read(); resp.StatusCode != 200 || !strings.Contains(body, `"{}"`) {
				t.Errorf("second request: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestH1H2CPreface(t *testing.T) {
	s := start(t, Config{}, writerHandler)
	resp, body := get(t, client(t, h2c, nil), http.MethodPost, "http://"+s.Addr().String()+"/")
	if resp.ProtoMajor != 2 || !strings.HasPrefix(body, "*http.http2responseWriter") {
		t.Errorf("h2c: %s %q", resp.Proto, body)
	}
}

func TestH1KeepAliveAndPipelining(t *testing.T) {
	s := start(t, Config{}, writerHandler)
	c := dialRaw(t, s.Addr().String())
	// Three requests in one write, then a head that arrives in pieces.
	c.send(post("1") + post("22") + post("333"))
	for _, want := range []string{`"1"`, `"22"`, `"333"`} {
		if _, body := c.read(); !strings.HasPrefix(body, fastWriter) || !strings.HasSuffix(body, want) {
			t.Errorf("pipelined: %q, want %s", body, want)
		}
	}
	req := post("4444")
	for _, part := range []string{req[:5], req[5:30], req[30 : len(req)-2], req[len(req)-2:]} {
		c.send(part)
		time.Sleep(20 * time.Millisecond)
	}
	if _, body := c.read(); !strings.HasSuffix(body, `"4444"`) {
		t.Errorf("head in pieces: %q", body)
	}
}

func TestH1ConnectionClose(t *testing.T) {
	s := start(t, Config{}, writerHandler)
	c := dialRaw(t, s.Addr().String())
	c.send(post("{}", "Connection: close\r\n"))
	resp, body := c.read()
	if !strings.HasPrefix(body, fastWriter) || !resp.Close {
		t.Errorf("close: %v %v %q", resp.Close, resp.Header, body)
	}
	if !c.closed() {
		t.Error("connection still open after Connection: close")
	}
}

func TestH1IdleTimeout(t *testing.T) {
	s := start(t, Config{IdleTimeout: 100 * time.Millisecond}, writerHandler)
	c := dialRaw(t, s.Addr().String())
	c.send(post("{}"))
	c.read()
	if !c.closed() {
		t.Error("idle connection not closed")
	}
}

func TestH1UnreadBody(t *testing.T) {
	ignore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	s := start(t, Config{}, ignore)
	c := dialRaw(t, s.Addr().String())
	// A small unread body is skipped and the connection kept.
	c.send(post(strings.Repeat("x", 1000)))
	c.send(post("{}"))
	for range 2 {
		if resp, body := c.read(); resp.StatusCode != 200 || body != "ok" || resp.Close {
			t.Fatalf("%d %q close=%v", resp.StatusCode, body, resp.Close)
		}
	}
	// A large one closes it, after the answer.
	c.send(post(strings.Repeat("x", maxDiscard+1)))
	if _, body := c.read(); body != "ok" {
		t.Errorf("large unread body: %q", body)
	}
	if !c.closed() {
		t.Error("connection kept after a large unread body")
	}
}

func TestH1TruncatedBody(t *testing.T) {
	got := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
	})
	s := start(t, Config{}, h)
	c := dialRaw(t, s.Addr().String())
	c.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
	c.nc.(*net.TCPConn).CloseWrite()
	if err := <-got; err != io.ErrUnexpectedEOF {
		t.Errorf("body read: %v, want unexpected EOF", err)
	}
}

func TestH1Panic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Panic") {
		case "abort":
			panic(http.ErrAbortHandler)
		case "yes":
			panic("boom")
		}
		io.WriteString(w, "ok")
	})
	s := start(t, Config{}, h)
	for _, kind := range []string{"abort", "yes"} {
		c := dialRaw(t, s.Addr().String())
		c.send(post("{}", "X-Panic: "+kind+"\r\n"))
		if !c.closed() {
			t.Errorf("panic %s: connection not closed", kind)
		}
	}
	c := dialRaw(t, s.Addr().String())
	c.send(post("{}"))
	if _, body := c.read(); body != "ok" {
		t.Errorf("after panics: %q", body)
	}
}

// TestH1MatchesNetHTTP runs handlers through the fast path and through
// net/http and compares what a client reads.
func TestH1MatchesNetHTTP(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"length set": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("Content-Length", "7")
			w.Header()["x-amzn-RequestId"] = []string{"id-1"}
			io.WriteString(w, `{"a":1`)
			io.WriteString(w, `}`)
		},
		"no length": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ValidationException"}`)
		},
		"sniffed": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html><body>hi") },
		"no type": func(w http.ResponseWriter, r *http.Request) { w.Header()["Content-Type"] = nil; io.WriteString(w, "x") },
		"empty":   func(w http.ResponseWriter, r *http.Request) {},
		"status":  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
		"no content": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(204)
			if _, err := io.WriteString(w, "x"); err != http.ErrBodyNotAllowed {
				panic(err)
			}
		},
		"multi": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-M", "b")
			w.Header().Add("X-M", "a ")
			w.Header().Set("X-N", "line\r\nbreak")
			w.Header().Set("X-U", "\u00a0kept\u00a0") // not ASCII white space
			w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
		},
		"flushed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "4")
			io.WriteString(w, "ab")
			w.(http.Flusher).Flush()
			io.WriteString(w, "cd")
		},
		"too long": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2")
			if _, err := io.WriteString(w, "abc"); err != http.ErrContentLength {
				panic(err)
			}
			io.WriteString(w, "ab")
		},
		"echo": func(w http.ResponseWriter, r *http.Request) {
			keys := slices.Sorted(maps.Keys(r.Header))
			fmt.Fprintf(w, "%s %v %d %v %s|", r.Host, r.RemoteAddr != "", r.ContentLength, r.Close, r.RequestURI)
			for _, k := range keys {
				fmt.Fprintf(w, "%s=%q;", k, r.Header[k])
			}
			io.Copy(w, r.Body)
		},
	}
	reqs := []string{
		post(`{"StreamName":"s"}`, "X-Amz-Target: Kinesis_20131202.PutRecord\r\nX-Amz-Date: 20261201T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\n"),
		post("{}", "amz-sdk-invocation-id: 1\r\nX-Dup: 1\r\nx-dup: 2\r\nX-Space:   padded \t\r\n"),
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			fast := start(t, Config{}, h)
			ref := httptest.NewServer(h)
			defer ref.Close()
			for _, req := range reqs {
				want, wantBody := rawOnce(t, ref.Listener.Addr().String(), req)
				got, gotBody := rawOnce(t, fast.Addr().String(), req)
				if gotBody != wantBody || got.StatusCode != want.StatusCode || got.Close != want.Close {
					t.Errorf("got %d %q close=%v, net/http %d %q close=%v",
						got.StatusCode, gotBody, got.Close, want.StatusCode, wantBody, want.Close)
				}
				if name != "multi" {
					got.Header.Del("Date")
					want.Header.Del("Date")
				}
				// net/http frames an unknown length either way; the
				// fast path always sends one.
				if want.Header.Get("Content-Length") == "" && got.ContentLength == int64(len(gotBody)) {
					got.Header.Del("Content-Length")
				}
				if !maps.EqualFunc(got.Header, want.Header, slices.Equal) {
					t.Errorf("headers\n got %v\nwant %v", got.Header, want.Header)
				}
			}
		})
	}
}

func rawOnce(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	c := dialRaw(t, addr)
	c.send(req)
	return c.read()
}

// TestH1ShutdownClosesIdle: idle fast-path connections are closed at once
// by Shutdown, which does not wait for them.
func TestH1ShutdownClosesIdle(t *testing.T) {
	s := startOwned(t, writerHandler)
	c := dialRaw(t, s.Addr().String())
	c.send(post("{}"))
	c.read()
	// The client never closes the connection and the idle timeout is two
	// minutes: a Shutdown that waited for it would end with its context's
	// error. The minute only bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.closed() {
		t.Error("idle connection open after Shutdown")
	}
}

// FuzzParseHead: a head the fast path accepts is one net/http reads the
// same way.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		post(`{}`, "X-Amz-Target: Kinesis_20131202.PutRecord\r\n"),
		"POST / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nhost: [::1]:80\r\nconnection: Keep-Alive, close\r\ncontent-length: 00\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nX: \t a b \t\r\nX: \r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nX-A: \xff\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, crlf := headEnd(b)
		if n == 0 || !crlf {
			return
		}
		h, ok := parseHead(b[:n])
		if !ok {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b[:n])))
		if err != nil {
			t.Fatalf("fast path took %q, net/http refuses it: %v", b[:n], err)
		}
		if r.Method != http.MethodPost || r.RequestURI != "/" || r.Host != h.host ||
			r.ContentLength != h.contentLength || r.Close != h.close || r.TransferEncoding != nil {
			t.Fatalf("%q: net/http reads %s %s host %q length %d close %v, fast path host %q length %d close %v",
				b[:n], r.Method, r.RequestURI, r.Host, r.ContentLength, r.Close, h.host, h.contentLength, h.close)
		}
		if !maps.EqualFunc(r.Header, h.header, slices.Equal) {
			t.Fatalf("%q: headers\n net/http %q\nfast path %q", b[:n], r.Header, h.header)
		}
	})
}

// TestH1HeadTimeout: a head that stops arriving is cut off after
// ReadHeaderTimeout, not after the idle timeout.
func TestH1HeadTimeout(t *testing.T) {
	s := start(t, Config{ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: time.Hour}, writerHandler)
	c := dialRaw(t, s.Addr().String())
	c.send("POST / HTTP/1.1\r\nHost: h\r\n")
	// Closed before this read gives up, a minute on, it was not closed by
	// the hour's idle timeout.
	c.nc.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadAll(c.br); err != nil {
		t.Fatalf("connection not closed: %v", err)
	}
}

// TestH1ShutdownClosesAfterAnswer: a request in flight when Shutdown
// starts is answered with Connection: close.
func TestH1ShutdownClosesAfterAnswer(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	s := startOwned(t, h)
	c := dialRaw(t, s.Addr().String())
	c.send(post("{}"))
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	for !s.fast.stopping.Load() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	resp, body := c.read()
	if body != "done" || !resp.Close {
		t.Errorf("answer during shutdown: %q close=%v", body, resp.Close)
	}
	if !c.closed() {
		t.Error("connection open after the last answer")
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
