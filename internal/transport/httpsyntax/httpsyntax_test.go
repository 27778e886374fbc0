package httpsyntax

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

func TestIsToken(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"Content-Type", true}, {"x-amz-target", true}, {"!#$%&'*+-.^_`|~09azAZ", true},
		{"", false}, {"A B", false}, {"A:B", false}, {"A\tB", false}, {"(x)", false}, {"é", false}, {"a\x7f", false},
	} {
		if got := IsToken(tc.s); got != tc.want {
			t.Errorf("IsToken(%q) = %v", tc.s, got)
		}
	}
	// Every byte agrees with textproto, which keeps a name with a
	// non-token byte as it is and canonicalises a token.
	for c := range 256 {
		s := "a" + string(rune(c)) + "b"
		if c >= 0x80 {
			s = "a" + string([]byte{byte(c)}) + "b"
		}
		canon := textproto.CanonicalMIMEHeaderKey(s) != s
		if IsTokenByte(byte(c)) != canon {
			t.Errorf("byte %#x: token %v, textproto canonicalises %v", c, IsTokenByte(byte(c)), canon)
		}
	}
}

// validFieldValueRef is the rule byte by byte.
func validFieldValueRef(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func TestValidFieldValue(t *testing.T) {
	// Every byte, in the eight-at-a-time part and in the tail.
	for c := range 256 {
		for _, at := range []int{0, 3, 7, 8, 13, 16} {
			v := []byte(strings.Repeat("v", 17))
			v[at] = byte(c)
			want := c >= ' ' && c != 0x7f || c == '\t'
			if got := ValidFieldValue(v); got != want {
				t.Errorf("[]byte: byte %#x at %d: %v", c, at, got)
			}
			if got := ValidFieldValue(string(v)); got != want {
				t.Errorf("string: byte %#x at %d: %v", c, at, got)
			}
		}
	}
	for _, v := range []string{"", "\t", "a\tb c", strings.Repeat("\x80", 9), "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\x20", strings.Repeat("\x7e", 8) + "\x7f"} {
		if got := ValidFieldValue(v); got != validFieldValueRef(v) {
			t.Errorf("%q: %v", v, got)
		}
	}
}

func TestContainsCTL(t *testing.T) {
	for c := range 256 {
		s := "/a" + string([]byte{byte(c)}) + "b"
		if got, want := ContainsCTL(s), c < ' ' || c == 0x7f; got != want {
			t.Errorf("byte %#x: %v", c, got)
		}
	}
	if ContainsCTL("") {
		t.Error("empty string has a CTL")
	}
}

func TestIsPlainHost(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"localhost", true}, {"127.0.0.1:4567", true}, {"[::1]:80", true}, {"my_host.example-1.com", true},
		{"", false}, {"bücher.example", false}, {"[fe80::1%eth0]", false}, {"a b", false}, {"h/x", false}, {"h\x00", false},
	} {
		if got := IsPlainHost(tc.s); got != tc.want {
			t.Errorf("IsPlainHost(%q) = %v", tc.s, got)
		}
	}
}

// checkContentLength holds ParseContentLength to strconv, whose rule
// net/http applies.
func checkContentLength(t *testing.T, v string) {
	t.Helper()
	n, ok := ParseContentLength(v)
	want, err := strconv.ParseUint(v, 10, 63)
	if ok != (err == nil) || ok && n != int64(want) || !ok && n != 0 {
		t.Fatalf("ParseContentLength(%q) = %d, %v; strconv %d, %v", v, n, ok, want, err)
	}
}

var lengthSeeds = []string{
	"", "0", "00", "7", "1024", "+1", "-1", "-0", " 1", "1 ", "1_000", "0x10", "1e3", "١",
	"9223372036854775807", "9223372036854775808", "09223372036854775807", "18446744073709551615",
	"18446744073709551616", "99999999999999999999", strings.Repeat("0", 40) + "1",
}

func TestParseContentLength(t *testing.T) {
	for _, v := range lengthSeeds {
		checkContentLength(t, v)
	}
	for n := range 200 {
		checkContentLength(t, fmt.Sprint(n))
	}
	if n, ok := ParseContentLength("9223372036854775807"); !ok || n != 1<<63-1 {
		t.Errorf("largest: %d %v", n, ok)
	}
}

func FuzzParseContentLength(f *testing.F) {
	for _, v := range lengthSeeds {
		f.Add(v)
	}
	f.Fuzz(checkContentLength)
}

// netHTTPFields is what http.Header.WriteSubset writes.
func netHTTPFields(t *testing.T, h http.Header, exclude map[string]bool) string {
	t.Helper()
	var b bytes.Buffer
	if err := h.WriteSubset(&b, exclude); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func writeFields(h http.Header, skip func(string) bool) string {
	var b bytes.Buffer
	bw := bufio.NewWriterSize(&b, 16) // small, so that writes span flushes
	WriteFields(bw, h, skip)
	bw.Flush()
	return b.String()
}

func TestWriteFields(t *testing.T) {
	many := http.Header{}
	for i := range 40 {
		many[fmt.Sprintf("X-H%02d", 40-i)] = []string{fmt.Sprint(i)}
	}
	for _, h := range []http.Header{
		{},
		{"Content-Type": {"application/x-amz-json-1.1"}, "x-amzn-RequestId": {"id"}, "Date": {"d"}},
		{"A": {"  padded\t", "two\r\nlines", "\r\n", "", "\va\f", "\u00a0nbsp\u00a0", "\u2028"}},
		{"Bad Name": {"dropped"}, "": {"x"}, "Nil": nil, "Empty": {}, "X:Y": {"z"}},
		many,
	} {
		if got, want := writeFields(h, nil), netHTTPFields(t, h, nil); got != want {
			t.Errorf("%q:\n got %q\nwant %q", h, got, want)
		}
	}
	h := http.Header{"Host": {"h"}, "User-Agent": {"u"}, "X-A": {"a"}, "Content-Length": {"1"}}
	exclude := map[string]bool{"Host": true, "User-Agent": true, "Content-Length": true}
	if got, want := writeFields(h, func(k string) bool { return exclude[k] }), netHTTPFields(t, h, exclude); got != want {
		t.Errorf("with skip:\n got %q\nwant %q", got, want)
	}
}

// FuzzFieldValue holds WriteFieldValue to http.Header.Write and
// ValidFieldValue to the byte-by-byte rule.
func FuzzFieldValue(f *testing.F) {
	for _, v := range []string{"", "plain", " \t padded \r\n", "a\r\nb\nc\rd", "\va\f", "\u00a0x\u00a0", "\x00\x7f\x80", strings.Repeat("v", 9) + "\x01"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"K": {v}}
		if got, want := writeFields(h, nil), netHTTPFields(t, h, nil); got != want {
			t.Fatalf("%q: wrote %q, net/http %q", v, got, want)
		}
		if got, want := ValidFieldValue(v), validFieldValueRef(v); got != want {
			t.Fatalf("ValidFieldValue(%q) = %v", v, got)
		}
		if got, want := ValidFieldValue([]byte(v)), validFieldValueRef(v); got != want {
			t.Fatalf("ValidFieldValue([]byte(%q)) = %v", v, got)
		}
	})
}
