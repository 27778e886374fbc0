package kinesis

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

func setCommitment(t *testing.T, s *Service, status string) *api.MinimumThroughputBillingCommitmentOutput {
	t.Helper()
	out, err := s.UpdateAccountSettings(ctx, &api.UpdateAccountSettingsInput{
		MinimumThroughputBillingCommitment: &api.MinimumThroughputBillingCommitmentInput{Status: &status}})
	if err != nil {
		t.Fatal(err)
	}
	return out.MinimumThroughputBillingCommitment
}

func TestChangeCommitment(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	end := t0.Add(minCommitment)
	on := store.Commitment{Status: api.CommitmentEnabled, StartedAt: t0, EarliestAllowedEndAt: end}
	ending := store.Commitment{Status: api.CommitmentEnabledUntilEarliestAllowedEnd, StartedAt: t0, EarliestAllowedEndAt: end, EndedAt: end}
	off := store.Commitment{Status: api.CommitmentDisabled}
	tests := []struct {
		name string
		from store.Commitment
		want string
		now  time.Time
		out  store.Commitment
	}{
		{"enable", off, api.CommitmentEnabled, t0, on},
		{"enable again", on, api.CommitmentEnabled, t0.Add(time.Hour), on},
		{"disable early", on, api.CommitmentDisabled, t0.Add(time.Hour), ending},
		{"disable at the earliest end", on, api.CommitmentDisabled, end, store.Commitment{Status: api.CommitmentDisabled, StartedAt: t0, EarliestAllowedEndAt: end, EndedAt: end}},
		{"cancel the end", ending, api.CommitmentEnabled, t0.Add(2 * time.Hour), on},
		{"disable while ending", ending, api.CommitmentDisabled, t0.Add(2 * time.Hour), ending},
		{"disable disabled", off, api.CommitmentDisabled, t0, off},
	}
	for _, tc := range tests {
		if got := changeCommitment(tc.from, tc.want, tc.now); got != tc.out {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.out)
		}
	}
	if got := settleCommitment(ending, end); got.Status != api.CommitmentDisabled || got.EndedAt != end {
		t.Errorf("settled at the end: %+v", got)
	}
	if got := settleCommitment(ending, end.Add(-time.Nanosecond)); got != ending {
		t.Errorf("settled before the end: %+v", got)
	}
	if got := settleCommitment(store.Commitment{}, t0); got.Status != api.CommitmentDisabled {
		t.Errorf("never set: %+v", got)
	}
}

func TestAccountSettingsPerNamespace(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	on := setCommitment(t, s, api.CommitmentEnabled)
	if on.Status != api.CommitmentEnabled || !on.StartedAt.Equal(c.Now().Truncate(time.Millisecond)) {
		t.Fatalf("enabled: %+v", on)
	}
	other := WithCaller(ctx, Caller{Account: "111122223333", Region: "us-east-1"})
	d, err := s.DescribeAccountSettings(other, &api.DescribeAccountSettingsInput{})
	if err != nil || d.MinimumThroughputBillingCommitment.Status != api.CommitmentDisabled {
		t.Fatalf("other account: %+v, %v", d, err)
	}
	_, err = s.UpdateAccountSettings(ctx, &api.UpdateAccountSettingsInput{})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'minimumThroughputBillingCommitment' failed to satisfy constraint: Member must not be null")
	_, err = s.UpdateAccountSettings(ctx, &api.UpdateAccountSettingsInput{MinimumThroughputBillingCommitment: &api.MinimumThroughputBillingCommitmentInput{}})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'minimumThroughputBillingCommitment.status' failed to satisfy constraint: Member must not be null")
}

// wrapped hides everything but store.Backend, as discard.Wrap does.
type wrapped struct{ store.Backend }

// Behind a wrapper the settings live in Config.Accounts; with
// neither, the operations say they are unavailable.
func TestAccountSettingsStorage(t *testing.T) {
	be := memstore.New(memstore.Config{})
	t.Cleanup(func() { be.Close() })
	s := New(wrapped{be}, Config{Accounts: be})
	t.Cleanup(s.Close)
	setCommitment(t, s, api.CommitmentEnabled)
	got, _, err := be.GetAccountSettings(ctx, "000000000000", "us-east-1")
	if err != nil || got.Commitment.Status != api.CommitmentEnabled {
		t.Fatalf("stored: %+v, %v", got, err)
	}
	bare := New(wrapped{be}, Config{})
	t.Cleanup(bare.Close)
	_, err = bare.DescribeAccountSettings(ctx, &api.DescribeAccountSettingsInput{})
	wantErr(t, err, ErrInternal, "")
}

func TestUpdateStreamWarmThroughput(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "od")
	mustCreate(t, s, c, "prov", 1)
	warm := func(name string, n int64) (*api.UpdateStreamWarmThroughputOutput, error) {
		return s.UpdateStreamWarmThroughput(ctx, &api.UpdateStreamWarmThroughputInput{StreamName: &name, WarmThroughputMiBps: &n})
	}
	_, err := warm("od", 5)
	wantErr(t, err, ErrInvalidArgument, "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for account 000000000000.")
	setCommitment(t, s, api.CommitmentEnabled)
	_, err = warm("prov", 5)
	wantErr(t, err, ErrInvalidArgument, "Warm throughput is only supported for streams in ON_DEMAND mode. Stream prov under account 000000000000 is in PROVISIONED mode.")
	_, err = warm("od", maxWarmMiBps+1)
	wantErr(t, err, ErrInvalidArgument, "WarmThroughputMiBps 10241 for stream od under account 000000000000 exceeds the maximum of 10240 MiBps.")
	_, err = s.UpdateStreamWarmThroughput(ctx, &api.UpdateStreamWarmThroughputInput{StreamName: ptr("od")})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'warmThroughputMiBps' failed to satisfy constraint: Member must not be null")

	out, err := warm("od", maxWarmMiBps)
	if err != nil {
		t.Fatal(err)
	}
	if *out.WarmThroughput.TargetMiBps != maxWarmMiBps || *out.WarmThroughput.CurrentMiBps != 0 || out.StreamARN != StreamARN(store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "od"}) {
		t.Fatalf("output %+v %+v", out, out.WarmThroughput)
	}
	sum, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("od")})
	if err != nil {
		t.Fatal(err)
	}
	if d := sum.StreamDescriptionSummary; d.StreamStatus != api.StatusUpdating || *d.WarmThroughput.CurrentMiBps != 0 {
		t.Fatalf("while updating: %s %+v", d.StreamStatus, d.WarmThroughput)
	}
	// Reads and writes go on while UPDATING.
	if _, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("od"), PartitionKey: ptr("k"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	sum, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("od")})
	if err != nil {
		t.Fatal(err)
	}
	if d := sum.StreamDescriptionSummary; d.StreamStatus != api.StatusActive || *d.WarmThroughput.CurrentMiBps != maxWarmMiBps {
		t.Fatalf("after updating: %s %+v", d.StreamStatus, d.WarmThroughput)
	}
	// A commitment that ended leaves the setting but refuses changes.
	c.Add(minCommitment)
	setCommitment(t, s, api.CommitmentDisabled)
	_, err = warm("od", 1)
	wantErr(t, err, ErrInvalidArgument, "")
	// Switched to PROVISIONED, the stream reports neither new field.
	if _, err := s.UpdateStreamMode(ctx, &api.UpdateStreamModeInput{StreamARN: ptr(testStreamARN + "od"), StreamModeDetails: &api.StreamModeDetails{StreamMode: ptr(api.ModeProvisioned)}}); err != nil {
		t.Fatal(err)
	}
	sum, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("od")})
	if err != nil {
		t.Fatal(err)
	}
	if d := sum.StreamDescriptionSummary; d.WarmThroughput != nil || d.RecordDistributionStrategy != "" {
		t.Fatalf("provisioned: %+v %q", d.WarmThroughput, d.RecordDistributionStrategy)
	}
}

func TestRecordDistributionAuto(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "od")
	arn := testStreamARN + "od"
	set := func(v string) error {
		_, err := s.UpdateStreamRecordDistributionStrategy(ctx, &api.UpdateStreamRecordDistributionStrategyInput{StreamARN: &arn, RecordDistributionStrategy: &v})
		return err
	}
	wantErr(t, set("auto"), ErrValidation, "1 validation error detected: Value 'auto' at 'recordDistributionStrategy' failed to satisfy constraint: Member must satisfy enum value set: [AUTO, USER_PARTITION_KEY]")
	_, err := s.UpdateStreamRecordDistributionStrategy(ctx, &api.UpdateStreamRecordDistributionStrategyInput{RecordDistributionStrategy: ptr("AUTO")})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null")
	wantErr(t, func() error {
		v, a := api.DistributionAuto, testStreamARN+"nope"
		_, err := s.UpdateStreamRecordDistributionStrategy(ctx, &api.UpdateStreamRecordDistributionStrategyInput{StreamARN: &a, RecordDistributionStrategy: &v})
		return err
	}(), ErrResourceNotFound, "Stream nope under account 000000000000 not found.")
	if err := set(api.DistributionAuto); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 8 {
		out, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("od"), PartitionKey: ptr("one"), ExplicitHashKey: ptr("0"), Data: []byte(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		seen[out.ShardId]++
	}
	if len(seen) != onDemandShards {
		t.Fatalf("AUTO PutRecord: %v", seen)
	}
	recs := make([]api.PutRecordsRequestEntry, 8)
	for i := range recs {
		recs[i] = api.PutRecordsRequestEntry{PartitionKey: ptr("one"), Data: []byte("x")}
	}
	out, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("od"), Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	clear(seen)
	for _, r := range out.Records {
		seen[*r.ShardId]++
	}
	if len(seen) != onDemandShards {
		t.Fatalf("AUTO PutRecords: %v", seen)
	}
	if err := set(api.DistributionUserPartitionKey); err != nil {
		t.Fatal(err)
	}
	st, _, err := s.load(ctx, store.StreamKey{Account: "000000000000", Region: "us-east-1", Name: "od"})
	if err != nil || st.Distribution != "" {
		t.Fatalf("default stored as %q, %v", st.Distribution, err)
	}
}

// place deals records out in turn, even from many goroutines, and ignores
// AUTO on a PROVISIONED stream.
func TestPlace(t *testing.T) {
	st := &store.Stream{Mode: api.ModeOnDemand, Distribution: api.DistributionAuto}
	for i, r := range hashkey.Split(3) {
		st.Shards = append(st.Shards, store.Shard{Index: i, StartHash: r.Start.String(), EndHash: r.End.String()})
	}
	rt := newRouter(st)
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 100 {
				sh := place(st, rt, hashkey.Key{})
				mu.Lock()
				seen[sh.Index]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if seen[0] != 100 || seen[1] != 100 || seen[2] != 100 {
		t.Fatalf("spread %v, want 100 each", seen)
	}
	st.Mode = api.ModeProvisioned
	for range 5 {
		if sh := place(st, rt, hashkey.Key{}); sh.Index != 0 {
			t.Fatalf("provisioned AUTO placed hash 0 on shard %d", sh.Index)
		}
	}
}

// The new operations are IAM actions: the account ones against "*", the
// stream ones against the stream.
func TestNewOpsAuthorization(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	s, c, _ := newChannelService(t, func(cfg *Config) {
		cfg.Authorizer = authorizerFunc(func(_ Caller, action, resource string, _ Resource) error {
			mu.Lock()
			asked = append(asked, action+" "+resource)
			mu.Unlock()
			return nil
		})
	})
	onDemand(t, s, c, "od")
	arn := testStreamARN + "od"
	mu.Lock()
	asked = nil
	mu.Unlock()
	ops := s.Operations()
	for _, tc := range []struct {
		op string
		in any
	}{
		{"DescribeAccountSettings", &api.DescribeAccountSettingsInput{}},
		{"UpdateAccountSettings", &api.UpdateAccountSettingsInput{MinimumThroughputBillingCommitment: &api.MinimumThroughputBillingCommitmentInput{Status: ptr(api.CommitmentEnabled)}}},
		{"UpdateStreamWarmThroughput", &api.UpdateStreamWarmThroughputInput{StreamARN: &arn, WarmThroughputMiBps: ptr(int64(1))}},
		{"UpdateStreamRecordDistributionStrategy", &api.UpdateStreamRecordDistributionStrategyInput{StreamARN: &arn, RecordDistributionStrategy: ptr(api.DistributionAuto)}},
	} {
		o, ok := ops[tc.op]
		if !ok {
			t.Fatalf("%s is not served", tc.op)
		}
		if _, err := o.Call(ctx, tc.in); err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
	}
	want := []string{"kinesis:DescribeAccountSettings *", "kinesis:UpdateAccountSettings *",
		"kinesis:UpdateStreamWarmThroughput " + arn, "kinesis:UpdateStreamRecordDistributionStrategy " + arn}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("asked %v\nwant %v", asked, want)
	}
}

func FuzzNewOpsValidate(f *testing.F) {
	f.Add("ENABLED", "AUTO", "arn:aws:kinesis:us-east-1:000000000000:stream/s", "s", int64(5), true)
	f.Add("", "", "", "", int64(-1), false)
	f.Fuzz(func(t *testing.T, status, strategy, arn, name string, n int64, set bool) {
		p := func(s string) *string {
			if !set {
				return nil
			}
			return &s
		}
		_ = validateUpdateAccountSettings(&api.UpdateAccountSettingsInput{MinimumThroughputBillingCommitment: &api.MinimumThroughputBillingCommitmentInput{Status: p(status)}})
		_ = validateUpdateStreamRecordDistributionStrategy(&api.UpdateStreamRecordDistributionStrategyInput{StreamARN: p(arn), RecordDistributionStrategy: p(strategy)})
		err := validateUpdateStreamWarmThroughput(&api.UpdateStreamWarmThroughputInput{StreamName: p(name), StreamARN: p(arn), WarmThroughputMiBps: &n})
		if n < 0 && err == nil {
			t.Fatalf("warm throughput %d passed validation", n)
		}
	})
}
