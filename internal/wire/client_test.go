package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
	kds "github.com/rivulet/rivulet/internal/kinesis"
)

func sdkClient(t *testing.T, srv *httptest.Server, akid string) *kinesis.Client {
	t.Helper()
	return kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "eu-west-2",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: akid, SecretAccessKey: "secret"}, nil
		}),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// TestSDK drives the handler with the real aws-sdk-go-v2 client.
func TestSDK(t *testing.T) {
	h, rec, _ := testHandler(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := sdkClient(t, srv, "123456789012")

	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	d := sum.StreamDescriptionSummary
	if *d.StreamName != "s" || d.StreamStatus != types.StreamStatusActive || *d.OpenShardCount != 2 ||
		!d.StreamCreationTimestamp.Equal(created) || d.StreamModeDetails.StreamMode != types.StreamModeProvisioned {
		t.Fatalf("summary %+v (created %v)", d, d.StreamCreationTimestamp)
	}
	if _, caller := rec.last(); caller != (kds.Caller{Account: "123456789012", Region: "eu-west-2"}) {
		t.Fatalf("caller %+v", caller)
	}

	put, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("pk"), Data: []byte{0, 1, 0xfe}})
	if err != nil {
		t.Fatal(err)
	}
	if *put.ShardId != "shardId-000000000000" {
		t.Fatalf("put %+v", put)
	}
	in, _ := rec.last()
	if p := in.(*api.PutRecordInput); !bytes.Equal(p.Data, []byte{0, 1, 0xfe}) || *p.PartitionKey != "pk" {
		t.Fatalf("server saw %+v", p)
	}

	at := time.UnixMilli(1700000000123)
	if _, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: &at}); err != nil {
		t.Fatal(err)
	}
	in, _ = rec.last()
	if got := in.(*api.GetShardIteratorInput).Timestamp; got == nil || got.UnixMilli() != at.UnixMilli() {
		t.Fatalf("SDK timestamp decoded to %v", got)
	}

	recs, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("it")})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Records) != 1 || !bytes.Equal(recs.Records[0].Data, []byte{0, 1, 2, 0xff}) ||
		!recs.Records[0].ApproximateArrivalTimestamp.Equal(created) || *recs.NextShardIterator != "next" {
		t.Fatalf("records %+v", recs.Records)
	}

	if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("empty output: %v", err)
	}

	// Errors come back as the SDK's typed errors with AWS's message.
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("missing")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "Stream missing under account 123456789012 not found." {
		t.Fatalf("DeleteStream missing: %v", err)
	}
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("wrapped")})
	var riu *types.ResourceInUseException
	if !errors.As(err, &riu) || riu.ErrorMessage() != "Stream wrapped is busy." {
		t.Fatalf("DeleteStream wrapped: %v", err)
	}
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("boom")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" || ae.ErrorMessage() != internalFailureMessage {
		t.Fatalf("DeleteStream boom: %v", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("InternalFailure status: %v", err)
	}

	// A non-numeric access key leaves the default account.
	c2 := sdkClient(t, srv, "AKIAIOSFODNN7EXAMPLE")
	if _, err := c2.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, caller := rec.last(); caller != (kds.Caller{Account: "000000000000", Region: "eu-west-2"}) {
		t.Fatalf("caller %+v", caller)
	}
}

// TestSDKSerializationError checks the SDK reads the capital-M Message.
func TestSDKSerializationError(t *testing.T) {
	ops := map[string]kds.Operation{"ListStreams": kds.Op("ListStreams",
		func(context.Context, *api.ListStreamsInput) (*api.ListStreamsOutput, error) {
			return nil, serializationError("class java.lang.Boolean can not be converted to an String")
		})}
	srv := httptest.NewServer(New(ops, Options{}))
	t.Cleanup(srv.Close)
	_, err := sdkClient(t, srv, "123456789012").ListStreams(context.Background(), &kinesis.ListStreamsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SerializationException" ||
		ae.ErrorMessage() != "class java.lang.Boolean can not be converted to an String" {
		t.Fatalf("got %v", err)
	}
}

// TestHTTP2Cleartext serves HTTP/1.1 and h2c (prior knowledge, as the JS SDK
// v3 does) on one port.
func TestHTTP2Cleartext(t *testing.T) {
	h, _, _ := testHandler(t)
	var sawProto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawProto.Store(int32(r.ProtoMajor))
		h.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)

	body, err := cbor.Marshal(map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		proto func(*http.Protocols)
		major int
	}{
		{"h2c", func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, 2},
		{"http1", func(p *http.Protocols) { p.SetHTTP1(true) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{Protocols: new(http.Protocols)}
			tc.proto(tr.Protocols)
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("POST", srv.URL+"/", bytes.NewReader(body))
			for k, v := range signed(TargetPrefix+".PutRecord", ContentTypeCBOR) {
				req.Header.Set(k, v)
			}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.ProtoMajor != tc.major || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentTypeCBOR {
				t.Fatalf("proto %d status %d type %q body %x", resp.ProtoMajor, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if !uuidRE.MatchString(resp.Header.Get("X-Amzn-Requestid")) {
				t.Fatalf("request id %q", resp.Header.Get("X-Amzn-Requestid"))
			}
			var out api.PutRecordOutput
			if err := cbor.Unmarshal(b, &out); err != nil || out.ShardId != "shardId-000000000000" {
				t.Fatalf("output %x: %v", b, err)
			}
			if got := sawProto.Load(); got != int32(tc.major) {
				t.Fatalf("server saw HTTP/%d", got)
			}
		})
	}
}
