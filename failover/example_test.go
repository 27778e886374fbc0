package failover_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/failover"
)

// Clients on the three nodes of a cluster: when the node in use stops
// answering, the next attempt of a call goes to the next node.
func Example() {
	eps, err := failover.New([]string{"http://10.0.0.1:4567", "http://10.0.0.2:4567", "http://10.0.0.3:4567"})
	if err != nil {
		log.Fatal(err)
	}
	defer eps.CloseIdleConnections()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	kc := eps.Kinesis(cfg)
	ddb := eps.DynamoDB(cfg) // for a consumer's lease table
	_ = ddb
	if _, err := kc.ListStreams(context.Background(), &kinesis.ListStreamsInput{}); err != nil {
		log.Print(err)
	}
}
