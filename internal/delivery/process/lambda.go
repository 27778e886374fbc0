package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Lambda's synchronous invocation limits: 6 MB each way.
const (
	maxRequestBytes  = 6 << 20
	maxResponseBytes = 6 << 20
	// invokeTimeout is Firehose's cap on one invocation.
	invokeTimeout = 5 * time.Minute
	// recordOverhead is a generous estimate of one record's JSON around
	// its ID, data and Kinesis metadata.
	recordOverhead = 256
	eventOverhead  = 1024
)

// AWS's error-record messages for the Lambda contract.
const (
	msgMissingRecordID    = "One or more record Ids were not returned. Ensure that the Lambda function returns all received record Ids."
	msgDuplicatedRecordID = "Multiple records were returned with the same record Id. Ensure that the Lambda function returns a unique record Id for each record."
	msgJSONProcessing     = "There was an error parsing returned records from the Lambda function. Ensure that the returned records follow the status model required by Kinesis Firehose."
	msgFunctionError      = "The Lambda function was successfully invoked but it returned an error result."
	msgBadFormat          = "Check your function and make sure the output is in required format. In addition to that, make sure the processed records contain valid result status of Dropped, Ok, or ProcessingFailed"
	msgProcessingFailed   = "ProcessingFailed status set for record"
	msgAccessDenied       = "Access was denied. Ensure that the access policy allows access to the Lambda function."
	msgTimedOut           = "The Lambda function invocation timed out. Increase the Timeout setting in the Lambda function."
)

// The event Firehose sends and the response it expects (the shapes of
// aws-lambda-go's KinesisFirehoseEvent and KinesisFirehoseResponse).
type lambdaEvent struct {
	InvocationID           string        `json:"invocationId"`
	DeliveryStreamArn      string        `json:"deliveryStreamArn"`
	SourceKinesisStreamArn string        `json:"sourceKinesisStreamArn,omitempty"`
	Region                 string        `json:"region"`
	Records                []eventRecord `json:"records"`
}

type eventRecord struct {
	RecordID                    string           `json:"recordId"`
	ApproximateArrivalTimestamp int64            `json:"approximateArrivalTimestamp"`
	Data                        []byte           `json:"data"`
	KinesisRecordMetadata       *kinesisMetadata `json:"kinesisRecordMetadata,omitempty"`
}

type kinesisMetadata struct {
	ShardID                     string `json:"shardId"`
	PartitionKey                string `json:"partitionKey"`
	SequenceNumber              string `json:"sequenceNumber"`
	SubsequenceNumber           uint64 `json:"subsequenceNumber"`
	ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
}

type lambdaResponse struct {
	Records *[]responseRecord `json:"records"`
	// A function error's body, from runtimes that report it in a 200.
	ErrorMessage *string `json:"errorMessage"`
	ErrorType    *string `json:"errorType"`
}

type responseRecord struct {
	RecordID *string `json:"recordId"`
	Result   *string `json:"result"`
	Data     *string `json:"data"`
	Metadata *struct {
		PartitionKeys map[string]json.RawMessage `json:"partitionKeys"`
	} `json:"metadata"`
}

type lambdaInvoker struct {
	cfg     *lambdaConfig
	url     string
	opts    Options
	client  *http.Client
	backoff time.Duration // before the first retry, doubled after each
}

func newLambdaInvoker(cfg *lambdaConfig, url string, opts Options) *lambdaInvoker {
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &lambdaInvoker{cfg: cfg, url: url, opts: opts, client: client, backoff: 200 * time.Millisecond}
}

// failure is an invocation's outcome when it failed as a whole.
type failure struct {
	code, msg string
	retry     bool
}

func (l *lambdaInvoker) run(ctx context.Context, recs []Record, failed []Failed) ([]Record, []Failed, error) {
	out := make([]Record, 0, len(recs))
	for _, chunk := range l.chunks(recs) {
		kept, bad, err := l.invoke(ctx, chunk)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, kept...)
		failed = append(failed, bad...)
	}
	return out, failed, nil
}

// chunks splits recs into invocations of at most BufferSizeInMBs of data
// and a request of at most 6 MB; a record larger than either goes alone.
func (l *lambdaInvoker) chunks(recs []Record) [][]Record {
	var out [][]Record
	start, data, req := 0, 0, eventOverhead
	for i, r := range recs {
		rreq := base64.StdEncoding.EncodedLen(len(r.Data)) + 2*len(r.ID) + recordOverhead
		if r.Kinesis != nil {
			rreq += len(r.Kinesis.ShardID) + len(r.Kinesis.PartitionKey) + len(r.Kinesis.SequenceNumber) + recordOverhead
		}
		if i > start && (data+len(r.Data) > l.cfg.bufferBytes || req+rreq > maxRequestBytes) {
			out = append(out, recs[start:i])
			start, data, req = i, 0, eventOverhead
		}
		data += len(r.Data)
		req += rreq
	}
	if start < len(recs) {
		out = append(out, recs[start:])
	}
	return out
}

// invoke runs one invocation with its retries and sorts its records.
func (l *lambdaInvoker) invoke(ctx context.Context, recs []Record) (kept []Record, bad []Failed, err error) {
	ev := lambdaEvent{
		InvocationID:           uuid.NewString(),
		DeliveryStreamArn:      l.opts.DeliveryStreamARN,
		SourceKinesisStreamArn: l.opts.SourceStreamARN,
		Region:                 l.opts.Region,
		Records:                make([]eventRecord, len(recs)),
	}
	for i, r := range recs {
		er := eventRecord{RecordID: r.ID, ApproximateArrivalTimestamp: r.Arrival.UnixMilli(), Data: r.Data}
		if er.Data == nil {
			er.Data = []byte{} // "", not null
		}
		if k := r.Kinesis; k != nil {
			er.KinesisRecordMetadata = &kinesisMetadata{
				ShardID: k.ShardID, PartitionKey: k.PartitionKey, SequenceNumber: k.SequenceNumber,
				SubsequenceNumber: k.SubsequenceNumber, ApproximateArrivalTimestamp: k.Arrival.UnixMilli(),
			}
		}
		ev.Records[i] = er
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("process: encoding the Lambda event: %w", err)
	}
	attempts := 0
	var f *failure
	for {
		attempts++
		var resp []byte
		resp, f = l.post(ctx, body)
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if f == nil {
			kept, bad, f = l.sort(recs, resp, attempts)
			if f == nil {
				return kept, bad, nil
			}
		}
		if !f.retry || attempts > l.cfg.retries {
			break
		}
		slog.Warn("lambda invocation failed; retrying", "url", l.url, "attempt", attempts, "code", f.code, "error", f.msg)
		wait := l.backoff << min(attempts-1, 6)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	slog.Warn("lambda invocation failed", "url", l.url, "attempts", attempts, "records", len(recs), "code", f.code, "error", f.msg)
	for _, r := range recs {
		bad = append(bad, Failed{Record: r, Code: f.code, Message: f.msg, Attempts: attempts, LambdaARN: l.cfg.arn})
	}
	return nil, bad, nil
}

// post makes one HTTP invocation and returns the response body.
func (l *lambdaInvoker) post(ctx context.Context, body []byte) ([]byte, *failure) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return nil, &failure{CodeServiceUnavailable, "The Lambda function could not be invoked: " + err.Error(), true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	resp, err := l.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &failure{CodeFunctionTimedOut, msgTimedOut, true}
		}
		return nil, &failure{CodeServiceUnavailable, "The Lambda function could not be invoked: " + err.Error(), true}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &failure{CodeFunctionTimedOut, msgTimedOut, true}
		}
		return nil, &failure{CodeServiceUnavailable, "The Lambda function's response could not be read: " + err.Error(), true}
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return nil, &failure{CodeInvokeAccessDenied, msgAccessDenied, true}
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &failure{CodeInvokeLimitExceeded, "The Lambda concurrent execution limit was exceeded (HTTP 429).", true}
	case resp.StatusCode == http.StatusNotFound:
		return nil, &failure{CodeResourceNotFound, "The Lambda function was not found (HTTP 404).", true}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, &failure{CodeFunctionError, fmt.Sprintf("The Lambda function invocation failed with HTTP status %d.", resp.StatusCode), true}
	case resp.Header.Get("X-Amz-Function-Error") != "":
		return nil, &failure{CodeFunctionError, msgFunctionError, true}
	case len(data) > maxResponseBytes:
		return nil, &failure{CodeJSONProcessingException, "The Lambda function's response is larger than 6 MB.", false}
	}
	return data, nil
}

// sort checks a response against the invocation's records: every record
// ID exactly once, else the whole invocation fails.
func (l *lambdaInvoker) sort(recs []Record, body []byte, attempts int) ([]Record, []Failed, *failure) {
	var resp lambdaResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, nil, &failure{CodeJSONProcessingException, msgJSONProcessing, false}
	}
	if resp.Records == nil {
		if resp.ErrorMessage != nil || resp.ErrorType != nil {
			return nil, nil, &failure{CodeFunctionError, msgFunctionError, true}
		}
		if len(recs) > 0 {
			return nil, nil, &failure{CodeMissingRecordID, msgMissingRecordID, false}
		}
	}
	byID := make(map[string]int, len(recs))
	for i, r := range recs {
		byID[r.ID] = i
	}
	results := make([]*responseRecord, len(recs))
	if resp.Records != nil {
		for j := range *resp.Records {
			rr := &(*resp.Records)[j]
			if rr.RecordID == nil {
				return nil, nil, &failure{CodeMissingRecordID, msgMissingRecordID, false}
			}
			i, ok := byID[*rr.RecordID]
			if !ok {
				// A record the invocation never carried names nothing to
				// deliver; the missing-ID check catches a mismatch.
				continue
			}
			if results[i] != nil {
				return nil, nil, &failure{CodeDuplicatedRecordID, msgDuplicatedRecordID, false}
			}
			results[i] = rr
		}
	}
	var kept []Record
	var bad []Failed
	for i, rr := range results {
		if rr == nil {
			return nil, nil, &failure{CodeMissingRecordID, msgMissingRecordID, false}
		}
		r := recs[i]
		switch strOrEmpty(rr.Result) {
		case "Ok":
			if rr.Data == nil {
				return nil, nil, &failure{CodeFunctionError, msgBadFormat, false}
			}
			data, err := base64.StdEncoding.DecodeString(*rr.Data)
			if err != nil {
				return nil, nil, &failure{CodeJSONProcessingException, msgJSONProcessing, false}
			}
			keys, ok := partitionKeys(rr)
			if !ok {
				return nil, nil, &failure{CodeJSONProcessingException, msgJSONProcessing, false}
			}
			r.Data, r.Lambda = data, keys
			kept = append(kept, r)
		case "Dropped":
		case "ProcessingFailed":
			bad = append(bad, Failed{Record: r, Code: CodeProcessingFailedStatus, Message: msgProcessingFailed, Attempts: attempts, LambdaARN: l.cfg.arn})
		default:
			return nil, nil, &failure{CodeFunctionError, msgBadFormat, false}
		}
	}
	return kept, bad, nil
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// partitionKeys reads metadata.partitionKeys, taking numbers and booleans
// as their text as well as strings.
func partitionKeys(rr *responseRecord) (map[string]string, bool) {
	if rr.Metadata == nil || rr.Metadata.PartitionKeys == nil {
		return nil, true
	}
	keys := make(map[string]string, len(rr.Metadata.PartitionKeys))
	for k, raw := range rr.Metadata.PartitionKeys {
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, false
		}
		if v == nil {
			continue
		}
		s, ok := scalarString(v)
		if !ok {
			return nil, false
		}
		keys[k] = s
	}
	return keys, true
}
