package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the limits on slow clients and open connections; see
// docs/OPERATIONS.md for why these values.
const (
	defaultReadBodyTimeout = 30 * time.Second
	defaultReadBodyMinRate = 64 << 10 // bytes per second
	defaultMaxConnections  = 10000
	// assumedBodySize is what a body of unknown length (chunked, or h2
	// without content-length) is given time for: Kinesis's largest
	// request.
	assumedBodySize = 10 << 20
	// maxBodyAllowance keeps a huge declared length from overflowing.
	maxBodyAllowance = time.Hour
	// capLogEvery rate-limits the "connection limit reached" warning.
	capLogEvery = time.Minute
)

// bodyLimit computes when a request body must have been read.
type bodyLimit struct {
	base    time.Duration // <= 0: no limit
	minRate int64         // bytes per second; <= 0: no allowance by size
}

// deadline is the time by which a body of length n (-1 unknown), whose
// reading starts at start, must be read; zero means none.
func (l bodyLimit) deadline(start time.Time, n int64) time.Time {
	if l.base <= 0 {
		return time.Time{}
	}
	d := l.base
	if l.minRate > 0 {
		if n < 0 {
			n = assumedBodySize
		}
		extra := time.Duration(float64(n) / float64(l.minRate) * float64(time.Second))
		d += min(extra, maxBodyAllowance)
	}
	return start.Add(d)
}

// deadlineBody clears the request's read deadline once the body has been
// read to its end, so that no limit meant for the body is left to fire
// during a long response (SubscribeToShard). net/http's HTTP/1 server
// clears it too when it starts its background read; h2 stops a stream's
// timer at END_STREAM: this keeps it so whatever those do.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	w       http.ResponseWriter
	http1   bool
	cleared bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if !b.cleared {
			b.cleared = true
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	case b.http1 && isTimeout(err):
		// The rest of the body will not come; net/http must not wait
		// for it as the next request.
		b.w.Header().Set("Connection", "close")
	}
	return n, err
}

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handedConn is a connection the fast path gives net/http, with the bytes
// it already read and the deadline of the head being read: net/http sets
// its own ReadHeaderTimeout from when it takes the connection, so the
// head's limit would otherwise apply twice. A deadline net/http sets is
// held to headBy until net/http clears it, which it does once the head (or
// the h2c preface) is read.
type handedConn struct {
	net.Conn
	r *bufio.Reader // nil once drained

	mu     sync.Mutex
	headBy time.Time
}

func (c *handedConn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil
	}
	return c.Conn.Read(p)
}

func (c *handedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	if !c.headBy.IsZero() {
		if t.IsZero() {
			c.headBy = time.Time{} // the head is in; the limit has done its work
		} else if t.After(c.headBy) {
			t = c.headBy
		}
	}
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *handedConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// CloseWrite lets net/http half-close before it closes, as on a TCP
// connection.
func (c *handedConn) CloseWrite() error { return closeWrite(c.Conn) }

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// capListener counts its open connections and refuses those beyond max
// (none when max <= 0). Refused ones are accepted and closed at once
// (with a reset), not left in the kernel's queue: a queued client thinks
// it is connected and waits out its own timeouts, while a refused one
// fails fast and its SDK retries with backoff.
type capListener struct {
	net.Listener
	max  int64
	log  *slog.Logger
	open atomic.Int64

	mu      sync.Mutex
	lastLog time.Time
	refused int64 // since the last warning
}

func newCapListener(ln net.Listener, max int, logger *slog.Logger) *capListener {
	return &capListener{Listener: ln, max: int64(max), log: logger}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.take() {
			return &capConn{Conn: c, l: l}, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset: nothing to say, nothing to wait for
		}
		c.Close()
		l.refused1()
	}
}

// take counts one more open connection if the cap allows it. A refused
// one is never counted, so Open stays within the cap.
func (l *capListener) take() bool {
	for {
		n := l.open.Load()
		if l.max > 0 && n >= l.max {
			return false
		}
		if l.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Open is the number of connections accepted and not yet closed.
func (l *capListener) Open() int64 { return l.open.Load() }

// refused1 counts a refusal and warns at most once per capLogEvery.
func (l *capListener) refused1() {
	l.mu.Lock()
	l.refused++
	now := time.Now()
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < capLogEvery {
		l.mu.Unlock()
		return
	}
	n := l.refused
	l.refused, l.lastLog = 0, now
	l.mu.Unlock()
	l.log.Log(context.Background(), slog.LevelWarn, "connection limit reached; refusing new connections",
		"addr", l.Addr().String(), "max_connections", l.max, "refused", n, "next_warning_after", capLogEvery.String())
}

// capConn gives its slot back when closed, once.
type capConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

func (c *capConn) CloseWrite() error { return closeWrite(c.Conn) }
