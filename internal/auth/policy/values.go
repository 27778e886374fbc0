package policy

import (
	"strconv"
	"strings"
	"time"
)

// decimal is an exact number: Numeric* operators compare integers and
// decimals, and float64 would make 9007199254740993 equal its neighbour.
type decimal struct {
	neg  bool
	intp string // no leading zeros; "" for zero
	frac string // no trailing zeros
}

// maxExp bounds the exponent so "1e999999999" cannot make a huge string.
const maxExp = 400

// parseDecimal accepts [+-]digits[.digits][e[+-]digits], the JSON number
// grammar with an optional '+', leading zeros and a bare ".5" or "5.".
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if s == "" {
		return d, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		d.neg = s[0] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intp := s[start:i]
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[fs:i]
	}
	if intp == "" && frac == "" {
		return d, false
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		es := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ds := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if ds == i || i-ds > 4 {
			return d, false
		}
		e, err := strconv.Atoi(s[es:i])
		if err != nil || e > maxExp || e < -maxExp {
			return d, false
		}
		exp = e
	}
	if i != len(s) {
		return d, false
	}
	digits := intp + frac
	point := len(intp) + exp
	switch {
	case point < 0:
		digits = strings.Repeat("0", -point) + digits
		point = 0
	case point > len(digits):
		digits += strings.Repeat("0", point-len(digits))
	}
	d.intp = strings.TrimLeft(digits[:point], "0")
	d.frac = strings.TrimRight(digits[point:], "0")
	if d.intp == "" && d.frac == "" {
		d.neg = false // -0 == 0
	}
	return d, true
}

func cmpDecimal(a, b decimal) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmpMagnitude(a, b)
	if a.neg {
		return -c
	}
	return c
}

func cmpMagnitude(a, b decimal) int {
	if len(a.intp) != len(b.intp) {
		if len(a.intp) < len(b.intp) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.intp, b.intp); c != 0 {
		return c
	}
	// Fractions without trailing zeros compare as strings once the
	// shorter is padded, and a prefix pads with zeros.
	return strings.Compare(a.frac, b.frac)
}

// dateLayouts are the W3C profile of ISO 8601 that AWS names, plus the
// compact form SigV4 uses. A value without a zone is taken as UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"20060102T150405Z07:00",
	"20060102T150405Z",
}

// parseDate accepts epoch seconds (all digits, optional fraction) or an
// ISO 8601 date. A bare 4-digit year is therefore epoch seconds, the
// only reading that keeps aws:EpochTime values unambiguous.
func parseDate(s string) (time.Time, bool) {
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	if t, ok := parseEpoch(s); ok {
		return t, true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseEpoch(s string) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && !allDigits(frac)) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	// Past year 9999 time.Time still works, but nothing sane is there.
	if err != nil || sec > 253402300799 {
		return time.Time{}, false
	}
	var nsec int64
	if hasFrac && frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		nsec = n
	}
	return time.Unix(sec, nsec).UTC(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseBool reads "true"/"false" in any case, as the Bool operator does.
func parseBool(s string) (v, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}
