package wire

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
)

// BenchmarkDecodePutRecords decodes a 500-record, 10 MiB PutRecords body.
func BenchmarkDecodePutRecords(b *testing.B) {
	data := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 20<<10)))
	recs := make([]string, 500)
	for i := range recs {
		recs[i] = `{"Data":"` + data + `","PartitionKey":"key"}`
	}
	body := []byte(`{"StreamName":"s","Records":[` + strings.Join(recs, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.Run("wire", func(b *testing.B) {
		for b.Loop() {
			top, ok := formatJSON.top(body)
			if !ok {
				b.Fatal("top")
			}
			var in api.PutRecordsInput
			if err := formatJSON.decode(top, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var in api.PutRecordsInput
			if err := json.Unmarshal(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodePutRecordsCBOR decodes a 500-record, 10 MiB CBOR body.
func BenchmarkDecodePutRecordsCBOR(b *testing.B) {
	recs := make([]map[string]any, 500)
	for i := range recs {
		recs[i] = map[string]any{"Data": []byte(strings.Repeat("x", 20<<10)), "PartitionKey": "key"}
	}
	body, err := cbor.Marshal(map[string]any{"StreamName": "s", "Records": recs})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		top, ok := formatCBOR.top(body)
		if !ok {
			b.Fatal("top")
		}
		var in api.PutRecordsInput
		if err := formatCBOR.decode(top, &in); err != nil {
			b.Fatal(err)
		}
	}
}
