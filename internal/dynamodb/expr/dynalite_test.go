package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
	"github.com/rivulet/rivulet/internal/testdynalite"
)

// One dynalite serves every differential test; TestMain stops it.
var dyn struct {
	once sync.Once
	srv  *testdynalite.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dyn.srv != nil {
		dyn.srv.Close()
	}
	os.Exit(code)
}

// startDynalite returns the shared dynalite's endpoint, with the trailing
// slash the differential tests join paths to.
func startDynalite(t *testing.T) string {
	dyn.once.Do(func() { dyn.srv, dyn.err = testdynalite.Start() })
	if dyn.err != nil {
		t.Fatal(dyn.err)
	}
	return dyn.srv.URL + "/"
}

// dynaliteCall returns dynalite's error type and message for a request.
func dynaliteCall(t *testing.T, url, op string, body map[string]any) (typ, msg string) {
	typ, msg, _ = dynaliteDo(t, url, op, body)
	return typ, msg
}

// dynaliteDo sends one request; typ is "" on success, with the body in raw.
func dynaliteDo(t *testing.T, url, op string, body map[string]any) (typ, msg string, raw []byte) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("X-Amz-Date", "20200101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ = io.ReadAll(resp.Body)
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &out)
	if i := strings.LastIndexByte(out.Type, '#'); i >= 0 {
		out.Type = out.Type[i+1:]
	}
	return out.Type, out.Message, raw
}

// createTable creates a table keyed by string h and waits until it is active.
func createTable(t *testing.T, url, name string) {
	if typ, msg := dynaliteCall(t, url, "CreateTable", map[string]any{
		"TableName":            name,
		"AttributeDefinitions": []any{map[string]string{"AttributeName": "h", "AttributeType": "S"}},
		"KeySchema":            []any{map[string]string{"AttributeName": "h", "KeyType": "HASH"}},
		"BillingMode":          "PAY_PER_REQUEST",
	}); typ != "" {
		t.Fatalf("CreateTable: %s %s", typ, msg)
	}
	waitActive(t, url, name)
}

func waitActive(t *testing.T, url, name string) {
	for range 200 {
		_, _, raw := dynaliteDo(t, url, "DescribeTable", map[string]any{"TableName": name})
		if strings.Contains(string(raw), `"TableStatus":"ACTIVE"`) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("table %s never became active", name)
}

type diffCase struct {
	update, cond, key, filter, proj string
	names                           map[string]string
	values                          string // DynamoDB JSON map
}

func TestDifferentialDynalite(t *testing.T) {
	url := startDynalite(t)
	v := `{":v":{"N":"1"}}`
	s := `{":s":{"S":"x"}}`
	nm := map[string]string{"#a": "a"}
	cases := []diffCase{
		{cond: "a = :v", values: v},
		{cond: "a = :w", values: v},
		{cond: "#b = :v", values: v},
		{cond: "a = :v", names: nm, values: v},
		{cond: "a = :v"},
		{cond: "#a = :v", names: nm, values: v},
		{cond: "a = a"},
		{cond: "a.b = a.b"},
		{cond: "((a = :v))", values: v},
		{cond: "(a = :v)", values: v},
		{cond: "size(a)"},
		{cond: "size(a) > :v", values: v},
		{cond: "attribute_exists(a) = :v", values: v},
		{cond: "foo(a)"},
		{cond: "attribute_exists(:v)", values: v},
		{cond: "attribute_exists(a, b)"},
		{cond: "begins_with(a, :v)", values: v},
		{cond: "begins_with(a, :s)", values: s},
		{cond: "begins_with(a, a)"},
		{cond: "attribute_type(a, :s)", values: s},
		{cond: "attribute_type(a, :s)", values: `{":s":{"S":"SS"}}`},
		{cond: "attribute_type(a, :v)", values: v},
		{cond: "attribute_type(a, b)"},
		{cond: "size(:v) = :v", values: v},
		{cond: "contains(a, :v)", values: v},
		{cond: "a BETWEEN :v AND :s", values: `{":v":{"N":"1"},":s":{"S":"x"}}`},
		{cond: "a BETWEEN :x AND :y", values: `{":x":{"N":"5"},":y":{"N":"1"}}`},
		{cond: "a BETWEEN :x AND :y", values: `{":x":{"N":"1"},":y":{"N":"5"}}`},
		{cond: "a IN (:v)", values: v},
		{cond: "a IN (:v, b, c.d[3])", values: v},
		{cond: "NOT a = :v OR b <> :v AND c >= :v", values: v},
		{cond: "name = :v", values: v},
		{cond: "a.name = :v", values: v},
		{cond: "#a.#b = :v", names: map[string]string{"#a": "a"}, values: v},
		{cond: "a = :v AND foo(b) AND name = :v", values: v},
		{cond: "name = :v AND c = c", values: v},
		{cond: "a = :w AND c = c"},
		{cond: "c = c AND a = :w"},
		{cond: "((a = :v)) AND foo(b)", values: v},
		{cond: "begins_with(a, :v) AND attribute_exists(b, c)", values: v},
		{cond: "a[1].b[2] = :v", values: v},
		{cond: "a ="},
		{cond: "a AND b"},
		{cond: "a = 5"},
		{cond: "a = :v)", values: v},
		{cond: "(a = :v", values: v},
		{cond: "a !"},
		{cond: "NOT"},
		{update: "SET a"},
		{update: "a = :v", values: v},
		{update: "SET a = :v,", values: v},
		{update: "REMOVE a ADD", values: v},
		{update: "ADD a b"},
		{key: "h = :v", proj: "a,", values: v},
		{update: "SET a = :v", values: v},
		{update: "SET a = :v, b = a + :v, c = b - a, d = if_not_exists(e, :v)", values: v},
		{update: "SET a = list_append(b, :v)", values: v},
		{update: "SET a = list_append(b, :l)", values: `{":l":{"L":[]}}`},
		{update: "SET a = :v + :s", values: `{":v":{"N":"1"},":s":{"S":"x"}}`},
		{update: "SET a = if_not_exists(:v, b)", values: v},
		{update: "SET a = size(b)"},
		{update: "SET a = foo(b)"},
		{update: "SET a = list_append(b)"},
		{update: "SET a = :v SET b = :v", values: v},
		{update: "REMOVE a SET b = :v REMOVE c", values: v},
		{update: "SET a = :v REMOVE a", values: v},
		{update: "SET a.b = :v REMOVE a", values: v},
		{update: "SET a[1] = :v REMOVE a.b", values: v},
		{update: "SET a[1] = :v REMOVE a[2]", values: v},
		{update: "ADD a :v", values: v},
		{update: "ADD a :s", values: s},
		{update: "DELETE a :v", values: v},
		{update: "DELETE a :ss", values: `{":ss":{"SS":["x"]}}`},
		{update: "ADD a :l", values: `{":l":{"L":[]}}`},
		{update: "ADD a :m", values: `{":m":{"M":{}}}`},
		{update: "DELETE a :b", values: `{":b":{"BOOL":true}}`},
		{update: "SET name = :v", values: v},
		{update: "SET #n = :v", values: v},
		{update: "SET a = :w"},
		{update: "SET #n = :w, b = :v", values: v},
		{update: "SET name = :v, a = foo(b)", values: v},
		{update: "SET a = foo(b) SET c = :v", values: v},
		{update: "SET a = :v", cond: "b = :w", values: v},
		{update: "SET a = :v", cond: "attribute_not_exists(a)", values: `{":v":{"N":"1"},":u":{"N":"2"}}`},
		{update: "SET a = :v", cond: "attribute_not_exists(#a)", names: map[string]string{"#a": "a", "#b": "b"}, values: v},
		{update: ""},
		{key: "h = :v", values: v},
		{key: "h = :v AND r BETWEEN :v AND :v", values: v},
		{key: "h = :v", filter: "x = :s", proj: "a, b.c[1], #a", names: nm, values: `{":v":{"N":"1"},":s":{"S":"x"}}`},
		{key: "h = :v", proj: "a, a.b", values: v},
		{key: "h = :v", proj: "a[1], a.b", values: v},
		{key: "h = :v", proj: "name", values: v},
		{key: "h = :v", proj: "#z", values: v},
		{key: "h = :v", filter: "size(x)", values: v},
	}
	for i, c := range cases {
		var vals map[string]item.Value
		var rawVals map[string]any
		if c.values != "" {
			if err := json.Unmarshal([]byte(c.values), &vals); err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			_ = json.Unmarshal([]byte(c.values), &rawVals)
		}
		in := Input{Names: c.names, Values: vals}
		body := map[string]any{"TableName": "nosuchtable"}
		op := "UpdateItem"
		if c.key != "" || c.filter != "" || c.proj != "" {
			op = "Query"
		} else {
			body["Key"] = map[string]any{"h": map[string]string{"S": "k"}}
		}
		set := func(field string, s string, dst **string) {
			if s != "" || (field == "UpdateExpression" && op == "UpdateItem" && c.cond == "") || (field == "ConditionExpression" && op == "UpdateItem" && c.update == "" && s == "") {
				body[field] = s
				*dst = &s
			}
		}
		set("UpdateExpression", c.update, &in.Update)
		if c.cond != "" || (op == "UpdateItem" && c.update != "") {
			if c.cond != "" || c.update == "" {
				set("ConditionExpression", c.cond, &in.Condition)
			}
		}
		if op == "Query" {
			set("KeyConditionExpression", c.key, &in.KeyCondition)
			set("FilterExpression", c.filter, &in.Filter)
			set("ProjectionExpression", c.proj, &in.Projection)
		}
		if c.names != nil {
			body["ExpressionAttributeNames"] = c.names
		}
		if rawVals != nil {
			body["ExpressionAttributeValues"] = rawVals
		}
		typ, want := dynaliteCall(t, url, op, body)
		_, err := Compile(in)
		got := ""
		if err != nil {
			var ie *item.Error
			if !errors.As(err, &ie) {
				t.Errorf("case %d: error %T is not *item.Error", i, err)
			}
			got = err.Error()
		}
		if typ != "ValidationException" {
			if got != "" {
				t.Errorf("case %d %+v: dynalite accepts (%s), we say %q", i, c, typ, got)
			}
			continue
		}
		// dynalite reports syntax errors in its parser generator's words.
		if strings.Contains(want, "Syntax error; Expected") {
			pre := want[:strings.Index(want, "Syntax error;")]
			if !strings.HasPrefix(got, pre+"Syntax error; token: ") {
				t.Errorf("case %d %+v: want a syntax error like %q, got %q", i, c, want, got)
			}
			continue
		}
		if got != want {
			t.Errorf("case %d %+v:\n got %q\nwant %q", i, c, got, want)
		}
	}
}

// TestDifferentialValues compares attribute value validation messages.
func TestDifferentialValues(t *testing.T) {
	url := startDynalite(t)
	for i, raw := range []string{
		`{"N":"1"}`, `{"N":""}`, `{"N":"abc"}`, `{"N":"1e126"}`, `{"N":"1e-131"}`,
		`{"N":"123456789012345678901234567890123456789"}`, `{"NS":[]}`, `{"SS":[]}`, `{"BS":[]}`,
		`{"SS":["a","a"]}`, `{"NS":["1","1.0"]}`, `{"BS":["YQ==","YQ=="]}`, `{"NULL":false}`,
		`{}`, `{"S":"a","N":"1"}`, `{"L":[{"N":"x"}]}`, `{"M":{"a":{"SS":[]}}}`, `{"S":"a","NS":[]}`,
	} {
		var v item.Value
		err := json.Unmarshal([]byte(raw), &v)
		got := ""
		if err != nil {
			got = err.Error()
		}
		var rawV any
		_ = json.Unmarshal([]byte(raw), &rawV)
		typ, want := dynaliteCall(t, url, "PutItem", map[string]any{
			"TableName": "nosuchtable",
			"Item":      map[string]any{"h": map[string]string{"S": "k"}, "a": rawV},
		})
		if typ != "ValidationException" {
			want = ""
		}
		if got != want {
			t.Errorf("case %d %s:\n got %q\nwant %q", i, raw, got, want)
		}
	}
}

// TestDifferentialLegacy compares the legacy parameters' messages.
func TestDifferentialLegacy(t *testing.T) {
	url := startDynalite(t)
	check := func(i int, want, typ string, err error) {
		t.Helper()
		if typ != "ValidationException" {
			want = ""
		}
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("case %d:\n got %q\nwant %q", i, got, want)
		}
	}
	for i, raw := range []string{
		`{"a":{"Value":{"N":"1"}}}`,
		`{"a":{"Exists":false}}`,
		`{"a":{}}`,
		`{"a":{"Exists":true}}`,
		`{"a":{"Exists":false,"Value":{"N":"1"}}}`,
		`{"a":{"Value":{"N":"1"},"AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"EQ","Exists":true}}`,
		`{"a":{"ComparisonOperator":"EQ"}}`,
		`{"a":{"ComparisonOperator":"NULL"}}`,
		`{"a":{"ComparisonOperator":"NULL","Value":{"N":"1"}}}`,
		`{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"5"},{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"IN","AttributeValueList":[{"N":"5"},{"S":"1"}]}}`,
		`{"a":{"ComparisonOperator":"IN","AttributeValueList":[]}}`,
		`{"a":{"ComparisonOperator":"GT","Value":{"N":"1"}}}`,
	} {
		var exp map[string]Expected
		var rawExp any
		_ = json.Unmarshal([]byte(raw), &exp)
		_ = json.Unmarshal([]byte(raw), &rawExp)
		typ, want := dynaliteCall(t, url, "UpdateItem", map[string]any{"TableName": "nosuchtable",
			"Key": map[string]any{"h": map[string]string{"S": "k"}}, "Expected": rawExp})
		_, err := FromExpected(exp, "")
		check(i, want, typ, err)
	}
	for i, raw := range []string{
		`{"a":{"Value":{"N":"1"}}}`,
		`{"a":{"Action":"PUT"}}`,
		`{"a":{"Action":"DELETE"}}`,
		`{"a":{"Action":"DELETE","Value":{"N":"1"}}}`,
		`{"a":{"Action":"DELETE","Value":{"NS":["1"]}}}`,
		`{"a":{"Action":"ADD","Value":{"S":"1"}}}`,
		`{"a":{"Action":"ADD","Value":{"L":[]}}}`,
		`{"a":{"Action":"ADD","Value":{"M":{}}}}`,
	} {
		var m map[string]AttributeUpdate
		var rawM any
		_ = json.Unmarshal([]byte(raw), &m)
		_ = json.Unmarshal([]byte(raw), &rawM)
		typ, want := dynaliteCall(t, url, "UpdateItem", map[string]any{"TableName": "nosuchtable",
			"Key": map[string]any{"h": map[string]string{"S": "k"}}, "AttributeUpdates": rawM})
		_, err := FromAttributeUpdates(m)
		check(100+i, want, typ, err)
	}
	for i, raw := range []string{
		`{"a":{"ComparisonOperator":"EQ","AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"NULL","AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"NOT_NULL"}}`,
		`{"a":{"ComparisonOperator":"IN"}}`,
		`{"a":{"ComparisonOperator":"LT","AttributeValueList":[{"SS":["1"]}]}}`,
		`{"a":{"ComparisonOperator":"BEGINS_WITH","AttributeValueList":[{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"CONTAINS","AttributeValueList":[{"BOOL":true}]}}`,
		`{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"S":"b"},{"S":"a"}]}}`,
		`{"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"S":"b"},{"N":"1"}]}}`,
		`{"a":{"ComparisonOperator":"EQ","AttributeValueList":[{"L":[]}]}}`,
	} {
		var m map[string]Cond
		var rawM any
		_ = json.Unmarshal([]byte(raw), &m)
		_ = json.Unmarshal([]byte(raw), &rawM)
		typ, want := dynaliteCall(t, url, "Scan", map[string]any{"TableName": "nosuchtable", "ScanFilter": rawM})
		_, err := FromConditions(m, "")
		check(200+i, want, typ, err)
	}
}
