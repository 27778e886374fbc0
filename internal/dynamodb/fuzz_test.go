package dynamodb

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/store/memstore"
)

var fuzzOps = []string{"PutItem", "UpdateItem", "GetItem", "DeleteItem", "Query", "Scan", "CreateTable", "UpdateTable", "BatchWriteItem"}

// FuzzRequest: no body makes the handler panic or answer 500; every
// answer is JSON.
func FuzzRequest(f *testing.F) {
	seeds := []struct {
		op   int
		body string
	}{
		{0, `{"TableName":"leases","Item":{"leaseKey":{"S":"a"},"n":{"N":"1"}},"Expected":{"leaseKey":{"Exists":false}}}`},
		{0, `{"TableName":"leases","Item":{"leaseKey":{"S":"a"},"m":{"M":{"x":{"L":[{"NS":["1","2"]}]}}}},"ConditionExpression":"attribute_not_exists(#k) OR size(m) > :z","ExpressionAttributeNames":{"#k":"leaseKey"},"ExpressionAttributeValues":{":z":{"N":"0"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`},
		{1, `{"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"AttributeUpdates":{"c":{"Action":"ADD","Value":{"N":"1"}},"o":{"Action":"DELETE"}},"Expected":{"c":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"},{"N":"3"}]}},"ReturnValues":"ALL_NEW"}`},
		{1, `{"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"UpdateExpression":"SET a.b[1] = list_append(:l, a), c = if_not_exists(c, :n) + :n REMOVE d ADD s :s DELETE t :s","ExpressionAttributeValues":{":l":{"L":[]},":n":{"N":"5"},":s":{"SS":["x"]}},"ReturnValues":"UPDATED_NEW"}`},
		{2, `{"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"ProjectionExpression":"a.b[0], #c","ExpressionAttributeNames":{"#c":"c"}}`},
		{3, `{"TableName":"leases","Key":{"leaseKey":{"S":"a"}},"ConditionExpression":"begins_with(leaseKey, :p) AND NOT c IN (:p, :q)","ExpressionAttributeValues":{":p":{"S":"a"},":q":{"B":"AAE="}}}`},
		{4, `{"TableName":"leases","IndexName":"byOwner","KeyConditionExpression":"leaseOwner = :o AND begins_with(leaseKey, :k)","ExpressionAttributeValues":{":o":{"S":"w"},":k":{"S":"s"}},"Limit":2,"ScanIndexForward":false,"ExclusiveStartKey":{"leaseKey":{"S":"a"},"leaseOwner":{"S":"w"}}}`},
		{5, `{"TableName":"leases","Limit":1,"Segment":0,"TotalSegments":2,"ScanFilter":{"c":{"ComparisonOperator":"GT","AttributeValueList":[{"N":"0"}]}},"Select":"COUNT"}`},
		{6, `{"TableName":"t3","KeySchema":[{"AttributeName":"h","KeyType":"HASH"},{"AttributeName":"r","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"h","AttributeType":"S"},{"AttributeName":"r","AttributeType":"N"}],"BillingMode":"PAY_PER_REQUEST","Tags":[{"Key":"a","Value":"b"}]}`},
		{7, `{"TableName":"leases","BillingMode":"PROVISIONED","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":5},"GlobalSecondaryIndexUpdates":[{"Delete":{"IndexName":"byOwner"}}]}`},
		{8, `{"RequestItems":{"leases":[{"PutRequest":{"Item":{"leaseKey":{"S":"b"}}}},{"DeleteRequest":{"Key":{"leaseKey":{"S":"a"}}}}]}}`},
		{0, `{"TableName":5}`},
		{0, `[]`},
		{0, `{"TableName":"leases","Item":{"leaseKey":{"N":"1e500"}}}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.body)
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, opIndex int, body string) {
		svc := New(memstore.NewTables(), Config{Logger: log})
		h := NewHandler(svc, HandlerOptions{Logger: log})
		send := func(op, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", ContentType)
			req.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
			req.Header.Set("X-Amz-Date", "20260102T030405Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		if w := send("CreateTable", `{"TableName":"leases","KeySchema":[{"AttributeName":"leaseKey","KeyType":"HASH"}],`+
			`"AttributeDefinitions":[{"AttributeName":"leaseKey","AttributeType":"S"},{"AttributeName":"leaseOwner","AttributeType":"S"}],`+
			`"BillingMode":"PAY_PER_REQUEST","GlobalSecondaryIndexes":[{"IndexName":"byOwner","KeySchema":[{"AttributeName":"leaseOwner","KeyType":"HASH"},`+
			`{"AttributeName":"leaseKey","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}`); w.Code != 200 {
			t.Fatalf("setup: %d %s", w.Code, w.Body)
		}
		send("PutItem", `{"TableName":"leases","Item":{"leaseKey":{"S":"a"},"leaseOwner":{"S":"w"},"c":{"N":"2"},"a":{"M":{"b":{"L":[{"S":"x"}]}}}}}`)
		op := fuzzOps[uint(opIndex)%uint(len(fuzzOps))]
		w := send(op, body)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", op, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %q", op, body, w.Body)
		}
	})
}
