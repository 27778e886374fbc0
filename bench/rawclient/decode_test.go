package rawclient

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
)

// getRecordsBodies are GetRecords responses as servers may write them:
// any member order, whitespace, escapes, nulls and unknown members.
var getRecordsBodies = []string{
	`{"Records":[],"NextShardIterator":"AAAA","MillisBehindLatest":0}`,
	`{"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ApproximateArrivalTimestamp":1700000000.123,"Data":"aGVsbG8=","PartitionKey":"pk-1","EncryptionType":"NONE"}],"NextShardIterator":"it","MillisBehindLatest":12}`,
	" \n\t{ \"MillisBehindLatest\" : 5 ,\r\n \"Records\" : [ { \"PartitionKey\" : \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\" , \"Data\" : \"\" , \"ApproximateArrivalTimestamp\" : 1.7e9 , \"SequenceNumber\" : \"1\" } , null , { } ] , \"NextShardIterator\" : null } \n",
	`{"Records":[{"Data":"AAEC\/w==","PartitionKey":"\u2028\u0000\t","SequenceNumber":"2","EncryptionType":"KMS","ExplicitHashKey":"123","Extra":{"a":[1,2,{"b":null}],"c":true}}],"Unknown":[[[]]],"MillisBehindLatest":-0}`,
	`{"Records":[{"Dat\u0061":"AQ==","Sequence\u004eumber":"9","EncryptionType":"SOMETHING","ApproximateArrivalTimestamp":-1.5}],"ChildShards":[{"ShardId":"shardId-000000000001","ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"}},{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000",null],"HashKeyRange":{}}]}`,
	`{"Records":null,"ChildShards":[],"NextShardIterator":"x\u00e9y"}`,
	`{"Records":[{"Data":null,"PartitionKey":null,"SequenceNumber":null,"ApproximateArrivalTimestamp":null,"EncryptionType":null}],"ChildShards":[null,{"ParentShards":null,"HashKeyRange":null}]}`,
	`{"Records":[{"ApproximateArrivalTimestamp":1700000000},{"ApproximateArrivalTimestamp":1700000000.9999},{"ApproximateArrivalTimestamp":0.001},{"ApproximateArrivalTimestamp":1E3}]}`,
	`{}`,
	`null`,
	"",
	`{"Records":[{"Data":"aGVs\nbG8=" }]}`, // an escaped-free control char: invalid JSON
}

// putRecordsBodies are PutRecords responses.
var putRecordsBodies = []string{
	`{"FailedRecordCount":1,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"},{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard shardId-000000000001 in stream s under account 000000000000."}],"EncryptionType":"NONE"}`,
	` { "EncryptionType" : "KMS" , "Records" : [ null , { "ShardId" : "shard\u0049d-1" , "x" : [ ] } ] , "FailedRecordCount" : 0 } `,
	`{"Records":[],"EncryptionType":"\u004eONE"}`,
	`{"FailedRecordCount":null,"Records":null,"EncryptionType":null}`,
	`{}`,
}

var putRecordBodies = []string{
	`{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000003","EncryptionType":"NONE"}`,
	`{"ShardId":"s","SequenceNumber":"1\u00302","EncryptionType":"KMS","Other":{"x":"\ud800"}}`,
	`{"EncryptionType":"X"}`,
}

var getShardIteratorBodies = []string{
	`{"ShardIterator":"AAAAAAAAAAE+/w=="}`,
	`{"ShardIterator":null}`,
	`{"x":1,"ShardIterator":"a\\b"}`,
}

// invalidBodies are not JSON, or not of the response's shape.
var invalidBodies = []string{
	` `, `{`, `}`, `[]`, `"x"`, `1`, `nul`, `nullx`, `{"Records":[}`, `{"Records":[],}`, `{,"a":1}`, `{"a":1 "b":2}`,
	`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	"{\"a\":\"\x01\"}", `{"a":"unterminated}`, `{"a":1}x`, `{"a":1}{}`, `{"Records":{}}`, `{"Records":[1]}`,
	`{"Records":[{"Data":1}]}`, `{"Records":[{"Data":"%%%%"}]}`, `{"Records":[{"Data":"aGVsbG8"}]}`,
	`{"Records":[{"PartitionKey":1}]}`, `{"Records":[{"ApproximateArrivalTimestamp":"1"}]}`, `{"Records":[{"ApproximateArrivalTimestamp":1e999}]}`,
	`{"MillisBehindLatest":1.5}`, `{"MillisBehindLatest":1e3}`, `{"MillisBehindLatest":99999999999999999999}`,
	`{"NextShardIterator":1}`, `{"ChildShards":[{"ParentShards":[1]}]}`, `{"ChildShards":[{"HashKeyRange":[]}]}`,
	"{\"Records\":[{\"Data\":\"AAAA\n\n\n\nAAAA\"}]}", "{\"Records\":[{\"Data\":\"AA==\r\n\r\n\"}]}", "{\"Records\":[{\"Data\":\"AA\n==\"}]}",
	`{"FailedRecordCount":4294967296}`, `{"Records":[{"ShardId":false}]}`, `{"ShardIterator":{}}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b"}}`,
}

// sdkGetRecords decodes with the SDK, without the metadata it adds.
func sdkGetRecords(t *testing.T, body string) *kinesis.GetRecordsOutput {
	t.Helper()
	out := &kinesis.GetRecordsOutput{}
	if err := sdkDecode(opGetRecords, []byte(body), out); err != nil {
		t.Fatalf("SDK: %v\n%s", err, body)
	}
	out.ResultMetadata = middleware.Metadata{}
	return out
}

func TestDecodeGetRecordsLikeSDK(t *testing.T) {
	for _, body := range getRecordsBodies {
		if strings.Contains(body, "aGVs\n") || body == "null" {
			continue // invalid JSON, checked below; the SDK refuses a null body, encoding/json does not
		}
		got := &kinesis.GetRecordsOutput{}
		if err := decodeGetRecords([]byte(body), got); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if want := sdkGetRecords(t, body); !reflect.DeepEqual(got, want) {
			t.Errorf("body %s\n got %s\nwant %s", body, show(got), show(want))
		}
		if body == "" {
			continue
		}
		ref, err := refGetRecords([]byte(body))
		if err != nil || !reflect.DeepEqual(got, ref) {
			t.Errorf("body %s: encoding/json %v\n got %s\nwant %s", body, err, show(got), show(ref))
		}
	}
}

func TestDecodeOthersLikeSDK(t *testing.T) {
	for _, body := range putRecordsBodies {
		got, want := &kinesis.PutRecordsOutput{}, &kinesis.PutRecordsOutput{}
		if err := decodePutRecords([]byte(body), got); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if err := sdkDecode(opPutRecords, []byte(body), want); err != nil {
			t.Fatal(err)
		}
		want.ResultMetadata = middleware.Metadata{}
		if ref, err := refPutRecords([]byte(body)); !reflect.DeepEqual(got, want) || err != nil || !reflect.DeepEqual(got, ref) {
			t.Errorf("body %s\n got %s\nwant %s\n ref %s (%v)", body, show(got), show(want), show(ref), err)
		}
	}
	for _, body := range putRecordBodies {
		got, want := &kinesis.PutRecordOutput{}, &kinesis.PutRecordOutput{}
		if err := decodePutRecord([]byte(body), got); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if err := sdkDecode(opPutRecord, []byte(body), want); err != nil {
			t.Fatal(err)
		}
		want.ResultMetadata = middleware.Metadata{}
		if ref, err := refPutRecord([]byte(body)); !reflect.DeepEqual(got, want) || err != nil || !reflect.DeepEqual(got, ref) {
			t.Errorf("body %s\n got %s\nwant %s\n ref %s (%v)", body, show(got), show(want), show(ref), err)
		}
	}
	for _, body := range getShardIteratorBodies {
		got, want := &kinesis.GetShardIteratorOutput{}, &kinesis.GetShardIteratorOutput{}
		if err := decodeGetShardIterator([]byte(body), got); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if err := sdkDecode(opGetShardIterator, []byte(body), want); err != nil {
			t.Fatal(err)
		}
		want.ResultMetadata = middleware.Metadata{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body %s\n got %s\nwant %s", body, show(got), show(want))
		}
	}
}

// TestDecodeAcceptsWhatJSONAccepts checks that each decoder accepts
// exactly the bodies encoding/json reads as its response (the empty body
// aside, which the SDK reads as an empty response), and that each invalid
// body is refused by some decoder.
func TestDecodeAcceptsWhatJSONAccepts(t *testing.T) {
	decoders := map[string]func([]byte) (error, error){
		"GetRecords": func(b []byte) (error, error) {
			_, ref := refGetRecords(b)
			return decodeGetRecords(b, &kinesis.GetRecordsOutput{}), ref
		},
		"PutRecords": func(b []byte) (error, error) {
			_, ref := refPutRecords(b)
			return decodePutRecords(b, &kinesis.PutRecordsOutput{}), ref
		},
		"PutRecord": func(b []byte) (error, error) {
			_, ref := refPutRecord(b)
			return decodePutRecord(b, &kinesis.PutRecordOutput{}), ref
		},
		"GetShardIterator": func(b []byte) (error, error) {
			_, ref := refGetShardIterator(b)
			return decodeGetShardIterator(b, &kinesis.GetShardIteratorOutput{}), ref
		},
	}
	var all []string
	for _, set := range [][]string{getRecordsBodies, putRecordsBodies, putRecordBodies, getShardIteratorBodies, invalidBodies} {
		all = append(all, set...)
	}
	invalid := map[string]bool{}
	for _, b := range invalidBodies {
		invalid[b] = true
	}
	for _, body := range all {
		if body == "" {
			continue
		}
		refused := false
		for name, dec := range decoders {
			err, ref := dec([]byte(body))
			if (err == nil) != (ref == nil) {
				t.Errorf("%s: %q: scanner %v, encoding/json %v", name, body, err, ref)
			}
			refused = refused || err != nil
		}
		if invalid[body] && !refused {
			t.Errorf("%q was accepted everywhere", body)
		}
	}
}

// TestDecodeDuplicatesAndUTF8 covers what only encoding/json defines:
// repeated members (the last wins whole) and bytes that are not UTF-8
// (U+FFFD).
func TestDecodeDuplicatesAndUTF8(t *testing.T) {
	for _, body := range []string{
		`{"Records":[{"PartitionKey":"a","Data":"AA=="}],"Records":[{"Data":"AQ=="}]}`,
		`{"Records":[{"PartitionKey":"a","PartitionKey":null,"ApproximateArrivalTimestamp":1,"ApproximateArrivalTimestamp":null,"EncryptionType":"KMS","EncryptionType":"X"}]}`,
		`{"Records":[{"EncryptionType":"X","EncryptionType":"NONE"}],"MillisBehindLatest":1,"MillisBehindLatest":null,"NextShardIterator":"a","NextShardIterator":"b"}`,
		`{"Records":[{"PartitionKey":"a` + "\xff\xfe" + `b","SequenceNumber":"` + "\xed\xa0\x80" + `"}],"NextShardIterator":"` + "\xc3" + `"}`,
		`{"Records":[{"PartitionKey":"\ud800\ud800\udc00\udc00x\ud800"}]}`,
	} {
		got := &kinesis.GetRecordsOutput{}
		if err := decodeGetRecords([]byte(body), got); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		ref, err := refGetRecords([]byte(body))
		if err != nil || !reflect.DeepEqual(got, ref) {
			t.Errorf("body %q: %v\n got %s\nwant %s", body, err, show(got), show(ref))
		}
	}
}

// TestDecodeLargeGetRecords decodes a full-size response: 10,000 records
// of 1 KiB, every one checked against the SDK's decoding.
func TestDecodeLargeGetRecords(t *testing.T) {
	body := bigGetRecordsBody(10000, 1024)
	got := &kinesis.GetRecordsOutput{}
	if err := decodeGetRecords(body, got); err != nil {
		t.Fatal(err)
	}
	if want := sdkGetRecords(t, string(body)); !reflect.DeepEqual(got, want) {
		t.Fatal("the scanner and the SDK disagree on a 10,000-record response")
	}
	if len(got.Records) != 10000 || len(got.Records[9999].Data) != 1024 {
		t.Fatalf("%d records", len(got.Records))
	}
}

// bigGetRecordsBody is a GetRecords response as Rivulet writes it.
func bigGetRecordsBody(n, size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, size)
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"SequenceNumber":"4959033827149025660855969253836157109592157598913%07d","ApproximateArrivalTimestamp":%d.%03d,"Data":"%s","PartitionKey":"%s","EncryptionType":"NONE"}`,
			i, 1700000000+i/1000, i%1000, base64.StdEncoding.EncodeToString(data), fmt.Sprintf("pk-%d", rng.IntN(1e6)))
	}
	b.WriteString(`],"NextShardIterator":"AAAAAAAAAAGbVHtRQW0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADAAAAAAAAAAAAAA=","MillisBehindLatest":0}`)
	return []byte(b.String())
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzDecode runs every response decoder on the input. None may panic,
// and wherever encoding/json reads the input as the response's shape, the
// decoder must agree with it exactly.
func FuzzDecode(f *testing.F) {
	for _, set := range [][]string{getRecordsBodies, putRecordsBodies, putRecordBodies, getShardIteratorBodies, invalidBodies} {
		for _, b := range set {
			f.Add([]byte(b))
		}
	}
	f.Add(bigGetRecordsBody(3, 10))
	f.Fuzz(func(t *testing.T, body []byte) {
		{
			got := &kinesis.GetRecordsOutput{}
			err := decodeGetRecords(body, got)
			if ref, rerr := refGetRecords(body); rerr == nil && (err != nil || !reflect.DeepEqual(got, ref)) {
				t.Fatalf("GetRecords %q: %v\n got %s\nwant %s", body, err, show(got), show(ref))
			}
		}
		{
			got := &kinesis.PutRecordsOutput{}
			err := decodePutRecords(body, got)
			if ref, rerr := refPutRecords(body); rerr == nil && (err != nil || !reflect.DeepEqual(got, ref)) {
				t.Fatalf("PutRecords %q: %v\n got %s\nwant %s", body, err, show(got), show(ref))
			}
		}
		{
			got := &kinesis.PutRecordOutput{}
			err := decodePutRecord(body, got)
			if ref, rerr := refPutRecord(body); rerr == nil && (err != nil || !reflect.DeepEqual(got, ref)) {
				t.Fatalf("PutRecord %q: %v\n got %s\nwant %s", body, err, show(got), show(ref))
			}
		}
		{
			got := &kinesis.GetShardIteratorOutput{}
			err := decodeGetShardIterator(body, got)
			if ref, rerr := refGetShardIterator(body); rerr == nil && (err != nil || !reflect.DeepEqual(got, ref)) {
				t.Fatalf("GetShardIterator %q: %v\n got %s\nwant %s", body, err, show(got), show(ref))
			}
		}
	})
}

// TestEncodeString checks appendString against encoding/json reading it
// back, for every kind of character the escaping treats apart.
func TestEncodeString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s/`, "\x00\x01\x1f\x7f\n\r\t\b\f", "é😀\u2028\u2029", "bad\xff\xfeutf8\xc3", "\xed\xa0\x80"} {
		enc := appendString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, enc, err)
		}
		// Each byte that is not UTF-8 becomes one U+FFFD.
		var want strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			want.WriteRune(r)
			i += n
		}
		if back != want.String() {
			t.Errorf("%q → %s → %q, want %q", s, enc, back, want.String())
		}
	}
}
