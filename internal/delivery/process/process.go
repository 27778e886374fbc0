// Package process runs a delivery stream's ProcessingConfiguration: the
// Lambda data-transformation contract over HTTP, and the built-in
// RecordDeAggregation, AppendDelimiterToRecord and MetadataExtraction (JQ)
// processors.
package process

import (
	"context"
	"errors"
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
	Code      string // errorCode, such as "Lambda.ProcessingFailed"
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

// Pipeline is a configured processing chain.
type Pipeline struct{}

// Validate checks a ProcessingConfiguration as CreateDeliveryStream does;
// the error's text is AWS's InvalidArgumentException message.
func Validate(cfg *model.ProcessingConfiguration, dynamicPartitioning bool) error {
	return errors.New("process: not implemented")
}

// New builds the pipeline; a nil or disabled configuration passes records
// through unchanged.
func New(cfg *model.ProcessingConfiguration, opts Options) (*Pipeline, error) {
	return nil, errors.New("process: not implemented")
}

// Run processes records in order (KPL de-aggregation → JSON/delimiter
// de-aggregation → Lambda → metadata extraction). It returns the records
// to deliver, those set aside, and an error only when the run could not
// complete at all (ctx ended).
func (p *Pipeline) Run(ctx context.Context, recs []Record) (out []Record, failed []Failed, err error) {
	return nil, nil, errors.New("process: not implemented")
}
