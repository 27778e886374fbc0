package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/fxamacker/cbor/v2"
)

// cborCall posts one CBOR 1.1 request, as the Java SDKs do by default.
func cborCall(t *testing.T, s *server, op string, in any, out any) (int, http.Header) {
	t.Helper()
	body, err := cbor.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.endpoint()+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-cbor-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	signRaw(t, req, body)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-cbor-1.1" {
		t.Fatalf("%s answered in %q", op, ct)
	}
	if err := cbor.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: bad CBOR %x: %v", op, raw, err)
	}
	return resp.StatusCode, resp.Header
}

// TestCBOR drives a stream end to end in CBOR and checks AWS's timestamp
// quirk: tag 1 wraps integer epoch milliseconds, not seconds.
func TestCBOR(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := context.Background()
	createStream(ctx, t, s.kinesis(), "cbor", 1)
	before := time.Now().Add(-time.Second)

	var put struct{ SequenceNumber string }
	code, _ := cborCall(t, s, "PutRecord", map[string]any{"StreamName": "cbor", "PartitionKey": "pk", "Data": []byte{0, 1, 2, 0xff}}, &put)
	if code != 200 || len(put.SequenceNumber) != 56 {
		t.Fatalf("PutRecord: %d %+v", code, put)
	}
	var it struct{ ShardIterator string }
	cborCall(t, s, "GetShardIterator", map[string]any{"StreamName": "cbor", "ShardId": "shardId-000000000000",
		"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: before.UnixMilli()}}, &it)
	if it.ShardIterator == "" {
		t.Fatal("GetShardIterator returned no iterator")
	}
	var got struct {
		Records []struct {
			Data                        cbor.RawMessage
			ApproximateArrivalTimestamp cbor.RawTag
			SequenceNumber              string
		}
	}
	cborCall(t, s, "GetRecords", map[string]any{"ShardIterator": it.ShardIterator}, &got)
	if len(got.Records) != 1 || got.Records[0].SequenceNumber != put.SequenceNumber {
		t.Fatalf("GetRecords: %+v", got)
	}
	rec := got.Records[0]
	// 0x44: a byte string of length 4, not base64 text.
	if !bytes.Equal(rec.Data, []byte{0x44, 0, 1, 2, 0xff}) {
		t.Fatalf("Data encoded as %x; want a CBOR byte string", []byte(rec.Data))
	}
	var ms uint64
	if rec.ApproximateArrivalTimestamp.Number != 1 || cbor.Unmarshal(rec.ApproximateArrivalTimestamp.Content, &ms) != nil {
		t.Fatalf("timestamp is %+v; want tag 1 around an integer", rec.ApproximateArrivalTimestamp)
	}
	if int64(ms) < before.UnixMilli() || int64(ms) > time.Now().UnixMilli() {
		t.Fatalf("timestamp content %d is not epoch milliseconds of now", ms)
	}

	// Errors in CBOR carry the same type and message.
	var e struct {
		Type    string `cbor:"__type"`
		Message string `cbor:"message"`
	}
	code, hdr := cborCall(t, s, "DescribeStream", map[string]any{"StreamName": "missing"}, &e)
	if code != 400 || e.Type != "ResourceNotFoundException" ||
		e.Message != "Stream missing under account 000000000000 not found." || hdr.Get("x-amzn-RequestId") == "" {
		t.Fatalf("CBOR error: %d %+v", code, e)
	}
}

// TestTLS serves the SDK over --tls-port with the certificate the server
// generated in its data directory, negotiating HTTP/2 by ALPN.
func TestTLS(t *testing.T) {
	port := freePort(t)
	s := startServer(t, serverOptions{extra: []string{"--tls-port", strconv.Itoa(port)}})
	pemBytes, err := os.ReadFile(filepath.Join(s.dataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatalf("generated certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("certificate is not PEM")
	}
	var proto string
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := tr.RoundTrip(r)
		if err == nil {
			proto = resp.Proto
		}
		return resp, err
	})}
	c := kinesis.NewFromConfig(aws.Config{
		Region: region, HTTPClient: hc, Retryer: func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 1) },
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
	}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String("https://localhost:" + strconv.Itoa(port)) })
	ctx := context.Background()
	createStream(ctx, t, c, "tls", 1)
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("tls"), PartitionKey: aws.String("k"), Data: []byte("over tls")}); err != nil {
		t.Fatal(err)
	}
	recs := readAll(ctx, t, c, "tls")
	if len(recs) != 1 || recs[0].Data != "over tls" {
		t.Fatalf("read %+v", recs)
	}
	if proto != "HTTP/2.0" {
		t.Fatalf("TLS negotiated %q, want HTTP/2.0", proto)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
