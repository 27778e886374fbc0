// Package model holds the Firehose configuration shapes, with AWS's member
// names so that encoding/json reads and writes them as the API does, and
// the delivery-stream record Rivulet stores. The API (internal/firehose)
// validates them; the delivery engine (internal/delivery) runs them.
package model

import (
	"encoding/json"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// Delivery stream types and statuses.
const (
	TypeDirectPut     = "DirectPut"
	TypeKinesisSource = "KinesisStreamAsSource"

	StatusCreating       = "CREATING"
	StatusCreatingFailed = "CREATING_FAILED"
	StatusActive         = "ACTIVE"
	StatusDeleting       = "DELETING"
)

// Destination kinds, as DestinationDescription names them.
const (
	KindExtendedS3   = "ExtendedS3"
	KindHTTPEndpoint = "HttpEndpoint"
	KindRedshift     = "Redshift" // delivered to PostgreSQL
)

// DeliveryStream is the stored record of one delivery stream, in the
// metadata bucket (docs/format/firehose.md). Every change is a
// compare-and-swap.
type DeliveryStream struct {
	Account string
	Region  string
	Name    string
	// ID is unique to this incarnation; the DirectPut buffer log and the
	// engine's checkpoints are named after it.
	ID      string
	Type    string
	Status  string
	Created time.Time
	Updated time.Time
	// VersionID counts updates from 1, as DescribeDeliveryStream's
	// VersionId does.
	VersionID int
	// Source is set for KinesisStreamAsSource.
	Source *KinesisStreamSourceConfiguration `json:",omitempty"`
	// DestinationID is "destinationId-000000000001".
	DestinationID string
	Destination   Destination
	Encryption    *DeliveryStreamEncryptionConfigurationInput `json:",omitempty"`
	// EncryptionStatus is ENABLED, DISABLED (or ENABLING/DISABLING).
	EncryptionStatus string            `json:",omitempty"`
	Tags             map[string]string `json:",omitempty"`
	// StatusUntil ends a CREATING Status, and EncryptionUntil an ENABLING
	// or DISABLING EncryptionStatus: readers derive the current one from
	// the clock (CurrentStatus, CurrentEncryptionStatus), so no process has
	// to be awake to finish a transition. Zero means the status is final.
	StatusUntil     time.Time `json:",omitzero"`
	EncryptionUntil time.Time `json:",omitzero"`
	// DataKeys are the stream's data keys for server-side encryption,
	// each wrapped by a master key of the key ring (internal/kms). A
	// buffer-log entry sealed with one carries its Index (store.Entry.Key).
	// Retired keys stay while records sealed with them may remain.
	DataKeys []store.DataKey `json:",omitempty"`
	// WriteKey is the index of the data key new records are sealed with;
	// 0 stores them in the clear. NextWriteKey replaces it at
	// EncryptionUntil, when ENABLING or DISABLING ends (WriteKeyAt).
	WriteKey     uint32  `json:",omitempty"`
	NextWriteKey *uint32 `json:",omitempty"`
	// EncryptionChanges are the Start- and StopDeliveryStreamEncryption
	// calls of the last 24 hours, which AWS limits together.
	EncryptionChanges []time.Time `json:",omitempty"`
}

// WriteKeyAt is the index of the data key records put at now are sealed
// with (0: none): a switch takes effect when its transition ends.
func (d *DeliveryStream) WriteKeyAt(now time.Time) uint32 {
	if d.NextWriteKey != nil && !now.Before(d.EncryptionUntil) {
		return *d.NextWriteKey
	}
	return d.WriteKey
}

// DataKey returns the data key of that index, nil if there is none.
func (d *DeliveryStream) DataKey(index uint32) *store.DataKey {
	for i := range d.DataKeys {
		if d.DataKeys[i].Index == index {
			return &d.DataKeys[i]
		}
	}
	return nil
}

// CurrentStatus is Status as of now: CREATING becomes ACTIVE at
// StatusUntil.
func (d *DeliveryStream) CurrentStatus(now time.Time) string {
	if d.Status == StatusCreating && !now.Before(d.StatusUntil) {
		return StatusActive
	}
	return d.Status
}

// CurrentEncryptionStatus is EncryptionStatus as of now ("DISABLED" when
// unset): ENABLING becomes ENABLED and DISABLING DISABLED at
// EncryptionUntil.
func (d *DeliveryStream) CurrentEncryptionStatus(now time.Time) string {
	switch {
	case d.EncryptionStatus == "":
		return "DISABLED"
	case now.Before(d.EncryptionUntil):
		return d.EncryptionStatus
	case d.EncryptionStatus == "ENABLING":
		return "ENABLED"
	case d.EncryptionStatus == "DISABLING":
		return "DISABLED"
	}
	return d.EncryptionStatus
}

// ARN is the delivery stream's ARN.
func (d *DeliveryStream) ARN() string {
	return "arn:aws:firehose:" + d.Region + ":" + d.Account + ":deliverystream/" + d.Name
}

// Destination is exactly one of these, with defaults filled in (the
// description echoes them).
type Destination struct {
	ExtendedS3   *ExtendedS3DestinationConfiguration   `json:",omitempty"`
	HTTPEndpoint *HttpEndpointDestinationConfiguration `json:",omitempty"`
	Redshift     *RedshiftDestinationConfiguration     `json:",omitempty"`
}

// Kind names the destination that is set.
func (d Destination) Kind() string {
	switch {
	case d.ExtendedS3 != nil:
		return KindExtendedS3
	case d.HTTPEndpoint != nil:
		return KindHTTPEndpoint
	case d.Redshift != nil:
		return KindRedshift
	}
	return ""
}

type KinesisStreamSourceConfiguration struct {
	KinesisStreamARN *string
	RoleARN          *string
}

type DeliveryStreamEncryptionConfigurationInput struct {
	KeyType string  `json:",omitempty"` // AWS_OWNED_CMK | CUSTOMER_MANAGED_CMK
	KeyARN  *string `json:",omitempty"`
}

type BufferingHints struct {
	SizeInMBs         *int32 `json:",omitempty"`
	IntervalInSeconds *int32 `json:",omitempty"`
}

type CloudWatchLoggingOptions struct {
	Enabled       *bool   `json:",omitempty"`
	LogGroupName  *string `json:",omitempty"`
	LogStreamName *string `json:",omitempty"`
}

type KMSEncryptionConfig struct {
	AWSKMSKeyARN *string
}

type EncryptionConfiguration struct {
	KMSEncryptionConfig *KMSEncryptionConfig `json:",omitempty"`
	NoEncryptionConfig  string               `json:",omitempty"` // "NoEncryption"
}

type ProcessorParameter struct {
	ParameterName  string
	ParameterValue *string
}

type Processor struct {
	Type       string
	Parameters []ProcessorParameter `json:",omitempty"`
}

// Param returns the value of the named parameter and whether it is set.
func (p Processor) Param(name string) (string, bool) {
	for _, q := range p.Parameters {
		if q.ParameterName == name && q.ParameterValue != nil {
			return *q.ParameterValue, true
		}
	}
	return "", false
}

type ProcessingConfiguration struct {
	Enabled    *bool       `json:",omitempty"`
	Processors []Processor `json:",omitempty"`
}

// On reports whether processing is enabled with at least one processor.
func (p *ProcessingConfiguration) On() bool {
	return p != nil && p.Enabled != nil && *p.Enabled && len(p.Processors) > 0
}

type RetryOptions struct {
	DurationInSeconds *int32 `json:",omitempty"`
}

type DynamicPartitioningConfiguration struct {
	Enabled      *bool         `json:",omitempty"`
	RetryOptions *RetryOptions `json:",omitempty"`
}

// SchemaConfiguration names a Glue table on AWS. Rivulet has no Glue:
// TableName holds the schema inline as a Hive struct type, such as
// "struct<id:bigint,name:string>" (docs/FIREHOSE.md). The other members are
// echoed and otherwise ignored.
type SchemaConfiguration struct {
	RoleARN      *string `json:",omitempty"`
	CatalogId    *string `json:",omitempty"`
	DatabaseName *string `json:",omitempty"`
	TableName    *string `json:",omitempty"`
	Region       *string `json:",omitempty"`
	VersionId    *string `json:",omitempty"`
}

type OpenXJsonSerDe struct {
	ConvertDotsInJsonKeysToUnderscores *bool             `json:",omitempty"`
	CaseInsensitive                    *bool             `json:",omitempty"`
	ColumnToJsonKeyMappings            map[string]string `json:",omitempty"`
}

type HiveJsonSerDe struct {
	TimestampFormats []string `json:",omitempty"`
}

type Deserializer struct {
	OpenXJsonSerDe *OpenXJsonSerDe `json:",omitempty"`
	HiveJsonSerDe  *HiveJsonSerDe  `json:",omitempty"`
}

type InputFormatConfiguration struct {
	Deserializer *Deserializer `json:",omitempty"`
}

type ParquetSerDe struct {
	BlockSizeBytes              *int32 `json:",omitempty"`
	PageSizeBytes               *int32 `json:",omitempty"`
	Compression                 string `json:",omitempty"` // UNCOMPRESSED | GZIP | SNAPPY
	EnableDictionaryCompression *bool  `json:",omitempty"`
	MaxPaddingBytes             *int32 `json:",omitempty"`
	WriterVersion               string `json:",omitempty"` // V1 | V2
}

// OrcSerDe is accepted by the decoder only so that CreateDeliveryStream can
// refuse it with a clear message: no maintained Go ORC writer is reachable.
type OrcSerDe struct {
	StripeSizeBytes                     *int32   `json:",omitempty"`
	Compression                         string   `json:",omitempty"`
	FormatVersion                       string   `json:",omitempty"`
	RowIndexStride                      *int32   `json:",omitempty"`
	EnablePadding                       *bool    `json:",omitempty"`
	BlockSizeBytes                      *int32   `json:",omitempty"`
	BloomFilterColumns                  []string `json:",omitempty"`
	BloomFilterFalsePositiveProbability *float64 `json:",omitempty"`
	DictionaryKeyThreshold              *float64 `json:",omitempty"`
	PaddingTolerance                    *float64 `json:",omitempty"`
}

type Serializer struct {
	ParquetSerDe *ParquetSerDe `json:",omitempty"`
	OrcSerDe     *OrcSerDe     `json:",omitempty"`
}

type OutputFormatConfiguration struct {
	Serializer *Serializer `json:",omitempty"`
}

type DataFormatConversionConfiguration struct {
	Enabled                   *bool                      `json:",omitempty"`
	SchemaConfiguration       *SchemaConfiguration       `json:",omitempty"`
	InputFormatConfiguration  *InputFormatConfiguration  `json:",omitempty"`
	OutputFormatConfiguration *OutputFormatConfiguration `json:",omitempty"`
}

// On reports whether conversion is enabled (Enabled defaults to true when
// the configuration is given).
func (c *DataFormatConversionConfiguration) On() bool {
	return c != nil && (c.Enabled == nil || *c.Enabled)
}

// S3DestinationConfiguration is the plain S3 shape: backups, the error
// and staging bucket of the HTTP endpoint and Redshift destinations.
type S3DestinationConfiguration struct {
	RoleARN                  *string                   `json:",omitempty"`
	BucketARN                *string                   `json:",omitempty"`
	Prefix                   *string                   `json:",omitempty"`
	ErrorOutputPrefix        *string                   `json:",omitempty"`
	BufferingHints           *BufferingHints           `json:",omitempty"`
	CompressionFormat        string                    `json:",omitempty"`
	EncryptionConfiguration  *EncryptionConfiguration  `json:",omitempty"`
	CloudWatchLoggingOptions *CloudWatchLoggingOptions `json:",omitempty"`
}

type ExtendedS3DestinationConfiguration struct {
	RoleARN                           *string                            `json:",omitempty"`
	BucketARN                         *string                            `json:",omitempty"`
	Prefix                            *string                            `json:",omitempty"`
	ErrorOutputPrefix                 *string                            `json:",omitempty"`
	BufferingHints                    *BufferingHints                    `json:",omitempty"`
	CompressionFormat                 string                             `json:",omitempty"`
	EncryptionConfiguration           *EncryptionConfiguration           `json:",omitempty"`
	CloudWatchLoggingOptions          *CloudWatchLoggingOptions          `json:",omitempty"`
	ProcessingConfiguration           *ProcessingConfiguration           `json:",omitempty"`
	S3BackupMode                      string                             `json:",omitempty"` // Disabled | Enabled
	S3BackupConfiguration             *S3DestinationConfiguration        `json:",omitempty"`
	DataFormatConversionConfiguration *DataFormatConversionConfiguration `json:",omitempty"`
	DynamicPartitioningConfiguration  *DynamicPartitioningConfiguration  `json:",omitempty"`
	FileExtension                     *string                            `json:",omitempty"`
	CustomTimeZone                    *string                            `json:",omitempty"`
}

type HttpEndpointConfiguration struct {
	Url       *string `json:",omitempty"`
	Name      *string `json:",omitempty"`
	AccessKey *string `json:",omitempty"`
}

type HttpEndpointCommonAttribute struct {
	AttributeName  *string
	AttributeValue *string
}

type HttpEndpointRequestConfiguration struct {
	ContentEncoding  string                        `json:",omitempty"` // NONE | GZIP
	CommonAttributes []HttpEndpointCommonAttribute `json:",omitempty"`
}

type HttpEndpointDestinationConfiguration struct {
	EndpointConfiguration    *HttpEndpointConfiguration        `json:",omitempty"`
	BufferingHints           *BufferingHints                   `json:",omitempty"`
	CloudWatchLoggingOptions *CloudWatchLoggingOptions         `json:",omitempty"`
	RequestConfiguration     *HttpEndpointRequestConfiguration `json:",omitempty"`
	ProcessingConfiguration  *ProcessingConfiguration          `json:",omitempty"`
	RoleARN                  *string                           `json:",omitempty"`
	RetryOptions             *RetryOptions                     `json:",omitempty"`
	S3BackupMode             string                            `json:",omitempty"` // FailedDataOnly | AllData
	S3Configuration          *S3DestinationConfiguration       `json:",omitempty"`
}

type CopyCommand struct {
	DataTableName    *string `json:",omitempty"`
	DataTableColumns *string `json:",omitempty"`
	CopyOptions      *string `json:",omitempty"`
}

// RedshiftDestinationConfiguration is delivered to PostgreSQL:
// ClusterJDBCURL is "jdbc:postgresql://host:port/db" (or a postgres:// URL),
// records are staged in S3Configuration's bucket, then loaded with COPY.
type RedshiftDestinationConfiguration struct {
	RoleARN                  *string                     `json:",omitempty"`
	ClusterJDBCURL           *string                     `json:",omitempty"`
	CopyCommand              *CopyCommand                `json:",omitempty"`
	Username                 *string                     `json:",omitempty"`
	Password                 *string                     `json:",omitempty"`
	RetryOptions             *RetryOptions               `json:",omitempty"`
	S3Configuration          *S3DestinationConfiguration `json:",omitempty"`
	ProcessingConfiguration  *ProcessingConfiguration    `json:",omitempty"`
	S3BackupMode             string                      `json:",omitempty"` // Disabled | Enabled
	S3BackupConfiguration    *S3DestinationConfiguration `json:",omitempty"`
	CloudWatchLoggingOptions *CloudWatchLoggingOptions   `json:",omitempty"`
}

// Int returns *p, or def when p is nil.
func Int(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// Str returns *p, or "" when p is nil.
func Str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Channel is a Kinesis channel's stored record (kind "channels"): a
// Kinesis-sourced delivery to a general-purpose S3 bucket, which the same
// engine runs as Delivery.
type Channel struct {
	Account   string
	Region    string
	Name      string
	ID        string
	Status    string
	Created   time.Time
	Updated   time.Time
	StreamARN string
	RoleARN   string
	// Request holds the configuration members as given, which
	// DescribeChannel echoes.
	Request json.RawMessage   `json:",omitempty"`
	Tags    map[string]string `json:",omitempty"`
	// Delivery is what the engine runs: Type KinesisStreamAsSource with an
	// ExtendedS3 destination, ID equal to the channel's.
	Delivery DeliveryStream
}
