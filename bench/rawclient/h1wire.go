package rawclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/rivulet/rivulet/internal/transport/httpsyntax"
)

// The response side of h1Transport: http.ReadResponse's parse of a head
// and framing of its body, rule for rule, without textproto's per-header
// strings. A head's status line, names and values are cut from one string
// (names canonicalised in place first) and its values share one slice, so
// a response costs a handful of allocations whatever its headers. The
// differential test and FuzzReadResponse hold it to http.ReadResponse.

// maxHeadBytes bounds the heads of one answer, informational ones
// included. net/http's Transport allows 10 MB; a Kinesis head is a few
// hundred bytes.
const maxHeadBytes = 1 << 20

var (
	errHeadTooLong = errors.New("rawclient: response headers exceed 1 MiB")
	errTrailerEOF  = errors.New("http: unexpected EOF reading trailer")
)

// readResponse reads the answer to req from br as http.ReadResponse
// does, skipping informational (1xx) answers but 101 as net/http's
// Transport does. scratch is a buffer kept for the next call. The body
// returned is resp.Body.
func readResponse(br *bufio.Reader, req *http.Request, scratch *[]byte) (*http.Response, *h1Body, error) {
	budget := maxHeadBytes
	for {
		resp, body, err := readOne(br, req, scratch, &budget)
		if err != nil {
			return nil, nil, err
		}
		if c := resp.StatusCode; c >= 100 && c <= 199 && c != http.StatusSwitchingProtocols {
			continue // no body to skip: bodies are not allowed
		}
		return resp, body, nil
	}
}

// readOne reads one response head and frames its body.
func readOne(br *bufio.Reader, req *http.Request, scratch *[]byte, budget *int) (*http.Response, *h1Body, error) {
	b, err := appendLine(br, (*scratch)[:0], budget)
	if err != nil {
		*scratch = b
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	// The status line is checked before the headers are read, as
	// ReadResponse does: a peer that sends garbage is not waited for.
	protoEnd := bytes.IndexByte(b, ' ')
	if protoEnd < 0 {
		*scratch = b
		return nil, nil, fmt.Errorf("malformed HTTP response %q", b)
	}
	statusAt := protoEnd + 1
	for statusAt < len(b) && b[statusAt] == ' ' {
		statusAt++
	}
	code := b[statusAt:]
	if i := bytes.IndexByte(code, ' '); i >= 0 {
		code = code[:i]
	}
	if len(code) != 3 {
		*scratch = b
		return nil, nil, fmt.Errorf("malformed HTTP status code %q", code)
	}
	status, err := strconv.Atoi(string(code))
	if err != nil || status < 0 {
		*scratch = b
		return nil, nil, fmt.Errorf("malformed HTTP status code %q", code)
	}
	major, minor, ok := http.ParseHTTPVersion(string(b[:protoEnd]))
	if !ok {
		*scratch = b
		return nil, nil, fmt.Errorf("malformed HTTP version %q", b[:protoEnd])
	}
	lineEnd := len(b)
	b = append(b, '\n')
	b, n, err := appendHeader(br, b, budget)
	*scratch = b[:0]
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	head := string(b)
	a := new(h1Answer) // the response and its body in one allocation
	resp, body := &a.resp, &a.body
	*resp = http.Response{
		Status:     head[statusAt:lineEnd],
		StatusCode: status,
		Proto:      head[:protoEnd],
		ProtoMajor: major,
		ProtoMinor: minor,
		Header:     parseHeader(head[lineEnd+1:], n),
		Request:    req,
	}
	if err := frame(br, resp, body); err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

type h1Answer struct {
	resp http.Response
	body h1Body
}

// frame applies ReadResponse's transfer rules to resp's head (which it
// edits as ReadResponse does) and sets up its body.
func frame(br *bufio.Reader, resp *http.Response, body *h1Body) error {
	h := resp.Header
	// Pragma: no-cache counts as Cache-Control: no-cache (RFC 7234 5.4).
	if hp, ok := h["Pragma"]; ok && len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	method := "GET"
	if resp.Request != nil {
		method = resp.Request.Method
	}
	status := resp.StatusCode
	major, minor := resp.ProtoMajor, resp.ProtoMinor
	resp.Close = shouldClose(major, minor, h)
	if major == 0 && minor == 0 {
		major, minor = 1, 1
	}

	// Only a single "chunked" is accepted, and ignored before HTTP/1.1.
	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		delete(h, "Transfer-Encoding")
		if major > 1 || major == 1 && minor >= 1 {
			if len(te) != 1 {
				return fmt.Errorf("too many transfer encodings: %q", te)
			}
			if !asciiEqualFold(te[0], "chunked") {
				return fmt.Errorf("unsupported transfer encoding: %q", te[0])
			}
			chunked = true
		}
	}

	// Repeated Content-Lengths must agree; they are kept once.
	cl := h["Content-Length"]
	if len(cl) > 1 {
		first := textproto.TrimString(cl[0])
		for _, v := range cl[1:] {
			if textproto.TrimString(v) != first {
				return fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", cl)
			}
		}
		cl = []string{first}
		h["Content-Length"] = cl
	}
	var n int64
	if len(cl) > 0 {
		var err error
		if n, err = parseContentLength(cl[0]); err != nil {
			return err
		}
	}
	length := int64(-1) // until the connection closes
	switch {
	case method == http.MethodHead, status/100 == 1, status == 204, status == 304:
		length = 0
	case chunked:
		delete(h, "Content-Length")
	case len(cl) > 0:
		length = n
	default:
		delete(h, "Content-Length")
	}
	resp.ContentLength = length
	if method == http.MethodHead {
		resp.ContentLength = -1
		if len(cl) > 0 {
			resp.ContentLength = n
		}
	}

	// A declared trailer of a chunked body.
	if vv, ok := h["Trailer"]; ok && chunked {
		delete(h, "Trailer")
		tr := http.Header{}
		for _, v := range vv {
			for key := range strings.SplitSeq(v, ",") {
				if key = textproto.TrimString(key); key == "" {
					continue
				}
				key = http.CanonicalHeaderKey(key)
				switch key {
				case "Transfer-Encoding", "Trailer", "Content-Length":
					return fmt.Errorf("bad trailer key %q", key)
				}
				tr[key] = nil
			}
		}
		if len(tr) > 0 {
			resp.Trailer = tr
		}
	}

	allowed := status/100 != 1 && status != 204 && status != 304
	if length == -1 && !chunked && allowed {
		resp.Close = true // the body ends with the connection
	}
	*body = h1Body{br: br, resp: resp, keep: !resp.Close && status != http.StatusSwitchingProtocols}
	switch {
	case chunked:
		resp.TransferEncoding = []string{"chunked"}
		if method == http.MethodHead || !allowed {
			body.eof = true
		} else {
			body.mode, body.chunks = bodyChunked, httputil.NewChunkedReader(br)
		}
	case length == 0:
		body.eof = true
	case length > 0:
		body.mode, body.n = bodyLength, length
	case resp.Close:
		body.mode = bodyToEOF
	default:
		body.eof = true
	}
	resp.Body = body
	return nil
}

// shouldClose reports whether the connection ends after the response,
// and drops a Connection: close header of HTTP/1.1, as net/http does.
func shouldClose(major, minor int, h http.Header) bool {
	if major < 1 {
		return true
	}
	conn := h["Connection"]
	hasClose := containsToken(conn, "close")
	if major == 1 && minor == 0 {
		return hasClose || !containsToken(conn, "keep-alive")
	}
	if hasClose {
		delete(h, "Connection")
	}
	return hasClose
}

// containsToken reports whether one of the comma-separated elements of
// vs is tok, ignoring ASCII case.
func containsToken(vs []string, tok string) bool {
	for _, v := range vs {
		for len(v) > 0 {
			e := v
			if i := strings.IndexByte(v, ','); i >= 0 {
				e, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			if asciiEqualFold(strings.Trim(e, " \t"), tok) {
				return true
			}
		}
	}
	return false
}

func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// parseContentLength reads a response's length as ReadResponse does,
// with its errors.
func parseContentLength(v string) (int64, error) {
	v = textproto.TrimString(v)
	if v == "" {
		return 0, fmt.Errorf("invalid empty Content-Length %q", v)
	}
	n, ok := httpsyntax.ParseContentLength(v)
	if !ok {
		return 0, fmt.Errorf("bad Content-Length %q", v)
	}
	return n, nil
}

// appendLine appends br's next line, without its line end, to b, as
// textproto reads a line.
func appendLine(br *bufio.Reader, b []byte, budget *int) ([]byte, error) {
	for {
		l, more, err := br.ReadLine()
		if err != nil {
			return b, err
		}
		if *budget -= len(l) + 2; *budget < 0 {
			return b, errHeadTooLong
		}
		b = append(b, l...)
		if !more {
			return b, nil
		}
	}
}

// appendHeader appends br's header lines up to the blank one to b, each
// as textproto takes it (trimmed, continuation lines joined with one
// space, checked, its name canonicalised) and ended by '\n'. It returns
// how many there were.
func appendHeader(br *bufio.Reader, b []byte, budget *int) ([]byte, int, error) {
	if p, err := br.Peek(1); err == nil && (p[0] == ' ' || p[0] == '\t') {
		start := len(b)
		b, _ = appendLine(br, b, budget)
		line := b[start:]
		if len(line) > 80 {
			line = line[:80]
		}
		return b, 0, textproto.ProtocolError(fmt.Sprintf("malformed MIME header initial line: %q", line))
	}
	n := 0
	for {
		start := len(b)
		var err error
		if b, err = appendLine(br, b, budget); err != nil {
			return b, n, err
		}
		if len(b) == start {
			return b, n, nil
		}
		if bytes.IndexByte(b[start:], ':') < 0 {
			return b, n, textproto.ProtocolError(fmt.Sprintf("malformed MIME header: missing colon: %q", b[start:]))
		}
		b = trimFrom(b, start)
		for skipSpace(br) > 0 {
			b = append(b, ' ')
			at := len(b)
			if b, err = appendLine(br, b, budget); err != nil {
				b = b[:at] // the error comes again with the next line
				break
			}
			b = trimFrom(b, at)
		}
		if !checkField(b[start:]) {
			return b, n, textproto.ProtocolError(fmt.Sprintf("malformed MIME header line: %q", b[start:]))
		}
		b = append(b, '\n')
		n++
	}
}

// trimFrom trims spaces and tabs around b[at:], in place.
func trimFrom(b []byte, at int) []byte {
	s := b[at:]
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return b[:at+copy(s, s[i:j])]
}

func skipSpace(br *bufio.Reader) int {
	n := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return n
		}
		if c != ' ' && c != '\t' {
			_ = br.UnreadByte()
			return n
		}
		n++
	}
}

// checkField checks a "name: value" line as textproto does and
// canonicalises the name in place (a name with spaces, which textproto
// accepts, stays as it is).
func checkField(kv []byte) bool {
	i := bytes.IndexByte(kv, ':')
	if i <= 0 {
		return false
	}
	if !httpsyntax.ValidFieldValue(kv[i+1:]) {
		return false
	}
	k := kv[:i]
	spaced := false
	for _, c := range k {
		if c == ' ' {
			spaced = true
		} else if !httpsyntax.IsTokenByte(c) {
			return false
		}
	}
	if spaced {
		return true
	}
	upper := true
	for j, c := range k {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k[j] = c
		upper = c == '-'
	}
	return true
}

// parseHeader turns n lines of appendHeader into a Header whose names and
// values are cut from s, the values of single-valued names from one
// slice, as textproto shares one.
func parseHeader(s string, n int) http.Header {
	h := make(http.Header, n)
	vals := make([]string, n)
	for i := 0; len(s) > 0; i++ {
		line := s
		if j := strings.IndexByte(s, '\n'); j >= 0 {
			line, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimLeft(v, " \t")
		if vv := h[k]; vv != nil {
			h[k] = append(vv, v)
		} else {
			vals[i] = v
			h[k] = vals[i : i+1 : i+1]
		}
	}
	return h
}

const (
	bodyNone = iota
	bodyLength
	bodyChunked
	bodyToEOF
)

// h1Body reads a response body as its head framed it. In a transport it
// gives the connection back once read to its end and closed; a body
// closed early takes its connection with it (it is not drained).
type h1Body struct {
	br     *bufio.Reader
	resp   *http.Response // gets the trailer
	mode   uint8
	n      int64     // left of a Content-Length body
	chunks io.Reader // decodes a chunked body
	err    error     // the first read error, returned again
	eof    bool
	closed bool
	keep   bool // the connection may serve another request

	t  *h1Transport // nil outside a transport
	pc *h1Conn
}

func (b *h1Body) Read(p []byte) (int, error) {
	switch {
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	case b.eof:
		return 0, io.EOF
	case b.err != nil:
		return 0, b.err
	}
	var n int
	var err error
	switch b.mode {
	case bodyLength:
		if int64(len(p)) > b.n {
			p = p[:b.n]
		}
		n, err = b.br.Read(p)
		b.n -= int64(n)
		if b.n == 0 {
			// The end with the last bytes, as net/http, so that the
			// caller need not read again to find it.
			b.eof = true
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case bodyChunked:
		n, err = b.chunks.Read(p)
		if err == io.EOF {
			if terr := b.readTrailer(); terr != nil {
				err = terr
			} else {
				b.eof = true
			}
		}
	default:
		n, err = b.br.Read(p)
		if err == io.EOF {
			b.eof = true
		}
	}
	if err != nil && !b.eof {
		b.err = err
	}
	return n, err
}

// readTrailer reads what follows a chunked body's last chunk, as net/http
// does: most often a bare CRLF, else header lines that must end within
// the read buffer.
func (b *h1Body) readTrailer() error {
	p, err := b.br.Peek(2)
	if len(p) == 2 && p[0] == '\r' && p[1] == '\n' {
		_, _ = b.br.Discard(2)
		return nil
	}
	if len(p) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	if !crlfCRLFAhead(b.br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	budget := maxHeadBytes
	hb, n, err := appendHeader(b.br, nil, &budget)
	if err != nil {
		if err == io.EOF {
			return errTrailerEOF
		}
		return err
	}
	hdr := parseHeader(string(hb), n)
	if b.resp.Trailer == nil {
		b.resp.Trailer = hdr
	} else {
		maps.Copy(b.resp.Trailer, hdr)
	}
	return nil
}

// crlfCRLFAhead reports whether "\r\n\r\n" comes within br's buffer size,
// reading no further than its end.
func crlfCRLFAhead(br *bufio.Reader) bool {
	for {
		p, _ := br.Peek(br.Buffered())
		if bytes.Contains(p, []byte("\r\n\r\n")) {
			return true
		}
		if _, err := br.Peek(len(p) + 1); err != nil {
			return false
		}
	}
}

func (b *h1Body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.pc != nil {
		b.t.release(b)
	}
	return nil
}
