package item

import (
	"math/big"
	"strings"
)

// dec is a decimal number: 0.digits x 10^exp, digits without leading or
// trailing zeros (empty for zero).
type dec struct {
	neg    bool
	digits string
	exp    int
}

// expCap bounds parsed exponents; anything beyond is out of range anyway.
const expCap = 1 << 20

// parseDec parses the number syntax DynamoDB accepts: -?(d+(.d*)?|.d+)(e[+-]?d+)?
func parseDec(s string) (dec, error) {
	var d dec
	if s == "" {
		return d, &Error{Message: "The parameter cannot be converted to a numeric value"}
	}
	bad := func() (dec, error) {
		return dec{}, &Error{Message: "The parameter cannot be converted to a numeric value: " + s}
	}
	i := 0
	if s[0] == '-' {
		d.neg = true
		i++
	}
	start := i
	var intPart, fracPart string
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracPart = s[fs:i]
	}
	if intPart == "" && fracPart == "" {
		return bad()
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if e < expCap {
				e = e*10 + int(s[i]-'0')
			}
			i++
		}
		if es == i {
			return bad()
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return bad()
	}
	all := intPart + fracPart
	lead := 0
	for lead < len(all) && all[lead] == '0' {
		lead++
	}
	all = all[lead:]
	all = strings.TrimRight(all, "0")
	if all == "" {
		return dec{}, nil
	}
	d.digits = all
	d.exp = len(intPart) - lead + e
	return d, nil
}

func (d dec) check() error {
	if d.digits == "" {
		return nil
	}
	sci := d.exp - 1
	switch {
	case sci > 125:
		return &Error{Message: "Number overflow. Attempting to store a number with magnitude larger than supported range"}
	case sci < -130:
		return &Error{Message: "Number underflow. Attempting to store a number with magnitude smaller than supported range"}
	case len(d.digits) > 38:
		return &Error{Message: "Attempting to store more than 38 significant digits in a Number"}
	}
	return nil
}

// String is the canonical text: plain notation, no exponent, no
// superfluous zeros (as DynamoDB returns numbers).
func (d dec) String() string {
	if d.digits == "" {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	n := len(d.digits)
	switch {
	case d.exp <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -d.exp))
		b.WriteString(d.digits)
	case d.exp >= n:
		b.WriteString(d.digits)
		b.WriteString(strings.Repeat("0", d.exp-n))
	default:
		b.WriteString(d.digits[:d.exp])
		b.WriteByte('.')
		b.WriteString(d.digits[d.exp:])
	}
	return b.String()
}

func (d dec) sign() int {
	switch {
	case d.digits == "":
		return 0
	case d.neg:
		return -1
	}
	return 1
}

func cmpDec(a, b dec) int {
	sa, sb := a.sign(), b.sign()
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	if sa == 0 {
		return 0
	}
	c := 0
	switch {
	case a.exp < b.exp:
		c = -1
	case a.exp > b.exp:
		c = 1
	default:
		// Digits have no trailing zeros, so string order is numeric order.
		c = strings.Compare(a.digits, b.digits)
	}
	return c * sa
}

func compareNum(a, b string) (int, bool) {
	x, err := parseDec(a)
	if err != nil {
		return 0, false
	}
	y, err := parseDec(b)
	if err != nil {
		return 0, false
	}
	return cmpDec(x, y), true
}

// toBig returns d as mantissa x 10^pow.
func (d dec) toBig() (*big.Int, int) {
	if d.digits == "" {
		return new(big.Int), 0
	}
	m, _ := new(big.Int).SetString(d.digits, 10)
	if d.neg {
		m.Neg(m)
	}
	return m, d.exp - len(d.digits)
}

var ten = big.NewInt(10)

// AddNum returns a+b (a-b when subtract) exactly, with DynamoDB's range
// checks on the result. Both must be numbers.
func AddNum(a, b string, subtract bool) (Value, error) {
	x, err := parseDec(a)
	if err != nil {
		return Value{}, err
	}
	y, err := parseDec(b)
	if err != nil {
		return Value{}, err
	}
	mx, px := x.toBig()
	my, py := y.toBig()
	// Operands are range-checked, so the scale gap is a few hundred digits.
	if px > py {
		mx.Mul(mx, new(big.Int).Exp(ten, big.NewInt(int64(px-py)), nil))
		px = py
	} else if py > px {
		my.Mul(my, new(big.Int).Exp(ten, big.NewInt(int64(py-px)), nil))
	}
	if subtract {
		mx.Sub(mx, my)
	} else {
		mx.Add(mx, my)
	}
	s := mx.String()
	if px != 0 && s != "0" {
		s += "e" + itoa(px)
	}
	d, err := parseDec(s)
	if err != nil {
		return Value{}, err
	}
	if err := d.check(); err != nil {
		return Value{}, err
	}
	return Value{Type: N, Str: d.String()}, nil
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }
