package dynamodb

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/authz"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// TestProtocol: answers to malformed requests, the CRC32 header and the
// error body shapes.
func TestProtocol(t *testing.T) {
	e := newEnv(t)
	url := e.srv.URL
	cases := []struct {
		name, target, body string
		status             int
		want               string
	}{
		{"unknown op", "DynamoDB_20120810.TransactWriteItems", "{}", 400,
			`{"__type":"com.amazon.coral.service#UnknownOperationException"}`},
		{"wrong service", "Kinesis_20131202.ListStreams", "{}", 400,
			`{"__type":"com.amazon.coral.service#UnknownOperationException"}`},
		{"bad json", "DynamoDB_20120810.ListTables", "{", 400,
			`{"__type":"com.amazon.coral.service#SerializationException"}`},
		{"empty body", "DynamoDB_20120810.ListTables", "", 400,
			`{"__type":"com.amazon.coral.service#SerializationException"}`},
		{"type error", "DynamoDB_20120810.DescribeTable", `{"TableName":5}`, 400,
			`{"__type":"com.amazon.coral.service#SerializationException","Message":"NUMBER_VALUE cannot be converted to String"}`},
		{"validation", "DynamoDB_20120810.ListTables", `{"Limit":0}`, 400,
			`{"__type":"com.amazon.coral.validate#ValidationException","message":"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"}`},
		{"missing table", "DynamoDB_20120810.DescribeTable", `{"TableName":"abc"}`, 400,
			`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found: Table: abc not found"}`},
		{"ok", "DynamoDB_20120810.ListTables", `{}`, 200, `{"TableNames":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, hdr := raw(t, url, tc.target, tc.body)
			if status != tc.status || body != tc.want {
				t.Fatalf("got %d %s\nwant %d %s", status, body, tc.status, tc.want)
			}
			if hdr.Get("Content-Type") != ContentType || hdr.Get("x-amzn-RequestId") == "" {
				t.Fatalf("headers %v", hdr)
			}
			if crc := hdr.Get("x-amz-crc32"); crc != strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10) {
				t.Fatalf("x-amz-crc32 %s for %q", crc, body)
			}
		})
	}

	// No signature at all.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var eb map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 400 || eb["__type"] != "com.amazon.coral.service#MissingAuthenticationTokenException" ||
		eb["message"] != "Request is missing Authentication Token" {
		t.Fatalf("unsigned: %d %v", resp.StatusCode, eb)
	}

	// A foreign content type is not the API.
	req, _ = http.NewRequest(http.MethodPost, url, strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("form post: %d", resp.StatusCode)
	}

	if !IsTarget(http.Header{"X-Amz-Target": {"DynamoDB_20120810.GetItem"}}) || IsTarget(http.Header{"X-Amz-Target": {"Kinesis_20131202.PutRecord"}}) {
		t.Fatal("IsTarget")
	}
}

// TestBodyCap: an oversized body gets 413.
func TestBodyCap(t *testing.T) {
	svc := New(memstore.NewTables(), Config{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 100}))
	t.Cleanup(srv.Close)
	status, _, _ := raw(t, srv.URL, "DynamoDB_20120810.ListTables", `{"x":"`+strings.Repeat("a", 200)+`"}`)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", status)
	}
	srv.Client().CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

// TestSigV4AndPolicies: with a verifier the caller is the key's account
// in the scope's region, and every operation is authorized against the
// table's ARN (the index's for a GSI query).
func TestSigV4AndPolicies(t *testing.T) {
	policy := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:eu-west-2:123456789012:table/app"},
		{"Effect":"Allow","Action":["dynamodb:Query"],"Resource":"arn:aws:dynamodb:eu-west-2:123456789012:table/app/index/*"},
		{"Effect":"Allow","Action":"dynamodb:ListTables","Resource":"*"}]}`
	keys, err := auth.NewKeyring([]auth.Principal{{AccessKeyID: "AKIAALICE", SecretAccessKey: "secret",
		Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/alice", Policies: []json.RawMessage{json.RawMessage(policy)}}})
	if err != nil {
		t.Fatal(err)
	}
	v := sigv4.New(sigv4.Config{Service: "dynamodb", MaxSkew: sigv4.SkewDynamoDB, Keys: keys})
	svc := New(memstore.NewTables(), Config{Logger: slog.New(slog.DiscardHandler), Authorizer: authz.New()})
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler), Verifier: v}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	ctx := context.Background()
	c := sdkClient(srv.URL, srv.Client(), "AKIAALICE", "secret", "eu-west-2")
	for _, name := range []string{"app", "other"} {
		_, err := c.CreateTable(ctx, &ddb.CreateTableInput{
			TableName:            aws.String(name),
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		if name == "app" && err != nil {
			t.Fatal(err)
		}
		if name == "other" {
			apiErr(t, err, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "+
				"dynamodb:CreateTable on resource: arn:aws:dynamodb:eu-west-2:123456789012:table/other "+
				"because no identity-based policy allows the dynamodb:CreateTable action")
		}
	}
	d, err := c.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("app")})
	if err != nil || aws.ToString(d.Table.TableArn) != "arn:aws:dynamodb:eu-west-2:123456789012:table/app" {
		t.Fatalf("describe: %v %v", d, err)
	}
	l, err := c.ListTables(ctx, &ddb.ListTablesInput{})
	if err != nil || len(l.TableNames) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	_, err = c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("other"), Key: map[string]types.AttributeValue{"k": s("x")}})
	apiErr(t, err, "AccessDeniedException", "")

	bad := sdkClient(srv.URL, srv.Client(), "AKIAALICE", "wrong", "eu-west-2")
	_, err = bad.ListTables(ctx, &ddb.ListTablesInput{})
	apiErr(t, err, "InvalidSignatureException", "")
	unknown := sdkClient(srv.URL, srv.Client(), "AKIAUNKNOWN", "secret", "eu-west-2")
	_, err = unknown.ListTables(ctx, &ddb.ListTablesInput{})
	apiErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
}

// TestAuthNoneNamespaces: without a verifier, a 12-digit access key id
// names the account and the scope the region.
func TestAuthNoneNamespaces(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := sdkClient(e.srv.URL, e.srv.Client(), "111122223333", "x", "eu-west-1")
	e.createLeaseTable(t, "app")
	l, err := other.ListTables(ctx, &ddb.ListTablesInput{})
	if err != nil || len(l.TableNames) != 0 {
		t.Fatalf("other account sees %v %v", l, err)
	}
	_, err = other.CreateTable(ctx, &ddb.CreateTableInput{
		TableName:            aws.String("app"),
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := other.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String("app")})
	if err != nil || aws.ToString(d.Table.TableArn) != "arn:aws:dynamodb:eu-west-1:111122223333:table/app" {
		t.Fatalf("describe: %v %v", d, err)
	}
}

// TestConcurrentProcesses: two services (two processes) on one store
// increment one counter with conditional writes; none is lost, because
// a lost compare-and-swap starts the write over.
func TestConcurrentProcesses(t *testing.T) {
	tables := memstore.NewTables()
	var clients []*ddb.Client
	for range 2 {
		svc := New(tables, Config{Logger: slog.New(slog.DiscardHandler)})
		srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(srv.Close)
		t.Cleanup(srv.Client().CloseIdleConnections)
		clients = append(clients, sdkClient(srv.URL, srv.Client(), "AKID", "x", "us-east-1"))
	}
	ctx := context.Background()
	e := &env{c: clients[0]}
	e.createLeaseTable(t, "app")
	if _, err := clients[0].PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"),
		Item: map[string]types.AttributeValue{"leaseKey": s("k"), "leaseCounter": n("0")}}); err != nil {
		t.Fatal(err)
	}
	const workers, per = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%2]
			for range per {
				// ADD is unconditional: every one must land.
				_, err := c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: aws.String("app"),
					Key:              map[string]types.AttributeValue{"leaseKey": s("k")},
					UpdateExpression: aws.String("ADD leaseCounter :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1")}})
				if err != nil {
					t.Error(err)
					return
				}
				// A conditional take of a fresh lease: one winner each.
				_, err = c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"),
					Item:     map[string]types.AttributeValue{"leaseKey": s("new-" + strconv.Itoa(w%3))},
					Expected: map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}}})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	g, err := clients[1].GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"), Key: map[string]types.AttributeValue{"leaseKey": s("k")}})
	if err != nil || attrS(t, g.Item, "leaseCounter") != strconv.Itoa(workers*per) {
		t.Fatalf("counter %v %v", g.Item, err)
	}
	if wins != 3 {
		t.Fatalf("%d conditional creates won, want 3", wins)
	}
}
