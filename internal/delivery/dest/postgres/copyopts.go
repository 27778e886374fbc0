package postgres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// format is how a staged object's records are laid out.
type format int

const (
	formatText format = iota // Redshift's default: delimited lines, no quoting
	formatCSV
	formatJSON
)

// copyOptions is the subset of Redshift's COPY options that Firehose
// users put in CopyCommand.CopyOptions.
type copyOptions struct {
	format       format
	delim        byte
	quote        byte
	null         string
	gzip         bool
	ignoreHeader int
}

// maxIgnoreHeader bounds IGNOREHEADER; Redshift takes any count, but a
// larger one skips every line of any plausible batch.
const maxIgnoreHeader = 1 << 20

// ValidateCopy checks a CopyCommand as CreateDeliveryStream receives it:
// DataTableName (optionally schema-qualified), DataTableColumns (comma
// separated, may be empty) and CopyOptions.
func ValidateCopy(table, columns, options string) error {
	if _, err := parseTable(table); err != nil {
		return err
	}
	if _, err := parseColumns(columns); err != nil {
		return err
	}
	_, err := parseCopyOptions(options)
	return err
}

// parseCopyOptions reads Redshift COPY options. It accepts DELIMITER,
// CSV [QUOTE], FORMAT [AS] CSV|JSON, JSON 'auto', GZIP, IGNOREHEADER, NULL
// AS, and TIMEFORMAT/DATEFORMAT 'auto' (PostgreSQL reads such values by
// itself); anything else is refused rather than silently ignored.
func parseCopyOptions(s string) (copyOptions, error) {
	toks, err := tokenize(s)
	if err != nil {
		return copyOptions{}, err
	}
	o := copyOptions{null: `\N`}
	seen := map[string]bool{}
	var delimSet, quoteSet, nullSet bool
	i := 0
	next := func() (token, bool) {
		if i >= len(toks) {
			return token{}, false
		}
		t := toks[i]
		i++
		return t, true
	}
	// value reads [AS] 'string' after keyword kw.
	value := func(kw string) (string, error) {
		t, ok := next()
		if ok && !t.quoted && strings.EqualFold(t.text, "AS") {
			t, ok = next()
		}
		if !ok || !t.quoted {
			return "", fmt.Errorf("postgres: CopyOptions: %s needs a quoted value, like %s '...'", kw, kw)
		}
		return t.text, nil
	}
	once := func(kw string) error {
		if seen[kw] {
			return fmt.Errorf("postgres: CopyOptions: %s given twice", kw)
		}
		seen[kw] = true
		return nil
	}
	setFormat := func(f format, kw string) error {
		if seen["format"] {
			return fmt.Errorf("postgres: CopyOptions: %s conflicts with another format option", kw)
		}
		seen["format"] = true
		o.format = f
		return nil
	}
	jsonArg := func() error {
		v, err := value("JSON")
		if err != nil {
			return err
		}
		switch strings.ToLower(strings.Join(strings.Fields(v), " ")) {
		case "auto", "auto ignorecase":
			return nil
		}
		return fmt.Errorf("postgres: CopyOptions: JSON %q is not supported, only JSON 'auto' (and 'auto ignorecase')", v)
	}
	for {
		t, ok := next()
		if !ok {
			break
		}
		if t.quoted {
			return o, fmt.Errorf("postgres: CopyOptions: unexpected quoted value '%s'", t.text)
		}
		kw := strings.ToUpper(t.text)
		switch kw {
		case "DELIMITER":
			if err := once(kw); err != nil {
				return o, err
			}
			v, err := value(kw)
			if err != nil {
				return o, err
			}
			if len(v) != 1 || v[0] == '\n' || v[0] == '\r' || v[0] >= 0x80 {
				return o, fmt.Errorf("postgres: CopyOptions: DELIMITER must be one ASCII character other than a newline, not %q", v)
			}
			o.delim, delimSet = v[0], true
		case "CSV":
			if err := setFormat(formatCSV, kw); err != nil {
				return o, err
			}
			// CSV QUOTE [AS] 'c' belongs to CSV but is also read below.
		case "QUOTE":
			if err := once(kw); err != nil {
				return o, err
			}
			v, err := value(kw)
			if err != nil {
				return o, err
			}
			if len(v) != 1 || v[0] == '\n' || v[0] == '\r' || v[0] >= 0x80 {
				return o, fmt.Errorf("postgres: CopyOptions: QUOTE must be one ASCII character other than a newline, not %q", v)
			}
			o.quote, quoteSet = v[0], true
		case "FORMAT":
			t, ok := next()
			if ok && !t.quoted && strings.EqualFold(t.text, "AS") {
				t, ok = next()
			}
			if !ok || t.quoted {
				return o, errors.New("postgres: CopyOptions: FORMAT needs CSV or JSON")
			}
			switch strings.ToUpper(t.text) {
			case "CSV":
				if err := setFormat(formatCSV, "FORMAT CSV"); err != nil {
					return o, err
				}
			case "JSON":
				if err := setFormat(formatJSON, "FORMAT JSON"); err != nil {
					return o, err
				}
				if err := jsonArg(); err != nil {
					return o, err
				}
			default:
				return o, fmt.Errorf("postgres: CopyOptions: FORMAT %s is not supported, only CSV and JSON 'auto'", t.text)
			}
		case "JSON":
			if err := setFormat(formatJSON, kw); err != nil {
				return o, err
			}
			if err := jsonArg(); err != nil {
				return o, err
			}
		case "GZIP":
			if err := once(kw); err != nil {
				return o, err
			}
			o.gzip = true
		case "IGNOREHEADER":
			if err := once(kw); err != nil {
				return o, err
			}
			t, ok := next()
			if ok && !t.quoted && strings.EqualFold(t.text, "AS") {
				t, ok = next()
			}
			n, err := strconv.Atoi(t.text)
			if !ok || err != nil || n < 0 || n > maxIgnoreHeader {
				return o, fmt.Errorf("postgres: CopyOptions: IGNOREHEADER needs a row count from 0 to %d", maxIgnoreHeader)
			}
			o.ignoreHeader = n
		case "NULL":
			if err := once(kw); err != nil {
				return o, err
			}
			v, err := value(kw)
			if err != nil {
				return o, err
			}
			if strings.ContainsAny(v, "\r\n") {
				return o, errors.New("postgres: CopyOptions: NULL AS may not contain a newline")
			}
			o.null, nullSet = v, true
		case "TIMEFORMAT", "DATEFORMAT":
			if err := once(kw); err != nil {
				return o, err
			}
			v, err := value(kw)
			if err != nil {
				return o, err
			}
			if !strings.EqualFold(v, "auto") {
				return o, fmt.Errorf("postgres: CopyOptions: %s '%s' is not supported, only 'auto'", kw, v)
			}
		default:
			return o, fmt.Errorf("postgres: CopyOptions: %s is not supported (supported: DELIMITER, CSV [QUOTE], FORMAT AS CSV|JSON, JSON 'auto', GZIP, IGNOREHEADER, NULL AS, TIMEFORMAT 'auto', DATEFORMAT 'auto')", t.text)
		}
	}
	switch o.format {
	case formatText:
		if quoteSet {
			return o, errors.New("postgres: CopyOptions: QUOTE needs CSV")
		}
		if !delimSet {
			o.delim = '|'
		}
	case formatCSV:
		if !delimSet {
			o.delim = ','
		}
		if !quoteSet {
			o.quote = '"'
		}
		if o.quote == o.delim {
			return o, errors.New("postgres: CopyOptions: QUOTE and DELIMITER must differ")
		}
	case formatJSON:
		if delimSet || quoteSet || nullSet || o.ignoreHeader > 0 {
			return o, errors.New("postgres: CopyOptions: DELIMITER, QUOTE, NULL AS and IGNOREHEADER do not apply to JSON")
		}
	}
	return o, nil
}

type token struct {
	text   string
	quoted bool
}

// tokenize splits options into words and single-quoted strings. Inside
// quotes, a doubled quote and \' are a quote, \\ a backslash, \t a tab, and \ooo an
// octal byte, as Redshift reads DELIMITER '\t' or '\174'.
func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) && !closed {
				c := s[i]
				switch {
				case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
					b.WriteByte('\'')
					i += 2
				case c == '\'':
					closed = true
					i++
				case c == '\\' && i+1 < len(s):
					n := s[i+1]
					switch {
					case n == 't':
						b.WriteByte('\t')
						i += 2
					case n >= '0' && n <= '7' && i+3 < len(s) && isOctal(s[i+2]) && isOctal(s[i+3]):
						v, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
						b.WriteByte(byte(v))
						i += 4
					case n == '\\' || n == '\'':
						b.WriteByte(n)
						i += 2
					default:
						// Anything else keeps its backslash, as in NULL AS '\N'.
						b.WriteByte('\\')
						i++
					}
				default:
					b.WriteByte(c)
					i++
				}
			}
			if !closed {
				return nil, errors.New("postgres: CopyOptions: unterminated quoted value")
			}
			toks = append(toks, token{text: b.String(), quoted: true})
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("postgres: CopyOptions: unexpected character %q", c)
		}
	}
	return toks, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// parseTable reads a table name, optionally schema- (and database-)
// qualified; unquoted parts fold to lower case as PostgreSQL folds them.
func parseTable(s string) (pgx.Identifier, error) {
	parts, err := splitIdent(s, '.')
	if err != nil {
		return nil, fmt.Errorf("postgres: DataTableName %q: %w", s, err)
	}
	if len(parts) == 0 || len(parts) > 3 {
		return nil, fmt.Errorf("postgres: DataTableName %q: want table, schema.table or db.schema.table", s)
	}
	return pgx.Identifier(parts), nil
}

// parseColumns reads DataTableColumns: names separated by commas.
func parseColumns(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	cols, err := splitIdent(s, ',')
	if err != nil {
		return nil, fmt.Errorf("postgres: DataTableColumns %q: %w", s, err)
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			return nil, fmt.Errorf("postgres: DataTableColumns %q: column %s twice", s, c)
		}
		seen[c] = true
	}
	return cols, nil
}

// splitIdent splits a list of identifiers on sep; "quoted" ones keep their
// case and may hold sep ("" is a quote), the others are trimmed and folded.
func splitIdent(s string, sep byte) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var name string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated quoted identifier")
			}
			name = b.String()
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
		} else {
			j := i
			for j < len(s) && s[j] != sep {
				j++
			}
			name = strings.ToLower(strings.TrimSpace(s[i:j]))
			for _, c := range []byte(name) {
				if !isWordByte(c) && c != '$' && c < 0x80 {
					return nil, fmt.Errorf("character %q needs a quoted identifier", c)
				}
			}
			if name != "" && name[0] >= '0' && name[0] <= '9' {
				return nil, fmt.Errorf("identifier %s starts with a digit", name)
			}
			i = j
		}
		if name == "" {
			return nil, errors.New("empty identifier")
		}
		if strings.IndexByte(name, 0) >= 0 {
			return nil, errors.New("identifier holds a NUL byte")
		}
		out = append(out, name)
		if i >= len(s) {
			return out, nil
		}
		if s[i] != sep {
			return nil, fmt.Errorf("unexpected %q after identifier %s", s[i], name)
		}
		i++
	}
}
