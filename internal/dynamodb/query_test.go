package dynamodb

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestQueryRangeKeys: a hash+range table, in both dialects, ordered by
// number, paged both ways; batches.
func TestQueryRangeKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.c.CreateTable(ctx, &ddb.CreateTableInput{
		TableName: aws.String("state"),
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("consumerGroup"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("seq"), KeyType: types.KeyTypeRange}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("consumerGroup"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("seq"), AttributeType: types.ScalarAttributeTypeN}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	var puts []types.WriteRequest
	for _, v := range []string{"10", "9", "-1", "100", "2.5"} {
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"consumerGroup": s("g"), "seq": n(v), "v": s("x" + v)}}})
	}
	puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
		"consumerGroup": s("h"), "seq": n("1")}}})
	if _, err := e.c.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"state": puts}}); err != nil {
		t.Fatal(err)
	}
	query := func(in *ddb.QueryInput) []string {
		t.Helper()
		var got []string
		for {
			q, err := e.c.Query(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range q.Items {
				got = append(got, attrS(t, it, "seq"))
			}
			if q.LastEvaluatedKey == nil {
				return got
			}
			in.ExclusiveStartKey = q.LastEvaluatedKey
		}
	}
	got := query(&ddb.QueryInput{TableName: aws.String("state"), KeyConditionExpression: aws.String("consumerGroup = :g"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":g": s("g")}, Limit: aws.Int32(2)})
	if !slices.Equal(got, []string{"-1", "2.5", "9", "10", "100"}) {
		t.Fatalf("forward: %v", got)
	}
	got = query(&ddb.QueryInput{TableName: aws.String("state"),
		KeyConditions: map[string]types.Condition{
			"consumerGroup": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("g")}},
			"seq":           {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("0"), n("50")}},
		}, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1)})
	if !slices.Equal(got, []string{"10", "9", "2.5"}) {
		t.Fatalf("backward between: %v", got)
	}

	b, err := e.c.BatchGetItem(ctx, &ddb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"state": {
		Keys: []map[string]types.AttributeValue{
			{"consumerGroup": s("g"), "seq": n("10")}, {"consumerGroup": s("g"), "seq": n("11")}, {"consumerGroup": s("h"), "seq": n("1.0")}},
		ProjectionExpression: aws.String("seq"),
	}}})
	if err != nil || len(b.Responses["state"]) != 2 || len(b.UnprocessedKeys) != 0 {
		t.Fatalf("batch get: %+v %v", b, err)
	}
	for _, it := range b.Responses["state"] {
		if len(it) != 1 {
			t.Fatalf("projected batch item: %v", it)
		}
	}
	if _, err := e.c.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"state": {
		{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{"consumerGroup": s("g"), "seq": n("100")}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	sc, err := e.c.Scan(ctx, &ddb.ScanInput{TableName: aws.String("state"), Select: types.SelectCount})
	if err != nil || sc.Count != 5 {
		t.Fatalf("count after batch delete: %+v %v", sc, err)
	}

	// Throughput and billing changes show in DescribeTable.
	u, err := e.c.UpdateTable(ctx, &ddb.UpdateTableInput{TableName: aws.String("state"), BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(10), WriteCapacityUnits: aws.Int64(10)}})
	if err != nil || aws.ToInt64(u.TableDescription.ProvisionedThroughput.ReadCapacityUnits) != 10 ||
		u.TableDescription.BillingModeSummary.BillingMode != types.BillingModeProvisioned {
		t.Fatalf("update table: %+v %v", u, err)
	}
	u, err = e.c.UpdateTable(ctx, &ddb.UpdateTableInput{TableName: aws.String("state"),
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}})
	if err != nil || aws.ToInt64(u.TableDescription.ProvisionedThroughput.NumberOfDecreasesToday) != 1 {
		t.Fatalf("decrease: %+v %v", u, err)
	}
	ep, err := e.c.DescribeEndpoints(ctx, &ddb.DescribeEndpointsInput{})
	if err != nil || len(ep.Endpoints) != 1 {
		t.Fatalf("endpoints: %+v %v", ep, err)
	}
}

// TestPanicRecovered: a failure inside an operation is a 500
// InternalServerError, not a dropped connection.
func TestPanicRecovered(t *testing.T) {
	svc := New(nil, Config{Logger: slog.New(slog.DiscardHandler)}) // no store: every read panics
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	status, body, _ := raw(t, srv.URL, TargetPrefix+".ListTables", "{}")
	want := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`
	if status != 500 || body != want {
		t.Fatalf("got %d %s", status, body)
	}
}
