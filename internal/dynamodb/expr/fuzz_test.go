package expr

import (
	"encoding/json"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// fuzzValues are what :placeholders stand for, picked by name length.
var fuzzValues = []string{`{"N":"1"}`, `{"S":"a"}`, `{"SS":["a","b"]}`, `{"L":[{"N":"1"},{"S":"a"}]}`,
	`{"M":{"a":{"N":"2"}}}`, `{"NS":["1"]}`, `{"B":"AA=="}`, `{"BOOL":true}`, `{"NULL":true}`, `{"BS":["AA=="]}`, `{"S":"N"}`}

// placeholders maps every #name and :value in s, so fuzzed expressions
// get past the undefined-placeholder checks and reach evaluation.
func placeholders(s string) (map[string]string, map[string]item.Value) {
	var names map[string]string
	var values map[string]item.Value
	for _, t := range lex(s) {
		switch t.kind {
		case tName:
			if names == nil {
				names = map[string]string{}
			}
			names[t.text] = []string{"a", "b", "l", "m"}[len(t.text)%4]
		case tValue:
			if values == nil {
				values = map[string]item.Value{}
			}
			var v item.Value
			_ = json.Unmarshal([]byte(fuzzValues[len(t.text)%len(fuzzValues)]), &v)
			values[t.text] = v
		}
	}
	return names, values
}

func FuzzParse(f *testing.F) {
	f.Add(uint8(0), "a = :v AND (b.c[1] <> :w OR NOT attribute_exists(#n))", `{"a":{"N":"1"}}`)
	f.Add(uint8(0), "size(l) BETWEEN :a AND :bb AND begins_with(m.a, :c) AND a IN (:d, :e)", `{"l":{"L":[]}}`)
	f.Add(uint8(0), "contains(#a, :v) OR attribute_type(b, :vvvvvvvvvvv)", `{"b":{"SS":["a"]}}`)
	f.Add(uint8(1), "SET a = a + :v, b = list_append(if_not_exists(l, :vvv), :vvv) REMOVE m.a, l[0] ADD n :v DELETE s :vv", `{"a":{"N":"1"},"l":{"L":[]}}`)
	f.Add(uint8(1), "SET #a.b[2] = :v - a", `{"a":{"M":{"b":{"L":[]}}}}`)
	f.Add(uint8(2), "a, b.c[1], #m", `{"b":{"M":{"c":{"L":[{"N":"1"}]}}}}`)
	f.Add(uint8(3), "h = :v AND r BETWEEN :v AND :w", `{}`)
	f.Fuzz(func(t *testing.T, kind uint8, s, doc string) {
		names, values := placeholders(s)
		in := Input{Names: names, Values: values}
		switch kind % 5 {
		case 0:
			in.Condition = &s
		case 1:
			in.Update = &s
		case 2:
			in.Projection = &s
		case 3:
			in.KeyCondition = &s
		case 4:
			in.Filter = &s
		}
		c, err := Compile(in)
		if err != nil {
			if _, ok := err.(*item.Error); !ok {
				t.Fatalf("error %T", err)
			}
			return
		}
		var it item.Item
		_ = json.Unmarshal([]byte(doc), &it)
		for _, x := range []item.Item{it, nil, itm(t, fuzzDoc)} {
			if c.Condition != nil {
				_, _ = c.Condition.Eval(x)
			}
			if c.Filter != nil {
				_, _ = c.Filter.Eval(x)
			}
			if c.Update != nil {
				_, _ = c.Update.Apply(x)
				_ = c.Update.Paths()
			}
			if c.Projection != nil {
				_ = c.Projection.Apply(x)
			}
			if c.KeyCondition != nil {
				_, _ = c.KeyCondition.Eval(x)
				if _, r, err := c.KeyCondition.Key("h", "r"); err == nil && r != nil {
					_, _ = r.Eval(x)
				}
			}
		}
	})
}

const fuzzDoc = `{"a":{"N":"1"},"b":{"S":"a"},"l":{"L":[{"N":"1"},{"M":{"a":{"S":"x"}}}]},"m":{"M":{"a":{"N":"2"},"b":{"L":[]}}},
"s":{"SS":["a"]},"n":{"NS":["1"]},"h":{"S":"k"},"r":{"N":"3"}}`
