package encode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

func ptr[T any](v T) *T { return &v }

func openXConfig(schema string) *model.DataFormatConversionConfiguration {
	return &model.DataFormatConversionConfiguration{
		SchemaConfiguration: &model.SchemaConfiguration{TableName: ptr(schema)},
		InputFormatConfiguration: &model.InputFormatConfiguration{
			Deserializer: &model.Deserializer{OpenXJsonSerDe: &model.OpenXJsonSerDe{}},
		},
		OutputFormatConfiguration: &model.OutputFormatConfiguration{
			Serializer: &model.Serializer{ParquetSerDe: &model.ParquetSerDe{}},
		},
	}
}

func hiveConfig(schema string, formats ...string) *model.DataFormatConversionConfiguration {
	cfg := openXConfig(schema)
	cfg.InputFormatConfiguration.Deserializer = &model.Deserializer{HiveJsonSerDe: &model.HiveJsonSerDe{TimestampFormats: formats}}
	return cfg
}

func mustConverter(t testing.TB, cfg *model.DataFormatConversionConfiguration) *Converter {
	t.Helper()
	if err := ValidateConversion(cfg); err != nil {
		t.Fatalf("ValidateConversion: %v", err)
	}
	c, err := NewConverter(cfg)
	if err != nil {
		t.Fatalf("NewConverter: %v", err)
	}
	return c
}

func recs(lines ...string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

// readBack reads a Parquet file with Apache Arrow's implementation (not
// the writer's) and returns the column names and the rows as Go values.
func readBack(t *testing.T, data []byte) ([]string, []map[string]any) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("arrow parquet reader: %v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("pqarrow: %v", err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read table: %v", err)
	}
	defer tbl.Release()
	var names []string
	for _, f := range tbl.Schema().Fields() {
		names = append(names, f.Name)
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var rows []map[string]any
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for j, col := range rec.Columns() {
				row[names[j]] = goValue(t, col, i)
			}
			rows = append(rows, row)
		}
	}
	return names, rows
}

// goValue turns one Arrow value into plain Go: ints as int64, timestamps as
// RFC 3339 text, dates as yyyy-mm-dd, decimals as text, maps as [k, v] pairs.
func goValue(t *testing.T, a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return "bin:" + string(a.Value(i))
	case *array.Timestamp:
		f, err := a.DataType().(*arrow.TimestampType).GetToTimeFunc()
		if err != nil {
			t.Fatal(err)
		}
		return f(a.Value(i)).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Decimal128, *array.Decimal64, *array.Decimal32, *array.Decimal256:
		return "dec:" + a.ValueStr(i)
	case *array.Map:
		start, end := a.ValueOffsets(i)
		pairs := []any{}
		for j := int(start); j < int(end); j++ {
			pairs = append(pairs, []any{goValue(t, a.Keys(), j), goValue(t, a.Items(), j)})
		}
		return pairs
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := int(start); j < int(end); j++ {
			out = append(out, goValue(t, a.ListValues(), j))
		}
		return out
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		out := map[string]any{}
		for k := 0; k < a.NumField(); k++ {
			out[st.Field(k).Name] = goValue(t, a.Field(k), i)
		}
		return out
	}
	t.Fatalf("unexpected arrow type %s", a.DataType())
	return nil
}

func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func compareRows(t *testing.T, got, want []map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows differ\ngot:  %s\nwant: %s", asJSON(got), asJSON(want))
	}
}

const allTypes = "struct<id:bigint,name:string,price:double,ok:boolean,ts:timestamp,tags:array<string>," +
	"attrs:map<string,string>,addr:struct<city:string,zip:int>,t8:tinyint,s16:smallint,f:float,d:date," +
	"dec:decimal(10,2),small:decimal(5,1),big:decimal(30,4),v:varchar(3),bin:binary," +
	"items:array<struct<a:int,b:array<int>>>,mi:map<int,array<string>>>"

func TestConvertAllTypes(t *testing.T) {
	for _, serde := range []model.ParquetSerDe{
		{},
		{Compression: "GZIP", WriterVersion: "V2", EnableDictionaryCompression: ptr(false)},
		{Compression: "UNCOMPRESSED", PageSizeBytes: ptr(int32(64 << 10))},
	} {
		t.Run(serde.Compression+serde.WriterVersion, func(t *testing.T) {
			cfg := openXConfig(allTypes)
			cfg.OutputFormatConfiguration.Serializer.ParquetSerDe = &serde
			checkAllTypes(t, mustConverter(t, cfg))
		})
	}
}

func checkAllTypes(t *testing.T, c *Converter) {
	file, bad, err := c.Convert(recs(
		// 0: every column set
		`{"id":9007199254740993,"name":"widget","price":12.5,"ok":true,"ts":"2017-02-07T15:13:01.39256Z",
		  "tags":["a","b"],"attrs":{"k1":"v1","k2":"v2"},"addr":{"city":"Oslo","zip":150},
		  "t8":-128,"s16":32767,"f":1.5,"d":"2024-02-29","dec":12.345,"small":"-3.25",
		  "big":"12345678901234567890123456.78905","v":"abcdef","bin":"raw",
		  "items":[{"a":1,"b":[1,2]},{"a":null,"b":[]},null,{"b":[null,3]}],
		  "mi":{"1":["x"],"2":[]}}`,
		// 1: missing, null and empty values
		`{"name":null,"tags":[],"attrs":{},"addr":{"city":null},"items":[],"ok":"FALSE","id":"42"}`,
		// 2: a non-object record
		`[{"id":1}]`,
		// 3: a value that is not JSON
		`id=1`,
		// 4: two concatenated objects: two rows
		`{"id":7,"tags":[null,"z"]} {"id":8,"price":"2","addr":null,"extra":{"ignored":true}}`,
		// 5: wrong types
		`{"id":"seven"}`,
		`{"t8":128}`,
		`{"addr":5}`,
		`{"tags":"a"}`,
		`{"ts":"yesterday"}`,
		`{"dec":123456789.0}`,
		`{"ok":1}`,
		`{"id":1}{"id":"x"}`,
		``,
	))
	if err != nil {
		t.Fatal(err)
	}
	wantBad := []int{2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad = %v, want indexes %v", bad, wantBad)
	}
	for _, i := range wantBad {
		if bad[i] == "" {
			t.Errorf("record %d should be bad; bad = %v", i, bad)
		}
	}
	if !strings.Contains(bad[5], `"id"`) || !strings.Contains(bad[6], "out of range") || !strings.Contains(bad[2], "not a JSON object") {
		t.Errorf("reasons should say what failed: %v", bad)
	}

	names, rows := readBack(t, file)
	wantNames := []string{"id", "name", "price", "ok", "ts", "tags", "attrs", "addr", "t8", "s16", "f", "d", "dec", "small", "big", "v", "bin", "items", "mi"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("columns = %v, want schema order %v", names, wantNames)
	}
	null := func(overrides map[string]any) map[string]any {
		row := map[string]any{}
		for _, n := range wantNames {
			row[n] = nil
		}
		for k, v := range overrides {
			row[k] = v
		}
		return row
	}
	want := []map[string]any{
		null(map[string]any{
			"id": int64(9007199254740993), "name": "widget", "price": 12.5, "ok": true,
			"ts":    "2017-02-07T15:13:01.39256Z",
			"tags":  []any{"a", "b"},
			"attrs": []any{[]any{"k1", "v1"}, []any{"k2", "v2"}},
			"addr":  map[string]any{"city": "Oslo", "zip": int64(150)},
			"t8":    int64(-128), "s16": int64(32767), "f": 1.5, "d": "2024-02-29",
			"dec": "dec:12.35", "small": "dec:-3.3", "big": "dec:12345678901234567890123456.7891",
			"v": "abc", "bin": "bin:raw",
			"items": []any{
				map[string]any{"a": int64(1), "b": []any{int64(1), int64(2)}},
				map[string]any{"a": nil, "b": []any{}},
				nil,
				map[string]any{"a": nil, "b": []any{nil, int64(3)}},
			},
			"mi": []any{[]any{int64(1), []any{"x"}}, []any{int64(2), []any{}}},
		}),
		null(map[string]any{
			"id": int64(42), "ok": false, "tags": []any{}, "attrs": []any{},
			"addr": map[string]any{"city": nil, "zip": nil}, "items": []any{},
		}),
		null(map[string]any{"id": int64(7), "tags": []any{nil, "z"}}),
		null(map[string]any{"id": int64(8), "price": 2.0}),
	}
	compareRows(t, rows, want)
}

func TestConvertAllBadGivesNoFile(t *testing.T) {
	c := mustConverter(t, openXConfig("struct<a:int>"))
	file, bad, err := c.Convert(recs(`nope`, `{"a":"x"}`, `[]`))
	if err != nil {
		t.Fatal(err)
	}
	if file != nil || len(bad) != 3 {
		t.Fatalf("file=%d bytes bad=%v; want no file and 3 bad", len(file), bad)
	}
	file, bad, err = c.Convert(nil)
	if err != nil || file != nil || len(bad) != 0 {
		t.Fatalf("empty batch: file=%v bad=%v err=%v", file, bad, err)
	}
}

func TestConvertOpenXKeys(t *testing.T) {
	schema := "struct<userid:int,a_b:string,ts:string,inner:struct<x_y:int,camel:int>>"

	// Defaults: case-insensitive, dots kept.
	c := mustConverter(t, openXConfig(schema))
	file, bad, err := c.Convert(recs(`{"UserId":1,"a.b":"dot","inner":{"CAMEL":2,"x.y":3}}`))
	if err != nil || len(bad) != 0 {
		t.Fatalf("err=%v bad=%v", err, bad)
	}
	_, rows := readBack(t, file)
	compareRows(t, rows, []map[string]any{{"userid": int64(1), "a_b": nil, "ts": nil,
		"inner": map[string]any{"x_y": nil, "camel": int64(2)}}})

	// Case-sensitive, dots to underscores, a column mapped to another key.
	cfg := openXConfig(schema)
	cfg.InputFormatConfiguration.Deserializer.OpenXJsonSerDe = &model.OpenXJsonSerDe{
		CaseInsensitive:                    ptr(false),
		ConvertDotsInJsonKeysToUnderscores: ptr(true),
		ColumnToJsonKeyMappings:            map[string]string{"ts": "timestamp"},
	}
	c = mustConverter(t, cfg)
	file, bad, err = c.Convert(recs(`{"UserId":1,"a.b":"dot","timestamp":"t","inner":{"camel":2,"x.y":3}}`))
	if err != nil || len(bad) != 0 {
		t.Fatalf("err=%v bad=%v", err, bad)
	}
	_, rows = readBack(t, file)
	compareRows(t, rows, []map[string]any{{"userid": nil, "a_b": "dot", "ts": "t",
		"inner": map[string]any{"x_y": int64(3), "camel": int64(2)}}})
}

func TestConvertStringColumnKeepsJSONText(t *testing.T) {
	c := mustConverter(t, openXConfig("struct<s:string,n:string,b:string>"))
	file, _, err := c.Convert(recs(`{"s":{"a": [1, 2]},"n":12.50,"b":true}`))
	if err != nil {
		t.Fatal(err)
	}
	_, rows := readBack(t, file)
	compareRows(t, rows, []map[string]any{{"s": `{"a":[1,2]}`, "n": "12.50", "b": "true"}})
}

func TestConvertOpenXTimestamps(t *testing.T) {
	c := mustConverter(t, openXConfig("struct<ts:timestamp>"))
	in := []string{
		`{"ts":"2017-02-07T15:13:01.39256Z"}`,
		`{"ts":"2017-02-07T15:13:01.123456789Z"}`,
		`{"ts":"2017-2-7 15:13:01.14"}`,
		`{"ts":1518033528}`,
		`{"ts":1518033528123}`,
		`{"ts":1518033528.5}`,
		`{"ts":"1518033528"}`,
		`{"ts":"2017-02-07T16:13:01+01:00"}`,
		`{"ts":"1969-12-31 23:59:59.5"}`,
	}
	file, bad, err := c.Convert(recs(append(in, `{"ts":"2017-02-30 00:00:00"}`, `{"ts":"02/07/2017"}`, `{"ts":true}`)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 3 || bad[len(in)] == "" || bad[len(in)+1] == "" || bad[len(in)+2] == "" {
		t.Fatalf("bad = %v", bad)
	}
	_, rows := readBack(t, file)
	want := []string{
		"2017-02-07T15:13:01.39256Z",
		"2017-02-07T15:13:01.123456789Z",
		"2017-02-07T15:13:01.14Z",
		"2018-02-07T19:58:48Z",
		"2018-02-07T19:58:48.123Z",
		"2018-02-07T19:58:48.5Z",
		"2018-02-07T19:58:48Z",
		"2017-02-07T15:13:01Z",
		"1969-12-31T23:59:59.5Z",
	}
	var wantRows []map[string]any
	for _, w := range want {
		wantRows = append(wantRows, map[string]any{"ts": w})
	}
	compareRows(t, rows, wantRows)
}

func TestConvertHiveTimestampFormats(t *testing.T) {
	c := mustConverter(t, hiveConfig("struct<ts:timestamp,Name:string>",
		"yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "dd/MMM/yyyy:HH:mm:ss Z", "EEE, d MMM yy hh:mm a", "yyyyMMddHHmmss", "millis"))
	in := []string{
		`{"ts":"2020-03-04T05:06:07.089+02:00","NAME":"n"}`,
		`{"ts":"10/Oct/2000:13:55:36 -0700"}`,
		`{"ts":"Tue, 3 Mar 20 01:02 PM"}`,
		`{"ts":1583298367089}`,
		`{"ts":"20200304050607"}`,
		`{"ts":"2020-3-4 05:06:07.5"}`, // java.sql.Timestamp.valueOf fallback
	}
	file, bad, err := c.Convert(recs(append(in, `{"ts":"2020-03-04T05:06:07Z"}`)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[len(in)] == "" {
		t.Fatalf("bad = %v; the Hive SerDe has no ISO default", bad)
	}
	_, rows := readBack(t, file)
	want := []map[string]any{
		{"ts": "2020-03-04T03:06:07.089Z", "name": "n"},
		{"ts": "2000-10-10T20:55:36Z", "name": nil},
		{"ts": "2020-03-03T13:02:00Z", "name": nil},
		{"ts": "2020-03-04T05:06:07.089Z", "name": nil},
		{"ts": "2020-03-04T05:06:07Z", "name": nil},
		{"ts": "2020-03-04T05:06:07.5Z", "name": nil},
	}
	compareRows(t, rows, want)
}

func TestConvertParquetSerDeOptions(t *testing.T) {
	cases := []struct {
		serde      model.ParquetSerDe
		codec      string
		pageV2     bool
		dictionary bool
	}{
		{model.ParquetSerDe{}, "SNAPPY", false, true},
		{model.ParquetSerDe{Compression: "UNCOMPRESSED", EnableDictionaryCompression: ptr(false)}, "UNCOMPRESSED", false, false},
		{model.ParquetSerDe{Compression: "GZIP", WriterVersion: "V2", PageSizeBytes: ptr(int32(64 << 10))}, "GZIP", true, true},
	}
	for _, tc := range cases {
		cfg := openXConfig("struct<s:string>")
		cfg.OutputFormatConfiguration.Serializer.ParquetSerDe = &tc.serde
		c := mustConverter(t, cfg)
		out, _, err := c.Convert(recs(`{"s":"x"}`, `{"s":"x"}`, `{"s":"y"}`))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		if got := cc.Compression().String(); got != tc.codec {
			t.Errorf("%+v: codec %s, want %s", tc.serde, got, tc.codec)
		}
		if cc.HasDictionaryPage() != tc.dictionary {
			t.Errorf("%+v: dictionary page %v, want %v", tc.serde, cc.HasDictionaryPage(), tc.dictionary)
		}
		pr, err := pf.RowGroup(0).GetColumnPageReader(0)
		if err != nil {
			t.Fatal(err)
		}
		sawData := false
		for pr.Next() {
			switch pr.Page().Type() {
			case file.PageTypeDataPageV2:
				sawData = true
				if !tc.pageV2 {
					t.Errorf("%+v: V2 data page, want V1", tc.serde)
				}
			case file.PageTypeDataPage:
				sawData = true
				if tc.pageV2 {
					t.Errorf("%+v: V1 data page, want V2", tc.serde)
				}
			}
		}
		if err := pr.Err(); err != nil || !sawData {
			t.Errorf("%+v: pages err=%v sawData=%v", tc.serde, err, sawData)
		}
		pf.Close()
		_, rows := readBack(t, out)
		compareRows(t, rows, []map[string]any{{"s": "x"}, {"s": "x"}, {"s": "y"}})
	}
}

func TestValidateConversion(t *testing.T) {
	good := func() *model.DataFormatConversionConfiguration { return openXConfig("struct<a:int>") }
	cases := []struct {
		name       string
		mutate     func(c *model.DataFormatConversionConfiguration)
		want       string // substring; "" means valid
		constraint bool
	}{
		{"valid", func(c *model.DataFormatConversionConfiguration) {}, "", false},
		{"disabled skips semantic checks", func(c *model.DataFormatConversionConfiguration) {
			c.Enabled = ptr(false)
			c.SchemaConfiguration = nil
		}, "", false},
		{"no input", func(c *model.DataFormatConversionConfiguration) { c.InputFormatConfiguration = nil }, "InputFormatConfiguration must not be null", false},
		{"no output", func(c *model.DataFormatConversionConfiguration) { c.OutputFormatConfiguration = nil }, "OutputFormatConfiguration must not be null", false},
		{"no schema", func(c *model.DataFormatConversionConfiguration) { c.SchemaConfiguration = nil }, "SchemaConfiguration must not be null", false},
		{"no deserializer", func(c *model.DataFormatConversionConfiguration) {
			c.InputFormatConfiguration.Deserializer = &model.Deserializer{}
		}, "Deserializer must not be null", false},
		{"two deserializers", func(c *model.DataFormatConversionConfiguration) {
			c.InputFormatConfiguration.Deserializer.HiveJsonSerDe = &model.HiveJsonSerDe{}
		}, "More than one deserializer specified. Only one may be chosen.", false},
		{"no serializer", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer = nil
		}, "Serializer must not be null", false},
		{"two serializers", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer.OrcSerDe = &model.OrcSerDe{}
		}, "More than one serializer specified. Only one may be chosen.", false},
		{"orc", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer = &model.Serializer{OrcSerDe: &model.OrcSerDe{}}
		}, noORCMessage, false},
		{"no table name", func(c *model.DataFormatConversionConfiguration) {
			c.SchemaConfiguration.TableName = nil
		}, noGlueMessage, false},
		{"glue table name", func(c *model.DataFormatConversionConfiguration) {
			c.SchemaConfiguration.TableName = ptr("my_table")
		}, noGlueMessage, false},
		{"bad struct", func(c *model.DataFormatConversionConfiguration) {
			c.SchemaConfiguration.TableName = ptr("struct<a:int,b:wibble>")
		}, `unknown type "wibble"`, false},
		{"small block", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer.ParquetSerDe.BlockSizeBytes = ptr(int32(1))
		}, "parquetSerDe.blockSizeBytes' failed to satisfy constraint: Member must have value greater than or equal to 67108864", true},
		{"small block and page even when disabled", func(c *model.DataFormatConversionConfiguration) {
			c.Enabled = ptr(false)
			c.OutputFormatConfiguration.Serializer.ParquetSerDe.BlockSizeBytes = ptr(int32(1))
			c.OutputFormatConfiguration.Serializer.ParquetSerDe.PageSizeBytes = ptr(int32(65535))
		}, "2 validation errors detected", true},
		{"bad codec", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer.ParquetSerDe.Compression = "LZ4"
		}, "Member must satisfy enum value set: [SNAPPY, GZIP, UNCOMPRESSED]", true},
		{"bad writer version", func(c *model.DataFormatConversionConfiguration) {
			c.OutputFormatConfiguration.Serializer.ParquetSerDe.WriterVersion = "V3"
		}, "[V1, V2]", true},
		{"blank mapping", func(c *model.DataFormatConversionConfiguration) {
			c.InputFormatConfiguration.Deserializer.OpenXJsonSerDe.ColumnToJsonKeyMappings = map[string]string{"a": " "}
		}, "Map value must satisfy constraint", true},
		{"invalid joda letter", func(c *model.DataFormatConversionConfiguration) {
			c.InputFormatConfiguration.Deserializer = &model.Deserializer{HiveJsonSerDe: &model.HiveJsonSerDe{TimestampFormats: []string{"yyyy-MM-dd bb"}}}
		}, "One or more SerDe options are invalid for org.apache.hcatalog.data.JsonSerDe: [Key: timestamp.formats Value: yyyy-MM-dd bb]", false},
		{"unsupported joda letter", func(c *model.DataFormatConversionConfiguration) {
			c.InputFormatConfiguration.Deserializer = &model.Deserializer{HiveJsonSerDe: &model.HiveJsonSerDe{TimestampFormats: []string{"yyyy-DDD"}}}
		}, "Rivulet parses the Joda letters", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mutate(cfg)
			err := ValidateConversion(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			var ce *ConstraintError
			if errors.As(err, &ce) != tc.constraint {
				t.Fatalf("ConstraintError = %v, want %v", errors.As(err, &ce), tc.constraint)
			}
			if _, err := NewConverter(cfg); err == nil {
				t.Fatal("NewConverter accepted an invalid configuration")
			}
		})
	}
	if err := ValidateConversion(nil); err != nil {
		t.Fatalf("nil configuration: %v", err)
	}
}

func TestParseSchema(t *testing.T) {
	good := map[string]string{
		"struct<a:int>": "struct<a:int>",
		" struct < A : BIGINT , `b c`:array< map<string , struct<x:decimal(38,10)>> > , d:decimal, e:varchar(10), f:char(1), g:integer >": "struct<a:bigint,`b c`:array<map<string,struct<x:decimal(38,10)>>>,d:decimal(10,0),e:varchar(10),f:char(1),g:int>",
	}
	for in, want := range good {
		got, err := parseSchema(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got.String() != want {
			t.Errorf("%q parsed as %s, want %s", in, got, want)
		}
	}
	bad := map[string]string{
		"int":                           "not a struct",
		"struct<>":                      "at least one field",
		"struct<a:int":                  "expected",
		"struct<a:int,a:string>":        "appears twice",
		"struct<a:map<array<int>,int>>": "map key must be a primitive",
		"struct<a:decimal(40,2)>":       "precision",
		"struct<a:decimal(5,6)>":        "scale",
		"struct<a:varchar>":             "expected",
		"struct<a:uniontype<int>>":      "uniontype",
		"struct<a:int>x":                "unexpected",
		"struct<a:" + strings.Repeat("array<", 40) + "int" + strings.Repeat(">", 40) + ">": "nested",
	}
	for in, want := range bad {
		_, err := parseSchema(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}
