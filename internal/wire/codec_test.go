package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kinesis"
)

func TestJSONRoundTrip(t *testing.T) {
	h, rec, _ := testHandler(t)
	r := callJSON(t, h, "PutRecord", `{"StreamName":"s","PartitionKey":"k","Data":"aGVsbG8=","ExplicitHashKey":null,"Unknown":{"x":[1]},"streamName":"ignored"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if r.header.Get("Content-Type") != ContentTypeJSON {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	want := `{"ShardId":"shardId-000000000000","SequenceNumber":"49590338271490256608559692538361571095921575989136588898"}`
	if string(r.body) != want {
		t.Fatalf("body %s\nwant %s", r.body, want)
	}
	in, _ := rec.last()
	got := in.(*api.PutRecordInput)
	if *got.StreamName != "s" || *got.PartitionKey != "k" || string(got.Data) != "hello" || got.ExplicitHashKey != nil || got.StreamARN != nil {
		t.Fatalf("decoded %+v", got)
	}

	// Timestamps: epoch seconds with a fraction, never in exponent form.
	r = callJSON(t, h, "DescribeStreamSummary", `{"StreamName":"s"}`)
	if !contains(string(r.body), `"StreamCreationTimestamp":1506440188.749,`) {
		t.Fatalf("timestamp not in seconds with fraction: %s", r.body)
	}
	if !contains(string(r.body), `"StreamModeDetails":{"StreamMode":"PROVISIONED"}`) {
		t.Fatalf("nested struct: %s", r.body)
	}
	r = callJSON(t, h, "DescribeStreamSummary", `{"StreamName":"whole"}`)
	if !contains(string(r.body), `"StreamCreationTimestamp":1506440188,`) {
		t.Fatalf("whole-second timestamp: %s", r.body)
	}

	// Blobs are base64 and timestamps seconds in outputs too.
	r = callJSON(t, h, "GetRecords", `{"ShardIterator":"it"}`)
	var out struct {
		Records []struct {
			Data                        []byte
			ApproximateArrivalTimestamp json.Number
		}
		NextShardIterator string
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 1 || !bytes.Equal(out.Records[0].Data, []byte{0, 1, 2, 0xff}) ||
		out.Records[0].ApproximateArrivalTimestamp != "1506440188.749" || out.NextShardIterator != "next" {
		t.Fatalf("GetRecords body %s", r.body)
	}

	// Timestamps come in as numbers, integer or fractional.
	for body, ms := range map[string]int64{
		`{"Timestamp":1506440188.749}`: 1506440188749,
		`{"Timestamp":1506440188}`:     1506440188000,
		`{"Timestamp":1.506440188e9}`:  1506440188000,
	} {
		if r := callJSON(t, h, "GetShardIterator", body); r.status != 200 {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		in, _ := rec.last()
		if got := in.(*api.GetShardIteratorInput).Timestamp.UnixMilli(); got != ms {
			t.Fatalf("%s: decoded %d ms, want %d", body, got, ms)
		}
	}
}

func TestEmptyOutputs(t *testing.T) {
	h, _, _ := testHandler(t)
	for _, op := range []string{"ListStreams", "CreateStream", "DeleteStream"} {
		if r := callJSON(t, h, op, `{"StreamName":"x"}`); r.status != 200 || string(r.body) != "{}" {
			t.Errorf("%s JSON: %d %q", op, r.status, r.body)
		}
		if r := callCBOR(t, h, op, map[string]any{"StreamName": "x"}); r.status != 200 || !bytes.Equal(r.body, []byte{0xa0}) {
			t.Errorf("%s CBOR: %d %x", op, r.status, r.body)
		}
	}
}

func callCBOR(t *testing.T, h http.Handler, op string, body any) response {
	t.Helper()
	b, err := cbor.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, h, http.MethodPost, "/", signed(TargetPrefix+"."+op, ContentTypeCBOR), b)
}

func TestCBORRoundTrip(t *testing.T) {
	h, rec, _ := testHandler(t)

	// What the Java SDK sends: byte-string blobs, tag 1 around milliseconds.
	r := callCBOR(t, h, "PutRecord", map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": []byte{0, 0xfe}, "Other": 1})
	if r.status != 200 || r.header.Get("Content-Type") != ContentTypeCBOR {
		t.Fatalf("status %d type %q body %x", r.status, r.header.Get("Content-Type"), r.body)
	}
	var put api.PutRecordOutput
	if err := cbor.Unmarshal(r.body, &put); err != nil || put.ShardId != "shardId-000000000000" {
		t.Fatalf("output %+v %v", put, err)
	}
	in, _ := rec.last()
	if p := in.(*api.PutRecordInput); !bytes.Equal(p.Data, []byte{0, 0xfe}) || *p.StreamName != "s" {
		t.Fatalf("decoded %+v", p)
	}

	r = callCBOR(t, h, "GetShardIterator", map[string]any{"StreamName": "s", "Timestamp": cbor.Tag{Number: 1, Content: int64(1506440188749)}})
	if r.status != 200 {
		t.Fatalf("status %d %x", r.status, r.body)
	}
	in, _ = rec.last()
	if got := in.(*api.GetShardIteratorInput).Timestamp.UnixMilli(); got != 1506440188749 {
		t.Fatalf("CBOR timestamp decoded to %d ms", got)
	}

	// Outputs: tag 1 around integer milliseconds, blobs as byte strings.
	r = callCBOR(t, h, "GetRecords", map[string]any{"ShardIterator": "it"})
	var raw struct {
		Records []map[string]cbor.RawMessage
	}
	if err := cbor.Unmarshal(r.body, &raw); err != nil || len(raw.Records) != 1 {
		t.Fatalf("GetRecords body %x: %v", r.body, err)
	}
	var ts cbor.RawTag
	if err := cbor.Unmarshal(raw.Records[0]["ApproximateArrivalTimestamp"], &ts); err != nil || ts.Number != 1 {
		t.Fatalf("timestamp %x: %v", raw.Records[0]["ApproximateArrivalTimestamp"], err)
	}
	var ms any
	if err := cbor.Unmarshal(ts.Content, &ms); err != nil || ms != uint64(1506440188749) {
		t.Fatalf("timestamp content %#v (%T), want integer ms", ms, ms)
	}
	if d := raw.Records[0]["Data"]; len(d) == 0 || d[0]>>5 != cborMajorBytes {
		t.Fatalf("Data not a byte string: %x", d)
	}

	// Java sends indefinite-length maps, sometimes behind the self-describe tag.
	body := append([]byte{0xd9, 0xd9, 0xf7, 0xbf}, mustCBOR(t, "StreamName")...)
	body = append(body, mustCBOR(t, "indef")...)
	body = append(body, 0xff)
	r = serve(t, h, "POST", "/", signed(TargetPrefix+".DeleteStream", ContentTypeCBOR), body)
	in, _ = rec.last()
	if r.status != 200 || *in.(*api.DeleteStreamInput).StreamName != "indef" {
		t.Fatalf("indefinite map: %d %x", r.status, r.body)
	}

	// Nil lists go out as empty arrays, not null.
	r = callCBOR(t, h, "ListShards", map[string]any{})
	var shards map[string]any
	if err := cbor.Unmarshal(r.body, &shards); err != nil {
		t.Fatal(err)
	}
	if l, ok := shards["Shards"].([]any); !ok || len(l) != 0 {
		t.Fatalf("Shards = %#v", shards["Shards"])
	}
}

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCaller(t *testing.T) {
	h, rec, _ := testHandler(t)
	tests := []struct {
		authz, query string
		want         kinesis.Caller
	}{
		{"AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-2/kinesis/aws4_request, SignedHeaders=host, Signature=x",
			"", kinesis.Caller{Account: "123456789012", Region: "eu-west-2"}},
		{"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/ap-south-1/kinesis/aws4_request, SignedHeaders=host, Signature=x",
			"", kinesis.Caller{Account: "000000000000", Region: "ap-south-1"}},
		{"AWS4-HMAC-SHA256 Credential=1234567890123/20240101/us-west-1/kinesis/aws4_request, SignedHeaders=host, Signature=x",
			"", kinesis.Caller{Account: "000000000000", Region: "us-west-1"}},
		{"AWS4-HMAC-SHA256 Credential=123456789012, SignedHeaders=host, Signature=x",
			"", kinesis.Caller{Account: "123456789012", Region: "us-east-1"}},
		{"AWS4-HMAC-SHA256 Credential=123456789012/20240101/Bad:Region/kinesis/aws4_request, SignedHeaders=host, Signature=x",
			"", kinesis.Caller{Account: "123456789012", Region: "us-east-1"}},
		{"", "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=210987654321%2F20240101%2Fsa-east-1%2Fkinesis%2Faws4_request&X-Amz-Signature=x&X-Amz-SignedHeaders=host&X-Amz-Date=20240101T000000Z",
			kinesis.Caller{Account: "210987654321", Region: "sa-east-1"}},
	}
	for _, tc := range tests {
		hdr := signed(listStreams, ContentTypeJSON)
		hdr["Authorization"] = tc.authz
		r := serve(t, h, "POST", "/"+tc.query, hdr, []byte("{}"))
		if r.status != 200 {
			t.Fatalf("%q: %d %s", tc.authz, r.status, r.body)
		}
		if _, c := rec.last(); c != tc.want {
			t.Errorf("%q%s: caller %+v, want %+v", tc.authz, tc.query, c, tc.want)
		}
	}
}

func TestErrorTable(t *testing.T) {
	h, _, logs := testHandler(t)
	// Every kind in service/errors.go, by name.
	for _, e := range errorTable {
		if e.typ != e.kind.Error() {
			t.Errorf("kind %v renders as %s", e.kind, e.typ)
		}
	}
	if len(errorTable) != 16 {
		t.Errorf("errorTable has %d kinds; service/errors.go has 16", len(errorTable))
	}

	tests := []struct {
		stream, typ, msg string
		status           int
	}{
		{"missing", "ResourceNotFoundException", "Stream missing under account 123456789012 not found.", 400},
		{"wrapped", "ResourceInUseException", "Stream wrapped is busy.", 400},
		{"internal", "InternalFailure", "store unavailable", 500},
		{"boom", "InternalFailure", internalFailureMessage, 500},
		{"panic", "InternalFailure", internalFailureMessage, 500},
		{"bare", "LimitExceededException", "", 400},
	}
	for _, tc := range tests {
		r := callJSON(t, h, "DeleteStream", `{"StreamName":"`+tc.stream+`"}`)
		want := `{"__type":"` + tc.typ + `","message":"` + tc.msg + `"}`
		if tc.msg == "" {
			want = `{"__type":"` + tc.typ + `"}`
		}
		if r.status != tc.status || string(r.body) != want || r.get(headerErrorType) != tc.typ {
			t.Errorf("%s: %d %s (type header %q), want %d %s", tc.stream, r.status, r.body, r.get(headerErrorType), tc.status, want)
		}
		if tc.stream == "boom" {
			id := r.get(headerRequestID)
			if !contains(logs.String(), "secret database detail") || !contains(logs.String(), id) {
				t.Errorf("unknown error not logged with request id %s:\n%s", id, logs.String())
			}
			if contains(string(r.body), "secret") {
				t.Errorf("internal detail leaked: %s", r.body)
			}
		}
	}

	// Each kind through the table, in CBOR too.
	for _, e := range errorTable {
		ops := map[string]kinesis.Operation{"ListStreams": kinesis.Op("ListStreams",
			func(_ context.Context, _ *api.ListStreamsInput) (*api.ListStreamsOutput, error) {
				return nil, kinesis.Errorf(e.kind, "m %s", e.typ)
			})}
		hh := New(ops, Options{Logger: slog.New(slog.DiscardHandler)})
		r := callCBOR(t, hh, "ListStreams", map[string]any{})
		var body map[string]string
		if err := cbor.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if r.status != e.status || body["__type"] != e.typ || body["message"] != "m "+e.typ || r.get(headerErrorType) != e.typ {
			t.Errorf("%s: %d %v", e.typ, r.status, body)
		}
	}
}

func TestDebugLog(t *testing.T) {
	h, _, logs := testHandler(t)
	r := callJSON(t, h, "ListStreams", "{}")
	line := logs.String()
	for _, want := range []string{"op=ListStreams", "status=200", "duration=", "request_id=" + r.get(headerRequestID)} {
		if !contains(line, want) {
			t.Errorf("log lacks %q: %s", want, line)
		}
	}
}

// TestTypeErrors checks AWS's messages for values of the wrong type, from
// kinesalite's validations.
func TestTypeErrors(t *testing.T) {
	h, _, _ := testHandler(t)
	const bigNum = "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
	tests := []struct{ op, body, msg string }{
		{"CreateStream", `{"StreamName":true}`, "class java.lang.Boolean can not be converted to an String"},
		{"CreateStream", `{"StreamName":1}`, "class " + bigNum + " can not be converted to an String"},
		{"CreateStream", `{"StreamName":[]}`, "Start of list found where not expected"},
		{"CreateStream", `{"StreamName":{}}`, "Start of structure or map found where not expected."},
		{"CreateStream", `{"ShardCount":"1"}`, "class java.lang.String can not be converted to an Integer"},
		{"CreateStream", `{"ShardCount":false}`, "class java.lang.Boolean can not be converted to an Integer"},
		{"CreateStream", `{"ShardCount":[1]}`, "Start of list found where not expected"},
		{"CreateStream", `{"Tags":"x"}`, "Expected map or null"},
		{"CreateStream", `{"Tags":[]}`, "Start of list found where not expected"},
		{"CreateStream", `{"Tags":{"b":"ok","a":2}}`, "class " + bigNum + " can not be converted to an String"},
		{"CreateStream", `{"StreamModeDetails":"x"}`, "Expected null"},
		{"CreateStream", `{"StreamModeDetails":[]}`, "Start of list found where not expected"},
		{"DeleteStream", `{"EnforceConsumerDeletion":"yes"}`, "'YES' can not be converted to an Boolean"},
		{"DeleteStream", `{"EnforceConsumerDeletion":1}`, "class " + bigNum + " can not be converted to an Boolean"},
		{"DeleteStream", `{"EnforceConsumerDeletion":{}}`, "Start of structure or map found where not expected."},
		{"PutRecords", `{"Records":{}}`, "Start of structure or map found where not expected."},
		{"PutRecords", `{"Records":1}`, "Expected list or null"},
		{"PutRecords", `{"Records":[1]}`, "Expected null"},
		{"PutRecords", `{"Records":[[]]}`, "Start of list found where not expected"},
		{"PutRecords", `{"Records":[{"Data":"AAAA"},{"Data":false}]}`, "class java.lang.Boolean can not be converted to a Blob"},
		{"PutRecord", `{"Data":1}`, "class " + bigNum + " can not be converted to a Blob"},
		{"PutRecord", `{"Data":[]}`, "Start of list found where not expected"},
		{"PutRecord", `{"Data":"abc"}`, "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"PutRecord", `{"Data":"\u00e9bc"}`, "'ébc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"PutRecord", `{"Data":"ab$="}`, "'ab$=' can not be converted to a Blob: Invalid Base64 character: '$'"},
		{"PutRecord", `{"Data":"a=bc"}`, "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"},
		{"PutRecord", `{"Data":"AAA\n"}`, "'AAA\n' can not be converted to a Blob: Invalid Base64 character: '\n'"},
		{"PutRecord", `{"Data":"AB=="}`, "'AB==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
		{"PutRecord", `{"Data":"===="}`, "'====' can not be converted to a Blob: Invalid last non-pad Base64 character dectected"},
		{"GetShardIterator", `{"Timestamp":"2020-01-01T00:00:00Z"}`, "class java.lang.String can not be converted to milliseconds since epoch"},
		{"GetShardIterator", `{"Timestamp":true}`, "class java.lang.Boolean can not be converted to milliseconds since epoch"},
		{"GetShardIterator", `{"Timestamp":{}}`, "Start of structure or map found where not expected."},
		{"ListShards", `{"ShardFilter":{"Timestamp":"x"}}`, "class java.lang.String can not be converted to milliseconds since epoch"},
	}
	for _, tc := range tests {
		r := callJSON(t, h, tc.op, tc.body)
		var body map[string]string
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%s: %s", tc.body, r.body)
		}
		if r.status != 400 || body["__type"] != "SerializationException" || body["Message"] != tc.msg {
			t.Errorf("%s %s:\n got %d %v\nwant Message %q", tc.op, tc.body, r.status, body, tc.msg)
		}
		if _, ok := body["message"]; ok {
			t.Errorf("%s: SerializationException has lower-case message", tc.body)
		}
	}
}

func TestLenientValues(t *testing.T) {
	h, rec, _ := testHandler(t)
	tests := []struct {
		op, body string
		check    func(any) bool
	}{
		{"CreateStream", `{"ShardCount":1.9}`, func(in any) bool { return *in.(*api.CreateStreamInput).ShardCount == 1 }},
		{"CreateStream", `{"ShardCount":-1.5}`, func(in any) bool { return *in.(*api.CreateStreamInput).ShardCount == -2 }},
		{"CreateStream", `{"ShardCount":1e20}`, func(in any) bool { return *in.(*api.CreateStreamInput).ShardCount == math.MaxInt32 }},
		{"CreateStream", `{"ShardCount":3000000000}`, func(in any) bool { return *in.(*api.CreateStreamInput).ShardCount == math.MaxInt32 }},
		{"CreateStream", `{"ShardCount":-1e400}`, func(in any) bool { return *in.(*api.CreateStreamInput).ShardCount == math.MinInt32 }},
		{"CreateStream", `{"StreamName":null,"ShardCount":null,"Tags":null}`, func(in any) bool {
			c := in.(*api.CreateStreamInput)
			return c.StreamName == nil && c.ShardCount == nil && c.Tags == nil
		}},
		{"CreateStream", `{"Tags":{"a":"1","b":null}}`, func(in any) bool {
			return reflect.DeepEqual(in.(*api.CreateStreamInput).Tags, map[string]string{"a": "1", "b": ""})
		}},
		{"CreateStream", `{"StreamName":"caf\u00e9 \ud83d\ude00"}`, func(in any) bool { return *in.(*api.CreateStreamInput).StreamName == "café 😀" }},
		{"PutRecord", `{"Data":""}`, func(in any) bool { d := in.(*api.PutRecordInput).Data; return d != nil && len(d) == 0 }},
		{"PutRecord", `{"Data":"\u0041\u0041\u003d\u003d"}`, func(in any) bool { return bytes.Equal(in.(*api.PutRecordInput).Data, []byte{0}) }},
		{"PutRecords", `{"Records":[null,{"Data":"AA=="}]}`, func(in any) bool {
			p := in.(*api.PutRecordsInput)
			return len(p.Records) == 2 && p.Records[0].Data == nil && bytes.Equal(p.Records[1].Data, []byte{0})
		}},
		{"CreateStream", `{"streamName":"x","STREAMNAME":"y"}`, func(in any) bool { return in.(*api.CreateStreamInput).StreamName == nil }},
		{"DeleteStream", ` {"EnforceConsumerDeletion" : true } `, func(in any) bool { return *in.(*api.DeleteStreamInput).EnforceConsumerDeletion }},
	}
	for _, tc := range tests {
		r := callJSON(t, h, tc.op, tc.body)
		if r.status != 200 {
			t.Errorf("%s: %d %s", tc.body, r.status, r.body)
			continue
		}
		if in, _ := rec.last(); !tc.check(in) {
			t.Errorf("%s decoded to %+v", tc.body, in)
		}
	}
}

func TestCBORTypeErrors(t *testing.T) {
	h, _, _ := testHandler(t)
	tests := []struct {
		op   string
		body map[string]any
		msg  string
	}{
		{"CreateStream", map[string]any{"StreamName": true}, "class java.lang.Boolean can not be converted to an String"},
		{"CreateStream", map[string]any{"StreamName": []byte("x")}, "class java.nio.HeapByteBuffer can not be converted to an String"},
		{"CreateStream", map[string]any{"ShardCount": "1"}, "class java.lang.String can not be converted to an Integer"},
		{"PutRecord", map[string]any{"Data": 5}, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob"},
		{"PutRecord", map[string]any{"Data": "abc"}, "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"GetShardIterator", map[string]any{"Timestamp": "2020"}, "class java.lang.String can not be converted to milliseconds since epoch"},
	}
	for _, tc := range tests {
		r := callCBOR(t, h, tc.op, tc.body)
		var body map[string]string
		if err := cbor.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%v: %x", tc.body, r.body)
		}
		if r.status != 400 || body["__type"] != "SerializationException" || body["Message"] != tc.msg {
			t.Errorf("%v: %d %v, want %q", tc.body, r.status, body, tc.msg)
		}
	}
	// Text base64 is accepted for blobs, as in JSON; floats floor.
	h2, rec, _ := testHandler(t)
	if r := callCBOR(t, h2, "PutRecord", map[string]any{"Data": "AA=="}); r.status != 200 {
		t.Fatalf("%d %x", r.status, r.body)
	}
	if in, _ := rec.last(); !bytes.Equal(in.(*api.PutRecordInput).Data, []byte{0}) {
		t.Fatalf("text blob decoded to %v", in)
	}
	if r := callCBOR(t, h2, "CreateStream", map[string]any{"ShardCount": 2.7}); r.status != 200 {
		t.Fatalf("%d %x", r.status, r.body)
	}
	if in, _ := rec.last(); *in.(*api.CreateStreamInput).ShardCount != 2 {
		t.Fatalf("float shard count decoded to %v", *in.(*api.CreateStreamInput).ShardCount)
	}
}

// TestTimeJSONNeverExponent guards the JSON timestamp form over a range of
// magnitudes.
func TestTimeJSONNeverExponent(t *testing.T) {
	for _, ms := range []int64{0, 1, 999, 1000, 1e12, 1506440188749, 4102444800001, 253402300799999} {
		b, err := formatJSON.encode(&api.GetRecordsOutput{Records: []api.Record{{ApproximateArrivalTimestamp: *api.NewTime(time.UnixMilli(ms))}}})
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.Index(s, `"ApproximateArrivalTimestamp":`) + len(`"ApproximateArrivalTimestamp":`)
		num := s[i : i+strings.IndexAny(s[i:], ",}")]
		if strings.ContainsAny(num, "eE") {
			t.Fatalf("%d ms encoded as %s", ms, num)
		}
		var back api.Time
		if err := back.UnmarshalJSON([]byte(num)); err != nil || back.UnixMilli() != ms {
			t.Fatalf("%s decoded to %d", num, back.UnixMilli())
		}
	}
}
