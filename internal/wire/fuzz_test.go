package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
)

// fuzzInputs are the inputs the fuzzers decode into, picked by a byte.
var fuzzInputs = []func() any{
	func() any { return new(api.PutRecordsInput) },
	func() any { return new(api.CreateStreamInput) },
	func() any { return new(api.GetShardIteratorInput) },
	func() any { return new(api.ListShardsInput) },
	func() any { return new(api.DeleteStreamInput) },
}

// checkDecode decodes body twice over; it must never panic, must fail only
// with a SerializationException, and what it decodes must survive being
// encoded and decoded again unchanged.
func checkDecode(t *testing.T, f format, pick uint8, body []byte) {
	newInput := fuzzInputs[int(pick)%len(fuzzInputs)]
	top, ok := f.top(body)
	if !ok {
		return
	}
	in := newInput()
	if err := f.decode(top, in); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.typ != "SerializationException" || ae.status != 400 {
			t.Fatalf("decode error %v (%T)", err, err)
		}
		return
	}
	enc, err := f.encode(in)
	if err != nil {
		t.Fatalf("re-encoding %+v: %v", in, err)
	}
	top, ok = f.top(enc)
	if !ok {
		t.Fatalf("re-encoded body does not parse: %q", enc)
	}
	again := newInput()
	if err := f.decode(top, again); err != nil {
		t.Fatalf("re-encoded body %q does not decode: %v", enc, err)
	}
	if !looseEqual(reflect.ValueOf(in), reflect.ValueOf(again)) {
		t.Fatalf("round trip changed input:\n%+v\n%+v\nvia %q", in, again, enc)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"StreamName":"s","Records":[{"Data":"aGVsbG8=","PartitionKey":"k","ExplicitHashKey":"1"},null]}`,
		`{"Records":[{"Data":"AB=="}]}`,
		`{"StreamName":"s","ShardCount":1.5,"Tags":{"a":"b","c":null},"StreamModeDetails":{"StreamMode":"ON_DEMAND"}}`,
		`{"ShardCount":1e400}`,
		`{"Timestamp":1506440188.749,"ShardIteratorType":"AT_TIMESTAMP"}`,
		`{"Timestamp":"2020-01-01T00:00:00Z"}`,
		`{"ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":-1e300},"MaxResults":-0}`,
		`{"EnforceConsumerDeletion":"true"}`,
		`{"StreamName":"\ud800"}`,
		`{"Records":{"Data":1}}`,
		`[1,2]`,
		`{"a":`,
		` { "x\"y" : [ 1 , "a\\" , {"b":[]} ] , "Records" : [ ] } `,
		`{"\u0053treamName":"s","StreamName":"t"}`,
	} {
		for pick := range len(fuzzInputs) {
			f.Add(uint8(pick), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, pick uint8, body []byte) {
		checkSplit(t, body)
		checkDecode(t, formatJSON, pick, body)
	})
}

// checkSplit compares the fast JSON splitter with encoding/json.
func checkSplit(t *testing.T, body []byte) {
	top, ok := formatJSON.top(body)
	var want map[string]json.RawMessage
	if err := json.Unmarshal(body, &want); err != nil || want == nil {
		if ok {
			t.Fatalf("top accepted %q, encoding/json did not", body)
		}
		return
	}
	if !ok || len(top) != len(want) {
		t.Fatalf("top(%q) = %v, %v; encoding/json %v", body, top, ok, want)
	}
	for k, v := range want {
		if string(top[k]) != string(v) {
			t.Fatalf("member %q: %q, encoding/json %q", k, top[k], v)
		}
		var wantList []json.RawMessage
		if json.Unmarshal(v, &wantList) != nil || wantList == nil {
			continue
		}
		list, err := splitArray(top[k])
		if err != nil || len(list) != len(wantList) {
			t.Fatalf("array %q: %q %v; encoding/json %q", k, list, err, wantList)
		}
		for i := range list {
			if string(list[i]) != string(wantList[i]) {
				t.Fatalf("array %q item %d: %q; encoding/json %q", k, i, list[i], wantList[i])
			}
		}
	}
}

func FuzzDecodeCBOR(f *testing.F) {
	seeds := []any{
		map[string]any{},
		map[string]any{"StreamName": "s", "Records": []any{map[string]any{"Data": []byte("hi"), "PartitionKey": "k"}, nil}},
		map[string]any{"Records": []any{map[string]any{"Data": "aGk="}}},
		map[string]any{"ShardCount": 2.5, "Tags": map[string]any{"a": "b"}, "StreamModeDetails": map[string]any{"StreamMode": "PROVISIONED"}},
		map[string]any{"ShardCount": uint64(1 << 63)},
		map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: int64(1506440188749)}},
		map[string]any{"Timestamp": cbor.Tag{Number: 1, Content: 1506440188.749}},
		map[string]any{"Timestamp": cbor.Tag{Number: 0, Content: "2020-01-01T00:00:00Z"}},
		map[string]any{"ShardFilter": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": int64(-5)}},
		map[string]any{"EnforceConsumerDeletion": true, "StreamName": cbor.Tag{Number: 99, Content: "x"}},
		[]any{1},
	}
	for _, s := range seeds {
		b, err := cbor.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		for pick := range len(fuzzInputs) {
			f.Add(uint8(pick), b)
		}
	}
	f.Add(uint8(0), []byte{0xbf, 0x67, 'R', 'e', 'c', 'o', 'r', 'd', 's', 0x9f, 0xbf, 0x64, 'D', 'a', 't', 'a', 0x5f, 0x41, 0x00, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, pick uint8, body []byte) {
		checkDecode(t, formatCBOR, pick, body)
	})
}

// looseEqual is reflect.DeepEqual except that nil and empty slices and maps
// are equal: encoders legitimately turn one into the other.
func looseEqual(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return looseEqual(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !looseEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !looseEqual(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if a.Type() == timeType {
			return a.Interface().(api.Time).Equal(b.Interface().(api.Time).Time)
		}
		for i := range a.NumField() {
			if !looseEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}
