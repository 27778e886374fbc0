package expr

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// TestDifferentialRandom compares messages for random expressions, from
// a fixed seed. Syntax errors are compared by kind only: dynalite words
// them as its parser generator does.
func TestDifferentialRandom(t *testing.T) {
	const seed = 1
	url := startDynalite(t)
	r := rand.New(rand.NewSource(seed))
	paths := []string{"a", "b.c", "a[1]", "#n", "#m.x", "name", "#u", "a.b[2].c", "b", "size"}
	vals := []string{":n", ":s", ":ss", ":l", ":b", ":undef", ":n2"}
	valJSON := map[string]string{":n": `{"N":"1"}`, ":n2": `{"N":"0"}`, ":s": `{"S":"x"}`, ":ss": `{"SS":["x"]}`, ":l": `{"L":[]}`, ":b": `{"BOOL":true}`}
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	var operand func(d int) string
	operand = func(d int) string {
		switch r.Intn(6) {
		case 0, 1:
			return pick(paths)
		case 2, 3:
			return pick(vals)
		case 4:
			return "size(" + operand(d+1) + ")"
		default:
			return pick([]string{"attribute_exists", "begins_with", "contains", "foo", "attribute_type"}) + "(" + operand(d+1) + ", " + operand(d+1) + ")"
		}
	}
	var cond func(d int) string
	cond = func(d int) string {
		if d > 2 {
			return operand(d) + " = " + operand(d)
		}
		switch r.Intn(9) {
		case 0:
			return cond(d+1) + " AND " + cond(d+1)
		case 1:
			return cond(d+1) + " OR " + cond(d+1)
		case 2:
			return "NOT " + cond(d+1)
		case 3:
			return "(" + cond(d+1) + ")"
		case 4:
			return operand(d) + " BETWEEN " + operand(d) + " AND " + operand(d)
		case 5:
			return operand(d) + " IN (" + operand(d) + ", " + operand(d) + ")"
		case 6:
			return pick([]string{"attribute_exists", "attribute_not_exists", "begins_with", "contains", "size", "attribute_type"}) + "(" + operand(d) + ")"
		case 7:
			return pick([]string{"begins_with", "contains", "attribute_type", "attribute_exists"}) + "(" + operand(d) + ", " + operand(d) + ")"
		default:
			return operand(d) + " " + pick([]string{"=", "<>", "<", "<=", ">", ">="}) + " " + operand(d)
		}
	}
	upd := func() string {
		var secs []string
		for _, kw := range []string{"SET", "REMOVE", "ADD", "DELETE", "SET"} {
			if r.Intn(3) != 0 {
				continue
			}
			var acts []string
			for n := r.Intn(3) + 1; n > 0; n-- {
				switch kw {
				case "SET":
					rhs := operand(2)
					switch r.Intn(5) {
					case 0:
						rhs = operand(2) + " + " + operand(2)
					case 1:
						rhs = "list_append(" + operand(2) + ", " + operand(2) + ")"
					case 2:
						rhs = "if_not_exists(" + operand(2) + ", " + operand(2) + ")"
					}
					acts = append(acts, pick(paths)+" = "+rhs)
				case "REMOVE":
					acts = append(acts, pick(paths))
				default:
					acts = append(acts, pick(paths)+" "+pick(vals))
				}
			}
			secs = append(secs, kw+" "+strings.Join(acts, ", "))
		}
		if len(secs) == 0 {
			return "SET a = :n"
		}
		return strings.Join(secs, " ")
	}
	mismatches := 0
	for i := 0; i < 1500 && mismatches < 40; i++ {
		var e string
		isUpd := i%2 == 1
		if isUpd {
			e = upd()
		} else {
			e = cond(0)
		}
		if i%3 == 0 {
			// token soup: mostly syntax errors, compared by kind only
			toks := []string{"a", "#n", ":n", "(", ")", "=", "<>", "AND", "OR", "NOT", "BETWEEN", "IN", ",", ".", "[1]", "size", "SET", "REMOVE", "ADD", "+", "-", "b.c", "attribute_exists", "if_not_exists", "list_append"}
			var parts []string
			for n := r.Intn(7) + 1; n > 0; n-- {
				parts = append(parts, pick(toks))
			}
			e = strings.Join(parts, " ")
		}
		names := map[string]string{}
		values := map[string]item.Value{}
		raw := map[string]any{}
		for _, t := range lex(e) {
			if t.kind == tName && t.text != "#u" {
				names[t.text] = "nm"
			}
			if t.kind == tValue && t.text != ":undef" {
				var v item.Value
				_ = json.Unmarshal([]byte(valJSON[t.text]), &v)
				values[t.text] = v
				var x any
				_ = json.Unmarshal([]byte(valJSON[t.text]), &x)
				raw[t.text] = x
			}
		}
		body := map[string]any{"TableName": "nosuchtable", "Key": map[string]any{"h": map[string]string{"S": "k"}}}
		in := Input{}
		if isUpd {
			body["UpdateExpression"] = e
			in.Update = &e
		} else {
			body["ConditionExpression"] = e
			in.Condition = &e
		}
		if len(names) > 0 {
			body["ExpressionAttributeNames"] = names
			in.Names = names
		}
		if len(values) > 0 {
			body["ExpressionAttributeValues"] = raw
			in.Values = values
		}
		typ, want := dynaliteCall(t, url, "UpdateItem", body)
		if typ != "ValidationException" {
			want = ""
		}
		_, err := Compile(in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if strings.Contains(want, "Syntax error; Expected") {
			if strings.Contains(got, "Syntax error; token") {
				continue
			}
		}
		if strings.Contains(e, "NOT NOT") {
			continue // valid in DynamoDB's documented grammar, not in dynalite's
		}
		if got != want {
			mismatches++
			t.Errorf("%q\n got %q\nwant %q", e, got, want)
		}
	}
}
