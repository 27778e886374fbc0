package kinesis

import (
	"fmt"
	"math/big"
	"sort"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
)

func put(t *testing.T, s *Service, stream, pk, data string) *api.PutRecordOutput {
	t.Helper()
	out, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: &stream, PartitionKey: &pk, Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func shardsOf(t *testing.T, s *Service, stream string) map[string]api.Shard {
	t.Helper()
	out, err := s.ListShards(ctx, &api.ListShardsInput{StreamName: &stream})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]api.Shard{}
	for _, sh := range out.Shards {
		m[sh.ShardId] = sh
	}
	return m
}

// readShard reads one shard to its end and returns the data and the
// ChildShards of the last response.
func readShard(t *testing.T, s *Service, stream, shard string) ([]string, []api.ChildShard) {
	t.Helper()
	it := iter(t, s, stream, shard, api.TrimHorizon, nil, nil)
	var data []string
	for i := 0; i < 100; i++ {
		out, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			data = append(data, string(r.Data))
		}
		if out.NextShardIterator == nil {
			return data, out.ChildShards
		}
		if len(out.Records) == 0 {
			return data, nil
		}
		it = *out.NextShardIterator
	}
	t.Fatal("no end")
	return nil, nil
}

func TestSplitShard(t *testing.T) {
	s, c := newTestService(t, nil)
	s.cfg.ReshardDelay = time.Second
	mustCreate(t, s, c, "sp", 1)
	put(t, s, "sp", "a", "before")
	mid := "170141183460469231731687303715884105728"
	if _, err := s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("sp"), ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: &mid}); err != nil {
		t.Fatal(err)
	}
	// UPDATING: nothing has changed yet, writes still land in the parent.
	sum, _ := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("sp")})
	if sum.StreamDescriptionSummary.StreamStatus != api.StatusUpdating || len(shardsOf(t, s, "sp")) != 1 {
		t.Fatalf("want UPDATING with one shard: %+v", sum.StreamDescriptionSummary)
	}
	_, err := s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("sp"), ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: &mid})
	wantErr(t, err, ErrResourceInUse, "Stream sp under account 000000000000 not ACTIVE, instead in state UPDATING")
	if out := put(t, s, "sp", "a", "during"); out.ShardId != "shardId-000000000000" {
		t.Fatalf("write during UPDATING went to %s", out.ShardId)
	}

	c.Add(time.Second)
	shards := shardsOf(t, s, "sp")
	if len(shards) != 3 {
		t.Fatalf("got %d shards", len(shards))
	}
	p, a, b := shards["shardId-000000000000"], shards["shardId-000000000001"], shards["shardId-000000000002"]
	if p.SequenceNumberRange.EndingSequenceNumber == nil || *a.ParentShardId != p.ShardId || *b.ParentShardId != p.ShardId ||
		a.HashKeyRange.EndingHashKey != "170141183460469231731687303715884105727" || b.HashKeyRange.StartingHashKey != mid ||
		b.HashKeyRange.EndingHashKey != hashkey.Max.String() {
		t.Fatalf("bad split: %+v %+v %+v", p, a, b)
	}
	after := put(t, s, "sp", "a", "after")
	if after.ShardId == p.ShardId {
		t.Fatal("write after the split went to the closed parent")
	}
	data, children := readShard(t, s, "sp", p.ShardId)
	if fmt.Sprint(data) != "[before during]" || len(children) != 2 || children[0].ParentShards[0] != p.ShardId {
		t.Fatalf("parent read %v children %+v", data, children)
	}
	data, children = readShard(t, s, "sp", after.ShardId)
	if fmt.Sprint(data) != "[after]" || children != nil {
		t.Fatalf("child read %v %v", data, children)
	}
	// Sequence numbers of the closed parent sit below its ending number.
	end, _ := new(big.Int).SetString(*p.SequenceNumberRange.EndingSequenceNumber, 10)
	it := iter(t, s, "sp", p.ShardId, api.TrimHorizon, nil, nil)
	got, _ := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it})
	last, _ := new(big.Int).SetString(got.Records[len(got.Records)-1].SequenceNumber, 10)
	if last.Cmp(end) > 0 {
		t.Fatal("record above EndingSequenceNumber")
	}

	_, err = s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("sp"), ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: &mid})
	wantErr(t, err, ErrInvalidArgument, "Shard shardId-000000000000 in stream sp under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting.")
	_, err = s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("sp"), ShardToSplit: ptr("shardId-000000000002"), NewStartingHashKey: &mid})
	wantErr(t, err, ErrInvalidArgument, "NewStartingHashKey 170141183460469231731687303715884105728 used in SplitShard() on shard shardId-000000000002 in stream sp under account 000000000000 is not both greater than one plus the shard's StartingHashKey 170141183460469231731687303715884105728 and less than the shard's EndingHashKey 340282366920938463463374607431768211455.")
	_, err = s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("sp"), ShardToSplit: ptr("shardId-000000000009"), NewStartingHashKey: &mid})
	wantErr(t, err, ErrResourceNotFound, "Could not find shard shardId-000000000009 in stream sp under account 000000000000.")

	// Past retention since it closed, the parent expires: gone from the
	// listing, and the children's AT_TRIM_HORIZON view has no parents.
	c.Add(25 * time.Hour)
	if shards := shardsOf(t, s, "sp"); len(shards) != 2 {
		t.Fatalf("parent did not expire: %d shards", len(shards))
	}
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("sp"), ShardId: &p.ShardId, ShardIteratorType: ptr(api.TrimHorizon)})
	wantErr(t, err, ErrResourceNotFound, "")
}

func TestMergeShards(t *testing.T) {
	s, c := newTestService(t, nil)
	s.cfg.ReshardDelay = -1
	mustCreate(t, s, c, "mg", 3)
	_, err := s.MergeShards(ctx, &api.MergeShardsInput{StreamName: ptr("mg"), ShardToMerge: ptr("shardId-000000000000"), AdjacentShardToMerge: ptr("shardId-000000000002")})
	wantErr(t, err, ErrInvalidArgument, "Shards shardId-000000000000 and shardId-000000000002 in stream mg under account 000000000000 are not an adjacent pair of shards eligible for merging")
	put(t, s, "mg", "k1", "x")
	if _, err := s.MergeShards(ctx, &api.MergeShardsInput{StreamName: ptr("mg"), ShardToMerge: ptr("shardId-000000000002"), AdjacentShardToMerge: ptr("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	shards := shardsOf(t, s, "mg")
	child := shards["shardId-000000000003"]
	if *child.ParentShardId != "shardId-000000000002" || *child.AdjacentParentShardId != "shardId-000000000001" ||
		child.HashKeyRange.StartingHashKey != shards["shardId-000000000001"].HashKeyRange.StartingHashKey ||
		child.HashKeyRange.EndingHashKey != hashkey.Max.String() {
		t.Fatalf("bad merge child %+v", child)
	}
	_, children := readShard(t, s, "mg", "shardId-000000000001")
	if len(children) != 1 || children[0].ShardId != "shardId-000000000003" || len(children[0].ParentShards) != 2 {
		t.Fatalf("children %+v", children)
	}
	sum, _ := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("mg")})
	if sum.StreamDescriptionSummary.OpenShardCount != 2 {
		t.Fatalf("open shards %d", sum.StreamDescriptionSummary.OpenShardCount)
	}
}

func openRanges(t *testing.T, s *Service, stream string) []api.HashKeyRange {
	t.Helper()
	out, err := s.ListShards(ctx, &api.ListShardsInput{StreamName: &stream, ShardFilter: &api.ShardFilter{Type: ptr(api.FilterAtLatest)}})
	if err != nil {
		t.Fatal(err)
	}
	var r []api.HashKeyRange
	for _, sh := range out.Shards {
		r = append(r, sh.HashKeyRange)
	}
	sort.Slice(r, func(i, j int) bool {
		return hashkey.MustParse(r[i].StartingHashKey).Cmp(hashkey.MustParse(r[j].StartingHashKey)) < 0
	})
	return r
}

func TestUpdateShardCount(t *testing.T) {
	s, c := newTestService(t, nil)
	s.cfg.ReshardDelay = -1
	s.cfg.ShardLimit = 100
	mustCreate(t, s, c, "sc", 2)
	for _, n := range []int64{4, 3, 2, 3, 5} {
		out, err := s.UpdateShardCount(ctx, &api.UpdateShardCountInput{StreamName: ptr("sc"), TargetShardCount: &n, ScalingType: ptr(api.ScalingUniform)})
		if err != nil {
			t.Fatalf("to %d: %v", n, err)
		}
		if out.TargetShardCount != n {
			t.Fatalf("output %+v", out)
		}
		got := openRanges(t, s, "sc")
		want := hashkey.Split(int(n))
		if len(got) != len(want) {
			t.Fatalf("to %d: %d open shards", n, len(got))
		}
		for i := range want {
			if got[i].StartingHashKey != want[i].Start.String() || got[i].EndingHashKey != want[i].End.String() {
				t.Fatalf("to %d: range %d is %+v", n, i, got[i])
			}
		}
		// Every shard has at most two parents, all closed.
		d, _ := s.DescribeStream(ctx, &api.DescribeStreamInput{StreamName: ptr("sc"), Limit: ptr(int64(1000))})
		closed := map[string]bool{}
		for _, sh := range d.StreamDescription.Shards {
			closed[sh.ShardId] = sh.SequenceNumberRange.EndingSequenceNumber != nil
		}
		for _, sh := range d.StreamDescription.Shards {
			for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
				if p != nil && !closed[*p] {
					t.Fatalf("parent %s of %s is open", *p, sh.ShardId)
				}
			}
		}
	}
	for n, msg := range map[int64]string{
		11: "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 5, Target shard count: 11",
		2:  "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 5, Target shard count: 2",
	} {
		_, err := s.UpdateShardCount(ctx, &api.UpdateShardCountInput{StreamName: ptr("sc"), TargetShardCount: &n, ScalingType: ptr(api.ScalingUniform)})
		wantErr(t, err, ErrLimitExceeded, msg)
	}
	// Five scalings so far: five more are allowed in 24 hours, then none.
	for i := 0; i < 6; i++ {
		n := int64(5)
		_, err := s.UpdateShardCount(ctx, &api.UpdateShardCountInput{StreamName: ptr("sc"), TargetShardCount: &n, ScalingType: ptr(api.ScalingUniform)})
		if i < 5 && err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			wantErr(t, err, ErrLimitExceeded, "Exceeded the limit of 10 UpdateShardCount calls in a rolling 24-hour period for stream sc under account 000000000000.")
		}
	}
	c.Add(24 * time.Hour)
	n := int64(5)
	if _, err := s.UpdateShardCount(ctx, &api.UpdateShardCountInput{StreamName: ptr("sc"), TargetShardCount: &n, ScalingType: ptr(api.ScalingUniform)}); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

func TestUpdateStreamMode(t *testing.T) {
	s, c := newTestService(t, nil)
	s.cfg.ReshardDelay = -1
	mustCreate(t, s, c, "md", 2)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/md"
	if _, err := s.UpdateStreamMode(ctx, &api.UpdateStreamModeInput{StreamARN: &arn, StreamModeDetails: &api.StreamModeDetails{StreamMode: ptr(api.ModeOnDemand)}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("md"), ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: ptr("12345")})
	wantErr(t, err, ErrValidation, "Request is invalid. Stream md under account 000000000000 is in On-Demand mode.")
	if _, err := s.UpdateStreamMode(ctx, &api.UpdateStreamModeInput{StreamARN: &arn, StreamModeDetails: &api.StreamModeDetails{StreamMode: ptr(api.ModeProvisioned)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SplitShard(ctx, &api.SplitShardInput{StreamName: ptr("md"), ShardToSplit: ptr("shardId-000000000000"), NewStartingHashKey: ptr("12345")}); err != nil {
		t.Fatal(err)
	}
}
