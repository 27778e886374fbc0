package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// builder writes a canonical request and then its string to sign into
// one buffer, reused across requests.
type builder struct {
	buf   []byte
	pairs []queryPair
}

type queryPair struct{ k, v string }

var builders = sync.Pool{New: func() any { return &builder{buf: make([]byte, 0, 1024)} }}

func getBuilder() *builder { return builders.Get().(*builder) }

func putBuilder(b *builder) {
	if cap(b.buf) > 64<<10 {
		return // an outsized request's buffer is not worth keeping
	}
	b.buf = b.buf[:0]
	clear(b.pairs)
	b.pairs = b.pairs[:0]
	builders.Put(b)
}

// canonicalRequest writes METHOD\nPATH\nQUERY\nHEADERS\n\nSIGNED\nHASH as
// the server sees r.
func (b *builder) canonicalRequest(r *http.Request, body []byte, sig *Signature) {
	b.buf = append(b.buf, r.Method...)
	b.buf = append(b.buf, '\n')
	b.path(r)
	b.buf = append(b.buf, '\n')
	b.query(r.URL.RawQuery, sig.Presigned)
	b.buf = append(b.buf, '\n')

	for rest := sig.SignedHeaders; ; {
		name, more, found := strings.Cut(rest, ";")
		b.header(r, name)
		if !found {
			break
		}
		rest = more
	}
	b.buf = append(b.buf, '\n')
	for i := 0; i < len(sig.SignedHeaders); i++ {
		b.buf = append(b.buf, lower(sig.SignedHeaders[i]))
	}
	b.buf = append(b.buf, '\n')
	sum := sha256.Sum256(body)
	b.buf = hex.AppendEncode(b.buf, sum[:])
}

// stringToSign appends ALGORITHM\nDATE\nSCOPE\nhex(canonical request's
// hash).
func (b *builder) stringToSign(date string, s Scope, canonicalHash *[sha256.Size]byte) {
	b.buf = append(b.buf, Algorithm+"\n"...)
	b.buf = append(b.buf, date...)
	b.buf = append(b.buf, '\n')
	b.buf = append(b.buf, s.Date...)
	b.buf = append(b.buf, '/')
	b.buf = append(b.buf, s.Region...)
	b.buf = append(b.buf, '/')
	b.buf = append(b.buf, s.Service...)
	b.buf = append(b.buf, '/')
	b.buf = append(b.buf, s.Terminator...)
	b.buf = append(b.buf, '\n')
	b.buf = hex.AppendEncode(b.buf, canonicalHash[:])
}

// path appends the request path with dot segments and repeated slashes
// removed, then URI-encoded (again: the path as sent is already encoded
// once), as AWS does for every service but S3.
func (b *builder) path(r *http.Request) {
	p := r.URL.EscapedPath()
	if p == "/" || p == "" {
		b.buf = append(b.buf, '/')
		return
	}
	appendEscaped(&b.buf, normalizePath(p), true)
}

// normalizePath removes "." and ".." segments and empty ones, keeping a
// leading and a trailing slash.
func normalizePath(p string) string {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	out := strings.Join(segs, "/")
	if strings.HasPrefix(p, "/") {
		out = "/" + out
	}
	if len(segs) > 0 && strings.HasSuffix(p, "/") {
		out += "/"
	}
	return out
}

// query appends the query string's pairs, decoded and encoded again the
// RFC 3986 way, sorted after encoding; a presigned request's own
// signature is left out.
func (b *builder) query(raw string, presigned bool) {
	if raw == "" {
		return
	}
	for _, piece := range strings.Split(raw, "&") {
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		k, v = unescape(k), unescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		var ek, ev []byte
		appendEscaped(&ek, k, false)
		appendEscaped(&ev, v, false)
		b.pairs = append(b.pairs, queryPair{string(ek), string(ev)})
	}
	slices.SortFunc(b.pairs, func(x, y queryPair) int {
		if c := strings.Compare(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	for i, p := range b.pairs {
		if i > 0 {
			b.buf = append(b.buf, '&')
		}
		b.buf = append(b.buf, p.k...)
		b.buf = append(b.buf, '=')
		b.buf = append(b.buf, p.v...)
	}
}

// unescape decodes a query component ('+' is a space); one that does not
// decode is kept as sent.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// header appends "name:value\n" for one signed header. The host comes
// from r.Host (":authority" over HTTP/2, where there is no Host header)
// and content-length from r.ContentLength, since net/http takes both out
// of the header it hands over.
func (b *builder) header(r *http.Request, name string) {
	start := len(b.buf)
	for i := 0; i < len(name); i++ {
		b.buf = append(b.buf, lower(name[i]))
	}
	// Comparisons and map lookups of string(lname) do not allocate.
	lname := b.buf[start:]
	switch {
	case string(lname) == "host" || string(lname) == ":authority":
		b.buf = append(b.buf, ':')
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		b.value(host)
	case string(lname) == "content-length" && r.ContentLength >= 0:
		b.buf = append(b.buf, ':')
		b.buf = strconv.AppendInt(b.buf, r.ContentLength, 10)
	default:
		key := canonicalKey(lname) // before the buffer grows again
		b.buf = append(b.buf, ':')
		for i, v := range r.Header[key] {
			if i > 0 {
				b.buf = append(b.buf, ',')
			}
			b.value(v)
		}
	}
	b.buf = append(b.buf, '\n')
}

// value appends a header value trimmed, with runs of spaces made one.
func (b *builder) value(v string) {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.buf = append(b.buf, c)
	}
}

// Common signed headers, so most requests canonicalize no names.
var commonKeys = map[string]string{
	"content-type":          "Content-Type",
	"x-amz-date":            "X-Amz-Date",
	"x-amz-target":          "X-Amz-Target",
	"x-amz-security-token":  "X-Amz-Security-Token",
	"x-amz-user-agent":      "X-Amz-User-Agent",
	"x-amz-content-sha256":  "X-Amz-Content-Sha256",
	"amz-sdk-invocation-id": "Amz-Sdk-Invocation-Id",
	"amz-sdk-request":       "Amz-Sdk-Request",
	"accept-encoding":       "Accept-Encoding",
	"content-encoding":      "Content-Encoding",
	"content-length":        "Content-Length",
	"accept":                "Accept",
}

func canonicalKey(lname []byte) string {
	if k, ok := commonKeys[string(lname)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(lname))
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

const upperHex = "0123456789ABCDEF"

// appendEscaped percent-encodes every byte but the RFC 3986 unreserved
// ones (and '/' in a path), with upper-case hex.
func appendEscaped(dst *[]byte, s string, path bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || path && c == '/' {
			*dst = append(*dst, c)
			continue
		}
		*dst = append(*dst, '%', upperHex[c>>4], upperHex[c&15])
	}
}
