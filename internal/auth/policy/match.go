package policy

import (
	"strings"
	"unicode/utf8"
)

// glob reports whether s matches pattern, where '*' matches any run of
// characters (including '/' and ':') and '?' exactly one character.
// Backtracking only to the last '*' keeps it O(len(pattern)*len(s)) at
// worst, so no input can make it exponential.
func glob(pattern, s string) bool { return match(pattern, s, false) }

// globFold is glob for a lower-case pattern against s in any case. It
// folds ASCII only; callers pass non-ASCII input through strings.ToLower
// first, so this is just the allocation-free path for action names.
func globFold(pattern, s string) bool { return match(pattern, s, true) }

// match is glob, comparing ASCII letters of s folded to lower case when
// fold is set.
func match(pattern, s string, fold bool) bool {
	px, sx := 0, 0
	nextPx, nextSx := 0, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '?':
				if sx < len(s) {
					_, w := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += w
					continue
				}
			case '*':
				// Try an empty match first; on failure restart here with
				// one more character swallowed.
				nextPx = px
				nextSx = sx + 1
				if sx < len(s) {
					_, w := utf8.DecodeRuneInString(s[sx:])
					nextSx = sx + w
				}
				px++
				continue
			default:
				if sx < len(s) && (s[sx] == c || fold && lowerASCII(s[sx]) == c) {
					px++
					sx++
					continue
				}
			}
		}
		if 0 < nextSx && nextSx <= len(s) {
			px = nextPx
			sx = nextSx
			continue
		}
		return false
	}
	return true
}

// hasWildcard reports whether a pattern needs glob at all; most policy
// values are literal and a plain compare is cheaper.
func hasWildcard(s string) bool {
	return strings.ContainsAny(s, "*?")
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func globOrEqual(pattern, s string) bool {
	if !hasWildcard(pattern) {
		return pattern == s
	}
	return glob(pattern, s)
}

// arnLike implements ArnEquals/ArnLike: each of the six colon-separated
// parts is matched on its own, so a '*' in the region cannot swallow the
// account (AWS's documented difference from StringLike). The last part,
// the resource, may itself contain colons. A pattern with fewer parts
// leaves its last part to match the rest of the value, which lets "*"
// or "arn:aws:kinesis:*" match whole ARNs.
func arnLike(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	n := strings.Count(pattern, ":") + 1
	if n > 6 {
		n = 6
	}
	for i := 0; i < n; i++ {
		var p, v string
		if i == n-1 {
			p, v = pattern, value
		} else {
			pi := strings.IndexByte(pattern, ':')
			vi := strings.IndexByte(value, ':')
			if vi < 0 {
				return false
			}
			p, pattern = pattern[:pi], pattern[pi+1:]
			v, value = value[:vi], value[vi+1:]
		}
		if !globOrEqual(p, v) {
			return false
		}
	}
	return true
}

// arnParts splits an ARN into partition, service, region, account and
// resource; ok is false for anything that is not arn:...:...:...:...:...
func arnParts(arn string) (partition, service, region, account, resource string, ok bool) {
	// No SplitN: this runs on every Evaluate and must not allocate.
	rest, found := strings.CutPrefix(arn, "arn:")
	if !found {
		return "", "", "", "", "", false
	}
	var parts [4]string
	for i := range parts {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return "", "", "", "", "", false
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	return parts[0], parts[1], parts[2], parts[3], rest, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
