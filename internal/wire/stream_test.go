package wire

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/api"
	kds "github.com/rivulet/rivulet/internal/kinesis"
)

// hotOps answers GetRecords, PutRecords and PutRecord with fixed outputs.
func hotOps(get *api.GetRecordsOutput, puts *api.PutRecordsOutput, put *api.PutRecordOutput) map[string]kds.Operation {
	ops := []kds.Operation{
		kds.Op("GetRecords", func(context.Context, *api.GetRecordsInput) (*api.GetRecordsOutput, error) { return get, nil }),
		kds.Op("PutRecords", func(context.Context, *api.PutRecordsInput) (*api.PutRecordsOutput, error) { return puts, nil }),
		kds.Op("PutRecord", func(context.Context, *api.PutRecordInput) (*api.PutRecordOutput, error) { return put, nil }),
	}
	m := map[string]kds.Operation{}
	for _, op := range ops {
		m[op.Name] = op
	}
	return m
}

// TestHotJSONResponses checks headers and bodies of streamed responses
// against what encoding/json renders, and that CBOR is untouched.
func TestHotJSONResponses(t *testing.T) {
	sn, code, msg := "1", "ProvisionedThroughputExceededException", "Rate exceeded for shard \"x\" \u2028"
	get := tenThousand()
	get.Records[3].PartitionKey = "\x00<\xff>\u2029\"\\"
	puts := &api.PutRecordsOutput{FailedRecordCount: 1, Records: []api.PutRecordsResultEntry{
		{SequenceNumber: &sn, ShardId: &sn}, {ErrorCode: &code, ErrorMessage: &msg}}}
	put := &api.PutRecordOutput{ShardId: "shardId-000000000000", SequenceNumber: "2", EncryptionType: "KMS"}
	h := New(hotOps(get, puts, put), Options{})
	for op, out := range map[string]any{"GetRecords": get, "PutRecords": puts, "PutRecord": put} {
		want, err := genericJSON(out)
		if err != nil {
			t.Fatal(err)
		}
		r := callJSON(t, h, op, `{}`)
		if r.status != 200 || !bytes.Equal(r.body, want) {
			t.Fatalf("%s: status %d, body of %d bytes differs from encoding/json's %d", op, r.status, len(r.body), len(want))
		}
		if r.get("Content-Length") != strconv.Itoa(len(want)) || r.get("Content-Type") != ContentTypeJSON ||
			!uuidRE.MatchString(r.get(headerRequestID)) || r.get(headerErrorType) != "" {
			t.Fatalf("%s: headers %v", op, r.header)
		}
		wantCBOR, err := cborEnc.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		r = callCBOR(t, h, op, map[string]any{})
		if r.status != 200 || !bytes.Equal(r.body, wantCBOR) || r.get("Content-Length") != strconv.Itoa(len(wantCBOR)) {
			t.Fatalf("%s CBOR: status %d, %d bytes", op, r.status, len(r.body))
		}
	}
}

// TestHotJSONEncodeError: a timestamp encoding/json cannot render still
// gives the InternalFailure it always did, not a truncated 200.
func TestHotJSONEncodeError(t *testing.T) {
	get := &api.GetRecordsOutput{Records: []api.Record{
		{ApproximateArrivalTimestamp: *api.NewTime(created)},
		{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(math.MinInt64)}},
	}}
	logs := &syncBuffer{}
	h := New(hotOps(get, nil, nil), Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r := callJSON(t, h, "GetRecords", `{}`)
	want := `{"__type":"InternalFailure","message":"` + internalFailureMessage + `"}`
	if r.status != 500 || string(r.body) != want || r.get(headerErrorType) != "InternalFailure" ||
		r.get("Content-Length") != strconv.Itoa(len(want)) || !uuidRE.MatchString(r.get(headerRequestID)) {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	if !contains(logs.String(), "wire: unexpected error") || !contains(logs.String(), "MarshalJSON") {
		t.Fatalf("log: %s", logs.String())
	}
}

// bufferedBody hands net/http a copy of the request body. The SDK closes
// its request body as soon as the response arrives; a writeLoop that had
// not yet read the body's EOF (a starved machine) then fails, closes the
// connection and cuts the response short: "use of closed network
// connection" (aws/aws-sdk-go-v2#2737). That is the client's race, not the
// server's answer, which is what the test is about.
type bufferedBody struct{ hc *http.Client }

func (b bufferedBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return b.hc.Do(req)
}

// TestGetRecordsLargeSDK sends a full GetRecords (10,000 × 1 KiB) over real
// HTTP/1.1 and h2c connections and has aws-sdk-go-v2 decode it.
func TestGetRecordsLargeSDK(t *testing.T) {
	get := tenThousand()
	want, err := genericJSON(get)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(New(hotOps(get, nil, nil), Options{}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name  string
		proto func(*http.Protocols)
		major int
	}{
		{"http1", func(p *http.Protocols) { p.SetHTTP1(true) }, 1},
		{"h2c", func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{Protocols: new(http.Protocols)}
			tc.proto(tr.Protocols)
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}

			// The raw response: declared length, bytes, protocol.
			req, _ := http.NewRequest("POST", srv.URL+"/", bytes.NewReader([]byte(`{"ShardIterator":"it"}`)))
			for k, v := range signed(TargetPrefix+".GetRecords", ContentTypeJSON) {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.ProtoMajor != tc.major || resp.StatusCode != 200 ||
				resp.ContentLength != int64(len(want)) || !bytes.Equal(body, want) {
				t.Fatalf("HTTP/%d %d, Content-Length %d, %d bytes (%v); want %d bytes",
					resp.ProtoMajor, resp.StatusCode, resp.ContentLength, len(body), err, len(want))
			}

			c := kinesis.New(kinesis.Options{
				BaseEndpoint: aws.String(srv.URL),
				Region:       "us-east-1",
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
				}),
				HTTPClient:       bufferedBody{hc},
				RetryMaxAttempts: 1,
			})
			out, err := c.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: aws.String("it")})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) != len(get.Records) || *out.NextShardIterator != *get.NextShardIterator ||
				*out.MillisBehindLatest != get.MillisBehindLatest || len(out.ChildShards) != 0 {
				t.Fatalf("%d records, next %q, behind %d", len(out.Records), *out.NextShardIterator, *out.MillisBehindLatest)
			}
			for i, r := range out.Records {
				w := get.Records[i]
				if *r.SequenceNumber != w.SequenceNumber || *r.PartitionKey != w.PartitionKey || !bytes.Equal(r.Data, w.Data) ||
					r.ApproximateArrivalTimestamp.UnixMilli() != w.ApproximateArrivalTimestamp.UnixMilli() || r.EncryptionType != "" {
					t.Fatalf("record %d: %+v\nwant %+v", i, r, w)
				}
			}
		})
	}
}
