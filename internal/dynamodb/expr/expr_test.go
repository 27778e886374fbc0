package expr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

func sp(s string) *string { return &s }

// vals decodes a DynamoDB JSON map of values.
func vals(t testing.TB, s string) map[string]item.Value {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]item.Value
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func itm(t testing.TB, s string) item.Item {
	t.Helper()
	if s == "" {
		return nil
	}
	var m item.Item
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func errMsg(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *item.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *item.Error", err, err)
	}
	return e.Message
}

const doc = `{"h":{"S":"k"},"n":{"N":"5"},"s":{"S":"hello"},"b":{"B":"AAEC"},"t":{"BOOL":true},"z":{"NULL":true},
"ss":{"SS":["a","b"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AA=="]},
"l":{"L":[{"S":"x"},{"N":"1"},{"M":{"c":{"S":"deep"}}}]},
"m":{"M":{"a":{"N":"1"},"b":{"L":[{"N":"7"}]},"name":{"S":"nm"}}},"u":{"S":"é𝄞a"}}`

const docVals = `{":n5":{"N":"5"},":n4":{"N":"4"},":n6":{"N":"6.0"},":s":{"S":"hello"},":he":{"S":"he"},":ll":{"S":"ll"},
":a":{"S":"a"},":x":{"S":"x"},":one":{"N":"1"},":b0":{"B":"AA=="},":b01":{"B":"AAE="},":ss":{"SS":["b","a"]},
":tS":{"S":"S"},":tN":{"S":"N"},":tM":{"S":"M"},":deep":{"S":"deep"},":seven":{"N":"7"},":t":{"BOOL":true},":null":{"NULL":true}}`

func TestEval(t *testing.T) {
	it := itm(t, doc)
	values := vals(t, docVals)
	for _, c := range []struct {
		expr string
		want bool
	}{
		{"n = :n5", true},
		{"n = :s", false},
		{"n <> :n4", true},
		{"nope <> :n4", true},
		{"nope = :n4", false},
		{"n < :n6 AND n > :n4 AND n <= :n5 AND n >= :n5", true},
		{"s < :n6", false},
		{"s > :he", true},
		{"n BETWEEN :n4 AND :n6", true},
		{"n BETWEEN :one AND :n4", false},
		{"n IN (:one, :n5)", true},
		{"n IN (:one, :n4)", false},
		{"nope IN (:one)", false},
		{"attribute_exists(m.a) AND attribute_not_exists(m.zz) AND attribute_not_exists(l[9])", true},
		{"attribute_exists(l[2].c)", true},
		{"l[2].c = :deep AND m.b[0] = :seven", true},
		{"#nm = :x", false},
		{"m.#nm = :x OR m.#nm <> :x", true},
		{"attribute_type(n, :tN) AND attribute_type(m, :tM) AND NOT attribute_type(n, :tS)", true},
		{"begins_with(s, :he) AND NOT begins_with(s, :ll)", true},
		{"begins_with(b, :b0) AND begins_with(b, :b01)", true},
		{"begins_with(n, :s)", false},
		{"contains(s, :ll) AND contains(ss, :a) AND contains(ns, :one) AND contains(l, :x) AND contains(bs, :b0)", true},
		{"contains(ss, :x)", false},
		{"contains(b, :b01)", true},
		{"size(s) = :n5 AND size(ss) < :n4 AND size(l) > :one AND size(m) > :one AND size(b) < :n4", true},
		{"size(n) = :one", false},
		{"size(u) = :n4", true}, // UTF-16 code units: é is 1, 𝄞 is 2, a is 1
		{"size(nope) <> :one", true},
		{"ss = :ss", true},
		{"t = :t AND z = :null", true},
		{"NOT n = :n5 OR s = :s AND n = :n4", false},
		{"(NOT n = :n5 OR s = :s) AND n = :n5", true},
		{"NOT (n = :n5 AND n = :n4)", true},
		{"n = :n5 OR n = :n4 AND s = :x", true},
		{":n5 = n", true},
		{"n = m.a", false},
		{"m.a = l[1]", true},
	} {
		in := Input{Condition: sp(c.expr), Values: map[string]item.Value{}, Names: map[string]string{"#nm": "name"}}
		// Keep only the values the expression uses, so Compile accepts it.
		for k, v := range values {
			if strings.Contains(c.expr, k+" ") || strings.Contains(c.expr, k+")") || strings.Contains(c.expr, k+",") || strings.HasSuffix(c.expr, k) {
				in.Values[k] = v
			}
		}
		if !strings.Contains(c.expr, "#nm") {
			in.Names = nil
		}
		if len(in.Values) == 0 {
			in.Values = nil
		}
		comp, err := Compile(in)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		got, err := comp.Condition.Eval(it)
		if err != nil || got != c.want {
			t.Errorf("%q = %v, %v; want %v", c.expr, got, err, c.want)
		}
		// No item: only negative tests can hold.
		if got, _ := comp.Condition.Eval(nil); got && !strings.Contains(c.expr, "not_exists") && !strings.Contains(c.expr, "<>") && !strings.Contains(c.expr, "NOT") {
			t.Errorf("%q holds on no item", c.expr)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	v := `{":v":{"N":"1"}}`
	long := "a = :v" + strings.Repeat(" ", MaxExpressionSize)
	many := "a = :v" + strings.Repeat(" OR a = :v", MaxOperators)
	for _, c := range []struct {
		in   Input
		want string
	}{
		{Input{Condition: sp(""), Values: vals(t, v)}, "Invalid ConditionExpression: The expression can not be empty;"},
		{Input{Condition: sp("a IN (:v" + strings.Repeat(", :v", 100) + ")"), Values: vals(t, v)}, "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"},
		{Input{Condition: sp("a IN (:v" + strings.Repeat(", :v", 99) + ")"), Values: vals(t, v)}, ""},
		{Input{Condition: sp(long), Values: vals(t, v)}, "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4102"},
		{Input{Filter: sp(many), Values: vals(t, v)}, "Invalid FilterExpression: The expression contains too many operators; operator count: 601"},
		{Input{Condition: sp("a = :v"), Values: map[string]item.Value{}}, "ExpressionAttributeValues must not be empty"},
		{Input{Condition: sp("a = :v"), Names: map[string]string{}}, "ExpressionAttributeNames must not be empty"},
		{Input{Condition: sp("a = :v"), Names: map[string]string{"x": "y"}}, `ExpressionAttributeNames contains invalid key: Syntax error; key: "x"`},
		{Input{Condition: sp("a = :v"), Values: map[string]item.Value{"v": {}}}, `ExpressionAttributeValues contains invalid key: Syntax error; key: "v"`},
		{Input{Condition: sp("a = :v"), Values: vals(t, `{":v":{"N":"1"},":b":{"N":"1"},":a":{"N":"1"}}`)}, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:a, :b}"},
		{Input{Condition: sp("a ="), Values: vals(t, v)}, `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "="`},
		{Input{Condition: sp("a = :v b"), Values: vals(t, v)}, `Invalid ConditionExpression: Syntax error; token: "b", near: ":v b"`},
		{Input{Condition: sp("a.1 = :v"), Values: vals(t, v)}, `Invalid ConditionExpression: Syntax error; token: "1", near: ".1 ="`},
		{Input{Condition: sp("a[x] = :v"), Values: vals(t, v)}, `Invalid ConditionExpression: Syntax error; token: "x", near: "[x]"`},
		{Input{Condition: sp("a = :v AND"), Values: vals(t, v)}, `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND"`},
		{Input{Condition: sp("attribute_exists(a) = :v"), Values: vals(t, v)}, "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{Input{Update: sp("SET a = :v"), Condition: sp("a = :w"), Values: vals(t, v)}, "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :w"},
		{Input{Update: sp("SET a = if_not_exists(a)"), Values: vals(t, v)}, "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1"},
		{Input{Update: sp("SET a = :v + :v + :v"), Values: vals(t, v)}, `Invalid UpdateExpression: Syntax error; token: "+", near: ":v + :v"`},
		{Input{Update: sp("SET a = :v, REMOVE b"), Values: vals(t, v)}, `Invalid UpdateExpression: Syntax error; token: "REMOVE", near: ", REMOVE b"`},
		{Input{Update: sp("set a = :v remove b"), Values: vals(t, v)}, ""},
		{Input{Update: sp("REMOVE a, b.c[2], d ADD e :v"), Values: vals(t, v)}, ""},
		{Input{Projection: sp("a, b.c, d[1]")}, ""},
		{Input{Projection: sp("a b")}, `Invalid ProjectionExpression: Syntax error; token: "b", near: "a b"`},
		{Input{KeyCondition: sp("h = :v AND begins_with(r, :s)"), Values: vals(t, `{":v":{"N":"1"},":s":{"S":"x"}}`)}, ""},
	} {
		_, err := Compile(c.in)
		if got := errMsg(t, err); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestReservedWords(t *testing.T) {
	if len(reserved) != 573 {
		t.Errorf("%d reserved words, DynamoDB has 573", len(reserved))
	}
	for _, w := range []string{"name", "Status", "TTL", "data", "size"} {
		if !isReserved(w) {
			t.Errorf("%s should be reserved", w)
		}
	}
	for _, w := range []string{"leaseKey", "leaseCounter", "checkpoint", "ownerSwitchesSinceCheckpoint"} {
		if isReserved(w) {
			t.Errorf("%s should not be reserved", w)
		}
	}
}

func applyExpr(t *testing.T, upd, values, names, before string) (item.Item, string) {
	t.Helper()
	var nm map[string]string
	if names != "" {
		_ = json.Unmarshal([]byte(names), &nm)
	}
	c, err := Compile(Input{Update: sp(upd), Values: vals(t, values), Names: nm})
	if err != nil {
		t.Fatalf("%q: %v", upd, err)
	}
	out, err := c.Update.Apply(itm(t, before))
	return out, errMsg(t, err)
}

func TestUpdateApply(t *testing.T) {
	for _, c := range []struct {
		upd, values, before, after, err string
	}{
		{"SET a = :v", `{":v":{"S":"x"}}`, ``, `{"a":{"S":"x"}}`, ""},
		{"SET n = n + :v", `{":v":{"N":"1.5"}}`, `{"n":{"N":"1"}}`, `{"n":{"N":"2.5"}}`, ""},
		{"SET n = :v - n", `{":v":{"N":"1"}}`, `{"n":{"N":"3"}}`, `{"n":{"N":"-2"}}`, ""},
		{"SET n = n + :v", `{":v":{"N":"1"}}`, `{}`, ``, errNoAttr},
		{"SET n = n + :v", `{":v":{"N":"1"}}`, `{"n":{"S":"1"}}`, ``, errOperandType},
		{"SET a = b, b = a", ``, `{"a":{"N":"1"},"b":{"N":"2"}}`, `{"a":{"N":"2"},"b":{"N":"1"}}`, ""},
		{"SET c = if_not_exists(c, :v)", `{":v":{"N":"0"}}`, `{}`, `{"c":{"N":"0"}}`, ""},
		{"SET c = if_not_exists(c, :v)", `{":v":{"N":"0"}}`, `{"c":{"N":"9"}}`, `{"c":{"N":"9"}}`, ""},
		{"SET l = list_append(l, :v)", `{":v":{"L":[{"N":"2"}]}}`, `{"l":{"L":[{"N":"1"}]}}`, `{"l":{"L":[{"N":"1"},{"N":"2"}]}}`, ""},
		{"SET l = list_append(:v, l)", `{":v":{"L":[{"N":"2"}]}}`, `{"l":{"L":[{"N":"1"}]}}`, `{"l":{"L":[{"N":"2"},{"N":"1"}]}}`, ""},
		{"SET l = list_append(l, :v)", `{":v":{"L":[]}}`, `{}`, ``, errNoAttr},
		{"SET l = list_append(l, :v)", `{":v":{"L":[]}}`, `{"l":{"S":"x"}}`, ``, errOperandType},
		{"SET m.a.b = :v", `{":v":{"N":"1"}}`, `{}`, ``, errInvalidPath},
		{"SET m.a = :v", `{":v":{"N":"1"}}`, `{"m":{"M":{}}}`, `{"m":{"M":{"a":{"N":"1"}}}}`, ""},
		{"SET m.a = :v", `{":v":{"N":"1"}}`, `{"m":{"L":[]}}`, ``, errInvalidPath},
		{"SET l[5] = :v", `{":v":{"N":"1"}}`, `{"l":{"L":[{"N":"0"}]}}`, `{"l":{"L":[{"N":"0"},{"N":"1"}]}}`, ""},
		{"SET l[0] = :v", `{":v":{"N":"1"}}`, `{"l":{"L":[{"N":"0"}]}}`, `{"l":{"L":[{"N":"1"}]}}`, ""},
		{"SET #a.#b = :v", `{":v":{"N":"1"}}`, `{"x":{"M":{"y":{"N":"0"}}}}`, `{"x":{"M":{"y":{"N":"1"}}}}`, ""},
		{"REMOVE a, m.b, nope", ``, `{"a":{"N":"1"},"m":{"M":{"b":{"N":"1"},"c":{"N":"2"}}}}`, `{"m":{"M":{"c":{"N":"2"}}}}`, ""},
		{"REMOVE l[0], l[2], l[9]", ``, `{"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]}}`, `{"l":{"L":[{"N":"1"},{"N":"3"}]}}`, ""},
		{"REMOVE m.x.y", ``, `{"m":{"M":{}}}`, ``, errInvalidPath},
		{"ADD n :v", `{":v":{"N":"2"}}`, `{"n":{"N":"1"}}`, `{"n":{"N":"3"}}`, ""},
		{"ADD n :v", `{":v":{"N":"2"}}`, ``, `{"n":{"N":"2"}}`, ""},
		{"ADD s :v", `{":v":{"SS":["b","c"]}}`, `{"s":{"SS":["a","b"]}}`, `{"s":{"SS":["a","b","c"]}}`, ""},
		{"ADD s :v", `{":v":{"NS":["1"]}}`, `{"s":{"SS":["a","b"]}}`, ``, errOperandType},
		{"ADD s :v", `{":v":{"N":"1"}}`, `{"s":{"S":"a"}}`, ``, errOperandType},
		{"DELETE s :v", `{":v":{"SS":["b","c"]}}`, `{"s":{"SS":["a","b"]}}`, `{"s":{"SS":["a"]}}`, ""},
		{"DELETE s :v", `{":v":{"NS":["1","2.0"]}}`, `{"s":{"NS":["1","2"]},"x":{"N":"1"}}`, `{"x":{"N":"1"}}`, ""},
		{"DELETE s :v", `{":v":{"BS":["AA=="]}}`, `{}`, `{}`, ""},
		{"DELETE s :v", `{":v":{"BS":["AA=="]}}`, `{"s":{"SS":["a"]}}`, ``, errOperandType},
		{"SET n = n + :v", `{":v":{"N":"1e125"}}`, `{"n":{"N":"9e125"}}`, ``, "Number overflow. Attempting to store a number with magnitude larger than supported range"},
	} {
		names := ""
		if strings.Contains(c.upd, "#") {
			names = `{"#a":"x","#b":"y"}`
		}
		got, err := applyExpr(t, c.upd, c.values, names, c.before)
		if err != c.err {
			t.Errorf("%q on %s: err %q, want %q", c.upd, c.before, err, c.err)
			continue
		}
		if c.err == "" && !item.Equal(item.Value{Type: item.M, Map: got}, item.Value{Type: item.M, Map: itm(t, c.after)}) {
			b, _ := json.Marshal(item.Value{Type: item.M, Map: got})
			t.Errorf("%q on %s = %s, want %s", c.upd, c.before, b, c.after)
		}
	}
}

func TestUpdateDoesNotModifyInput(t *testing.T) {
	before := itm(t, `{"l":{"L":[{"N":"1"}]},"m":{"M":{"a":{"N":"1"}}},"s":{"SS":["a"]}}`)
	snapshot := before.Clone()
	c, err := Compile(Input{Update: sp("SET m.a = :v, l[0] = :v ADD s :s"), Values: vals(t, `{":v":{"N":"2"},":s":{"SS":["b"]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update.Apply(before); err != nil {
		t.Fatal(err)
	}
	if !item.Equal(item.Value{Type: item.M, Map: before}, item.Value{Type: item.M, Map: snapshot}) {
		t.Error("Apply modified its input")
	}
	if got := c.Update.Paths(); strings.Join(got, ",") != "l,m,s" {
		t.Errorf("Paths = %v", got)
	}
	// UPDATED_OLD: only the written paths, nested ones inside their parents.
	old := c.Update.Updated().Apply(itm(t, `{"l":{"L":[{"N":"1"},{"N":"9"}]},"m":{"M":{"a":{"N":"1"},"b":{"N":"2"}}},"s":{"SS":["a"]},"x":{"N":"0"}}`))
	want := itm(t, `{"l":{"L":[{"N":"1"}]},"m":{"M":{"a":{"N":"1"}}},"s":{"SS":["a"]}}`)
	if !item.Equal(item.Value{Type: item.M, Map: old}, item.Value{Type: item.M, Map: want}) {
		t.Errorf("Updated().Apply = %v", old)
	}
}

func TestProjection(t *testing.T) {
	it := itm(t, doc)
	for _, c := range []struct{ proj, want string }{
		{"n, s, nope", `{"n":{"N":"5"},"s":{"S":"hello"}}`},
		{"m.a, m.b[0], l[2].c, l[0]", `{"m":{"M":{"a":{"N":"1"},"b":{"L":[{"N":"7"}]}}},"l":{"L":[{"S":"x"},{"M":{"c":{"S":"deep"}}}]}}`},
		{"l[1]", `{"l":{"L":[{"N":"1"}]}}`},
		{"l[7], m.zz", `{}`},
	} {
		comp, err := Compile(Input{Projection: sp(c.proj)})
		if err != nil {
			t.Fatal(err)
		}
		got := comp.Projection.Apply(it)
		if !item.Equal(item.Value{Type: item.M, Map: got}, item.Value{Type: item.M, Map: itm(t, c.want)}) {
			b, _ := json.Marshal(item.Value{Type: item.M, Map: got})
			t.Errorf("%q = %s, want %s", c.proj, b, c.want)
		}
	}
	got := FromAttributesToGet([]string{"n", "nope"}).Apply(it)
	if len(got) != 1 || got["n"].Str != "5" {
		t.Errorf("AttributesToGet = %v", got)
	}
}

func TestKeyCondition(t *testing.T) {
	v := `{":h":{"S":"k"},":a":{"N":"1"},":b":{"N":"5"},":s":{"S":"p"},":q":{"SS":["p"]}}`
	for _, c := range []struct {
		expr, hash, rng string
		err             string
		hit, miss       string // range values the range condition accepts / rejects
	}{
		{expr: "h = :h", hash: "h", rng: "r"},
		{expr: "h = :h AND r BETWEEN :a AND :b", hash: "h", rng: "r", hit: `{"N":"3"}`, miss: `{"N":"6"}`},
		{expr: ":a < r AND h = :h", hash: "h", rng: "r", hit: `{"N":"3"}`, miss: `{"N":"1"}`},
		{expr: "h = :h AND begins_with(r, :s)", hash: "h", rng: "r", hit: `{"S":"pq"}`, miss: `{"S":"qp"}`},
		{expr: "h = :h AND r >= :a", hash: "h", rng: "", err: "Query key condition not supported"},
		{expr: "r = :a", hash: "h", rng: "r", err: "Query condition missed key schema element: h"},
		{expr: "h = :h AND x = :a", hash: "h", rng: "r", err: "Query condition missed key schema element: r"},
		{expr: "h > :h", hash: "h", rng: "r", err: "Query key condition not supported"},
		{expr: "h = :h OR r = :a", hash: "h", rng: "r", err: "Invalid operator used in KeyConditionExpression: OR"},
		{expr: "NOT h = :h", hash: "h", rng: "r", err: "Invalid operator used in KeyConditionExpression: NOT"},
		{expr: "h IN (:h)", hash: "h", rng: "r", err: "Invalid operator used in KeyConditionExpression: IN"},
		{expr: "h <> :h", hash: "h", rng: "r", err: "Invalid operator used in KeyConditionExpression: <>"},
		{expr: "attribute_exists(h)", hash: "h", rng: "r", err: "Invalid operator used in KeyConditionExpression: attribute_exists"},
		{expr: "size(h) = :a", hash: "h", rng: "r", err: "KeyConditionExpressions cannot contain nested operations"},
		{expr: "h.x = :h", hash: "h", rng: "r", err: "KeyConditionExpressions cannot have conditions on nested attributes"},
		{expr: "h = r", hash: "h", rng: "r", err: "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{expr: ":h = :a", hash: "h", rng: "r", err: "Invalid condition in KeyConditionExpression: No key attribute specified"},
		{expr: "h = :h AND h = :h", hash: "h", rng: "r", err: "KeyConditionExpressions must only contain one condition per key"},
		{expr: "h = :h AND r = :a AND x = :a", hash: "h", rng: "r", err: "Conditions can be of length 1 or 2 only"},
		{expr: "h = :h AND r > :q", hash: "h", rng: "r", err: "One or more parameter values were invalid: ComparisonOperator GT is not valid for SS AttributeValue type"},
	} {
		all := vals(t, v)
		used := map[string]item.Value{}
		for k, x := range all {
			if strings.Contains(c.expr, k) {
				used[k] = x
			}
		}
		if len(used) == 0 {
			used = nil
		}
		comp, err := Compile(Input{KeyCondition: sp(c.expr), Values: used})
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		h, rng, err := comp.KeyCondition.Key(c.hash, c.rng)
		if got := errMsg(t, err); got != c.err {
			t.Errorf("%q: err %q, want %q", c.expr, got, c.err)
			continue
		}
		if c.err != "" {
			continue
		}
		if h.Type != item.S || h.Str != "k" {
			t.Errorf("%q: hash = %+v", c.expr, h)
		}
		if (rng != nil) != (c.hit != "") {
			t.Errorf("%q: range condition %v", c.expr, rng)
			continue
		}
		if rng != nil {
			for _, x := range []struct {
				v    string
				want bool
			}{{c.hit, true}, {c.miss, false}} {
				var rv item.Value
				_ = json.Unmarshal([]byte(x.v), &rv)
				if ok, _ := rng.Eval(item.Item{"h": item.Str("k"), "r": rv}); ok != x.want {
					t.Errorf("%q on r=%s = %v", c.expr, x.v, ok)
				}
			}
		}
	}
}

func bp(b bool) *bool { return &b }

func TestExpected(t *testing.T) {
	n1, _ := item.Num("1")
	n2, _ := item.Num("2")
	s := item.Str("x")
	it := item.Item{"leaseCounter": n1, "owner": s}
	for _, c := range []struct {
		exp  map[string]Expected
		op   string
		want bool
		err  string
	}{
		{exp: map[string]Expected{"leaseCounter": {Value: &n1}}, want: true},
		{exp: map[string]Expected{"leaseCounter": {Value: &n2}}, want: false},
		{exp: map[string]Expected{"leaseCounter": {Value: &n1, Exists: bp(true)}}, want: true},
		{exp: map[string]Expected{"leaseKey": {Exists: bp(false)}}, want: true},
		{exp: map[string]Expected{"owner": {Exists: bp(false)}}, want: false},
		{exp: map[string]Expected{"owner": {Exists: bp(false)}, "leaseCounter": {Value: &n1}}, op: "OR", want: true},
		{exp: map[string]Expected{"owner": {Exists: bp(false)}, "leaseCounter": {Value: &n1}}, op: "AND", want: false},
		{exp: map[string]Expected{"leaseCounter": {ComparisonOperator: "GT", AttributeValueList: []item.Value{n1}}}, want: false},
		{exp: map[string]Expected{"leaseCounter": {ComparisonOperator: "BETWEEN", AttributeValueList: []item.Value{n1, n2}}}, want: true},
		{exp: map[string]Expected{"owner": {ComparisonOperator: "NOT_NULL"}}, want: true},
		{exp: map[string]Expected{"owner": {ComparisonOperator: "NOT_CONTAINS", Value: &s}}, want: false},
		{exp: map[string]Expected{"owner": {ComparisonOperator: "IN", AttributeValueList: []item.Value{n1, s}}}, err: invalid + "AttributeValues inside AttributeValueList must be of same type"},
		{exp: map[string]Expected{}, want: true},
		{exp: map[string]Expected{"a": {}}, err: invalid + "Value must be provided when Exists is null for Attribute: a"},
		{exp: map[string]Expected{"a": {Exists: bp(true)}}, err: invalid + "Value must be provided when Exists is true for Attribute: a"},
		{exp: map[string]Expected{"a": {Exists: bp(false), Value: &n1}}, err: invalid + "Value cannot be used when Exists is false for Attribute: a"},
		{exp: map[string]Expected{"a": {Value: &n1, AttributeValueList: []item.Value{n1}}}, err: invalid + "Value and AttributeValueList cannot be used together for Attribute: a"},
		{exp: map[string]Expected{"a": {AttributeValueList: []item.Value{n1}}}, err: invalid + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a"},
		{exp: map[string]Expected{"a": {ComparisonOperator: "EQ", Exists: bp(true)}}, err: invalid + "Exists and ComparisonOperator cannot be used together for Attribute: a"},
		{exp: map[string]Expected{"a": {ComparisonOperator: "EQ"}}, err: invalid + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"},
		{exp: map[string]Expected{"a": {ComparisonOperator: "BETWEEN", Value: &n1}}, err: invalid + "Invalid number of argument(s) for the BETWEEN ComparisonOperator"},
		{exp: map[string]Expected{"a": {ComparisonOperator: "BETWEEN", AttributeValueList: []item.Value{n2, n1}}}, err: errBetweenRange},
		{exp: map[string]Expected{"a": {ComparisonOperator: "LT", Value: &item.Value{Type: item.SS, Strs: []string{"x"}}}}, err: invalid + "ComparisonOperator LT is not valid for SS AttributeValue type"},
		{exp: map[string]Expected{"a": {ComparisonOperator: "XX", Value: &n1}}, err: "1 validation error detected: Value 'XX' at 'expected.a.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"},
		{exp: map[string]Expected{"a": {Value: &n1}}, op: "XOR", err: "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"},
	} {
		cond, err := FromExpected(c.exp, c.op)
		if got := errMsg(t, err); got != c.err {
			t.Errorf("%+v: err %q, want %q", c.exp, got, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if got, _ := cond.Eval(it); got != c.want {
			t.Errorf("%+v %s = %v, want %v", c.exp, c.op, got, c.want)
		}
	}
}

func TestConditions(t *testing.T) {
	n1, _ := item.Num("1")
	n5, _ := item.Num("5")
	it := item.Item{"n": n1, "s": item.Str("abc"), "ss": {Type: item.SS, Strs: []string{"a"}}}
	for _, c := range []struct {
		m    map[string]Cond
		op   string
		want bool
		err  string
	}{
		{m: map[string]Cond{"n": {"EQ", []item.Value{n1}}}, want: true},
		{m: map[string]Cond{"n": {"NE", []item.Value{n1}}}, want: false},
		{m: map[string]Cond{"x": {"NE", []item.Value{n1}}}, want: true},
		{m: map[string]Cond{"n": {"LT", []item.Value{n5}}, "s": {"BEGINS_WITH", []item.Value{item.Str("ab")}}}, want: true},
		{m: map[string]Cond{"n": {"GT", []item.Value{n5}}, "s": {"CONTAINS", []item.Value{item.Str("bc")}}}, op: "OR", want: true},
		{m: map[string]Cond{"ss": {"CONTAINS", []item.Value{item.Str("a")}}, "x": {"NULL", nil}}, want: true},
		{m: map[string]Cond{"ss": {"NOT_CONTAINS", []item.Value{item.Str("a")}}}, want: false},
		{m: map[string]Cond{"n": {"IN", []item.Value{n5, n1}}}, want: true},
		{m: map[string]Cond{"n": {"GE", []item.Value{n1}}, "s": {"LE", []item.Value{item.Str("abc")}}}, want: true},
		{m: map[string]Cond{"n": {"NULL", []item.Value{n1}}}, err: invalid + "Invalid number of argument(s) for the NULL ComparisonOperator"},
		{m: map[string]Cond{"n": {"IN", nil}}, err: invalid + "Invalid number of argument(s) for the IN ComparisonOperator"},
		{m: map[string]Cond{"n": {"BEGINS_WITH", []item.Value{n1}}}, err: invalid + "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type"},
		{m: map[string]Cond{"n": {"BETWEEN", []item.Value{n5, n1}}}, err: errBetweenRange},
	} {
		cond, err := FromConditions(c.m, c.op)
		if got := errMsg(t, err); got != c.err {
			t.Errorf("%+v: err %q, want %q", c.m, got, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if got, _ := cond.Eval(it); got != c.want {
			t.Errorf("%+v %s = %v, want %v", c.m, c.op, got, c.want)
		}
	}
	// KeyConditions go through Key like a key condition expression.
	kc, err := FromConditions(map[string]Cond{"h": {"EQ", []item.Value{item.Str("k")}}, "r": {"GT", []item.Value{n1}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	h, rng, err := kc.Key("h", "r")
	if err != nil || h.Str != "k" || rng == nil {
		t.Fatalf("Key = %v %v %v", h, rng, err)
	}
	if ok, _ := rng.Eval(item.Item{"r": n5}); !ok {
		t.Error("range GT 1 rejects 5")
	}
	kc, _ = FromConditions(map[string]Cond{"h": {"NE", []item.Value{item.Str("k")}}}, "")
	if _, _, err := kc.Key("h", ""); errMsg(t, err) != "Attempted conditional constraint is not an indexable operation" {
		t.Errorf("NE on hash: %v", err)
	}
}

func TestAttributeUpdates(t *testing.T) {
	n1, _ := item.Num("1")
	n2, _ := item.Num("2")
	ss := item.Value{Type: item.SS, Strs: []string{"b"}}
	l := item.Value{Type: item.L, List: []item.Value{n2}}
	for _, c := range []struct {
		m             map[string]AttributeUpdate
		before, after string
		err           string
	}{
		{m: map[string]AttributeUpdate{"leaseCounter": {Value: &n2, Action: "PUT"}, "owner": {Value: &ss}}, before: `{"leaseCounter":{"N":"1"}}`, after: `{"leaseCounter":{"N":"2"},"owner":{"SS":["b"]}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "DELETE"}}, before: `{"a":{"N":"1"},"b":{"N":"1"}}`, after: `{"b":{"N":"1"}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "DELETE", Value: &ss}}, before: `{"a":{"SS":["a","b"]}}`, after: `{"a":{"SS":["a"]}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &n1}}, before: `{"a":{"N":"1"}}`, after: `{"a":{"N":"2"}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &n1}}, before: ``, after: `{"a":{"N":"1"}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &ss}}, before: `{"a":{"SS":["a"]}}`, after: `{"a":{"SS":["a","b"]}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &l}}, before: `{"a":{"L":[{"N":"1"}]}}`, after: `{"a":{"L":[{"N":"1"},{"N":"2"}]}}`},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &n1}}, before: `{"a":{"S":"x"}}`, err: errLegacyTypeMM},
		{m: map[string]AttributeUpdate{"a": {Action: "PUT"}}, err: invalid + "Only DELETE action is allowed when no attribute value is specified"},
		{m: map[string]AttributeUpdate{"a": {Action: "DELETE", Value: &n1}}, err: invalid + "DELETE action with value is not supported for the type N"},
		{m: map[string]AttributeUpdate{"a": {Action: "ADD", Value: &item.Value{Type: item.S, Str: "x"}}}, err: invalid + "ADD action is not supported for the type S"},
		{m: map[string]AttributeUpdate{"a": {Action: "REPLACE", Value: &n1}}, err: "1 validation error detected: Value 'REPLACE' at 'attributeUpdates.a.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"},
	} {
		u, err := FromAttributeUpdates(c.m)
		var out item.Item
		if err == nil {
			out, err = u.Apply(itm(t, c.before))
		}
		if got := errMsg(t, err); got != c.err {
			t.Errorf("%+v: err %q, want %q", c.m, got, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if !item.Equal(item.Value{Type: item.M, Map: out}, item.Value{Type: item.M, Map: itm(t, c.after)}) {
			b, _ := json.Marshal(item.Value{Type: item.M, Map: out})
			t.Errorf("%+v on %s = %s, want %s", c.m, c.before, b, c.after)
		}
	}
}

// The lease renewal path: Expected {leaseCounter = N} plus AttributeUpdates.
func BenchmarkLeaseRenew(b *testing.B) {
	n, _ := item.Num("41")
	n2, _ := item.Num("42")
	owner := item.Str("worker-1")
	it := item.Item{"leaseKey": item.Str("shardId-000000000001"), "leaseCounter": n, "leaseOwner": owner, "checkpoint": item.Str("TRIM_HORIZON")}
	for b.Loop() {
		cond, err := FromExpected(map[string]Expected{"leaseCounter": {Value: &n}}, "")
		if err != nil {
			b.Fatal(err)
		}
		if ok, _ := cond.Eval(it); !ok {
			b.Fatal("condition failed")
		}
		u, _ := FromAttributeUpdates(map[string]AttributeUpdate{"leaseCounter": {Value: &n2}, "leaseOwner": {Value: &owner}})
		if _, err := u.Apply(it); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeepInputs(t *testing.T) {
	v := vals(t, `{":v":{"N":"1"}}`)
	deepParens := strings.Repeat("(", 2000) + "a = :v" + strings.Repeat(")", 2000)
	manyNots := strings.Repeat("NOT ", 1000) + "a = :v"
	deepPath := "a" + strings.Repeat(".b", 2000) + " = :v"
	for _, c := range []struct{ in, want string }{
		{deepParens, "Invalid ConditionExpression: The expression has redundant parentheses;"},
		{manyNots, "Invalid ConditionExpression: The expression contains too many operators; operator count: 1001"},
		{deepPath, ""},
		{strings.Repeat("(", 4000), `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "("`},
	} {
		c2, err := Compile(Input{Condition: sp(c.in), Values: v})
		if got := errMsg(t, err); got != c.want {
			t.Errorf("%.30q...: got %q, want %q", c.in, got, c.want)
		}
		if err == nil {
			if ok, _ := c2.Condition.Eval(itm(t, `{"a":{"M":{}}}`)); ok {
				t.Errorf("%.30q holds", c.in)
			}
		}
	}
	// SET can build values deeper than an item may hold.
	deep := item.Value{Type: item.L}
	for range item.MaxDepth - 1 { // valid alone, one level too deep under a.b
		deep = item.Value{Type: item.L, List: []item.Value{deep}}
	}
	c, err := Compile(Input{Update: sp("SET a.b = :v"), Values: map[string]item.Value{":v": deep}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update.Apply(itm(t, `{"a":{"M":{}}}`)); errMsg(t, err) != item.ErrDepth {
		t.Errorf("deep SET: %v", err)
	}
}

func TestApplySharesNothing(t *testing.T) {
	before := itm(t, `{"a":{"M":{"x":{"L":[{"N":"1"}]}}}}`)
	values := vals(t, `{":v":{"M":{"y":{"SS":["a"]}}}}`)
	c, err := Compile(Input{Update: sp("SET b = a, c = :v"), Values: values})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Update.Apply(before)
	if err != nil {
		t.Fatal(err)
	}
	out["b"].Map["x"].List[0] = item.Str("changed")
	out["c"].Map["y"].Strs[0] = "changed"
	if before["a"].Map["x"].List[0].Str == "changed" || values[":v"].Map["y"].Strs[0] == "changed" {
		t.Error("Apply's result aliases its input or the expression values")
	}
}
