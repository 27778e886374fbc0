package dynamodb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/store/memstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixedNow is the test clock.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	svc *Service
	srv *httptest.Server
	c   *ddb.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	svc := New(memstore.NewTables(), Config{Now: func() time.Time { return fixedNow },
		Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	return &env{svc: svc, srv: srv, c: sdkClient(srv.URL, srv.Client(), "AKIDEXAMPLE", "secret", "eu-west-1")}
}

func sdkClient(url string, hc *http.Client, akid, secret, region string) *ddb.Client {
	return ddb.New(ddb.Options{
		BaseEndpoint: aws.String(url),
		Region:       region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, nil
		}),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// apiErr asserts err is the AWS error code with message.
func apiErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error %s: %q\nwant   %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// raw posts a body with a target and a dummy signature and returns the
// status and body.
func raw(t *testing.T, url, target, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ContentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("X-Amz-Date", "20260102T030405Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSpace(b)), resp.Header
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// createLeaseTable makes a KCL lease table as the KCL does.
func (e *env) createLeaseTable(t *testing.T, name string) {
	t.Helper()
	_, err := e.c.CreateTable(context.Background(), &ddb.CreateTableInput{
		TableName:                 aws.String(name),
		KeySchema:                 []types.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions:      []types.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: types.ScalarAttributeTypeS}},
		BillingMode:               types.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(false),
		Tags:                      []types.Tag{{Key: aws.String("app"), Value: aws.String("kcl")}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
