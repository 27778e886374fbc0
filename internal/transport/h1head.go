package transport

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/rivulet/rivulet/internal/transport/httpsyntax"
)

// reqHead is a request head h1Server serves itself.
type reqHead struct {
	header        http.Header // without Host, as net/http gives it
	host          string
	contentLength int64
	close         bool // Connection: close
	size          int  // bytes of the head, blank line included
}

// headEnd finds the end of the request head in buf: n is the length up to
// and including the blank line, 0 if buf holds no complete head yet; crlf
// reports whether every line ended in CRLF.
func headEnd(buf []byte) (n int, crlf bool) {
	crlf = true
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return 0, crlf
		}
		i += j
		if i == 0 || buf[i-1] != '\r' {
			crlf = false
		}
		i++
		switch {
		case i < len(buf) && buf[i] == '\n':
			return i + 1, false
		case i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n':
			return i + 2, crlf
		case i+1 >= len(buf):
			return 0, crlf // the next line has not arrived
		}
	}
}

const fastRequestLine = "POST / HTTP/1.1\r\n"

// parseHead parses a complete head whose lines all end in CRLF. ok is
// false for anything but the one shape served on the fast path (a POST of
// "/" over HTTP/1.1 with at most a Content-Length body) and for anything
// net/http would refuse or treat specially: those requests are net/http's.
// Whether the request streams is for Config.Streaming to say.
func parseHead(b []byte) (h reqHead, ok bool) {
	if !bytes.HasPrefix(b, []byte(fastRequestLine)) {
		return h, false
	}
	s := string(b[len(fastRequestLine) : len(b)-2]) // the header lines, each ending in CRLF
	lines := strings.Count(s, "\r\n")
	h.header = make(http.Header, lines)
	vals := make([]string, lines)
	hasHost, hasLength := false, false
	for i := 0; s != ""; i++ {
		line, rest, _ := strings.Cut(s, "\r\n")
		s = rest
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !httpsyntax.IsToken(line[:colon]) {
			return h, false // also a folded line, which starts with white space
		}
		value := trimOWS(line[colon+1:])
		if !httpsyntax.ValidFieldValue(value) {
			return h, false
		}
		key := http.CanonicalHeaderKey(line[:colon])
		switch key {
		case "Host":
			if hasHost || !httpsyntax.IsPlainHost(value) {
				return h, false
			}
			hasHost, h.host = true, value
			continue
		case "Content-Length":
			// Past 15 digits (a petabyte) net/http answers, as it always
			// has: no body the handler takes comes near.
			n, good := httpsyntax.ParseContentLength(value)
			if hasLength || !good || len(value) > 15 {
				return h, false
			}
			hasLength, h.contentLength = true, n
		case "Transfer-Encoding", "Expect", "Upgrade", "Trailer", "Te":
			return h, false
		case "Connection":
			for _, tok := range strings.Split(value, ",") {
				switch strings.ToLower(trimOWS(tok)) {
				case "close":
					h.close = true
				case "upgrade":
					return h, false
				}
			}
		}
		vals[i] = value
		if old := h.header[key]; old != nil {
			h.header[key] = append(old, value)
		} else {
			h.header[key] = vals[i : i+1 : i+1]
		}
	}
	if !hasHost {
		return h, false
	}
	return h, true
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// lengthConflict reports whether an HTTP/1.1 head (lines ending in CRLF)
// has both Content-Length and Transfer-Encoding. net/http drops the
// length and reads the body as chunked; a proxy in front may have used
// the length, so the two would disagree on where the next request starts.
func lengthConflict(b []byte) bool {
	line, rest, _ := bytes.Cut(b, []byte("\r\n"))
	if !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return false // HTTP/1.0 ignores Transfer-Encoding
	}
	hasLength, hasTE := false, false
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			hasLength = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			hasTE = true
		}
	}
	return hasLength && hasTE
}
