package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func attrS(t *testing.T, it map[string]types.AttributeValue, name string) string {
	t.Helper()
	switch v := it[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case nil:
		return "<absent>"
	}
	return fmt.Sprintf("%T", it[name])
}

// TestKCLLeaseLifecycle replays the calls the KCL makes on its lease
// table, in its legacy dialect (Expected + AttributeUpdates).
func TestKCLLeaseLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createLeaseTable(t, "app")

	d, err := e.c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	tb := d.Table
	if tb.TableStatus != types.TableStatusActive || aws.ToString(tb.TableArn) != "arn:aws:dynamodb:eu-west-1:000000000000:table/app" ||
		tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest ||
		tb.ProvisionedThroughput == nil || aws.ToInt64(tb.ProvisionedThroughput.NumberOfDecreasesToday) != 0 ||
		aws.ToString(tb.TableId) == "" || !tb.CreationDateTime.Equal(fixedNow) || aws.ToBool(tb.DeletionProtectionEnabled) {
		t.Fatalf("describe: %+v", tb)
	}

	// create: the lease must not exist yet.
	create := func() error {
		_, err := e.c.PutItem(ctx, &ddb.PutItemInput{
			TableName: aws.String("app"),
			Item: map[string]types.AttributeValue{
				"leaseKey": s("shardId-000000000000"), "leaseCounter": n("0"), "checkpoint": s("TRIM_HORIZON"),
				"checkpointSubSequenceNumber": n("0"), "ownerSwitchesSinceCheckpoint": n("0"),
			},
			Expected: map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}},
		})
		return err
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	apiErr(t, create(), "ConditionalCheckFailedException", "The conditional request failed")

	// take: counter N -> owner, N+1, ADD ownerSwitchesSinceCheckpoint.
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String("app"),
		Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
		Expected:  map[string]types.ExpectedAttributeValue{"leaseCounter": {Value: n("0")}},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseOwner":                   {Value: s("w1"), Action: types.AttributeActionPut},
			"leaseCounter":                 {Value: n("1"), Action: types.AttributeActionPut},
			"ownerSwitchesSinceCheckpoint": {Value: n("1"), Action: types.AttributeActionAdd},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// renew: counter N -> N+1; a stale counter fails.
	renew := func(counter string, ret types.ReturnValuesOnConditionCheckFailure) error {
		next := fmt.Sprint(atoi(counter) + 1)
		_, err := e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName: aws.String("app"),
			Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
			Expected: map[string]types.ExpectedAttributeValue{
				"leaseCounter": {Value: n(counter)}, "checkpointOwner": {Exists: aws.Bool(false)},
			},
			AttributeUpdates: map[string]types.AttributeValueUpdate{
				"leaseCounter":   {Value: n(next), Action: types.AttributeActionPut},
				"throughputKBps": {Value: n("1.5"), Action: types.AttributeActionPut},
			},
			ReturnValuesOnConditionCheckFailure: ret,
		})
		return err
	}
	if err := renew("1", ""); err != nil {
		t.Fatal(err)
	}
	apiErr(t, renew("1", ""), "ConditionalCheckFailedException", "The conditional request failed")
	// 3.x asks for the old item on failure.
	err = renew("1", types.ReturnValuesOnConditionCheckFailureAllOld)
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || attrS(t, ccf.Item, "leaseCounter") != "2" || attrS(t, ccf.Item, "leaseOwner") != "w1" {
		t.Fatalf("CCF with ALL_OLD: %v, item %v", err, ccf)
	}

	// checkpoint: counter N -> N+1 with the checkpoint; DELETE pending.
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String("app"),
		Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
		Expected:  map[string]types.ExpectedAttributeValue{"leaseCounter": {Value: n("2")}},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseCounter":                       {Value: n("3"), Action: types.AttributeActionPut},
			"checkpoint":                         {Value: s("49590338271490256608559692538361571095921575989136588898"), Action: types.AttributeActionPut},
			"checkpointSubSequenceNumber":        {Value: n("0"), Action: types.AttributeActionPut},
			"ownerSwitchesSinceCheckpoint":       {Value: n("0"), Action: types.AttributeActionPut},
			"pendingCheckpoint":                  {Action: types.AttributeActionDelete},
			"pendingCheckpointSubSequenceNumber": {Action: types.AttributeActionDelete},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// 2.x evict: owner = self -> DELETE owner, PUT N+1.
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String("app"),
		Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
		Expected:  map[string]types.ExpectedAttributeValue{"leaseOwner": {Value: s("w1")}},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseOwner":   {Action: types.AttributeActionDelete},
			"leaseCounter": {Value: n("4"), Action: types.AttributeActionPut},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// 3.x assign: owner absent + key exists -> PUT owner, ADD counter, ALL_NEW.
	out, err := e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String("app"),
		Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
		Expected: map[string]types.ExpectedAttributeValue{
			"leaseOwner": {Exists: aws.Bool(false)}, "leaseKey": {Value: s("shardId-000000000000")},
		},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseOwner":      {Value: s("w2"), Action: types.AttributeActionPut},
			"checkpointOwner": {Action: types.AttributeActionDelete},
			"leaseCounter":    {Value: n("1"), Action: types.AttributeActionAdd},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Attributes
	if attrS(t, a, "leaseOwner") != "w2" || attrS(t, a, "leaseCounter") != "5" ||
		attrS(t, a, "ownerSwitchesSinceCheckpoint") != "0" || attrS(t, a, "pendingCheckpoint") != "<absent>" ||
		attrS(t, a, "throughputKBps") != "1.5" || attrS(t, a, "checkpointSubSequenceNumber") != "0" {
		t.Fatalf("ALL_NEW: %v", a)
	}

	// read: GetItem sees the same.
	g, err := e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"),
		Key: map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")}, ConsistentRead: aws.Bool(true)})
	if err != nil || attrS(t, g.Item, "leaseCounter") != "5" || len(g.Item) != len(a) {
		t.Fatalf("get: %v %v", g, err)
	}

	// SHARD_END: key exists -> PUT childShardIds.
	_, err = e.c.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String("app"),
		Key:       map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")},
		Expected:  map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(true), Value: s("shardId-000000000000")}},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"childShardIds": {Value: &types.AttributeValueMemberSS{Value: []string{"shardId-000000000001", "shardId-000000000002"}}, Action: types.AttributeActionPut},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// delete: no condition.
	if _, err := e.c.DeleteItem(ctx, &ddb.DeleteItemInput{TableName: aws.String("app"),
		Key: map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")}}); err != nil {
		t.Fatal(err)
	}
	g, err = e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"),
		Key: map[string]types.AttributeValue{"leaseKey": s("shardId-000000000000")}})
	if err != nil || g.Item != nil {
		t.Fatalf("get after delete: %v %v", g.Item, err)
	}
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

// TestKCLScanAndGSI: the 2.x paginated Scan, the 3.x parallel Scan and
// the 3.x GSI on leaseOwner, added by UpdateTable.
func TestKCLScanAndGSI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createLeaseTable(t, "app")

	// The empty check: Limit=1 on an empty table.
	sc, err := e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app"), Limit: aws.Int32(1)})
	if err != nil || len(sc.Items) != 0 || sc.LastEvaluatedKey != nil {
		t.Fatalf("empty scan: %+v %v", sc, err)
	}
	var want []string
	for i := range 7 {
		k := fmt.Sprintf("shardId-%012d", i)
		want = append(want, k)
		it := map[string]types.AttributeValue{"leaseKey": s(k), "leaseCounter": n("0"), "streamName": s("s1")}
		if i%2 == 0 {
			it["leaseOwner"] = s("w1")
		} else if i != 5 {
			it["leaseOwner"] = s("w2")
		}
		if _, err := e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	var start map[string]types.AttributeValue
	for {
		sc, err := e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app"), Limit: aws.Int32(3), ExclusiveStartKey: start,
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range sc.Items {
			got = append(got, attrS(t, it, "leaseKey"))
		}
		if sc.LastEvaluatedKey == nil {
			break
		}
		start = sc.LastEvaluatedKey
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("paginated scan: %d pages, %v", pages, got)
	}

	// Segments partition the table.
	got = nil
	for seg := range int32(3) {
		sc, err := e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app"), Segment: aws.Int32(seg), TotalSegments: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range sc.Items {
			got = append(got, attrS(t, it, "leaseKey"))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("segmented scan: %v", got)
	}

	// Multi-stream filter; Limit counts before the filter.
	sc, err = e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app"), FilterExpression: aws.String("streamName = :streamName"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":streamName": s("s1")}, Limit: aws.Int32(4)})
	if err != nil || sc.Count != 4 || sc.ScannedCount != 4 || sc.LastEvaluatedKey == nil {
		t.Fatalf("filtered scan: %+v %v", sc, err)
	}
	sc, err = e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("app"), FilterExpression: aws.String("leaseOwner = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("w2")}, Select: types.SelectCount})
	if err != nil || sc.Count != 2 || sc.ScannedCount != 7 || sc.Items != nil {
		t.Fatalf("count scan: %+v %v", sc, err)
	}

	// The 3.x GSI.
	_, err = e.c.UpdateTable(ctx, &ddb.UpdateTableInput{
		TableName: aws.String("app"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("leaseOwner"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("leaseKey"), AttributeType: types.ScalarAttributeTypeS},
		},
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
			IndexName: aws.String("LeaseOwnerToLeaseKeyIndex"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("leaseOwner"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("leaseKey"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Table.GlobalSecondaryIndexes) != 1 || d.Table.GlobalSecondaryIndexes[0].IndexStatus != types.IndexStatusActive ||
		aws.ToString(d.Table.GlobalSecondaryIndexes[0].IndexArn) != "arn:aws:dynamodb:eu-west-1:000000000000:table/app/index/LeaseOwnerToLeaseKeyIndex" ||
		aws.ToInt64(d.Table.ItemCount) != 7 || aws.ToInt64(d.Table.GlobalSecondaryIndexes[0].ItemCount) != 6 {
		t.Fatalf("describe with GSI: %+v", d.Table)
	}
	q, err := e.c.Query(ctx, &ddb.QueryInput{
		TableName: aws.String("app"), IndexName: aws.String("LeaseOwnerToLeaseKeyIndex"),
		KeyConditionExpression:    aws.String("leaseOwner = :leaseOwner"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":leaseOwner": s("w1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, it := range q.Items {
		if len(it) != 2 || attrS(t, it, "leaseOwner") != "w1" {
			t.Fatalf("KEYS_ONLY item: %v", it)
		}
		got = append(got, attrS(t, it, "leaseKey"))
	}
	if !slices.Equal(got, []string{want[0], want[2], want[4], want[6]}) {
		t.Fatalf("GSI query: %v", got)
	}
	// Paginated and backwards.
	got = nil
	start = nil
	for {
		q, err := e.c.Query(ctx, &ddb.QueryInput{
			TableName: aws.String("app"), IndexName: aws.String("LeaseOwnerToLeaseKeyIndex"),
			KeyConditionExpression:    aws.String("leaseOwner = :o"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("w1")},
			Limit:                     aws.Int32(3), ScanIndexForward: aws.Bool(false), ExclusiveStartKey: start,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q.Items {
			got = append(got, attrS(t, it, "leaseKey"))
		}
		if q.LastEvaluatedKey == nil {
			break
		}
		if len(q.LastEvaluatedKey) != 2 {
			t.Fatalf("GSI LastEvaluatedKey: %v", q.LastEvaluatedKey)
		}
		start = q.LastEvaluatedKey
	}
	if !slices.Equal(got, []string{want[6], want[4], want[2], want[0]}) {
		t.Fatalf("paged reverse GSI query: %v", got)
	}
	_, err = e.c.Query(ctx, &ddb.QueryInput{
		TableName: aws.String("app"), IndexName: aws.String("LeaseOwnerToLeaseKeyIndex"), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("leaseOwner = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": s("w1")},
	})
	apiErr(t, err, "ValidationException", "Consistent reads are not supported on global secondary indexes")
}
