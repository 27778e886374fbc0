package wire

import "encoding/binary"

// validJSON reports whether b is one well-formed JSON value, exactly as
// json.Valid does (the differential fuzz test holds it to that), including
// its nesting limit and its acceptance of invalid UTF-8 inside strings.
// json.Valid's byte-at-a-time state machine was a third of the CPU of a
// PutRecords of 500 × 1 KiB; this one skips string contents (mostly
// base64) eight bytes at a time.
func validJSON(b []byte) bool {
	// containers[i] is '{' or '['; afterKey tracks where an object member's
	// value is due. The slice grows only with nesting.
	var stack [64]byte
	containers := stack[:0]
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(containers) >= maxJSONDepth {
				return false
			}
			containers = append(containers, c)
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				containers = containers[:len(containers)-1]
				i++
				break
			}
			if c == '{' {
				if i = memberKey(b, i); i < 0 {
					return false
				}
			}
			continue
		case '"':
			if i = stringEndValid(b, i); i < 0 {
				return false
			}
		case 't':
			if i = literal(b, i, "true"); i < 0 {
				return false
			}
		case 'f':
			if i = literal(b, i, "false"); i < 0 {
				return false
			}
		case 'n':
			if i = literal(b, i, "null"); i < 0 {
				return false
			}
		default:
			if i = numberEnd(b, i); i < 0 {
				return false
			}
		}
		// A value ended just before b[i]: close containers, or find the next
		// value.
		for {
			i = skipSpace(b, i)
			if len(containers) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := containers[len(containers)-1]
			if b[i] == top+2 {
				containers = containers[:len(containers)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
			if top == '{' {
				if i = memberKey(b, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// memberKey checks `"key" :` at b[i] and returns where the value starts, or -1.
func memberKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = stringEndValid(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberEnd checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func numberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain reports whether none of the 8 bytes of w is a quote, a backslash
// or a control character: the bytes a string's scan must stop at.
func plain(w uint64) bool {
	control := (w - 0x20*lsb) &^ w
	quote := w ^ '"'*lsb
	backslash := w ^ '\\'*lsb
	return (control|(quote-lsb)&^quote|(backslash-lsb)&^backslash)&msb == 0
}

// stringEndValid checks the string starting at b[i] == '"' and returns the
// index just past it, or -1.
func stringEndValid(b []byte, i int) int {
	i++
	for {
		for len(b)-i >= 8 && plain(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// plainASCII reports whether b has no backslash and no byte above 0x7f,
// eight bytes at a time: then a JSON string's text is its value.
func plainASCII(b []byte) bool {
	for ; len(b) >= 8; b = b[8:] {
		w := binary.LittleEndian.Uint64(b)
		backslash := w ^ '\\'*lsb
		if (w|(backslash-lsb)&^backslash)&msb != 0 {
			return false
		}
	}
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}
