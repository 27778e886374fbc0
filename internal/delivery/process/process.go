// Package process runs a delivery stream's ProcessingConfiguration: the
// Lambda data-transformation contract over HTTP, and the built-in
// RecordDeAggregation, AppendDelimiterToRecord and MetadataExtraction (JQ)
// processors.
package process

import (
	"context"
	"net/http"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// KinesisMetadata is a Kinesis-sourced record's origin.
type KinesisMetadata struct {
	ShardID           string
	PartitionKey      string
	SequenceNumber    string
	SubsequenceNumber uint64
	Arrival           time.Time
}

// Record is one record on its way to the destination.
type Record struct {
	// ID is unique within the batch and fixed by the source position.
	ID      string
	Data    []byte
	Arrival time.Time
	Kinesis *KinesisMetadata
	// Query and Lambda are the partition keys MetadataExtraction and the
	// Lambda function produced.
	Query  map[string]string
	Lambda map[string]string
}

// Failed is a record set aside, with its error-record fields.
type Failed struct {
	Record    Record
	Code      string // errorCode, such as "Lambda.ProcessingFailedStatus"
	Message   string
	Attempts  int
	LambdaARN string
}

// Options are what the pipeline needs besides the configuration.
type Options struct {
	DeliveryStreamARN string
	Region            string
	SourceStreamARN   string // for KinesisStreamAsSource
	HTTPClient        *http.Client
	// LambdaEndpoint, if set, is where a LambdaArn that is an ARN is
	// invoked (the Lambda Invoke API path); a LambdaArn that is an
	// http(s) URL is posted to directly.
	LambdaEndpoint string
	// DynamicPartitioning makes MetadataExtraction failures record
	// failures instead of being ignored.
	DynamicPartitioning bool
}

// Error codes written to error records. Those of the Lambda contract are
// AWS's; the others name Rivulet's built-in processors the same way.
const (
	CodeProcessingFailedStatus   = "Lambda.ProcessingFailedStatus"
	CodeMissingRecordID          = "Lambda.MissingRecordId"
	CodeDuplicatedRecordID       = "Lambda.DuplicatedRecordId"
	CodeJSONProcessingException  = "Lambda.JsonProcessingException"
	CodeFunctionError            = "Lambda.FunctionError"
	CodeFunctionTimedOut         = "Lambda.FunctionTimedOut"
	CodeInvokeAccessDenied       = "Lambda.InvokeAccessDenied"
	CodeInvokeLimitExceeded      = "Lambda.InvokeLimitExceeded"
	CodeResourceNotFound         = "Lambda.ResourceNotFound"
	CodeServiceUnavailable       = "Lambda.ServiceUnavailable"
	CodeMetadataExtractionFailed = "DynamicPartitioning.MetadataExtractionFailed"
	CodeDeAggregationFailed      = "RecordDeAggregation.Failed"
	CodeDecompressionFailed      = "Decompression.Failed"
)

// Pipeline is a configured processing chain.
type Pipeline struct {
	decompress bool
	deagg      *deaggregator
	lambda     *lambdaInvoker
	jq         *extractor
	delimiter  []byte // AppendDelimiterToRecord; nil when absent
	dynamic    bool
}

// Validate checks a ProcessingConfiguration as CreateDeliveryStream does;
// the error's text is AWS's InvalidArgumentException message. A LambdaArn
// that is an ARN passes, since invoking it depends on the server's Lambda
// endpoint: ValidateWith checks that too.
func Validate(cfg *model.ProcessingConfiguration, dynamicPartitioning bool) error {
	_, err := parse(cfg, dynamicPartitioning, true)
	return err
}

// ValidateWith is Validate that also rejects a Lambda ARN when
// lambdaEndpoint is empty, as New would.
func ValidateWith(cfg *model.ProcessingConfiguration, dynamicPartitioning bool, lambdaEndpoint string) error {
	c, err := parse(cfg, dynamicPartitioning, true)
	if err != nil {
		return err
	}
	if c.lambda != nil {
		if _, err := lambdaURL(c.lambda.arn, lambdaEndpoint); err != nil {
			return err
		}
	}
	return nil
}

// New builds the pipeline; a nil or disabled configuration passes records
// through unchanged.
func New(cfg *model.ProcessingConfiguration, opts Options) (*Pipeline, error) {
	p := &Pipeline{dynamic: opts.DynamicPartitioning}
	if !cfg.On() {
		return p, nil
	}
	// The cross-checks with dynamic partitioning belong to
	// CreateDeliveryStream; a stored configuration is run as it is.
	c, err := parse(cfg, opts.DynamicPartitioning, false)
	if err != nil {
		return nil, err
	}
	p.decompress = c.decompress
	p.deagg = c.deagg
	p.delimiter = c.delimiter
	if c.query != "" {
		if p.jq, err = newExtractor(c.query); err != nil {
			return nil, err
		}
	}
	if c.lambda != nil {
		url, err := lambdaURL(c.lambda.arn, opts.LambdaEndpoint)
		if err != nil {
			return nil, err
		}
		p.lambda = newLambdaInvoker(c.lambda, url, opts)
	}
	return p, nil
}

// LambdaBuffering returns the Lambda processor's buffering hints (size in
// bytes, interval), and false when there is no Lambda processor.
func (p *Pipeline) LambdaBuffering() (size int, interval time.Duration, ok bool) {
	if p == nil || p.lambda == nil {
		return 0, 0, false
	}
	return p.lambda.cfg.bufferBytes, p.lambda.cfg.interval, true
}

// Run processes records in order (KPL de-aggregation → JSON/delimiter
// de-aggregation → Lambda → metadata extraction). It returns the records
// to deliver, those set aside, and an error only when the run could not
// complete at all (ctx ended).
//
// KPL de-aggregation happens upstream, in the Kinesis consumer.
// Decompression comes first and AppendDelimiterToRecord last, so that the
// Lambda function and the JQ query see the records without the delimiter.
func (p *Pipeline) Run(ctx context.Context, recs []Record) (out []Record, failed []Failed, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	out = make([]Record, 0, len(recs))
	out = append(out, recs...)
	if p == nil {
		return out, nil, nil
	}
	if p.decompress {
		out, failed = decompressAll(out, failed)
	}
	if p.deagg != nil {
		out, failed = p.deagg.run(out, failed)
	}
	if p.lambda != nil {
		if out, failed, err = p.lambda.run(ctx, out, failed); err != nil {
			return nil, nil, err
		}
	}
	if p.jq != nil {
		if out, failed, err = p.extract(ctx, out, failed); err != nil {
			return nil, nil, err
		}
	}
	if p.delimiter != nil {
		for i := range out {
			d := make([]byte, 0, len(out[i].Data)+len(p.delimiter))
			out[i].Data = append(append(d, out[i].Data...), p.delimiter...)
		}
	}
	return out, failed, nil
}

// extract runs the JQ query on every record. Without dynamic partitioning
// a failure only leaves Query nil.
func (p *Pipeline) extract(ctx context.Context, recs []Record, failed []Failed) ([]Record, []Failed, error) {
	kept := recs[:0]
	for _, r := range recs {
		keys, msg := p.jq.eval(ctx, r.Data)
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if msg != "" {
			if p.dynamic {
				failed = append(failed, Failed{Record: r, Code: CodeMetadataExtractionFailed, Message: msg, Attempts: 1})
				continue
			}
			keys = nil
		}
		r.Query = keys
		kept = append(kept, r)
	}
	return kept, failed, nil
}
