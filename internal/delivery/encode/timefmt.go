package encode

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Earliest and latest timestamps accepted: Hive's range.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

func inRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// epochNumber reads an epoch timestamp as OpenX does: integers are seconds,
// or milliseconds when too large to be seconds; a fraction means seconds.
func epochNumber(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// 1e11 seconds is the year 5138; anything larger is milliseconds.
		if n >= 1e11 || n <= -1e11 {
			return epochMillis(n)
		}
		t := time.Unix(n, 0).UTC()
		return t, inRange(t)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 3e11 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	ns := math.Round((f - sec) * 1e9)
	t := time.Unix(int64(sec), int64(ns)).UTC()
	return t, inRange(t)
}

func epochMillis(n int64) (time.Time, bool) {
	if n > 3e14 || n < -3e14 {
		return time.Time{}, false
	}
	t := time.UnixMilli(n).UTC()
	return t, inRange(t)
}

// sqlTimestamp parses java.sql.Timestamp.valueOf's form,
// yyyy-[M]M-[d]d HH:mm:ss[.f{1,9}]; iso also admits a 'T' separator and a
// trailing Z or offset (OpenX's ISO-8601 form).
func sqlTimestamp(s string, iso bool) (time.Time, bool) {
	var y, mo, d, h, mi, sec, ns int
	var ok bool
	i := 0
	num := func(min, max int) int {
		start := i
		for i < len(s) && i-start < max && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i-start < min {
			ok = false
			return 0
		}
		n, _ := strconv.Atoi(s[start:i])
		return n
	}
	lit := func(c byte) {
		if i < len(s) && s[i] == c {
			i++
			return
		}
		ok = false
	}
	ok = true
	y = num(4, 4)
	lit('-')
	mo = num(1, 2)
	lit('-')
	d = num(1, 2)
	if i < len(s) && (s[i] == ' ' || iso && s[i] == 'T') {
		i++
	} else {
		ok = false
	}
	h = num(1, 2)
	lit(':')
	mi = num(1, 2)
	lit(':')
	sec = num(1, 2)
	if !ok {
		return time.Time{}, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		frac := num(1, 9)
		if !ok {
			return time.Time{}, false
		}
		ns = frac * int(math.Pow10(9-(i-start)))
	}
	loc := time.UTC
	if iso && i < len(s) {
		switch {
		case s[i] == 'Z':
			i++
		case s[i] == '+' || s[i] == '-':
			off, n, good := parseOffset(s[i:], true)
			if !good {
				return time.Time{}, false
			}
			i += n
			loc = time.FixedZone("", off)
		}
	}
	if i != len(s) {
		return time.Time{}, false
	}
	return makeTime(y, mo, d, h, mi, sec, ns, loc)
}

func makeTime(y, mo, d, h, mi, sec, ns int, loc *time.Location) (time.Time, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc).UTC()
	return t, inRange(t)
}

func daysIn(y, mo int) int {
	return time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseOffset reads +hh:mm, +hhmm (or Z when z is set... not here).
func parseOffset(s string, colonOptional bool) (secs, n int, ok bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	digits := func(p string) (int, bool) {
		if len(p) != 2 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' {
			return 0, false
		}
		return int(p[0]-'0')*10 + int(p[1]-'0'), true
	}
	hh, good := digits(s[1:3])
	if !good || hh > 23 {
		return 0, 0, false
	}
	n = 3
	mm := 0
	switch {
	case len(s) >= 6 && s[3] == ':':
		if mm, good = digits(s[4:6]); !good {
			return 0, 0, false
		}
		n = 6
	case len(s) >= 5 && colonOptional:
		if mm, good = digits(s[3:5]); good {
			n = 5
		} else {
			mm = 0
		}
	}
	if mm > 59 {
		return 0, 0, false
	}
	secs = hh*3600 + mm*60
	if s[0] == '-' {
		secs = -secs
	}
	return secs, n, true
}

// jodaToken is one element of a compiled Joda-Time pattern.
type jodaToken struct {
	letter byte   // 0 for a literal
	count  int    // how many times the letter repeats
	lit    string // literal text
}

// jodaFormat is a compiled Joda-Time DateTimeFormat pattern, or the
// special "millis".
type jodaFormat struct {
	millis bool
	tokens []jodaToken
}

// Joda letters Rivulet parses, and those Joda knows but Rivulet does not.
const (
	jodaSupported   = "yYMdHkKhmsSaZE"
	jodaUnsupported = "GCxwezD"
)

// errJodaUnsupported marks a valid Joda pattern that uses letters Rivulet
// cannot parse.
var errJodaUnsupported = errors.New("unsupported Joda pattern letter")

func compileJoda(p string) (*jodaFormat, error) {
	if p == "millis" {
		return &jodaFormat{millis: true}, nil
	}
	f := &jodaFormat{}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			end := i + 1
			var b strings.Builder
			for {
				if end >= len(p) {
					return nil, fmt.Errorf("unterminated quote in %q", p)
				}
				if p[end] == '\'' {
					if end+1 < len(p) && p[end+1] == '\'' {
						b.WriteByte('\'')
						end += 2
						continue
					}
					break
				}
				b.WriteByte(p[end])
				end++
			}
			lit := b.String()
			if end == i+1 {
				lit = "'" // '' is a quote
			}
			f.tokens = append(f.tokens, jodaToken{lit: lit})
			i = end + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			n := 1
			for i+n < len(p) && p[i+n] == c {
				n++
			}
			switch {
			case strings.IndexByte(jodaSupported, c) >= 0:
			case strings.IndexByte(jodaUnsupported, c) >= 0:
				return nil, fmt.Errorf("%w %q", errJodaUnsupported, string(c))
			default:
				return nil, fmt.Errorf("illegal pattern component %q", string(c))
			}
			if c == 'Z' && n > 2 {
				return nil, fmt.Errorf("%w %q (zone ids)", errJodaUnsupported, "ZZZ")
			}
			f.tokens = append(f.tokens, jodaToken{letter: c, count: n})
			i += n
		default:
			f.tokens = append(f.tokens, jodaToken{lit: string(c)})
			i++
		}
	}
	if len(f.tokens) == 0 {
		return nil, fmt.Errorf("empty pattern")
	}
	return f, nil
}

func numericLetter(t jodaToken) bool {
	switch t.letter {
	case 'y', 'Y', 'd', 'H', 'k', 'K', 'h', 'm', 's', 'S':
		return true
	case 'M':
		return t.count <= 2
	}
	return false
}

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

var dayNames = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// matchName matches a full or three-letter name, case-insensitively.
func matchName(s string, names []string) (idx, n int, ok bool) {
	low := strings.ToLower(s)
	for i, name := range names {
		if strings.HasPrefix(low, name) {
			return i, len(name), true
		}
	}
	for i, name := range names {
		if strings.HasPrefix(low, name[:3]) {
			return i, 3, true
		}
	}
	return 0, 0, false
}

// parse reads s with the pattern; the whole of s must match.
func (f *jodaFormat) parse(s string) (time.Time, bool) {
	if f.millis {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return epochMillis(n)
	}
	y, mo, d, h, mi, sec, ns := 1970, 1, 1, 0, 0, 0, 0
	hour12, pm, hasAMPM := -1, false, false
	loc := time.UTC
	i := 0
	for ti, t := range f.tokens {
		if t.letter == 0 {
			if !strings.HasPrefix(s[i:], t.lit) {
				return time.Time{}, false
			}
			i += len(t.lit)
			continue
		}
		if numericLetter(t) {
			maxDigits := 2
			switch t.letter {
			case 'y', 'Y':
				maxDigits = 9
			case 'S':
				maxDigits = 9
			}
			// Adjacent numeric fields are read at their exact width.
			if ti+1 < len(f.tokens) && numericLetter(f.tokens[ti+1]) {
				maxDigits = max(t.count, 1)
				if (t.letter == 'y' || t.letter == 'Y') && t.count < 4 {
					maxDigits = max(t.count, 2)
				}
			}
			neg := false
			if (t.letter == 'y' || t.letter == 'Y') && i < len(s) && s[i] == '-' {
				neg = true
				i++
			}
			start := i
			for i < len(s) && i-start < maxDigits && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i == start {
				return time.Time{}, false
			}
			digits := s[start:i]
			v, _ := strconv.Atoi(digits)
			switch t.letter {
			case 'y', 'Y':
				if t.count == 2 && len(digits) == 2 && !neg {
					// Joda's two-digit years pivot on 2000: 1950 to 2049.
					v += 2000
					if v >= 2050 {
						v -= 100
					}
				}
				if neg {
					v = -v
				}
				y = v
			case 'M':
				mo = v
			case 'd':
				d = v
			case 'H':
				h = v
			case 'k':
				if v < 1 || v > 24 {
					return time.Time{}, false
				}
				h = v % 24
			case 'K':
				if v > 11 {
					return time.Time{}, false
				}
				hour12 = v
			case 'h':
				if v < 1 || v > 12 {
					return time.Time{}, false
				}
				hour12 = v % 12
			case 'm':
				mi = v
			case 's':
				sec = v
			case 'S':
				ns = v * int(math.Pow10(9-len(digits)))
			}
			continue
		}
		switch t.letter {
		case 'M':
			idx, n, ok := matchName(s[i:], monthNames)
			if !ok {
				return time.Time{}, false
			}
			mo = idx + 1
			i += n
		case 'E':
			_, n, ok := matchName(s[i:], dayNames)
			if !ok {
				return time.Time{}, false
			}
			i += n
		case 'a':
			low := strings.ToLower(s[i:])
			switch {
			case strings.HasPrefix(low, "am"):
				pm = false
			case strings.HasPrefix(low, "pm"):
				pm = true
			default:
				return time.Time{}, false
			}
			hasAMPM = true
			i += 2
		case 'Z':
			if i < len(s) && s[i] == 'Z' {
				i++
				continue
			}
			off, n, ok := parseOffset(s[i:], t.count == 1)
			if !ok {
				return time.Time{}, false
			}
			i += n
			loc = time.FixedZone("", off)
		}
	}
	if i != len(s) {
		return time.Time{}, false
	}
	if hour12 >= 0 {
		h = hour12
		if hasAMPM && pm {
			h += 12
		}
	}
	return makeTime(y, mo, d, h, mi, sec, ns, loc)
}
