package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rivulet/rivulet/internal/testdynalite"
)

// The DynamoDB tests run the same clients and assertions against Rivulet
// and against dynalite, an independent DynamoDB implementation that
// mirrors AWS's messages: where both agree, the assertion is AWS's
// behaviour and not only our reading of it. The few places where
// dynalite 4.0.0 departs from AWS are asserted for rivulet alone, each
// with a comment.

// ddbBackends are the implementations every DynamoDB test runs against.
var ddbBackends = []string{"rivulet", "dynalite"}

// ddbTarget is one running DynamoDB endpoint.
type ddbTarget struct {
	backend string
	url     string
	http    *http.Client
}

func (d *ddbTarget) rivulet() bool { return d.backend == "rivulet" }

// eachDDB runs f once per backend as parallel subtests, each with a fresh
// server: the two backends share nothing, and in parallel the suite stays
// short though every AWS CLI call costs about a second.
func eachDDB(t *testing.T, f func(t *testing.T, d *ddbTarget)) {
	for _, backend := range ddbBackends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f(t, startDDB(t, backend))
		})
	}
}

func startDDB(t *testing.T, backend string) *ddbTarget {
	t.Helper()
	if backend == "dynalite" {
		return startDynalite(t)
	}
	s := startServer(t, serverOptions{})
	return &ddbTarget{backend: backend, url: s.endpoint(), http: s.http}
}

// startDynalite runs dynalite until the test ends. dynalite takes its
// ARNs' region and account from AWS_REGION and AWS_ACCOUNT_ID: clientEnv's
// give us-east-1 and 000000000000, as Rivulet's ARNs have.
func startDynalite(t *testing.T) *ddbTarget {
	t.Helper()
	url := testdynalite.Run(t, clientEnv(t)...)
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: hangTimeout}).DialContext, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &ddbTarget{backend: "dynalite", url: url, http: &http.Client{Transport: tr}}
}

// Items are compared flattened: attribute name to "TYPE:value", e.g.
// {"leaseCounter": "N:2"}. The tests only use scalar S and N attributes.
type flatItem map[string]string

// lease is a KCL lease as the KCL writes it at creation.
func lease(key, owner string, counter int) flatItem {
	it := flatItem{"leaseKey": "S:" + key, "leaseCounter": "N:" + strconv.Itoa(counter),
		"checkpoint": "S:TRIM_HORIZON", "ownerSwitchesSinceCheckpoint": "N:0"}
	if owner != "" {
		it["leaseOwner"] = "S:" + owner
	}
	return it
}

func (f flatItem) with(kv ...string) flatItem {
	out := maps.Clone(f)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// json is the item in DynamoDB JSON, as the AWS CLI takes it.
func (f flatItem) json() string {
	m := map[string]map[string]string{}
	for k, v := range f {
		typ, val, _ := strings.Cut(v, ":")
		m[k] = map[string]string{typ: val}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// cliItem is an item as the AWS CLI prints it.
type cliItem map[string]map[string]any

func (c cliItem) flat() flatItem {
	if c == nil {
		return nil
	}
	out := flatItem{}
	for k, v := range c {
		for typ, val := range v {
			out[k] = fmt.Sprintf("%s:%v", typ, val)
		}
	}
	return out
}

func flatSDK(item map[string]types.AttributeValue) flatItem {
	if item == nil {
		return nil
	}
	out := flatItem{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = "S:" + v.Value
		case *types.AttributeValueMemberN:
			out[k] = "N:" + v.Value
		default:
			out[k] = fmt.Sprintf("%T", v)
		}
	}
	return out
}

func sdkItem(f flatItem) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range f {
		switch typ, val, _ := strings.Cut(v, ":"); typ {
		case "S":
			out[k] = &types.AttributeValueMemberS{Value: val}
		case "N":
			out[k] = &types.AttributeValueMemberN{Value: val}
		}
	}
	return out
}

// ddbCLI runs `aws dynamodb ARGS` against d.
func ddbCLI(ctx context.Context, t *testing.T, d *ddbTarget, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append(append([]string{"dynamodb"}, args...), "--endpoint-url", d.url, "--output", "json")
	return runClient(ctx, t, awsCLI, args...)
}

// ddbCLIJSON requires success and decodes the output; no output (an
// empty response) decodes as {}.
func ddbCLIJSON(ctx context.Context, t *testing.T, d *ddbTarget, out any, args ...string) {
	t.Helper()
	stdout, stderr, code := ddbCLI(ctx, t, d, args...)
	if code != 0 {
		t.Fatalf("aws dynamodb %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	if strings.TrimSpace(stdout) == "" {
		stdout = "{}"
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("aws dynamodb %s: output is not the expected JSON: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// ddbCLIError requires the service error typ with message msg as the AWS
// CLI reports it, with exit code 254. msg "" means an empty message.
func ddbCLIError(ctx context.Context, t *testing.T, d *ddbTarget, op, typ, msg string, args ...string) {
	t.Helper()
	_, stderr, code := ddbCLI(ctx, t, d, args...)
	want := fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", typ, op, msg)
	found := slices.ContainsFunc(strings.Split(stderr, "\n"), func(line string) bool {
		line = strings.TrimSpace(line)
		return line == want || (msg == "" && line == strings.TrimSpace(want))
	})
	if code != 254 || !found {
		t.Errorf("aws dynamodb %s: exit %d, stderr %q; want exit 254 and %q", strings.Join(args, " "), code, stderr, want)
	}
}

const tableARNPrefix = "arn:aws:dynamodb:" + region + ":" + account + ":table/"

func TestDynamoDBAWSCLI(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (run make clients): %v", awsCLI, err)
	}
	eachDDB(t, func(t *testing.T, d *ddbTarget) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		const table = "KclLeases"

		// The KCL's lease table.
		var created struct {
			TableDescription struct{ TableName, TableStatus string }
		}
		ddbCLIJSON(ctx, t, d, &created, "create-table", "--table-name", table,
			"--attribute-definitions", "AttributeName=leaseKey,AttributeType=S",
			"--key-schema", "AttributeName=leaseKey,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
		if td := created.TableDescription; td.TableName != table || (td.TableStatus != "CREATING" && td.TableStatus != "ACTIVE") {
			t.Fatalf("create-table: %+v", td)
		}

		type keyElem struct{ AttributeName, KeyType string }
		type attrDef struct{ AttributeName, AttributeType string }
		var desc struct {
			Table struct {
				TableName, TableStatus, TableArn string
				KeySchema                        []keyElem
				AttributeDefinitions             []attrDef
				BillingModeSummary               struct{ BillingMode string }
				ItemCount                        *int
				CreationDateTime                 string
			}
		}
		deadline := time.Now().Add(hangTimeout)
		for {
			ddbCLIJSON(ctx, t, d, &desc, "describe-table", "--table-name", table)
			if desc.Table.TableStatus == "ACTIVE" {
				break
			}
			if desc.Table.TableStatus != "CREATING" || time.Now().After(deadline) {
				t.Fatalf("describe-table: status %q while waiting for ACTIVE", desc.Table.TableStatus)
			}
			time.Sleep(50 * time.Millisecond)
		}
		td := desc.Table
		if td.TableName != table || td.TableArn != tableARNPrefix+table ||
			!reflect.DeepEqual(td.KeySchema, []keyElem{{"leaseKey", "HASH"}}) ||
			!reflect.DeepEqual(td.AttributeDefinitions, []attrDef{{"leaseKey", "S"}}) ||
			td.BillingModeSummary.BillingMode != "PAY_PER_REQUEST" || td.ItemCount == nil || *td.ItemCount != 0 {
			t.Errorf("describe-table: %+v", td)
		}
		cliTime(t, "CreationDateTime", td.CreationDateTime)

		var list struct{ TableNames []string }
		ddbCLIJSON(ctx, t, d, &list, "list-tables")
		if !slices.Equal(list.TableNames, []string{table}) {
			t.Errorf("list-tables: %v", list.TableNames)
		}

		// The KCL's create, in an expression and in the legacy form: the
		// first passes, the second is a conditional check failure.
		l0, l1 := lease("shardId-000000000000", "worker-1", 1), lease("shardId-000000000001", "worker-1", 1)
		var put struct{ Attributes cliItem }
		ddbCLIJSON(ctx, t, d, &put, "put-item", "--table-name", table, "--item", l0.json(),
			"--condition-expression", "attribute_not_exists(leaseKey)")
		if put.Attributes != nil {
			t.Errorf("put-item returned Attributes %v", put.Attributes)
		}
		ddbCLIError(ctx, t, d, "PutItem", "ConditionalCheckFailedException", "The conditional request failed",
			"put-item", "--table-name", table, "--item", l0.with("leaseOwner", "S:worker-9").json(),
			"--condition-expression", "attribute_not_exists(leaseKey)")
		ddbCLIJSON(ctx, t, d, &put, "put-item", "--table-name", table, "--item", l1.json(),
			"--expected", `{"leaseKey":{"Exists":false}}`)
		ddbCLIError(ctx, t, d, "PutItem", "ConditionalCheckFailedException", "The conditional request failed",
			"put-item", "--table-name", table, "--item", l1.json(), "--expected", `{"leaseKey":{"Exists":false}}`)

		// Take the lease in an update expression, guarded by the counter.
		key0 := `{"leaseKey":{"S":"shardId-000000000000"}}`
		take := []string{"update-item", "--table-name", table, "--key", key0,
			"--update-expression", "SET leaseOwner = :o ADD leaseCounter :one",
			"--condition-expression", "leaseCounter = :n",
			"--expression-attribute-values", `{":o":{"S":"worker-2"},":one":{"N":"1"},":n":{"N":"1"}}`,
			"--return-values", "ALL_NEW"}
		var upd struct{ Attributes cliItem }
		ddbCLIJSON(ctx, t, d, &upd, take...)
		want0 := l0.with("leaseOwner", "S:worker-2", "leaseCounter", "N:2")
		if got := upd.Attributes.flat(); !reflect.DeepEqual(got, want0) {
			t.Errorf("update-item ALL_NEW: %v, want %v", got, want0)
		}
		// Again with the counter now stale.
		ddbCLIError(ctx, t, d, "UpdateItem", "ConditionalCheckFailedException", "The conditional request failed", take...)

		var get struct{ Item cliItem }
		ddbCLIJSON(ctx, t, d, &get, "get-item", "--table-name", table, "--key", key0, "--consistent-read")
		if got := get.Item.flat(); !reflect.DeepEqual(got, want0) {
			t.Errorf("get-item: %v, want %v", got, want0)
		}

		// Five leases in all, scanned two to a page: three items, then the
		// rest from the CLI's token, every lease exactly once.
		var batch []map[string]any
		for i := 2; i < 5; i++ {
			var item any
			_ = json.Unmarshal([]byte(lease(fmt.Sprintf("shardId-%012d", i), "", 1).json()), &item)
			batch = append(batch, map[string]any{"PutRequest": map[string]any{"Item": item}})
		}
		reqItems, _ := json.Marshal(map[string]any{table: batch})
		var bw struct{ UnprocessedItems map[string]any }
		ddbCLIJSON(ctx, t, d, &bw, "batch-write-item", "--request-items", string(reqItems))
		if len(bw.UnprocessedItems) != 0 {
			t.Errorf("batch-write-item: unprocessed %v", bw.UnprocessedItems)
		}
		var page1, page2 struct {
			Items     []cliItem
			NextToken string
		}
		ddbCLIJSON(ctx, t, d, &page1, "scan", "--table-name", table, "--page-size", "2", "--max-items", "3")
		if len(page1.Items) != 3 || page1.NextToken == "" {
			t.Fatalf("scan --max-items 3: %d items, NextToken %q", len(page1.Items), page1.NextToken)
		}
		ddbCLIJSON(ctx, t, d, &page2, "scan", "--table-name", table, "--page-size", "2", "--starting-token", page1.NextToken)
		if page2.NextToken != "" {
			t.Errorf("scan --starting-token: NextToken %q after the last page", page2.NextToken)
		}
		var seen []string
		for _, it := range append(page1.Items, page2.Items...) {
			seen = append(seen, it.flat()["leaseKey"])
		}
		sort.Strings(seen)
		var wantKeys []string
		for i := 0; i < 5; i++ {
			wantKeys = append(wantKeys, fmt.Sprintf("S:shardId-%012d", i))
		}
		if !slices.Equal(seen, wantKeys) {
			t.Errorf("scan pages: %v, want each of %v once", seen, wantKeys)
		}

		var q struct {
			Items []cliItem
			Count int
		}
		ddbCLIJSON(ctx, t, d, &q, "query", "--table-name", table, "--consistent-read",
			"--key-condition-expression", "leaseKey = :k",
			"--expression-attribute-values", `{":k":{"S":"shardId-000000000001"}}`)
		if q.Count != 1 || len(q.Items) != 1 || !reflect.DeepEqual(q.Items[0].flat(), l1) {
			t.Errorf("query: %+v", q)
		}

		key1 := `{"leaseKey":{"S":"shardId-000000000001"}}`
		var del struct{ Attributes cliItem }
		ddbCLIJSON(ctx, t, d, &del, "delete-item", "--table-name", table, "--key", key1, "--return-values", "ALL_OLD")
		if got := del.Attributes.flat(); !reflect.DeepEqual(got, l1) {
			t.Errorf("delete-item ALL_OLD: %v, want %v", got, l1)
		}

		// dynalite answers ResourceInUse with an empty message; AWS names
		// the table.
		inUse := ""
		if d.rivulet() {
			inUse = "Table already exists: " + table
		}
		ddbCLIError(ctx, t, d, "CreateTable", "ResourceInUseException", inUse, "create-table", "--table-name", table,
			"--attribute-definitions", "AttributeName=leaseKey,AttributeType=S",
			"--key-schema", "AttributeName=leaseKey,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
		ddbCLIError(ctx, t, d, "DescribeTable", "ResourceNotFoundException", "Requested resource not found: Table: Missing not found",
			"describe-table", "--table-name", "Missing")
		ddbCLIError(ctx, t, d, "PutItem", "ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
			"put-item", "--table-name", table, "--item", lease("shardId-000000000009", "", 1).json(),
			"--condition-expression", "attribute_not_exists(leaseKey)", "--expression-attribute-values", `{":x":{"S":"y"}}`)

		var dt struct {
			TableDescription struct{ TableName, TableStatus string }
		}
		ddbCLIJSON(ctx, t, d, &dt, "delete-table", "--table-name", table)
		if dt.TableDescription.TableName != table || dt.TableDescription.TableStatus != "DELETING" {
			t.Errorf("delete-table: %+v", dt.TableDescription)
		}
		for deadline := time.Now().Add(hangTimeout); ; {
			list.TableNames = nil
			ddbCLIJSON(ctx, t, d, &list, "list-tables")
			if len(list.TableNames) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("list-tables after delete-table: %v", list.TableNames)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestDynamoDBBoto3 runs clients/dynamodb_boto3.py, the KCL's calls through
// boto3, which exits non-zero on any mismatch.
func TestDynamoDBBoto3(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (run make clients): %v", debianPython, err)
	}
	eachDDB(t, func(t *testing.T, d *ddbTarget) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stdout, stderr, code := runClient(ctx, t, debianPython, filepath.Join("clients", "dynamodb_boto3.py"),
			"--endpoint", d.url, "--table", "Boto3Leases", "--backend", d.backend)
		if code != 0 {
			t.Fatalf("dynamodb_boto3.py: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		t.Log(stdout)
	})
}

// crcCheck is a transport that requires an x-amz-crc32 header on every
// response, errors included, checks it against the body's bytes, and
// requires a request id.
type crcCheck struct {
	next    http.RoundTripper
	checked atomic.Int64
	mu      sync.Mutex
	errs    []string
}

func (c *crcCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	target := req.Header.Get("X-Amz-Target")
	h := resp.Header.Get("X-Amz-Crc32")
	sum := strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	c.mu.Lock()
	defer c.mu.Unlock()
	if h != sum {
		c.errs = append(c.errs, fmt.Sprintf("%s (%d): x-amz-crc32 %q, body's CRC32 %s", target, resp.StatusCode, h, sum))
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		c.errs = append(c.errs, fmt.Sprintf("%s (%d): no x-amzn-RequestId", target, resp.StatusCode))
	}
	c.checked.Add(1)
	return resp, nil
}

// tamperCRC changes every response's x-amz-crc32, to see that the SDK
// checks it.
type tamperCRC struct{ next http.RoundTripper }

func (c tamperCRC) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		resp.Header.Set("X-Amz-Crc32", "1")
	}
	return resp, err
}

func (d *ddbTarget) dynamodb(rt func(http.RoundTripper) http.RoundTripper, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	hc := d.http
	if rt != nil {
		hc = &http.Client{Transport: rt(d.http.Transport)}
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		HTTPClient:  hc,
	}
	base := func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(d.url) }
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){base}, optFns...)...)
}

// createLeaseTable makes the KCL's lease table and waits until it is
// ACTIVE.
func createLeaseTable(ctx context.Context, t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:                 aws.String(name),
		AttributeDefinitions:      []types.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:                 []types.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: types.KeyTypeHash}},
		BillingMode:               types.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(false),
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	waitTableActive(ctx, t, c, name)
}

func waitTableActive(ctx context.Context, t *testing.T, c *dynamodb.Client, name string) *types.TableDescription {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for {
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeTable: %v", err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return out.Table
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s is %s after %v", name, out.Table.TableStatus, hangTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// renewInput is the KCL's renew: leaseCounter must be n, and becomes n+1.
func renewInput(table, key string, n int) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"leaseKey": &types.AttributeValueMemberS{Value: key}},
		Expected: map[string]types.ExpectedAttributeValue{
			"leaseCounter": {Value: &types.AttributeValueMemberN{Value: strconv.Itoa(n)}},
		},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseCounter": {Action: types.AttributeActionPut, Value: &types.AttributeValueMemberN{Value: strconv.Itoa(n + 1)}},
		},
	}
}

func isCCF(err error) (*types.ConditionalCheckFailedException, bool) {
	var ccf *types.ConditionalCheckFailedException
	return ccf, errors.As(err, &ccf)
}

// TestDynamoDBGoSDK makes the lease calls through aws-sdk-go-v2, which
// checks x-amz-crc32; a transport underneath also requires the header on
// every response and checks it itself.
func TestDynamoDBGoSDK(t *testing.T) {
	eachDDB(t, func(t *testing.T, d *ddbTarget) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		crc := &crcCheck{}
		c := d.dynamodb(func(rt http.RoundTripper) http.RoundTripper { crc.next = rt; return crc })
		const table = "GoLeases"
		createLeaseTable(ctx, t, c, table)

		l := lease("shardId-000000000000", "worker-1", 1)
		create := &dynamodb.PutItemInput{TableName: aws.String(table), Item: sdkItem(l),
			Expected: map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}}}
		if _, err := c.PutItem(ctx, create); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
		if _, err := c.PutItem(ctx, create); err == nil {
			t.Errorf("second create: no error")
		} else if ccf, ok := isCCF(err); !ok || aws.ToString(ccf.Message) != "The conditional request failed" {
			t.Errorf("second create: %v", err)
		}

		if _, err := c.UpdateItem(ctx, renewInput(table, "shardId-000000000000", 1)); err != nil {
			t.Fatalf("renew: %v", err)
		}
		// The KCL 3.x renew asks for the item on a stale counter.
		stale := renewInput(table, "shardId-000000000000", 1)
		stale.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		_, err := c.UpdateItem(ctx, stale)
		ccf, ok := isCCF(err)
		if !ok {
			t.Fatalf("stale renew: %v", err)
		}
		// dynalite 4.0.0 predates ReturnValuesOnConditionCheckFailure and
		// ignores it.
		if want := l.with("leaseCounter", "N:2"); d.rivulet() && !reflect.DeepEqual(flatSDK(ccf.Item), want) {
			t.Errorf("stale renew with ALL_OLD: Item %v, want %v", flatSDK(ccf.Item), want)
		}

		out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(table),
			Key:                       sdkItem(flatItem{"leaseKey": "S:shardId-000000000000"}),
			UpdateExpression:          aws.String("SET #o = :o ADD leaseCounter :one"),
			ConditionExpression:       aws.String("attribute_exists(leaseKey) AND #o = :old"),
			ExpressionAttributeNames:  map[string]string{"#o": "leaseOwner"},
			ExpressionAttributeValues: sdkItem(flatItem{":o": "S:worker-2", ":old": "S:worker-1", ":one": "N:1"}),
			ReturnValues:              types.ReturnValueAllNew,
		})
		want := l.with("leaseOwner", "S:worker-2", "leaseCounter", "N:3")
		if err != nil || !reflect.DeepEqual(flatSDK(out.Attributes), want) {
			t.Errorf("UpdateItem ALL_NEW: %v, %v; want %v", out, err, want)
		}
		got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: sdkItem(flatItem{"leaseKey": "S:shardId-000000000000"})})
		if err != nil || !reflect.DeepEqual(flatSDK(got.Item), want) {
			t.Errorf("GetItem: %v, %v; want %v", got, err, want)
		}
		scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil || scan.Count != 1 || len(scan.Items) != 1 || !reflect.DeepEqual(flatSDK(scan.Items[0]), want) {
			t.Errorf("Scan: %+v, %v", scan, err)
		}

		var rnf *types.ResourceNotFoundException
		if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("Missing")}); !errors.As(err, &rnf) {
			t.Errorf("DescribeTable of a missing table: %v", err)
		}
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("DeleteTable: %v", err)
		}

		crc.mu.Lock()
		for _, e := range crc.errs {
			t.Error(e)
		}
		crc.mu.Unlock()
		if crc.checked.Load() < 10 {
			t.Errorf("x-amz-crc32 checked on %d responses", crc.checked.Load())
		}

		// The SDK refuses a response whose checksum does not match, so the
		// calls above passing means it checked them too.
		bad := d.dynamodb(func(rt http.RoundTripper) http.RoundTripper { return tamperCRC{rt} },
			func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		if _, err := bad.ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("ListTables with a wrong x-amz-crc32: %v, want the SDK's checksum error", err)
		}
	})
}

// TestDynamoDBSharedNATS: two `rivulet serve` processes on one NATS serve
// one lease table, and the KCL's compare-and-swap on leaseCounter holds
// across them. Rivulet only: dynalite is a single process.
func TestDynamoDBSharedNATS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	a := startServer(t, serverOptions{extra: []string{"--nats-listen", natsAddr}})
	b := startServer(t, serverOptions{extra: []string{"--nats-url", "nats://" + natsAddr}})
	// No SDK retries: a renew retried after a lost answer could count
	// twice, and nothing here should fail.
	once := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	ca := (&ddbTarget{backend: "rivulet", url: a.endpoint(), http: a.http}).dynamodb(nil, once)
	cb := (&ddbTarget{backend: "rivulet", url: b.endpoint(), http: b.http}).dynamodb(nil, once)

	// Created on A, ACTIVE and listed on B.
	const table = "SharedLeases"
	createLeaseTable(ctx, t, ca, table)
	td := waitTableActive(ctx, t, cb, table)
	if aws.ToString(td.TableArn) != tableARNPrefix+table {
		t.Errorf("DescribeTable on B: TableArn %q", aws.ToString(td.TableArn))
	}
	list, err := cb.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || !slices.Equal(list.TableNames, []string{table}) {
		t.Fatalf("ListTables on B: %v, %v", list, err)
	}

	const key = "shardId-000000000000"
	if _, err := ca.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: sdkItem(lease(key, "worker", 0)),
		Expected: map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}}}); err != nil {
		t.Fatal(err)
	}
	// The lease's counter, read through c.
	read := func(c *dynamodb.Client) (int, error) {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: sdkItem(flatItem{"leaseKey": "S:" + key})})
		if err != nil {
			return 0, err
		}
		n, ok := out.Item["leaseCounter"].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("leaseCounter is %T", out.Item["leaseCounter"])
		}
		return strconv.Atoi(n.Value)
	}
	if n, err := read(cb); err != nil || n != 0 {
		t.Fatalf("lease created on A, read on B: counter %d, %v", n, err)
	}

	// 50 renews through each server at once, each retried after a CCF from
	// a fresh read: every successful renew must be one step of the
	// counter, so together they take it from 0 to exactly 100.
	const perServer = 50
	var (
		mu      sync.Mutex
		stepped []int // the counter each successful renew set
		ccfs    int
		wg      sync.WaitGroup
	)
	for _, c := range []*dynamodb.Client{ca, cb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := read(c)
			for done, tries := 0, 0; done < perServer; tries++ {
				if err != nil {
					t.Errorf("GetItem: %v", err)
					return
				}
				if tries > 100*perServer {
					t.Errorf("%d renews in %d tries", done, tries)
					return
				}
				_, err = c.UpdateItem(ctx, renewInput(table, key, n))
				if _, ok := isCCF(err); ok {
					mu.Lock()
					ccfs++
					mu.Unlock()
					n, err = read(c)
					continue
				}
				if err != nil {
					t.Errorf("renew: %v", err)
					return
				}
				mu.Lock()
				stepped = append(stepped, n+1)
				mu.Unlock()
				done++
				n++
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sort.Ints(stepped)
	for i, v := range stepped {
		if v != i+1 {
			t.Fatalf("successful renews set the counter to %v; want 1..%d once each", stepped, 2*perServer)
		}
	}
	for name, c := range map[string]*dynamodb.Client{"A": ca, "B": cb} {
		if n, err := read(c); err != nil || n != 2*perServer {
			t.Errorf("leaseCounter through %s: %d, %v; want %d", name, n, err, 2*perServer)
		}
	}
	t.Logf("%d renews, %d conditional check failures", len(stepped), ccfs)

	// Deleted on B, gone on A.
	if _, err := cb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(hangTimeout); ; {
		_, err := ca.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		var rnf *types.ResourceNotFoundException
		if errors.As(err, &rnf) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("DescribeTable on A after DeleteTable on B: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.stop(t)
	a.stop(t)
}
