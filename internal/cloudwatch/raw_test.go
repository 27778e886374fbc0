package cloudwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"
)

// rawResponse is one hand-built request's answer.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request built per a protocol, signed as an SDK would.
func (e *env) do(t *testing.T, path string, header map[string]string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		req, hex.EncodeToString(sum[:]), "monitoring", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{resp.StatusCode, resp.Header, b}
}

func (e *env) query(t *testing.T, form url.Values) rawResponse {
	t.Helper()
	return e.do(t, "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, []byte(form.Encode()))
}

func (e *env) json10(t *testing.T, op string, body string) rawResponse {
	t.Helper()
	return e.do(t, "/", map[string]string{
		"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": serviceName + "." + op, "X-Amzn-Query-Mode": "true",
	}, []byte(body))
}

func (e *env) cbor(t *testing.T, op string, body any) rawResponse {
	t.Helper()
	b, err := cbor.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, rpcPrefix+op, map[string]string{
		"Content-Type": "application/cbor", "Accept": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor",
	}, b)
}

func gmsForm() url.Values {
	return url.Values{
		"Action": {"GetMetricStatistics"}, "Version": {"2010-08-01"},
		"Namespace": {"AWS/Kinesis"}, "MetricName": {"IncomingRecords"},
		"Dimensions.member.1.Name": {"StreamName"}, "Dimensions.member.1.Value": {"S"},
		"StartTime": {"2025-06-01T11:00:00Z"}, "EndTime": {"2025-06-01T12:00:00.000Z"},
		"Period": {"3600"}, "Statistics.member.1": {"Sum"}, "Statistics.member.2": {"Maximum"},
	}
}

func TestQueryProtocol(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.query(t, gmsForm())
	if r.status != 200 || r.header.Get("Content-Type") != "text/xml" {
		t.Fatalf("status %d, type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var doc struct {
		XMLName xml.Name `xml:"http://monitoring.amazonaws.com/doc/2010-08-01/ GetMetricStatisticsResponse"`
		Result  struct {
			Label      string
			Datapoints []struct {
				Timestamp, Sum, Maximum, Unit string
				Average                       *string
			} `xml:"Datapoints>member"`
		} `xml:"GetMetricStatisticsResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	if doc.Result.Label != "IncomingRecords" || len(doc.Result.Datapoints) != 1 || doc.RequestID != r.header.Get("x-amzn-RequestId") {
		t.Fatalf("%+v\n%s", doc, r.body)
	}
	dp := doc.Result.Datapoints[0]
	if dp.Timestamp != "2025-06-01T11:00:00Z" || dp.Sum != "70.0" || dp.Maximum != "7.0" || dp.Unit != "Count" || dp.Average != nil {
		t.Errorf("datapoint %+v", dp)
	}

	errorCase := func(form url.Values, status int, code, msg string) {
		t.Helper()
		r := e.query(t, form)
		var er struct {
			XMLName xml.Name `xml:"http://monitoring.amazonaws.com/doc/2010-08-01/ ErrorResponse"`
			Error   struct{ Type, Code, Message string }
			ID      string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(r.body, &er); err != nil {
			t.Fatalf("%v\n%s", err, r.body)
		}
		if r.status != status || er.Error.Type != "Sender" || er.Error.Code != code || er.Error.Message != msg || er.ID == "" {
			t.Errorf("%v: %d %+v, want %d %s %q", form, r.status, er, status, code, msg)
		}
	}
	f := gmsForm()
	f.Del("Namespace")
	errorCase(f, 400, "MissingParameter", "The parameter Namespace is required.")
	f = gmsForm()
	f.Set("Period", "sixty")
	errorCase(f, 400, "InvalidParameterValue", "The value for parameter Period is not a valid integer.")
	f = gmsForm()
	f.Set("StartTime", "yesterday")
	errorCase(f, 400, "InvalidParameterValue", "The parameter StartTime must be a valid ISO 8601 timestamp.")
	f = gmsForm()
	f.Set("Action", "PutMetricData")
	errorCase(f, 400, "InvalidAction", "Could not find operation PutMetricData for version 2010-08-01")
	f = gmsForm()
	f.Del("Version")
	errorCase(f, 400, "InvalidAction", "Could not find operation GetMetricStatistics for version NO_VERSION_SPECIFIED")
	errorCase(url.Values{"Version": {"2010-08-01"}}, 400, "MissingAction", "The request is missing an action or a required parameter.")
	errorCase(url.Values{"Action": {"GetMetricData"}, "Version": {"2010-08-01"}, "StartTime": {"2025-06-01T11:00:00Z"}}, 400,
		"ValidationError", "The parameter MetricDataQueries is required.\nThe parameter EndTime is required.")

	// Epoch seconds and zone-less ISO 8601 are timestamps too; an empty
	// list ("Statistics=") is one.
	f = gmsForm()
	f.Set("StartTime", "1748775600")
	f.Set("EndTime", "2025-06-01T12:00:00")
	if r := e.query(t, f); r.status != 200 || !bytes.Contains(r.body, []byte("<Sum>70.0</Sum>")) {
		t.Errorf("epoch start: %d %s", r.status, r.body)
	}
	f = gmsForm()
	f.Del("Statistics.member.1")
	f.Del("Statistics.member.2")
	f.Set("Statistics", "")
	errorCase(f, 400, "InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics")

	// GetMetricData and ListMetrics, with their nested lists.
	r = e.query(t, url.Values{
		"Action": {"GetMetricData"}, "Version": {"2010-08-01"},
		"StartTime": {"2025-06-01T11:00:00Z"}, "EndTime": {"2025-06-01T12:00:00Z"},
		"MetricDataQueries.member.1.Id":                                          {"m0"},
		"MetricDataQueries.member.1.ReturnData":                                  {"false"},
		"MetricDataQueries.member.1.MetricStat.Metric.Namespace":                 {"AWS/Kinesis"},
		"MetricDataQueries.member.1.MetricStat.Metric.MetricName":                {"IncomingRecords"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name":  {"StreamName"},
		"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": {"S"},
		"MetricDataQueries.member.1.MetricStat.Period":                           {"300"},
		"MetricDataQueries.member.1.MetricStat.Stat":                             {"Sum"},
		"MetricDataQueries.member.2.Id":                                          {"e1"},
		"MetricDataQueries.member.2.Expression":                                  {"m0 / 10"},
	})
	want := "<MetricDataResults>\n      <member>\n        <Id>e1</Id>\n        <Label>e1</Label>\n" +
		"        <Timestamps>\n          <member>2025-06-01T11:50:00Z</member>\n        </Timestamps>\n" +
		"        <Values>\n          <member>7.0</member>\n        </Values>\n        <StatusCode>Complete</StatusCode>\n        <Messages/>\n"
	if r.status != 200 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("GetMetricData: %d\n%s\nwant within:\n%s", r.status, r.body, want)
	}
	r = e.query(t, url.Values{"Action": {"ListMetrics"}, "Version": {"2010-08-01"},
		"Dimensions.member.1.Name": {"StreamName"}, "Dimensions.member.1.Value": {"T"}})
	want = "<Metrics>\n      <member>\n        <Namespace>AWS/Kinesis</Namespace>\n        <MetricName>IncomingRecords</MetricName>\n" +
		"        <Dimensions>\n          <member>\n            <Name>StreamName</Name>\n            <Value>T</Value>\n"
	if r.status != 200 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("ListMetrics: %d\n%s", r.status, r.body)
	}
}

// jsonError checks a JSON 1.0 error in query-compatible form.
func jsonError(t *testing.T, r rawResponse, status int, shape, query, msg string) {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if r.status != status || body["__type"] != shape || body["message"] != msg || r.header.Get("x-amzn-query-error") != query ||
		r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("%d %v %q, want %d %s %q %q", r.status, body, r.header.Get("x-amzn-query-error"), status, shape, query, msg)
	}
}

func TestJSONProtocol(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.json10(t, "GetMetricStatistics", `{"Namespace":"AWS/Kinesis","MetricName":"IncomingRecords",
		"Dimensions":[{"Name":"StreamName","Value":"S"}],"StartTime":1748775600,"EndTime":1748779200.0,"Period":60,
		"Statistics":["Sum"]}`)
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var out struct {
		Label      string
		Datapoints []map[string]any
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Datapoints) != 5 {
		t.Fatalf("%s", r.body)
	}
	if ts, ok := out.Datapoints[0]["Timestamp"].(json.Number); !ok || ts.String() != "1748778600" || out.Datapoints[0]["Sum"].(json.Number).String() != "14" {
		t.Errorf("first datapoint %v: the timestamp must be epoch seconds", out.Datapoints[0])
	}

	jsonError(t, e.json10(t, "GetMetricStatistics", `{"MetricName":"x"}`), 400,
		"com.amazonaws.cloudwatch#MissingRequiredParameterException", "MissingParameter;Sender", "The parameter Namespace is required.")
	jsonError(t, e.json10(t, "GetMetricStatistics", `{"Namespace":"AWS/Kinesis","MetricName":"x","Period":"60"}`), 400,
		"com.amazon.coral.service#SerializationException", "", "The value of Period is not an integer.")
	jsonError(t, e.json10(t, "GetMetricStatistics", `{"Namespace":`), 400,
		"com.amazon.coral.service#SerializationException", "", "The request body is not valid JSON.")
	jsonError(t, e.json10(t, "GetMetricStatistics", `[]`), 400,
		"com.amazon.coral.service#SerializationException", "", "Start of structure or map expected.")
	jsonError(t, e.json10(t, "PutMetricData", `{}`), 400,
		"com.amazon.coral.service#UnknownOperationException", "", "No such operation: PutMetricData")
	r = e.json10(t, "ListMetrics", ``)
	if r.status != 200 || !strings.HasPrefix(string(r.body), `{"Metrics":[{"Namespace":"AWS/Kinesis","MetricName":"GetRecords.Latency","Dimensions":[{"Name":"StreamName","Value":"S"}]}`) {
		t.Errorf("ListMetrics with no body: %d %s", r.status, r.body)
	}
}

func TestCBORProtocol(t *testing.T) {
	e := newEnv(t, Config{})
	start := cbor.Tag{Number: 1, Content: float64(minute(11, 0).Unix())}
	r := e.cbor(t, "GetMetricData", map[string]any{
		"StartTime": start, "EndTime": cbor.Tag{Number: 1, Content: uint64(minute(12, 0).Unix())},
		"MetricDataQueries": []any{map[string]any{"Id": "e1", "Expression": "2 * 3"},
			map[string]any{"Id": "m1", "ReturnData": false, "MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords",
					"Dimensions": []any{map[string]any{"Name": "StreamName", "Value": "T"}}},
				"Period": 60, "Stat": "Sum"}}},
	})
	if r.status != 200 || r.header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.header.Get("Content-Type") != "application/cbor" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	var out struct {
		MetricDataResults []struct {
			ID         string `cbor:"Id"`
			Timestamps []cbor.RawTag
			Values     []float64
		}
	}
	if err := cbor.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.MetricDataResults) != 1 || out.MetricDataResults[0].ID != "e1" || len(out.MetricDataResults[0].Timestamps) != 1 {
		t.Fatalf("%+v", out)
	}
	ts := out.MetricDataResults[0].Timestamps[0]
	var secs float64
	if ts.Number != 1 || cbor.Unmarshal(ts.Content, &secs) != nil || ts.Content[0] != 0xfb || secs != float64(minute(11, 50).Unix()) ||
		out.MetricDataResults[0].Values[0] != 6 {
		t.Errorf("timestamp tag %d content %x (%v), value %v: want tag 1, a float64 of epoch seconds", ts.Number, ts.Content, secs, out.MetricDataResults[0].Values)
	}

	cborError := func(r rawResponse, status int, shape, query, msg string) {
		t.Helper()
		var body map[string]string
		if err := cbor.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%v: %x", err, r.body)
		}
		if r.status != status || body["__type"] != shape || body["message"] != msg || r.header.Get("x-amzn-query-error") != query ||
			r.header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Errorf("%d %v %v, want %d %s %s %q", r.status, body, r.header, status, shape, query, msg)
		}
	}
	cborError(e.cbor(t, "ListMetrics", map[string]any{"RecentlyActive": "PT1H"}), 400,
		"com.amazonaws.cloudwatch#InvalidParameterValueException", "InvalidParameterValue;Sender",
		"The parameter RecentlyActive must be a value in the set [PT3H].")
	cborError(e.cbor(t, "DeleteAlarms", map[string]any{}), 404,
		"com.amazon.coral.service#UnknownOperationException", "", "No such operation: /service/GraniteServiceVersion20100801/operation/DeleteAlarms")
	cborError(e.do(t, rpcPrefix+"ListMetrics", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}, []byte{0xff}), 400,
		"com.amazon.coral.service#SerializationException", "", "The request body is not valid CBOR.")
	// An empty body is an empty input.
	if r := e.do(t, rpcPrefix+"ListMetrics", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}, nil); r.status != 200 {
		t.Errorf("empty body: %d %x", r.status, r.body)
	}
}

func TestIsRequest(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		want         bool
	}{
		{"POST", "/", map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics"}, true},
		{"POST", "/", map[string]string{"X-Amz-Target": "Kinesis_20131202.ListStreams"}, false},
		{"POST", "/", map[string]string{"X-Amz-Target": "Firehose_20150804.ListDeliveryStreams"}, false},
		{"POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", nil, true},
		{"POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, true},
		{"GET", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false},
		{"POST", "/", map[string]string{"Content-Type": "application/x-amz-json-1.1"}, false},
		{"GET", "/health", nil, false},
	} {
		r, _ := http.NewRequest(tc.method, "http://x"+tc.path, nil)
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		if got := IsRequest(r); got != tc.want {
			t.Errorf("%s %s %v: %v, want %v", tc.method, tc.path, tc.header, got, tc.want)
		}
	}
}
