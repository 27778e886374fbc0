package rivulet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

// newOpsServer is a server on a hand-moved clock with a one-second
// UPDATING time, and a client for it.
func newOpsServer(t *testing.T) (*kinesis.Client, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	srv := start(t, rivulet.Config{Clock: clk.Now, ReshardDelay: time.Second})
	return client(t, srv.Endpoint(), nil), clk
}

func newOpsStream(t *testing.T, c *kinesis.Client, name string, mode types.StreamMode, shards int32) string {
	t.Helper()
	ctx := context.Background()
	in := &kinesis.CreateStreamInput{StreamName: aws.String(name), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}}
	if mode == types.StreamModeProvisioned {
		in.ShardCount = aws.Int32(shards)
	}
	if _, err := c.CreateStream(ctx, in); err != nil {
		t.Fatal(err)
	}
	sum := opsSummary(t, c, name)
	if sum.StreamStatus != types.StreamStatusActive {
		t.Fatalf("new stream %s is %s", name, sum.StreamStatus)
	}
	return aws.ToString(sum.StreamARN)
}

func opsSummary(t *testing.T, c *kinesis.Client, name string) *types.StreamDescriptionSummary {
	t.Helper()
	out, err := c.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.StreamDescriptionSummary
}

func TestNewOpsAccountSettings(t *testing.T) {
	c, clk := newOpsServer(t)
	ctx := context.Background()
	d, err := c.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if m := d.MinimumThroughputBillingCommitment; m == nil || m.Status != types.MinimumThroughputBillingCommitmentOutputStatusDisabled || m.StartedAt != nil {
		t.Fatalf("fresh account: %+v, want DISABLED without times", m)
	}
	enable := func(s types.MinimumThroughputBillingCommitmentInputStatus) *types.MinimumThroughputBillingCommitmentOutput {
		t.Helper()
		out, err := c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
			MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: s}})
		if err != nil {
			t.Fatal(err)
		}
		return out.MinimumThroughputBillingCommitment
	}
	started := clk.Now()
	on := enable(types.MinimumThroughputBillingCommitmentInputStatusEnabled)
	if on.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabled || on.StartedAt == nil || on.EarliestAllowedEndAt == nil ||
		on.StartedAt.Sub(started).Abs() > time.Millisecond || on.EarliestAllowedEndAt.Sub(*on.StartedAt) != 24*time.Hour || on.EndedAt != nil {
		t.Fatalf("enabled: %+v", on)
	}
	// Disabling within 24 hours schedules the end.
	clk.Add(time.Hour)
	off := enable(types.MinimumThroughputBillingCommitmentInputStatusDisabled)
	if off.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabledUntilEarliestAllowedEnd || off.EndedAt == nil || !off.EndedAt.Equal(*on.EarliestAllowedEndAt) {
		t.Fatalf("early disable: %+v", off)
	}
	// Enabling again cancels it.
	again := enable(types.MinimumThroughputBillingCommitmentInputStatusEnabled)
	if again.Status != types.MinimumThroughputBillingCommitmentOutputStatusEnabled || again.EndedAt != nil || !again.StartedAt.Equal(*on.StartedAt) {
		t.Fatalf("re-enable: %+v", again)
	}
	enable(types.MinimumThroughputBillingCommitmentInputStatusDisabled)
	// The scheduled end comes by itself.
	clk.Add(24 * time.Hour)
	d, err = c.DescribeAccountSettings(ctx, &kinesis.DescribeAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if m := d.MinimumThroughputBillingCommitment; m.Status != types.MinimumThroughputBillingCommitmentOutputStatusDisabled || !m.EndedAt.Equal(*on.EarliestAllowedEndAt) {
		t.Fatalf("after the earliest end: %+v", m)
	}
	// After 24 hours a disable is immediate.
	enable(types.MinimumThroughputBillingCommitmentInputStatusEnabled)
	clk.Add(25 * time.Hour)
	if m := enable(types.MinimumThroughputBillingCommitmentInputStatusDisabled); m.Status != types.MinimumThroughputBillingCommitmentOutputStatusDisabled || m.EndedAt == nil {
		t.Fatalf("late disable: %+v", m)
	}

	_, err = c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
		MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: "MAYBE"}})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'MAYBE' at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]")
}

func TestNewOpsWarmThroughput(t *testing.T) {
	c, clk := newOpsServer(t)
	ctx := context.Background()
	arn := newOpsStream(t, c, "warm", types.StreamModeOnDemand, 0)
	newOpsStream(t, c, "cold", types.StreamModeProvisioned, 1)
	if w := opsSummary(t, c, "warm").WarmThroughput; w != nil {
		t.Fatalf("warm throughput before any update: %+v", w)
	}
	warm := func(name string, mibps int32) (*kinesis.UpdateStreamWarmThroughputOutput, error) {
		return c.UpdateStreamWarmThroughput(ctx, &kinesis.UpdateStreamWarmThroughputInput{StreamName: aws.String(name), WarmThroughputMiBps: aws.Int32(mibps)})
	}
	_, err := warm("warm", 100)
	wantAPIError(t, err, "InvalidArgumentException", "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account 000000000000.")
	if _, err := c.UpdateAccountSettings(ctx, &kinesis.UpdateAccountSettingsInput{
		MinimumThroughputBillingCommitment: &types.MinimumThroughputBillingCommitmentInput{Status: types.MinimumThroughputBillingCommitmentInputStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	_, err = warm("cold", 100)
	wantAPIError(t, err, "InvalidArgumentException", "Warm throughput is only supported for streams in ON_DEMAND mode. Stream cold under account 000000000000 is in PROVISIONED mode.")
	_, err = warm("warm", 10241)
	wantAPIError(t, err, "InvalidArgumentException", "")
	_, err = warm("missing", 10)
	wantAPIError(t, err, "ResourceNotFoundException", "Stream missing under account 000000000000 not found.")
	_, err = warm("warm", -1)
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '-1' at 'warmThroughputMiBps' failed to satisfy constraint: Member must have value greater than or equal to 0")

	out, err := warm("warm", 100)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.StreamARN) != arn || aws.ToString(out.StreamName) != "warm" || aws.ToInt32(out.WarmThroughput.TargetMiBps) != 100 || aws.ToInt32(out.WarmThroughput.CurrentMiBps) != 0 {
		t.Fatalf("update output: %+v %+v", out, out.WarmThroughput)
	}
	sum := opsSummary(t, c, "warm")
	if sum.StreamStatus != types.StreamStatusUpdating || aws.ToInt32(sum.WarmThroughput.TargetMiBps) != 100 || aws.ToInt32(sum.WarmThroughput.CurrentMiBps) != 0 {
		t.Fatalf("while updating: %s %+v", sum.StreamStatus, sum.WarmThroughput)
	}
	_, err = warm("warm", 200)
	wantAPIError(t, err, "ResourceInUseException", "Stream warm under account 000000000000 not ACTIVE, instead in state UPDATING")
	clk.Add(time.Second)
	sum = opsSummary(t, c, "warm")
	if sum.StreamStatus != types.StreamStatusActive || aws.ToInt32(sum.WarmThroughput.CurrentMiBps) != 100 {
		t.Fatalf("after updating: %s %+v", sum.StreamStatus, sum.WarmThroughput)
	}
	// Lowering it releases capacity the same way.
	if out, err = warm("warm", 10); err != nil || aws.ToInt32(out.WarmThroughput.CurrentMiBps) != 100 {
		t.Fatalf("lower: %+v, %v", out, err)
	}
}

func TestNewOpsRecordDistribution(t *testing.T) {
	c, _ := newOpsServer(t)
	ctx := context.Background()
	arn := newOpsStream(t, c, "spread", types.StreamModeOnDemand, 0)
	coldARN := newOpsStream(t, c, "cold", types.StreamModeProvisioned, 2)
	if got := opsSummary(t, c, "spread").RecordDistributionStrategy; got != types.RecordDistributionStrategyUserPartitionKey {
		t.Fatalf("default strategy %q, want USER_PARTITION_KEY", got)
	}
	if got := opsSummary(t, c, "cold").RecordDistributionStrategy; got != "" {
		t.Fatalf("provisioned stream reports strategy %q", got)
	}
	set := func(arn string, s types.RecordDistributionStrategy) error {
		_, err := c.UpdateStreamRecordDistributionStrategy(ctx, &kinesis.UpdateStreamRecordDistributionStrategyInput{StreamARN: aws.String(arn), RecordDistributionStrategy: s})
		return err
	}
	wantAPIError(t, set(coldARN, types.RecordDistributionStrategyAuto), "InvalidArgumentException",
		"The AUTO record distribution strategy is only supported for streams in ON_DEMAND mode. Stream cold under account 000000000000 is in PROVISIONED mode.")
	wantAPIError(t, set(arn, "RANDOM"), "ValidationException",
		"1 validation error detected: Value 'RANDOM' at 'recordDistributionStrategy' failed to satisfy constraint: Member must satisfy enum value set: [AUTO, USER_PARTITION_KEY]")

	// One partition key lands on one shard...
	shardsOf := func(n int) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for i := range n {
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), PartitionKey: aws.String("same"), Data: []byte(fmt.Sprint(i))})
			if err != nil {
				t.Fatal(err)
			}
			seen[aws.ToString(out.ShardId)]++
		}
		recs := make([]types.PutRecordsRequestEntry, n)
		for i := range recs {
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("same"), ExplicitHashKey: aws.String("0"), Data: []byte("x")}
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: recs})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %+v, %v", out, err)
		}
		for _, r := range out.Records {
			seen[aws.ToString(r.ShardId)]++
		}
		return seen
	}
	if seen := shardsOf(8); len(seen) != 2 { // the key's shard and shard 0 (hash key 0)
		t.Fatalf("USER_PARTITION_KEY: records on %v", seen)
	}
	// ...until AUTO spreads them over all four, at once.
	if err := set(arn, types.RecordDistributionStrategyAuto); err != nil {
		t.Fatal(err)
	}
	if got := opsSummary(t, c, "spread").RecordDistributionStrategy; got != types.RecordDistributionStrategyAuto {
		t.Fatalf("strategy %q after the update, want AUTO", got)
	}
	seen := shardsOf(8)
	if len(seen) != 4 {
		t.Fatalf("AUTO: records on %v, want all 4 shards", seen)
	}
	for id, n := range seen {
		if n != 4 {
			t.Errorf("AUTO: %d records on %s, want 4 of 16 on each", n, id)
		}
	}
	// AUTO makes the partition key optional, and ignores a bad explicit
	// hash key's value range.
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), Data: []byte("no key")}); err != nil {
		t.Fatalf("AUTO PutRecord without a partition key: %v", err)
	}
	pr, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: []types.PutRecordsRequestEntry{{Data: []byte("no key either")}}})
	if err != nil || aws.ToInt32(pr.FailedRecordCount) != 0 {
		t.Fatalf("AUTO PutRecords without a partition key: %+v, %v", pr, err)
	}
	if err := set(arn, types.RecordDistributionStrategyUserPartitionKey); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: aws.String(arn), Data: []byte("no key")})
	wantAPIError(t, err, "ValidationException",
		"1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null")
	_, err = c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: []types.PutRecordsRequestEntry{{Data: []byte("x")}}})
	wantAPIError(t, err, "ValidationException",
		"1 validation error detected: Value null at 'records.1.member.partitionKey' failed to satisfy constraint: Member must not be null")
	if seen := shardsOf(8); len(seen) != 2 {
		t.Fatalf("back to USER_PARTITION_KEY: records on %v", seen)
	}
}

// DescribeStreamSummary fills every field the SDK's output has that
// Rivulet knows.
func TestNewOpsSummaryFields(t *testing.T) {
	c, _ := newOpsServer(t)
	newOpsStream(t, c, "od", types.StreamModeOnDemand, 0)
	s := opsSummary(t, c, "od")
	if aws.ToInt32(s.OpenShardCount) != 4 || s.ConsumerCount == nil || s.ChannelCount == nil || s.QueueCount == nil || aws.ToInt32(s.QueueCount) != 0 ||
		aws.ToInt32(s.MaxRecordSizeInKiB) == 0 || s.RecordDistributionStrategy != types.RecordDistributionStrategyUserPartitionKey ||
		s.StreamModeDetails == nil || s.StreamModeDetails.StreamMode != types.StreamModeOnDemand || s.EncryptionType != types.EncryptionTypeNone {
		t.Fatalf("summary: %+v", s)
	}
}

// CreateStream takes the strategy too, on ON_DEMAND streams only.
func TestNewOpsCreateWithDistribution(t *testing.T) {
	c, _ := newOpsServer(t)
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("born-auto"),
		StreamModeDetails:          &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
		RecordDistributionStrategy: types.RecordDistributionStrategyAuto}); err != nil {
		t.Fatal(err)
	}
	if got := opsSummary(t, c, "born-auto").RecordDistributionStrategy; got != types.RecordDistributionStrategyAuto {
		t.Fatalf("strategy %q, want AUTO", got)
	}
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("born-cold"), ShardCount: aws.Int32(1),
		RecordDistributionStrategy: types.RecordDistributionStrategyAuto})
	wantAPIError(t, err, "InvalidArgumentException",
		"The AUTO record distribution strategy is only supported for streams in ON_DEMAND mode. Stream born-cold under account 000000000000 is in PROVISIONED mode.")
	_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("born-odd"), ShardCount: aws.Int32(1),
		RecordDistributionStrategy: "RANDOM"})
	wantAPIError(t, err, "ValidationException",
		"1 validation error detected: Value 'RANDOM' at 'recordDistributionStrategy' failed to satisfy constraint: Member must satisfy enum value set: [AUTO, USER_PARTITION_KEY]")
}
