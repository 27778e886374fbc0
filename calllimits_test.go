package rivulet_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet"
)

// wantThrottle checks an SDK error's type and message.
func wantThrottle[E smithy.APIError](t *testing.T, err error, msg string) {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want %T", err, err, e)
	}
	if e.ErrorMessage() != msg {
		t.Fatalf("message\n got: %s\nwant: %s", e.ErrorMessage(), msg)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("HTTP status %d, want 400", re.HTTPStatusCode())
	}
}

// TestAWSLimitsGetShardIterator: with --limits=aws, the 6th
// GetShardIterator call on a shard within one second is throttled with
// AWS's exception and message; other shards are not.
func TestAWSLimitsGetShardIterator(t *testing.T) {
	clk := newFakeClock()
	srv := start(t, rivulet.Config{AWSLimits: true, Clock: clk.Now})
	c := client(t, srv.Endpoint(), nil)
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("gsi"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	gsi := func(shard string) error {
		_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("gsi"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		return err
	}
	const s0 = "shardId-000000000000"
	for i := range 5 {
		if err := gsi(s0); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	wantThrottle[*types.ProvisionedThroughputExceededException](t, gsi(s0),
		"Rate exceeded for shard shardId-000000000000 in stream gsi under account 000000000000.")
	if err := gsi("shardId-000000000001"); err != nil {
		t.Errorf("another shard: %v", err)
	}
	clk.Add(200 * time.Millisecond) // one call's worth
	if err := gsi(s0); err != nil {
		t.Errorf("after 200ms: %v", err)
	}
	if err := gsi(s0); err == nil {
		t.Error("a second call after 200ms admitted")
	}
}

// TestAWSLimitsSubscribeToShard: with --limits=aws, a second
// SubscribeToShard for the same consumer and shard within one second is
// refused with LimitExceededException before the event stream starts.
func TestAWSLimitsSubscribeToShard(t *testing.T) {
	clk := newFakeClock()
	srv := start(t, rivulet.Config{AWSLimits: true, Clock: clk.Now})
	// h2c, as the SDKs use for SubscribeToShard. One client per
	// subscription: smithy-go's event-stream codec is per client and
	// races when a client reads two streams at once.
	h2c := func() *kinesis.Client {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		return client(t, srv.Endpoint(), tr)
	}
	c := h2c()
	ctx := context.Background()
	out, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("sub"), ShardCount: aws.Int32(2)})
	if err != nil || out == nil {
		t.Fatal(err)
	}
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/sub"), ConsumerName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(reg.Consumer.ConsumerARN)
	for i := 0; reg.Consumer.ConsumerStatus != types.ConsumerStatusActive; i++ {
		if i == 100 { // rivulet.Start makes consumers ACTIVE at once
			t.Fatalf("consumer still %s", reg.Consumer.ConsumerStatus)
		}
		d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: &arn})
		if err != nil {
			t.Fatal(err)
		}
		reg.Consumer.ConsumerStatus = d.ConsumerDescription.ConsumerStatus
	}
	subscribe := func(shard string) (*kinesis.SubscribeToShardOutput, error) {
		out, err := h2c().SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: &arn, ShardId: aws.String(shard),
			StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
		if err == nil {
			t.Cleanup(func() { out.GetStream().Close() })
		}
		return out, err
	}
	const s0 = "shardId-000000000000"
	if _, err := subscribe(s0); err != nil {
		t.Fatal(err)
	}
	_, err = subscribe(s0)
	wantThrottle[*types.LimitExceededException](t, err, "Rate exceeded for consumer "+arn+" and shard shardId-000000000000.")
	// Another shard of the same consumer has its own rate.
	if _, err := subscribe("shardId-000000000001"); err != nil {
		t.Errorf("another shard: %v", err)
	}
	// A second later the rate admits the call; the first subscription,
	// still within its 5 s, keeps the shard.
	clk.Add(time.Second)
	_, err = subscribe(s0)
	wantThrottle[*types.ResourceInUseException](t, err, "Another active subscription exists for this consumer: 000000000000:sub:shardId-000000000000:app")
	clk.Add(5 * time.Second)
	if _, err := subscribe(s0); err != nil {
		t.Errorf("takeover after 5 s: %v", err)
	}
}
