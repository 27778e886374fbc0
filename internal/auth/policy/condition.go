package policy

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

type family uint8

const (
	famString family = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famArn
	famNull
)

type cmpKind uint8

const (
	cmpEq cmpKind = iota
	cmpEqFold
	cmpLike
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opInfo struct {
	name    string // AWS's spelling, for messages
	fam     family
	cmp     cmpKind
	negated bool
}

// operators is keyed by lower-case name: the lookup is case-insensitive
// (AWS does not document whether operator names are; accepting more is
// harmless, rejecting a policy AWS takes is not).
var operators = func() map[string]opInfo {
	list := []opInfo{
		{"StringEquals", famString, cmpEq, false},
		{"StringNotEquals", famString, cmpEq, true},
		{"StringEqualsIgnoreCase", famString, cmpEqFold, false},
		{"StringNotEqualsIgnoreCase", famString, cmpEqFold, true},
		{"StringLike", famString, cmpLike, false},
		{"StringNotLike", famString, cmpLike, true},
		{"NumericEquals", famNumeric, cmpEq, false},
		{"NumericNotEquals", famNumeric, cmpEq, true},
		{"NumericLessThan", famNumeric, cmpLt, false},
		{"NumericLessThanEquals", famNumeric, cmpLe, false},
		{"NumericGreaterThan", famNumeric, cmpGt, false},
		{"NumericGreaterThanEquals", famNumeric, cmpGe, false},
		{"DateEquals", famDate, cmpEq, false},
		{"DateNotEquals", famDate, cmpEq, true},
		{"DateLessThan", famDate, cmpLt, false},
		{"DateLessThanEquals", famDate, cmpLe, false},
		{"DateGreaterThan", famDate, cmpGt, false},
		{"DateGreaterThanEquals", famDate, cmpGe, false},
		{"Bool", famBool, cmpEq, false},
		{"BinaryEquals", famBinary, cmpEq, false},
		{"IpAddress", famIP, cmpEq, false},
		{"NotIpAddress", famIP, cmpEq, true},
		{"ArnEquals", famArn, cmpLike, false},
		{"ArnLike", famArn, cmpLike, false},
		{"ArnNotEquals", famArn, cmpLike, true},
		{"ArnNotLike", famArn, cmpLike, true},
		{"Null", famNull, cmpEq, false},
	}
	m := make(map[string]opInfo, len(list))
	for _, o := range list {
		m[strings.ToLower(o.name)] = o
	}
	return m
}()

type setKind uint8

const (
	setNone setKind = iota
	setForAll
	setForAny
)

// condition is one operator/key pair with its values compiled for the
// operator's family, so evaluation never reparses policy text.
type condition struct {
	op       opInfo
	opName   string // as written, for messages
	set      setKind
	ifExists bool
	key      string

	strs  []string
	nums  []decimal
	times []time.Time
	bools []bool
	bins  []string
	pfxs  []netip.Prefix
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(name string) (op opInfo, set setKind, ifExists, ok bool) {
	s := name
	if i := strings.IndexByte(s, ':'); i >= 0 {
		switch strings.ToLower(s[:i]) {
		case "forallvalues":
			set = setForAll
		case "foranyvalue":
			set = setForAny
		default:
			return op, 0, false, false
		}
		s = s[i+1:]
	}
	const suffix = "ifexists"
	if len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		ifExists = true
		s = s[:len(s)-len(suffix)]
	}
	op, ok = operators[strings.ToLower(s)]
	if !ok {
		return op, 0, false, false
	}
	// Null tests presence itself, so IfExists and set operators make
	// no sense with it; AWS's docs exclude IfExists explicitly.
	if op.fam == famNull && (ifExists || set != setNone) {
		return op, 0, false, false
	}
	return op, set, ifExists, true
}

// compileValues checks and converts the policy values for c's family.
// Values are strings, numbers or booleans, single or in a list.
func (c *condition) compileValues(vals []string) *Error {
	bad := func(v, what string) *Error {
		return syntaxErr(fmt.Sprintf("Condition %s: %q for key %s is not %s.", c.opName, v, c.key, what))
	}
	for _, v := range vals {
		switch c.op.fam {
		case famString, famArn:
			c.strs = append(c.strs, v)
		case famNumeric:
			d, ok := parseDecimal(v)
			if !ok {
				return bad(v, "a number")
			}
			c.nums = append(c.nums, d)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return bad(v, "a date (ISO 8601 or epoch seconds)")
			}
			c.times = append(c.times, t)
		case famBool, famNull:
			b, ok := parseBool(v)
			if !ok {
				return bad(v, `"true" or "false"`)
			}
			c.bools = append(c.bools, b)
		case famBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return bad(v, "base64")
			}
			c.bins = append(c.bins, string(b))
		case famIP:
			p, ok := parsePrefix(v)
			if !ok {
				return bad(v, "an IP address or CIDR block")
			}
			c.pfxs = append(c.pfxs, p)
		}
	}
	return nil
}

// parsePrefix reads a CIDR block or a bare address (a /32 or /128).
// IPv4-mapped IPv6 forms are unmapped so they compare with IPv4.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, ok := parseAddr(s)
	if !ok {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// eval applies the condition to the request context: values for one key
// are ORed (NOR for negated operators), a missing key is false except
// for negated operators, ...IfExists and ForAllValues, which are true.
func (c *condition) eval(e *evalCtx) bool {
	vals := e.lookup(c.key)
	present := len(vals) > 0
	if c.op.fam == famNull {
		// "true" asks for the key to be absent, "false" for it present.
		for _, b := range c.bools {
			if b != present {
				return true
			}
		}
		return false
	}
	switch c.set {
	case setForAll:
		// AWS: true when the key is missing or its value set is empty.
		for _, v := range vals {
			if !c.one(v) {
				return false
			}
		}
		return true
	case setForAny:
		if !present {
			return c.ifExists
		}
		for _, v := range vals {
			if c.one(v) {
				return true
			}
		}
		return false
	}
	if !present {
		return c.ifExists || c.op.negated
	}
	// A request value set without a set operator is treated like
	// ForAnyValue (NOR for negated operators), so a multi-valued key can
	// only make a positive condition easier to meet by having a value
	// that matches.
	for _, v := range vals {
		if c.matchAny(v) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// one is the per-request-value test of the set operators.
func (c *condition) one(v string) bool {
	return c.matchAny(v) != c.op.negated
}

// matchAny reports whether request value v matches any policy value,
// ignoring negation.
func (c *condition) matchAny(v string) bool {
	switch c.op.fam {
	case famString:
		for _, p := range c.strs {
			switch c.op.cmp {
			case cmpEq:
				if p == v {
					return true
				}
			case cmpEqFold:
				if strings.EqualFold(p, v) {
					return true
				}
			case cmpLike:
				if globOrEqual(p, v) {
					return true
				}
			}
		}
	case famArn:
		for _, p := range c.strs {
			if arnLike(p, v) {
				return true
			}
		}
	case famNumeric:
		d, ok := parseDecimal(v)
		if !ok {
			return false
		}
		for _, p := range c.nums {
			if compareWith(c.op.cmp, cmpDecimal(d, p)) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			if compareWith(c.op.cmp, t.Compare(p)) {
				return true
			}
		}
	case famBool:
		b, ok := parseBool(v)
		if !ok {
			return false
		}
		for _, p := range c.bools {
			if p == b {
				return true
			}
		}
	case famBinary:
		// Context values are strings, so binary keys arrive base64
		// encoded like the policy values.
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return false
		}
		for _, p := range c.bins {
			if p == string(raw) {
				return true
			}
		}
	case famIP:
		a, ok := parseAddr(v)
		if !ok {
			return false
		}
		for _, p := range c.pfxs {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// compareWith turns a three-way comparison (request vs policy value)
// into the operator's answer: DateLessThan means request < policy.
func compareWith(k cmpKind, c int) bool {
	switch k {
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	case cmpGe:
		return c >= 0
	}
	return c == 0
}
