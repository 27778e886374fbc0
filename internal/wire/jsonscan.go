package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The request body is checked with json.Valid once; these helpers then split
// objects and arrays without validating again, which matters for 10 MiB
// PutRecords bodies (encoding/json would re-scan them at every level). They
// still check bounds, so malformed input gives an error, never a panic.

var errMalformed = errors.New("wire: malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errMalformed
		}
		j += k
		// The quote is escaped if an odd number of backslashes precede it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j, nil
		}
	}
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errMalformed
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errMalformed
	}
	j := i
	for j < len(b) && !endsLiteral(b[j]) {
		j++
	}
	if j == i {
		return 0, errMalformed
	}
	return j, nil
}

// jsonString decodes a JSON string, in place when it has no escapes.
func jsonString(raw []byte) (string, error) {
	raw = trimJSONSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", errMalformed
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	return s, json.Unmarshal(raw, &s)
}

func splitObject(b []byte) (map[string]rawValue, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errMalformed
	}
	m := make(map[string]rawValue)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errMalformed
		}
		end, err := stringEnd(b, i)
		if err != nil {
			return nil, err
		}
		key, err := jsonString(b[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errMalformed
		}
		i = skipSpace(b, i+1)
		end, err = valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		m[key] = b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return m, nil
		default:
			return nil, errMalformed
		}
	}
}

func splitArray(b []byte) ([]rawValue, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errMalformed
	}
	var a []rawValue
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return []rawValue{}, nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		a = append(a, b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return a, nil
		default:
			return nil, errMalformed
		}
	}
}

func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
