package expr

import (
	"encoding/json"
	"testing"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// TestDifferentialKeyCondition compares Condition.Key's messages with a
// Query against a table keyed by h (S) and r (N) and one keyed by h only.
func TestDifferentialKeyCondition(t *testing.T) {
	url := startDynalite(t)
	createTable(t, url, "hashonly")
	if typ, msg := dynaliteCall(t, url, "CreateTable", map[string]any{
		"TableName": "composite",
		"AttributeDefinitions": []any{map[string]string{"AttributeName": "h", "AttributeType": "S"},
			map[string]string{"AttributeName": "r", "AttributeType": "N"}},
		"KeySchema": []any{map[string]string{"AttributeName": "h", "KeyType": "HASH"},
			map[string]string{"AttributeName": "r", "KeyType": "RANGE"}},
		"BillingMode": "PAY_PER_REQUEST",
	}); typ != "" {
		t.Fatalf("CreateTable: %s %s", typ, msg)
	}
	waitActive(t, url, "composite")
	values := `{":h":{"S":"k"},":n":{"N":"1"},":m":{"N":"5"},":s":{"S":"x"}}`
	for i, e := range []string{
		"h = :h", "h = :h AND r = :n", "h = :h AND r BETWEEN :n AND :m", "h = :h AND r < :n", ":n <= r AND h = :h",
		"r = :n", "h = :h AND x = :n", "x = :n", "h = :h AND r = :n AND x = :n", "h < :h", "h = :h OR r = :n",
		"NOT h = :h", "h IN (:h)", "h <> :h", "attribute_exists(h)", "size(h) = :n", "h.a = :h", "h = r",
		":h = :s", "h = :h AND h = :h", "h = :h AND begins_with(r, :s)", "h = :h AND contains(r, :n)",
		"h = :h AND :n BETWEEN r AND :m", "begins_with(h, :s)", "h BETWEEN :s AND :h",
		"h = :n", "h < :n", "h = :h AND r = :s", "h = :h AND r BETWEEN :s AND :s", "r = :s AND h = :n",
	} {
		for _, table := range []string{"composite", "hashonly"} {
			var all map[string]item.Value
			_ = json.Unmarshal([]byte(values), &all)
			var rawAll map[string]any
			_ = json.Unmarshal([]byte(values), &rawAll)
			used := map[string]item.Value{}
			raw := map[string]any{}
			for _, tk := range lex(e) {
				if tk.kind == tValue {
					used[tk.text] = all[tk.text]
					raw[tk.text] = rawAll[tk.text]
				}
			}
			typ, want := dynaliteCall(t, url, "Query", map[string]any{"TableName": table,
				"KeyConditionExpression": e, "ExpressionAttributeValues": raw})
			if typ != "ValidationException" {
				want = ""
			}
			got := ""
			c, err := Compile(Input{KeyCondition: &e, Values: used})
			if err == nil {
				rng, rt := "r", "N"
				if table == "hashonly" {
					rng, rt = "", ""
				}
				_, _, err = c.KeyCondition.KeyTyped("h", "S", rng, rt)
			}
			if err != nil {
				got = err.Error()
			}
			if got != want {
				t.Errorf("case %d %q on %s:\n got %q\nwant %q", i, e, table, got, want)
			}
		}
	}
}
