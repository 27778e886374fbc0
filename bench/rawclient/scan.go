package rawclient

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one JSON document. It checks the syntax as strictly as
// encoding/json does, and it never recurses on the input (skip keeps its
// own stack), so no body can panic it or grow the goroutine stack.
type scanner struct {
	b     []byte
	i     int
	name  []byte // unescaped member names
	stack []byte // open containers while skipping
}

// syntaxError is a malformed response body.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON response at offset %d: %s", e.off, e.msg)
}

func (s *scanner) fail(msg string) error { return &syntaxError{off: s.i, msg: msg} }

func (s *scanner) reset(b []byte) {
	s.b, s.i = b, 0
}

// next skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) next() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that only whitespace follows the document.
func (s *scanner) end() error {
	if s.next() != 0 || s.i != len(s.b) {
		return s.fail("data after the JSON value")
	}
	return nil
}

// null consumes a null if one comes next.
func (s *scanner) null() (bool, error) {
	if s.next() != 'n' {
		return false, nil
	}
	if !bytes.HasPrefix(s.b[s.i:], litNull) {
		return false, s.fail("invalid literal")
	}
	s.i += len(litNull)
	return true, nil
}

var (
	litNull  = []byte("null")
	litTrue  = []byte("true")
	litFalse = []byte("false")
)

// openObject consumes '{', or a null (reported as true).
func (s *scanner) openObject() (null bool, err error) { return s.open('{', "expected an object") }

// openArray consumes '[', or a null (reported as true).
func (s *scanner) openArray() (null bool, err error) { return s.open('[', "expected an array") }

func (s *scanner) open(c byte, msg string) (null bool, err error) {
	if null, err := s.null(); null || err != nil {
		return null, err
	}
	if s.next() != c {
		return false, s.fail(msg)
	}
	s.i++
	return false, nil
}

// member reads the next member name of an open object, up to its ':'; ok
// is false at the closing '}'. The name is valid until the next call.
func (s *scanner) member(first bool) (name []byte, ok bool, err error) {
	c := s.next()
	if c == '}' {
		s.i++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, s.fail("expected ',' or '}'")
		}
		s.i++
	}
	raw, esc, err := s.str()
	if err != nil {
		return nil, false, err
	}
	if esc {
		s.name = unquote(s.name[:0], raw)
		raw = s.name
	}
	if s.next() != ':' {
		return nil, false, s.fail("expected ':'")
	}
	s.i++
	return raw, true, nil
}

// element moves to the next element of an open array; false at its ']'.
func (s *scanner) element(first bool) (bool, error) {
	c := s.next()
	if c == ']' {
		s.i++
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, s.fail("expected ',' or ']'")
		}
		s.i++
	}
	return true, nil
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// str reads a string. It returns the bytes between the quotes as they are,
// and whether they need unquote: escapes, or bytes that are not UTF-8
// (encoding/json turns those into U+FFFD).
func (s *scanner) str() (raw []byte, esc bool, err error) {
	if s.next() != '"' {
		return nil, false, s.fail("expected a string")
	}
	start := s.i + 1
	j := bytes.IndexByte(s.b[start:], '"')
	if j < 0 {
		return nil, false, s.fail("unterminated string")
	}
	raw = s.b[start : start+j]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return s.escapedStr(start)
	}
	// No escapes: the first quote ends the string.
	i := 0
	for ; i+8 <= len(raw); i += 8 {
		// Any byte below 0x20 or above 0x7f in these 8?
		w := binary.LittleEndian.Uint64(raw[i:])
		if (w|(w-0x20*lsb)&^w)&msb != 0 {
			break
		}
	}
	ascii := true
	for ; i < len(raw); i++ {
		switch c := raw[i]; {
		case c < 0x20:
			s.i = start + i
			return nil, false, s.fail("control character in string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	s.i = start + j + 1
	return raw, !ascii && !utf8.Valid(raw), nil
}

// escapedStr reads, from start (just after the opening quote), a string
// holding escapes, checking each one.
func (s *scanner) escapedStr(start int) ([]byte, bool, error) {
	b := s.b
	for i := start; ; {
		if i >= len(b) {
			s.i = i
			return nil, false, s.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], true, nil
		case c == '\\':
			if i+1 >= len(b) {
				s.i = i
				return nil, false, s.fail("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || hex4(b[i+2:i+6]) < 0 {
					s.i = i
					return nil, false, s.fail(`invalid \u escape`)
				}
				i += 6
			default:
				s.i = i
				return nil, false, s.fail("invalid escape in string")
			}
		case c < 0x20:
			s.i = i
			return nil, false, s.fail("control character in string")
		default:
			i++
		}
	}
}

// hex4 decodes 4 hex digits, or returns -1.
func hex4(p []byte) rune {
	var r rune
	for _, c := range p[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unquote appends the string raw (checked by str) stands for to dst, with
// encoding/json's rules: a \u surrogate pair is one rune, a lone
// surrogate and any byte that is not UTF-8 become U+FFFD.
func unquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			e := raw[i+1]
			i += 2
			switch e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(raw[i:])
				i += 4
				if utf16.IsSurrogate(r) {
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						if lo := hex4(raw[i+2:]); lo >= 0 {
							if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
								dst = utf8.AppendRune(dst, pair)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// number reads a number token, checked against JSON's grammar (which is
// stricter than strconv's).
func (s *scanner) number() ([]byte, error) {
	b := s.b
	start := s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		s.i = i
		return nil, s.fail("expected a number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return nil, s.fail("invalid number")
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			return nil, s.fail("invalid number")
		}
		i = digits(b, i)
	}
	s.i = i
	return b[start:i], nil
}

// digits returns the end of the run of digits that starts at b[i].
func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// int reads an integer number that fits in bits, as encoding/json
// decodes into an int of that size (no fraction, no exponent).
func (s *scanner) int(bits int) (int64, error) {
	if c := s.next(); c != '-' && !isDigit(c) {
		return 0, s.fail("expected a number")
	}
	at := s.i
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(tok), 10, bits)
	if err != nil {
		return 0, &syntaxError{off: at, msg: fmt.Sprintf("number %s is not an int%d", tok, bits)}
	}
	return n, nil
}

// float reads a number as a float64.
func (s *scanner) float() (float64, error) {
	if c := s.next(); c != '-' && !isDigit(c) {
		return 0, s.fail("expected a number")
	}
	at := s.i
	tok, err := s.number()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		return 0, &syntaxError{off: at, msg: fmt.Sprintf("number %s out of range", tok)}
	}
	return f, nil
}

// skip reads and checks one value of any kind, without keeping it.
func (s *scanner) skip() error {
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	for {
		// One value; containers are pushed and their first member or
		// element read in the next round.
		switch c := s.next(); {
		case c == '{':
			s.i++
			if s.next() == '}' {
				s.i++
				break
			}
			stack = append(stack, '{')
			if _, _, err := s.member(true); err != nil {
				return err
			}
			continue
		case c == '[':
			s.i++
			if s.next() == ']' {
				s.i++
				break
			}
			stack = append(stack, '[')
			continue
		case c == '"':
			if _, _, err := s.str(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal(litTrue); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal(litFalse); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal(litNull); err != nil {
				return err
			}
		case c == '-' || isDigit(c):
			if _, err := s.number(); err != nil {
				return err
			}
		default:
			return s.fail("expected a value")
		}
		// After a value: close what ends here, then go on to the next
		// member or element, if any.
		for {
			if len(stack) == 0 {
				return nil
			}
			top := stack[len(stack)-1]
			c := s.next()
			if top == '{' && c == '}' || top == '[' && c == ']' {
				s.i++
				stack = stack[:len(stack)-1]
				continue
			}
			if c != ',' {
				return s.fail("expected ',' or the end of the container")
			}
			if top == '{' {
				if _, _, err := s.member(false); err != nil {
					return err
				}
			} else {
				s.i++
			}
			break
		}
	}
}

func (s *scanner) literal(lit []byte) error {
	if !bytes.HasPrefix(s.b[s.i:], lit) {
		return s.fail("invalid literal")
	}
	s.i += len(lit)
	return nil
}
