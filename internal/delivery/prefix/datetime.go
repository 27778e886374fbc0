package prefix

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// layout is a compiled Java DateTimeFormatter pattern: the subset
// Firehose users write in !{timestamp:…}.
type layout []item

// item is a literal (letter == 0) or a pattern letter repeated count
// times.
type item struct {
	letter rune
	count  int
	lit    string
}

// maxCount is the most repetitions Java accepts for each supported letter.
var maxCount = map[rune]int{
	'G': 5, 'u': 19, 'y': 19, 'Q': 5, 'q': 5, 'M': 5, 'L': 5, 'd': 2,
	'D': 3, 'E': 5, 'a': 1, 'h': 2, 'K': 2, 'k': 2, 'H': 2, 'm': 2,
	's': 2, 'S': 9, 'A': 19, 'n': 19, 'N': 19, 'V': 2, 'z': 3, 'Z': 5,
	'X': 5, 'x': 5,
}

// compileLayout parses a pattern as java.time.format.DateTimeFormatter
// does: letters are fields, text in single quotes is literal (two quotes
// make one), other characters pass through, [ ] mark optional sections
// (always printed when formatting).
func compileLayout(p string) (layout, error) {
	var out layout
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, item{lit: lit.String()})
			lit.Reset()
		}
	}
	rs := []rune(p)
	depth := 0
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case isLetter(c):
			n := 1
			for i+n < len(rs) && rs[i+n] == c {
				n++
			}
			limit, ok := maxCount[c]
			if !ok {
				return nil, fmt.Errorf("unsupported pattern letter '%c'", c)
			}
			if n > limit || (c == 'V' && n != 2) {
				return nil, fmt.Errorf("too many pattern letters: %c", c)
			}
			flush()
			out = append(out, item{letter: c, count: n})
			i += n - 1
		case c == '\'':
			if i+1 < len(rs) && rs[i+1] == '\'' {
				lit.WriteRune('\'')
				i++
				continue
			}
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] != '\'' {
					lit.WriteRune(rs[j])
					continue
				}
				if j+1 < len(rs) && rs[j+1] == '\'' {
					lit.WriteRune('\'')
					j++
					continue
				}
				break
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("pattern ends with an incomplete string literal")
			}
			i = j
		case c == '[':
			depth++
		case c == ']':
			if depth == 0 {
				return nil, fmt.Errorf("pattern contains ] without previous [")
			}
			depth--
		case c == '{' || c == '}' || c == '#':
			return nil, fmt.Errorf("pattern includes reserved character '%c'", c)
		default:
			lit.WriteRune(c)
		}
	}
	flush()
	return out, nil
}

func isLetter(c rune) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// format prints t; t is already in the wanted location.
func (l layout) format(t time.Time) string {
	var b strings.Builder
	for _, it := range l {
		if it.letter == 0 {
			b.WriteString(it.lit)
			continue
		}
		it.write(&b, t)
	}
	return b.String()
}

var quarterNames = [...]string{"1st quarter", "2nd quarter", "3rd quarter", "4th quarter"}

func (it item) write(b *strings.Builder, t time.Time) {
	n := it.count
	switch it.letter {
	case 'G':
		ad := t.Year() > 0
		switch {
		case n == 4 && ad:
			b.WriteString("Anno Domini")
		case n == 4:
			b.WriteString("Before Christ")
		case n == 5 && ad:
			b.WriteString("A")
		case n == 5:
			b.WriteString("B")
		case ad:
			b.WriteString("AD")
		default:
			b.WriteString("BC")
		}
	case 'y', 'u':
		y := int64(t.Year())
		if it.letter == 'y' && y <= 0 {
			y = 1 - y // year-of-era
		}
		if n == 2 {
			writePadded(b, ((y%100)+100)%100, 2)
			return
		}
		if n >= 4 && y >= 0 && digits(y) > n {
			b.WriteByte('+') // Java's EXCEEDS_PAD sign style
		}
		writeSigned(b, y, n)
	case 'Q', 'q':
		q := (int(t.Month())-1)/3 + 1
		switch n {
		case 1, 2, 5:
			writePadded(b, int64(q), min(n, 2))
		case 3:
			b.WriteString("Q" + strconv.Itoa(q))
		case 4:
			b.WriteString(quarterNames[q-1])
		}
	case 'M', 'L':
		switch n {
		case 1, 2:
			writePadded(b, int64(t.Month()), n)
		case 3:
			b.WriteString(t.Month().String()[:3])
		case 4:
			b.WriteString(t.Month().String())
		case 5:
			b.WriteString(t.Month().String()[:1])
		}
	case 'd':
		writePadded(b, int64(t.Day()), n)
	case 'D':
		writePadded(b, int64(t.YearDay()), n)
	case 'E':
		switch n {
		case 4:
			b.WriteString(t.Weekday().String())
		case 5:
			b.WriteString(t.Weekday().String()[:1])
		default:
			b.WriteString(t.Weekday().String()[:3])
		}
	case 'a':
		if t.Hour() < 12 {
			b.WriteString("AM")
		} else {
			b.WriteString("PM")
		}
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		writePadded(b, int64(h), n)
	case 'K':
		writePadded(b, int64(t.Hour()%12), n)
	case 'k':
		h := t.Hour()
		if h == 0 {
			h = 24
		}
		writePadded(b, int64(h), n)
	case 'H':
		writePadded(b, int64(t.Hour()), n)
	case 'm':
		writePadded(b, int64(t.Minute()), n)
	case 's':
		writePadded(b, int64(t.Second()), n)
	case 'S':
		frac := int64(t.Nanosecond())
		for i := n; i < 9; i++ {
			frac /= 10
		}
		writePadded(b, frac, n)
	case 'A':
		writePadded(b, nanoOfDay(t)/int64(time.Millisecond), n)
	case 'n':
		writePadded(b, int64(t.Nanosecond()), n)
	case 'N':
		writePadded(b, nanoOfDay(t), n)
	case 'V':
		b.WriteString(t.Location().String())
	case 'z':
		name, _ := t.Zone()
		b.WriteString(name)
	case 'Z':
		_, off := t.Zone()
		switch n {
		case 4:
			if off == 0 {
				b.WriteString("GMT")
			} else {
				b.WriteString("GMT")
				writeOffset(b, off, true, true, false)
			}
		case 5:
			if off == 0 {
				b.WriteString("Z")
			} else {
				writeOffset(b, off, true, true, false)
			}
		default:
			writeOffset(b, off, true, false, false)
		}
	case 'X', 'x':
		_, off := t.Zone()
		if off == 0 && it.letter == 'X' {
			b.WriteString("Z")
			return
		}
		switch n {
		case 1:
			writeOffset(b, off, false, false, false)
		case 2:
			writeOffset(b, off, true, false, false)
		case 3:
			writeOffset(b, off, true, true, false)
		case 4:
			writeOffset(b, off, true, false, true)
		case 5:
			writeOffset(b, off, true, true, true)
		}
	}
}

func nanoOfDay(t time.Time) int64 {
	return int64(t.Hour())*int64(time.Hour) + int64(t.Minute())*int64(time.Minute) +
		int64(t.Second())*int64(time.Second) + int64(t.Nanosecond())
}

func digits(v int64) int {
	if v < 0 {
		v = -v
	}
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

func writeSigned(b *strings.Builder, v int64, width int) {
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	writePadded(b, v, width)
}

func writePadded(b *strings.Builder, v int64, width int) {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}

// writeOffset prints a UTC offset as +HH, then minutes (always when
// minutes is set, else only when non-zero), with colons if colon, and
// seconds when secs and non-zero.
func writeOffset(b *strings.Builder, off int, minutes, colon, secs bool) {
	if off < 0 {
		b.WriteByte('-')
		off = -off
	} else {
		b.WriteByte('+')
	}
	h, m, s := off/3600, (off/60)%60, off%60
	writePadded(b, int64(h), 2)
	if minutes || m != 0 {
		if colon {
			b.WriteByte(':')
		}
		writePadded(b, int64(m), 2)
	}
	if secs && s != 0 {
		if colon {
			b.WriteByte(':')
		}
		writePadded(b, int64(s), 2)
	}
}
