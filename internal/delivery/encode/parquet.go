package encode

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// ConstraintError is a model constraint violation (ParquetSerDe bounds and
// enums, mapping and format lengths) that AWS reports as a
// ValidationException rather than an InvalidArgumentException.
type ConstraintError struct{ Message string }

func (e *ConstraintError) Error() string { return e.Message }

// Bounds from the ParquetSerDe API reference.
const (
	minParquetBlockSize = 64 << 20
	minParquetPageSize  = 64 << 10
	defaultPageSize     = 1 << 20
)

const (
	noGlueMessage = "Rivulet has no Glue Data Catalog: give the schema inline in SchemaConfiguration.TableName as a Hive struct type, such as struct<id:bigint,name:string>"
	noORCMessage  = "ORC output is not supported by Rivulet: no maintained Go ORC writer is available; use ParquetSerDe"
)

// Converter turns JSON records into one Parquet file.
type Converter struct {
	schema  *parquet.Schema
	root    *plan
	ncols   int
	reader  reader
	options []parquet.WriterOption
}

// ValidateConversion checks a DataFormatConversionConfiguration as
// CreateDeliveryStream does (schema, serializer options, ORC refused);
// the error's text is the InvalidArgumentException message. Model
// constraint violations are returned as *ConstraintError, checked even
// when conversion is disabled, as AWS does.
func ValidateConversion(cfg *model.DataFormatConversionConfiguration) error {
	_, err := compile(cfg)
	return err
}

// compile validates cfg and, when conversion is on, builds the converter.
func compile(cfg *model.DataFormatConversionConfiguration) (*Converter, error) {
	if cfg == nil {
		return nil, nil
	}
	if err := checkConstraints(cfg); err != nil {
		return nil, err
	}
	if !cfg.On() {
		return nil, nil
	}
	switch {
	case cfg.InputFormatConfiguration == nil:
		return nil, errors.New("InputFormatConfiguration must not be null")
	case cfg.OutputFormatConfiguration == nil:
		return nil, errors.New("OutputFormatConfiguration must not be null")
	case cfg.SchemaConfiguration == nil:
		return nil, errors.New("SchemaConfiguration must not be null")
	}
	de := cfg.InputFormatConfiguration.Deserializer
	switch {
	case de == nil || de.OpenXJsonSerDe == nil && de.HiveJsonSerDe == nil:
		return nil, errors.New("Deserializer must not be null")
	case de.OpenXJsonSerDe != nil && de.HiveJsonSerDe != nil:
		return nil, errors.New("More than one deserializer specified. Only one may be chosen.")
	}
	se := cfg.OutputFormatConfiguration.Serializer
	switch {
	case se == nil || se.ParquetSerDe == nil && se.OrcSerDe == nil:
		return nil, errors.New("Serializer must not be null")
	case se.ParquetSerDe != nil && se.OrcSerDe != nil:
		return nil, errors.New("More than one serializer specified. Only one may be chosen.")
	case se.OrcSerDe != nil:
		return nil, errors.New(noORCMessage)
	}
	tn := cfg.SchemaConfiguration.TableName
	if tn == nil || *tn == "" {
		return nil, errors.New("SchemaConfiguration.TableName must not be null or empty. " + noGlueMessage)
	}
	root, err := parseSchema(*tn)
	if errors.Is(err, errNotStruct) {
		return nil, fmt.Errorf("SchemaConfiguration.TableName %q is not a Hive struct type. %s", clipString(*tn), noGlueMessage)
	}
	if err != nil {
		return nil, fmt.Errorf("SchemaConfiguration.TableName is not a valid Hive struct type: %v", err)
	}

	c := &Converter{}
	if x := de.OpenXJsonSerDe; x != nil {
		c.reader.caseInsensitive = x.CaseInsensitive == nil || *x.CaseInsensitive
		c.reader.dotsToUnder = x.ConvertDotsInJsonKeysToUnderscores != nil && *x.ConvertDotsInJsonKeysToUnderscores
		if len(x.ColumnToJsonKeyMappings) > 0 {
			c.reader.mappings = map[string]string{}
			for col, key := range x.ColumnToJsonKeyMappings {
				c.reader.mappings[strings.ToLower(col)] = c.reader.normKey(key)
			}
		}
	} else {
		// HCatalog's JsonSerDe matches keys case-insensitively.
		c.reader.hive = true
		c.reader.caseInsensitive = true
		for _, f := range de.HiveJsonSerDe.TimestampFormats {
			jf, err := compileJoda(f)
			if errors.Is(err, errJodaUnsupported) {
				return nil, fmt.Errorf("HiveJsonSerDe.TimestampFormats %q: %v; Rivulet parses the Joda letters %s, quoted literals and \"millis\"", f, err, strings.Join(strings.Split(jodaSupported, ""), " "))
			}
			if err != nil {
				return nil, fmt.Errorf("One or more SerDe options are invalid for org.apache.hcatalog.data.JsonSerDe: [Key: timestamp.formats Value: %s]", strings.Join(de.HiveJsonSerDe.TimestampFormats, ","))
			}
			c.reader.formats = append(c.reader.formats, jf)
		}
	}

	next := 0
	// The root is the required message; its fields are the optional columns.
	c.root, _ = buildPlan(root, "", -1, 0, true, &next)
	c.ncols = next
	names := make([]string, len(root.fields))
	nodes := make([]parquet.Node, len(root.fields))
	var tmp int
	for i, f := range root.fields {
		_, nodes[i] = buildPlan(f.typ, f.name, 0, 0, true, &tmp)
		names[i] = f.name
	}
	c.schema = parquet.NewSchema("schema", newStructNode(names, nodes))
	c.options = writerOptions(se.ParquetSerDe)
	return c, nil
}

func clipString(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func writerOptions(p *model.ParquetSerDe) []parquet.WriterOption {
	var codec compress.Codec = &parquet.Snappy
	switch p.Compression {
	case "UNCOMPRESSED":
		codec = &parquet.Uncompressed
	case "GZIP":
		codec = &parquet.Gzip
	}
	page := defaultPageSize
	if p.PageSizeBytes != nil {
		page = int(*p.PageSizeBytes)
	}
	version := 1
	if p.WriterVersion == "V2" {
		version = 2
	}
	opts := []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.PageBufferSize(page),
		parquet.DataPageVersion(version),
		parquet.CreatedBy("rivulet", "firehose", ""),
	}
	// parquet-mr, behind Hive's ParquetSerDe, enables dictionaries by default.
	if p.EnableDictionaryCompression == nil || *p.EnableDictionaryCompression {
		for _, k := range []parquet.Kind{parquet.Int32, parquet.Int64, parquet.Float, parquet.Double, parquet.ByteArray, parquet.FixedLenByteArray} {
			opts = append(opts, parquet.DefaultEncodingFor(k, &parquet.RLEDictionary))
		}
	}
	return opts
}

// checkConstraints applies the API model's member constraints.
func checkConstraints(cfg *model.DataFormatConversionConfiguration) error {
	var v []string
	add := func(path, rule string) {
		v = append(v, fmt.Sprintf("Value at 'dataFormatConversionConfiguration.%s' failed to satisfy constraint: %s", path, rule))
	}
	if o := cfg.OutputFormatConfiguration; o != nil && o.Serializer != nil {
		if p := o.Serializer.ParquetSerDe; p != nil {
			const at = "outputFormatConfiguration.serializer.parquetSerDe."
			if p.MaxPaddingBytes != nil && *p.MaxPaddingBytes < 0 {
				add(at+"maxPaddingBytes", "Member must have value greater than or equal to 0")
			}
			if p.BlockSizeBytes != nil && *p.BlockSizeBytes < minParquetBlockSize {
				add(at+"blockSizeBytes", fmt.Sprintf("Member must have value greater than or equal to %d", minParquetBlockSize))
			}
			if p.PageSizeBytes != nil && *p.PageSizeBytes < minParquetPageSize {
				add(at+"pageSizeBytes", fmt.Sprintf("Member must have value greater than or equal to %d", minParquetPageSize))
			}
			switch p.Compression {
			case "", "UNCOMPRESSED", "GZIP", "SNAPPY":
			default:
				add(at+"compression", "Member must satisfy enum value set: [SNAPPY, GZIP, UNCOMPRESSED]")
			}
			switch p.WriterVersion {
			case "", "V1", "V2":
			default:
				add(at+"writerVersion", "Member must satisfy enum value set: [V1, V2]")
			}
		}
	}
	if i := cfg.InputFormatConfiguration; i != nil && i.Deserializer != nil {
		if x := i.Deserializer.OpenXJsonSerDe; x != nil {
			badKey, badVal := false, false
			for k, val := range x.ColumnToJsonKeyMappings {
				badKey = badKey || k == "" || len(k) > 1024 || strings.ContainsAny(k, " \t\n\r\f\v")
				badVal = badVal || len(val) > 1024 || strings.TrimSpace(val) == ""
			}
			const at = "inputFormatConfiguration.deserializer.openXJsonSerDe.columnToJsonKeyMappings"
			if badKey {
				add(at, `Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^\S+$]`)
			}
			if badVal {
				add(at, `Map value must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^(?!\s*$).+]`)
			}
		}
		if h := i.Deserializer.HiveJsonSerDe; h != nil {
			for _, f := range h.TimestampFormats {
				if len(f) > 1024 || strings.TrimSpace(f) == "" {
					add("inputFormatConfiguration.deserializer.hiveJsonSerDe.timestampFormats", `Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ^(?!\s*$).+]`)
					break
				}
			}
		}
	}
	switch len(v) {
	case 0:
		return nil
	case 1:
		return &ConstraintError{"1 validation error detected: " + v[0]}
	}
	return &ConstraintError{fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; "))}
}

// NewConverter builds a converter from a validated configuration.
func NewConverter(cfg *model.DataFormatConversionConfiguration) (*Converter, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("encode: data format conversion is not enabled")
	}
	return c, nil
}

// Convert writes the records that parse as JSON objects matching the
// schema into one Parquet file. bad lists the indexes of records that
// could not be converted, with why, for format-conversion-failed. A record
// may hold several concatenated objects, each a row; if any of them fails
// the whole record is bad. file is nil when no record converted.
func (c *Converter) Convert(records [][]byte) (file []byte, bad map[int]string, err error) {
	var rows []parquet.Row
	s := &shredder{r: &c.reader, cols: make([][]parquet.Value, c.ncols)}
	for i, rec := range records {
		objs, err := splitObjects(rec)
		if err != nil {
			if bad == nil {
				bad = map[int]string{}
			}
			bad[i] = err.Error()
			continue
		}
		var recRows []parquet.Row
		for _, obj := range objs {
			for j := range s.cols {
				s.cols[j] = s.cols[j][:0]
			}
			if err = s.shred(c.root, obj, 0, ""); err != nil {
				break
			}
			var row parquet.Row
			for _, col := range s.cols {
				row = append(row, col...)
			}
			recRows = append(recRows, row)
		}
		if err != nil {
			if bad == nil {
				bad = map[int]string{}
			}
			bad[i] = err.Error()
			continue
		}
		rows = append(rows, recRows...)
	}
	if len(rows) == 0 {
		return nil, bad, nil
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, append([]parquet.WriterOption{c.schema}, c.options...)...)
	if _, err := w.WriteRows(rows); err != nil {
		return nil, nil, fmt.Errorf("encode: write parquet: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, nil, fmt.Errorf("encode: write parquet: %w", err)
	}
	return buf.Bytes(), bad, nil
}

// Extension is ".parquet".
func (c *Converter) Extension() string { return ".parquet" }
