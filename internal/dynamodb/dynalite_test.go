package dynamodb

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/testdynalite"
)

// TestDifferentialDynalite sends the same requests to dynalite and to
// the handler and compares status, error type and message.
func TestDifferentialDynalite(t *testing.T) {
	theirs := testdynalite.Run(t)
	e := newEnv(t)
	ours := e.srv.URL
	t.Cleanup(http.DefaultClient.CloseIdleConnections)

	const tbl = `"TableName":"leases"`
	const createLeases = `{"TableName":"leases","KeySchema":[{"AttributeName":"leaseKey","KeyType":"HASH"}],` +
		`"AttributeDefinitions":[{"AttributeName":"leaseKey","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`
	setup := []struct{ op, body string }{
		{"CreateTable", createLeases},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"leaseCounter":{"N":"1"}}}`},
	}
	for _, s := range setup {
		for _, url := range []string{theirs, ours} {
			if status, body, _ := raw(t, url, TargetPrefix+"."+s.op, s.body); status != 200 {
				t.Fatalf("setup %s at %s: %d %s", s.op, url, status, body)
			}
			if s.op == "CreateTable" {
				waitActive(t, url, "leases")
			}
		}
	}
	// Bodies whose message dynalite leaves out where AWS has one.
	typeOnly := map[string]bool{createLeases: true,
		// dynalite's parser words syntax errors its own way; ours are AWS's.
		`{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"a = = b"}`: true,
		// dynalite names its own user.
		`{"ResourceArn":"x"}`: true,
	}
	cases := []struct{ op, body string }{
		{"PutItem", `{"TableName":"ab","Item":{"leaseKey":{"S":"x"}}}`},
		{"PutItem", `{"TableName":"a;","Item":{"leaseKey":{"S":"x"}},"ReturnValues":"BAD"}`},
		{"PutItem", `{` + tbl + `}`},
		{"GetItem", `{"TableName":"nope","Key":{"leaseKey":{"S":"x"}}}`},
		{"DescribeTable", `{"TableName":"nope"}`},
		{"DescribeTable", `{}`},
		{"DescribeTable", `{"TableName":"ab"}`},
		{"DeleteTable", `{"TableName":"nope"}`},
		{"CreateTable", createLeases},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}]}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST",` +
			`"ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"j","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"N":"1"}}}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"},"x":{"S":"b"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"x":{"S":"y"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"N":"1"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"Expected":{"leaseKey":{"Exists":false}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"Expected":{"leaseKey":{"Exists":false}},` +
			`"ConditionExpression":"attribute_not_exists(leaseKey)"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"attribute_not_exists(leaseKey)",` +
			`"ExpressionAttributeValues":{":x":{"S":"1"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ReturnValues":"ALL_NEW"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"v":{"S":"x","N":"1"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"v":{"NS":[]}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":""}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"AttributeUpdates":{"leaseKey":{"Value":{"S":"b"}}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"AttributeUpdates":{"x":{"Action":"PUT"}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"Expected":{"leaseCounter":{"Value":{"N":"7"}}},` +
			`"AttributeUpdates":{"leaseCounter":{"Value":{"N":"8"}}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET leaseKey = :v",` +
			`"ExpressionAttributeValues":{":v":{"S":"b"}}}`},
		{"Query", `{` + tbl + `}`},
		{"Query", `{` + tbl + `,"IndexName":"nope","KeyConditionExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Scan", `{` + tbl + `,"Segment":1}`},
		{"Scan", `{` + tbl + `,"Segment":3,"TotalSegments":2}`},
		{"ListTables", `{"Limit":0}`},
		{"ListTables", `{"Limit":101,"ExclusiveStartTableName":"a;"}`},
		{"DeleteItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"Expected":{"leaseCounter":{"Exists":true}}}`},
		{"DescribeTable", `{"TableName":5}`},
		{"Scan", `{` + tbl + `,"Limit":"x"}`},
		{"CreateTable", `{"TableName":"t2"}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[],"AttributeDefinitions":[]}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"RANGE"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"X"}],"BillingMode":"BAD"}`},
		{"CreateTable", `{"TableName":"t2","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"UpdateTable", `{"TableName":"nope","BillingMode":"PAY_PER_REQUEST"}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k"}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"N":"1"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"other = :k","ExpressionAttributeValues":{":k":{"S":"1"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}},"ExclusiveStartKey":{"leaseKey":{"S":"b"}}}`},
		{"Scan", `{` + tbl + `,"ExclusiveStartKey":{"x":{"S":"b"}}}`},
		{"Scan", `{` + tbl + `,"FilterExpression":"a = :a","ScanFilter":{}}`},
		{"Scan", `{` + tbl + `,"Select":"ALL_PROJECTED_ATTRIBUTES"}`},
		{"Scan", `{` + tbl + `,"ExpressionAttributeNames":{"#a":"a"}}`},
		{"Scan", `{` + tbl + `,"ExpressionAttributeValues":{":a":{"S":"a"}}}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"AttributesToGet":["a","a"]}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET a = :v"}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET a = :v","ExpressionAttributeValues":{":v":{"S":"x"}},"ConditionExpression":"attribute_exists(nope)"}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"AttributeUpdates":{"x":{"Action":"DELETE","Value":{"S":"b"}}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"AttributeUpdates":{"x":{"Action":"ADD","Value":{"S":"b"}}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"Expected":{"x":{"Exists":true}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"Expected":{"x":{"Value":{"S":"b"},"Exists":false}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"n":{"N":"abc"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"n":{"SS":["a","a"]}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"n":{}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"},"n":{"S":5}}}`},
		{"DeleteTable", `{"TableName":"a;b"}`},
		{"TagResource", `{"ResourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/nope","Tags":[{"Key":"a","Value":"b"}]}`},
		{"ListTagsOfResource", `{"ResourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/nope"}`},
		{"DescribeTimeToLive", `{"TableName":"nope"}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST",` +
			`"GlobalSecondaryIndexes":[{"IndexName":"ix","KeySchema":[{"AttributeName":"o","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"},` +
			`"ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}]}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST",` +
			`"GlobalSecondaryIndexes":[{"IndexName":"ix","KeySchema":[{"AttributeName":"x","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST",` +
			`"GlobalSecondaryIndexes":[{"IndexName":"ix","KeySchema":[{"AttributeName":"o","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL","NonKeyAttributes":["a"]}}]}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"},{"AttributeName":"o","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST",` +
			`"GlobalSecondaryIndexes":[{"IndexName":"i","KeySchema":[],"Projection":{}}]}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"},{"AttributeName":"k","KeyType":"RANGE"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`},
		{"CreateTable", `{"TableName":"t3","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],` +
			`"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}],"ProvisionedThroughput":{"ReadCapacityUnits":0,"WriteCapacityUnits":1}}`},
		{"BatchWriteItem", `{}`},
		{"BatchWriteItem", `{"RequestItems":{}}`},
		{"BatchWriteItem", `{"RequestItems":{"nope":[{"PutRequest":{"Item":{"leaseKey":{"S":"a"}}}}]}}`},
		{"BatchWriteItem", `{"RequestItems":{"leases":[{"PutRequest":{"Item":{"leaseKey":{"S":"a"}}}},{"DeleteRequest":{"Key":{"leaseKey":{"S":"a"}}}}]}}`},
		{"BatchGetItem", `{"RequestItems":{"leases":{"Keys":[]}}}`},
		{"BatchGetItem", `{"RequestItems":{"nope":{"Keys":[{"leaseKey":{"S":"a"}}]}}}`},
		{"BatchGetItem", `{"RequestItems":{"leases":{"Keys":[{"leaseKey":{"S":"a"}},{"leaseKey":{"S":"a"}}]}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"a = :v","ExpressionAttributeValues":{":v":{"N":"x"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"a = :v","ExpressionAttributeValues":{}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"a = = b"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"#a = b"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"ConditionExpression":"size = b"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"Expected":{"a":{"ComparisonOperator":"EQ"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"a"}},"Expected":{"a":{"ComparisonOperator":"BAD"}}}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"ProjectionExpression":"a,b","AttributesToGet":["a"]}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"ExpressionAttributeNames":{"#a":"a"}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"ADD s :v","ExpressionAttributeValues":{":v":{"S":"x"}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET a.b = :v","ExpressionAttributeValues":{":v":{"S":"x"}}}`},
		{"UpdateItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET leaseCounter = leaseCounter + :v","ExpressionAttributeValues":{":v":{"S":"x"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k OR leaseKey = :j","ExpressionAttributeValues":{":k":{"S":"a"},":j":{"S":"b"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey > :k","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Query", `{` + tbl + `,"KeyConditions":{"leaseKey":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"a"}]}},"KeyConditionExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Query", `{` + tbl + `,"KeyConditions":{"leaseKey":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"a"}]}}}`},
		{"Query", `{` + tbl + `,"KeyConditions":{"leaseKey":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"a"}]}},"ExclusiveStartKey":{"leaseKey":{"S":"a"}}}`},
		{"Scan", `{` + tbl + `,"Limit":1}`},
		{"Scan", `{` + tbl + `,"Select":"COUNT"}`},
		{"Scan", `{` + tbl + `,"Select":"SPECIFIC_ATTRIBUTES"}`},
		{"Scan", `{` + tbl + `,"Select":"COUNT","ProjectionExpression":"a"}`},
		{"Scan", `{` + tbl + `,"TotalSegments":0,"Segment":-1,"Limit":0}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}},"ReturnConsumedCapacity":"TOTAL"}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"ReturnConsumedCapacity":"INDEXES"}`},
		{"UpdateTable", `{` + tbl + `}`},
		{"UpdateTable", `{` + tbl + `,"GlobalSecondaryIndexUpdates":[{}]}`},
		{"UpdateTable", `{` + tbl + `,"BillingMode":"PROVISIONED"}`},
		{"UpdateTable", `{` + tbl + `,"ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1}}`},
		{"UntagResource", `{"ResourceArn":"x"}`},
		{"TagResource", `{"ResourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/leases"}`},
		{"TagResource", `{"ResourceArn":"arn:aws:dynamodb:us-east-1:000000000000:table/leases","Tags":[]}`},
		{"DescribeTimeToLive", `{"TableName":"leases"}`},
		{"ListTables", `{"ExclusiveStartTableName":"leases"}`},
		{"Query", `{` + tbl + `,"KeyConditions":{}}`},
		{"Query", `{` + tbl + `,"KeyConditions":{"leaseKey":{"ComparisonOperator":"GT","AttributeValueList":[{"S":"a"}]}}}`},
		{"Query", `{` + tbl + `,"KeyConditions":{"x":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"a"}]}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k AND leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"begins_with(leaseKey, :k)","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Query", `{` + tbl + `,"KeyConditionExpression":"leaseKey = :k","FilterExpression":"leaseKey = :k","ExpressionAttributeValues":{":k":{"S":"a"}}}`},
		{"Scan", `{` + tbl + `,"FilterExpression":"leaseCounter > :z","ExpressionAttributeValues":{":z":{"N":"0"}}}`},
		{"Scan", `{` + tbl + `,"ScanFilter":{"leaseCounter":{"ComparisonOperator":"GT","AttributeValueList":[{"N":"0"}]}},"Limit":5}`},
		{"Scan", `{` + tbl + `,"ScanFilter":{"leaseCounter":{"ComparisonOperator":"GT"}}}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"a"}},"ProjectionExpression":"leaseCounter"}`},
		{"GetItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"zz"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"N":"1e126"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"NULL":false}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"B":"abc"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"M":[]}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"L":{}}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"SS":"a"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"},"n":{"BOOL":"yes"}}}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"}},"ReturnConsumedCapacity":"TOTAL","ReturnValues":"ALL_OLD"}`},
		{"PutItem", `{` + tbl + `,"Item":{"leaseKey":{"S":"b"}},"ReturnConsumedCapacity":"TOTAL","ReturnValues":"ALL_OLD"}`},
		{"DeleteItem", `{` + tbl + `,"Key":{"leaseKey":{"S":"b"}},"ReturnValues":"ALL_OLD","ReturnConsumedCapacity":"INDEXES"}`},
		{"TransactWriteItems", `{}`},
		{"GetItem", `{`},
	}
	for _, tc := range cases {
		ts, tb, _ := raw(t, theirs, TargetPrefix+"."+tc.op, tc.body)
		ourStatus, ob, _ := raw(t, ours, TargetPrefix+"."+tc.op, tc.body)
		te, oe := errorOf(tb), errorOf(ob)
		if typeOnly[tc.body] {
			te, _, _ = strings.Cut(te, ": ")
			oe, _, _ = strings.Cut(oe, ": ")
		}
		if ts == 200 && ourStatus == 200 {
			te, oe = normalize(tb), normalize(ob)
		}
		if ts != ourStatus || te != oe {
			t.Errorf("%s %s\ndynalite: %d %s\nours:     %d %s", tc.op, tc.body, ts, tb, ourStatus, ob)
		}
	}
}

// errorOf is an error body's type and message, the parts compared.
func errorOf(body string) string {
	var m map[string]any
	if json.Unmarshal([]byte(body), &m) != nil {
		return body
	}
	msg := m["message"]
	if msg == nil {
		msg = m["Message"]
	}
	return fmt.Sprintf("%v: %v", m["__type"], msg)
}

// normalize re-encodes a success body with sorted keys, so only content
// is compared.
func normalize(body string) string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return body
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// waitActive waits for a table to be ACTIVE: dynalite's CREATING lasts a
// timer tick even with --createTableMs 0, and refuses items until then.
func waitActive(t *testing.T, url, table string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		_, body, _ := raw(t, url, TargetPrefix+".DescribeTable", `{"TableName":"`+table+`"}`)
		if strings.Contains(body, `"TableStatus":"ACTIVE"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s at %s not ACTIVE: %s", table, url, body)
		}
	}
}
