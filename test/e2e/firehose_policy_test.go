package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"
)

// Under --auth=sigv4 the Firehose API checks signatures for the service
// firehose and policies on firehose:* actions against the delivery
// stream's ARN.
func TestFirehosePolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	putter := e2eKey{ID: "AKIAFIREHOSEPUT", Secret: "put-secret", Account: policyAccount,
		Principal: "arn:aws:iam::123456789012:user/putter", Policies: []string{`{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Action": "firehose:PutRecord*", "Resource": "arn:aws:firehose:us-east-1:123456789012:deliverystream/allowed"}]}`}}
	creds := writeCredentials(t, []e2eKey{adminKey, putter})
	s, _ := startFirehose(t, serverOptions{extra: []string{"--auth=sigv4", "--credentials", creds}})
	client := func(k e2eKey) *firehose.Client {
		return firehose.NewFromConfig(aws.Config{
			Region: region, HTTPClient: s.http, RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
			}),
		}, func(o *firehose.Options) { o.BaseEndpoint = aws.String(s.endpoint()) })
	}
	admin, put := client(adminKey), client(putter)
	for _, name := range []string{"allowed", "other"} {
		if _, err := admin.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(name),
			ExtendedS3DestinationConfiguration: s3Dest("pol-bucket", name+"/")}); err != nil {
			t.Fatalf("admin create %s: %v", name, err)
		}
		waitDeliveryActive(ctx, t, admin, name)
	}
	rec := &fhtypes.Record{Data: []byte("x\n")}
	if _, err := put.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("allowed"), Record: rec}); err != nil {
		t.Fatalf("allowed put: %v", err)
	}
	denied := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.Contains(ae.ErrorMessage(), "firehose:") {
			t.Fatalf("%s: %v, want AccessDeniedException naming the firehose action", what, err)
		}
	}
	_, err := put.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("other"), Record: rec})
	denied("put to another stream", err)
	_, err = put.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("allowed")})
	denied("describe", err)
	_, err = put.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("allowed")})
	denied("delete", err)

	bad := firehose.NewFromConfig(aws.Config{Region: region, HTTPClient: s.http, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: putter.ID, SecretAccessKey: "wrong"}, nil
		})}, func(o *firehose.Options) { o.BaseEndpoint = aws.String(s.endpoint()) })
	_, err = bad.PutRecord(ctx, &firehose.PutRecordInput{DeliveryStreamName: aws.String("allowed"), Record: rec})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v, want InvalidSignatureException", err)
	}
	s.stop(t)
}
