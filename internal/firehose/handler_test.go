package firehose

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/rivulet/rivulet/internal/kinesis"
)

func TestIsTarget(t *testing.T) {
	for target, want := range map[string]bool{
		"Firehose_20150804.PutRecord": true, "Firehose_20150804.Anything": true,
		"Kinesis_20131202.PutRecord": false, "DynamoDB_20120810.GetItem": false, "": false,
	} {
		h := http.Header{}
		h.Set("X-Amz-Target", target)
		if IsTarget(h) != want {
			t.Errorf("IsTarget(%q) = %v", target, !want)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{})
	code, m := e.rawTarget("Firehose_20150804.DescribeStream", `{}`)
	if code != 400 || m["__type"] != "UnknownOperationException" || m["message"] != nil {
		t.Fatalf("%d %v", code, m)
	}
	code, m = e.rawTarget("Kinesis_20131202.PutRecord", `{}`)
	if code != 400 || m["__type"] != "UnknownOperationException" {
		t.Fatalf("%d %v", code, m)
	}
	e.rawErr("DescribeDeliveryStream", `{"DeliveryStreamName":`, 400, "SerializationException", "-")
	e.rawErr("DescribeDeliveryStream", `[1]`, 400, "SerializationException", "Start of structure or map expected")
	e.rawErr("DescribeDeliveryStream", `{"DeliveryStreamName":5}`, 400, "SerializationException", "class java.math.BigDecimal can not be converted to an String")
	e.rawErr("DescribeDeliveryStream", `{"DeliveryStreamName":"x","Limit":"5"}`, 400, "SerializationException", "class java.lang.String can not be converted to an Integer")
	e.rawErr("DeleteDeliveryStream", `{"DeliveryStreamName":"x","AllowForceDelete":"yes"}`, 400, "SerializationException", "class java.lang.String can not be converted to an Boolean")
	e.rawErr("PutRecordBatch", `{"DeliveryStreamName":"x","Records":{}}`, 400, "SerializationException", "Start of structure or map found where not expected.")
	// Unsigned requests are refused before anything else.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", nil)
	req.Header.Set("X-Amz-Target", "Firehose_20150804.ListDeliveryStreams")
	req.Header.Set("Content-Type", ContentType)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	// CORS preflight.
	req, _ = http.NewRequest(http.MethodOptions, e.srv.URL+"/", nil)
	req.Header.Set("Origin", "http://page.test")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestOperationsServed(t *testing.T) {
	want := []string{"CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream", "ListDeliveryStreams",
		"ListTagsForDeliveryStream", "PutRecord", "PutRecordBatch", "StartDeliveryStreamEncryption",
		"StopDeliveryStreamEncryption", "TagDeliveryStream", "UntagDeliveryStream", "UpdateDestination"}
	got := Operations()
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%v", got)
		}
	}
}

// denier records every question and refuses one action.
type denier struct {
	mu    sync.Mutex
	asked []string
	tags  map[string]string
	deny  string
}

func (d *denier) Authorize(_ context.Context, _ kinesis.Caller, action, resource string, about kinesis.Resource) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, action+" "+resource)
	d.tags = about.Tags
	if action == d.deny {
		return kinesis.Errorf(kinesis.ErrAccessDenied, "User is not authorized to perform: %s on resource: %s", action, resource)
	}
	return nil
}

func TestAuthorizer(t *testing.T) {
	d := &denier{deny: "firehose:PutRecord"}
	e := newEnv(t, Config{Authorizer: d})
	ctx := context.Background()
	arn := e.create("az")
	if _, err := e.c.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("az"), Record: &types.Record{Data: []byte("x")}})
	apiErr(t, err, "AccessDeniedException", "User is not authorized to perform: firehose:PutRecord on resource: "+arn)
	d.mu.Lock()
	defer d.mu.Unlock()
	want := []string{"firehose:CreateDeliveryStream " + arn, "firehose:ListDeliveryStreams *", "firehose:PutRecord " + arn}
	if len(d.asked) != len(want) {
		t.Fatalf("%v", d.asked)
	}
	for i := range want {
		if d.asked[i] != want[i] {
			t.Fatalf("%v", d.asked)
		}
	}
	if d.tags == nil {
		t.Fatal("an existing stream's tags were not offered")
	}
	if _, entries, _ := e.stored("az"); len(entries) != 0 {
		t.Fatal("a refused record was stored")
	}
}

func TestUnexpectedStoreErrorIsInternalFailure(t *testing.T) {
	e := newEnv(t, Config{})
	e.create("x")
	ctx := context.Background()
	e.st.Store.Close()
	_, err := e.c.DescribeDeliveryStream(ctx, &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("x")})
	apiErr(t, err, "InternalFailure", internalMessage)
}
