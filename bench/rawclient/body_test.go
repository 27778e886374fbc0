package rawclient

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"
)

// A pooled body outlives the call that made it until the transport closed
// every reader it asked for, and a reader the transport still holds never
// touches the buffer after Close.
func TestPooledBody(t *testing.T) {
	buf := requestBufs.get()
	*buf = append(*buf, bytes.Repeat([]byte("x"), smallBody+1)...)
	p := newPayload(buf)
	if p.buf == nil {
		t.Fatal("a big body was not sent from its pooled buffer")
	}
	b1, b2 := p.body(), p.body()
	var out bytes.Buffer
	if n, err := io.Copy(&out, b1); err != nil || n != smallBody+1 || !bytes.Equal(out.Bytes(), *buf) {
		t.Fatalf("copied %d, %v", n, err)
	}
	p.release() // the caller is done
	b1.Close()
	b1.Close()
	if got := p.refs.Load(); got != 1 {
		t.Fatalf("%d references left, want b2's", got)
	}
	if _, err := b1.Read(make([]byte, 1)); err != errBodyClosed {
		t.Fatalf("read after close: %v", err)
	}
	b2.Close()
	if got := p.refs.Load(); got != 0 {
		t.Fatalf("%d references left", got)
	}

	// Close while a write of the body is blocked: the buffer is given up
	// when the write ends, not before.
	buf = requestBufs.get()
	*buf = append(*buf, bytes.Repeat([]byte("y"), smallBody+1)...)
	p = newPayload(buf)
	b := p.body()
	p.release()
	w := &slowWriter{started: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(w, b)
	}()
	<-w.started
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(hangTimeout): // the write is held until release: only a Close that waits for it gets here
		t.Fatal("Close waited for the write")
	}
	if got := p.refs.Load(); got != 1 {
		t.Fatalf("%d references during the write, want 1", got)
	}
	close(w.release)
	wg.Wait()
	if got := p.refs.Load(); got != 0 {
		t.Fatalf("%d references after the write", got)
	}

	// A small body is the caller's own copy, in a bytes.Reader.
	buf = requestBufs.get()
	*buf = append(*buf, "{}"...)
	p = newPayload(buf)
	if p.buf != nil || string(p.bytes()) != "{}" {
		t.Fatal("a small body was not copied")
	}
}

type slowWriter struct {
	once             sync.Once
	started, release chan struct{}
	n                int
}

func (w *slowWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	w.n += len(b)
	return len(b), nil
}
