package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowGuard bounds only how long a test may hang: a slow client must be
// dropped within its limit plus this, however loaded the machine is.
const slowGuard = 30 * time.Second

// readAllHandler reads the whole body and answers its length; a body
// that does not arrive in time is answered 408.
var readAllHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestTimeout)
		return
	}
	fmt.Fprintf(w, "read %d", len(b))
})

// stats formats durations as median and max.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("n=%d median=%v max=%v", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// normalLoad makes requests with c until stop closes and reports their
// durations; every one must succeed.
func normalLoad(t *testing.T, c *http.Client, url string, stop <-chan struct{}) <-chan []time.Duration {
	out := make(chan []time.Duration, 1)
	go func() {
		var took []time.Duration
		defer func() { out <- took }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			began := time.Now()
			resp, err := c.Post(url, "application/json", strings.NewReader(`{"StreamName":"s"}`))
			if err != nil {
				t.Errorf("normal request failed: %v", err)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || string(b) != "read 18" {
				t.Errorf("normal request: %d %q %v", resp.StatusCode, b, err)
				return
			}
			took = append(took, time.Since(began))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return out
}

// slowClient connects, sends first and stalls; it reports how long after
// sending the server took to close the connection.
func slowClient(addr, first string, limit time.Duration) (time.Duration, error) {
	nc, err := net.DialTimeout("tcp", addr, slowGuard)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, first); err != nil {
		return 0, err
	}
	sent := time.Now()
	nc.SetReadDeadline(sent.Add(limit + slowGuard))
	_, err = io.Copy(io.Discard, nc) // a 408 may come first; then EOF
	took := time.Since(sent)
	if err != nil && isTimeout(err) {
		return took, fmt.Errorf("still open %v after stalling", took)
	}
	return took, nil // EOF, or a reset
}

// TestSlowClientsDropped: 200 clients sending a head slowly and 200
// sending a body slowly are all disconnected, while a normal client's
// requests all succeed, with the fast path on and off.
func TestSlowClientsDropped(t *testing.T) {
	const limit = time.Second
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableFastPath=%v", disable), func(t *testing.T) {
			s := start(t, Config{ReadHeaderTimeout: limit, ReadBodyTimeout: limit, ReadBodyMinRate: -1, DisableFastPath: disable}, readAllHandler)
			addr := s.Addr().String()
			stop := make(chan struct{})
			load := normalLoad(t, client(t, http1, nil), "http://"+addr+"/", stop)

			kinds := map[string]string{
				"head": "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n",
				"body": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n{",
			}
			var mu sync.Mutex
			dropped := map[string][]time.Duration{}
			var wg sync.WaitGroup
			for kind, first := range kinds {
				for range 200 {
					wg.Go(func() {
						took, err := slowClient(addr, first, limit)
						if err != nil {
							t.Errorf("slow %s client: %v", kind, err)
							return
						}
						mu.Lock()
						dropped[kind] = append(dropped[kind], took)
						mu.Unlock()
					})
				}
			}
			wg.Wait()
			close(stop)
			took := <-load
			if len(took) == 0 {
				t.Error("the normal client made no request")
			}
			t.Logf("limit %v; normal requests: %s", limit, stats(took))
			for kind, ds := range dropped {
				t.Logf("slow-%s clients dropped after: %s", kind, stats(ds))
			}
		})
	}
}

// TestSlowBodyH2: a stream whose body stalls is ended over h2c and TLS
// h2, while the connection's other streams go on.
func TestSlowBodyH2(t *testing.T) {
	const limit = time.Second
	s := start(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: testCert(t), ReadBodyTimeout: limit, ReadBodyMinRate: -1}, readAllHandler)
	for _, tc := range []struct {
		name string
		set  func(*http.Protocols)
		url  string
	}{
		{"h2c", h2c, "http://" + s.Addr().String() + "/"},
		{"TLS h2", h2, "https://" + s.TLSAddr().String() + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, tc.set, &tls.Config{InsecureSkipVerify: true})
			c.Timeout = limit + slowGuard
			stop := make(chan struct{})
			load := normalLoad(t, c, tc.url, stop)
			var mu sync.Mutex
			var ended []time.Duration
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					pr, pw := io.Pipe()
					defer pw.Close()
					req, _ := http.NewRequest(http.MethodPost, tc.url, pr)
					req.ContentLength = 1000
					go pw.Write([]byte("{")) // then nothing more
					began := time.Now()
					resp, err := c.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.Proto != "HTTP/2.0" || resp.StatusCode != http.StatusRequestTimeout {
							t.Errorf("stalled stream answered %s %d", resp.Proto, resp.StatusCode)
						}
					}
					if err != nil && errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("stalled stream not ended: %v", err)
						return
					}
					mu.Lock()
					ended = append(ended, time.Since(began))
					mu.Unlock()
				})
			}
			wg.Wait()
			close(stop)
			took := <-load
			t.Logf("limit %v; normal requests: %s; stalled streams ended after: %s", limit, stats(took), stats(ended))
		})
	}
}

// TestLongResponseOutlivesBodyLimit: a streamed answer, as
// SubscribeToShard's, goes on long past the body's limit on every
// transport, and its request's context stays alive.
func TestLongResponseOutlivesBodyLimit(t *testing.T) {
	const limit = 300 * time.Millisecond
	const events = 15 // 100ms apart: five times the limit
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil { // as the wire adapter reads
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		for i := range events {
			select {
			case <-r.Context().Done():
				return // the client sees too few events
			case <-time.After(100 * time.Millisecond):
			}
			fmt.Fprintf(w, "event %d\n", i)
			rc.Flush()
		}
	})
	for _, disable := range []bool{false, true} {
		s := start(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: testCert(t), ReadHeaderTimeout: limit, ReadBodyTimeout: limit,
			ReadBodyMinRate: -1, Streaming: subscribeStreams, DisableFastPath: disable}, stream)
		for _, tc := range []struct {
			name string
			set  func(*http.Protocols)
			url  string
		}{
			{"HTTP/1.1", http1, "http://" + s.Addr().String() + "/"},
			{"h2c", h2c, "http://" + s.Addr().String() + "/"},
			{"TLS h2", h2, "https://" + s.TLSAddr().String() + "/"},
			{"TLS HTTP/1.1", http1, "https://" + s.TLSAddr().String() + "/"},
		} {
			t.Run(fmt.Sprintf("%s/DisableFastPath=%v", tc.name, disable), func(t *testing.T) {
				// Each its own: a Transport adds "h2" to the one it is given.
				c := client(t, tc.set, &tls.Config{InsecureSkipVerify: true})
				c.Timeout = slowGuard
				req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader(`{"ConsumerARN":"a","ShardId":"s"}`))
				req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				n := 0
				for sc.Scan() {
					n++
				}
				if n != events {
					t.Errorf("%d of %d events, then %v", n, events, sc.Err())
				}
			})
		}
	}
}

// TestLengthWithTransferEncoding: a request with both is refused with 400
// and the connection closed.
func TestLengthWithTransferEncoding(t *testing.T) {
	s := start(t, Config{}, readAllHandler)
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n",
		"GET /health HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		c := dialRaw(t, s.Addr().String())
		c.send(req)
		resp, body := c.read()
		if resp.StatusCode != http.StatusBadRequest || !resp.Close {
			t.Errorf("%q: %d close=%v %q", req, resp.StatusCode, resp.Close, body)
		}
		c.nc.SetReadDeadline(time.Now().Add(slowGuard))
		if _, err := c.br.ReadByte(); err != io.EOF {
			t.Errorf("%q: connection not closed: %v", req, err)
		}
	}
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestConnectionCap: with a cap of N, connections beyond N are refused
// and one warning says so; a closed connection frees its slot.
func TestConnectionCap(t *testing.T) {
	const max = 3
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprintf("DisableFastPath=%v", disable), func(t *testing.T) {
			var logs syncBuffer
			srv, err := New(Config{Addr: "127.0.0.1:0", MaxConnections: max, DisableFastPath: disable}, readAllHandler,
				slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			})
			addr := srv.Addr().String()
			var open []*rawConn
			for range max {
				c := dialRaw(t, addr)
				c.send(post("{}"))
				if resp, _ := c.read(); resp.StatusCode != http.StatusOK {
					t.Fatalf("connection within the cap: %d", resp.StatusCode)
				}
				open = append(open, c)
			}
			for range 2 {
				// The reset may already fail the dial or the write.
				if b, err := tryRequest(addr); err == nil || isTimeout(err) {
					t.Fatalf("connection over the cap served: %q %v", b, err)
				}
			}
			if n := strings.Count(logs.String(), "connection limit reached"); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
			}
			// A slot comes back when a connection closes.
			open[0].nc.Close()
			deadline := time.Now().Add(slowGuard)
			for {
				if b, err := tryRequest(addr); err == nil && strings.HasPrefix(b, "HTTP/1.1 200") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("slot not given back")
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("log: %s", strings.TrimSpace(logs.String()))
		})
	}
}

func testCert(t *testing.T) *tls.Certificate {
	t.Helper()
	cert, _, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &cert
}

// tryRequest sends one request on a new connection and returns what the
// server first sends back, or the dial, write or read error.
func tryRequest(addr string) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, slowGuard)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(slowGuard))
	if _, err := io.WriteString(nc, post("{}")); err != nil {
		return "", err
	}
	b := make([]byte, 12)
	n, err := io.ReadFull(nc, b)
	return string(b[:n]), err
}
