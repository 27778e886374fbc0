package fault

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParse: no input panics, and whatever parses survives a round trip
// through MarshalJSON unchanged and valid.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"op":"PutRecords","stream":"s","error":"ProvisionedThroughputExceededException","rate":0.25}]`,
		`[{"op":"GetRecords","latency":"250ms","every":3,"count":2}]`,
		`[{"entries":true,"error":"InternalFailure","rate":0.5,"message":"m"}]`,
		`[{"error":"InternalFailure","rate":0}]`,
		`[{"latency":"1h"}]`,
		`[null]`,
		`{"error":"x"}`,
		`[{"error":"InternalFailure"}] []`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range rules {
			if err := r.Validate(); err != nil {
				t.Fatalf("Parse accepted an invalid rule %+v: %v", r, err)
			}
		}
		out, err := json.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(rules) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(rules, again) {
			t.Fatalf("round trip changed %+v into %+v", rules, again)
		}
	})
}
