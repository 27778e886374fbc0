package dynamodb

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestExpressionWrites: the 3.x worker-metrics upsert, the leader lock
// and lifion-kinesis's nested maps, in the expression dialect.
func TestExpressionWrites(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.c.CreateTable(ctx, &ddb.CreateTableInput{
		TableName:             aws.String("app-WorkerMetricStats"),
		KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("wid"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions:  []types.AttributeDefinition{{AttributeName: aws.String("wid"), AttributeType: types.ScalarAttributeTypeS}},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(10), WriteCapacityUnits: aws.Int64(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tbl := aws.String("app-WorkerMetricStats")

	// Upsert with ALL_NEW.
	out, err := e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:        tbl,
		Key:              map[string]types.AttributeValue{"wid": s("w1")},
		UpdateExpression: aws.String("SET #AMZN_MAPPED_lut = :AMZN_MAPPED_lut, #AMZN_MAPPED_sts = :AMZN_MAPPED_sts"),
		ExpressionAttributeNames: map[string]string{
			"#AMZN_MAPPED_lut": "lut", "#AMZN_MAPPED_sts": "sts",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":AMZN_MAPPED_lut": n("1700000000"),
			":AMZN_MAPPED_sts": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"CPU": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("10.5"), n("20")}},
			}},
		},
		ReturnValues:           types.ReturnValueAllNew,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Fatal(err)
	}
	if attrS(t, out.Attributes, "wid") != "w1" || attrS(t, out.Attributes, "lut") != "1700000000" || len(out.Attributes) != 3 {
		t.Fatalf("upsert ALL_NEW: %v", out.Attributes)
	}
	if out.ConsumedCapacity == nil || aws.ToFloat64(out.ConsumedCapacity.CapacityUnits) < 1 ||
		aws.ToString(out.ConsumedCapacity.TableName) != "app-WorkerMetricStats" {
		t.Fatalf("consumed capacity: %+v", out.ConsumedCapacity)
	}

	// UPDATED_OLD and UPDATED_NEW name only what changed.
	out, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("w1")},
		UpdateExpression:          aws.String("SET lut = lut + :d REMOVE sts"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": n("30")},
		ReturnValues:              types.ReturnValueUpdatedOld,
	})
	if err != nil || len(out.Attributes) != 2 || attrS(t, out.Attributes, "lut") != "1700000000" {
		t.Fatalf("UPDATED_OLD: %v %v", out.Attributes, err)
	}
	out, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("w1")},
		UpdateExpression:          aws.String("SET lut = if_not_exists(lut, :z), h = list_append(if_not_exists(h, :e), :one)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":z": n("0"), ":e": &types.AttributeValueMemberL{}, ":one": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil || len(out.Attributes) != 2 || attrS(t, out.Attributes, "lut") != "1700000030" {
		t.Fatalf("UPDATED_NEW: %v %v", out.Attributes, err)
	}

	// Leader lock.
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{
		TableName: tbl, Item: map[string]types.AttributeValue{"wid": s("Leader"), "recordVersionNumber": s("r1")},
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": "wid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{
		TableName: tbl, Item: map[string]types.AttributeValue{"wid": s("Leader"), "recordVersionNumber": s("r1")},
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": "wid"},
	})
	apiErr(t, err, "ConditionalCheckFailedException", "The conditional request failed")
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("Leader")},
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #rvn = :rvn"),
		UpdateExpression:          aws.String("SET #ld = :ld, #rvn = :newRvn"),
		ExpressionAttributeNames:  map[string]string{"#pk": "wid", "#rvn": "recordVersionNumber", "#ld": "leaseDuration"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rvn": s("r1"), ":newRvn": s("r2"), ":ld": s("20000")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("Leader")},
		ConditionExpression:                 aws.String("#rvn = :rvn"),
		ExpressionAttributeNames:            map[string]string{"#rvn": "recordVersionNumber"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":rvn": s("r1")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if !asErr(err, &ccf) || attrS(t, ccf.Item, "recordVersionNumber") != "r2" {
		t.Fatalf("delete with stale rvn: %v", err)
	}
	del, err := e.c.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("Leader")},
		ConditionExpression:       aws.String("#rvn = :rvn"),
		ExpressionAttributeNames:  map[string]string{"#rvn": "recordVersionNumber"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rvn": s("r2")},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err != nil || attrS(t, del.Attributes, "recordVersionNumber") != "r2" {
		t.Fatalf("delete: %v %v", del, err)
	}

	// Nested maps.
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("group")},
		UpdateExpression:          aws.String("SET #a = :empty"),
		ExpressionAttributeNames:  map[string]string{"#a": "shards"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("group")},
		UpdateExpression:          aws.String("SET #a.#b = :v"),
		ConditionExpression:       aws.String("attribute_not_exists(#a.#b)"),
		ExpressionAttributeNames:  map[string]string{"#a": "shards", "#b": "shard-1"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"owner": s("c1")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.c.GetItem(ctx, &ddb.GetItemInput{TableName: tbl, Key: map[string]types.AttributeValue{"wid": s("group")},
		ProjectionExpression: aws.String("#a.#b.#c"), ExpressionAttributeNames: map[string]string{"#a": "shards", "#b": "shard-1", "#c": "owner"}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := g.Item["shards"].(*types.AttributeValueMemberM)
	if m == nil || len(g.Item) != 1 {
		t.Fatalf("nested projection: %v", g.Item)
	}
}

func asErr[T error](err error, target *T) bool {
	if err == nil {
		return false
	}
	return errorsAs(err, target)
}

// TestItemErrors: DynamoDB's answers to bad item requests.
func TestItemErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createLeaseTable(t, "app")
	key := map[string]types.AttributeValue{"leaseKey": s("k")}

	_, err := e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("nope"), Key: key})
	apiErr(t, err, "ResourceNotFoundException", "Requested resource not found")
	_, err = e.c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Requested resource not found: Table: nope not found")
	_, err = e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"), Key: map[string]types.AttributeValue{"leaseKey": n("1")}})
	apiErr(t, err, "ValidationException", "The provided key element does not match the schema")
	_, err = e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"), Key: map[string]types.AttributeValue{"leaseKey": s("k"), "x": s("y")}})
	apiErr(t, err, "ValidationException", "The provided key element does not match the schema")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: map[string]types.AttributeValue{"x": s("y")}})
	apiErr(t, err, "ValidationException", "One or more parameter values were invalid: Missing the key leaseKey in the item")
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: aws.String("app"), Key: key,
		UpdateExpression: aws.String("SET leaseKey = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("z")}})
	apiErr(t, err, "ValidationException", "One or more parameter values were invalid: Cannot update attribute leaseKey. This attribute is part of the key")
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: aws.String("app"), Key: key,
		AttributeUpdates: map[string]types.AttributeValueUpdate{"leaseKey": {Value: s("z")}}})
	apiErr(t, err, "ValidationException", "One or more parameter values were invalid: Cannot update attribute leaseKey. This attribute is part of the key")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: key,
		Expected:            map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}},
		ConditionExpression: aws.String("attribute_not_exists(leaseKey)")})
	apiErr(t, err, "ValidationException", "Can not use both expression and non-expression parameters in the same request: "+
		"Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: key,
		ConditionExpression:       aws.String("attribute_not_exists(leaseKey)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("1")}})
	apiErr(t, err, "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: key,
		ConditionExpression: aws.String("leaseOwner = :x")})
	apiErr(t, err, "ValidationException", "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: key, ReturnValues: types.ReturnValueAllNew})
	apiErr(t, err, "ValidationException", "ReturnValues can only be ALL_OLD or NONE")
	big := strings.Repeat("x", 400*1024)
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: map[string]types.AttributeValue{"leaseKey": s("k"), "b": s(big)}})
	apiErr(t, err, "ValidationException", "Item size has exceeded the maximum allowed size")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("ab"), Item: key})
	apiErr(t, err, "ValidationException", "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: "+
		"Member must have length greater than or equal to 3")
	_, err = e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("a;"), Item: key, ReturnValues: "BAD"})
	apiErr(t, err, "ValidationException", "3 validation errors detected: "+
		"Value 'a;' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "+
		"Value 'a;' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; "+
		"Value 'BAD' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")
}

// TestTableErrors: the table operations' answers.
func TestTableErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createLeaseTable(t, "app")
	_, err := e.c.CreateTable(ctx, &ddb.CreateTableInput{
		TableName:            aws.String("app"),
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: types.ScalarAttributeTypeS}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	apiErr(t, err, "ResourceInUseException", "Table already exists: app")
	_, err = e.c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "Requested resource not found: Table: nope not found")

	// Deletion protection.
	if _, err := e.c.UpdateTable(ctx, &ddb.UpdateTableInput{TableName: aws.String("app"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String("app")})
	apiErr(t, err, "ValidationException", "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	if _, err := e.c.UpdateTable(ctx, &ddb.UpdateTableInput{TableName: aws.String("app"), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: map[string]types.AttributeValue{"leaseKey": s("k")}}); err != nil {
		t.Fatal(err)
	}
	d, err := e.c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String("app")})
	if err != nil || d.TableDescription.TableStatus != types.TableStatusDeleting || aws.ToInt64(d.TableDescription.ItemCount) != 1 {
		t.Fatalf("delete: %+v %v", d, err)
	}
	// A table made again under the name starts empty.
	e.createLeaseTable(t, "app")
	sc, err := e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app")})
	if err != nil || sc.Count != 0 {
		t.Fatalf("scan of recreated table: %+v %v", sc, err)
	}

	// ListTables pages.
	for _, name := range []string{"bbb", "ccc", "ddd"} {
		e.createLeaseTable(t, name)
	}
	l, err := e.c.ListTables(ctx, &ddb.ListTablesInput{Limit: aws.Int32(2)})
	if err != nil || strings.Join(l.TableNames, ",") != "app,bbb" || aws.ToString(l.LastEvaluatedTableName) != "bbb" {
		t.Fatalf("list: %+v %v", l, err)
	}
	l, err = e.c.ListTables(ctx, &ddb.ListTablesInput{ExclusiveStartTableName: aws.String("bbb")})
	if err != nil || strings.Join(l.TableNames, ",") != "ccc,ddd" || l.LastEvaluatedTableName != nil {
		t.Fatalf("list from bbb: %+v %v", l, err)
	}

	// Tags.
	arn := "arn:aws:dynamodb:eu-west-1:000000000000:table/bbb"
	if _, err := e.c.TagResource(ctx, &ddb.TagResourceInput{ResourceArn: aws.String(arn),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UntagResource(ctx, &ddb.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"app"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.c.ListTagsOfResource(ctx, &ddb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	_, err = e.c.ListTagsOfResource(ctx, &ddb.ListTagsOfResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:eu-west-1:000000000000:table/zzz")})
	apiErr(t, err, "ResourceNotFoundException", "")

	// Backups and TTL.
	b, err := e.c.UpdateContinuousBackups(ctx, &ddb.UpdateContinuousBackupsInput{TableName: aws.String("bbb"),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	if err != nil || b.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled {
		t.Fatalf("backups: %+v %v", b, err)
	}
	db, err := e.c.DescribeContinuousBackups(ctx, &ddb.DescribeContinuousBackupsInput{TableName: aws.String("bbb")})
	if err != nil || db.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled {
		t.Fatalf("describe backups: %+v %v", db, err)
	}
	ttl, err := e.c.DescribeTimeToLive(ctx, &ddb.DescribeTimeToLiveInput{TableName: aws.String("bbb")})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Fatalf("ttl: %+v %v", ttl, err)
	}
	if _, err := e.c.DescribeLimits(ctx, &ddb.DescribeLimitsInput{}); err != nil {
		t.Fatal(err)
	}
}
