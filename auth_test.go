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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

// allowAll is an identity policy that allows every action.
const allowAll = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}`

// credentialsFile writes two keys in two accounts, each allowed everything,
// and a reader in alice's account that may only read streams named r-*
// and read the admin listener.
func credentialsFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.json")
	err := os.WriteFile(path, []byte(`{"credentials": [
		{"accessKeyId": "AKIAALICE", "secretAccessKey": "alice-secret", "account": "123456789012",
		 "principal": "arn:aws:iam::123456789012:user/alice", "policies": [`+allowAll+`]},
		{"accessKeyId": "AKIABOB", "secretAccessKey": "bob-secret", "account": "210987654321", "policies": [`+allowAll+`]},
		{"accessKeyId": "AKIAREADER", "secretAccessKey": "reader-secret", "account": "123456789012",
		 "principal": "arn:aws:iam::123456789012:user/reader", "policies": [
			{"Version": "2012-10-17", "Statement": [
				{"Effect": "Allow", "Action": ["kinesis:Describe*", "kinesis:List*", "kinesis:Get*", "rivulet:AdminRead"], "Resource": "*"},
				{"Effect": "Deny", "Action": "kinesis:*", "Resource": "arn:aws:kinesis:*:*:stream/secret-*"}]}]}
	]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthConfigErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"credentials": [{"accessKeyId": "AK", "account": "123456789012"}]}`), 0o600)
	for _, tc := range []struct {
		cfg  rivulet.Config
		want string
	}{
		{rivulet.Config{Auth: rivulet.AuthSigV4}, `rivulet: auth: "sigv4" needs credentials: a credentials file`},
		{rivulet.Config{Auth: "iam"}, `rivulet: auth: unknown mode "iam"`},
		{rivulet.Config{Credentials: bad}, `is given but Auth is "none"`},
		{rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: bad}, `credentials[0] (accessKeyId "AK"): secretAccessKey is required`},
		{rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: bad + ".missing"}, "no such file"},
	} {
		srv, err := rivulet.Start(context.Background(), tc.cfg)
		if err == nil {
			srv.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func keyClient(t *testing.T, endpoint, akid, secret string, tr *http.Transport) *kinesis.Client {
	t.Helper()
	if tr == nil {
		tr = &http.Transport{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return kinesis.New(kinesis.Options{
		BaseEndpoint:     aws.String(endpoint),
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		HTTPClient:       &http.Client{Transport: rivulet.SDKTransport(tr)},
		RetryMaxAttempts: 1,
	})
}

// TestSigV4 runs the whole server with signatures checked: each key works
// in its own account, and a wrong secret is refused as AWS refuses it,
// on the fast path and on net/http.
func TestSigV4(t *testing.T) {
	for _, disableFast := range []bool{false, true} {
		srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t), DisableHTTPFastPath: disableFast})
		ctx := context.Background()
		alice := keyClient(t, srv.Endpoint(), "AKIAALICE", "alice-secret", nil)
		roundTrip(t, alice, "a")
		sum, err := alice.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("a")})
		if err != nil || aws.ToString(sum.StreamDescriptionSummary.StreamARN) != "arn:aws:kinesis:eu-west-1:123456789012:stream/a" {
			t.Fatalf("%v %v", sum, err)
		}

		bob := keyClient(t, srv.Endpoint(), "AKIABOB", "bob-secret", nil)
		_, err = bob.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("a")})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "under account 210987654321") {
			t.Fatalf("bob sees alice's stream: %v", err)
		}

		for _, c := range []*kinesis.Client{
			keyClient(t, srv.Endpoint(), "AKIAALICE", "bob-secret", nil),
			keyClient(t, srv.Endpoint(), "123456789012", "x", nil),
		} {
			_, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || (ae.ErrorCode() != "InvalidSignatureException" && ae.ErrorCode() != "UnrecognizedClientException") {
				t.Fatalf("fast path off %v: %v", disableFast, err)
			}
		}
	}
}

// TestSigV4Subscribe: SubscribeToShard, an event stream over HTTP/2, is
// verified like every other operation.
func TestSigV4Subscribe(t *testing.T) {
	srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t)})
	ctx := context.Background()
	h2c := func() *http.Transport {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		return tr
	}
	alice := keyClient(t, srv.Endpoint(), "AKIAALICE", "alice-secret", h2c())
	if _, err := alice.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("sub"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	reg, err := alice.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:eu-west-1:123456789012:stream/sub"), ConsumerName: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	in := &kinesis.SubscribeToShardInput{ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}}

	wrong := keyClient(t, srv.Endpoint(), "AKIAALICE", "wrong", h2c())
	_, err = wrong.SubscribeToShard(ctx, in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}

	sub, err := alice.SubscribeToShard(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.GetStream().Close()
	if _, err := alice.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("sub"), PartitionKey: aws.String("k"), Data: []byte("pushed")}); err != nil {
		t.Fatal(err)
	}
	for ev := range sub.GetStream().Events() {
		if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok && len(e.Value.Records) > 0 {
			if string(e.Value.Records[0].Data) != "pushed" {
				t.Fatalf("got %q", e.Value.Records[0].Data)
			}
			return
		}
	}
	t.Fatalf("stream ended: %v", sub.GetStream().Err())
}

// TestSigV4OddHeaders: the fast path hands the verifier the host and the
// headers exactly as net/http does: repeated headers in order, inner
// spaces, a Host that is not the address dialled.
func TestSigV4OddHeaders(t *testing.T) {
	for _, disableFast := range []bool{false, true} {
		srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t), DisableHTTPFastPath: disableFast})
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		for _, host := range []string{"", "rivulet.example:8443", "LocalHost"} {
			body := []byte(`{}`)
			req, _ := http.NewRequest(http.MethodPost, srv.Endpoint()+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
			req.Header["X-Odd"] = []string{"a   b    c", "  second\tvalue  ", ""}
			req.Header.Set("X-Amz-Meta", "UPPER lower")
			if host != "" {
				req.Host = host
			}
			sum := sha256.Sum256(body)
			err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAALICE", SecretAccessKey: "alice-secret"},
				req, hex.EncodeToString(sum[:]), "kinesis", "eu-west-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("fast path off %v, host %q: %d %s", disableFast, host, resp.StatusCode, out)
			}
		}
	}
}
