package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func FuzzMetadataExtraction(f *testing.F) {
	seeds := []struct{ q, data string }{
		{`{customer_id:.customer_id}`, `{"customer_id":"1"}`},
		{`{year:.ts|strftime("%Y")}`, `{"ts":1565382027}`},
		{`{a:.a, b:(.b|tostring)}`, `{"a":7.0,"b":[1]}`},
		{`{a:(.a // "x")}`, `not json`},
		{`.[] | {a:.}`, `[1,2,3]`},
		{`{a: (.a|length)}`, `{"a":"héllo"}`},
		{`reduce range(5) as $i ({}; .["k\($i)"] = $i)`, `null`},
		{`{a:.a|@base64d}`, `{"a":"eA=="}`},
		{`{a: ("x" * 3)}`, `{}`},
	}
	for _, s := range seeds {
		f.Add(s.q, []byte(s.data))
	}
	old := evalTimeout
	evalTimeout = 50 * time.Millisecond
	defer func() { evalTimeout = old }()
	f.Fuzz(func(t *testing.T, query string, data []byte) {
		cfg := processing(processor("MetadataExtraction", "MetadataExtractionQuery", query, "JsonParsingEngine", "JQ-1.6"))
		verr := Validate(cfg, true)
		for _, dynamic := range []bool{true, false} {
			p, err := New(cfg, Options{DynamicPartitioning: dynamic})
			if (err == nil) != (verr == nil) {
				t.Fatalf("Validate %v but New %v", verr, err)
			}
			if err != nil {
				return
			}
			out, failed, err := p.Run(context.Background(), []Record{{ID: "a", Data: data}})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(out)+len(failed) != 1 {
				t.Fatalf("%d out, %d failed from one record", len(out), len(failed))
			}
			if len(out) == 1 {
				if !bytes.Equal(out[0].Data, data) {
					t.Fatalf("extraction changed the data")
				}
				if len(out[0].Query) > maxPartitionKeys {
					t.Fatalf("%d keys", len(out[0].Query))
				}
				for k, v := range out[0].Query {
					if v == "" {
						t.Fatalf("key %q has an empty value", k)
					}
				}
			}
			if len(failed) == 1 && (!dynamic || failed[0].Message == "") {
				t.Fatalf("failure %+v (dynamic %v)", failed[0], dynamic)
			}
		}
	})
}

func FuzzDeaggregateJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}{"a":2}`, "{\"a\":1}\n{\"b\":[1,{}]}\n", `[{"a":1}]`, `{"a":"}{"}`, ``, `{}{`, `{"a":1} 2`} {
		f.Add([]byte(s))
	}
	p, err := New(processing(processor("RecordDeAggregation", "SubRecordType", "JSON")), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := SplitJSON(data)
		if err == nil {
			if len(parts) == 0 || len(parts) > maxSubRecords {
				t.Fatalf("%d parts", len(parts))
			}
			var joined []byte
			for _, part := range parts {
				if !json.Valid(part) || part[0] != '{' {
					t.Fatalf("part %q is not a JSON object", part)
				}
				joined = append(joined, part...)
			}
			// The parts are the data less the whitespace between them.
			if len(joined) > len(data) {
				t.Fatalf("parts are longer than the data")
			}
		}
		out, failed, rerr := p.Run(context.Background(), []Record{{ID: "r", Data: data}})
		if rerr != nil {
			t.Fatal(rerr)
		}
		if (err == nil) != (len(failed) == 0) || (err == nil && len(out) != len(parts)) {
			t.Fatalf("Run disagrees with SplitJSON: %d out %d failed, split error %v", len(out), len(failed), err)
		}
	})
}

func FuzzLambdaResponse(f *testing.F) {
	for _, s := range []string{
		`{"records":[{"recordId":"r0","result":"Ok","data":"eA=="},{"recordId":"r1","result":"Dropped"}]}`,
		`{"records":[{"recordId":"r0","result":"ProcessingFailed"},{"recordId":"r1","result":"Ok","data":"","metadata":{"partitionKeys":{"a":"b","n":1.0}}}]}`,
		`{"records":[{"recordId":"r0","result":"Ok","data":"eA=="},{"recordId":"r0","result":"Ok","data":"eA=="}]}`,
		`{"errorMessage":"boom"}`, `null`, `[]`, `{"records":null}`, `garbage`,
	} {
		f.Add([]byte(s))
	}
	l := &lambdaInvoker{cfg: &lambdaConfig{arn: "http://fn"}}
	recs := records(2)
	f.Fuzz(func(t *testing.T, body []byte) {
		kept, bad, fail := l.sort(recs, body, 1)
		if fail != nil {
			if fail.code == "" || fail.msg == "" || kept != nil || bad != nil {
				t.Fatalf("failure %+v with records", fail)
			}
			return
		}
		if len(kept)+len(bad) > len(recs) {
			t.Fatalf("%d kept and %d failed from %d records", len(kept), len(bad), len(recs))
		}
		for _, b := range bad {
			if b.Code != CodeProcessingFailedStatus {
				t.Fatalf("record failure %+v", b)
			}
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("Lambda", "LambdaArn", "arn:aws:lambda:us-east-1:123456789012:function:f:1", "BufferSizeInMBs", "0.5", false)
	f.Add("RecordDeAggregation", "SubRecordType", "DELIMITED", "Delimiter", "IyMjIw==", true)
	f.Add("MetadataExtraction", "MetadataExtractionQuery", "{a:.a}", "JsonParsingEngine", "JQ-1.6", true)
	f.Add("AppendDelimiterToRecord", "Delimiter", "Cg==", "", "", false)
	f.Fuzz(func(t *testing.T, typ, n1, v1, n2, v2 string, dp bool) {
		cfg := processing(processor(typ, n1, v1, n2, v2))
		err := Validate(cfg, dp)
		if err != nil {
			var iae *InvalidArgumentError
			if !errors.As(err, &iae) || iae.Message == "" {
				t.Fatalf("error %v is not an InvalidArgumentError with a message", err)
			}
			return
		}
		p, err := New(cfg, Options{DynamicPartitioning: dp, LambdaEndpoint: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatalf("Validate accepted what New refuses: %v", err)
		}
		if p.lambda != nil {
			return // would invoke a function
		}
		if _, _, err := p.Run(context.Background(), []Record{{ID: "a", Data: []byte(`{"a":1}{"a":2}`)}}); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
