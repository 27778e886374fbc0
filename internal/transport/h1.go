package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/transport/httpsyntax"
)

// h1Server answers the plain port's common request itself: an HTTP/1.1
// POST / with a Content-Length body that does not stream. That is
// nearly every request an SDK sends to an http:// endpoint, and for small
// ones net/http's per-request machinery (a background read goroutine, a
// cancelable context, header parsing through textproto, a chunk writer)
// cost about a fifth of the server's CPU. Every other connection or
// request, from the h2c preface to a chunked body, a GET /health, a
// streaming request or a malformed head, is handed to net/http untouched, so that anything
// unusual gets net/http's full behaviour and answers.
//
// A connection is handed over only between requests, when nothing of the
// next request has been consumed: net/http reads it from the buffered
// bytes on.
type h1Server struct {
	handler     http.Handler // Server.serveHTTP
	handoff     *handoffListener
	log         *slog.Logger
	idleTimeout time.Duration
	headTimeout time.Duration // from a request's first byte to its whole head
	body        bodyLimit
	// streaming is Config.Streaming: true hands the request to net/http.
	streaming func(http.Header) bool

	// stopping mirrors draining for the request path, which reads it
	// without the lock to mark its last answers Connection: close.
	stopping atomic.Bool

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*h1Conn]struct{}
	draining bool
	active   sync.WaitGroup // requests being served
	running  sync.WaitGroup // connection goroutines
}

// headBufSize bounds a request head on the fast path; a longer one (net/http
// allows 1 MiB) goes to net/http.
const headBufSize = 16 << 10

// maxDiscard is how much of a body the handler left unread is skipped to
// keep the connection; past it the connection is closed, as net/http does.
const maxDiscard = 256 << 10

type h1Conn struct {
	s      *h1Server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	busy   bool // a request is being read or served; under s.mu
	w      h1Response
}

func newH1Server(handler http.Handler, handoff *handoffListener, logger *slog.Logger, idleTimeout, headTimeout time.Duration, streaming func(http.Header) bool) *h1Server {
	return &h1Server{handler: handler, handoff: handoff, log: logger, idleTimeout: idleTimeout, headTimeout: headTimeout,
		streaming: streaming, conns: map[*h1Conn]struct{}{}}
}

// serve accepts connections on ln until it is closed.
func (s *h1Server) serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	draining := s.draining
	s.mu.Unlock()
	if draining {
		ln.Close()
		return nil
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			draining := s.draining
			s.mu.Unlock()
			if draining || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("http: accept error; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &h1Conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		s.mu.Lock()
		if s.draining {
			s.mu.Unlock()
			c.cancel()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.running.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// shutdown stops accepting, closes idle connections and waits for the
// requests in flight to finish or ctx to end; then the rest are closed.
func (s *h1Server) shutdown(ctx context.Context) error {
	s.stop(false)
	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stop(true)
	return err
}

// close closes every connection and ends their handlers' contexts.
func (s *h1Server) close() { s.stop(true) }

// stop marks the server draining, closes the listener and then the idle
// connections, or with all every one, ending its handler's context.
func (s *h1Server) stop(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	s.stopping.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		switch {
		case all:
			c.cancel()
		case c.busy:
			continue
		}
		c.nc.Close()
	}
}

// wait returns when every connection goroutine has ended.
func (s *h1Server) wait() { s.running.Wait() }

func (c *h1Conn) serve() {
	s := c.s
	handed := false
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.cancel()
		if !handed {
			c.nc.Close()
		}
		s.running.Done()
	}()
	c.br = bufio.NewReaderSize(c.nc, headBufSize)
	for first := true; ; first = false {
		// As net/http: a new connection's first head is due within
		// headTimeout of the accept, a later one within headTimeout of
		// its first byte, after at most idleTimeout of waiting.
		var headBy time.Time
		if first && s.headTimeout > 0 {
			headBy = time.Now().Add(s.headTimeout)
			_ = c.nc.SetReadDeadline(headBy)
		} else if s.idleTimeout > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(s.idleTimeout))
		}
		if _, err := c.br.Peek(1); err != nil {
			return
		}
		if !first && s.headTimeout > 0 {
			headBy = time.Now().Add(s.headTimeout)
			_ = c.nc.SetReadDeadline(headBy)
		}
		if !c.begin() {
			return // shutting down
		}
		head, res := c.readHead()
		switch res {
		case headTimedOut:
			// net/http too closes without an answer.
			c.end()
			return
		case headConflict:
			c.refuseConflict()
			c.end()
			return
		case headNetHTTP:
			c.end()
			handed = c.handOff(headBy)
			return
		}
		keep := c.serveOne(head)
		c.end()
		if !keep {
			return
		}
	}
}

// begin marks the connection busy, unless the server is draining.
func (c *h1Conn) begin() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.draining {
		return false
	}
	c.busy = true
	c.s.active.Add(1)
	return true
}

func (c *h1Conn) end() {
	c.s.mu.Lock()
	c.busy = false
	c.s.mu.Unlock()
	c.s.active.Done()
}

// What readHead found.
const (
	headFast     = iota // a request the fast path serves
	headNetHTTP         // net/http should have the connection
	headTimedOut        // the head did not arrive within its limit
	headConflict        // Content-Length with Transfer-Encoding
)

// readHead waits for the whole request head in the buffer and parses it
// without consuming it.
func (c *h1Conn) readHead() (h reqHead, res int) {
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		n, crlf := headEnd(buf)
		if n > 0 {
			if !crlf {
				return h, headNetHTTP
			}
			h, ok := parseHead(buf[:n])
			if !ok {
				if lengthConflict(buf[:n]) {
					return h, headConflict
				}
				return h, headNetHTTP
			}
			// Streams need net/http's flushing as it writes and its
			// watch for the client going away.
			if c.s.streaming != nil && c.s.streaming(h.header) {
				return h, headNetHTTP
			}
			h.size = n
			return h, headFast
		}
		if len(buf) == 0 {
			return h, headNetHTTP
		}
		if len(buf) >= 16 && string(buf[:16]) == "PRI * HTTP/2.0\r\n" {
			return h, headNetHTTP // h2c with prior knowledge
		}
		if len(buf) >= headBufSize {
			return h, headNetHTTP
		}
		// More of the head is on its way; a read error other than the
		// deadline leaves the bytes buffered, and net/http answers what
		// it can of them.
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			if isTimeout(err) {
				return h, headTimedOut
			}
			return h, headNetHTTP
		}
	}
}

// refuseConflict answers a request with both Content-Length and
// Transfer-Encoding, which net/http would serve as chunked: where the
// body ends is in doubt (request smuggling), so it is refused and the
// connection closed (RFC 9112, section 6.3).
func (c *h1Conn) refuseConflict() {
	const msg = "400 Bad Request: Content-Length with Transfer-Encoding"
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.headTimeout + time.Second))
	_, _ = io.WriteString(c.nc, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"+
		"Content-Length: "+strconv.Itoa(len(msg))+"\r\n\r\n"+msg)
	c.closeWriteAndWait()
}

// handOff gives the connection, with whatever is buffered of it, to
// net/http, still due to finish its head by headBy. It reports whether
// net/http took it.
func (c *h1Conn) handOff(headBy time.Time) bool {
	_ = c.nc.SetReadDeadline(headBy)
	nc := &handedConn{Conn: c.nc, headBy: headBy}
	if c.br.Buffered() > 0 {
		nc.r = c.br
	}
	return c.s.handoff.give(nc)
}

// serveOne serves the request whose head is h and reports whether the
// connection may carry another.
func (c *h1Conn) serveOne(h reqHead) (keep bool) {
	if _, err := c.br.Discard(h.size); err != nil {
		return false
	}
	// The body's own limit replaces the head's; the handler's reads and
	// the skipping of what it left both count against it.
	_ = c.nc.SetReadDeadline(c.s.body.deadline(time.Now(), h.contentLength))
	body := &h1Body{r: io.LimitedReader{R: c.br, N: h.contentLength}}
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: "/"},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h.header,
		Body:          body,
		ContentLength: h.contentLength,
		Host:          h.host,
		RemoteAddr:    c.remote,
		RequestURI:    "/",
	}).WithContext(c.ctx)
	if c.bw == nil {
		c.bw = bufio.NewWriterSize(c.nc, 32<<10)
	}
	w := &c.w
	w.reset(c.bw, h.close, &c.s.stopping)
	if !c.call(w, req) {
		return false
	}
	if err := w.finish(); err != nil {
		return false
	}
	if w.close || c.s.stopping.Load() {
		return false
	}
	// What the handler left of the body is skipped, within reason.
	if body.r.N > maxDiscard {
		c.closeWriteAndWait()
		return false
	}
	if body.r.N > 0 {
		if _, err := io.Copy(io.Discard, &body.r); err != nil || body.r.N > 0 {
			return false
		}
	}
	return true
}

// rstAvoidanceDelay is how long a connection closed with unread request
// bytes lingers after its write side is shut, so that the client reads the
// answer before the kernel resets the connection; net/http waits as long.
const rstAvoidanceDelay = 500 * time.Millisecond

func (c *h1Conn) closeWriteAndWait() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	time.Sleep(rstAvoidanceDelay)
}

// call runs the handler, recovering a panic as net/http does: the
// connection is closed and, unless the panic is http.ErrAbortHandler,
// logged.
func (c *h1Conn) call(w *h1Response, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				c.s.log.Error(fmt.Sprintf("http: panic serving %s: %v", c.remote, v), "stack", string(debug.Stack()))
			}
			ok = false
		}
	}()
	c.s.handler.ServeHTTP(w, req)
	return true
}

// h1Body is a request body read straight from the connection's buffer.
type h1Body struct {
	r      io.LimitedReader
	closed bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.r.Read(p)
	if err == io.EOF && b.r.N > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.closed = true
	return nil
}

// h1Response writes the head when the first body bytes arrive (so that a
// missing Content-Type can be sniffed from them, as net/http does) and the
// body through the connection's buffer, flushed once at the end: one write
// for a small answer.
type h1Response struct {
	bw          *bufio.Writer
	header      http.Header
	status      int
	wroteHeader bool // WriteHeader was called
	headSent    bool // the head is in bw
	// declared is the Content-Length the handler set, or -1.
	declared int64
	written  int64
	// body holds the answer of a handler that set no Content-Length,
	// which is then computed at the end.
	body  bytes.Buffer
	close bool
	// stopping is the server's: an answer whose head goes out during
	// shutdown says Connection: close.
	stopping *atomic.Bool
	err      error
}

func (w *h1Response) reset(bw *bufio.Writer, close bool, stopping *atomic.Bool) {
	w.stopping = stopping
	if w.header == nil {
		w.header = make(http.Header, 8)
	} else {
		clear(w.header)
	}
	w.bw, w.status, w.wroteHeader, w.headSent, w.declared, w.written, w.close, w.err = bw, 0, false, false, -1, 0, close, nil
	if w.body.Cap() > maxDiscard {
		w.body = bytes.Buffer{}
	}
	w.body.Reset()
}

func (w *h1Response) Header() http.Header { return w.header }

func (w *h1Response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		return // no handler here sends informational answers
	}
	w.wroteHeader, w.status = true, code
	// As net/http's server reads a handler's length (a sign allowed),
	// which is not a request's Content-Length rule.
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.declared = n
		}
	}
}

func (w *h1Response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.declared < 0 {
		return w.body.Write(p)
	}
	if w.written+int64(len(p)) > w.declared {
		// As net/http: the head goes out as it is, and nothing more.
		if !w.headSent {
			w.writeHead(nil)
		}
		w.err = http.ErrContentLength
		return 0, w.err
	}
	if !w.headSent {
		w.writeHead(p)
	}
	n, err := w.bw.Write(p)
	w.written += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Flush sends what is buffered.
func (w *h1Response) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.declared < 0 {
		return // the length is not known until the handler returns
	}
	if !w.headSent {
		w.writeHead(nil)
	}
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

// finish completes the response after the handler returned.
func (w *h1Response) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.declared < 0 {
		w.declared = int64(w.body.Len())
		if bodyAllowed(w.status) {
			w.header["Content-Length"] = []string{strconv.FormatInt(w.declared, 10)}
		}
		w.writeHead(w.body.Bytes())
		if _, err := w.bw.Write(w.body.Bytes()); err != nil {
			return err
		}
		w.written = w.declared
	} else if !w.headSent {
		w.writeHead(nil)
	}
	if w.err == nil && w.written < w.declared && bodyAllowed(w.status) {
		w.err = io.ErrShortWrite
	}
	if w.err != nil {
		// The client was promised more; what there is goes out, and the
		// connection closes so that it does not wait for the rest.
		w.bw.Flush()
		return w.err
	}
	return w.bw.Flush()
}

// writeHead writes the status line and the headers, sorted as net/http
// sends them, with a Date unless the handler set one and a Content-Type
// sniffed from the body's start unless it set that (or set it to nil).
func (w *h1Response) writeHead(start []byte) {
	w.headSent = true
	bw := w.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(w.status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	if w.close || w.stopping.Load() {
		w.close = true
		w.header["Connection"] = []string{"close"}
	}
	if _, ok := w.header["Date"]; !ok {
		w.header["Date"] = []string{httpDate()}
	}
	if _, ok := w.header["Content-Type"]; !ok && len(start) > 0 && bodyAllowed(w.status) {
		w.header["Content-Type"] = []string{http.DetectContentType(start)}
	}
	httpsyntax.WriteFields(bw, w.header, nil)
	bw.WriteString("\r\n")
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}

// httpDate is the Date header for now, formatted once a second.
func httpDate() string {
	now := time.Now().Unix()
	if d := cachedDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var cachedDate atomic.Pointer[dateText]

// handoffListener is the listener net/http serves: it yields the
// connections h1Server gives up.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn

	once sync.Once
	done chan struct{}
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// give hands c to net/http; it reports false (and c is the caller's to
// close) once the listener is closed.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }
