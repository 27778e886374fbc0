package rivulet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

// wantDenied checks AccessDeniedException with AWS's wording.
func wantDenied(t *testing.T, err error, wantMsg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != wantMsg {
		t.Fatalf("got %v\nwant AccessDeniedException: %s", err, wantMsg)
	}
}

// TestPolicies: with --auth=sigv4 each key may do what its policies and
// the stream's resource policy allow, over the Go SDK.
func TestPolicies(t *testing.T) {
	srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t)})
	ctx := context.Background()
	alice := keyClient(t, srv.Endpoint(), "AKIAALICE", "alice-secret", nil)
	reader := keyClient(t, srv.Endpoint(), "AKIAREADER", "reader-secret", nil)
	for _, name := range []string{"r-orders", "secret-pay"} {
		if _, err := alice.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reader.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("r-orders")}); err != nil {
		t.Fatalf("reader may describe: %v", err)
	}
	_, err := reader.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("r-orders"), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantDenied(t, err, "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: kinesis:PutRecord on resource: "+
		"arn:aws:kinesis:eu-west-1:123456789012:stream/r-orders because no identity-based policy allows the kinesis:PutRecord action")
	_, err = reader.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("secret-pay")})
	wantDenied(t, err, "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: kinesis:DescribeStreamSummary on resource: "+
		"arn:aws:kinesis:eu-west-1:123456789012:stream/secret-pay with an explicit deny in an identity-based policy")

	// A resource policy on r-orders lets the reader write to it.
	arn := "arn:aws:kinesis:eu-west-1:123456789012:stream/r-orders"
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/reader"},` +
		`"Action":"kinesis:PutRecord","Resource":"` + arn + `"}]}`
	if _, err := alice.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: &arn, Policy: &doc}); err != nil {
		t.Fatal(err)
	}
	got, err := reader.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: &arn})
	if err != nil || aws.ToString(got.Policy) != doc {
		t.Fatalf("GetResourcePolicy: %v %v", got, err)
	}
	if _, err := reader.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("r-orders"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatalf("put allowed by the resource policy: %v", err)
	}
	// GetRecords is authorized against the stream its iterator names.
	it, err := reader.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("r-orders"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := reader.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(recs.Records) != 1 {
		t.Fatalf("GetRecords: %v %v", recs, err)
	}
	// Bob's allow-all is for his own account only: alice's streams are not
	// his namespace, so he sees none of them.
	bob := keyClient(t, srv.Endpoint(), "AKIABOB", "bob-secret", nil)
	list, err := bob.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(list.StreamNames) != 0 {
		t.Fatalf("bob's streams: %v %v", list, err)
	}
}

// adminRequest signs a request to the admin listener as curl --aws-sigv4
// "aws:amz:REGION:rivulet" does.
func adminRequest(t *testing.T, method, url, body, akid, secret string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if akid != "" {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "rivulet", "eu-west-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestAdminNeedsPolicy: with --auth=sigv4 the admin listener wants a
// signed request from a key allowed rivulet:AdminRead or AdminWrite.
func TestAdminNeedsPolicy(t *testing.T) {
	srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t)})
	faults := srv.AdminEndpoint() + "/admin/faults"
	rule := `{"op":"PutRecord","error":"InternalFailure","every":3}`
	for _, tc := range []struct {
		name, method, body, akid, secret string
		want                             int
	}{
		{"unsigned read", http.MethodGet, "", "", "", http.StatusForbidden},
		{"wrong secret", http.MethodGet, "", "AKIAREADER", "nope", http.StatusForbidden},
		{"reader reads", http.MethodGet, "", "AKIAREADER", "reader-secret", http.StatusOK},
		{"reader writes", http.MethodPost, rule, "AKIAREADER", "reader-secret", http.StatusForbidden},
		{"alice writes", http.MethodPost, rule, "AKIAALICE", "alice-secret", http.StatusOK},
	} {
		resp := adminRequest(t, tc.method, faults, tc.body, tc.akid, tc.secret)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if tc.name == "reader writes" && !bytes.Contains(body, []byte("rivulet:AdminWrite")) {
			t.Errorf("%s: %s", tc.name, body)
		}
	}
	resp := adminRequest(t, http.MethodGet, faults, "", "AKIAREADER", "reader-secret")
	if body, _ := io.ReadAll(resp.Body); !bytes.Contains(body, []byte(`"InternalFailure"`)) {
		t.Fatalf("alice's rule is not there: %s", body)
	}
}

// writeKeys writes a credentials file of allow-all keys.
func writeKeys(t *testing.T, ids ...string) string {
	t.Helper()
	var entries []string
	for _, id := range ids {
		entries = append(entries, `{"accessKeyId": "`+id+`", "secretAccessKey": "s-`+id+`", "account": "123456789012", "policies": [`+allowAll+`]}`)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, []byte(`{"credentials": [`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSharedCredentials: the credentials live in NATS. A server without a
// file uses the ones another server stored, and follows when a third one
// stores new ones.
func TestSharedCredentials(t *testing.T) {
	ctx := context.Background()
	a := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: writeKeys(t, "AKIAONE"), NATSListen: "127.0.0.1:0"})
	b := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, NATSURL: a.NATSURL()})
	one := keyClient(t, b.Endpoint(), "AKIAONE", "s-AKIAONE", nil)
	two := keyClient(t, b.Endpoint(), "AKIATWO", "s-AKIATWO", nil)
	if _, err := one.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("the stored key on the server without a file: %v", err)
	}
	_ = start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: writeKeys(t, "AKIATWO"), NATSURL: a.NATSURL()})
	hang := time.After(time.Minute)
	for {
		_, errOne := one.ListStreams(ctx, &kinesis.ListStreamsInput{})
		_, errTwo := two.ListStreams(ctx, &kinesis.ListStreamsInput{})
		var ae smithy.APIError
		if errTwo == nil && errors.As(errOne, &ae) && ae.ErrorCode() == "UnrecognizedClientException" {
			return
		}
		select {
		case <-hang:
			t.Fatalf("b did not follow the new credentials: one %v, two %v", errOne, errTwo)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
