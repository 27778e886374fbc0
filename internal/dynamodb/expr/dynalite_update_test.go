package expr

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// TestDifferentialUpdate applies random update expressions to random
// items here and in dynalite, and compares the new items or the errors.
func TestDifferentialUpdate(t *testing.T) {
	url := startDynalite(t)
	createTable(t, url, "updtable")
	r := rand.New(rand.NewSource(5))
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	attrVals := []string{`{"N":"1"}`, `{"N":"-2.5"}`, `{"S":"abc"}`, `{"SS":["ab","x"]}`, `{"NS":["1","10"]}`,
		`{"BS":["YWI="]}`, `{"BOOL":true}`, `{"L":[{"S":"ab"},{"N":"1"}]}`, `{"M":{"x":{"N":"1"},"y":{"S":"ab"}}}`}
	valJSON := map[string]string{":n": `{"N":"1"}`, ":big": `{"N":"99999999999999999999999999999999999999"}`,
		":neg": `{"N":"-2.5"}`, ":s": `{"S":"ab"}`, ":ss": `{"SS":["x","y"]}`, ":ns": `{"NS":["10","2"]}`,
		":bs": `{"BS":["YWI="]}`, ":l": `{"L":[{"S":"z"}]}`, ":m": `{"M":{"q":{"N":"1"}}}`}
	// No :big here: dynalite does not check arithmetic results (TestUpdateApply does).
	vnames := []string{":n", ":neg", ":s", ":ss", ":ns", ":bs", ":l", ":m"}
	setVals := []string{":ss", ":ns", ":bs", ":n"}
	paths := []string{"a", "b", "c", "m.x", "m.z", "m.y", "l[0]", "l[1]", "l[5]", "zz", "zz.q", "a[0]"}
	top := func(p string) string {
		return strings.FieldsFunc(p, func(r rune) bool { return r == '.' || r == '[' })[0]
	}
	// mutated holds the attributes the update changes: dynalite's SET
	// values alias them (it changes both), so SET operands avoid them.
	var mutated map[string]bool
	operand := func() string {
		if r.Intn(2) == 0 {
			for {
				if p := pick(paths); !mutated[top(p)] {
					return p
				}
			}
		}
		return pick(vnames)
	}
	rhs := func() string {
		switch r.Intn(6) {
		case 0:
			return operand() + " + " + operand()
		case 1:
			return operand() + " - " + operand()
		case 2:
			return "list_append(" + operand() + ", " + operand() + ")"
		case 3:
			return "if_not_exists(" + operand() + ", " + operand() + ")"
		}
		return operand()
	}
	compared := 0
	for i := 0; i < 800; i++ {
		key := map[string]string{"S": fmt.Sprint("k", i)}
		rawItem := map[string]any{"h": key}
		for _, a := range []string{"a", "b", "c"} {
			if r.Intn(4) != 0 {
				var x any
				_ = json.Unmarshal([]byte(pick(attrVals)), &x)
				rawItem[a] = x
			}
		}
		var x, y any
		_ = json.Unmarshal([]byte(`{"M":{"x":{"N":"1"},"y":{"S":"ab"}}}`), &x)
		_ = json.Unmarshal([]byte(`{"L":[{"S":"ab"},{"N":"1"}]}`), &y)
		rawItem["m"], rawItem["l"] = x, y
		// One action per section keeps paths apart; list removals are
		// excluded (dynalite shifts the list between them, DynamoDB does not).
		var secs []string
		used := map[string]bool{}
		mutated = map[string]bool{}
		fresh := func() string {
			for {
				p := pick(paths)
				if !used[top(p)] {
					used[top(p)] = true
					return p
				}
			}
		}
		if r.Intn(3) == 0 {
			p := fresh()
			mutated[top(p)] = true // a list REMOVE would change aliases too
			secs = append(secs, "REMOVE "+p)
		}
		if r.Intn(3) == 0 {
			p := fresh()
			mutated[top(p)] = true
			secs = append(secs, "ADD "+p+" "+pick(setVals))
		}
		if r.Intn(3) == 0 {
			p := fresh()
			mutated[top(p)] = true
			secs = append(secs, "DELETE "+p+" "+pick(setVals[:3]))
		}
		if r.Intn(3) != 0 {
			p := fresh()
			mutated[top(p)] = true // dynalite would build a cycle: SET l[5] = l
			secs = append(secs, "SET "+p+" = "+rhs())
		}
		if len(secs) == 0 {
			continue
		}
		r.Shuffle(len(secs), func(i, j int) { secs[i], secs[j] = secs[j], secs[i] })
		e := strings.Join(secs, " ")
		values := map[string]item.Value{}
		raw := map[string]any{}
		for _, tk := range lex(e) {
			if tk.kind == tValue {
				var v item.Value
				_ = json.Unmarshal([]byte(valJSON[tk.text]), &v)
				values[tk.text] = v
				var x any
				_ = json.Unmarshal([]byte(valJSON[tk.text]), &x)
				raw[tk.text] = x
			}
		}
		c, err := Compile(Input{Update: &e, Values: nonEmpty(values)})
		if err != nil {
			continue
		}
		if typ, msg := dynaliteCall(t, url, "PutItem", map[string]any{"TableName": "updtable", "Item": rawItem}); typ != "" {
			t.Fatalf("PutItem: %s %s", typ, msg)
		}
		body := map[string]any{"TableName": "updtable", "Key": map[string]any{"h": key},
			"UpdateExpression": e, "ReturnValues": "ALL_NEW"}
		if len(raw) > 0 {
			body["ExpressionAttributeValues"] = raw
		}
		typ, msg, out := dynaliteDo(t, url, "UpdateItem", body)
		if typ != "" && typ != "ValidationException" {
			t.Fatalf("%s: %s %s", e, typ, msg)
		}
		b, _ := json.Marshal(rawItem)
		var it item.Item
		if err := json.Unmarshal(b, &it); err != nil {
			t.Fatal(err)
		}
		got, err := c.Update.Apply(it)
		compared++
		if typ != "" || err != nil {
			gotMsg := ""
			if err != nil {
				gotMsg = err.Error()
			}
			if gotMsg != msg {
				t.Errorf("%s on %s:\n got error %q\nwant %q", e, b, gotMsg, msg)
			}
			continue
		}
		var res struct{ Attributes item.Item }
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if !item.Equal(item.Value{Type: item.M, Map: got}, item.Value{Type: item.M, Map: res.Attributes}) {
			gb, _ := json.Marshal(item.Value{Type: item.M, Map: got})
			t.Errorf("%s on %s:\n got %s\nwant %s", e, b, gb, out)
		}
	}
	if compared < 200 {
		t.Errorf("only %d updates compared", compared)
	}
}
