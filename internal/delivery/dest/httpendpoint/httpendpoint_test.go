package httpendpoint

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/s1"
	testID  = "4bd1f0b6-9f6e-4a3c-8a35-0b43b4a1f3e2"
)

var fixedNow = time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

// got is what the endpoint saw of one request.
type got struct {
	method, path string
	header       http.Header
	body         []byte // decoded from gzip when Content-Encoding says so
	rawLen       int
}

// endpoint records requests and answers with answer.
func endpoint(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, id string)) (*httptest.Server, chan got) {
	t.Helper()
	seen := make(chan got, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		body := raw
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Errorf("gzip: %v", err)
			} else if body, err = io.ReadAll(zr); err != nil {
				t.Errorf("gunzip: %v", err)
			}
		}
		seen <- got{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: body, rawLen: len(raw)}
		answer(w, r, r.Header.Get(HeaderRequestID))
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func replyOK(w http.ResponseWriter, _ *http.Request, id string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"requestId":%q,"timestamp":%d}`, id, time.Now().UnixMilli())
}

func newSink(t *testing.T, cfg Config) *Sink {
	t.Helper()
	if cfg.SourceARN == "" {
		cfg.SourceARN = testARN
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var records = [][]byte{[]byte(`{"a":1}`), {0, 1, 2, 0xff, '\n'}, []byte("plain text\n")}

// checkRequest asserts every header and the body of a protocol request.
func checkRequest(t *testing.T, g got, wantHeaders map[string]string) {
	t.Helper()
	if g.method != http.MethodPost {
		t.Errorf("method %s, want POST", g.method)
	}
	for k, v := range wantHeaders {
		if got := g.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// Nothing else of ours, and no header Firehose does not send.
	var names []string
	for k := range g.header {
		names = append(names, k)
	}
	sort.Strings(names)
	allowed := map[string]bool{"Content-Length": true, "User-Agent": true}
	for _, k := range names {
		if _, ok := wantHeaders[k]; !ok && !allowed[k] {
			t.Errorf("unexpected header %s: %q", k, g.header.Get(k))
		}
	}
	if cl := g.header.Get("Content-Length"); cl != strconv.Itoa(g.rawLen) {
		t.Errorf("Content-Length %q, body %d bytes", cl, g.rawLen)
	}

	var body struct {
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
		Records   []struct {
			Data string `json:"data"`
		} `json:"records"`
	}
	dec := json.NewDecoder(bytes.NewReader(g.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body %q: %v", g.body, err)
	}
	if body.RequestID != testID {
		t.Errorf("requestId %q, want %q", body.RequestID, testID)
	}
	if body.Timestamp != fixedNow.UnixMilli() {
		t.Errorf("timestamp %d, want %d", body.Timestamp, fixedNow.UnixMilli())
	}
	if len(body.Records) != len(records) {
		t.Fatalf("%d records, want %d", len(body.Records), len(records))
	}
	for i, r := range body.Records {
		d, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(d, records[i]) {
			t.Errorf("record %d = %q, want %q", i, d, records[i])
		}
	}
}

func TestSendAllHeadersAndBody(t *testing.T) {
	srv, seen := endpoint(t, replyOK)
	s := newSink(t, Config{
		URL:              srv.URL + "/ingest/v1?token=x&y=%2F",
		Name:             "test endpoint",
		AccessKey:        `{"api_key":"secret value"}`,
		CommonAttributes: map[string]string{"env": "test", "team": "a \"quoted\" one"},
	})
	if err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	g := <-seen
	if g.path != "/ingest/v1?token=x&y=%2F" {
		t.Errorf("path %q: the URL must be sent as configured", g.path)
	}
	checkRequest(t, g, map[string]string{
		"Content-Type":                     "application/json",
		"X-Amz-Firehose-Protocol-Version":  "1.0",
		"X-Amz-Firehose-Request-Id":        testID,
		"X-Amz-Firehose-Source-Arn":        testARN,
		"X-Amz-Firehose-Access-Key":        `{"api_key":"secret value"}`,
		"X-Amz-Firehose-Common-Attributes": `{"commonAttributes":{"env":"test","team":"a \"quoted\" one"}}`,
	})
	var attrs struct {
		CommonAttributes map[string]string `json:"commonAttributes"`
	}
	if err := json.Unmarshal([]byte(g.header.Get(HeaderCommonAttributes)), &attrs); err != nil ||
		!reflect.DeepEqual(attrs.CommonAttributes, map[string]string{"env": "test", "team": `a "quoted" one`}) {
		t.Errorf("common attributes %+v (%v)", attrs, err)
	}
	// A retry of the same batch carries the same request ID.
	if err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records}); err != nil {
		t.Fatalf("Send again: %v", err)
	}
	if g := <-seen; g.header.Get(HeaderRequestID) != testID {
		t.Errorf("retry request id %q", g.header.Get(HeaderRequestID))
	}
}

func TestSendOmitsUnsetOptionalHeaders(t *testing.T) {
	srv, seen := endpoint(t, replyOK)
	s := newSink(t, Config{URL: srv.URL, ContentEncoding: "NONE"})
	if err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkRequest(t, <-seen, map[string]string{
		"Content-Type":                    "application/json",
		"X-Amz-Firehose-Protocol-Version": "1.0",
		"X-Amz-Firehose-Request-Id":       testID,
		"X-Amz-Firehose-Source-Arn":       testARN,
	})
}

func TestSendGzip(t *testing.T) {
	srv, seen := endpoint(t, replyOK)
	s := newSink(t, Config{URL: srv.URL, ContentEncoding: "GZIP", AccessKey: "k"})
	if err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	g := <-seen
	checkRequest(t, g, map[string]string{
		"Content-Type":                    "application/json",
		"Content-Encoding":                "gzip",
		"X-Amz-Firehose-Protocol-Version": "1.0",
		"X-Amz-Firehose-Request-Id":       testID,
		"X-Amz-Firehose-Source-Arn":       testARN,
		"X-Amz-Firehose-Access-Key":       "k",
	})
	if g.rawLen == len(g.body) {
		t.Error("body was not compressed")
	}
}

func TestSendEmptyBatchSendsNothing(t *testing.T) {
	srv, seen := endpoint(t, replyOK)
	s := newSink(t, Config{URL: srv.URL})
	if err := s.Send(t.Context(), dest.Batch{ID: testID}); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-seen:
		t.Fatalf("sent %+v", g)
	default:
	}
}

func TestSendTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replyOK(w, r, r.Header.Get(HeaderRequestID))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL, HTTPClient: srv.Client()})
	if err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records}); err != nil {
		t.Fatalf("Send over TLS: %v", err)
	}
	// The default client does not trust the test CA.
	untrusting := newSink(t, Config{URL: srv.URL})
	err := untrusting.Send(t.Context(), dest.Batch{ID: testID, Records: records})
	wantFailure(t, err, CodeSSLHandshakeFailure, false, "")
}

func wantFailure(t *testing.T, err error, code string, permanent bool, inMessage string) {
	t.Helper()
	var f *dest.Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want *dest.Failure", err, err)
	}
	if f.Code != code {
		t.Errorf("code %q, want %q (message %q)", f.Code, code, f.Message)
	}
	if errors.Is(err, dest.ErrPermanent) != permanent {
		t.Errorf("permanent = %v, want %v", !permanent, permanent)
	}
	if !strings.Contains(f.Message, inMessage) {
		t.Errorf("message %q lacks %q", f.Message, inMessage)
	}
}

func TestSendFailures(t *testing.T) {
	jsonReply := func(status int, body string) func(http.ResponseWriter, *http.Request, string) {
		return func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, strings.ReplaceAll(body, "ID", id))
		}
	}
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name      string
		answer    func(http.ResponseWriter, *http.Request, string)
		code      string
		permanent bool
		inMessage string
	}{
		{"413 is permanent", jsonReply(413, `{"requestId":"ID","timestamp":1,"errorMessage":"Payload too large"}`),
			CodeDestinationException, true, "413: "},
		{"500 with errorMessage", jsonReply(500, `{"requestId":"ID","timestamp":1,"errorMessage":"disk on fire"}`),
			CodeDestinationException, false, "disk on fire"},
		{"503 with errorMessage after a long body", jsonReply(503, `{"pad":"`+long+`","errorMessage":"try later"}`),
			CodeDestinationException, false, "errorMessage: try later"},
		{"429 plain text", func(w http.ResponseWriter, _ *http.Request, _ string) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, CodeDestinationException, false, "429: slow down"},
		{"400", jsonReply(400, `{"requestId":"ID","timestamp":1,"errorMessage":"bad key"}`),
			CodeDestinationException, false, "bad key"},
		{"202 is not 200", jsonReply(202, `{"requestId":"ID","timestamp":1}`), CodeDestinationException, false, "202"},
		{"wrong requestId", jsonReply(200, `{"requestId":"other","timestamp":1}`), CodeInvalidResponse, false, "does not match"},
		{"malformed JSON", jsonReply(200, `{"requestId":"ID",`), CodeInvalidResponse, false, "not valid JSON"},
		{"empty body", jsonReply(200, ``), CodeInvalidResponse, false, "not valid JSON"},
		{"null requestId", jsonReply(200, `{"requestId": null,"timestamp":1}`), CodeInvalidResponse, false, "missing requestId"},
		{"missing timestamp", jsonReply(200, `{"requestId":"ID"}`), CodeInvalidResponse, false, "missing timestamp"},
		{"string timestamp", jsonReply(200, `{"requestId":"ID","timestamp":"1"}`), CodeInvalidResponse, false, "timestamp"},
		{"unexpected field", jsonReply(200, `{"requestId":"ID","timestamp":1,"ok":true}`), CodeInvalidResponse, false, "unexpected fields"},
		{"trailing data", jsonReply(200, `{"requestId":"ID","timestamp":1} {}`), CodeInvalidResponse, false, "after the JSON"},
		{"wrong content type", func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, `{"requestId":%q,"timestamp":1}`, id)
		}, CodeInvalidResponse, false, "application/json"},
		{"content-encoded response", func(w http.ResponseWriter, _ *http.Request, id string) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			fmt.Fprintf(zw, `{"requestId":%q,"timestamp":1}`, id)
			zw.Close()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(buf.Bytes())
		}, CodeInvalidResponse, false, "content-encoded"},
		{"body over 1 MiB", func(w http.ResponseWriter, _ *http.Request, id string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"requestId":%q,"timestamp":1,"errorMessage":"%s"}`, id, strings.Repeat("y", MaxResponseBytes))
		}, CodeResponseTooLarge, false, "too large"},
		{"connection reset", func(w http.ResponseWriter, _ *http.Request, _ string) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, CodeConnectionReset, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := endpoint(t, tt.answer)
			s := newSink(t, Config{URL: srv.URL})
			err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records})
			wantFailure(t, err, tt.code, tt.permanent, tt.inMessage)
			if len(seen) != 1 {
				t.Errorf("%d requests, want 1", len(seen))
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	target, _ := endpoint(t, func(w http.ResponseWriter, r *http.Request, id string) {
		followed.Add(1)
		replyOK(w, r, id)
	})
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv, _ := endpoint(t, func(w http.ResponseWriter, r *http.Request, _ string) {
			http.Redirect(w, r, target.URL, status)
		})
		// Neither the default client nor one that would follow redirects.
		for _, client := range []*http.Client{nil, {}} {
			s := newSink(t, Config{URL: srv.URL, HTTPClient: client})
			err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records})
			wantFailure(t, err, CodeDestinationException, false, strconv.Itoa(status))
		}
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("redirect followed %d times", n)
	}
}

func TestConnectionFailed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newSink(t, Config{URL: "http://" + addr + "/"})
	err = s.Send(t.Context(), dest.Batch{ID: testID, Records: records})
	wantFailure(t, err, CodeConnectionFailed, false, "")
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := endpoint(t, func(w http.ResponseWriter, r *http.Request, id string) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	s := newSink(t, Config{URL: srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	err := s.Send(t.Context(), dest.Batch{ID: testID, Records: records})
	wantFailure(t, err, CodeRequestTimeout, false, "")
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no scheme", Config{URL: "example.com/x"}, "scheme"},
		{"ftp", Config{URL: "ftp://example.com/"}, "scheme"},
		{"no host", Config{URL: "https:///x"}, "no host"},
		{"unparsable", Config{URL: "https://exa mple.com:x/"}, "URL"},
		{"encoding", Config{URL: "https://e.com/", ContentEncoding: "BROTLI"}, "ContentEncoding"},
		{"long key", Config{URL: "https://e.com/", AccessKey: strings.Repeat("k", MaxAccessKeyBytes+1)}, "AccessKey"},
		{"newline in key", Config{URL: "https://e.com/", AccessKey: "a\r\nX-Evil: 1"}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error about %s", err, tt.want)
			}
		})
	}
	for _, enc := range []string{"", "NONE", "GZIP", "gzip"} {
		if _, err := New(Config{URL: "http://127.0.0.1:1/", ContentEncoding: enc}); err != nil {
			t.Errorf("ContentEncoding %q: %v", enc, err)
		}
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse("application/json; charset=utf-8", "", []byte(` {"timestamp": 1598556019164, "requestId": "abc", "errorMessage": "e"} `))
	if err != nil {
		t.Fatal(err)
	}
	if r != (Response{RequestID: "abc", Timestamp: 1598556019164, ErrorMessage: "e"}) {
		t.Fatalf("%+v", r)
	}
}

func FuzzResponse(f *testing.F) {
	f.Add("application/json", "", []byte(`{"requestId":"id","timestamp":1}`), "id", 200)
	f.Add("application/json", "", []byte(`{"requestId":"id","timestamp":1.5e3,"errorMessage":"x"}`), "id", 500)
	f.Add("text/plain", "gzip", []byte(`{"requestId":null}`), "id", 200)
	f.Add("application/json", "", []byte(`{"requestId":"id","timestamp":1}{`), "id", 413)
	f.Fuzz(func(t *testing.T, contentType, contentEncoding string, body []byte, id string, status int) {
		r, perr := ParseResponse(contentType, contentEncoding, body)
		err := judge(id, status, contentType, contentEncoding, body)
		if err == nil {
			if status != 200 || perr != nil || r.RequestID != id {
				t.Fatalf("success for status %d, parse error %v, requestId %q vs %q", status, perr, r.RequestID, id)
			}
			return
		}
		var fl *dest.Failure
		if !errors.As(err, &fl) || fl.Code == "" {
			t.Fatalf("judge returned %v", err)
		}
		if errors.Is(err, dest.ErrPermanent) != (status == http.StatusRequestEntityTooLarge) {
			t.Fatalf("status %d: permanent %v", status, errors.Is(err, dest.ErrPermanent))
		}
	})
}
