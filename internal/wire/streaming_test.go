package wire

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/transport"
)

// flushedStream writes a first event, flushes it, and ends when release
// closes or the client goes.
type flushedStream struct{ release <-chan struct{} }

func (s flushedStream) Respond(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "first|")
	w.(http.Flusher).Flush()
	select {
	case <-s.release:
	case <-r.Context().Done():
	}
	io.WriteString(w, "last")
}

func streamingOps(release <-chan struct{}) map[string]kinesis.Operation {
	sub := kinesis.Op("SubscribeToShard", func(context.Context, *api.ListStreamsInput) (*flushedStream, error) {
		return &flushedStream{release: release}, nil
	})
	sub.Streaming = true
	put := kinesis.Op("PutRecord", func(context.Context, *api.PutRecordInput) (*api.PutRecordOutput, error) {
		return &api.PutRecordOutput{}, nil
	})
	return map[string]kinesis.Operation{sub.Name: sub, put.Name: put}
}

func TestStreaming(t *testing.T) {
	h := New(streamingOps(nil), Options{})
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{TargetPrefix + ".SubscribeToShard", true},
		{TargetPrefix + ".SubscribeToShard.extra", true}, // ServeHTTP runs it too
		{TargetPrefix + ".PutRecord", false},
		{TargetPrefix + ".Unknown", false},
		{"Other_20131202.SubscribeToShard", false}, // answered as unknown
		{"SubscribeToShard", false},
		{"", false},
	} {
		hdr := http.Header{}
		if tc.target != "" {
			hdr.Set("X-Amz-Target", tc.target)
		}
		if got := h.Streaming(hdr); got != tc.want {
			t.Errorf("Streaming(%q) = %v", tc.target, got)
		}
	}
}

// TestStreamingThroughTransport: with Handler.Streaming as the
// transport's Streaming, an event stream on the plain port's HTTP/1.1
// fast path arrives as it is flushed, not when the operation ends.
func TestStreamingThroughTransport(t *testing.T) {
	// Only a hang reaches this bound; a slow, stalling machine does not.
	const hangTimeout = time.Minute
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	h := New(streamingOps(release), Options{Logger: slog.New(slog.DiscardHandler)})
	srv, err := transport.New(transport.Config{Addr: "127.0.0.1:0", Streaming: h.Streaming}, h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		srv.Shutdown(ctx)
	})
	t.Cleanup(free)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: hangTimeout}

	req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr().String()+"/", bytes.NewReader([]byte("{}")))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed(TargetPrefix+".SubscribeToShard", ContentTypeJSON) {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first|"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first|" {
		t.Fatalf("%d: first event %q %v", resp.StatusCode, first, err)
	}
	free()
	if rest, err := io.ReadAll(resp.Body); err != nil || string(rest) != "last" {
		t.Errorf("rest %q %v", rest, err)
	}
}
