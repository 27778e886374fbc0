// Package api holds the request and response shapes of the Kinesis Data
// Streams API, with the member names AWS puts on the wire. The same structs
// serve AWS JSON 1.1 and CBOR 1.1 (the cbor codec honours the json tags).
//
// Optional members are pointers so that validation can tell a missing value
// (printed "null" in AWS's messages) from a zero one.
package api

// Stream statuses.
const (
	StatusCreating = "CREATING"
	StatusActive   = "ACTIVE"
	StatusUpdating = "UPDATING"
	StatusDeleting = "DELETING"
)

// Capacity modes.
const (
	ModeProvisioned = "PROVISIONED"
	ModeOnDemand    = "ON_DEMAND"
)

// Shard iterator types.
const (
	AtSequenceNumber    = "AT_SEQUENCE_NUMBER"
	AfterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	TrimHorizon         = "TRIM_HORIZON"
	Latest              = "LATEST"
	AtTimestamp         = "AT_TIMESTAMP"
)

// ShardFilter types.
const (
	FilterAfterShardID     = "AFTER_SHARD_ID"
	FilterAtTrimHorizon    = "AT_TRIM_HORIZON"
	FilterFromTrimHorizon  = "FROM_TRIM_HORIZON"
	FilterAtLatest         = "AT_LATEST"
	FilterAtTimestamp      = "AT_TIMESTAMP"
	FilterFromTimestamp    = "FROM_TIMESTAMP"
	EncryptionNone         = "NONE"
	EncryptionKMS          = "KMS"
	ScalingUniform         = "UNIFORM_SCALING"
	ConsumerStatusCreating = "CREATING"
	ConsumerStatusActive   = "ACTIVE"
	ConsumerStatusDeleting = "DELETING"
)

type StreamModeDetails struct {
	StreamMode *string `json:"StreamMode,omitempty"`
}

type HashKeyRange struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

type SequenceNumberRange struct {
	StartingSequenceNumber string  `json:"StartingSequenceNumber"`
	EndingSequenceNumber   *string `json:"EndingSequenceNumber,omitempty"`
}

type Shard struct {
	ShardId               string              `json:"ShardId"`
	ParentShardId         *string             `json:"ParentShardId,omitempty"`
	AdjacentParentShardId *string             `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          HashKeyRange        `json:"HashKeyRange"`
	SequenceNumberRange   SequenceNumberRange `json:"SequenceNumberRange"`
}

type ChildShard struct {
	ShardId      string       `json:"ShardId"`
	ParentShards []string     `json:"ParentShards"`
	HashKeyRange HashKeyRange `json:"HashKeyRange"`
}

type EnhancedMetrics struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

type Tag struct {
	Key   string  `json:"Key"`
	Value *string `json:"Value,omitempty"`
}

// CreateStream

type CreateStreamInput struct {
	StreamName          *string            `json:"StreamName,omitempty"`
	ShardCount          *int64             `json:"ShardCount,omitempty"`
	StreamModeDetails   *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	Tags                map[string]string  `json:"Tags,omitempty"`
	MaxRecordSizeInKiB  *int64             `json:"MaxRecordSizeInKiB,omitempty"`
	WarmThroughputMiBps *int64             `json:"WarmThroughputMiBps,omitempty"`
	// RecordDistributionStrategy is AUTO or USER_PARTITION_KEY.
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}
type CreateStreamOutput struct{}

// DeleteStream

type DeleteStreamInput struct {
	StreamName              *string `json:"StreamName,omitempty"`
	StreamARN               *string `json:"StreamARN,omitempty"`
	EnforceConsumerDeletion *bool   `json:"EnforceConsumerDeletion,omitempty"`
}
type DeleteStreamOutput struct{}

// ListStreams

type ListStreamsInput struct {
	Limit                    *int64  `json:"Limit,omitempty"`
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName,omitempty"`
	NextToken                *string `json:"NextToken,omitempty"`
}

type StreamSummary struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	StreamCreationTimestamp *Time              `json:"StreamCreationTimestamp,omitempty"`
}

type ListStreamsOutput struct {
	StreamNames     []string        `json:"StreamNames"`
	HasMoreStreams  bool            `json:"HasMoreStreams"`
	NextToken       *string         `json:"NextToken,omitempty"`
	StreamSummaries []StreamSummary `json:"StreamSummaries"`
}

// DescribeStream

type DescribeStreamInput struct {
	StreamName            *string `json:"StreamName,omitempty"`
	StreamARN             *string `json:"StreamARN,omitempty"`
	Limit                 *int64  `json:"Limit,omitempty"`
	ExclusiveStartShardId *string `json:"ExclusiveStartShardId,omitempty"`
}

type StreamDescription struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	Shards                  []Shard            `json:"Shards"`
	HasMoreShards           bool               `json:"HasMoreShards"`
	RetentionPeriodHours    int64              `json:"RetentionPeriodHours"`
	StreamCreationTimestamp Time               `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []EnhancedMetrics  `json:"EnhancedMonitoring"`
	EncryptionType          string             `json:"EncryptionType,omitempty"`
	KeyId                   *string            `json:"KeyId,omitempty"`
}

type DescribeStreamOutput struct {
	StreamDescription StreamDescription `json:"StreamDescription"`
}

// DescribeStreamSummary

type DescribeStreamSummaryInput struct {
	StreamName *string `json:"StreamName,omitempty"`
	StreamARN  *string `json:"StreamARN,omitempty"`
}

type StreamDescriptionSummary struct {
	StreamName              string             `json:"StreamName"`
	StreamARN               string             `json:"StreamARN"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamModeDetails       *StreamModeDetails `json:"StreamModeDetails,omitempty"`
	RetentionPeriodHours    int64              `json:"RetentionPeriodHours"`
	StreamCreationTimestamp Time               `json:"StreamCreationTimestamp"`
	EnhancedMonitoring      []EnhancedMetrics  `json:"EnhancedMonitoring"`
	EncryptionType          string             `json:"EncryptionType,omitempty"`
	KeyId                   *string            `json:"KeyId,omitempty"`
	OpenShardCount          int64              `json:"OpenShardCount"`
	ConsumerCount           int64              `json:"ConsumerCount"`
	ChannelCount            int64              `json:"ChannelCount"`
	MaxRecordSizeInKiB      int64              `json:"MaxRecordSizeInKiB,omitempty"`
	// QueueCount is always 0: Rivulet has no queues.
	QueueCount int64 `json:"QueueCount"`
	// WarmThroughput and RecordDistributionStrategy are reported for
	// ON_DEMAND streams only, as AWS does.
	WarmThroughput             *WarmThroughputObject `json:"WarmThroughput,omitempty"`
	RecordDistributionStrategy string                `json:"RecordDistributionStrategy,omitempty"`
}

type DescribeStreamSummaryOutput struct {
	StreamDescriptionSummary StreamDescriptionSummary `json:"StreamDescriptionSummary"`
}

// ListShards

type ShardFilter struct {
	Type      *string `json:"Type,omitempty"`
	ShardId   *string `json:"ShardId,omitempty"`
	Timestamp *Time   `json:"Timestamp,omitempty"`
}

type ListShardsInput struct {
	StreamName              *string      `json:"StreamName,omitempty"`
	StreamARN               *string      `json:"StreamARN,omitempty"`
	NextToken               *string      `json:"NextToken,omitempty"`
	ExclusiveStartShardId   *string      `json:"ExclusiveStartShardId,omitempty"`
	MaxResults              *int64       `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Time        `json:"StreamCreationTimestamp,omitempty"`
	ShardFilter             *ShardFilter `json:"ShardFilter,omitempty"`
}

type ListShardsOutput struct {
	Shards    []Shard `json:"Shards"`
	NextToken *string `json:"NextToken,omitempty"`
}

// PutRecord

type PutRecordInput struct {
	StreamName                *string `json:"StreamName,omitempty"`
	StreamARN                 *string `json:"StreamARN,omitempty"`
	PartitionKey              *string `json:"PartitionKey,omitempty"`
	Data                      []byte  `json:"Data"`
	ExplicitHashKey           *string `json:"ExplicitHashKey,omitempty"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering,omitempty"`
}

type PutRecordOutput struct {
	ShardId        string `json:"ShardId"`
	SequenceNumber string `json:"SequenceNumber"`
	EncryptionType string `json:"EncryptionType,omitempty"`
}

// PutRecords

type PutRecordsRequestEntry struct {
	Data            []byte  `json:"Data"`
	ExplicitHashKey *string `json:"ExplicitHashKey,omitempty"`
	PartitionKey    *string `json:"PartitionKey,omitempty"`
}

type PutRecordsInput struct {
	StreamName *string                  `json:"StreamName,omitempty"`
	StreamARN  *string                  `json:"StreamARN,omitempty"`
	Records    []PutRecordsRequestEntry `json:"Records"`
}

type PutRecordsResultEntry struct {
	SequenceNumber *string `json:"SequenceNumber,omitempty"`
	ShardId        *string `json:"ShardId,omitempty"`
	ErrorCode      *string `json:"ErrorCode,omitempty"`
	ErrorMessage   *string `json:"ErrorMessage,omitempty"`
}

type PutRecordsOutput struct {
	FailedRecordCount int64                   `json:"FailedRecordCount"`
	Records           []PutRecordsResultEntry `json:"Records"`
	EncryptionType    string                  `json:"EncryptionType,omitempty"`
}

// GetShardIterator

type GetShardIteratorInput struct {
	StreamName             *string `json:"StreamName,omitempty"`
	StreamARN              *string `json:"StreamARN,omitempty"`
	ShardId                *string `json:"ShardId,omitempty"`
	ShardIteratorType      *string `json:"ShardIteratorType,omitempty"`
	StartingSequenceNumber *string `json:"StartingSequenceNumber,omitempty"`
	Timestamp              *Time   `json:"Timestamp,omitempty"`
}

type GetShardIteratorOutput struct {
	ShardIterator string `json:"ShardIterator"`
}

// GetRecords

type GetRecordsInput struct {
	ShardIterator *string `json:"ShardIterator,omitempty"`
	Limit         *int64  `json:"Limit,omitempty"`
	StreamARN     *string `json:"StreamARN,omitempty"`
}

type Record struct {
	SequenceNumber              string  `json:"SequenceNumber"`
	ApproximateArrivalTimestamp Time    `json:"ApproximateArrivalTimestamp"`
	Data                        []byte  `json:"Data"`
	PartitionKey                string  `json:"PartitionKey"`
	EncryptionType              *string `json:"EncryptionType,omitempty"`
}

type GetRecordsOutput struct {
	Records            []Record     `json:"Records"`
	NextShardIterator  *string      `json:"NextShardIterator,omitempty"`
	MillisBehindLatest int64        `json:"MillisBehindLatest"`
	ChildShards        []ChildShard `json:"ChildShards,omitempty"`
}

// Retention

type IncreaseStreamRetentionPeriodInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	RetentionPeriodHours *int64  `json:"RetentionPeriodHours,omitempty"`
}
type IncreaseStreamRetentionPeriodOutput struct{}

type DecreaseStreamRetentionPeriodInput = IncreaseStreamRetentionPeriodInput
type DecreaseStreamRetentionPeriodOutput struct{}

// Stream tags

type AddTagsToStreamInput struct {
	StreamName *string           `json:"StreamName,omitempty"`
	StreamARN  *string           `json:"StreamARN,omitempty"`
	Tags       map[string]string `json:"Tags"`
}
type AddTagsToStreamOutput struct{}

type RemoveTagsFromStreamInput struct {
	StreamName *string  `json:"StreamName,omitempty"`
	StreamARN  *string  `json:"StreamARN,omitempty"`
	TagKeys    []string `json:"TagKeys"`
}
type RemoveTagsFromStreamOutput struct{}

type ListTagsForStreamInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	ExclusiveStartTagKey *string `json:"ExclusiveStartTagKey,omitempty"`
	Limit                *int64  `json:"Limit,omitempty"`
}
type ListTagsForStreamOutput struct {
	Tags        []Tag `json:"Tags"`
	HasMoreTags bool  `json:"HasMoreTags"`
}

// Resource tags (stream or consumer ARNs)

type TagResourceInput struct {
	ResourceARN *string           `json:"ResourceARN,omitempty"`
	Tags        map[string]string `json:"Tags"`
}
type TagResourceOutput struct{}

type UntagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN,omitempty"`
	TagKeys     []string `json:"TagKeys"`
}
type UntagResourceOutput struct{}

type ListTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
}
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"Tags"`
}

// Resource policies (stream or consumer ARNs)

type PutResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
	Policy      *string `json:"Policy,omitempty"`
}
type PutResourcePolicyOutput struct{}

type GetResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
}
type GetResourcePolicyOutput struct {
	Policy string `json:"Policy"`
}

type DeleteResourcePolicyInput struct {
	ResourceARN *string `json:"ResourceARN,omitempty"`
}
type DeleteResourcePolicyOutput struct{}

// DescribeLimits

type DescribeLimitsInput struct{}
type DescribeLimitsOutput struct {
	ShardLimit               int64 `json:"ShardLimit"`
	OpenShardCount           int64 `json:"OpenShardCount"`
	OnDemandStreamCount      int64 `json:"OnDemandStreamCount"`
	OnDemandStreamCountLimit int64 `json:"OnDemandStreamCountLimit"`
}

// UpdateMaxRecordSize

type UpdateMaxRecordSizeInput struct {
	StreamARN          *string `json:"StreamARN,omitempty"`
	MaxRecordSizeInKiB *int64  `json:"MaxRecordSizeInKiB,omitempty"`
}
type UpdateMaxRecordSizeOutput struct{}

// Enhanced monitoring is recorded, not acted on.

type EnableEnhancedMonitoringInput struct {
	StreamName        *string  `json:"StreamName,omitempty"`
	StreamARN         *string  `json:"StreamARN,omitempty"`
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}
type DisableEnhancedMonitoringInput = EnableEnhancedMonitoringInput
type EnhancedMonitoringOutput struct {
	StreamName               string   `json:"StreamName"`
	StreamARN                string   `json:"StreamARN"`
	CurrentShardLevelMetrics []string `json:"CurrentShardLevelMetrics"`
	DesiredShardLevelMetrics []string `json:"DesiredShardLevelMetrics"`
}

// Resharding

type SplitShardInput struct {
	StreamName         *string `json:"StreamName,omitempty"`
	StreamARN          *string `json:"StreamARN,omitempty"`
	ShardToSplit       *string `json:"ShardToSplit,omitempty"`
	NewStartingHashKey *string `json:"NewStartingHashKey,omitempty"`
}
type SplitShardOutput struct{}

type MergeShardsInput struct {
	StreamName           *string `json:"StreamName,omitempty"`
	StreamARN            *string `json:"StreamARN,omitempty"`
	ShardToMerge         *string `json:"ShardToMerge,omitempty"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge,omitempty"`
}
type MergeShardsOutput struct{}

type UpdateShardCountInput struct {
	StreamName       *string `json:"StreamName,omitempty"`
	StreamARN        *string `json:"StreamARN,omitempty"`
	TargetShardCount *int64  `json:"TargetShardCount,omitempty"`
	ScalingType      *string `json:"ScalingType,omitempty"`
}
type UpdateShardCountOutput struct {
	StreamName        string `json:"StreamName"`
	StreamARN         string `json:"StreamARN"`
	CurrentShardCount int64  `json:"CurrentShardCount"`
	TargetShardCount  int64  `json:"TargetShardCount"`
}

type UpdateStreamModeInput struct {
	StreamARN         *string            `json:"StreamARN,omitempty"`
	StreamModeDetails *StreamModeDetails `json:"StreamModeDetails,omitempty"`
}
type UpdateStreamModeOutput struct{}

// Record distribution strategies (UpdateStreamRecordDistributionStrategy).
const (
	DistributionAuto             = "AUTO"
	DistributionUserPartitionKey = "USER_PARTITION_KEY"
)

type UpdateStreamRecordDistributionStrategyInput struct {
	StreamARN                  *string `json:"StreamARN,omitempty"`
	StreamId                   *string `json:"StreamId,omitempty"`
	RecordDistributionStrategy *string `json:"RecordDistributionStrategy,omitempty"`
}
type UpdateStreamRecordDistributionStrategyOutput struct{}

// Warm throughput (UpdateStreamWarmThroughput)

type WarmThroughputObject struct {
	TargetMiBps  *int64 `json:"TargetMiBps,omitempty"`
	CurrentMiBps *int64 `json:"CurrentMiBps,omitempty"`
}

type UpdateStreamWarmThroughputInput struct {
	StreamName          *string `json:"StreamName,omitempty"`
	StreamARN           *string `json:"StreamARN,omitempty"`
	StreamId            *string `json:"StreamId,omitempty"`
	WarmThroughputMiBps *int64  `json:"WarmThroughputMiBps,omitempty"`
}
type UpdateStreamWarmThroughputOutput struct {
	StreamName     string                `json:"StreamName"`
	StreamARN      string                `json:"StreamARN"`
	WarmThroughput *WarmThroughputObject `json:"WarmThroughput,omitempty"`
}

// Account settings (DescribeAccountSettings, UpdateAccountSettings)

// MinimumThroughputBillingCommitment statuses.
const (
	CommitmentEnabled                        = "ENABLED"
	CommitmentDisabled                       = "DISABLED"
	CommitmentEnabledUntilEarliestAllowedEnd = "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
)

type MinimumThroughputBillingCommitmentInput struct {
	Status *string `json:"Status,omitempty"`
}

type MinimumThroughputBillingCommitmentOutput struct {
	Status               string `json:"Status"`
	StartedAt            *Time  `json:"StartedAt,omitempty"`
	EndedAt              *Time  `json:"EndedAt,omitempty"`
	EarliestAllowedEndAt *Time  `json:"EarliestAllowedEndAt,omitempty"`
}

type DescribeAccountSettingsInput struct{}
type DescribeAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

type UpdateAccountSettingsInput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentInput `json:"MinimumThroughputBillingCommitment,omitempty"`
}
type UpdateAccountSettingsOutput struct {
	MinimumThroughputBillingCommitment *MinimumThroughputBillingCommitmentOutput `json:"MinimumThroughputBillingCommitment,omitempty"`
}

// Server-side encryption

type StartStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyId          *string `json:"KeyId,omitempty"`
}
type StartStreamEncryptionOutput struct{}

type StopStreamEncryptionInput struct {
	StreamName     *string `json:"StreamName,omitempty"`
	StreamARN      *string `json:"StreamARN,omitempty"`
	EncryptionType *string `json:"EncryptionType,omitempty"`
	KeyId          *string `json:"KeyId,omitempty"`
}
type StopStreamEncryptionOutput struct{}
