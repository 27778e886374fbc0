package process

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// InvalidArgumentError is a configuration CreateDeliveryStream and
// UpdateDestination reject with InvalidArgumentException; Message is the
// text returned.
type InvalidArgumentError struct {
	Message string
}

func (e *InvalidArgumentError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &InvalidArgumentError{Message: fmt.Sprintf(format, args...)}
}

// Processor types and parameter names, as the API spells them.
const (
	typeRecordDeAggregation     = "RecordDeAggregation"
	typeDecompression           = "Decompression"
	typeCloudWatchLogProcessing = "CloudWatchLogProcessing"
	typeLambda                  = "Lambda"
	typeMetadataExtraction      = "MetadataExtraction"
	typeAppendDelimiterToRecord = "AppendDelimiterToRecord"

	paramLambdaArn               = "LambdaArn"
	paramNumberOfRetries         = "NumberOfRetries"
	paramMetadataExtractionQuery = "MetadataExtractionQuery"
	paramJSONParsingEngine       = "JsonParsingEngine"
	paramRoleArn                 = "RoleArn"
	paramBufferSizeInMBs         = "BufferSizeInMBs"
	paramBufferIntervalInSeconds = "BufferIntervalInSeconds"
	paramSubRecordType           = "SubRecordType"
	paramDelimiter               = "Delimiter"
	paramCompressionFormat       = "CompressionFormat"
	paramDataMessageExtraction   = "DataMessageExtraction"
)

var processorTypes = []string{typeRecordDeAggregation, typeDecompression, typeCloudWatchLogProcessing, typeLambda, typeMetadataExtraction, typeAppendDelimiterToRecord}

var parameterNames = []string{paramLambdaArn, paramNumberOfRetries, paramMetadataExtractionQuery, paramJSONParsingEngine, paramRoleArn, paramBufferSizeInMBs, paramBufferIntervalInSeconds, paramSubRecordType, paramDelimiter, paramCompressionFormat, paramDataMessageExtraction}

// allowed lists the parameters each processor type takes.
var allowed = map[string][]string{
	typeLambda:                  {paramLambdaArn, paramNumberOfRetries, paramRoleArn, paramBufferSizeInMBs, paramBufferIntervalInSeconds},
	typeMetadataExtraction:      {paramMetadataExtractionQuery, paramJSONParsingEngine},
	typeRecordDeAggregation:     {paramSubRecordType, paramDelimiter},
	typeAppendDelimiterToRecord: {paramDelimiter},
	typeDecompression:           {paramCompressionFormat},
	typeCloudWatchLogProcessing: {paramDataMessageExtraction},
}

// Lambda processor defaults and bounds (ProcessorParameter and the data
// transformation guide).
const (
	defaultRetries      = 3
	maxRetries          = 300
	defaultBufferMB     = 1.0
	minBufferMB         = 0.2
	maxBufferMB         = 3.0
	defaultIntervalSecs = 60
	maxIntervalSecs     = 900
	maxParamValue       = 5120
	jqEngine            = "JQ-1.6"
)

type lambdaConfig struct {
	arn         string
	retries     int
	bufferBytes int
	interval    time.Duration
}

// config is a parsed ProcessingConfiguration.
type config struct {
	decompress bool
	deagg      *deaggregator
	lambda     *lambdaConfig
	query      string
	delimiter  []byte
}

// parse checks cfg and returns what it configures. strict adds the checks
// that tie processors to dynamic partitioning.
func parse(cfg *model.ProcessingConfiguration, dynamicPartitioning, strict bool) (*config, error) {
	c := &config{}
	if cfg == nil {
		if strict && dynamicPartitioning {
			return nil, needKeys(c, cfg)
		}
		return c, nil
	}
	seen := map[string]bool{}
	for i, p := range cfg.Processors {
		names, ok := allowed[p.Type]
		if !ok {
			return nil, invalid("Processor type %q is not valid for processors[%d]. Valid types are: %s.", p.Type, i, strings.Join(processorTypes, ", "))
		}
		if seen[p.Type] {
			return nil, invalid("Processor type %s can be specified only once.", p.Type)
		}
		seen[p.Type] = true
		params := map[string]string{}
		for _, q := range p.Parameters {
			if !contains(parameterNames, q.ParameterName) {
				return nil, invalid("Processor parameter name %q is not valid. Valid names are: %s.", q.ParameterName, strings.Join(parameterNames, ", "))
			}
			if !contains(names, q.ParameterName) {
				return nil, invalid("Processor parameter %s is not valid for processor type %s. Valid parameters are: %s.", q.ParameterName, p.Type, strings.Join(names, ", "))
			}
			if _, dup := params[q.ParameterName]; dup {
				return nil, invalid("Processor parameter %s is specified more than once for processor type %s.", q.ParameterName, p.Type)
			}
			v := model.Str(q.ParameterValue)
			if q.ParameterValue == nil || strings.TrimSpace(v) == "" || len(v) > maxParamValue {
				return nil, invalid("Processor parameter %s of processor type %s must be a non-blank value of at most %d characters.", q.ParameterName, p.Type, maxParamValue)
			}
			params[q.ParameterName] = v
		}
		var err error
		switch p.Type {
		case typeLambda:
			c.lambda, err = parseLambda(params)
		case typeMetadataExtraction:
			c.query, err = parseMetadataExtraction(params)
		case typeRecordDeAggregation:
			c.deagg, err = parseDeAggregation(params)
		case typeAppendDelimiterToRecord:
			c.delimiter = []byte("\n")
			if d, ok := params[paramDelimiter]; ok {
				c.delimiter, err = decodeDelimiter(p.Type, d)
			}
		case typeDecompression:
			if f, ok := params[paramCompressionFormat]; ok && f != "GZIP" {
				err = invalid("Processor parameter CompressionFormat of processor type Decompression must be GZIP, not %q.", f)
			}
			c.decompress = true
		case typeCloudWatchLogProcessing:
			err = invalid("Processor type CloudWatchLogProcessing (CloudWatch Logs message extraction) is not supported by Rivulet.")
		}
		if err != nil {
			return nil, err
		}
	}
	if strict && cfg.On() && c.query != "" && !dynamicPartitioning {
		return nil, invalid("Processor type MetadataExtraction requires dynamic partitioning to be enabled.")
	}
	if strict && dynamicPartitioning {
		if err := needKeys(c, cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// needKeys: with dynamic partitioning, the guide requires inline parsing
// or a Lambda function (or both) to produce the partition keys.
func needKeys(c *config, cfg *model.ProcessingConfiguration) error {
	if cfg.On() && (c.query != "" || c.lambda != nil) {
		return nil
	}
	return invalid("Dynamic partitioning requires an enabled ProcessingConfiguration with a MetadataExtraction or Lambda processor.")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseLambda(params map[string]string) (*lambdaConfig, error) {
	c := &lambdaConfig{
		arn:         params[paramLambdaArn],
		retries:     defaultRetries,
		bufferBytes: int(defaultBufferMB * (1 << 20)),
		interval:    defaultIntervalSecs * time.Second,
	}
	if c.arn == "" {
		return nil, invalid("Processor parameter LambdaArn is required for processor type Lambda.")
	}
	if err := checkLambdaArn(c.arn); err != nil {
		return nil, err
	}
	if v, ok := params[paramNumberOfRetries]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxRetries {
			return nil, invalid("Processor parameter NumberOfRetries must be an integer between 0 and %d, not %q.", maxRetries, v)
		}
		c.retries = n
	}
	if v, ok := params[paramBufferSizeInMBs]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f < minBufferMB || f > maxBufferMB {
			return nil, invalid("Processor parameter BufferSizeInMBs must be a number between %g and %g, not %q.", minBufferMB, maxBufferMB, v)
		}
		c.bufferBytes = int(f * (1 << 20))
	}
	if v, ok := params[paramBufferIntervalInSeconds]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxIntervalSecs {
			return nil, invalid("Processor parameter BufferIntervalInSeconds must be an integer between 0 and %d, not %q.", maxIntervalSecs, v)
		}
		c.interval = time.Duration(n) * time.Second
	}
	return c, nil
}

// checkLambdaArn accepts an http(s) URL or a Lambda function ARN,
// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].
func checkLambdaArn(arn string) error {
	if strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://") {
		u, err := url.Parse(arn)
		if err != nil || u.Host == "" {
			return invalid("Processor parameter LambdaArn %q is not a valid URL.", arn)
		}
		return nil
	}
	if _, _, ok := splitLambdaArn(arn); !ok {
		return invalid("Processor parameter LambdaArn %q is not a valid Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or http(s) URL.", arn)
	}
	return nil
}

func splitLambdaArn(arn string) (name, qualifier string, ok bool) {
	f := strings.Split(arn, ":")
	if len(f) < 7 || len(f) > 8 || f[0] != "arn" || !strings.HasPrefix(f[1], "aws") || f[2] != "lambda" || f[5] != "function" || f[6] == "" {
		return "", "", false
	}
	for _, r := range f[6] {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", false
		}
	}
	if len(f) == 8 {
		if f[7] == "" {
			return "", "", false
		}
		qualifier = f[7]
	}
	return f[6], qualifier, true
}

// lambdaURL is where the function is invoked: the LambdaArn itself when it
// is a URL, else the Invoke API path under endpoint.
func lambdaURL(arn, endpoint string) (string, error) {
	if strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://") {
		return arn, nil
	}
	name, qualifier, ok := splitLambdaArn(arn)
	if !ok {
		return "", checkLambdaArn(arn)
	}
	if endpoint == "" {
		return "", invalid("Processor parameter LambdaArn %q is a Lambda ARN, but this server has no Lambda endpoint configured; give an http(s) URL of the function instead.", arn)
	}
	u := strings.TrimRight(endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(name) + "/invocations"
	if qualifier != "" {
		u += "?Qualifier=" + url.QueryEscape(qualifier)
	}
	return u, nil
}

func parseMetadataExtraction(params map[string]string) (string, error) {
	q, ok := params[paramMetadataExtractionQuery]
	if !ok {
		return "", invalid("Processor parameter MetadataExtractionQuery is required for processor type MetadataExtraction.")
	}
	if e, ok := params[paramJSONParsingEngine]; ok && e != jqEngine {
		return "", invalid("Processor parameter JsonParsingEngine must be %s, not %q.", jqEngine, e)
	}
	if _, err := compileQuery(q); err != nil {
		return "", invalid("Processor parameter MetadataExtractionQuery is not a valid JQ expression: %v", err)
	}
	return q, nil
}

func parseDeAggregation(params map[string]string) (*deaggregator, error) {
	t, ok := params[paramSubRecordType]
	if !ok {
		return nil, invalid("Processor parameter SubRecordType is required for processor type RecordDeAggregation.")
	}
	d, hasDelim := params[paramDelimiter]
	switch t {
	case "JSON":
		if hasDelim {
			return nil, invalid("Processor parameter Delimiter is only valid with SubRecordType DELIMITED.")
		}
		return &deaggregator{}, nil
	case "DELIMITED":
		if !hasDelim {
			return nil, invalid("Processor parameter Delimiter is required when SubRecordType is DELIMITED.")
		}
		delim, err := decodeDelimiter(typeRecordDeAggregation, d)
		if err != nil {
			return nil, err
		}
		return &deaggregator{delimiter: delim}, nil
	}
	return nil, invalid("Processor parameter SubRecordType must be JSON or DELIMITED, not %q.", t)
}

// decodeDelimiter decodes a Delimiter parameter, which is base64 (the
// dynamic-partitioning guide: "####" is given as "IyMjIw==").
func decodeDelimiter(typ, v string) ([]byte, error) {
	d, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(d) == 0 {
		return nil, invalid("Processor parameter Delimiter of processor type %s must be a base64-encoded, non-empty string, such as \"Cg==\" for a newline.", typ)
	}
	return d, nil
}
