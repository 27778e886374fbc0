package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// A Kinesis channel through aws-sdk-go-v2: an on-demand stream delivered
// to a bucket by the Firehose engine; an S3 Tables destination refused.
func TestKinesisChannel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, bucketDir := startFirehose(t, serverOptions{})
	k := s.kinesis()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("chan-src"),
		StreamModeDetails: &ktypes.StreamModeDetails{StreamMode: ktypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	waitStreamActive(ctx, t, k, "chan-src")
	arn := "arn:aws:kinesis:" + region + ":" + account + ":stream/chan-src"
	streamCfg := []ktypes.ChannelStreamConfiguration{{StreamARN: aws.String(arn),
		RecordConfiguration: &ktypes.RecordConfiguration{RecordFormatType: ktypes.RecordFormatTypeByteArray}}}

	_, err := k.CreateChannel(ctx, &kinesis.CreateChannelInput{
		ChannelName: aws.String("iceberg"), ServiceExecutionRoleARN: aws.String(fhRole), StreamConfigurationList: streamCfg,
		S3TablesDestinationConfiguration: &ktypes.S3TablesDestinationConfiguration{
			S3TablesConfigurationList: []ktypes.S3TablesConfiguration{{TableBucketARN: aws.String("arn:aws:s3tables:us-east-1:000000000000:bucket/tables"),
				Namespace: aws.String("ns"), TableName: aws.String("events"), CompressionType: ktypes.S3TablesCompressionTypeZstd}},
			DeadLetterQueueS3Configuration: &ktypes.DeadLetterQueueS3Configuration{BucketARN: aws.String("arn:aws:s3:::dlq"),
				ExpectedBucketOwner: aws.String(account)},
		},
	})
	if err == nil || !strings.Contains(err.Error(), "S3 Tables") {
		t.Fatalf("S3 Tables destination: %v, want a clear refusal", err)
	}

	out, err := k.CreateChannel(ctx, &kinesis.CreateChannelInput{
		ChannelName: aws.String("to-bucket"), ServiceExecutionRoleARN: aws.String(fhRole), StreamConfigurationList: streamCfg,
		S3DestinationConfiguration: &ktypes.S3DestinationConfiguration{
			StorageConfiguration: &ktypes.S3StorageConfiguration{BucketARN: aws.String("arn:aws:s3:::chan-bucket"),
				OutputKeyTemplate: aws.String("chan/"), CompressionType: ktypes.S3CompressionTypeGzip, ExpectedBucketOwner: aws.String(account)},
			DataFreshnessInSeconds: aws.Int32(1),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewChannelActiveWaiter(k)
	if err := w.Wait(ctx, &kinesis.DescribeChannelInput{ChannelARN: out.ChannelDescription.ChannelARN}, 2*time.Minute); err != nil {
		t.Fatalf("channel never ACTIVE: %v", err)
	}
	list, err := k.ListChannels(ctx, &kinesis.ListChannelsInput{})
	if err != nil || len(list.ChannelSummaries) != 1 {
		t.Fatalf("ListChannels = %+v, %v", list, err)
	}

	// The channel reads from its start, like a Firehose Kinesis source:
	// probe until the first record arrives, then check a batch.
	for i := 0; ; i++ {
		if _, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("chan-src"), PartitionKey: aws.String("p"),
			Data: []byte(fmt.Sprintf("probe-%d\n", i))}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(joinGunzipped(t, bucketFiles(t, bucketDir, "chan-bucket", "chan/")), "probe-") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the channel delivered nothing")
		case <-time.After(time.Second):
		}
	}
	want := map[string]int{}
	var entries []ktypes.PutRecordsRequestEntry
	for i := range 200 {
		r := fmt.Sprintf("chan-rec-%03d", i)
		want[r] = 1
		entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(r), Data: []byte(r + "\n")})
	}
	if _, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("chan-src"), Records: entries}); err != nil {
		t.Fatal(err)
	}
	waitDelivered(ctx, t, func() map[string]int {
		n := countLines(bucketFiles(t, bucketDir, "chan-bucket", "chan/"), func(b []byte) []byte { return gunzip(t, b) })
		for k := range n {
			if strings.HasPrefix(k, "probe-") {
				delete(n, k)
			}
		}
		return n
	}, want)
	if _, err := k.DeleteChannel(ctx, &kinesis.DeleteChannelInput{ChannelARN: out.ChannelDescription.ChannelARN}); err != nil {
		t.Fatal(err)
	}
	s.stop(t)
}

func joinGunzipped(t *testing.T, objs map[string][]byte) string {
	var b strings.Builder
	for _, v := range objs {
		b.Write(gunzip(t, v))
	}
	return b.String()
}
