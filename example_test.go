package rivulet_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

// A test starts Rivulet in its own process, writes a record with
// aws-sdk-go-v2 and reads it back.
func Example() {
	ctx := context.Background()
	srv, err := rivulet.Start(ctx, rivulet.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	client := kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(srv.Endpoint()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	stream := aws.String("orders")
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: stream, ShardCount: aws.Int32(1)}); err != nil {
		log.Fatal(err)
	}
	put, err := client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName: stream, PartitionKey: aws.String("customer-1"), Data: []byte("first order"),
	})
	if err != nil {
		log.Fatal(err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: stream, ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range got.Records {
		fmt.Printf("%s: %s\n", *r.PartitionKey, r.Data)
	}
	// Output: customer-1: first order
}
