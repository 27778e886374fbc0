package expr

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// TestDifferentialScanFilter checks that legacy ScanFilter conditions
// select the same items here as in dynalite.
func TestDifferentialScanFilter(t *testing.T) {
	url := startDynalite(t)
	createTable(t, url, "scantable")
	r := rand.New(rand.NewSource(3))
	attrVals := []string{`{"N":"1"}`, `{"N":"-2.5"}`, `{"N":"10"}`, `{"S":"abc"}`, `{"S":"ab"}`, `{"B":"YWJj"}`,
		`{"SS":["ab","x"]}`, `{"NS":["1","10"]}`, `{"BS":["YWI="]}`, `{"BOOL":true}`, `{"NULL":true}`,
		`{"L":[{"S":"ab"},{"N":"1"}]}`, `{"M":{"x":{"N":"1"}}}`}
	var items []item.Item
	for i := 0; i < 60; i++ {
		raw := map[string]any{"h": map[string]string{"S": fmt.Sprint("k", i)}}
		for _, a := range []string{"a", "b"} {
			if r.Intn(5) != 0 {
				var x any
				_ = json.Unmarshal([]byte(attrVals[r.Intn(len(attrVals))]), &x)
				raw[a] = x
			}
		}
		if typ, msg := dynaliteCall(t, url, "PutItem", map[string]any{"TableName": "scantable", "Item": raw}); typ != "" {
			t.Fatalf("PutItem: %s %s", typ, msg)
		}
		b, _ := json.Marshal(raw)
		var it item.Item
		if err := json.Unmarshal(b, &it); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	scalars := []string{`{"N":"1"}`, `{"N":"10"}`, `{"N":"-5"}`, `{"S":"ab"}`, `{"S":"abc"}`, `{"S":"x"}`, `{"B":"YWI="}`}
	ops := []string{"EQ", "NE", "LE", "LT", "GE", "GT", "NOT_NULL", "NULL", "CONTAINS", "NOT_CONTAINS", "BEGINS_WITH", "IN", "BETWEEN"}
	compared := 0
	for i := 0; i < 150; i++ {
		filter := map[string]any{}
		conds := map[string]Cond{}
		for _, a := range []string{"a", "b"}[:1+r.Intn(2)] {
			op := ops[r.Intn(len(ops))]
			n := map[string]int{"NOT_NULL": 0, "NULL": 0, "IN": 1 + r.Intn(3), "BETWEEN": 2}[op]
			if _, ok := map[string]int{"NOT_NULL": 0, "NULL": 0, "IN": 0, "BETWEEN": 0}[op]; !ok {
				n = 1
			}
			// One type per list, as DynamoDB requires.
			first := scalars[r.Intn(len(scalars))]
			var rawList []any
			var list []item.Value
			for j := 0; j < n; j++ {
				s := first
				if j > 0 {
					for s = scalars[r.Intn(len(scalars))]; s[:4] != first[:4]; s = scalars[r.Intn(len(scalars))] {
					}
				}
				var x any
				_ = json.Unmarshal([]byte(s), &x)
				rawList = append(rawList, x)
				var v item.Value
				_ = json.Unmarshal([]byte(s), &v)
				list = append(list, v)
			}
			if op == "BETWEEN" {
				if c, ok := item.Compare(list[0], list[1]); !ok || c > 0 {
					list[0], list[1] = list[1], list[0]
					rawList[0], rawList[1] = rawList[1], rawList[0]
				}
			}
			entry := map[string]any{"ComparisonOperator": op}
			if n > 0 {
				entry["AttributeValueList"] = rawList
			}
			filter[a] = entry
			conds[a] = Cond{ComparisonOperator: op, AttributeValueList: list}
		}
		// dynalite's OR gives up at the first false condition, so OR is
		// only compared on single conditions (TestConditions covers it).
		condOp := []string{"AND", "OR"}[r.Intn(2)]
		if len(conds) > 1 {
			condOp = "AND"
		}
		cond, err := FromConditions(conds, condOp)
		typ, msg, raw := dynaliteDo(t, url, "Scan", map[string]any{"TableName": "scantable", "ScanFilter": filter, "ConditionalOperator": condOp})
		if err != nil || typ != "" {
			if err == nil || err.Error() != msg {
				t.Errorf("%v: we say %v, dynalite %s %s", filter, err, typ, msg)
			}
			continue
		}
		var out struct{ Items []item.Item }
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, it := range out.Items {
			want = append(want, it["h"].Str)
		}
		for _, it := range items {
			if ok, _ := cond.Eval(it); ok {
				got = append(got, it["h"].Str)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		compared++
		if strings.Join(got, ",") != strings.Join(want, ",") {
			b, _ := json.Marshal(filter)
			t.Errorf("ScanFilter %s %s:\n got %v\nwant %v", b, condOp, got, want)
		}
	}
	if compared < 50 {
		t.Errorf("only %d filters compared", compared)
	}
}
