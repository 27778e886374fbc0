package cloudwatch

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Metric math, the subset Rivulet evaluates: query ids, numbers,
// + - * / with parentheses and unary minus, [a, b] arrays, and the
// functions SUM, AVG, MIN, MAX over a time series or an array, and
// METRICS() or METRICS("text").

// exprNode is a parsed expression.
type exprNode interface{ isExpr() }

type (
	numExpr  float64
	refExpr  string
	negExpr  struct{ x exprNode }
	listExpr []exprNode
	binExpr  struct {
		op   byte
		l, r exprNode
	}
	callExpr struct {
		fn   string
		args []exprNode
		// filter is METRICS's string argument.
		filter    string
		hasFilter bool
	}
)

func (numExpr) isExpr()  {}
func (refExpr) isExpr()  {}
func (negExpr) isExpr()  {}
func (listExpr) isExpr() {}
func (binExpr) isExpr()  {}
func (callExpr) isExpr() {}

// exprError is a syntax or evaluation error, without its query.
type exprError struct{ msg string }

func (e *exprError) Error() string { return e.msg }

func exprErrorf(format string, args ...any) *exprError {
	return &exprError{fmt.Sprintf(format, args...)}
}

var functions = map[string]bool{"SUM": true, "AVG": true, "MIN": true, "MAX": true, "METRICS": true}

// maxExprDepth bounds nesting, so no input can exhaust the stack.
const maxExprDepth = 64

type exprParser struct {
	s     string
	i     int
	depth int
}

// parseExpr parses a metric math expression.
func parseExpr(s string) (exprNode, error) {
	p := &exprParser{s: s}
	n, err := p.sum()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, exprErrorf("Unexpected character %q at position %d.", p.s[p.i], p.i+1)
	}
	return n, nil
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// peek is the next non-space byte, or 0 at the end.
func (p *exprParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *exprParser) enter() error {
	p.depth++
	if p.depth > maxExprDepth {
		return exprErrorf("The expression is nested too deeply.")
	}
	return nil
}

func (p *exprParser) sum() (exprNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.product()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '+' && c != '-' {
			return l, nil
		}
		p.i++
		r, err := p.product()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: c, l: l, r: r}
	}
}

func (p *exprParser) product() (exprNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		c := p.peek()
		if c != '*' && c != '/' {
			return l, nil
		}
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = binExpr{op: c, l: l, r: r}
	}
}

func (p *exprParser) unary() (exprNode, error) {
	switch p.peek() {
	case '-':
		p.i++
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return negExpr{x}, nil
	case '+':
		p.i++
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		return p.unary()
	}
	return p.primary()
}

func (p *exprParser) primary() (exprNode, error) {
	c := p.peek()
	switch {
	case c == 0:
		return nil, exprErrorf("Unexpected end of expression.")
	case c == '(':
		p.i++
		n, err := p.sum()
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, exprErrorf("Expected ')' at position %d.", p.i+1)
		}
		p.i++
		return n, nil
	case c == '[':
		p.i++
		var l listExpr
		for {
			n, err := p.sum()
			if err != nil {
				return nil, err
			}
			l = append(l, n)
			switch p.peek() {
			case ',':
				p.i++
				continue
			case ']':
				p.i++
				return l, nil
			}
			return nil, exprErrorf("Expected ',' or ']' at position %d.", p.i+1)
		}
	case c >= '0' && c <= '9' || c == '.':
		return p.number()
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := p.i
		for p.i < len(p.s) && isIdentByte(p.s[p.i]) {
			p.i++
		}
		name := p.s[start:p.i]
		if p.peek() != '(' {
			return refExpr(name), nil
		}
		p.i++
		return p.call(name)
	}
	return nil, exprErrorf("Unexpected character %q at position %d.", c, p.i+1)
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *exprParser) number() (exprNode, error) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' || c == '.' {
			p.i++
			continue
		}
		if (c == 'e' || c == 'E') && p.i+1 < len(p.s) {
			j := p.i + 1
			if p.s[j] == '+' || p.s[j] == '-' {
				j++
			}
			if j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
				p.i = j
				continue
			}
		}
		break
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, exprErrorf("Invalid number %q.", p.s[start:p.i])
	}
	return numExpr(f), nil
}

// call parses a function's arguments after its '('.
func (p *exprParser) call(name string) (exprNode, error) {
	fn := strings.ToUpper(name)
	if !functions[fn] {
		return nil, exprErrorf("Unsupported function %s: Rivulet evaluates SUM, AVG, MIN, MAX and METRICS.", name)
	}
	c := callExpr{fn: fn}
	if fn == "METRICS" {
		switch p.peek() {
		case ')':
			p.i++
			return c, nil
		case '"', '\'':
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			if p.peek() != ')' {
				return nil, exprErrorf("Expected ')' at position %d.", p.i+1)
			}
			p.i++
			c.filter, c.hasFilter = s, true
			return c, nil
		}
		return nil, exprErrorf("METRICS takes no argument or one string.")
	}
	if p.peek() == ')' {
		return nil, exprErrorf("%s takes one argument.", fn)
	}
	n, err := p.sum()
	if err != nil {
		return nil, err
	}
	if p.peek() != ')' {
		return nil, exprErrorf("%s takes one argument.", fn)
	}
	p.i++
	c.args = []exprNode{n}
	return c, nil
}

func (p *exprParser) str() (string, error) {
	q := p.s[p.i]
	p.i++
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != q {
		p.i++
	}
	if p.i >= len(p.s) {
		return "", exprErrorf("Unterminated string.")
	}
	s := p.s[start:p.i]
	p.i++
	return s, nil
}

// refs lists the ids an expression names.
func refs(n exprNode, out []string) []string {
	switch n := n.(type) {
	case refExpr:
		out = append(out, string(n))
	case negExpr:
		out = refs(n.x, out)
	case binExpr:
		out = refs(n.r, refs(n.l, out))
	case listExpr:
		for _, e := range n {
			out = refs(e, out)
		}
	case callExpr:
		for _, e := range n.args {
			out = refs(e, out)
		}
	}
	return out
}

// Values of expressions.

type valueKind int

const (
	kindScalar valueKind = iota
	kindSeries           // one time series
	kindArray            // an array of time series
)

// tseries is a time series: values by timestamp (epoch milliseconds).
type tseries struct {
	label  string
	points map[int64]float64
}

type exprValue struct {
	kind   valueKind
	scalar float64
	series []*tseries // one for kindSeries
}

// exprEnv is what the evaluator needs of the request.
type exprEnv struct {
	// metricIDs are the MetricStat queries' ids, in request order
	// (METRICS()).
	metricIDs []string
	// lookup is a query's value by id, evaluating expressions once.
	lookup func(id string) (exprValue, error)
}

func (env *exprEnv) eval(n exprNode) (exprValue, error) {
	switch n := n.(type) {
	case numExpr:
		return exprValue{kind: kindScalar, scalar: float64(n)}, nil
	case refExpr:
		return env.lookup(string(n))
	case negExpr:
		x, err := env.eval(n.x)
		if err != nil {
			return exprValue{}, err
		}
		return binary('*', exprValue{kind: kindScalar, scalar: -1}, x)
	case binExpr:
		l, err := env.eval(n.l)
		if err != nil {
			return exprValue{}, err
		}
		r, err := env.eval(n.r)
		if err != nil {
			return exprValue{}, err
		}
		return binary(n.op, l, r)
	case listExpr:
		out := exprValue{kind: kindArray}
		for _, e := range n {
			v, err := env.eval(e)
			if err != nil {
				return exprValue{}, err
			}
			if v.kind == kindScalar {
				return exprValue{}, exprErrorf("An array holds time series, not numbers.")
			}
			out.series = append(out.series, v.series...)
		}
		return out, nil
	case callExpr:
		if n.fn == "METRICS" {
			out := exprValue{kind: kindArray}
			for _, id := range env.metricIDs {
				if n.hasFilter && !strings.Contains(id, n.filter) {
					continue
				}
				v, err := env.lookup(id)
				if err != nil {
					return exprValue{}, err
				}
				out.series = append(out.series, v.series...)
			}
			return out, nil
		}
		x, err := env.eval(n.args[0])
		if err != nil {
			return exprValue{}, err
		}
		return reduce(n.fn, x), nil
	}
	return exprValue{}, exprErrorf("Unknown expression.")
}

func apply(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	}
	return a / b
}

// binary applies an arithmetic operator. Two time series combine at the
// timestamps both have; a number applies to every value.
func binary(op byte, l, r exprValue) (exprValue, error) {
	switch {
	case l.kind == kindScalar && r.kind == kindScalar:
		return exprValue{kind: kindScalar, scalar: apply(op, l.scalar, r.scalar)}, nil
	case l.kind == kindArray && r.kind == kindArray:
		return exprValue{}, exprErrorf("Arithmetic between two arrays of time series is not supported.")
	case l.kind == kindScalar || r.kind == kindScalar:
		ts, x, scalarLeft := r, l.scalar, true
		if r.kind == kindScalar {
			ts, x, scalarLeft = l, r.scalar, false
		}
		out := exprValue{kind: ts.kind}
		for _, s := range ts.series {
			n := &tseries{label: s.label, points: make(map[int64]float64, len(s.points))}
			for t, v := range s.points {
				if scalarLeft {
					n.points[t] = apply(op, x, v)
				} else {
					n.points[t] = apply(op, v, x)
				}
			}
			out.series = append(out.series, n)
		}
		return out, nil
	}
	// A single series with a single series or an array.
	one, many, oneLeft := l, r, true
	if l.kind == kindArray {
		one, many, oneLeft = r, l, false
	}
	a := one.series[0]
	out := exprValue{kind: many.kind}
	for _, s := range many.series {
		n := &tseries{label: s.label, points: map[int64]float64{}}
		if many.kind == kindSeries {
			n.label = ""
		}
		for t, v := range s.points {
			av, ok := a.points[t]
			if !ok {
				continue
			}
			if oneLeft {
				n.points[t] = apply(op, av, v)
			} else {
				n.points[t] = apply(op, v, av)
			}
		}
		out.series = append(out.series, n)
	}
	return out, nil
}

// reduce applies SUM, AVG, MIN or MAX: over one series' values it gives
// a number, over an array one series, reducing the values present at
// each timestamp.
func reduce(fn string, x exprValue) exprValue {
	switch x.kind {
	case kindScalar:
		return x
	case kindSeries:
		pts := x.series[0].points
		vals := make([]float64, 0, len(pts))
		for _, t := range sortedTimes(pts) {
			vals = append(vals, pts[t])
		}
		return exprValue{kind: kindScalar, scalar: fold(fn, vals)}
	}
	byTime := map[int64][]float64{}
	for _, s := range x.series {
		for t, v := range s.points {
			byTime[t] = append(byTime[t], v)
		}
	}
	out := &tseries{points: make(map[int64]float64, len(byTime))}
	for t, vals := range byTime {
		out.points[t] = fold(fn, vals)
	}
	return exprValue{kind: kindSeries, series: []*tseries{out}}
}

// fold reduces values; none is NaN, which results leave out.
func fold(fn string, vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	acc := vals[0]
	switch fn {
	case "SUM", "AVG":
		acc = 0
		for _, v := range vals {
			acc += v
		}
		if fn == "AVG" {
			acc /= float64(len(vals))
		}
	case "MIN":
		for _, v := range vals[1:] {
			acc = math.Min(acc, v)
		}
	case "MAX":
		for _, v := range vals[1:] {
			acc = math.Max(acc, v)
		}
	}
	return acc
}

func sortedTimes(points map[int64]float64) []int64 {
	return slices.Sorted(maps.Keys(points))
}
