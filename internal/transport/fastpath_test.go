package transport

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// answer is what a client reads, less what differs by clock.
type answer struct {
	status int
	proto  string
	close  bool
	header http.Header
	body   string
}

// TestFastPathSwitch sends the same requests with the fast path on and
// off: the answers are the same, and only with it on does a unary POST
// reach the handler through the fast path.
func TestFastPathSwitch(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Writer", fmt.Sprintf("%T", w))
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s %d %q %q", r.Method, r.URL.Path, r.Proto, r.ContentLength, r.TransferEncoding, b)
	})
	raw := map[string]string{
		"unary POST":   post(`{"a":1}`, "X-Amz-Target: Kinesis_20131202.PutRecord\r\n"),
		"chunked POST": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n",
		"GET /health":  "GET /health HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	run := func(disable bool) (map[string]answer, map[string]string) {
		s := start(t, Config{DisableFastPath: disable}, h)
		if (s.fast == nil) != disable {
			t.Fatalf("DisableFastPath %v: fast path running %v", disable, s.fast != nil)
		}
		answers, writers := map[string]answer{}, map[string]string{}
		keep := func(name string, resp *http.Response, body string) {
			writers[name] = resp.Header.Get("X-Writer")
			resp.Header.Del("X-Writer")
			resp.Header.Del("Date")
			answers[name] = answer{resp.StatusCode, resp.Proto, resp.Close, resp.Header, body}
		}
		for name, req := range raw {
			resp, body := rawOnce(t, s.Addr().String(), req)
			keep(name, resp, body)
		}
		resp, body := get(t, client(t, h2c, nil), http.MethodPost, "http://"+s.Addr().String()+"/")
		keep("h2c prior knowledge", resp, body)
		return answers, writers
	}
	on, onWriters := run(false)
	off, offWriters := run(true)
	for name, want := range off {
		got := on[name]
		if got.status != want.status || got.proto != want.proto || got.close != want.close || got.body != want.body ||
			!maps.EqualFunc(got.header, want.header, slices.Equal) {
			t.Errorf("%s:\nfast path on  %+v\nfast path off %+v", name, got, want)
		}
		if strings.Contains(offWriters[name], "h1Response") {
			t.Errorf("%s: served by %s with the fast path off", name, offWriters[name])
		}
	}
	if len(on) != len(off) || on["unary POST"].status != 200 || on["h2c prior knowledge"].proto != "HTTP/2.0" {
		t.Errorf("answers: %+v", on)
	}
	if onWriters["unary POST"] != fastWriter || offWriters["unary POST"] != netWriter {
		t.Errorf("unary POST served by %q with the fast path on, %q with it off", onWriters["unary POST"], offWriters["unary POST"])
	}
}

// TestH1StreamingGoesToNetHTTP: a request Config.Streaming claims is
// handed to net/http whole, which sends what the handler flushes while
// the handler still runs; the fast path would hold it to the end.
func TestH1StreamingGoesToNetHTTP(t *testing.T) {
	var asked atomic.Int32
	streams := func(h http.Header) bool {
		asked.Add(1)
		return subscribeStreams(h)
	}
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Writer", fmt.Sprintf("%T", w))
		fmt.Fprintf(w, "first %s|", b)
		if !subscribeStreams(r.Header) {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "last")
	})
	s := start(t, Config{Streaming: streams}, h)
	t.Cleanup(free) // before the server's Shutdown, should the test fail
	c := dialRaw(t, s.Addr().String())

	c.send(post("{}", "X-Amz-Target: Kinesis_20131202.PutRecord\r\n"))
	if resp, body := c.read(); resp.Header.Get("X-Writer") != fastWriter || body != "first {}|" {
		t.Fatalf("unary request: %s %q", resp.Header.Get("X-Writer"), body)
	}

	// On the same connection: the head and body reach net/http unread.
	c.send(post(`{"ShardId":"s"}`, "X-Amz-Target: Kinesis_20131202.SubscribeToShard\r\n"))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if w := resp.Header.Get("X-Writer"); w != netWriter {
		t.Errorf("stream served by %s", w)
	}
	want := `first {"ShardId":"s"}|`
	first := make([]byte, len(want))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != want {
		t.Fatalf("flushed part: %q %v", first, err)
	}
	free()
	if rest, err := io.ReadAll(resp.Body); err != nil || string(rest) != "last" {
		t.Errorf("rest: %q %v", rest, err)
	}
	// Once per head the fast path parsed; net/http has the rest.
	if n := asked.Load(); n != 2 {
		t.Errorf("Streaming asked %d times, want 2", n)
	}
}
