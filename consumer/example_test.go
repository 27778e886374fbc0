package consumer_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/consumer"
)

// A worker processes a stream with its leases in DynamoDB: here both
// Kinesis and DynamoDB are an in-process Rivulet; against AWS, pass the
// clients made by config.LoadDefaultConfig instead.
func Example() {
	ctx := context.Background()
	srv, err := rivulet.Start(ctx, rivulet.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	kc := kinesis.New(kinesis.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1", Credentials: creds})
	ddb := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1", Credentials: creds})

	stream := "orders"
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(1)}); err != nil {
		log.Fatal(err)
	}
	for _, order := range []string{"first order", "second order"} {
		if _, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String("customer-1"), Data: []byte(order)}); err != nil {
			log.Fatal(err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	var once sync.Once
	seen := 0
	w, err := consumer.New(consumer.Config{
		AppName:         "order-processor", // also the lease table's name
		Stream:          stream,
		Kinesis:         kc,
		DynamoDB:        ddb,
		InitialPosition: consumer.InitialPosition{Type: consumer.SentinelTrimHorizon},
		Retrieval:       consumer.Polling{IdleTimeBetweenReads: 200 * time.Millisecond},
		Processor: consumer.ProcessorFunc(func(ctx context.Context, in consumer.ProcessRecordsInput) {
			for _, r := range in.Records {
				fmt.Printf("%s: %s\n", r.PartitionKey, r.Data)
				seen++
			}
			// Record progress: after a restart or a hand-off, processing
			// resumes after the last record of this batch.
			if err := in.Checkpointer.Checkpoint(ctx); err != nil {
				log.Print(err)
			}
			if seen == 2 {
				once.Do(stop)
			}
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Run returns after ctx ends and the worker released its leases.
	if err := w.Run(runCtx); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// customer-1: first order
	// customer-1: second order
}
