package process

import (
	"errors"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

func TestValidateAccepts(t *testing.T) {
	off := false
	cases := map[string]struct {
		cfg *model.ProcessingConfiguration
		dp  bool
	}{
		"nil":        {nil, false},
		"disabled":   {&model.ProcessingConfiguration{Enabled: &off}, false},
		"lambda":     {processing(processor("Lambda", "LambdaArn", "arn:aws:lambda:us-east-1:123456789012:function:f", "NumberOfRetries", "0", "RoleArn", "arn:aws:iam::123456789012:role/r", "BufferSizeInMBs", "0.2", "BufferIntervalInSeconds", "900")), false},
		"lambda url": {processing(processor("Lambda", "LambdaArn", "https://fn.example.com/transform", "NumberOfRetries", "300", "BufferSizeInMBs", "3")), false},
		"china arn":  {processing(processor("Lambda", "LambdaArn", "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:$LATEST")), false},
		"jq": {processing(processor("MetadataExtraction", "MetadataExtractionQuery", `{customer_id:.customer_id}`, "JsonParsingEngine", "JQ-1.6"),
			processor("RecordDeAggregation", "SubRecordType", "DELIMITED", "Delimiter", "IyMjIw=="), processor("AppendDelimiterToRecord")), true},
		"dp with lambda": {processing(processor("Lambda", "LambdaArn", "http://localhost:9000/")), true},
		"gzip":           {processing(processor("Decompression", "CompressionFormat", "GZIP")), false},
		"deagg json":     {processing(processor("RecordDeAggregation", "SubRecordType", "JSON")), false},
	}
	for name, c := range cases {
		if err := Validate(c.cfg, c.dp); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	jq := func(q string) model.Processor {
		return processor("MetadataExtraction", "MetadataExtractionQuery", q, "JsonParsingEngine", "JQ-1.6")
	}
	cases := []struct {
		name string
		cfg  *model.ProcessingConfiguration
		dp   bool
		want string
	}{
		{"unknown type", processing(processor("Magic")), false, "Magic"},
		{"unknown parameter", processing(processor("Lambda", "LambdaArn", "http://x", "Colour", "red")), false, "Colour"},
		{"parameter of another type", processing(processor("Lambda", "LambdaArn", "http://x", "SubRecordType", "JSON")), false, "SubRecordType"},
		{"duplicate parameter", processing(processor("Lambda", "LambdaArn", "http://x", "LambdaArn", "http://y")), false, "more than once"},
		{"duplicate type", processing(processor("AppendDelimiterToRecord"), processor("AppendDelimiterToRecord")), false, "only once"},
		{"blank value", processing(processor("Lambda", "LambdaArn", "  ")), false, "non-blank"},
		{"long value", processing(processor("Lambda", "LambdaArn", "http://x/"+strings.Repeat("a", 5120))), false, "5120"},
		{"missing arn", processing(processor("Lambda", "NumberOfRetries", "1")), false, "LambdaArn is required"},
		{"bad arn", processing(processor("Lambda", "LambdaArn", "arn:aws:s3:::bucket")), false, "LambdaArn"},
		{"bad url", processing(processor("Lambda", "LambdaArn", "http://")), false, "LambdaArn"},
		{"retries", processing(processor("Lambda", "LambdaArn", "http://x", "NumberOfRetries", "301")), false, "NumberOfRetries"},
		{"retries text", processing(processor("Lambda", "LambdaArn", "http://x", "NumberOfRetries", "three")), false, "NumberOfRetries"},
		{"buffer small", processing(processor("Lambda", "LambdaArn", "http://x", "BufferSizeInMBs", "0.1")), false, "BufferSizeInMBs"},
		{"buffer big", processing(processor("Lambda", "LambdaArn", "http://x", "BufferSizeInMBs", "3.5")), false, "BufferSizeInMBs"},
		{"buffer nan", processing(processor("Lambda", "LambdaArn", "http://x", "BufferSizeInMBs", "NaN")), false, "BufferSizeInMBs"},
		{"interval", processing(processor("Lambda", "LambdaArn", "http://x", "BufferIntervalInSeconds", "901")), false, "BufferIntervalInSeconds"},
		{"jq syntax", processing(jq(`{a:.a`)), true, "not a valid JQ expression"},
		{"jq unknown function", processing(jq(`{a:nosuchfn}`)), true, "not a valid JQ expression"},
		{"jq input", processing(jq(`{a:input}`)), true, "not a valid JQ expression"},
		{"jq missing query", processing(processor("MetadataExtraction", "JsonParsingEngine", "JQ-1.6")), true, "MetadataExtractionQuery is required"},
		{"jq engine", processing(processor("MetadataExtraction", "MetadataExtractionQuery", "{}", "JsonParsingEngine", "JQ-1.7")), true, "JsonParsingEngine"},
		{"jq without dp", processing(jq(`{a:.a}`)), false, "dynamic partitioning"},
		{"dp without keys", processing(processor("AppendDelimiterToRecord")), true, "Dynamic partitioning requires"},
		{"dp without processing", nil, true, "Dynamic partitioning requires"},
		{"subrecord type", processing(processor("RecordDeAggregation", "SubRecordType", "XML")), false, "SubRecordType"},
		{"subrecord missing", processing(processor("RecordDeAggregation")), false, "SubRecordType is required"},
		{"delimited without delimiter", processing(processor("RecordDeAggregation", "SubRecordType", "DELIMITED")), false, "Delimiter is required"},
		{"json with delimiter", processing(processor("RecordDeAggregation", "SubRecordType", "JSON", "Delimiter", "Cg==")), false, "only valid"},
		{"delimiter not base64", processing(processor("AppendDelimiterToRecord", "Delimiter", "##")), false, "base64"},
		{"decompression format", processing(processor("Decompression", "CompressionFormat", "ZIP")), false, "GZIP"},
		{"cloudwatch", processing(processor("CloudWatchLogProcessing", "DataMessageExtraction", "true")), false, "not supported by Rivulet"},
	}
	for _, c := range cases {
		err := Validate(c.cfg, c.dp)
		var iae *InvalidArgumentError
		if err == nil || !errors.As(err, &iae) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want InvalidArgumentError containing %q", c.name, err, c.want)
		}
	}
}

func TestNewRejectsWhatCannotRun(t *testing.T) {
	// New skips the create-time cross-checks but not the processors' own.
	if _, err := New(processing(processor("MetadataExtraction", "MetadataExtractionQuery", `{a:.a}`)), Options{}); err != nil {
		t.Errorf("New refused a stored MetadataExtraction without dynamic partitioning: %v", err)
	}
	if _, err := New(processing(processor("Lambda", "LambdaArn", "http://x", "NumberOfRetries", "-1")), Options{}); err == nil {
		t.Errorf("New accepted NumberOfRetries -1")
	}
}
