package kinesis_test

// Channels end to end: the real aws-sdk-go-v2 Kinesis client against the
// real wire handler, so member names, timestamps, error types and the
// SDK's waiter and paginator are checked as a user meets them.

import (
	"context"
	"errors"
	sdkhttp "github.com/rivulet/rivulet/internal/client"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store/memstore"
	"github.com/rivulet/rivulet/internal/wire"
)

const sdkAccount = "123456789012"

func sdkChannels(t *testing.T) *sdk.Client {
	t.Helper()
	be := memstore.New(memstore.Config{})
	t.Cleanup(func() { be.Close() })
	// Immediate transitions, as rivulet serve has by default.
	svc := kinesis.New(be, kinesis.Config{CreateDelay: -1, DeleteDelay: -1, ReshardDelay: -1, Channels: be})
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(wire.New(svc.Operations(), wire.Options{}))
	t.Cleanup(srv.Close)
	return sdk.New(sdk.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "eu-west-2",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: sdkAccount, SecretAccessKey: "secret"}, nil
		}),
		HTTPClient:       &http.Client{Transport: sdkhttp.OwnBody(srv.Client().Transport)},
		RetryMaxAttempts: 1,
	})
}

func TestChannelsSDK(t *testing.T) {
	ctx := context.Background()
	c := sdkChannels(t)
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("orders"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("prov"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	streamARN := *sum.StreamDescriptionSummary.StreamARN

	in := &sdk.CreateChannelInput{
		ChannelName:             aws.String("orders-s3"),
		ServiceExecutionRoleARN: aws.String("arn:aws:iam::123456789012:role/delivery"),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{
			StreamARN: aws.String(streamARN),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeJson,
				GSRSchemaARN: aws.String("arn:aws:glue:eu-west-2:123456789012:schema/reg/orders")},
		}},
		S3DestinationConfiguration: &types.S3DestinationConfiguration{
			StorageConfiguration: &types.S3StorageConfiguration{
				BucketARN: aws.String("arn:aws:s3:::dest-bucket"), CompressionType: types.S3CompressionTypeGzip,
				ExpectedBucketOwner: aws.String(sdkAccount), OutputKeyTemplate: aws.String("orders/"),
				StorageClass: types.S3StorageClassGlacierIr,
			},
			DataFreshnessInSeconds: aws.Int32(120),
			DeadLetterQueueS3Configuration: &types.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dlq-bucket"),
				ExpectedBucketOwner: aws.String(sdkAccount), ErrorOutputPrefix: aws.String("errors/")},
		},
		LoggingConfiguration: &types.ChannelLoggingConfiguration{CloudWatchLogs: &types.CloudWatchLogs{
			Enabled: aws.Bool(true), LogGroupName: aws.String("/aws/kinesis/orders"), LogStreamName: aws.String("DestinationDelivery")}},
		Tags: map[string]string{"team": "data"},
	}
	before := time.Now().Add(-time.Second)
	out, err := c.CreateChannel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	d := out.ChannelDescription
	if *d.ChannelARN != "arn:aws:kinesis:eu-west-2:123456789012:channel/orders-s3" || *d.ChannelName != "orders-s3" || *d.ChannelId == "" ||
		d.ChannelStatus != types.ChannelStatusActive || d.ChannelCreationTimestamp.Before(before) ||
		*d.ServiceExecutionRoleARN != *in.ServiceExecutionRoleARN || d.ChannelStatusReason != nil || d.S3TablesDestinationConfiguration != nil {
		t.Fatalf("created %+v", d)
	}
	sc := d.StreamConfigurationList
	if len(sc) != 1 || *sc[0].StreamARN != streamARN || !sc[0].StreamCreationTimestamp.Equal(*sum.StreamDescriptionSummary.StreamCreationTimestamp) ||
		sc[0].RecordConfiguration.RecordFormatType != types.RecordFormatTypeJson || *sc[0].RecordConfiguration.GSRSchemaARN != *in.StreamConfigurationList[0].RecordConfiguration.GSRSchemaARN {
		t.Fatalf("stream configuration %+v", sc)
	}
	s3 := d.S3DestinationConfiguration
	st := s3.StorageConfiguration
	if *s3.DataFreshnessInSeconds != 120 || *st.BucketARN != "arn:aws:s3:::dest-bucket" || st.CompressionType != types.S3CompressionTypeGzip ||
		*st.ExpectedBucketOwner != sdkAccount || *st.OutputKeyTemplate != "orders/" || st.StorageClass != types.S3StorageClassGlacierIr ||
		*s3.DeadLetterQueueS3Configuration.BucketARN != "arn:aws:s3:::dlq-bucket" || *s3.DeadLetterQueueS3Configuration.ErrorOutputPrefix != "errors/" ||
		*s3.DeadLetterQueueS3Configuration.ExpectedBucketOwner != sdkAccount {
		t.Fatalf("S3 destination %+v / %+v", s3, st)
	}
	if cw := d.LoggingConfiguration.CloudWatchLogs; !*cw.Enabled || *cw.LogGroupName != "/aws/kinesis/orders" || *cw.LogStreamName != "DestinationDelivery" {
		t.Fatalf("logging %+v", cw)
	}

	// The SDK's own waiter reads DescribeChannel.
	if err := sdk.NewChannelActiveWaiter(c).Wait(ctx, &sdk.DescribeChannelInput{ChannelARN: d.ChannelARN}, time.Minute); err != nil {
		t.Fatal(err)
	}

	var badArg *types.InvalidArgumentException
	_, err = c.CreateChannel(ctx, &sdk.CreateChannelInput{ChannelName: aws.String("iceberg"), ServiceExecutionRoleARN: in.ServiceExecutionRoleARN,
		StreamConfigurationList: in.StreamConfigurationList,
		S3TablesDestinationConfiguration: &types.S3TablesDestinationConfiguration{
			DeadLetterQueueS3Configuration: in.S3DestinationConfiguration.DeadLetterQueueS3Configuration,
			S3TablesConfigurationList: []types.S3TablesConfiguration{{CompressionType: types.S3TablesCompressionTypeZstd,
				Namespace: aws.String("db"), TableBucketARN: aws.String("arn:aws:s3tables:eu-west-2:123456789012:bucket/tb"), TableName: aws.String("t")}},
		}})
	if !errors.As(err, &badArg) {
		t.Fatalf("S3 Tables: %v", err)
	}
	var inUse *types.ResourceInUseException
	if _, err := c.CreateChannel(ctx, in); !errors.As(err, &inUse) {
		t.Fatalf("duplicate: %v", err)
	}
	var notFound *types.ResourceNotFoundException
	missing := *in
	missing.ChannelName = aws.String("other")
	missing.StreamConfigurationList = []types.ChannelStreamConfiguration{{StreamARN: aws.String("arn:aws:kinesis:eu-west-2:123456789012:stream/nope"),
		RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeString}}}
	if _, err := c.CreateChannel(ctx, &missing); !errors.As(err, &notFound) {
		t.Fatalf("missing stream: %v", err)
	}
	var invalid *types.ValidationException
	missing.StreamConfigurationList[0].StreamARN = aws.String("arn:aws:kinesis:eu-west-2:123456789012:stream/prov")
	if _, err := c.CreateChannel(ctx, &missing); !errors.As(err, &invalid) {
		t.Fatalf("provisioned stream: %v", err)
	}

	for _, n := range []string{"b", "c", "d"} {
		next := *in
		next.ChannelName = aws.String(n)
		if _, err := c.CreateChannel(ctx, &next); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := sdk.NewListChannelsPaginator(c, &sdk.ListChannelsInput{MaxResults: aws.Int32(3)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.ChannelSummaries {
			if s.ChannelDestinationType != types.ChannelDestinationTypeS3 || len(s.Streams) != 1 || *s.Streams[0].StreamARN != streamARN ||
				s.ChannelStatus != types.ChannelStatusActive {
				t.Fatalf("summary %+v", s)
			}
			names = append(names, *s.ChannelName)
		}
	}
	if len(names) != 4 || names[0] != "b" || names[3] != "orders-s3" {
		t.Fatalf("listed %v", names)
	}

	filtered, err := c.ListChannels(ctx, &sdk.ListChannelsInput{StreamFilter: []types.StreamFilter{{StreamARN: aws.String(streamARN),
		StreamCreationTimestamp: sum.StreamDescriptionSummary.StreamCreationTimestamp}}})
	if err != nil || len(filtered.ChannelSummaries) != 4 || filtered.NextToken != nil {
		t.Fatalf("filtered by stream and creation time: %+v %v", filtered, err)
	}

	up, err := c.UpdateChannel(ctx, &sdk.UpdateChannelInput{ChannelARN: d.ChannelARN,
		S3DestinationConfiguration: &types.S3DestinationUpdateInput{DataFreshnessInSeconds: aws.Int32(30)},
		LoggingConfiguration:       &types.ChannelLoggingUpdateInput{CloudWatchLogs: &types.CloudWatchLogsUpdateInput{Enabled: aws.Bool(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	if *up.ChannelDescription.S3DestinationConfiguration.DataFreshnessInSeconds != 30 || *up.ChannelDescription.LoggingConfiguration.CloudWatchLogs.Enabled {
		t.Fatalf("updated %+v", up.ChannelDescription)
	}
	if _, err := c.DeleteChannel(ctx, &sdk.DeleteChannelInput{ChannelARN: d.ChannelARN}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeChannel(ctx, &sdk.DescribeChannelInput{ChannelARN: d.ChannelARN}); !errors.As(err, &notFound) {
		t.Fatalf("describe after delete: %v", err)
	}
}

// TestChannelStreamSDK: the ARN tag operations on a channel, ZSTD
// channels, ChannelCount and DeleteStream's refusal, as the SDK sees them.
func TestChannelStreamSDK(t *testing.T) {
	ctx := context.Background()
	c := sdkChannels(t)
	if _, err := c.CreateStream(ctx, &sdk.CreateStreamInput{StreamName: aws.String("src"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	streamARN := "arn:aws:kinesis:eu-west-2:123456789012:stream/src"
	out, err := c.CreateChannel(ctx, &sdk.CreateChannelInput{
		ChannelName:             aws.String("zs"),
		ServiceExecutionRoleARN: aws.String("arn:aws:iam::123456789012:role/delivery"),
		StreamConfigurationList: []types.ChannelStreamConfiguration{{StreamARN: aws.String(streamARN),
			RecordConfiguration: &types.RecordConfiguration{RecordFormatType: types.RecordFormatTypeByteArray}}},
		S3DestinationConfiguration: &types.S3DestinationConfiguration{StorageConfiguration: &types.S3StorageConfiguration{
			BucketARN: aws.String("arn:aws:s3:::dest-bucket"), CompressionType: types.S3CompressionTypeZstd,
			ExpectedBucketOwner: aws.String(sdkAccount)}},
		Tags: map[string]string{"team": "data"},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ChannelDescription.ChannelARN
	if ct := out.ChannelDescription.S3DestinationConfiguration.StorageConfiguration.CompressionType; ct != types.S3CompressionTypeZstd {
		t.Fatalf("CompressionType %s", ct)
	}

	if _, err := c.TagResource(ctx, &sdk.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "test", "team": "ops"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sdk.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" || *tags.Tags[0].Value != "ops" {
		t.Fatalf("tags %+v", tags.Tags)
	}
	var notFound *types.ResourceNotFoundException
	if _, err := c.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{
		ResourceARN: aws.String("arn:aws:kinesis:eu-west-2:123456789012:channel/none")}); !errors.As(err, &notFound) {
		t.Fatalf("tags of a missing channel: %v", err)
	}

	sum, err := c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamARN: aws.String(streamARN)})
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.StreamDescriptionSummary.ChannelCount; n == nil || *n != 1 {
		t.Fatalf("ChannelCount %v, want 1", n)
	}
	var inUse *types.ResourceInUseException
	if _, err := c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamARN: aws.String(streamARN),
		EnforceConsumerDeletion: aws.Bool(true)}); !errors.As(err, &inUse) {
		t.Fatalf("DeleteStream with a channel: %v", err)
	}
	if _, err := c.DeleteChannel(ctx, &sdk.DeleteChannelInput{ChannelARN: arn}); err != nil {
		t.Fatal(err)
	}
	sum, err = c.DescribeStreamSummary(ctx, &sdk.DescribeStreamSummaryInput{StreamARN: aws.String(streamARN)})
	if err != nil || sum.StreamDescriptionSummary.ChannelCount == nil || *sum.StreamDescriptionSummary.ChannelCount != 0 {
		t.Fatalf("ChannelCount after DeleteChannel: %+v %v", sum, err)
	}
	if _, err := c.DeleteStream(ctx, &sdk.DeleteStreamInput{StreamARN: aws.String(streamARN)}); err != nil {
		t.Fatal(err)
	}
}
