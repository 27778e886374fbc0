package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kinesis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder keeps what the fake operations saw.
type recorder struct {
	mu     sync.Mutex
	input  any
	caller kinesis.Caller
}

func (r *recorder) saw(ctx context.Context, in any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.input, r.caller = in, kinesis.CallerFrom(ctx)
}

func (r *recorder) last() (any, kinesis.Caller) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.input, r.caller
}

var (
	// 2017-09-26T15:36:28.749Z
	created = time.UnixMilli(1506440188749).UTC()
	wholeS  = time.Unix(1506440188, 0).UTC()
)

// failures are what DeleteStream returns, by stream name.
var failures = map[string]error{
	"missing":  kinesis.Errorf(kinesis.ErrResourceNotFound, "Stream missing under account 123456789012 not found."),
	"wrapped":  errors.Join(errors.New("lookup"), kinesis.Errorf(kinesis.ErrResourceInUse, "Stream wrapped is busy.")),
	"internal": kinesis.Errorf(kinesis.ErrInternal, "store unavailable"),
	"boom":     errors.New("secret database detail"),
	"bare":     kinesis.ErrLimitExceeded,
}

// fakeOps is a small service with no storage.
func fakeOps(rec *recorder) map[string]kinesis.Operation {
	ops := []kinesis.Operation{
		kinesis.Op("PutRecord", func(ctx context.Context, in *api.PutRecordInput) (*api.PutRecordOutput, error) {
			rec.saw(ctx, in)
			return &api.PutRecordOutput{ShardId: "shardId-000000000000", SequenceNumber: "49590338271490256608559692538361571095921575989136588898"}, nil
		}),
		kinesis.Op("PutRecords", func(ctx context.Context, in *api.PutRecordsInput) (*api.PutRecordsOutput, error) {
			rec.saw(ctx, in)
			return &api.PutRecordsOutput{Records: []api.PutRecordsResultEntry{}}, nil
		}),
		kinesis.Op("CreateStream", func(ctx context.Context, in *api.CreateStreamInput) (*api.CreateStreamOutput, error) {
			rec.saw(ctx, in)
			return &api.CreateStreamOutput{}, nil
		}),
		kinesis.Op("ListStreams", func(ctx context.Context, in *api.ListStreamsInput) (*api.ListStreamsOutput, error) {
			rec.saw(ctx, in)
			return nil, nil // an empty output
		}),
		kinesis.Op("ListShards", func(ctx context.Context, in *api.ListShardsInput) (*api.ListShardsOutput, error) {
			rec.saw(ctx, in)
			return &api.ListShardsOutput{}, nil
		}),
		kinesis.Op("GetShardIterator", func(ctx context.Context, in *api.GetShardIteratorInput) (*api.GetShardIteratorOutput, error) {
			rec.saw(ctx, in)
			return &api.GetShardIteratorOutput{ShardIterator: "AAAA"}, nil
		}),
		kinesis.Op("DeleteStream", func(ctx context.Context, in *api.DeleteStreamInput) (*api.DeleteStreamOutput, error) {
			rec.saw(ctx, in)
			if in.StreamName != nil && *in.StreamName == "panic" {
				panic("fake operation panicked")
			}
			if in.StreamName != nil {
				if err := failures[*in.StreamName]; err != nil {
					return nil, err
				}
			}
			return &api.DeleteStreamOutput{}, nil
		}),
		kinesis.Op("DescribeStreamSummary", func(ctx context.Context, in *api.DescribeStreamSummaryInput) (*api.DescribeStreamSummaryOutput, error) {
			rec.saw(ctx, in)
			ts := created
			if in.StreamName != nil && *in.StreamName == "whole" {
				ts = wholeS
			}
			return &api.DescribeStreamSummaryOutput{StreamDescriptionSummary: api.StreamDescriptionSummary{
				StreamName:              "s",
				StreamARN:               "arn:aws:kinesis:eu-west-2:123456789012:stream/s",
				StreamStatus:            api.StatusActive,
				StreamModeDetails:       &api.StreamModeDetails{StreamMode: strp(api.ModeProvisioned)},
				RetentionPeriodHours:    24,
				StreamCreationTimestamp: *api.NewTime(ts),
				EnhancedMonitoring:      []api.EnhancedMetrics{{ShardLevelMetrics: []string{}}},
				EncryptionType:          api.EncryptionNone,
				OpenShardCount:          2,
			}}, nil
		}),
		kinesis.Op("GetRecords", func(ctx context.Context, in *api.GetRecordsInput) (*api.GetRecordsOutput, error) {
			rec.saw(ctx, in)
			return &api.GetRecordsOutput{
				Records: []api.Record{{
					SequenceNumber:              "1",
					ApproximateArrivalTimestamp: *api.NewTime(created),
					Data:                        []byte{0, 1, 2, 0xff},
					PartitionKey:                "k",
				}},
				NextShardIterator:  strp("next"),
				MillisBehindLatest: 0,
			}, nil
		}),
	}
	m := make(map[string]kinesis.Operation, len(ops))
	for _, op := range ops {
		m[op.Name] = op
	}
	return m
}

func strp(s string) *string { return &s }

// testHandler returns a handler over fakeOps, logging into a buffer.
func testHandler(t *testing.T) (*Handler, *recorder, *syncBuffer) {
	t.Helper()
	rec := &recorder{}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(fakeOps(rec), Options{Logger: logger}), rec, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// signed are headers of a request signed the way the SDKs sign.
func signed(target, contentType string) map[string]string {
	return map[string]string{
		"X-Amz-Target":  target,
		"Content-Type":  contentType,
		"X-Amz-Date":    "20240101T000000Z",
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-west-2/kinesis/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=abc123",
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// header returns a response header whichever way its name was spelt.
func (r response) get(name string) string {
	if v, ok := r.header[name]; ok && len(v) > 0 {
		return v[0]
	}
	return r.header.Get(name)
}

func serve(t *testing.T, h http.Handler, method, target string, headers map[string]string, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for k, v := range headers {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func callJSON(t *testing.T, h http.Handler, op, body string) response {
	t.Helper()
	return serve(t, h, http.MethodPost, "/", signed(TargetPrefix+"."+op, ContentTypeJSON), []byte(body))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
