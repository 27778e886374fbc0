package wire

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kinesis"
)

// checkID2 fails unless v is standard base64 of 64 to 80 bytes.
func checkID2(t *testing.T, v string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) < 64 || len(raw) > 80 {
		t.Errorf("x-amz-id-2 %q: %d bytes, %v", v, len(raw), err)
	}
}

func TestAmzID2Shape(t *testing.T) {
	seen := map[string]bool{}
	lengths := map[int]bool{}
	for range 2000 {
		v := AmzID2()
		checkID2(t, v)
		if seen[v] {
			t.Fatalf("repeated %q", v)
		}
		seen[v] = true
		raw, _ := base64.StdEncoding.DecodeString(v)
		lengths[len(raw)] = true
	}
	// The length is drawn from the whole range, as AWS's vary.
	for n := 64; n <= 80; n++ {
		if !lengths[n] {
			t.Errorf("no value of %d bytes in 2000", n)
		}
	}
	hdr := http.Header{}
	id := StampResponse(hdr)
	if !uuidRE.MatchString(id) || hdr[headerRequestID][0] != id || len(hdr[headerRequestID]) != 1 {
		t.Fatalf("request id %q, header %v", id, hdr)
	}
	checkID2(t, hdr[HeaderID2][0])
	// Appending to one header's values must not touch the other's.
	hdr[headerRequestID] = append(hdr[headerRequestID], "x")
	checkID2(t, hdr[HeaderID2][0])
}

// TestEveryAnswerHasIDs covers each kind of answer the adapter gives:
// success, operation error, unknown operation in every content type,
// protocol errors, CORS preflight, an oversized body and an event stream.
func TestEveryAnswerHasIDs(t *testing.T) {
	h, _, _ := testHandler(t)
	h.ops["SubscribeToShard"] = kinesis.Op("SubscribeToShard",
		func(context.Context, *api.ListStreamsInput) (*streamOutput, error) { return &streamOutput{}, nil })
	small := New(fakeOps(&recorder{}), Options{MaxBodyBytes: 4, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hdr := func(target, ct string, extra ...string) map[string]string {
		m := signed(target, ct)
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		headers map[string]string
		body    string
		status  int
	}{
		{"success", h, "POST", hdr(listStreams, ContentTypeJSON), "{}", 200},
		{"success cbor", h, "POST", hdr(listStreams, ContentTypeCBOR), "\xa0", 200},
		{"operation error", h, "POST", hdr(TargetPrefix+".DeleteStream", ContentTypeJSON), `{"StreamName":"missing"}`, 400},
		{"internal failure", h, "POST", hdr(TargetPrefix+".DeleteStream", ContentTypeJSON), `{"StreamName":"boom"}`, 500},
		{"unknown json", h, "POST", hdr(TargetPrefix+".Whatever", ContentTypeJSON), "{}", 400},
		{"unknown cbor", h, "POST", hdr(TargetPrefix+".Whatever", ContentTypeCBOR), "\xa0", 400},
		{"unknown plain json", h, "POST", hdr(TargetPrefix+".Whatever", "application/json"), "{}", 404},
		{"unknown no type", h, "POST", hdr(TargetPrefix+".Whatever", ""), "{}", 404},
		{"unknown no type empty", h, "POST", hdr(TargetPrefix+".Whatever", ""), "", 400},
		{"GET", h, "GET", nil, "", 403},
		{"serialization", h, "POST", hdr(listStreams, ContentTypeJSON), "nope", 400},
		{"preflight", h, "OPTIONS", hdr(listStreams, ContentTypeJSON, "Origin", "http://x"), "", 200},
		{"too large", small, "POST", hdr(listStreams, ContentTypeJSON), "{}    ", 413},
		{"event stream", h, "POST", hdr(TargetPrefix+".SubscribeToShard", ContentTypeJSON), "{}", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r := serve(t, tc.h, tc.method, "/", tc.headers, body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d", r.status, tc.status)
			}
			if !uuidRE.MatchString(r.get(headerRequestID)) {
				t.Errorf("x-amzn-RequestId %q", r.get(headerRequestID))
			}
			checkID2(t, r.get(HeaderID2))
		})
	}
}

// benchWriter is a ResponseWriter that keeps nothing but a reused header
// map, so the benchmark counts the handler's own work.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(int)             {}

// BenchmarkServePutRecord serves a small PutRecord through the whole
// adapter, response headers included.
func BenchmarkServePutRecord(b *testing.B) {
	h := New(fakeOps(&recorder{}), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := []byte(`{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"k"}`)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	for k, v := range signed(TargetPrefix+".PutRecord", ContentTypeJSON) {
		req.Header.Set(k, v)
	}
	rd := bytes.NewReader(body)
	req.Body = io.NopCloser(rd)
	req.ContentLength = int64(len(body))
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkStampResponse sets both ids; "uuid-only" is what the adapter
// did before x-amz-id-2, for comparison.
func BenchmarkStampResponse(b *testing.B) {
	hdr := http.Header{}
	b.Run("both", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			StampResponse(hdr)
		}
	})
	b.Run("uuid-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hdr[headerRequestID] = []string{uuid.NewString()}
		}
	})
}
