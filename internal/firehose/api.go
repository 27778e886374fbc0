package firehose

import (
	"encoding/json"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// The operations' inputs and outputs, with AWS's member names. Blobs are
// []byte (base64 on the wire); timestamps are epochSeconds.

type Tag struct {
	Key   *string
	Value *string `json:",omitempty"`
}

type DirectPutSourceConfiguration struct {
	ThroughputHintInMBs *int32 `json:",omitempty"`
}

type CreateDeliveryStreamInput struct {
	DeliveryStreamName                         *string
	DeliveryStreamType                         string
	DirectPutSourceConfiguration               *DirectPutSourceConfiguration
	KinesisStreamSourceConfiguration           *model.KinesisStreamSourceConfiguration
	DeliveryStreamEncryptionConfigurationInput *model.DeliveryStreamEncryptionConfigurationInput
	S3DestinationConfiguration                 *model.S3DestinationConfiguration
	ExtendedS3DestinationConfiguration         *model.ExtendedS3DestinationConfiguration
	RedshiftDestinationConfiguration           *model.RedshiftDestinationConfiguration
	HttpEndpointDestinationConfiguration       *model.HttpEndpointDestinationConfiguration
	Tags                                       []Tag

	// Accepted only to be refused with a clear message.
	ElasticsearchDestinationConfiguration              json.RawMessage
	AmazonopensearchserviceDestinationConfiguration    json.RawMessage
	AmazonOpenSearchServerlessDestinationConfiguration json.RawMessage
	SplunkDestinationConfiguration                     json.RawMessage
	SnowflakeDestinationConfiguration                  json.RawMessage
	IcebergDestinationConfiguration                    json.RawMessage
	MSKSourceConfiguration                             json.RawMessage
	DatabaseSourceConfiguration                        json.RawMessage
}

type CreateDeliveryStreamOutput struct {
	DeliveryStreamARN string
}

type DeleteDeliveryStreamInput struct {
	DeliveryStreamName *string
	AllowForceDelete   *bool
}

type DeleteDeliveryStreamOutput struct{}

type DescribeDeliveryStreamInput struct {
	DeliveryStreamName          *string
	Limit                       *int32
	ExclusiveStartDestinationId *string
}

type EncryptionDescription struct {
	KeyARN  *string `json:",omitempty"`
	KeyType string  `json:",omitempty"`
	Status  string
}

type KinesisStreamSourceDescription struct {
	KinesisStreamARN       *string `json:",omitempty"`
	RoleARN                *string `json:",omitempty"`
	DeliveryStartTimestamp float64 `json:",omitempty"`
}

type SourceDescription struct {
	KinesisStreamSourceDescription *KinesisStreamSourceDescription `json:",omitempty"`
	DirectPutSourceDescription     *DirectPutSourceConfiguration   `json:",omitempty"`
}

// S3Description is S3DestinationDescription: the configuration as stored.
type S3Description = model.S3DestinationConfiguration

type ExtendedS3Description struct {
	model.ExtendedS3DestinationConfiguration
	S3BackupDescription *S3Description `json:",omitempty"`
}

type HTTPEndpointDescription struct {
	model.HttpEndpointDestinationConfiguration
	S3DestinationDescription *S3Description `json:",omitempty"`
}

type RedshiftDescription struct {
	model.RedshiftDestinationConfiguration
	S3DestinationDescription *S3Description `json:",omitempty"`
	S3BackupDescription      *S3Description `json:",omitempty"`
}

type DestinationDescription struct {
	DestinationId                      string
	S3DestinationDescription           *S3Description           `json:",omitempty"`
	ExtendedS3DestinationDescription   *ExtendedS3Description   `json:",omitempty"`
	HttpEndpointDestinationDescription *HTTPEndpointDescription `json:",omitempty"`
	RedshiftDestinationDescription     *RedshiftDescription     `json:",omitempty"`
}

type DeliveryStreamDescription struct {
	DeliveryStreamName                    string
	DeliveryStreamARN                     string
	DeliveryStreamStatus                  string
	DeliveryStreamEncryptionConfiguration *EncryptionDescription `json:",omitempty"`
	DeliveryStreamType                    string
	VersionId                             string
	CreateTimestamp                       float64
	LastUpdateTimestamp                   float64            `json:",omitempty"`
	Source                                *SourceDescription `json:",omitempty"`
	Destinations                          []DestinationDescription
	HasMoreDestinations                   bool
}

type DescribeDeliveryStreamOutput struct {
	DeliveryStreamDescription DeliveryStreamDescription
}

type ListDeliveryStreamsInput struct {
	Limit                            *int32
	DeliveryStreamType               string
	ExclusiveStartDeliveryStreamName *string
}

type ListDeliveryStreamsOutput struct {
	DeliveryStreamNames    []string
	HasMoreDeliveryStreams bool
}

type UpdateDestinationInput struct {
	DeliveryStreamName             *string
	CurrentDeliveryStreamVersionId *string
	DestinationId                  *string
	S3DestinationUpdate            json.RawMessage
	ExtendedS3DestinationUpdate    json.RawMessage
	RedshiftDestinationUpdate      json.RawMessage
	HttpEndpointDestinationUpdate  json.RawMessage

	ElasticsearchDestinationUpdate              json.RawMessage
	AmazonopensearchserviceDestinationUpdate    json.RawMessage
	AmazonOpenSearchServerlessDestinationUpdate json.RawMessage
	SplunkDestinationUpdate                     json.RawMessage
	SnowflakeDestinationUpdate                  json.RawMessage
	IcebergDestinationUpdate                    json.RawMessage
}

type UpdateDestinationOutput struct{}

type Record struct {
	Data []byte
}

type PutRecordInput struct {
	DeliveryStreamName *string
	Record             *Record
}

type PutRecordOutput struct {
	RecordId  string
	Encrypted bool
}

type PutRecordBatchInput struct {
	DeliveryStreamName *string
	Records            []Record
}

type PutRecordBatchResponseEntry struct {
	RecordId     string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

type PutRecordBatchOutput struct {
	FailedPutCount   int
	Encrypted        bool
	RequestResponses []PutRecordBatchResponseEntry
}

type TagDeliveryStreamInput struct {
	DeliveryStreamName *string
	Tags               []Tag
}

type TagDeliveryStreamOutput struct{}

type UntagDeliveryStreamInput struct {
	DeliveryStreamName *string
	TagKeys            []string
}

type UntagDeliveryStreamOutput struct{}

type ListTagsForDeliveryStreamInput struct {
	DeliveryStreamName   *string
	ExclusiveStartTagKey *string
	Limit                *int32
}

type ListTagsForDeliveryStreamOutput struct {
	Tags        []Tag
	HasMoreTags bool
}

type StartDeliveryStreamEncryptionInput struct {
	DeliveryStreamName                         *string
	DeliveryStreamEncryptionConfigurationInput *model.DeliveryStreamEncryptionConfigurationInput
}

type StartDeliveryStreamEncryptionOutput struct{}

type StopDeliveryStreamEncryptionInput struct {
	DeliveryStreamName *string
}

type StopDeliveryStreamEncryptionOutput struct{}
