package item

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNum(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"1", "1", ""},
		{"01.50", "1.5", ""},
		{"-0", "0", ""},
		{"0.000", "0", ""},
		{"-1.2300e2", "-123", ""},
		{".5", "0.5", ""},
		{"5.", "5", ""},
		{"1E+3", "1000", ""},
		{"12e-5", "0.00012", ""},
		{"1e125", "1" + strings.Repeat("0", 125), ""},
		{"9.9999999999999999999999999999999999999e125", "99999999999999999999999999999999999999" + strings.Repeat("0", 88), ""},
		{"1e-130", "0." + strings.Repeat("0", 129) + "1", ""},
		{"0e999999999999999999", "0", ""},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678", ""},
		{"1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000", ""},
		{"", "", "The parameter cannot be converted to a numeric value"},
		{"abc", "", "The parameter cannot be converted to a numeric value: abc"},
		{"+1", "", "The parameter cannot be converted to a numeric value: +1"},
		{"1e", "", "The parameter cannot be converted to a numeric value: 1e"},
		{" 1", "", "The parameter cannot be converted to a numeric value:  1"},
		{"NaN", "", "The parameter cannot be converted to a numeric value: NaN"},
		{"1e126", "", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{"1e-131", "", "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
		{"123456789012345678901234567890123456789", "", "Attempting to store more than 38 significant digits in a Number"},
	} {
		v, err := Num(c.in)
		if c.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Message != c.err {
				t.Errorf("Num(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || v.Str != c.want || v.Type != N {
			t.Errorf("Num(%q) = %q, %v; want %q", c.in, v.Str, err, c.want)
		}
	}
}

func TestAddNum(t *testing.T) {
	for _, c := range []struct {
		a, b string
		sub  bool
		want string
		err  string
	}{
		{"1", "2", false, "3", ""},
		{"0.1", "0.2", false, "0.3", ""},
		{"1", "1.5", true, "-0.5", ""},
		{"1e125", "-1e125", false, "0", ""},
		{"-5", "5", false, "0", ""},
		{"99999999999999999999999999999999999999", "1", false, "100000000000000000000000000000000000000", ""},
		{"1e100", "1", false, "", "Attempting to store more than 38 significant digits in a Number"},
		{"9e125", "9e125", false, "", "Number overflow. Attempting to store a number with magnitude larger than supported range"},
	} {
		v, err := AddNum(c.a, c.b, c.sub)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("AddNum(%s,%s) err = %v, want %q", c.a, c.b, err, c.err)
			}
			continue
		}
		if err != nil || v.Str != c.want {
			t.Errorf("AddNum(%s,%s,%v) = %q,%v want %q", c.a, c.b, c.sub, v.Str, err, c.want)
		}
	}
}

func mustNum(t testing.TB, s string) Value {
	v, err := Num(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJSONRoundTrip(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{`{"S":"a"}`, `{"S":"a"}`},
		{`{"S":""}`, `{"S":""}`},
		{`{"N":"01.50"}`, `{"N":"1.5"}`},
		{`{"B":"AAEC"}`, `{"B":"AAEC"}`},
		{`{"BOOL":false}`, `{"BOOL":false}`},
		{`{"NULL":true}`, `{"NULL":true}`},
		{`{"SS":["b","a"]}`, `{"SS":["b","a"]}`},
		{`{"NS":["1","2.0"]}`, `{"NS":["1","2"]}`},
		{`{"BS":["AA==","AQ=="]}`, `{"BS":["AA==","AQ=="]}`},
		{`{"L":[{"S":"x"},{"L":[]}]}`, `{"L":[{"S":"x"},{"L":[]}]}`},
		{`{"M":{"b":{"N":"1"},"a":{"M":{}}}}`, `{"M":{"a":{"M":{}},"b":{"N":"1"}}}`},
		{`{"S":"a","X":"ignored"}`, `{"S":"a"}`},
		{`{"S":"a","N":null}`, `{"S":"a"}`},
	} {
		var v Value
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil || string(b) != c.out {
			t.Errorf("%s: marshal = %s, %v; want %s", c.in, b, err, c.out)
		}
		var w Value
		if err := json.Unmarshal(b, &w); err != nil || !Equal(v, w) {
			t.Errorf("%s: re-decode %v, equal=%v", c.in, err, Equal(v, w))
		}
	}
}

func TestJSONErrors(t *testing.T) {
	deep := strings.Repeat(`{"L":[`, 40) + `{"S":"x"}` + strings.Repeat(`]}`, 40)
	for _, c := range []struct{ in, err string }{
		{`{}`, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"},
		{`{"S":"a","N":"1"}`, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"},
		{`{"NS":[]}`, "One or more parameter values were invalid: An number set  may not be empty"},
		{`{"SS":[]}`, "One or more parameter values were invalid: An string set  may not be empty"},
		{`{"BS":[]}`, "One or more parameter values were invalid: Binary sets should not be empty"},
		{`{"SS":["a","b","a"]}`, "One or more parameter values were invalid: Input collection [a, b, a] contains duplicates."},
		{`{"NS":["1","1.0"]}`, "Input collection contains duplicates"},
		{`{"BS":["YQ==","YQ=="]}`, "One or more parameter values were invalid: Input collection [YQ==, YQ==]of type BS contains duplicates."},
		{`{"NULL":false}`, "One or more parameter values were invalid: Null attribute value types must have the value of true"},
		{`{"N":"x"}`, "The parameter cannot be converted to a numeric value: x"},
		{`{"M":{"a":{"N":"1e200"}}}`, "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{deep, ErrDepth},
	} {
		var v Value
		err := json.Unmarshal([]byte(c.in), &v)
		var e *Error
		if !errors.As(err, &e) || e.Message != c.err {
			t.Errorf("%s: err = %v, want %q", c.in, err, c.err)
		}
	}
	// Wrong JSON shapes are not validation errors.
	for _, in := range []string{`{"S":1}`, `{"B":"!!!"}`, `{"L":{}}`, `[1]`, `"x"`, `{"BOOL":"x"}`, `{"S":"a"`} {
		var v Value
		err := json.Unmarshal([]byte(in), &v)
		var e *Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("%s: err = %v, want a non-validation error", in, err)
		}
	}
}

func TestNestingLimit(t *testing.T) {
	wrap := func(n int) string {
		return strings.Repeat(`{"M":{"n":`, n) + `{"S":"leaf"}` + strings.Repeat(`}}`, n)
	}
	var v Value
	if err := json.Unmarshal([]byte(wrap(31)), &v); err != nil {
		t.Errorf("leaf at level 32: %v", err)
	}
	if err := json.Unmarshal([]byte(wrap(32)), &v); err == nil || err.Error() != ErrDepth {
		t.Errorf("leaf at level 33: %v", err)
	}
	// Decode counts the item's own map as level 0, like an attribute's parent.
	if _, err := Decode([]byte(`{"M":{"a":` + wrap(31) + `}}`)); err != nil {
		t.Errorf("stored item with a 32-level attribute: %v", err)
	}
}

func TestEqualCompare(t *testing.T) {
	n1, n15 := mustNum(t, "1"), mustNum(t, "1.5")
	raw := Value{Type: N, Str: "1.0"} // not canonical: still equal by value
	if !Equal(n1, raw) || Equal(n1, n15) || Equal(n1, Str("1")) {
		t.Error("number equality")
	}
	if !Equal(Value{Type: SS, Strs: []string{"a", "b"}}, Value{Type: SS, Strs: []string{"b", "a"}}) {
		t.Error("set order")
	}
	if Equal(Value{Type: SS, Strs: []string{"a", "a"}}, Value{Type: SS, Strs: []string{"a", "b"}}) {
		t.Error("set multiplicity")
	}
	if !Equal(Value{Type: NS, Strs: []string{"1", "2"}}, Value{Type: NS, Strs: []string{"2.0", "1"}}) {
		t.Error("NS by value")
	}
	if !Equal(Value{Type: BS, Blobs: [][]byte{{1}, {2}}}, Value{Type: BS, Blobs: [][]byte{{2}, {1}}}) {
		t.Error("BS order")
	}
	m1 := Value{Type: M, Map: map[string]Value{"a": {Type: L, List: []Value{n1, Null()}}}}
	if !Equal(m1, m1.Clone()) || Equal(m1, Value{Type: M, Map: map[string]Value{}}) {
		t.Error("map equality")
	}
	for _, c := range []struct {
		a, b Value
		c    int
		ok   bool
	}{
		{mustNum(t, "-10"), mustNum(t, "9"), -1, true},
		{mustNum(t, "10"), mustNum(t, "9"), 1, true},
		{mustNum(t, "0.001"), mustNum(t, "0.01"), -1, true},
		{mustNum(t, "-0.001"), mustNum(t, "-0.01"), 1, true},
		{mustNum(t, "100"), mustNum(t, "1e2"), 0, true},
		{Str("a"), Str("b"), -1, true},
		{Str("é"), Str("z"), 1, true},
		{Bin([]byte{0xff}), Bin([]byte{1}), 1, true},
		{Str("1"), n1, 0, false},
		{Bool(true), Bool(true), 0, false},
	} {
		got, ok := Compare(c.a, c.b)
		if got != c.c || ok != c.ok {
			t.Errorf("Compare(%v,%v) = %d,%v want %d,%v", c.a, c.b, got, ok, c.c, c.ok)
		}
	}
}

// Number sizes as measured against DynamoDB itself (by a public
// conformance suite, at the 400 KB item limit, to the byte).
func TestNumberSize(t *testing.T) {
	for _, c := range []struct {
		n    string
		want int
	}{
		{"0", 1}, {"1", 2}, {"12", 2}, {"123", 3}, {"1234", 3},
		{"12345678901234567890123456789012345678", 20}, {"0042", 2}, {"100", 2},
		{"1010", 3}, {"0.0000001", 2}, {"1E125", 2}, {"1E-100", 2}, {"1.5", 3},
		{"15", 2}, {"1.2", 3}, {"1.200", 3}, {"1.234", 4}, {"3.14159", 5},
		{"123456", 4}, {"100.5", 4}, {"0.15", 2}, {"-42", 3}, {"-0", 1},
	} {
		if got := mustNum(t, c.n).Size(); got != c.want {
			t.Errorf("size of %s = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestSizes(t *testing.T) {
	for _, c := range []struct {
		v    Value
		want int
	}{
		{Str("abc"), 3},
		{Str("é"), 2},
		{Bin([]byte{1, 2}), 2},
		{mustNum(t, "0"), 1},
		{mustNum(t, "1"), 2},
		{mustNum(t, "12"), 2},
		{mustNum(t, "1.2"), 3},
		{mustNum(t, "123"), 3},
		{mustNum(t, "-1"), 3},
		{Null(), 1},
		{Bool(true), 1},
		{Value{Type: SS, Strs: []string{"ab", "c"}}, 3},
		{Value{Type: L, List: []Value{Str("ab"), Null()}}, 3 + 3 + 2},
		{Value{Type: M, Map: map[string]Value{"k": Str("ab")}}, 3 + 1 + 1 + 2},
	} {
		if got := c.v.Size(); got != c.want {
			t.Errorf("Size(%+v) = %d, want %d", c.v, got, c.want)
		}
	}
	if got := ItemSize(Item{"ab": Str("xyz"), "c": Null()}); got != 2+3+1+1 {
		t.Errorf("ItemSize = %d", got)
	}
}

func TestKeyAndStorage(t *testing.T) {
	r := mustNum(t, "1")
	raw := Value{Type: N, Str: "1.00"}
	if string(Key(Str("a"), &r)) != string(Key(Str("a"), &raw)) {
		t.Error("equal numbers must give equal keys")
	}
	// Length prefixes keep ("ab","c") and ("a","bc") apart.
	x, y := Str("c"), Str("bc")
	if string(Key(Str("ab"), &x)) == string(Key(Str("a"), &y)) {
		t.Error("key collision")
	}
	if string(Key(Str("1"), nil)) == string(Key(r, nil)) {
		t.Error("types must differ")
	}
	it := Item{"h": Str("k"), "n": r, "m": {Type: M, Map: map[string]Value{"l": {Type: L, List: []Value{Bin([]byte{1})}}}}}
	b, err := Encode(it)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil || !Equal(Value{Type: M, Map: back}, Value{Type: M, Map: it}) {
		t.Fatalf("Decode = %v, %v", back, err)
	}
	c := it.Clone()
	c["m"].Map["l"].List[0].Bytes[0] = 9
	if it["m"].Map["l"].List[0].Bytes[0] != 1 {
		t.Error("Clone shares memory")
	}
	if _, err := Decode([]byte("nope")); err == nil {
		t.Error("Decode accepted garbage")
	}
	// Every type, including the empty and false ones, survives storage.
	var all Value
	if err := json.Unmarshal([]byte(`{"M":{"s":{"S":""},"b":{"B":""},"t":{"BOOL":false},"z":{"NULL":true},
		"n":{"N":"-1.5"},"ss":{"SS":["a"]},"ns":{"NS":["1"]},"bs":{"BS":["AA=="]},"l":{"L":[]},"m":{"M":{}},
		"deep":{"L":[{"M":{"x":{"L":[{"B":"AQ=="}]}}}]}}}`), &all); err != nil {
		t.Fatal(err)
	}
	enc, err := Encode(all.Map)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := Decode(enc)
	if err != nil || !Equal(Value{Type: M, Map: dec}, all) {
		t.Fatalf("stored round trip: %v, %v", dec, err)
	}
	for _, bad := range []string{`{"M":{"a":{}}}`, `{"S":"x"}`, `{"M":{"a":null}}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
}

func TestTypeString(t *testing.T) {
	for ty := S; ty <= BS; ty++ {
		back, ok := ParseType(ty.String())
		if !ok || back != ty {
			t.Errorf("%v round trip", ty)
		}
	}
}

func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{`{"S":"a"}`, `{"N":"-1.5e3"}`, `{"M":{"a":{"L":[{"NULL":true},{"BS":["AA=="]}]}}}`,
		`{"NS":["1","2"]}`, `{"SS":["a","a"]}`, `{}`, `{"B":"AAEC"}`, `{"BOOL":true,"S":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Value
		if err := json.Unmarshal(b, &v); err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var w Value
		if err := json.Unmarshal(out, &w); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		if !Equal(v, w) {
			t.Fatalf("round trip changed %s -> %s", b, out)
		}
		_ = v.Size()
		_ = Key(v, &w)
		// The stored form round-trips too.
		enc, err := Encode(Item{"a": v})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		dec, err := Decode(enc)
		if err != nil || !Equal(dec["a"], v) {
			t.Fatalf("stored round trip of %s: %v", b, err)
		}
	})
}
