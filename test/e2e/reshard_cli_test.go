package e2e

import (
	"context"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliReshardShard is a shard as AWS CLI v2 prints it, with its lineage.
type cliReshardShard struct {
	ShardID               string `json:"ShardId"`
	ParentShardID         string `json:"ParentShardId"`
	AdjacentParentShardID string `json:"AdjacentParentShardId"`
	HashKeyRange          cliHashKeyRange
	SequenceNumberRange   struct{ StartingSequenceNumber, EndingSequenceNumber string }
}

func cliListShards(ctx context.Context, t *testing.T, s *server, stream string, extra ...string) []cliReshardShard {
	t.Helper()
	var out struct{ Shards []cliReshardShard }
	awsJSON(ctx, t, s, &out, append([]string{"kinesis", "list-shards", "--stream-name", stream}, extra...)...)
	return out.Shards
}

// TestAWSCLIReshard splits, merges and scales a stream with AWS CLI v2 and
// checks what it prints. The SDK only waits for ACTIVE, which is faster.
func TestAWSCLIReshard(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (apt-get install awscli; make test does it): %v", awsCLI, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis()
	const stream = "CliReshard"
	const arn = "arn:aws:kinesis:us-east-1:000000000000:stream/" + stream
	createStream(ctx, t, c, stream, 1)

	mid := new(big.Int).Rsh(bigInt(t, maxHashKey), 1).String()
	midLess1 := new(big.Int).Sub(bigInt(t, mid), big.NewInt(1)).String()
	stdout, stderr, code := awsRun(ctx, t, s, "kinesis", "split-shard", "--stream-name", stream,
		"--shard-to-split", "shardId-000000000000", "--new-starting-hash-key", mid)
	if code != 0 || strings.TrimSpace(stdout) != "" {
		t.Fatalf("split-shard: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	waitActive(ctx, t, c, stream)

	shards := cliListShards(ctx, t, s, stream)
	if len(shards) != 3 {
		t.Fatalf("list-shards after split-shard: %d shards, want 3: %+v", len(shards), shards)
	}
	if sh := shards[0]; sh.ShardID != "shardId-000000000000" || !seqRE.MatchString(sh.SequenceNumberRange.EndingSequenceNumber) {
		t.Errorf("split parent: %+v, want shard 0 with an EndingSequenceNumber", sh)
	}
	for i, want := range []struct {
		id string
		r  cliHashKeyRange
	}{{"shardId-000000000001", cliHashKeyRange{"0", midLess1}}, {"shardId-000000000002", cliHashKeyRange{mid, maxHashKey}}} {
		sh := shards[i+1]
		if sh.ShardID != want.id || sh.ParentShardID != "shardId-000000000000" || sh.AdjacentParentShardID != "" ||
			sh.HashKeyRange != want.r || sh.SequenceNumberRange.EndingSequenceNumber != "" {
			t.Errorf("split child: %+v, want %s of shard 0 with range %+v, open", sh, want.id, want.r)
		}
	}

	// Reading the closed parent ends with no NextShardIterator and its
	// children.
	var it struct{ ShardIterator string }
	awsJSON(ctx, t, s, &it, "kinesis", "get-shard-iterator", "--stream-name", stream, "--shard-id", "shardId-000000000000",
		"--shard-iterator-type", "TRIM_HORIZON")
	var recs struct {
		NextShardIterator *string
		ChildShards       []struct {
			ShardID      string `json:"ShardId"`
			ParentShards []string
			HashKeyRange cliHashKeyRange
		}
	}
	for i := 0; ; i++ {
		recs.NextShardIterator = nil
		awsJSON(ctx, t, s, &recs, "kinesis", "get-records", "--shard-iterator", it.ShardIterator)
		if recs.NextShardIterator == nil {
			break
		}
		if i == 5 {
			t.Fatal("get-records on an empty closed shard did not reach SHARD_END in 6 calls")
		}
		it.ShardIterator = *recs.NextShardIterator
	}
	if len(recs.ChildShards) != 2 || recs.ChildShards[0].ShardID != "shardId-000000000001" || recs.ChildShards[1].ShardID != "shardId-000000000002" ||
		recs.ChildShards[0].HashKeyRange != (cliHashKeyRange{"0", midLess1}) || recs.ChildShards[1].HashKeyRange != (cliHashKeyRange{mid, maxHashKey}) ||
		strings.Join(recs.ChildShards[0].ParentShards, ",") != "shardId-000000000000" || strings.Join(recs.ChildShards[1].ParentShards, ",") != "shardId-000000000000" {
		t.Errorf("get-records at SHARD_END: ChildShards %+v", recs.ChildShards)
	}

	stdout, stderr, code = awsRun(ctx, t, s, "kinesis", "merge-shards", "--stream-name", stream,
		"--shard-to-merge", "shardId-000000000001", "--adjacent-shard-to-merge", "shardId-000000000002")
	if code != 0 || strings.TrimSpace(stdout) != "" {
		t.Fatalf("merge-shards: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	waitActive(ctx, t, c, stream)
	shards = cliListShards(ctx, t, s, stream)
	if len(shards) != 4 {
		t.Fatalf("list-shards after merge-shards: %d shards, want 4: %+v", len(shards), shards)
	}
	if sh := shards[3]; sh.ShardID != "shardId-000000000003" || sh.ParentShardID != "shardId-000000000001" ||
		sh.AdjacentParentShardID != "shardId-000000000002" || sh.HashKeyRange != (cliHashKeyRange{"0", maxHashKey}) {
		t.Errorf("merged child: %+v", sh)
	}
	for _, sh := range shards[1:3] {
		if sh.SequenceNumberRange.EndingSequenceNumber == "" {
			t.Errorf("merged parent %s has no EndingSequenceNumber", sh.ShardID)
		}
	}

	// One open shard: 4 is more than double. The CLI retries
	// LimitExceededException before it gives up.
	stdout, stderr, code = awsRun(ctx, t, s, "kinesis", "update-shard-count", "--stream-name", stream,
		"--target-shard-count", "4", "--scaling-type", "UNIFORM_SCALING")
	const wantErr = "An error occurred (LimitExceededException) when calling the UpdateShardCount operation" +
		" (reached max retries: 2): UpdateShardCount cannot scale up over double your current open shard count. " +
		"Current open shard count: 1, Target shard count: 4"
	if (code != 254 && code != 255) || strings.TrimSpace(stderr) != wantErr {
		t.Errorf("update-shard-count 1 -> 4: exit %d, stdout %q\nstderr %q\n  want %q", code, stdout, strings.TrimSpace(stderr), wantErr)
	}

	type scaled struct {
		StreamName, StreamARN               string
		CurrentShardCount, TargetShardCount int
	}
	for _, step := range []scaled{{stream, arn, 1, 2}, {stream, arn, 2, 4}} {
		var out scaled
		awsJSON(ctx, t, s, &out, "kinesis", "update-shard-count", "--stream-name", stream,
			"--target-shard-count", strconv.Itoa(step.TargetShardCount), "--scaling-type", "UNIFORM_SCALING")
		if out != step {
			t.Errorf("update-shard-count: %+v, want %+v", out, step)
		}
		waitActive(ctx, t, c, stream)
	}
	latest := cliListShards(ctx, t, s, stream, "--shard-filter", "Type=AT_LATEST")
	want := uniformRanges(4)
	if len(latest) != 4 {
		t.Fatalf("list-shards AT_LATEST after scaling to 4: %+v", latest)
	}
	for _, sh := range latest {
		found := false
		for _, r := range want {
			found = found || sh.HashKeyRange == cliHashKeyRange{r[0], r[1]}
		}
		if !found || sh.SequenceNumberRange.EndingSequenceNumber != "" {
			t.Errorf("open shard %+v is not one of the uniform ranges %v", sh, want)
		}
	}
	var sum struct{ StreamDescriptionSummary struct{ OpenShardCount int } }
	awsJSON(ctx, t, s, &sum, "kinesis", "describe-stream-summary", "--stream-name", stream)
	if sum.StreamDescriptionSummary.OpenShardCount != 4 {
		t.Errorf("describe-stream-summary: OpenShardCount %d, want 4", sum.StreamDescriptionSummary.OpenShardCount)
	}
	s.stop(t)
}
