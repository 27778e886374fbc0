package rawclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// h1Transport is a small HTTP/1.1 client for plain http:// endpoints: one
// request at a time on each kept-alive connection, written and read by the
// calling goroutine. net/http's Transport runs a reader and a writer
// goroutine per connection and hands every request and response across
// them; at 20,000 PutRecord calls a second that was about a third of the
// load generator's CPU, on cores it shares with the server it measures.
// Requests go out with (*http.Request).Write and answers are parsed by
// http.ReadResponse, so the wire format is net/http's own.
type h1Transport struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int

	mu     sync.Mutex
	idle   map[string][]*h1Conn // by host:port
	closed bool
}

type h1Conn struct {
	addr  string
	nc    net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	since time.Time // idle since
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
	ctx := req.Context()
	addr := hostPort(req)
	for attempt := 0; ; attempt++ {
		pc, reused, err := t.get(ctx, addr)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(ctx, pc, req)
		if errors.Is(err, errStale) && reused && attempt < 2 && req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			req.Body = body
			continue
		}
		if err != nil && req.Body != nil {
			req.Body.Close()
		}
		return resp, err
	}
}

// exchange writes req on pc and reads the answer's head. On error pc is
// closed; on success it belongs to the response body.
func (t *h1Transport) exchange(ctx context.Context, pc *h1Conn, req *http.Request) (*http.Response, error) {
	// The context's end (cancel or deadline) unblocks the connection's I/O
	// by its deadline; only then, so a failed read always finds ctx.Err().
	stop := context.AfterFunc(ctx, func() { _ = pc.nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := req.Write(pc.bw); err != nil {
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
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &h1Body{rc: resp.Body, t: t, pc: pc, stop: stop, keep: !resp.Close}
	return resp, nil
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "read" && !op.Timeout()
}

// get returns an idle connection to addr, or dials one.
func (t *h1Transport) get(ctx context.Context, addr string) (pc *h1Conn, reused bool, err error) {
	t.mu.Lock()
	for list := t.idle[addr]; len(list) > 0; list = t.idle[addr] {
		pc = list[len(list)-1]
		t.idle[addr] = list[:len(list)-1]
		if time.Since(pc.since) < maxIdleTime {
			t.mu.Unlock()
			return pc, true, nil
		}
		pc.nc.Close()
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &h1Conn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}, false, nil
}

// put keeps pc for the next request, or closes it.
func (t *h1Transport) put(pc *h1Conn) {
	_ = pc.nc.SetDeadline(time.Time{})
	pc.since = time.Now()
	t.mu.Lock()
	if !t.closed && len(t.idle[pc.addr]) < t.maxIdle {
		t.idle[pc.addr] = append(t.idle[pc.addr], pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.nc.Close()
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
			pc.nc.Close()
		}
	}
}

// h1Body gives the connection back once the body was read to its end and
// closed; a body closed early takes its connection with it.
type h1Body struct {
	rc   io.ReadCloser
	t    *h1Transport
	pc   *h1Conn
	stop func() bool
	keep bool
	eof  bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	// stop reports false when the context already ended, and with it the
	// connection's deadline.
	if b.stop() && b.eof && b.keep && err == nil && b.pc.br.Buffered() == 0 {
		b.t.put(b.pc)
	} else {
		b.pc.nc.Close()
	}
	return err
}

// hostPort is the address to dial for req, with the scheme's port if the
// URL names none.
func hostPort(req *http.Request) string {
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(req.URL.Hostname(), port)
}
