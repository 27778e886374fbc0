package rawclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/transport/httpsyntax"
)

// h1Transport is a small HTTP/1.1 client for plain http:// endpoints: one
// request at a time on each kept-alive connection, written and read by the
// calling goroutine. net/http's Transport runs a reader and a writer
// goroutine per connection and hands every request and response across
// them; at 20,000 PutRecord calls a second that was about a third of the
// load generator's CPU, on cores it shares with the server it measures.
// The requests send builds are written by writeRequest and the answers
// parsed by readResponse (h1wire.go), byte for byte and field for field
// what (*http.Request).Write and http.ReadResponse do, with a fraction of
// their allocations.
type h1Transport struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int
	last    atomic.Pointer[hostAddr] // the last host dialled, to skip JoinHostPort

	mu     sync.Mutex
	idle   map[string][]*h1Conn // by host:port
	closed bool
}

type hostAddr struct{ host, addr string }

type h1Conn struct {
	addr  string
	nc    net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	since time.Time // idle since
	head  []byte    // scratch for response heads

	// The end of a call's context unblocks the connection's I/O through
	// its deadline. The context is watched from one call to the next
	// while it stays the same (the load generator's does), so a call
	// costs no context.AfterFunc and no lock on the context shared by
	// every worker.
	mu       sync.Mutex
	deadline time.Time       // nc's, as last set
	watching <-chan struct{} // the Done of the context watched
	unwatch  func() bool
	gen      uint64 // counts watches: a stale one's callback does nothing
	busy     bool   // a call is using the connection
	ended    bool   // the watched context ended
}

// begin starts a call on pc under ctx, bounded by deadline if set.
func (pc *h1Conn) begin(ctx context.Context, deadline time.Time) error {
	done := ctx.Done()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if done != pc.watching || pc.ended {
		pc.stopWatch()
		if done != nil {
			gen := pc.gen
			pc.watching = done
			pc.unwatch = context.AfterFunc(ctx, func() { pc.interrupt(gen) })
		}
	}
	pc.busy = true
	// Deadlines differ from call to call, so comparing them only saves
	// the system call where there is none.
	if deadline != pc.deadline {
		if err := pc.nc.SetDeadline(deadline); err != nil {
			return err
		}
		pc.deadline = deadline
	}
	return nil
}

// interrupt is the watch's callback: a call under way has its I/O fail
// at once, and finds ctx.Err() set.
func (pc *h1Conn) interrupt(gen uint64) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if gen != pc.gen {
		return
	}
	pc.ended = true
	if pc.busy {
		_ = pc.nc.SetDeadline(time.Unix(1, 0))
	}
}

// finish ends a call, and reports whether pc is still fit for another:
// its context did not end during the call, which may have left nc's
// deadline in the past.
func (pc *h1Conn) finish() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.busy = false
	return !pc.ended
}

// stopWatch ends the watch, if any; pc.mu is held.
func (pc *h1Conn) stopWatch() {
	if pc.unwatch != nil {
		pc.unwatch() // drops the context's reference to pc
	}
	pc.watching, pc.unwatch, pc.ended = nil, nil, false
	pc.gen++
}

// close closes pc for good.
func (pc *h1Conn) close() {
	pc.mu.Lock()
	pc.stopWatch()
	pc.mu.Unlock()
	pc.nc.Close()
}

// maxIdleTime is how long a kept connection is trusted to be open. Servers
// close idle ones (Node.js after 5 s); past this one is dialled anew
// rather than finding out by a failed request.
const maxIdleTime = 2 * time.Second

func newH1Transport(maxIdle int) *h1Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &h1Transport{dial: d.DialContext, maxIdle: maxIdle, idle: map[string][]*h1Conn{}}
}

// errStale means a kept-alive connection turned out closed before any of
// the answer arrived; the request is sent again on a new one, as
// net/http's Transport does.
var errStale = errors.New("rawclient: kept-alive connection closed")

// RoundTrip implements http.RoundTripper.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.do(req.Context(), req, nil, time.Time{})
}

// do is RoundTrip for send, without the context and body allocations:
// body, if not nil, is sent in place of req.Body (it is written before do
// returns, so it may be a pooled buffer), and a non-zero deadline bounds
// the call through the connection's deadline as http.Client.Timeout would
// through a context: its expiry is reported as context.DeadlineExceeded.
func (t *h1Transport) do(ctx context.Context, req *http.Request, body []byte, deadline time.Time) (*http.Response, error) {
	addr := t.hostPort(req.URL)
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.get(ctx, addr, deadline)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		resp, err := t.exchange(ctx, pc, req, body, deadline)
		if errors.Is(err, errStale) && reused && attempt < 2 {
			if body != nil {
				continue
			}
			if req.GetBody != nil {
				b, gerr := req.GetBody()
				if gerr != nil {
					return nil, gerr
				}
				req.Body = b
				continue
			}
		}
		if err != nil && req.Body != nil {
			req.Body.Close()
		}
		return resp, err
	}
}

// exchange writes req on pc and reads the answer's head. On error pc is
// closed; on success it belongs to the response body.
func (t *h1Transport) exchange(ctx context.Context, pc *h1Conn, req *http.Request, body []byte, deadline time.Time) (*http.Response, error) {
	fail := func(err error) (*http.Response, error) {
		pc.finish()
		pc.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(deadline) {
			return nil, context.DeadlineExceeded // what the timeout's context gave
		}
		return nil, err
	}
	if err := pc.begin(ctx, deadline); err != nil {
		return fail(err)
	}
	if err := writeRequest(pc.bw, req, body); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	if _, err := pc.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			err = errStale
		}
		return fail(err)
	}
	resp, rb, err := readResponse(pc.br, req, &pc.head)
	if cap(pc.head) > 64<<10 {
		pc.head = nil // not kept for a rare huge head
	}
	if err != nil {
		return fail(err)
	}
	rb.t, rb.pc = t, pc
	return resp, nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read" && !op.Timeout()
}

// get returns an idle connection to addr, or dials one (within deadline,
// if set).
func (t *h1Transport) get(ctx context.Context, addr string, deadline time.Time) (pc *h1Conn, reused bool, err error) {
	t.mu.Lock()
	for list := t.idle[addr]; len(list) > 0; list = t.idle[addr] {
		pc = list[len(list)-1]
		t.idle[addr] = list[:len(list)-1]
		if time.Since(pc.since) < maxIdleTime {
			t.mu.Unlock()
			return pc, true, nil
		}
		pc.close()
	}
	t.mu.Unlock()
	if d, ok := ctx.Deadline(); !deadline.IsZero() && (!ok || deadline.Before(d)) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &h1Conn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, false, nil
}

// put keeps pc for the next request, or closes it. Its deadline is left:
// the next exchange sets its own.
func (t *h1Transport) put(pc *h1Conn) {
	pc.since = time.Now()
	t.mu.Lock()
	if !t.closed && len(t.idle[pc.addr]) < t.maxIdle {
		t.idle[pc.addr] = append(t.idle[pc.addr], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.close()
}

// CloseIdleConnections closes the kept connections; later requests dial
// anew.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*h1Conn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.close()
		}
	}
}

// release ends a response body's hold on its connection: kept if the
// body was read to its end and nothing else arrived, else closed.
func (t *h1Transport) release(b *h1Body) {
	if b.pc.finish() && b.eof && b.keep && b.pc.br.Buffered() == 0 {
		t.put(b.pc)
	} else {
		b.pc.close()
	}
}

// hostPort is the address to dial for u, with the scheme's port if the
// URL names none. Every call names the same host, so the last one is
// remembered.
func (t *h1Transport) hostPort(u *url.URL) string {
	if a := t.last.Load(); a != nil && a.host == u.Host {
		return a.addr
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	a := &hostAddr{host: u.Host, addr: net.JoinHostPort(u.Hostname(), port)}
	t.last.Store(a)
	return a.addr
}

// writeRequest writes req as (*http.Request).Write does, by hand for the
// shape send builds: a POST with a known, non-zero length and no
// trailers, to a plain host. body, if not nil, is sent in place of
// req.Body. Any other request goes to req.Write.
func writeRequest(bw *bufio.Writer, req *http.Request, body []byte) error {
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	var uri string
	if plainRequest(req, host, body) {
		uri = req.URL.RequestURI()
	}
	if uri == "" || httpsyntax.ContainsCTL(uri) { // req.Write's, or its error
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		return req.Write(bw)
	}
	bw.WriteString("POST ")
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	// net/http's default User-Agent, as req.Write sends it when the
	// header has none.
	bw.WriteString("\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), req.ContentLength, 10))
	bw.WriteString("\r\n")

	// The other headers sorted by name, as Header.Write sends them.
	httpsyntax.WriteFields(bw, req.Header, writtenByRequest)
	bw.WriteString("\r\n")
	if body != nil {
		_, err := bw.Write(body)
		return err
	}
	err := copyBody(bw, req.Body, req.ContentLength)
	if cerr := req.Body.Close(); err == nil {
		err = cerr
	}
	return err
}

// writtenByRequest reports the fields req.Write writes from req's own
// fields or leaves out, whatever req.Header says.
func writtenByRequest(name string) bool {
	switch name {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// plainRequest reports whether writeRequest writes req itself.
func plainRequest(req *http.Request, host string, body []byte) bool {
	if req.Method != http.MethodPost || req.URL == nil || req.URL.Opaque != "" || req.ContentLength <= 0 ||
		len(req.TransferEncoding) != 0 || req.Close || req.Trailer != nil || host == "" {
		return false
	}
	if body != nil {
		if int64(len(body)) != req.ContentLength {
			return false
		}
	} else if req.Body == nil || req.Body == http.NoBody {
		return false
	}
	if _, ok := req.Header["User-Agent"]; ok {
		return false
	}
	// A host req.Write would rewrite (IDNA, an IPv6 zone, bytes it
	// drops) is left to it.
	return httpsyntax.IsPlainHost(host)
}

// copyBody copies the n bytes of r to bw, read straight into bw's
// buffer, and checks that r has no more and no fewer, as req.Write does.
func copyBody(bw *bufio.Writer, r io.Reader, n int64) error {
	var copied int64
	for copied < n {
		if bw.Available() == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		p := bw.AvailableBuffer()
		p = p[:min(int64(cap(p)), n-copied)]
		m, err := r.Read(p)
		if _, werr := bw.Write(p[:m]); werr != nil {
			return werr
		}
		copied += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if copied+extra != n {
		return errors.New("http: ContentLength=" + strconv.FormatInt(n, 10) + " with Body length " + strconv.FormatInt(copied+extra, 10))
	}
	return nil
}
