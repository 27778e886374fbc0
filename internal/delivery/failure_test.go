package delivery

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rivulet/rivulet/internal/firehose/model"
)

// errorLine is the union of the error records' members.
type errorLine struct {
	AttemptsMade           int
	ArrivalTimestamp       int64
	ErrorCode              string
	ErrorMessage           string
	AttemptEndingTimestamp int64
	RawData                []byte
	LambdaARN              string `json:"lambdaArn"`
	DataID                 string `json:"dataId"`
}

func errorLines(t *testing.T, raw []string) []errorLine {
	t.Helper()
	out := make([]errorLine, len(raw))
	for i, l := range raw {
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			t.Fatalf("error record %q: %v", l, err)
		}
		if out[i].ArrivalTimestamp == 0 || out[i].AttemptEndingTimestamp == 0 || out[i].ErrorCode == "" || out[i].AttemptsMade < 1 {
			t.Fatalf("error record %q lacks members", l)
		}
	}
	return out
}

func rawData(ls []errorLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, string(l.RawData))
	}
	slices.Sort(out)
	return out
}

func TestProcessingFailuresGoToErrorPrefix(t *testing.T) {
	// A Lambda that fails every record containing "bad" and upper-cases
	// the rest.
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Records []struct {
				RecordID string `json:"recordId"`
				Data     []byte `json:"data"`
			} `json:"records"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		type out struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     []byte `json:"data"`
		}
		var resp struct {
			Records []out `json:"records"`
		}
		for _, rec := range ev.Records {
			res := "Ok"
			if strings.Contains(string(rec.Data), "bad") {
				res = "ProcessingFailed"
			}
			resp.Records = append(resp.Records, out{rec.RecordID, res, []byte(strings.ToUpper(string(rec.Data)))})
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer lambda.Close()

	st := openStore(t, nil)
	objs := newObjects(t)
	ds := s3Stream("proc", 5, 0)
	c := ds.Destination.ExtendedS3
	c.Prefix = ptr("ok/")
	c.ErrorOutputPrefix = ptr("err/!{firehose:error-output-type}/")
	c.S3BackupMode = "Enabled"
	c.S3BackupConfiguration = &model.S3DestinationConfiguration{BucketARN: ptr("arn:aws:s3:::source"), Prefix: ptr("src/")}
	c.ProcessingConfiguration = &model.ProcessingConfiguration{Enabled: ptr(true), Processors: []model.Processor{{
		Type:       "Lambda",
		Parameters: []model.ProcessorParameter{{ParameterName: "LambdaArn", ParameterValue: ptr(lambda.URL)}},
	}}}
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	putRecords(t, st, ds, "good1\n", "bad1\n", "good2\n", "bad2\n")
	waitFor(t, "the error object", func() bool { return len(list(t, objs, "dest", "err/")) > 0 })
	waitFor(t, "the delivered object", func() bool { return len(list(t, objs, "dest", "ok/")) > 0 })

	if got := lines(t, objs, "dest", "ok/"); !slices.Equal(got, []string{"GOOD1", "GOOD2"}) {
		t.Fatalf("delivered %q", got)
	}
	keys := list(t, objs, "dest", "err/")
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "err/processing-failed/") {
		t.Fatalf("error keys %q, want one under err/processing-failed/", keys)
	}
	errs := errorLines(t, lines(t, objs, "dest", "err/"))
	if got := rawData(errs); !slices.Equal(got, []string{"bad1\n", "bad2\n"}) {
		t.Fatalf("error records hold %q", got)
	}
	// The backup holds the source records, before processing.
	if got := lines(t, objs, "source", "src/"); !slices.Equal(got, []string{"bad1", "bad2", "good1", "good2"}) {
		t.Fatalf("backup holds %q", got)
	}
	for _, e := range errs {
		if e.LambdaARN != lambda.URL {
			t.Fatalf("lambdaArn = %q, want %q", e.LambdaARN, lambda.URL)
		}
	}
}

// endpoint is an HTTP endpoint whose answer the test sets.
type endpoint struct {
	*httptest.Server
	status   atomic.Int32
	requests atomic.Int32
	mu       sync.Mutex
	got      []string // records received with 200
}

func newEndpoint(t *testing.T) *endpoint {
	ep := &endpoint{}
	ep.status.Store(200)
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		var req struct {
			RequestID string `json:"requestId"`
			Records   []struct {
				Data string `json:"data"`
			} `json:"records"`
		}
		_ = json.Unmarshal(body, &req)
		status := int(ep.status.Load())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == 200 {
			ep.mu.Lock()
			for _, rec := range req.Records {
				d, _ := base64.StdEncoding.DecodeString(rec.Data)
				ep.got = append(ep.got, string(d))
			}
			ep.mu.Unlock()
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"requestId": req.RequestID, "timestamp": 1})
	}))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) received() []string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	out := slices.Clone(ep.got)
	slices.Sort(out)
	return out
}

func httpStream(name, url string, retry int32) *model.DeliveryStream {
	ds := s3Stream(name, 5, 0)
	ds.Destination = model.Destination{HTTPEndpoint: &model.HttpEndpointDestinationConfiguration{
		EndpointConfiguration: &model.HttpEndpointConfiguration{Url: ptr(url), Name: ptr("test")},
		BufferingHints:        &model.BufferingHints{SizeInMBs: ptr(int32(5)), IntervalInSeconds: ptr(int32(0))},
		RetryOptions:          &model.RetryOptions{DurationInSeconds: ptr(retry)},
		S3BackupMode:          "FailedDataOnly",
		S3Configuration: &model.S3DestinationConfiguration{
			BucketARN: ptr("arn:aws:s3:::backup"), Prefix: ptr("bk/"),
		},
	}}
	return ds
}

func TestHTTPEndpointOutageSetsRecordsAside(t *testing.T) {
	ep := newEndpoint(t)
	ep.status.Store(500)
	st := openStore(t, nil)
	objs := newObjects(t)
	ds := httpStream("outage", ep.URL, 1)
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	putRecords(t, st, ds, "r1", "r2")
	waitFor(t, "the failed batch in the error output", func() bool {
		return len(list(t, objs, "backup", "bk/http-endpoint-failed/")) > 0
	})
	if n := ep.requests.Load(); n < 2 {
		t.Fatalf("%d requests, want retries", n)
	}
	errs := errorLines(t, lines(t, objs, "backup", "bk/http-endpoint-failed/"))
	if got := rawData(errs); !slices.Equal(got, []string{"r1", "r2"}) {
		t.Fatalf("error records hold %q", got)
	}
	if errs[0].ErrorCode != "HttpEndpoint.DestinationException" || errs[0].DataID == "" {
		t.Fatalf("error record %+v", errs[0])
	}

	// The endpoint recovers: later records reach it.
	ep.status.Store(200)
	putRecords(t, st, ds, "r3")
	waitFor(t, "delivery after recovery", func() bool { return slices.Equal(ep.received(), []string{"r3"}) })
}

func TestHTTPEndpoint413IsNotRetriedNorBackedUp(t *testing.T) {
	ep := newEndpoint(t)
	ep.status.Store(413)
	st := openStore(t, nil)
	objs := newObjects(t)
	ds := httpStream("toolarge", ep.URL, 300)
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	putRecords(t, st, ds, "huge")
	waitFor(t, "the refused request", func() bool { return ep.requests.Load() > 0 })
	// Delivery moves on without retrying the refused batch (a retry
	// would have to come before the next batch).
	ep.status.Store(200)
	putRecords(t, st, ds, "next")
	waitFor(t, "the next batch", func() bool { return slices.Equal(ep.received(), []string{"next"}) })
	if n := ep.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2: the 413 is not retried", n)
	}
	if keys := list(t, objs, "backup", ""); len(keys) != 0 {
		t.Fatalf("backup bucket holds %q; a 413 is not backed up", keys)
	}
}

func TestDynamicPartitioningKeys(t *testing.T) {
	st := openStore(t, nil)
	objs := newObjects(t)
	ds := s3Stream("parts", 64, 0)
	c := ds.Destination.ExtendedS3
	c.Prefix = ptr("customer=!{partitionKeyFromQuery:customer}/!{timestamp:yyyy}/")
	c.ErrorOutputPrefix = ptr("errors/!{firehose:error-output-type}/")
	c.DynamicPartitioningConfiguration = &model.DynamicPartitioningConfiguration{Enabled: ptr(true)}
	c.ProcessingConfiguration = &model.ProcessingConfiguration{Enabled: ptr(true), Processors: []model.Processor{{
		Type: "MetadataExtraction",
		Parameters: []model.ProcessorParameter{
			{ParameterName: "MetadataExtractionQuery", ParameterValue: ptr("{customer:.customer}")},
			{ParameterName: "JsonParsingEngine", ParameterValue: ptr("JQ-1.6")},
		},
	}}}
	createStream(t, st, ds)
	startEngine(t, st, objs, "a")
	putRecords(t, st, ds, `{"customer":"a","n":1}`+"\n", `{"customer":"b","n":2}`+"\n", "not json\n", `{"customer":"a","n":3}`+"\n")
	waitFor(t, "three objects", func() bool { return len(list(t, objs, "dest", "")) >= 3 })
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"customer=a/", []string{`{"customer":"a","n":1}`, `{"customer":"a","n":3}`}},
		{"customer=b/", []string{`{"customer":"b","n":2}`}},
	} {
		keys := list(t, objs, "dest", tc.prefix)
		if len(keys) != 1 || !partKey.MatchString(strings.TrimPrefix(keys[0], tc.prefix)) {
			t.Fatalf("keys under %s: %q", tc.prefix, keys)
		}
		if got := lines(t, objs, "dest", tc.prefix); !slices.Equal(got, tc.want) {
			t.Fatalf("%s holds %q, want %q", tc.prefix, got, tc.want)
		}
	}
	errs := errorLines(t, lines(t, objs, "dest", "errors/processing-failed/"))
	if got := rawData(errs); !slices.Equal(got, []string{"not json\n"}) {
		t.Fatalf("error records hold %q", got)
	}
}

var partKey = regexp.MustCompile(`^\d{4}/parts-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$`)
