package postgres

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxStaged bounds a decompressed staged object, so a gzip bomb fails
// the batch rather than the process.
const maxStaged = 1 << 30

// field is one value read from a staged object.
type field struct {
	s string
	// null is an explicit NULL; empty an empty unquoted field, which
	// Redshift loads as NULL except into character columns.
	null, empty bool
	// raw is a JSON value as written, loaded as is into json columns.
	raw string
}

// table is what the records hold, before column types are known: rows of
// fields in column order (text, CSV), or JSON objects keyed by lower-case
// name.
type parsed struct {
	rows    [][]field
	objects []map[string]field
}

// decode reads a staged object as the options say.
func decode(o copyOptions, data []byte) (parsed, error) {
	if o.gzip {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return parsed{}, fmt.Errorf("GZIP: %w", err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, maxStaged+1))
		if err != nil {
			return parsed{}, fmt.Errorf("GZIP: %w", err)
		}
		if len(b) > maxStaged {
			return parsed{}, fmt.Errorf("GZIP: more than %d bytes decompressed", maxStaged)
		}
		data = b
	}
	switch o.format {
	case formatJSON:
		objs, err := decodeJSON(data)
		return parsed{objects: objs}, err
	case formatCSV:
		rows, err := decodeCSV(skipLines(data, o.ignoreHeader), o)
		return parsed{rows: rows}, err
	default:
		return parsed{rows: decodeText(skipLines(data, o.ignoreHeader), o)}, nil
	}
}

func skipLines(data []byte, n int) []byte {
	for ; n > 0 && len(data) > 0; n-- {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
	return data
}

// decodeText reads Redshift's default layout: one row a line, fields split
// at the delimiter, no quoting or escapes. Blank lines are skipped.
func decodeText(data []byte, o copyOptions) [][]field {
	var rows [][]field
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		parts := bytes.Split(line, []byte{o.delim})
		row := make([]field, len(parts))
		for i, p := range parts {
			row[i] = plainField(string(p), o.null)
		}
		rows = append(rows, row)
	}
	return rows
}

func plainField(s, null string) field {
	switch {
	case s == null:
		return field{null: true}
	case s == "":
		return field{empty: true}
	}
	return field{s: s}
}

// decodeCSV reads CSV with the options' delimiter and quote: a quoted
// field may hold delimiters, newlines and doubled quotes; a quoted empty
// field is an empty string, never NULL. Blank lines are skipped.
func decodeCSV(data []byte, o copyOptions) ([][]field, error) {
	var rows [][]field
	line := 1
	i := 0
	for i < len(data) {
		// Skip blank lines.
		if data[i] == '\n' {
			i++
			line++
			continue
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i += 2
			line++
			continue
		}
		var row []field
		startLine := line
		for {
			var f field
			if i < len(data) && data[i] == o.quote {
				var b strings.Builder
				i++
				closed := false
				for i < len(data) {
					c := data[i]
					if c == o.quote {
						if i+1 < len(data) && data[i+1] == o.quote {
							b.WriteByte(c)
							i += 2
							continue
						}
						closed = true
						i++
						break
					}
					if c == '\n' {
						line++
					}
					b.WriteByte(c)
					i++
				}
				if !closed {
					return nil, fmt.Errorf("CSV line %d: unterminated quoted field", startLine)
				}
				f = field{s: b.String()}
				if i < len(data) && data[i] != o.delim && data[i] != '\n' && !(data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n') && !(data[i] == '\r' && i+1 == len(data)) {
					return nil, fmt.Errorf("CSV line %d: %q after a closing quote", line, data[i])
				}
			} else {
				j := i
				for j < len(data) && data[j] != o.delim && data[j] != '\n' {
					j++
				}
				s := data[i:j]
				if j == len(data) || data[j] == '\n' {
					s = bytes.TrimSuffix(s, []byte{'\r'})
				}
				f = plainField(string(s), o.null)
				i = j
			}
			row = append(row, f)
			if i < len(data) && data[i] == o.delim {
				i++
				continue
			}
			if i < len(data) && data[i] == '\r' {
				i++
			}
			if i < len(data) && data[i] == '\n' {
				i++
				line++
			}
			break
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// decodeJSON reads JSON 'auto' input: objects one after another, with or
// without whitespace between, as Firehose concatenates records.
func decodeJSON(data []byte) ([]map[string]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var objs []map[string]field
	for n := 1; ; n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("JSON record %d: %w", n, err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("JSON record %d: JSON 'auto' needs an object, got %s", n, truncate(string(raw), 64))
		}
		row := make(map[string]field, len(obj))
		for k, v := range obj {
			f, err := jsonField(v)
			if err != nil {
				return nil, fmt.Errorf("JSON record %d, key %q: %w", n, k, err)
			}
			row[strings.ToLower(k)] = f
		}
		objs = append(objs, row)
	}
}

// jsonField turns a JSON value into a column's text: strings unquoted,
// numbers and booleans as written, objects and arrays as compact JSON.
func jsonField(v json.RawMessage) (field, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return field{}, err
	}
	raw := b.String()
	if raw == "" || raw == "null" {
		return field{null: true}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return field{}, err
		}
		return field{s: s, empty: s == "", raw: raw}, nil
	}
	return field{s: raw, raw: raw}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
