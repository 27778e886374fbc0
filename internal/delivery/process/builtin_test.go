package process

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

func TestDeaggregateJSON(t *testing.T) {
	p := mustNew(t, processing(processor("RecordDeAggregation", "SubRecordType", "JSON")), Options{})
	k := &KinesisMetadata{ShardID: "shardId-000000000000", SequenceNumber: "42"}
	at := time.Unix(1700000000, 0)
	recs := []Record{
		{ID: "a", Data: []byte(`{"a":1}{"a":2}`), Arrival: at, Kinesis: k},
		{ID: "b", Data: []byte("{\"b\":1}\n{\"b\":[2, {\"x\":\"}{\"}]}\n \t{}\n")},
		{ID: "c", Data: []byte(`{"c":1}`)},
	}
	out, failed := mustRun(t, p, recs)
	if len(failed) != 0 {
		t.Fatalf("failed %+v", failed)
	}
	want := []string{`{"a":1}`, `{"a":2}`, `{"b":1}`, `{"b":[2, {"x":"}{"}]}`, `{}`, `{"c":1}`}
	if !reflect.DeepEqual(datas(out), want) {
		t.Errorf("data %q, want %q", datas(out), want)
	}
	if got := ids(out); !reflect.DeepEqual(got, []string{"a.0", "a.1", "b.0", "b.1", "b.2", "c.0"}) {
		t.Errorf("ids %v", got)
	}
	if !out[1].Arrival.Equal(at) || out[1].Kinesis == nil || out[1].Kinesis.SequenceNumber != "42" || out[1].Kinesis == out[0].Kinesis {
		t.Errorf("sub-record lost its parent's origin, or shares it: %+v", out[1])
	}
}

func TestDeaggregateJSONRefuses(t *testing.T) {
	p := mustNew(t, processing(processor("RecordDeAggregation", "SubRecordType", "JSON")), Options{})
	bad := map[string]string{
		"array":     `[{"a":1},{"a":2}]`,
		"scalar":    `{"a":1} 7`,
		"broken":    `{"a":1}{"a":`,
		"trailing":  `{"a":1}xyz`,
		"empty":     ``,
		"blank":     " \n",
		"too many":  strings.Repeat(`{}`, 501),
		"not json":  `hello`,
		"bare null": `null`,
	}
	for name, data := range bad {
		out, failed := mustRun(t, p, []Record{{ID: "x", Data: []byte(data)}})
		if len(out) != 0 || len(failed) != 1 || failed[0].Code != CodeDeAggregationFailed || failed[0].Message == "" || string(failed[0].Record.Data) != data {
			t.Errorf("%s: out %q failed %+v", name, datas(out), failed)
		}
	}
	out, failed := mustRun(t, p, []Record{{ID: "x", Data: []byte(strings.Repeat(`{}`, 500))}})
	if len(out) != 500 || len(failed) != 0 {
		t.Errorf("500 objects: out %d failed %d", len(out), len(failed))
	}
}

func TestDeaggregateDelimited(t *testing.T) {
	// "IyMjIw==" is "####", the guide's example.
	p := mustNew(t, processing(processor("RecordDeAggregation", "SubRecordType", "DELIMITED", "Delimiter", "IyMjIw==")), Options{})
	out, failed := mustRun(t, p, []Record{
		{ID: "a", Data: []byte("one####two########three####")},
		{ID: "b", Data: []byte("####")},
	})
	if got := datas(out); !reflect.DeepEqual(got, []string{"one", "two", "three"}) {
		t.Errorf("data %q", got)
	}
	if got := ids(out); !reflect.DeepEqual(got, []string{"a.0", "a.1", "a.2"}) {
		t.Errorf("ids %v", got)
	}
	if len(failed) != 1 || failed[0].Record.ID != "b" {
		t.Errorf("failed %+v", failed)
	}
}

func TestAppendDelimiter(t *testing.T) {
	p := mustNew(t, processing(processor("AppendDelimiterToRecord")), Options{})
	in := []Record{{ID: "a", Data: []byte("x")}, {ID: "b", Data: nil}}
	out, _ := mustRun(t, p, in)
	if got := datas(out); !reflect.DeepEqual(got, []string{"x\n", "\n"}) {
		t.Errorf("data %q", got)
	}
	if string(in[0].Data) != "x" {
		t.Errorf("Run changed its input's data")
	}
	p = mustNew(t, processing(processor("AppendDelimiterToRecord", "Delimiter", "fHw=")), Options{})
	out, _ = mustRun(t, p, []Record{{ID: "a", Data: []byte("x")}})
	if string(out[0].Data) != "x||" {
		t.Errorf("custom delimiter: %q", out[0].Data)
	}
}

func TestDecompression(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"messageType":"DATA_MESSAGE"}`))
	_ = zw.Close()
	p := mustNew(t, processing(processor("Decompression", "CompressionFormat", "GZIP")), Options{})
	out, failed := mustRun(t, p, []Record{{ID: "a", Data: buf.Bytes()}, {ID: "b", Data: []byte("plain")}})
	if len(out) != 1 || string(out[0].Data) != `{"messageType":"DATA_MESSAGE"}` {
		t.Errorf("out %q", datas(out))
	}
	if len(failed) != 1 || failed[0].Code != CodeDecompressionFailed || string(failed[0].Record.Data) != "plain" {
		t.Errorf("failed %+v", failed)
	}
}

func jqPipeline(t *testing.T, query string, dynamic bool) *Pipeline {
	t.Helper()
	return mustNew(t, processing(processor("MetadataExtraction", "MetadataExtractionQuery", query, "JsonParsingEngine", "JQ-1.6")), Options{DynamicPartitioning: dynamic})
}

func TestMetadataExtraction(t *testing.T) {
	// The guide's example record and keys.
	p := jqPipeline(t, `{customer_id:.customer_id, device:.type.device, year:.event_timestamp|strftime("%Y"), month:.event_timestamp|strftime("%m"), hour:.event_timestamp|strftime("%H")}`, true)
	rec := `{"type":{"device":"mobile","event":"user_clicked_submit_button"},"customer_id":"1234567890","event_timestamp":1565382027,"region":"sample_region"}`
	out, failed := mustRun(t, p, []Record{{ID: "a", Data: []byte(rec)}})
	if len(failed) != 0 || len(out) != 1 {
		t.Fatalf("out %d failed %+v", len(out), failed)
	}
	want := map[string]string{"customer_id": "1234567890", "device": "mobile", "year": "2019", "month": "08", "hour": "20"}
	if !reflect.DeepEqual(out[0].Query, want) {
		t.Errorf("keys %v, want %v", out[0].Query, want)
	}
	if string(out[0].Data) != rec {
		t.Errorf("extraction changed the data")
	}
}

func TestMetadataExtractionValueTypes(t *testing.T) {
	p := jqPipeline(t, `{a:.a, b:.b, c:.c, d:.d, e:.e, f:.f, g:(.g+1), h:.h, i:.i}`, true)
	rec := `{"a":7.0,"b":1.5,"c":1e3,"d":true,"e":"text","f":123456789012345678901234567890,"g":1,"h":-0.25,"i":1e300}`
	out, failed := mustRun(t, p, []Record{{ID: "a", Data: []byte(rec)}})
	if len(failed) != 0 {
		t.Fatalf("failed %+v", failed)
	}
	want := map[string]string{"a": "7", "b": "1.5", "c": "1000", "d": "true", "e": "text", "f": "123456789012345678901234567890", "g": "2", "h": "-0.25", "i": "1e+300"}
	if !reflect.DeepEqual(out[0].Query, want) {
		t.Errorf("keys %v, want %v", out[0].Query, want)
	}
}

func TestMetadataExtractionFailures(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("k%d:1", i)
	}
	cases := []struct{ name, query, data string }{
		{"not json", `{a:.a}`, `not json`},
		{"two values", `{a:.a}`, `{"a":1}{"a":2}`},
		{"null value", `{a:.missing}`, `{"a":1}`},
		{"empty value", `{a:.a}`, `{"a":""}`},
		{"nested value", `{a:.a}`, `{"a":{"b":1}}`},
		{"array value", `{a:.a}`, `{"a":[1]}`},
		{"not an object", `.a`, `{"a":"x"}`},
		{"no result", `empty`, `{"a":1}`},
		{"two results", `{a:(1,2)}`, `{"a":1}`},
		{"error", `{a:(.a|error)}`, `{"a":"x"}`},
		{"type error", `{a:(.a+1)}`, `{"a":"x"}`},
		{"too many keys", "{" + strings.Join(many, ",") + "}", `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := jqPipeline(t, c.query, true)
			out, failed := mustRun(t, p, []Record{{ID: "a", Data: []byte(c.data)}})
			if len(out) != 0 || len(failed) != 1 || failed[0].Code != "DynamicPartitioning.MetadataExtractionFailed" || failed[0].Message == "" || failed[0].Record.ID != "a" {
				t.Fatalf("failed %+v", failed)
			}
			// Without dynamic partitioning the record goes on without keys.
			p = jqPipeline(t, c.query, false)
			out, failed = mustRun(t, p, []Record{{ID: "a", Data: []byte(c.data)}})
			if len(failed) != 0 || len(out) != 1 || out[0].Query != nil {
				t.Fatalf("without dynamic partitioning: out %+v failed %+v", out, failed)
			}
		})
	}
}

func TestMetadataExtractionTimeout(t *testing.T) {
	old := evalTimeout
	evalTimeout = 20 * time.Millisecond
	defer func() { evalTimeout = old }()
	p := jqPipeline(t, `{a: last(repeat(1))}`, true)
	_, failed := mustRun(t, p, []Record{{ID: "a", Data: []byte(`{}`)}})
	if len(failed) != 1 || !strings.Contains(failed[0].Message, "in time") {
		t.Fatalf("failed %+v", failed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := p.Run(ctx, []Record{{ID: "a", Data: []byte(`{}`)}}); err == nil {
		t.Fatalf("Run with an ended context succeeded")
	}
}

func TestMetadataExtractionNoEnvironment(t *testing.T) {
	t.Setenv("RIVULET_SECRET_TEST", "s3cr3t")
	p := jqPipeline(t, `{a: ($ENV.RIVULET_SECRET_TEST // "none"), b: (env.RIVULET_SECRET_TEST // "none")}`, true)
	out, _ := mustRun(t, p, []Record{{ID: "a", Data: []byte(`{}`)}})
	if len(out) != 1 || out[0].Query["a"] != "none" || out[0].Query["b"] != "none" {
		t.Fatalf("query read the environment: %+v", out)
	}
}

func TestPipelineOrder(t *testing.T) {
	// De-aggregation, then Lambda, then extraction of what Lambda added,
	// then the delimiter, whatever order the processors are listed in.
	f := newFakeLambda(t, func(w http.ResponseWriter, ev lambdaEvent, _ int) {
		var rs []reply
		for _, r := range ev.Records {
			d := strings.TrimSuffix(string(r.Data), "}") + `,"seen":"` + r.RecordID + `"}`
			rs = append(rs, reply{RecordID: r.RecordID, Result: "Ok", Data: b64(d), Metadata: map[string]any{"partitionKeys": map[string]string{"from": "lambda"}}})
		}
		writeReplies(w, rs)
	})
	cfg := processing(
		processor("AppendDelimiterToRecord"),
		processor("MetadataExtraction", "MetadataExtractionQuery", `{seen:.seen, n:.n}`, "JsonParsingEngine", "JQ-1.6"),
		processor("Lambda", "LambdaArn", f.URL),
		processor("RecordDeAggregation", "SubRecordType", "JSON"),
	)
	if err := Validate(cfg, true); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	p := mustNew(t, cfg, Options{DynamicPartitioning: true})
	out, failed := mustRun(t, p, []Record{{ID: "r", Data: []byte(`{"n":1} {"n":2}`)}})
	if len(failed) != 0 {
		t.Fatalf("failed %+v", failed)
	}
	want := []string{"{\"n\":1,\"seen\":\"r.0\"}\n", "{\"n\":2,\"seen\":\"r.1\"}\n"}
	if !reflect.DeepEqual(datas(out), want) {
		t.Errorf("data %q, want %q", datas(out), want)
	}
	if !reflect.DeepEqual(out[1].Query, map[string]string{"seen": "r.1", "n": "2"}) || out[1].Lambda["from"] != "lambda" {
		t.Errorf("keys %v %v", out[1].Query, out[1].Lambda)
	}
}

func TestPassThrough(t *testing.T) {
	off := false
	for _, cfg := range []*model.ProcessingConfiguration{nil, {Enabled: &off, Processors: processing(processor("AppendDelimiterToRecord")).Processors}} {
		p := mustNew(t, cfg, Options{})
		in := records(3)
		out, failed := mustRun(t, p, in)
		if len(failed) != 0 || !reflect.DeepEqual(out, in) {
			t.Errorf("pass-through changed records: %+v", out)
		}
	}
	var nilp *Pipeline
	out, _, err := nilp.Run(context.Background(), records(1))
	if err != nil || len(out) != 1 {
		t.Errorf("nil pipeline: %v %v", out, err)
	}
}
