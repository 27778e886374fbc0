// Package httpsyntax holds the HTTP/1.1 grammar that the server's and the
// load generator's hand-written HTTP code both check: tokens, such as
// header names (RFC 9110, section 5.6.2).
package httpsyntax

import "strings"

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
