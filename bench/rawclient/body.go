package rawclient

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Buffers for request and response bodies are pooled. A PutRecords of
// 500 × 1 KiB is about 700 KB of JSON and a GetRecords response of
// 10,000 × 1 KiB about 14 MB, so allocating them per call would be most
// of the client's garbage.
type bufPool struct {
	p sync.Pool
}

// maxPooled bounds the buffers kept; a bigger one is left to the GC.
const maxPooled = 64 << 20

func (bp *bufPool) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	return new([]byte)
}

func (bp *bufPool) put(b *[]byte) {
	if cap(*b) <= maxPooled {
		bp.p.Put(b)
	}
}

var (
	requestBufs  bufPool
	responseBufs bufPool
)

// smallBody is the size up to which a request body is copied out of its
// pooled buffer into one of its own, sent through a bytes.Reader: for
// those net/http writes the headers and the body in one write instead of
// flushing the headers first, which for a PutRecord is half the
// syscalls. Bigger bodies are sent from the pooled buffer.
const smallBody = 16 << 10

// payload is a request body. The transport may still be reading a body
// after RoundTrip returned (a server can answer before it has read the
// request), and it may ask for the body again (GetBody) to resend a
// request on a fresh connection. So a pooled buffer goes back to the pool
// only once the caller and every body handed out have let go of it.
type payload struct {
	buf   *[]byte // pooled; nil for a small body
	small []byte
	refs  atomic.Int32
}

func newPayload(buf *[]byte) *payload {
	if len(*buf) <= smallBody {
		p := &payload{small: bytes.Clone(*buf)}
		requestBufs.put(buf)
		return p
	}
	p := &payload{buf: buf}
	p.refs.Store(1) // the caller's
	return p
}

func (p *payload) bytes() []byte {
	if p.buf == nil {
		return p.small
	}
	return *p.buf
}

func (p *payload) release() {
	if p.buf != nil && p.refs.Add(-1) == 0 {
		requestBufs.put(p.buf)
	}
}

// body hands out a reader of the payload; a pooled payload lives until
// the reader is closed.
func (p *payload) body() io.ReadCloser {
	if p.buf == nil {
		return io.NopCloser(bytes.NewReader(p.small))
	}
	p.refs.Add(1)
	return &body{p: p}
}

var errBodyClosed = errors.New("rawclient: read of a closed request body")

// body reads a pooled payload. Read, WriteTo and Close may come from
// different goroutines of the transport. The buffer is copied outside the
// lock (a write to a stalled connection must not hold up Close), so
// whichever of the copy and Close ends last gives the buffer up.
type body struct {
	mu     sync.Mutex
	p      *payload
	off    int
	busy   bool // a Read or WriteTo is using the buffer
	closed bool
}

// take returns the unread bytes and marks the body busy.
func (b *body) take() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, errBodyClosed
	case b.busy:
		return nil, errors.New("rawclient: concurrent reads of a request body")
	}
	src := b.p.bytes()[b.off:]
	if len(src) == 0 {
		return nil, io.EOF
	}
	b.busy = true
	return src, nil
}

// done records n bytes consumed and ends the busy state.
func (b *body) done(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.off += n
	b.busy = false
	if b.closed {
		b.p.release()
	}
}

func (b *body) Read(dst []byte) (int, error) {
	src, err := b.take()
	if err != nil {
		return 0, err
	}
	n := copy(dst, src)
	b.done(n)
	return n, nil
}

// WriteTo lets io.Copy hand the whole body to the connection in one write.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	src, err := b.take()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := w.Write(src)
	b.done(n)
	return int64(n), err
}

func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		if !b.busy {
			b.p.release()
		}
	}
	return nil
}
