package dynamodb

import (
	"maps"
	"slices"
	"testing"
)

func TestPathHeads(t *testing.T) {
	names := map[string]string{"#o": "leaseOwner", "#c": "child"}
	cases := map[string][]string{
		"leaseOwner = :o":                                     {"leaseOwner"},
		"#o = :o AND attribute_exists(a.b[2].#c)":             {"a", "leaseOwner"},
		"size(x) > :n OR NOT begins_with(#c, :p)":             {"child", "x"},
		"a BETWEEN :lo AND :hi and b in (:x, :y)":             {"a", "b"},
		"contains (s, :v) and m.n.o <> :z":                    {"m", "s"},
		"attribute_type(q, :t) AND r[0] = :v AND u.v[1] = :w": {"q", "r", "u"},
	}
	for text, want := range cases {
		got := slices.Sorted(maps.Keys(pathHeads(text, names)))
		if !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}

func TestCoerceBools(t *testing.T) {
	out, ok := coerceBools([]byte(`{"M":{"a":{"BOOL":"yes"},"b":{"L":[{"NULL":"1"}]}}}`))
	if !ok || string(out) != `{"M":{"a":{"BOOL":true},"b":{"L":[{"NULL":true}]}}}` {
		t.Fatalf("%s %v", out, ok)
	}
	if _, ok := coerceBools([]byte(`{"S":"yes"}`)); ok {
		t.Fatal("S coerced")
	}
}
