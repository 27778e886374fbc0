package cloudwatch

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// fuzzHandler is the handler over the test workload, without a network.
func fuzzHandler() http.Handler {
	svc := New(&fakeStore{ds: workload()}, Config{Now: func() time.Time { return testNow }})
	return NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)})
}

// fuzzServe sends body in a protocol and checks the answer is a reply or
// a client error, well-formed in that protocol.
func fuzzServe(t *testing.T, h http.Handler, proto protocol, op string, body []byte) {
	path := "/"
	req := httptest.NewRequest(http.MethodPost, "http://x/", bytes.NewReader(body))
	switch proto {
	case protoQuery:
		req.Header.Set("Content-Type", contentTypeForm)
	case protoJSON:
		req.Header.Set("Content-Type", contentTypeJSON)
		req.Header.Set("X-Amz-Target", serviceName+"."+op)
	case protoCBOR:
		path = rpcPrefix + op
		req.URL.Path = path
		req.Header.Set("Content-Type", contentTypeCBOR)
		req.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
	}
	req.Header.Set("X-Amz-Date", "20250601T120000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250601/us-east-1/monitoring/aws4_request, "+
		"SignedHeaders=host;x-amz-date, Signature=00")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %q: %d %s", op, body, rec.Code, rec.Body.Bytes())
	}
	out := rec.Body.Bytes()
	var err error
	switch proto {
	case protoQuery:
		d := xml.NewDecoder(bytes.NewReader(out))
		for err == nil {
			_, err = d.Token()
		}
		if err.Error() == "EOF" {
			err = nil
		}
	case protoJSON:
		var v any
		err = json.Unmarshal(out, &v)
	case protoCBOR:
		var v any
		err = cbor.Unmarshal(out, &v)
	}
	if err != nil {
		t.Fatalf("%s %q: answer is not well-formed: %v\n%q", op, body, err, out)
	}
}

func FuzzQueryProtocol(f *testing.F) {
	for _, seed := range []url.Values{
		gmsForm(),
		{"Action": {"GetMetricData"}, "Version": {"2010-08-01"}, "StartTime": {"2025-06-01T11:00:00Z"}, "EndTime": {"1748779200"},
			"MetricDataQueries.member.1.Id": {"e1"}, "MetricDataQueries.member.1.Expression": {"SUM(METRICS())"},
			"MetricDataQueries.member.2.Id": {"m1"}, "MetricDataQueries.member.2.MetricStat.Metric.Namespace": {"AWS/Kinesis"},
			"MetricDataQueries.member.2.MetricStat.Metric.MetricName":                {"IncomingRecords"},
			"MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.1.Name":  {"StreamName"},
			"MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.1.Value": {"S"},
			"MetricDataQueries.member.2.MetricStat.Period":                           {"60"},
			"MetricDataQueries.member.2.MetricStat.Stat":                             {"p99"},
			"MaxDatapoints": {"2"}, "ScanBy": {"TimestampAscending"}},
		{"Action": {"ListMetrics"}, "Version": {"2010-08-01"}, "Dimensions.member.1.Name": {"ShardId"}, "NextToken": {"QQ"}},
	} {
		f.Add([]byte(seed.Encode()))
	}
	for _, s := range []string{"", "%", "Action=ListMetrics&Version=2010-08-01&Dimensions.member.x.Name=a",
		"Action=GetMetricStatistics&Version=2010-08-01&Statistics=Sum&Period=99999999999999999999",
		"Action=ListMetrics&Version=2010-08-01&Namespace.a=b&Namespace=c"} {
		f.Add([]byte(s))
	}
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, h, protoQuery, "", body)
	})
}

var fuzzOps = []string{"GetMetricStatistics", "GetMetricData", "ListMetrics"}

func FuzzJSONProtocol(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"Namespace":"AWS/Kinesis","MetricName":"IncomingRecords","Dimensions":[{"Name":"StreamName","Value":"S"}],` +
			`"StartTime":1748775600,"EndTime":1748779200,"Period":60,"ExtendedStatistics":["p50"]}`},
		{1, `{"StartTime":1748775600.5,"EndTime":1748779200,"MetricDataQueries":[{"Id":"e1","Expression":"[METRICS(), 1]"},` +
			`{"Id":"m0","MetricStat":{"Metric":{"Namespace":"AWS/Kinesis","MetricName":"IncomingRecords","Dimensions":[{"Name":"StreamName","Value":"S"}]},"Period":300,"Stat":"Sum"}}],"NextToken":"e30"}`},
		{2, `{"Dimensions":[{"Name":"StreamName"}],"RecentlyActive":"PT3H","IncludeLinkedAccounts":true}`},
		{0, `{"Period":1e400}`}, {1, `{"MetricDataQueries":[null,{}]}`}, {2, `null`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		fuzzServe(t, h, protoJSON, fuzzOps[int(op)%len(fuzzOps)], body)
	})
}

func FuzzCBORProtocol(f *testing.F) {
	seeds := []struct {
		op uint8
		v  any
	}{
		{0, map[string]any{"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords",
			"Dimensions": []any{map[string]any{"Name": "StreamName", "Value": "S"}},
			"StartTime":  cbor.Tag{Number: 1, Content: 1748775600.0}, "EndTime": cbor.Tag{Number: 1, Content: uint64(1748779200)},
			"Period": 60, "Statistics": []string{"Sum", "Average"}}},
		{1, map[string]any{"StartTime": cbor.Tag{Number: 1, Content: 1748775600.0}, "EndTime": 1748779200,
			"MetricDataQueries": []any{map[string]any{"Id": "e1", "Expression": "SUM(METRICS()) / 2", "ReturnData": true}}}},
		{2, map[string]any{"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords"}},
		{0, map[string]any{"StartTime": cbor.Tag{Number: 1, Content: "2025-06-01T11:00:00Z"}}},
		{1, []any{1, 2}},
	}
	for _, s := range seeds {
		b, err := cbor.Marshal(s.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.op, b)
	}
	f.Add(uint8(2), []byte{0xbf, 0x61, 'x', 0xff})
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		fuzzServe(t, h, protoCBOR, fuzzOps[int(op)%len(fuzzOps)], body)
	})
}

func FuzzExpression(f *testing.F) {
	for _, s := range []string{"SUM(METRICS())", "(m1 + m2) / 2 * -3", `AVG(METRICS("m"))`, "[m1, e2, m2] - m1",
		"MAX([m1, m2]) / SUM(m1)", "1e308 * 10", "m1 / 0", "((m1)", "SUM(", "e2 * e2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseExpr(s)
		if err != nil {
			if _, ok := err.(*exprError); !ok || err.Error() == "" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		v, err := testEnv().eval(n)
		if err != nil {
			if _, ok := err.(*exprError); !ok {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		// Whatever it computes renders as a result without panicking.
		for _, ts := range v.series {
			r := toResult("e1", "x", ts.points, false)
			if len(r.Timestamps) != len(r.Values) {
				t.Fatalf("%q: %d timestamps, %d values", s, len(r.Timestamps), len(r.Values))
			}
		}
	})
}
