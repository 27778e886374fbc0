package firehose

import (
	"context"
	"errors"
	"testing"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// fuzzOp runs one operation's decoding, validation and work on body and
// checks the outcome is a reply or a proper AWS client error.
func fuzzOp(t *testing.T, s *Service, op string, body []byte) {
	ctx := kinesis.WithCaller(context.Background(), kinesis.DefaultCaller)
	_, err := operations[op](ctx, s, body)
	if err == nil {
		return
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%s %q: not an AWS error: %v", op, body, err)
	}
	if _, ok := errorStatus[fe.Kind]; !ok || errors.Is(fe.Kind, ErrInternal) {
		t.Fatalf("%s %q: %v", op, body, err)
	}
	if fe.Message == "" && !errors.Is(fe.Kind, ErrSerialization) {
		t.Fatalf("%s %q: %v has no message", op, body, err)
	}
}

func FuzzCreateDeliveryStreamBody(f *testing.F) {
	for _, seed := range []string{
		`{"DeliveryStreamName":"a","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}}`,
		`{"DeliveryStreamName":"b","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","BufferingHints":{"SizeInMBs":64,"IntervalInSeconds":0},"Prefix":"x/!{timestamp:yyyy}/","ErrorOutputPrefix":"e/!{firehose:error-output-type}/","DynamicPartitioningConfiguration":{"Enabled":true}}}`,
		`{"DeliveryStreamName":"c","HttpEndpointDestinationConfiguration":{"EndpointConfiguration":{"Url":"https://h"},"S3Configuration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}}}`,
		`{"DeliveryStreamName":"d","RedshiftDestinationConfiguration":{"RoleARN":"` + roleARN + `","ClusterJDBCURL":"jdbc:postgresql://h/db","CopyCommand":{"DataTableName":"t"},"Username":"u","Password":"passwd","S3Configuration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}}}`,
		`{"DeliveryStreamName":"e","DeliveryStreamType":"KinesisStreamAsSource","KinesisStreamSourceConfiguration":{"KinesisStreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","RoleARN":"` + roleARN + `"},"S3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}}`,
		`{"DeliveryStreamName":"f","Tags":[{"Key":"k","Value":"v"}],"SplunkDestinationConfiguration":{}}`,
		`{"DeliveryStreamName":5}`, `[]`, `{`, `null`, `{"Tags":{}}`,
	} {
		f.Add([]byte(seed))
	}
	mem := memstore.New(memstore.Config{})
	defer mem.Close()
	s := New(mem, Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzOp(t, s, "CreateDeliveryStream", body)
	})
}

func FuzzPutRecordBatchBody(f *testing.F) {
	for _, seed := range []string{
		`{"DeliveryStreamName":"in","Records":[{"Data":"aGVsbG8="},{"Data":""}]}`,
		`{"DeliveryStreamName":"in","Records":[]}`,
		`{"DeliveryStreamName":"in","Records":[{"Data":"!!"}]}`,
		`{"DeliveryStreamName":"in","Records":[{}]}`,
		`{"DeliveryStreamName":"nope","Records":[{"Data":"eA=="}]}`,
		`{"DeliveryStreamName":"in","Records":null}`,
		`{"Records":[{"Data":5}]}`,
	} {
		f.Add([]byte(seed))
	}
	mem := memstore.New(memstore.Config{})
	defer mem.Close()
	s := New(mem, Config{})
	ctx := kinesis.WithCaller(context.Background(), kinesis.DefaultCaller)
	_, err := s.CreateDeliveryStream(ctx, &CreateDeliveryStreamInput{DeliveryStreamName: str("in"),
		S3DestinationConfiguration: &model.S3DestinationConfiguration{RoleARN: str(roleARN), BucketARN: str(bucketARN)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzOp(t, s, "PutRecordBatch", body)
	})
}
