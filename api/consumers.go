package api

// Enhanced fan-out: stream consumers and SubscribeToShard.

// Consumer is what RegisterStreamConsumer and ListStreamConsumers return.
type Consumer struct {
	ConsumerName              string `json:"ConsumerName"`
	ConsumerARN               string `json:"ConsumerARN"`
	ConsumerStatus            string `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Time   `json:"ConsumerCreationTimestamp"`
}

// ConsumerDescription is what DescribeStreamConsumer returns.
type ConsumerDescription struct {
	ConsumerName              string `json:"ConsumerName"`
	ConsumerARN               string `json:"ConsumerARN"`
	ConsumerStatus            string `json:"ConsumerStatus"`
	ConsumerCreationTimestamp Time   `json:"ConsumerCreationTimestamp"`
	StreamARN                 string `json:"StreamARN"`
}

// RegisterStreamConsumer

type RegisterStreamConsumerInput struct {
	StreamARN    *string           `json:"StreamARN,omitempty"`
	ConsumerName *string           `json:"ConsumerName,omitempty"`
	Tags         map[string]string `json:"Tags,omitempty"`
}
type RegisterStreamConsumerOutput struct {
	Consumer Consumer `json:"Consumer"`
}

// DescribeStreamConsumer and DeregisterStreamConsumer name a consumer by
// ConsumerARN, or by StreamARN plus ConsumerName.

type DescribeStreamConsumerInput struct {
	StreamARN    *string `json:"StreamARN,omitempty"`
	ConsumerName *string `json:"ConsumerName,omitempty"`
	ConsumerARN  *string `json:"ConsumerARN,omitempty"`
}
type DescribeStreamConsumerOutput struct {
	ConsumerDescription ConsumerDescription `json:"ConsumerDescription"`
}

type DeregisterStreamConsumerInput = DescribeStreamConsumerInput
type DeregisterStreamConsumerOutput struct{}

// ListStreamConsumers

type ListStreamConsumersInput struct {
	StreamARN               *string `json:"StreamARN,omitempty"`
	NextToken               *string `json:"NextToken,omitempty"`
	MaxResults              *int64  `json:"MaxResults,omitempty"`
	StreamCreationTimestamp *Time   `json:"StreamCreationTimestamp,omitempty"`
}
type ListStreamConsumersOutput struct {
	Consumers []Consumer `json:"Consumers"`
	NextToken *string    `json:"NextToken,omitempty"`
}

// SubscribeToShard

type StartingPosition struct {
	Type           *string `json:"Type,omitempty"`
	SequenceNumber *string `json:"SequenceNumber,omitempty"`
	Timestamp      *Time   `json:"Timestamp,omitempty"`
}

type SubscribeToShardInput struct {
	ConsumerARN      *string           `json:"ConsumerARN,omitempty"`
	ShardId          *string           `json:"ShardId,omitempty"`
	StartingPosition *StartingPosition `json:"StartingPosition,omitempty"`
}

// SubscribeToShardEvent is one event of a subscription's stream. The last
// event of a closed shard has ChildShards and no ContinuationSequenceNumber.
type SubscribeToShardEvent struct {
	Records                    []Record     `json:"Records"`
	ContinuationSequenceNumber *string      `json:"ContinuationSequenceNumber,omitempty"`
	MillisBehindLatest         int64        `json:"MillisBehindLatest"`
	ChildShards                []ChildShard `json:"ChildShards,omitempty"`
}
