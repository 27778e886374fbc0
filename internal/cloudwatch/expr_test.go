package cloudwatch

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
)

// testEnv has m1 = {1:1, 2:2, 3:3}, m2 = {2:10, 3:20, 4:30}, e2 = m1*2.
func testEnv() *exprEnv {
	vals := map[string]exprValue{
		"m1": {kind: kindSeries, series: []*tseries{{label: "m1", points: map[int64]float64{1: 1, 2: 2, 3: 3}}}},
		"m2": {kind: kindSeries, series: []*tseries{{label: "m2", points: map[int64]float64{2: 10, 3: 20, 4: 30}}}},
	}
	env := &exprEnv{metricIDs: []string{"m1", "m2"}}
	env.lookup = func(id string) (exprValue, error) {
		if id == "e2" {
			n, _ := parseExpr("m1 * 2")
			return env.eval(n)
		}
		v, ok := vals[id]
		if !ok {
			return exprValue{}, exprErrorf("Unknown metric or expression id %q.", id)
		}
		return v, nil
	}
	return env
}

// render writes a value as "3" or "{1:2 3:4}" or "[{..} {..}]".
func render(v exprValue) string {
	one := func(s *tseries) string {
		var ts []int64
		for t := range s.points {
			ts = append(ts, t)
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		var parts []string
		for _, t := range ts {
			parts = append(parts, fmt.Sprintf("%d:%g", t, s.points[t]))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	switch v.kind {
	case kindScalar:
		return fmt.Sprintf("%g", v.scalar)
	case kindSeries:
		return one(v.series[0])
	}
	var parts []string
	for _, s := range v.series {
		parts = append(parts, one(s))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestExpressions(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 / 4 - -1", "3.5"},
		{"2e3 + .5", "2000.5"},
		{"m1", "{1:1 2:2 3:3}"},
		{"-m1", "{1:-1 2:-2 3:-3}"},
		{"m1 * 2 + 1", "{1:3 2:5 3:7}"},
		{"10 - m1", "{1:9 2:8 3:7}"},
		{"m1 + m2", "{2:12 3:23}"},
		{"m2 / m1", "{2:5 3:6.666666666666667}"},
		{"e2 - m1", "{1:1 2:2 3:3}"},
		{"SUM(m1)", "6"},
		{"AVG(m2)", "20"},
		{"MIN(m2) + MAX(m1)", "13"},
		{"SUM(METRICS())", "{1:1 2:12 3:23 4:30}"},
		{"AVG(METRICS())", "{1:1 2:6 3:11.5 4:30}"},
		{"MAX([m1, m2])", "{1:1 2:10 3:20 4:30}"},
		{"MIN([m1, m2])", "{1:1 2:2 3:3 4:30}"},
		{`SUM(METRICS("2"))`, "{2:10 3:20 4:30}"},
		{`SUM(METRICS('nothing'))`, "{}"},
		{"METRICS() * 2", "[{1:2 2:4 3:6} {2:20 3:40 4:60}]"},
		{"m1 + METRICS()", "[{1:2 2:4 3:6} {2:12 3:23}]"},
		{"[m1, m2]", "[{1:1 2:2 3:3} {2:10 3:20 4:30}]"},
		{"sum(m1)", "6"},
		{"SUM(5)", "5"},
	} {
		n, err := parseExpr(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		v, err := testEnv().eval(n)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := render(v); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
	if v, _ := testEnv().eval(numExpr(1)); v.kind != kindScalar {
		t.Error("a number is a scalar")
	}
	n, _ := parseExpr("SUM(METRICS('nothing'))")
	if v, _ := testEnv().eval(n); v.kind != kindSeries || len(v.series[0].points) != 0 {
		t.Errorf("an empty array sums to an empty series: %s", render(v))
	}
	n, _ = parseExpr("SUM(m1 / 0)")
	if v, _ := testEnv().eval(n); !math.IsInf(v.scalar, 1) {
		t.Errorf("division by zero: %v", v.scalar)
	}
}

func TestExpressionErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "Unexpected end of expression."},
		{"1 +", "Unexpected end of expression."},
		{"(m1", "Expected ')' at position 4."},
		{"m1 m2", `Unexpected character 'm' at position 4.`},
		{"FOO(m1)", "Unsupported function FOO: Rivulet evaluates SUM, AVG, MIN, MAX and METRICS."},
		{"SUM()", "SUM takes one argument."},
		{"SUM(m1, m2)", "SUM takes one argument."},
		{"METRICS(m1)", "METRICS takes no argument or one string."},
		{`METRICS("x`, "Unterminated string."},
		{"[m1 m2]", "Expected ',' or ']' at position 5."},
		{"1.2.3", `Invalid number "1.2.3".`},
		{"m1 # 2", "Unexpected character '#' at position 4."},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), "The expression is nested too deeply."},
		{strings.Repeat("-", 100) + "1", "The expression is nested too deeply."},
	} {
		_, err := parseExpr(tc.expr)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %q", tc.expr, err, tc.want)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{"[m1, m2] + METRICS()", "Arithmetic between two arrays of time series is not supported."},
		{"[m1, 2]", "An array holds time series, not numbers."},
		{"m3 + 1", `Unknown metric or expression id "m3".`},
	} {
		n, err := parseExpr(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if _, err := testEnv().eval(n); err == nil || err.Error() != tc.want {
			t.Errorf("%q: %v, want %q", tc.expr, err, tc.want)
		}
	}
}
