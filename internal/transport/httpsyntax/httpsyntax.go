// Package httpsyntax holds the HTTP/1.1 grammar that the server's and the
// load generator's hand-written HTTP code both check and write: tokens,
// such as header names (RFC 9110, section 5.6.2), field values, hosts,
// Content-Length, and header blocks written the way net/http writes them.
// Each function matches net/http's own rule, so that the hand-written
// paths and net/http agree byte for byte.
package httpsyntax

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
)

// IsTokenByte reports whether c may appear in a token (a tchar).
func IsTokenByte(c byte) bool { return tokenBytes[c] }

var tokenBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// IsToken reports whether s is a non-empty token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenBytes[s[i]] {
			return false
		}
	}
	return true
}

// ValidFieldValue reports whether v has no control bytes but tabs, as
// textproto requires of a header value. It looks at eight bytes at a
// time, as long values (x-amz-id-2, Access-Control-Expose-Headers) come
// with every request or answer.
func ValidFieldValue[T ~string | ~[]byte](v T) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		w := uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16 | uint64(v[3])<<24 |
			uint64(v[4])<<32 | uint64(v[5])<<40 | uint64(v[6])<<48 | uint64(v[7])<<56
		below := (w - ' '*ones) &^ w & highs // some byte < 0x20
		x := w ^ 0x7f*ones
		del := (x - ones) &^ x & highs // some byte is 0x7f
		if below|del != 0 {
			break // the bytes decide (a tab is fine)
		}
		v = v[8:]
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// ContainsCTL reports whether s has a control byte, tab included, which
// net/http refuses in a request target.
func ContainsCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// IsPlainHost reports whether s is a host[:port] of the forms clients
// send: names, IPv4 and bracketed IPv6 addresses, in ASCII. Anything else
// (IDNA names, IPv6 zones, odd bytes) is net/http's to check or rewrite.
func IsPlainHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_':
		default:
			return false
		}
	}
	return true
}

// ParseContentLength parses a Content-Length value already trimmed of
// white space: decimal digits only, at most 1<<63-1, which is what
// net/http accepts (strconv.ParseUint(v, 10, 63)), without its error
// allocation.
func ParseContentLength(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	const maxLength = 1<<63 - 1
	var n uint64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (maxLength-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return int64(n), true
}

// WriteFields writes h's fields as http.Header.Write does: sorted by
// name, one line per value, a name that is not a token dropped (net/http
// drops it too). skip, if not nil, drops the names it reports, as
// net/http leaves out those it writes itself.
func WriteFields(bw *bufio.Writer, h http.Header, skip func(name string) bool) {
	var stack [16]string // most heads fit: no allocation for the keys
	keys := stack[:0]
	for k, vs := range h {
		if len(vs) > 0 && IsToken(k) && (skip == nil || !skip(k)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			WriteFieldValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
}

// WriteFieldValue writes v as http.Header.Write does: line breaks turned
// into spaces, outer ASCII white space (textproto.TrimString's) trimmed.
func WriteFieldValue(bw *bufio.Writer, v string) {
	for len(v) > 0 && isASCIISpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isASCIISpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	for {
		i := 0
		for i < len(v) && v[i] != '\r' && v[i] != '\n' {
			i++
		}
		bw.WriteString(v[:i])
		if i == len(v) {
			return
		}
		bw.WriteByte(' ')
		v = v[i+1:]
	}
}

func isASCIISpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
