package httpsyntax

import (
	"net/textproto"
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
