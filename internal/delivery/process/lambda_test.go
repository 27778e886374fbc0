package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLambda is an HTTP server acting as the transformation function.
type fakeLambda struct {
	*httptest.Server
	mu     sync.Mutex
	events []lambdaEvent
	raws   [][]byte
	paths  []string
	// respond writes the reply to the n-th call (from 1).
	respond func(w http.ResponseWriter, ev lambdaEvent, n int)
}

func newFakeLambda(t *testing.T, respond func(w http.ResponseWriter, ev lambdaEvent, n int)) *fakeLambda {
	t.Helper()
	f := &fakeLambda{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev lambdaEvent
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &ev) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.raws = append(f.raws, body)
		f.paths = append(f.paths, r.URL.RequestURI())
		n := len(f.events)
		f.mu.Unlock()
		f.respond(w, ev, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLambda) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

type reply struct {
	RecordID string         `json:"recordId"`
	Result   string         `json:"result"`
	Data     string         `json:"data,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func writeReplies(w http.ResponseWriter, rs []reply) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"records": rs})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// upper transforms every record to upper case.
func upper(w http.ResponseWriter, ev lambdaEvent, _ int) {
	var rs []reply
	for _, r := range ev.Records {
		rs = append(rs, reply{RecordID: r.RecordID, Result: "Ok", Data: b64(strings.ToUpper(string(r.Data)))})
	}
	writeReplies(w, rs)
}

func lambdaPipeline(t *testing.T, url string, extra ...string) *Pipeline {
	t.Helper()
	p := mustNew(t, processing(processor("Lambda", append([]string{"LambdaArn", url}, extra...)...)), Options{
		DeliveryStreamARN: "arn:aws:firehose:us-east-1:000000000000:deliverystream/s",
		Region:            "us-east-1",
		SourceStreamARN:   "arn:aws:kinesis:us-east-1:000000000000:stream/src",
	})
	p.lambda.backoff = time.Millisecond
	return p
}

func records(n int) []Record {
	at := time.UnixMilli(1700000000123)
	var recs []Record
	for i := range n {
		recs = append(recs, Record{ID: fmt.Sprintf("r%d", i), Data: []byte(fmt.Sprintf("rec-%d", i)), Arrival: at})
	}
	return recs
}

func TestLambdaMixedResults(t *testing.T) {
	f := newFakeLambda(t, func(w http.ResponseWriter, ev lambdaEvent, _ int) {
		writeReplies(w, []reply{
			{RecordID: ev.Records[3].RecordID, Result: "Ok", Data: b64("four")},
			{RecordID: ev.Records[0].RecordID, Result: "Ok", Data: b64("one"), Metadata: map[string]any{"partitionKeys": map[string]any{"customer": "c1", "n": 7, "flag": true}}},
			{RecordID: ev.Records[1].RecordID, Result: "Dropped"},
			{RecordID: ev.Records[2].RecordID, Result: "ProcessingFailed", Data: b64("x")},
		})
	})
	p := lambdaPipeline(t, f.URL)
	recs := records(4)
	recs[0].Kinesis = &KinesisMetadata{ShardID: "shardId-000000000001", PartitionKey: "pk", SequenceNumber: "4954", SubsequenceNumber: 2, Arrival: time.UnixMilli(1700000000001)}
	out, failed := mustRun(t, p, recs)

	if got, want := datas(out), []string{"one", "four"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %q, want %q (input order)", got, want)
	}
	if got, want := out[0].Lambda, map[string]string{"customer": "c1", "n": "7", "flag": "true"}; !reflect.DeepEqual(got, want) {
		t.Errorf("partition keys %v, want %v", got, want)
	}
	if out[1].Lambda != nil || out[0].ID != "r0" || out[0].Kinesis == nil || !out[0].Arrival.Equal(recs[0].Arrival) {
		t.Errorf("record identity not kept: %+v", out)
	}
	if len(failed) != 1 || failed[0].Record.ID != "r2" || failed[0].Code != "Lambda.ProcessingFailedStatus" ||
		failed[0].Attempts != 1 || failed[0].LambdaARN != f.URL || string(failed[0].Record.Data) != "rec-2" {
		t.Errorf("failed = %+v", failed)
	}

	ev := f.events[0]
	if ev.InvocationID == "" || ev.DeliveryStreamArn != "arn:aws:firehose:us-east-1:000000000000:deliverystream/s" ||
		ev.Region != "us-east-1" || ev.SourceKinesisStreamArn != "arn:aws:kinesis:us-east-1:000000000000:stream/src" {
		t.Errorf("event header %+v", ev)
	}
	r0 := ev.Records[0]
	if r0.RecordID != "r0" || string(r0.Data) != "rec-0" || r0.ApproximateArrivalTimestamp != 1700000000123 {
		t.Errorf("event record %+v", r0)
	}
	if m := r0.KinesisRecordMetadata; m == nil || m.ShardID != "shardId-000000000001" || m.PartitionKey != "pk" ||
		m.SequenceNumber != "4954" || m.SubsequenceNumber != 2 || m.ApproximateArrivalTimestamp != 1700000000001 {
		t.Errorf("kinesis metadata %+v", r0.KinesisRecordMetadata)
	}
	if ev.Records[1].KinesisRecordMetadata != nil {
		t.Errorf("record without Kinesis origin got metadata")
	}
}

func TestLambdaWireFormat(t *testing.T) {
	// The raw JSON, not our own types, must carry AWS's member names.
	f := newFakeLambda(t, upper)
	p := lambdaPipeline(t, f.URL)
	in := records(2)
	in[1].Data = nil
	mustRun(t, p, in)
	var raw map[string]any
	if err := json.Unmarshal(f.raws[0], &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"invocationId", "deliveryStreamArn", "region", "records", "sourceKinesisStreamArn"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("event lacks %q: %v", k, raw)
		}
	}
	rec := raw["records"].([]any)[0].(map[string]any)
	if rec["data"] != b64("rec-0") || rec["recordId"] != "r0" || rec["approximateArrivalTimestamp"] != float64(1700000000123) {
		t.Errorf("record JSON %v", rec)
	}
	if d := raw["records"].([]any)[1].(map[string]any)["data"]; d != "" {
		t.Errorf("empty record's data is %#v, want \"\"", d)
	}
}

func TestLambdaWholeInvocationFailures(t *testing.T) {
	cases := []struct {
		name    string
		respond func(w http.ResponseWriter, ev lambdaEvent, n int)
		code    string
	}{
		{"missing", func(w http.ResponseWriter, ev lambdaEvent, _ int) {
			writeReplies(w, []reply{{RecordID: ev.Records[0].RecordID, Result: "Ok", Data: b64("a")}})
		}, "Lambda.MissingRecordId"},
		{"duplicated", func(w http.ResponseWriter, ev lambdaEvent, _ int) {
			writeReplies(w, []reply{
				{RecordID: ev.Records[0].RecordID, Result: "Ok", Data: b64("a")},
				{RecordID: ev.Records[1].RecordID, Result: "Ok", Data: b64("b")},
				{RecordID: ev.Records[0].RecordID, Result: "Ok", Data: b64("c")},
			})
		}, "Lambda.DuplicatedRecordId"},
		{"garbage", func(w http.ResponseWriter, _ lambdaEvent, _ int) {
			_, _ = io.WriteString(w, "this is not json{")
		}, "Lambda.JsonProcessingException"},
		{"bad base64", func(w http.ResponseWriter, ev lambdaEvent, _ int) {
			writeReplies(w, []reply{{RecordID: "r0", Result: "Ok", Data: "!!!"}, {RecordID: "r1", Result: "Ok", Data: b64("b")}})
		}, "Lambda.JsonProcessingException"},
		{"unknown result", func(w http.ResponseWriter, ev lambdaEvent, _ int) {
			writeReplies(w, []reply{{RecordID: "r0", Result: "Fine", Data: b64("a")}, {RecordID: "r1", Result: "Ok", Data: b64("b")}})
		}, "Lambda.FunctionError"},
		{"no records member", func(w http.ResponseWriter, _ lambdaEvent, _ int) {
			_, _ = io.WriteString(w, `{"something":1}`)
		}, "Lambda.MissingRecordId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeLambda(t, c.respond)
			p := lambdaPipeline(t, f.URL)
			out, failed := mustRun(t, p, records(2))
			if len(out) != 0 || len(failed) != 2 {
				t.Fatalf("out %d failed %d, want 0 and 2", len(out), len(failed))
			}
			for _, fr := range failed {
				if fr.Code != c.code || fr.Message == "" || fr.Attempts != 1 || fr.LambdaARN != f.URL {
					t.Errorf("failed %+v, want code %s after 1 attempt", fr, c.code)
				}
			}
			if ids(recordsOf(failed))[0] != "r0" || string(failed[1].Record.Data) != "rec-1" {
				t.Errorf("failed records lost their identity: %+v", failed)
			}
			if f.calls() != 1 {
				t.Errorf("%d calls; a malformed response is not retried", f.calls())
			}
		})
	}
}

func recordsOf(fs []Failed) []Record {
	var rs []Record
	for _, f := range fs {
		rs = append(rs, f.Record)
	}
	return rs
}

func TestLambdaRetriesThenSucceeds(t *testing.T) {
	f := newFakeLambda(t, func(w http.ResponseWriter, ev lambdaEvent, n int) {
		if n <= 2 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		upper(w, ev, n)
	})
	p := lambdaPipeline(t, f.URL, "NumberOfRetries", "3")
	out, failed := mustRun(t, p, records(2))
	if len(failed) != 0 || !reflect.DeepEqual(datas(out), []string{"REC-0", "REC-1"}) {
		t.Fatalf("out %q failed %+v", datas(out), failed)
	}
	if f.calls() != 3 {
		t.Errorf("%d calls, want 3", f.calls())
	}
	if f.events[0].InvocationID != f.events[2].InvocationID {
		t.Errorf("a retry changed the invocation ID")
	}
}

func TestLambdaRetriesExhausted(t *testing.T) {
	cases := []struct {
		status int
		header string
		code   string
	}{
		{http.StatusInternalServerError, "", "Lambda.FunctionError"},
		{http.StatusForbidden, "", "Lambda.InvokeAccessDenied"},
		{http.StatusTooManyRequests, "", "Lambda.InvokeLimitExceeded"},
		{http.StatusOK, "Unhandled", "Lambda.FunctionError"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status, c.header), func(t *testing.T) {
			f := newFakeLambda(t, func(w http.ResponseWriter, ev lambdaEvent, _ int) {
				if c.header != "" {
					w.Header().Set("X-Amz-Function-Error", c.header)
				}
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Error"}`)
			})
			p := lambdaPipeline(t, f.URL, "NumberOfRetries", "2")
			out, failed := mustRun(t, p, records(3))
			if len(out) != 0 || len(failed) != 3 {
				t.Fatalf("out %d failed %d", len(out), len(failed))
			}
			for _, fr := range failed {
				if fr.Code != c.code || fr.Attempts != 3 || fr.LambdaARN != f.URL {
					t.Errorf("failed %+v, want %s after 3 attempts", fr, c.code)
				}
			}
			if f.calls() != 3 {
				t.Errorf("%d calls, want 3", f.calls())
			}
		})
	}
}

func TestLambdaErrorBodyIsFunctionError(t *testing.T) {
	// Runtimes such as the emulator may report a function error as a 200
	// with the error as body.
	f := newFakeLambda(t, func(w http.ResponseWriter, _ lambdaEvent, _ int) {
		_, _ = io.WriteString(w, `{"errorMessage":"boom","errorType":"Error"}`)
	})
	p := lambdaPipeline(t, f.URL, "NumberOfRetries", "0")
	_, failed := mustRun(t, p, records(1))
	if len(failed) != 1 || failed[0].Code != "Lambda.FunctionError" || failed[0].Attempts != 1 {
		t.Fatalf("failed %+v", failed)
	}
}

func TestLambdaTransportErrorFailsRecords(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	p := lambdaPipeline(t, url, "NumberOfRetries", "1")
	out, failed := mustRun(t, p, records(2))
	if len(out) != 0 || len(failed) != 2 || failed[0].Code != "Lambda.ServiceUnavailable" || failed[0].Attempts != 2 {
		t.Fatalf("out %d failed %+v", len(out), failed)
	}
}

func TestLambdaSplitsInvocationsBySize(t *testing.T) {
	var sizes []int
	var mu sync.Mutex
	f := newFakeLambda(t, func(w http.ResponseWriter, ev lambdaEvent, n int) {
		total := 0
		for _, r := range ev.Records {
			total += len(r.Data)
		}
		mu.Lock()
		sizes = append(sizes, len(ev.Records))
		mu.Unlock()
		if total > 209715 {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		upper(w, ev, n)
	})
	p := lambdaPipeline(t, f.URL, "BufferSizeInMBs", "0.2")
	var recs []Record
	for i := range 10 {
		recs = append(recs, Record{ID: fmt.Sprint(i), Data: bytes.Repeat([]byte{'a' + byte(i)}, 50*1024)})
	}
	out, failed := mustRun(t, p, recs)
	if len(failed) != 0 || len(out) != 10 {
		t.Fatalf("out %d failed %+v", len(out), failed)
	}
	if !reflect.DeepEqual(sizes, []int{4, 4, 2}) {
		t.Errorf("invocation sizes %v, want [4 4 2]", sizes)
	}
	for i, r := range out {
		if r.ID != fmt.Sprint(i) || r.Data[0] != 'A'+byte(i) {
			t.Fatalf("record %d out of order or untransformed: %s %c", i, r.ID, r.Data[0])
		}
	}
}

func TestLambdaARNUsesInvokeAPI(t *testing.T) {
	f := newFakeLambda(t, upper)
	cfg := processing(processor("Lambda", "LambdaArn", "arn:aws:lambda:us-east-1:123456789012:function:my-fn:live"))
	if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "no Lambda endpoint") {
		t.Fatalf("New without endpoint: %v", err)
	}
	if err := ValidateWith(cfg, false, ""); err == nil {
		t.Fatalf("ValidateWith accepted an ARN without endpoint")
	}
	if err := ValidateWith(cfg, false, f.URL); err != nil {
		t.Fatalf("ValidateWith: %v", err)
	}
	p := mustNew(t, cfg, Options{LambdaEndpoint: f.URL + "/"})
	out, _ := mustRun(t, p, records(1))
	if len(out) != 1 || string(out[0].Data) != "REC-0" {
		t.Fatalf("out %q", datas(out))
	}
	if f.paths[0] != "/2015-03-31/functions/my-fn/invocations?Qualifier=live" {
		t.Errorf("path %q", f.paths[0])
	}
}

func TestLambdaContextEndsRun(t *testing.T) {
	f := newFakeLambda(t, func(w http.ResponseWriter, _ lambdaEvent, _ int) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	p := lambdaPipeline(t, f.URL, "NumberOfRetries", "300")
	p.lambda.backoff = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.calls() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, _, err := p.Run(ctx, records(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestLambdaBuffering(t *testing.T) {
	p := mustNew(t, processing(processor("Lambda", "LambdaArn", "http://x", "BufferSizeInMBs", "3", "BufferIntervalInSeconds", "0")), Options{})
	size, interval, ok := p.LambdaBuffering()
	if !ok || size != 3<<20 || interval != 0 {
		t.Errorf("LambdaBuffering = %d %v %v", size, interval, ok)
	}
	p = mustNew(t, processing(processor("Lambda", "LambdaArn", "http://x")), Options{})
	size, interval, ok = p.LambdaBuffering()
	if !ok || size != 1<<20 || interval != time.Minute || p.lambda.cfg.retries != 3 {
		t.Errorf("defaults = %d %v %v retries %d", size, interval, ok, p.lambda.cfg.retries)
	}
}
