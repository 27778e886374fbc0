package api

// Channels: CreateChannel, DescribeChannel, ListChannels, UpdateChannel and
// DeleteChannel, which deliver a stream to Amazon S3.

// Channel statuses, destination types and enum values.
const (
	ChannelStatusCreating = "CREATING"
	ChannelStatusActive   = "ACTIVE"
	ChannelStatusUpdating = "UPDATING"
	ChannelStatusDeleting = "DELETING"
	ChannelStatusFailed   = "FAILED"

	ChannelDestinationS3       = "S3"
	ChannelDestinationS3Tables = "S3_TABLES"

	RecordFormatGSRJSON   = "GSR_JSON"
	RecordFormatJSON      = "JSON"
	RecordFormatString    = "STRING"
	RecordFormatByteArray = "BYTE_ARRAY"

	S3CompressionNone = "NONE"
	S3CompressionGZIP = "GZIP"
	S3CompressionZSTD = "ZSTD"
)

type ChannelEncryptionConfiguration struct {
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyId          *string `json:"KeyId,omitempty"`
}

type CloudWatchLogs struct {
	Enabled       *bool   `json:"Enabled,omitempty"`
	LogGroupName  *string `json:"LogGroupName,omitempty"`
	LogStreamName *string `json:"LogStreamName,omitempty"`
}

// ChannelLoggingConfiguration is also UpdateChannel's
// ChannelLoggingUpdateInput: the two shapes have the same members.
type ChannelLoggingConfiguration struct {
	CloudWatchLogs *CloudWatchLogs `json:"CloudWatchLogs,omitempty"`
}

type RecordConfiguration struct {
	RecordFormatType *string `json:"RecordFormatType,omitempty"`
	GSRSchemaARN     *string `json:"GSRSchemaARN,omitempty"`
}

type ChannelStreamConfiguration struct {
	StreamARN           *string              `json:"StreamARN,omitempty"`
	RecordConfiguration *RecordConfiguration `json:"RecordConfiguration,omitempty"`
}

type S3StorageConfiguration struct {
	BucketARN           *string `json:"BucketARN,omitempty"`
	CompressionType     *string `json:"CompressionType,omitempty"`
	ExpectedBucketOwner *string `json:"ExpectedBucketOwner,omitempty"`
	OutputKeyTemplate   *string `json:"OutputKeyTemplate,omitempty"`
	StorageClass        *string `json:"StorageClass,omitempty"`
}

type DeadLetterQueueS3Configuration struct {
	BucketARN           *string `json:"BucketARN,omitempty"`
	ExpectedBucketOwner *string `json:"ExpectedBucketOwner,omitempty"`
	ErrorOutputPrefix   *string `json:"ErrorOutputPrefix,omitempty"`
}

// S3DestinationConfiguration is CreateChannel's input and, with every
// member filled, the description's S3DestinationDescription.
type S3DestinationConfiguration struct {
	StorageConfiguration           *S3StorageConfiguration         `json:"StorageConfiguration,omitempty"`
	DataFreshnessInSeconds         *int64                          `json:"DataFreshnessInSeconds,omitempty"`
	DeadLetterQueueS3Configuration *DeadLetterQueueS3Configuration `json:"DeadLetterQueueS3Configuration,omitempty"`
}

type PartitionField struct {
	SourceName *string `json:"SourceName,omitempty"`
	Transform  *string `json:"Transform,omitempty"`
}

type PartitionSpec struct {
	PartitionFields []PartitionField `json:"PartitionFields,omitempty"`
}

type S3TablesConfiguration struct {
	CompressionType *string        `json:"CompressionType,omitempty"`
	Namespace       *string        `json:"Namespace,omitempty"`
	TableBucketARN  *string        `json:"TableBucketARN,omitempty"`
	TableName       *string        `json:"TableName,omitempty"`
	PartitionSpec   *PartitionSpec `json:"PartitionSpec,omitempty"`
}

// S3TablesDestinationConfiguration is accepted only to be refused clearly:
// Rivulet has no S3 Tables (Apache Iceberg) destination.
type S3TablesDestinationConfiguration struct {
	DataFreshnessInSeconds         *int64                          `json:"DataFreshnessInSeconds,omitempty"`
	DeadLetterQueueS3Configuration *DeadLetterQueueS3Configuration `json:"DeadLetterQueueS3Configuration,omitempty"`
	S3TablesConfigurationList      []S3TablesConfiguration         `json:"S3TablesConfigurationList,omitempty"`
}

// ChannelStreamDescription is a source stream as DescribeChannel shows it.
type ChannelStreamDescription struct {
	StreamARN               string              `json:"StreamARN"`
	StreamCreationTimestamp Time                `json:"StreamCreationTimestamp"`
	RecordConfiguration     RecordConfiguration `json:"RecordConfiguration"`
}

type ChannelDescription struct {
	ChannelARN                 string                          `json:"ChannelARN"`
	ChannelName                string                          `json:"ChannelName"`
	ChannelId                  string                          `json:"ChannelId"`
	ChannelStatus              string                          `json:"ChannelStatus"`
	ChannelStatusReason        *string                         `json:"ChannelStatusReason,omitempty"`
	ChannelCreationTimestamp   Time                            `json:"ChannelCreationTimestamp"`
	ServiceExecutionRoleARN    string                          `json:"ServiceExecutionRoleARN"`
	StreamConfigurationList    []ChannelStreamDescription      `json:"StreamConfigurationList"`
	S3DestinationConfiguration *S3DestinationConfiguration     `json:"S3DestinationConfiguration,omitempty"`
	EncryptionConfiguration    *ChannelEncryptionConfiguration `json:"EncryptionConfiguration,omitempty"`
	LoggingConfiguration       ChannelLoggingConfiguration     `json:"LoggingConfiguration"`
}

type ChannelStreamIdentifier struct {
	StreamARN               string `json:"StreamARN"`
	StreamCreationTimestamp Time   `json:"StreamCreationTimestamp"`
}

type ChannelSummary struct {
	ChannelARN               string                    `json:"ChannelARN"`
	ChannelName              string                    `json:"ChannelName"`
	ChannelId                string                    `json:"ChannelId"`
	ChannelStatus            string                    `json:"ChannelStatus"`
	ChannelStatusReason      *string                   `json:"ChannelStatusReason,omitempty"`
	ChannelCreationTimestamp Time                      `json:"ChannelCreationTimestamp"`
	ChannelDestinationType   string                    `json:"ChannelDestinationType"`
	Streams                  []ChannelStreamIdentifier `json:"Streams"`
}

// CreateChannel

type CreateChannelInput struct {
	ChannelName                      *string                           `json:"ChannelName,omitempty"`
	ServiceExecutionRoleARN          *string                           `json:"ServiceExecutionRoleARN,omitempty"`
	StreamConfigurationList          []ChannelStreamConfiguration      `json:"StreamConfigurationList,omitempty"`
	S3DestinationConfiguration       *S3DestinationConfiguration       `json:"S3DestinationConfiguration,omitempty"`
	S3TablesDestinationConfiguration *S3TablesDestinationConfiguration `json:"S3TablesDestinationConfiguration,omitempty"`
	EncryptionConfiguration          *ChannelEncryptionConfiguration   `json:"EncryptionConfiguration,omitempty"`
	Tags                             map[string]string                 `json:"Tags,omitempty"`
	LoggingConfiguration             *ChannelLoggingConfiguration      `json:"LoggingConfiguration,omitempty"`
}
type CreateChannelOutput struct {
	ChannelDescription ChannelDescription `json:"ChannelDescription"`
}

// DescribeChannel

type DescribeChannelInput struct {
	ChannelARN *string `json:"ChannelARN,omitempty"`
}
type DescribeChannelOutput struct {
	ChannelDescription ChannelDescription `json:"ChannelDescription"`
}

// ListChannels

type StreamFilter struct {
	StreamARN               *string `json:"StreamARN,omitempty"`
	StreamCreationTimestamp *Time   `json:"StreamCreationTimestamp,omitempty"`
}

type ListChannelsInput struct {
	MaxResults   *int64         `json:"MaxResults,omitempty"`
	NextToken    *string        `json:"NextToken,omitempty"`
	StreamFilter []StreamFilter `json:"StreamFilter,omitempty"`
}
type ListChannelsOutput struct {
	ChannelSummaries []ChannelSummary `json:"ChannelSummaries"`
	NextToken        *string          `json:"NextToken,omitempty"`
}

// UpdateChannel

// DestinationUpdate is S3DestinationUpdateInput and
// S3TablesDestinationUpdateInput alike.
type DestinationUpdate struct {
	DataFreshnessInSeconds *int64 `json:"DataFreshnessInSeconds,omitempty"`
}

type UpdateChannelInput struct {
	ChannelARN                       *string                      `json:"ChannelARN,omitempty"`
	S3DestinationConfiguration       *DestinationUpdate           `json:"S3DestinationConfiguration,omitempty"`
	S3TablesDestinationConfiguration *DestinationUpdate           `json:"S3TablesDestinationConfiguration,omitempty"`
	LoggingConfiguration             *ChannelLoggingConfiguration `json:"LoggingConfiguration,omitempty"`
}
type UpdateChannelOutput struct {
	ChannelDescription ChannelDescription `json:"ChannelDescription"`
}

// DeleteChannel

type DeleteChannelInput struct {
	ChannelARN *string `json:"ChannelARN,omitempty"`
}
type DeleteChannelOutput struct{}
