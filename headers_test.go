package rivulet_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rivulet/rivulet"
)

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// DynamoDB's request ids are its own: 52 characters of [A-Z0-9].
	dynamoIDPattern = regexp.MustCompile(`^[A-Z0-9]{52}$`)
)

// checkIDs fails unless hdr has AWS's two request ids: x-amzn-RequestId
// matching idRE and x-amz-id-2, standard base64 of 64 to 80 bytes.
func checkIDs(t *testing.T, what string, hdr http.Header, idRE *regexp.Regexp) {
	t.Helper()
	if ids := hdr.Values("x-amzn-RequestId"); len(ids) != 1 || !idRE.MatchString(ids[0]) {
		t.Errorf("%s: x-amzn-RequestId %q", what, ids)
	}
	id2 := hdr.Values("x-amz-id-2")
	if len(id2) != 1 {
		t.Errorf("%s: x-amz-id-2 %q", what, id2)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(id2[0])
	if err != nil || len(raw) < 64 || len(raw) > 80 {
		t.Errorf("%s: x-amz-id-2 %q: %d bytes, %v", what, id2[0], len(raw), err)
	}
}

// headerCase is one request to one API and the status it gets.
type headerCase struct {
	name   string
	method string
	path   string
	target string
	ctype  string
	body   string
	status int
	idRE   *regexp.Regexp
}

func headerCases() []headerCase {
	const (
		kin  = "Kinesis_20131202."
		fh   = "Firehose_20150804."
		ddb  = "DynamoDB_20120810."
		cw   = "GraniteServiceVersion20100801."
		j11  = "application/x-amz-json-1.1"
		j10  = "application/x-amz-json-1.0"
		cbor = "application/x-amz-cbor-1.1"
		form = "application/x-www-form-urlencoded"
	)
	u, d := uuidPattern, dynamoIDPattern
	return []headerCase{
		{"kinesis success", "POST", "/", kin + "ListStreams", j11, "{}", 200, u},
		{"kinesis success cbor", "POST", "/", kin + "ListStreams", cbor, "\xa0", 200, u},
		{"kinesis error", "POST", "/", kin + "DescribeStreamSummary", j11, `{"StreamName":"nope"}`, 400, u},
		{"kinesis unknown json", "POST", "/", kin + "Nope", j11, "{}", 400, u},
		{"kinesis unknown cbor", "POST", "/", kin + "Nope", cbor, "\xa0", 400, u},
		{"kinesis unknown plain json", "POST", "/", kin + "Nope", "application/json", "{}", 404, u},
		{"kinesis unknown no type", "POST", "/", kin + "Nope", "", "{}", 404, u},
		{"kinesis wrong method", "GET", "/", "", "", "", 403, u},
		{"firehose success", "POST", "/", fh + "ListDeliveryStreams", j11, "{}", 200, u},
		{"firehose error", "POST", "/", fh + "DescribeDeliveryStream", j11, `{"DeliveryStreamName":"nope"}`, 400, u},
		{"firehose unknown", "POST", "/", fh + "Nope", j11, "{}", 400, u},
		{"dynamodb success", "POST", "/", ddb + "ListTables", j10, "{}", 200, d},
		{"dynamodb error", "POST", "/", ddb + "DescribeTable", j10, `{"TableName":"nope"}`, 400, d},
		{"dynamodb unknown", "POST", "/", ddb + "Nope", j10, "{}", 400, d},
		{"cloudwatch success", "POST", "/", cw + "ListMetrics", j10, "{}", 200, u},
		{"cloudwatch unknown", "POST", "/", cw + "Nope", j10, "{}", 0, u},
		{"cloudwatch query success", "POST", "/", "", form, "Action=ListMetrics&Version=2010-08-01", 200, u},
		{"cloudwatch query unknown", "POST", "/", "", form, "Action=Nope&Version=2010-08-01", 0, u},
	}
}

// TestResponseIDHeaders sends every kind of answer of every API over
// the HTTP/1.1 fast path, net/http's HTTP/1.1 and h2c.
func TestResponseIDHeaders(t *testing.T) {
	fast := start(t, rivulet.Config{})
	slow := start(t, rivulet.Config{DisableHTTPFastPath: true})
	h1 := &http.Transport{}
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(h1.CloseIdleConnections)
	t.Cleanup(h2c.CloseIdleConnections)
	paths := []struct {
		name     string
		endpoint string
		tr       *http.Transport
		proto    int
	}{
		{"h1 fast path", fast.Endpoint(), h1, 1},
		{"h1 net/http", slow.Endpoint(), h1, 1},
		{"h2c", fast.Endpoint(), h2c, 2},
	}
	for _, p := range paths {
		c := &http.Client{Transport: p.tr}
		for _, tc := range headerCases() {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				req, err := http.NewRequest(tc.method, p.endpoint+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if tc.target != "" {
					req.Header.Set("X-Amz-Target", tc.target)
				}
				if tc.ctype != "" {
					req.Header.Set("Content-Type", tc.ctype)
				}
				req.Header.Set("X-Amz-Date", "20240101T000000Z")
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/aws4_request, "+
					"SignedHeaders=host;x-amz-date;x-amz-target, Signature=abc123")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.ProtoMajor != p.proto {
					t.Errorf("answered over %s", resp.Proto)
				}
				if tc.status != 0 && resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d: %q", resp.StatusCode, tc.status, body)
				}
				if tc.status == 0 && resp.StatusCode < 400 {
					t.Errorf("status %d, want an error: %q", resp.StatusCode, body)
				}
				checkIDs(t, tc.name, resp.Header, tc.idRE)
			})
		}
	}
}

// TestResponseIDHeadersSDK reads the two ids from the raw responses an
// aws-sdk-go-v2 client receives, for a success and an error.
func TestResponseIDHeadersSDK(t *testing.T) {
	srv := start(t, rivulet.Config{})
	c := client(t, srv.Endpoint(), nil)
	var last http.Header
	capture := kinesis.WithAPIOptions(func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("captureHeaders",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
					last = resp.Header.Clone()
				}
				return out, md, err
			}), middleware.After)
	})
	ctx := context.Background()
	if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}, capture); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, "ListStreams", last, uuidPattern)
	last = nil
	if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("nope")}, capture); err == nil {
		t.Fatal("DescribeStreamSummary of a missing stream succeeded")
	}
	checkIDs(t, "DescribeStreamSummary error", last, uuidPattern)
}

// TestResponseIDHeaderSpelling reads the response head off the wire: both
// HTTP/1.1 paths spell the ids as AWS does.
func TestResponseIDHeaderSpelling(t *testing.T) {
	for _, fastPath := range []bool{true, false} {
		srv := start(t, rivulet.Config{DisableHTTPFastPath: !fastPath})
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.Endpoint(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		req := "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\n" +
			"Content-Type: application/x-amz-json-1.1\r\nX-Amz-Date: 20240101T000000Z\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/kinesis/aws4_request, " +
			"SignedHeaders=host;x-amz-date;x-amz-target, Signature=abc123\r\nContent-Length: 2\r\n\r\n{}"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		var head strings.Builder
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading head %q: %v", head.String(), err)
			}
			head.WriteString(line)
		}
		conn.Close()
		if !strings.HasPrefix(head.String(), "HTTP/1.1 200 ") {
			t.Errorf("fast path %v: %q", fastPath, head.String())
		}
		for _, name := range []string{"\r\nx-amzn-RequestId: ", "\r\nx-amz-id-2: "} {
			if !strings.Contains(head.String(), name) {
				t.Errorf("fast path %v: no %q in %q", fastPath, name, head.String())
			}
		}
	}
}
