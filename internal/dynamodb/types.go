package dynamodb

import (
	"encoding/json"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// rawItem is an item or key as it arrives: attribute values stay raw
// until validation reaches them, so errors come in DynamoDB's order.
type rawItem map[string]json.RawMessage

// Wire shapes, named as in the DynamoDB API. Inputs use pointers where
// "absent" differs from the zero value.

type KeySchemaElement struct {
	AttributeName *string `json:"AttributeName,omitempty"`
	KeyType       *string `json:"KeyType,omitempty"`
}

type AttributeDefinition struct {
	AttributeName *string `json:"AttributeName,omitempty"`
	AttributeType *string `json:"AttributeType,omitempty"`
}

type ProvisionedThroughput struct {
	ReadCapacityUnits  *int64 `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits *int64 `json:"WriteCapacityUnits,omitempty"`
}

type Projection struct {
	ProjectionType   *string  `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

type SecondaryIndex struct {
	IndexName             *string                `json:"IndexName,omitempty"`
	KeySchema             []KeySchemaElement     `json:"KeySchema,omitempty"`
	Projection            *Projection            `json:"Projection,omitempty"`
	ProvisionedThroughput *ProvisionedThroughput `json:"ProvisionedThroughput,omitempty"`
	OnDemandThroughput    json.RawMessage        `json:"OnDemandThroughput,omitempty"`
	WarmThroughput        json.RawMessage        `json:"WarmThroughput,omitempty"`
}

type Tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type SSESpecification struct {
	Enabled        *bool   `json:"Enabled,omitempty"`
	SSEType        *string `json:"SSEType,omitempty"`
	KMSMasterKeyId *string `json:"KMSMasterKeyId,omitempty"`
}

type StreamSpecification struct {
	StreamEnabled  *bool   `json:"StreamEnabled,omitempty"`
	StreamViewType *string `json:"StreamViewType,omitempty"`
}

type CreateTableInput struct {
	TableName                 *string               `json:"TableName"`
	AttributeDefinitions      []AttributeDefinition `json:"AttributeDefinitions"`
	KeySchema                 []KeySchemaElement    `json:"KeySchema"`
	BillingMode               *string               `json:"BillingMode"`
	ProvisionedThroughput     *ProvisionedThroughput
	GlobalSecondaryIndexes    []SecondaryIndex
	LocalSecondaryIndexes     []SecondaryIndex
	SSESpecification          *SSESpecification
	StreamSpecification       *StreamSpecification
	DeletionProtectionEnabled *bool
	Tags                      []Tag
	TableClass                *string
	OnDemandThroughput        json.RawMessage
	WarmThroughput            json.RawMessage
	ResourcePolicy            *string
}

type TableNameInput struct {
	TableName *string `json:"TableName"`
}

type ListTablesInput struct {
	ExclusiveStartTableName *string
	Limit                   *int64
}

type ListTablesOutput struct {
	TableNames             []string `json:"TableNames"`
	LastEvaluatedTableName *string  `json:"LastEvaluatedTableName,omitempty"`
}

type GSIUpdate struct {
	Create *SecondaryIndex `json:"Create"`
	Update *SecondaryIndex `json:"Update"`
	Delete *SecondaryIndex `json:"Delete"`
}

type UpdateTableInput struct {
	TableName                   *string
	AttributeDefinitions        []AttributeDefinition
	BillingMode                 *string
	ProvisionedThroughput       *ProvisionedThroughput
	GlobalSecondaryIndexUpdates []GSIUpdate
	DeletionProtectionEnabled   *bool
	SSESpecification            *SSESpecification
	StreamSpecification         *StreamSpecification
	TableClass                  *string
	OnDemandThroughput          json.RawMessage
	WarmThroughput              json.RawMessage
	ReplicaUpdates              json.RawMessage
}

type ExpectedRaw struct {
	Value              json.RawMessage   `json:"Value"`
	Exists             *bool             `json:"Exists"`
	ComparisonOperator *string           `json:"ComparisonOperator"`
	AttributeValueList []json.RawMessage `json:"AttributeValueList"`
}

type AttributeUpdateRaw struct {
	Value  json.RawMessage `json:"Value"`
	Action *string         `json:"Action"`
}

type CondRaw struct {
	ComparisonOperator *string           `json:"ComparisonOperator"`
	AttributeValueList []json.RawMessage `json:"AttributeValueList"`
}

// exprParams are the parameters every item operation may carry.
type exprParams struct {
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues rawItem
	ConditionalOperator       *string
	ReturnConsumedCapacity    *string
}

type GetItemInput struct {
	TableName                *string
	Key                      rawItem
	ConsistentRead           *bool
	AttributesToGet          []string
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
	ReturnConsumedCapacity   *string
}

type PutItemInput struct {
	TableName                           *string
	Item                                rawItem
	Expected                            map[string]ExpectedRaw
	ConditionExpression                 *string
	ReturnValues                        *string
	ReturnValuesOnConditionCheckFailure *string
	ReturnItemCollectionMetrics         *string
	exprParams
}

type DeleteItemInput struct {
	TableName                           *string
	Key                                 rawItem
	Expected                            map[string]ExpectedRaw
	ConditionExpression                 *string
	ReturnValues                        *string
	ReturnValuesOnConditionCheckFailure *string
	ReturnItemCollectionMetrics         *string
	exprParams
}

type UpdateItemInput struct {
	TableName                           *string
	Key                                 rawItem
	AttributeUpdates                    map[string]AttributeUpdateRaw
	UpdateExpression                    *string
	Expected                            map[string]ExpectedRaw
	ConditionExpression                 *string
	ReturnValues                        *string
	ReturnValuesOnConditionCheckFailure *string
	ReturnItemCollectionMetrics         *string
	exprParams
}

type ScanInput struct {
	TableName              *string
	IndexName              *string
	Limit                  *int64
	ExclusiveStartKey      rawItem
	Select                 *string
	AttributesToGet        []string
	ProjectionExpression   *string
	FilterExpression       *string
	ScanFilter             map[string]CondRaw
	Segment                *int64
	TotalSegments          *int64
	ConsistentRead         *bool
	ScanIndexForward       *bool // Query only
	KeyConditionExpression *string
	KeyConditions          map[string]CondRaw
	QueryFilter            map[string]CondRaw
	exprParams
}

type ConsumedCapacity struct {
	TableName              string              `json:"TableName"`
	CapacityUnits          float64             `json:"CapacityUnits"`
	ReadCapacityUnits      *float64            `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits     *float64            `json:"WriteCapacityUnits,omitempty"`
	Table                  *Capacity           `json:"Table,omitempty"`
	GlobalSecondaryIndexes map[string]Capacity `json:"GlobalSecondaryIndexes,omitempty"`
}

type Capacity struct {
	CapacityUnits float64 `json:"CapacityUnits"`
}

type ItemOutput struct {
	Item             item.Item         `json:"Item,omitzero"`
	Attributes       item.Item         `json:"Attributes,omitzero"`
	ConsumedCapacity *ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}

type ScanOutput struct {
	Items            []item.Item       `json:"Items,omitzero"` // nil for Select=COUNT
	Count            int               `json:"Count"`
	ScannedCount     int               `json:"ScannedCount"`
	LastEvaluatedKey item.Item         `json:"LastEvaluatedKey,omitzero"`
	ConsumedCapacity *ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}

type KeysAndAttributes struct {
	Keys                     []rawItem
	AttributesToGet          []string
	ConsistentRead           *bool
	ProjectionExpression     *string
	ExpressionAttributeNames map[string]string
}

type BatchGetItemInput struct {
	RequestItems           map[string]KeysAndAttributes
	ReturnConsumedCapacity *string
}

type BatchGetItemOutput struct {
	Responses        map[string][]item.Item `json:"Responses"`
	UnprocessedKeys  map[string]any         `json:"UnprocessedKeys"`
	ConsumedCapacity []ConsumedCapacity     `json:"ConsumedCapacity,omitempty"`
}

type WriteRequest struct {
	PutRequest    *struct{ Item rawItem } `json:"PutRequest"`
	DeleteRequest *struct{ Key rawItem }  `json:"DeleteRequest"`
}

type BatchWriteItemInput struct {
	RequestItems                map[string][]WriteRequest
	ReturnConsumedCapacity      *string
	ReturnItemCollectionMetrics *string
}

type BatchWriteItemOutput struct {
	UnprocessedItems map[string]any     `json:"UnprocessedItems"`
	ConsumedCapacity []ConsumedCapacity `json:"ConsumedCapacity,omitempty"`
}

type TagResourceInput struct {
	ResourceArn *string
	Tags        []Tag
	TagKeys     []string
	NextToken   *string
}

type ContinuousBackupsInput struct {
	TableName                        *string
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled *bool
		RecoveryPeriodInDays       *int64
	}
}
