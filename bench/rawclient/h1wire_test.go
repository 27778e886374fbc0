package rawclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// answer is what a parsed response tells its reader.
type answer struct {
	Status           string
	StatusCode       int
	Proto            string
	ProtoMajor       int
	ProtoMinor       int
	Header           http.Header
	Trailer          http.Header
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Body             string
	BodyErr          bool
	Rest             string // what the reader holds after the body
}

// readWith parses in with read on a reader of size bytes and reads the
// body and the rest of the input.
func readWith(in string, size int, read func(*bufio.Reader) (*http.Response, error)) (*answer, error) {
	br := bufio.NewReaderSize(strings.NewReader(in), size)
	resp, err := read(br)
	if err != nil {
		return nil, err
	}
	a := &answer{
		Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		Header: resp.Header, ContentLength: resp.ContentLength, TransferEncoding: resp.TransferEncoding, Close: resp.Close,
	}
	body, err := io.ReadAll(resp.Body)
	a.Body, a.BodyErr = string(body), err != nil
	resp.Body.Close()
	a.Trailer = resp.Trailer
	if !a.BodyErr {
		rest, _ := io.ReadAll(br)
		a.Rest = string(rest)
	}
	return a, nil
}

// netHTTP is http.ReadResponse with informational answers skipped, as
// the Transport skips them.
func netHTTP(req *http.Request) func(*bufio.Reader) (*http.Response, error) {
	return func(br *bufio.Reader) (*http.Response, error) {
		for {
			resp, err := http.ReadResponse(br, req)
			if err != nil || resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == 101 {
				return resp, err
			}
		}
	}
}

func ours(req *http.Request) func(*bufio.Reader) (*http.Response, error) {
	return func(br *bufio.Reader) (*http.Response, error) {
		var scratch []byte
		resp, _, err := readResponse(br, req, &scratch)
		return resp, err
	}
}

// compareResponse parses in with both parsers and reports how they
// differ; both failing is agreement.
func compareResponse(in, method string, size int) (string, bool) {
	req := &http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: "h", Path: "/"}}
	want, werr := readWith(in, size, netHTTP(req))
	got, gerr := readWith(in, size, ours(req))
	switch {
	case werr != nil && gerr != nil:
		return "", false
	case werr != nil || gerr != nil:
		return fmt.Sprintf("net/http error %v, ours %v", werr, gerr), true
	case !reflect.DeepEqual(got, want):
		return fmt.Sprintf("\n ours     %+v\n net/http %+v", got, want), true
	}
	return "", true
}

const nodeHead = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 0f9b2c3e\r\nDate: Tue, 01 Dec 2026 12:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"

var goodResponses = []string{
	string(putRecordAnswer),
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT",
	"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	nodeHead + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nNEXT",
	nodeHead + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	nodeHead + "Content-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 99\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, x-other\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Late: 2\r\n\r\nNEXT",
	"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: ResourceNotFoundException\r\nContent-Length: 13\r\n\r\n{\"message\":1}",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n\r\nuntil the end",
	"HTTP/1.1 200 OK\r\n\r\nno length: until the end",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokNEXT",
	"HTTP/1.0 200 OK\r\n\r\nuntil the end",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nNEXT",
	"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nNEXT",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw bytes",
	"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1   200   spaced  reason \r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 +99 odd\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/2.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length:  2 \r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nx-amzn-requestid: lower\r\nX-AMZ-ID-2: upper\r\nWeird Key: spaced\r\ncontent-length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nLong: first\r\n  second\r\n\tthird  \r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nEmpty:\r\nSpaces:    \r\nTabs:\t\tx\t\r\nObs: caf\xc3\xa9\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nCache-Control: max-age=1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok",                       // short body
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",        // cut chunk
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", // bad chunk size
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",           // no trailer end
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\n\n", // trailer without CRLFCRLF
	"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("0123456789", 10000),
	nodeHead + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat("4000\r\n"+strings.Repeat("y", 0x4000)+"\r\n", 5) + "0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v", 70000) + "\r\nContent-Length: 1\r\n\r\nx",
}

var badResponses = []string{
	"",
	"HTTP/1.1",
	"HTTP/1.1 20 OK\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 -20 OK\r\n\r\n",
	"HTTP/1.1 abc OK\r\n\r\n",
	"HTTP/x.1 200 OK\r\n\r\n",
	"HTTP/11 200 OK\r\n\r\n",
	"ICY 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\n Leading: space\r\n\r\n",
	"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
	"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad(Name): x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nCtl: a\x01b\r\n\r\n",
	"HTTP/1.1 200 OK\r\nDel: a\x7fb\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2",
}

// TestReadResponseLikeNetHTTP holds readResponse to http.ReadResponse:
// the same status, headers, framing, body, trailer and unread rest, or
// both an error.
func TestReadResponseLikeNetHTTP(t *testing.T) {
	for _, in := range goodResponses {
		for _, size := range []int{16, 4096, 64 << 10} {
			for _, method := range []string{"POST", "HEAD"} {
				if diff, ok := compareResponse(in, method, size); diff != "" || !ok {
					t.Errorf("%q (%s, buffer %d): parsed %v %s", trunc(in), method, size, ok, diff)
				}
			}
		}
	}
	for _, in := range badResponses {
		for _, size := range []int{16, 64 << 10} {
			if diff, ok := compareResponse(in, "POST", size); diff != "" || ok {
				t.Errorf("%q (buffer %d): parsed (%s)", in, size, diff)
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// Node.js (kinesalite) answers with keep-alive headers, and chunked when
// it streams; names in canonical form, Connection kept.
func TestReadResponseNode(t *testing.T) {
	in := nodeHead + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
	var scratch []byte
	resp, body, err := readResponse(bufio.NewReader(strings.NewReader(in)), nil, &scratch)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "hello" || resp.Close || !body.keep || !body.eof || resp.ContentLength != -1 {
		t.Fatalf("%q %v close %v keep %v eof %v length %d", b, err, resp.Close, body.keep, body.eof, resp.ContentLength)
	}
	if got := resp.Header.Get("X-Amzn-Requestid"); got != "0f9b2c3e" || resp.Header["Connection"][0] != "keep-alive" {
		t.Fatalf("headers %v", resp.Header)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read at the end: %v", err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err != http.ErrBodyReadAfterClose {
		t.Fatalf("read after Close: %v", err)
	}
}

// FuzzReadResponse checks that readResponse never panics, fails where
// http.ReadResponse fails, and otherwise reads what it reads. The first
// byte picks the request method and the read buffer's size.
func FuzzReadResponse(f *testing.F) {
	for _, in := range append(goodResponses, badResponses...) {
		if len(in) < 1024 { // big seeds make minimising slow
			f.Add("\x00" + in)
			f.Add("\x03" + in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		if in == "" {
			return
		}
		method := "POST"
		if in[0]&1 != 0 {
			method = "HEAD"
		}
		size := 64 << 10
		if in[0]&2 != 0 {
			size = 16
		}
		if diff, _ := compareResponse(in[1:], method, size); diff != "" {
			t.Fatalf("%q (%s, buffer %d): %s", in[1:], method, size, diff)
		}
	})
}

// writeCase builds a request (twice: writing consumes it) and maybe the
// body to send in place of its Body.
type writeCase struct {
	name string
	req  func() (*http.Request, []byte)
}

func sendShape(host string, hdr http.Header, body string, asBytes bool) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		u, err := url.Parse("http://" + host + "/")
		if err != nil {
			panic(err)
		}
		h := http.Header{"Content-Type": contentType, "X-Amz-Target": opPutRecord.target}
		for k, v := range hdr {
			h[k] = v
		}
		req := &http.Request{Method: "POST", URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, ContentLength: int64(len(body)), Host: u.Host}
		if asBytes {
			return req, []byte(body)
		}
		req.Body = io.NopCloser(strings.NewReader(body))
		return req, nil
	}
}

// TestWriteRequestLikeNetHTTP holds writeRequest to (*http.Request).Write:
// the same bytes, or both an error.
func TestWriteRequestLikeNetHTTP(t *testing.T) {
	signed := http.Header{"X-Amz-Date": {"20261201T120000Z"}, "Authorization": {"AWS4-HMAC-SHA256 Credential=x/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=a;b, Signature=00"}}
	json := `{"StreamName":"s","PartitionKey":"k","Data":"eA=="}`
	big := strings.Repeat("b", 200<<10)
	var cases []writeCase
	for _, asBytes := range []bool{false, true} {
		cases = append(cases,
			writeCase{"send", sendShape("127.0.0.1:4567", signed, json, asBytes)},
			writeCase{"session", sendShape("localhost:4567", http.Header{"X-Amz-Security-Token": {"tok/en+="}, "X-Amz-Date": {"d"}}, json, asBytes)},
			writeCase{"big", sendShape("127.0.0.1:4567", signed, big, asBytes)},
			writeCase{"odd values", sendShape("h:1", http.Header{"A": {"  padded\t", "two\r\nlines", "\r\n", ""}, "x-lower": {"v"}, "Bad Name": {"dropped"}, "": {"x"}}, json, asBytes)},
			writeCase{"excluded", sendShape("h:1", http.Header{"Host": {"other"}, "Content-Length": {"9"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}}, json, asBytes)},
			writeCase{"user agent", sendShape("h:1", http.Header{"User-Agent": {" mine\n"}}, json, asBytes)},
			writeCase{"no user agent", sendShape("h:1", http.Header{"User-Agent": {""}}, json, asBytes)},
			writeCase{"ipv6", sendShape("[::1]:4567", nil, json, asBytes)},
			writeCase{"zone", sendShape("[fe80::1%25eth0]:80", nil, json, asBytes)},
			writeCase{"unicode host", sendShape("bücher.example:80", nil, json, asBytes)},
			writeCase{"many headers", sendShape("h:1", func() http.Header {
				h := http.Header{}
				for i := range 40 {
					h[fmt.Sprintf("X-H%02d", 40-i)] = []string{fmt.Sprint(i)}
				}
				return h
			}(), json, asBytes)},
		)
	}
	with := func(name string, edit func(*http.Request)) writeCase {
		return writeCase{name, func() (*http.Request, []byte) {
			req, _ := sendShape("h:1", signed, json, false)()
			edit(req)
			return req, nil
		}}
	}
	cases = append(cases,
		with("query and path", func(r *http.Request) { r.URL.Path, r.URL.RawQuery = "/a b/c", "x=1" }),
		with("ctl in path", func(r *http.Request) { r.URL.Path = "/a\x01" }),
		with("no Host field", func(r *http.Request) { r.Host = "" }),
		with("GET", func(r *http.Request) { r.Method = "GET" }),
		with("close", func(r *http.Request) { r.Close = true }),
		with("zero length", func(r *http.Request) { r.ContentLength = 0 }),
		with("unknown length", func(r *http.Request) { r.ContentLength = -1 }),
		with("long body", func(r *http.Request) { r.ContentLength-- }),
		with("short body", func(r *http.Request) { r.ContentLength++ }),
		with("no body", func(r *http.Request) { r.Body = nil }),
		with("failing body", func(r *http.Request) { r.Body = io.NopCloser(io.MultiReader(strings.NewReader("ab"), iotestErr{})) }),
	)
	for _, tc := range cases {
		for _, size := range []int{16, 4096, 64 << 10} {
			wreq, wbody := tc.req()
			if wbody != nil {
				wreq.Body = io.NopCloser(bytes.NewReader(wbody))
			}
			var want bytes.Buffer
			wbw := bufio.NewWriterSize(&want, size)
			werr := wreq.Write(wbw)
			wbw.Flush()

			greq, gbody := tc.req()
			var got bytes.Buffer
			gbw := bufio.NewWriterSize(&got, size)
			gerr := writeRequest(gbw, greq, gbody)
			gbw.Flush()
			if (werr != nil) != (gerr != nil) {
				t.Errorf("%s (buffer %d): error %v, req.Write %v", tc.name, size, gerr, werr)
			} else if werr == nil && got.String() != want.String() {
				t.Errorf("%s (buffer %d):\n got %q\nwant %q", tc.name, size, trunc(got.String()), trunc(want.String()))
			}
		}
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("broken body") }
