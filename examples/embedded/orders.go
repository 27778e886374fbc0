// Package embedded is an application's code under test: it writes orders
// to a Kinesis stream and reads them back. Its test runs against Rivulet
// started inside the test process, with nothing to install or run.
package embedded

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Orders is a stream of orders keyed by customer.
type Orders struct {
	Client *kinesis.Client
	Stream string
}

// Place writes one order.
func (o *Orders) Place(ctx context.Context, customer, order string) error {
	_, err := o.Client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamName:   aws.String(o.Stream),
		PartitionKey: aws.String(customer),
		Data:         []byte(order),
	})
	return err
}

// All reads every order from the start of each shard.
func (o *Orders) All(ctx context.Context) ([]string, error) {
	shards, err := o.Client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(o.Stream)})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sh := range shards.Shards {
		it, err := o.Client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(o.Stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, err
		}
		next := it.ShardIterator
		for next != nil {
			page, err := o.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next})
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", aws.ToString(sh.ShardId), err)
			}
			for _, r := range page.Records {
				out = append(out, string(r.Data))
			}
			if len(page.Records) == 0 && aws.ToInt64(page.MillisBehindLatest) == 0 {
				break // caught up with an open shard
			}
			next = page.NextShardIterator
		}
	}
	return out, nil
}
