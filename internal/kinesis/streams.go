package kinesis

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/domain/seqnum"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// CreateStream creates a stream in CREATING; it becomes ACTIVE after
// Config.CreateDelay without any process having to act.
func (s *Service) CreateStream(ctx context.Context, in *api.CreateStreamInput) (*api.CreateStreamOutput, error) {
	if err := validateCreateStream(in); err != nil {
		return nil, err
	}
	c := CallerFrom(ctx)
	k := store.StreamKey{Account: c.Account, Region: c.Region, Name: *in.StreamName}
	mode := api.ModeProvisioned
	if in.StreamModeDetails != nil && in.StreamModeDetails.StreamMode != nil {
		mode = *in.StreamModeDetails.StreamMode
	}
	var n int
	switch {
	case in.ShardCount != nil:
		n = int(*in.ShardCount)
	case mode == api.ModeOnDemand:
		n = onDemandShards
	default:
		return nil, Errorf(ErrInvalidArgument, "ShardCount is required for streams in %s mode.", mode)
	}
	if len(in.Tags) > maxTags {
		return nil, tooManyTags(k)
	}
	distribution := ""
	if d := in.RecordDistributionStrategy; d != nil && *d == api.DistributionAuto {
		if mode != api.ModeOnDemand {
			return nil, autoNeedsOnDemand(k, mode)
		}
		distribution = api.DistributionAuto
	}
	if err := s.checkShardLimit(ctx, c, n); err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Millisecond)
	st := &store.Stream{
		Key: k, ID: newStreamID(), Created: now, Status: api.StatusActive, Mode: mode,
		RetentionHours: defaultRetentionHours, MaxRecordSizeKiB: defaultMaxRecordSizeKiB,
		EncryptionType: api.EncryptionNone, Tags: in.Tags, ShardLevelMetrics: []string{},
		Distribution: distribution,
	}
	if in.MaxRecordSizeInKiB != nil {
		st.MaxRecordSizeKiB = int(*in.MaxRecordSizeInKiB)
	}
	if s.cfg.CreateDelay > 0 {
		st.Status, st.NextStatus, st.StatusUntil = api.StatusCreating, api.StatusActive, now.Add(s.cfg.CreateDelay)
	}
	for i, r := range hashkey.Split(n) {
		st.Shards = append(st.Shards, store.Shard{
			Index: i, Parent: -1, AdjacentParent: -1,
			StartHash: r.Start.String(), EndHash: r.End.String(), Created: now,
		})
	}
	st.NextShardIndex = n

	// The logs come first: a stream whose metadata exists always has them.
	retention := time.Duration(st.RetentionHours) * time.Hour
	for _, sh := range st.Shards {
		if err := s.be.CreateShard(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}, retention, store.SpecOf(st, sh)); err != nil {
			s.dropLogs(ctx, st)
			return nil, tooFewNodes(err)
		}
	}
	for attempt := 0; ; attempt++ {
		_, err := s.be.Put(ctx, st, 0)
		if err == nil {
			return &api.CreateStreamOutput{}, nil
		}
		if !errors.Is(err, store.ErrExists) && !errors.Is(err, store.ErrConflict) {
			// The write may have landed with only its reply lost; the logs
			// of a stored stream must stay, so look before dropping them.
			got, _, gerr := s.be.Get(context.WithoutCancel(ctx), k)
			switch {
			case gerr == nil && got.ID == st.ID:
				return &api.CreateStreamOutput{}, nil
			case gerr == nil || errors.Is(gerr, store.ErrNotFound):
				s.dropLogs(ctx, st)
			default:
				s.log.Warn("create stream: outcome unknown, keeping its logs", "stream", k.Name, "err", err, "check", gerr)
			}
			return nil, err
		}
		// Exists, unless its deletion is due: load reaps it, then retry.
		if _, _, lerr := s.load(ctx, k); lerr == nil || attempt > 2 {
			s.dropLogs(ctx, st)
			return nil, Errorf(ErrResourceInUse, "Stream %s under account %s already exists.", k.Name, k.Account)
		}
	}
}

func (s *Service) dropLogs(ctx context.Context, st *store.Stream) {
	for _, sh := range st.Shards {
		_ = s.be.DeleteShard(context.WithoutCancel(ctx), store.ShardRef{StreamID: st.ID, Shard: sh.Index})
	}
}

// liveStreams lists a namespace, dropping streams whose deletion is done.
func (s *Service) liveStreams(ctx context.Context, account, region string) ([]*store.Stream, error) {
	all, err := s.be.List(ctx, account, region)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := all[:0]
	for _, st := range all {
		if settle(st, now) {
			live = append(live, st)
		}
	}
	return live, nil
}

func (s *Service) checkShardLimit(ctx context.Context, c Caller, more int) error {
	streams, err := s.liveStreams(ctx, c.Account, c.Region)
	if err != nil {
		return err
	}
	cur := 0
	for _, st := range streams {
		cur += openShards(st)
	}
	if cur+more > s.cfg.ShardLimit {
		return Errorf(ErrLimitExceeded, "This request would exceed the shard limit for the account %s in %s. "+
			"Current shard count for the account: %d. Limit: %d. Number of additional shards that would have "+
			"resulted from this request: %d. Refer to the AWS Service Limits page "+
			"(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how "+
			"to request higher limits.", c.Account, c.Region, cur, s.cfg.ShardLimit, more)
	}
	return nil
}

// DeleteStream marks the stream DELETING and drops its data at once; the
// metadata disappears when the delay has passed.
func (s *Service) DeleteStream(ctx context.Context, in *api.DeleteStreamInput) (*api.DeleteStreamOutput, error) {
	if err := validateDeleteStream(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	mark := func(st *store.Stream) error {
		if st.Status == api.StatusCreating {
			return notActive(st)
		}
		// Enhanced fan-out: consumers go with the stream only when asked.
		if s.liveConsumerCount(st) > 0 && (in.EnforceConsumerDeletion == nil || !*in.EnforceConsumerDeletion) {
			return consumersExist(k)
		}
		// Channels have no such override: AWS refuses while any remains.
		if n, err := s.streamChannels(ctx, k, st.Created); err != nil {
			return err
		} else if n > 0 {
			return channelsExist(k)
		}
		st.Status, st.NextStatus, st.StatusUntil = api.StatusDeleting, "", s.now().Add(s.cfg.DeleteDelay)
		return nil
	}
	st, err := s.update(ctx, k, mark)
	if errors.Is(err, store.ErrFull) {
		st, err = s.deleteWhenFull(ctx, k, mark)
	}
	if err != nil {
		return nil, err
	}
	s.dropLogs(ctx, st)
	s.cfg.Metrics.DropStream(metrics.Kinesis, k.Account, k.Region, k.Name)
	return &api.DeleteStreamOutput{}, nil
}

// deleteWhenFull marks a stream DELETING on a full storage: the marking
// is a write, so the stream's logs go first to free the space for it. If
// it is interrupted in between, the stream stays listed with its logs
// gone (reads find no shard, writes no stream) until DeleteStream is
// called again, which then completes.
func (s *Service) deleteWhenFull(ctx context.Context, k store.StreamKey, mark func(*store.Stream) error) (*store.Stream, error) {
	st, _, err := s.be.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) || err == nil && !settle(st, s.now()) {
		return nil, notFound(k)
	}
	if err != nil {
		return nil, err
	}
	if err := mark(st.Clone()); err != nil {
		return nil, err // refused whatever the space
	}
	s.log.Warn("storage full: deleting the stream's logs before its metadata", "stream", k.Name)
	s.dropLogs(ctx, st)
	return s.update(ctx, k, mark)
}

// ListStreams pages through stream names in order.
func (s *Service) ListStreams(ctx context.Context, in *api.ListStreamsInput) (*api.ListStreamsOutput, error) {
	if err := validateListStreams(in); err != nil {
		return nil, err
	}
	c := CallerFrom(ctx)
	after := ""
	if in.ExclusiveStartStreamName != nil {
		after = *in.ExclusiveStartStreamName
	}
	if in.NextToken != nil {
		t, err := s.decodeToken(ctx, "streams", *in.NextToken)
		if err != nil {
			return nil, err
		}
		if t.Account != c.Account || t.Region != c.Region {
			return nil, Errorf(ErrInvalidArgument, "Invalid NextToken.")
		}
		after = t.After
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	streams, err := s.liveStreams(ctx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	out := &api.ListStreamsOutput{StreamNames: []string{}, StreamSummaries: []api.StreamSummary{}}
	for _, st := range streams {
		if st.Key.Name <= after {
			continue
		}
		if len(out.StreamNames) == limit {
			out.HasMoreStreams = true
			break
		}
		out.StreamNames = append(out.StreamNames, st.Key.Name)
		out.StreamSummaries = append(out.StreamSummaries, api.StreamSummary{
			StreamName: st.Key.Name, StreamARN: StreamARN(st.Key), StreamStatus: st.Status,
			StreamModeDetails: modeDetails(st), StreamCreationTimestamp: api.NewTime(st.Created),
		})
	}
	if out.HasMoreStreams {
		tok, err := s.encodeToken(ctx, pageToken{Kind: "streams", Account: c.Account, Region: c.Region,
			After: out.StreamNames[len(out.StreamNames)-1]})
		if err != nil {
			return nil, err
		}
		out.NextToken = &tok
	}
	return out, nil
}

// apiShard renders a shard. Its starting sequence number sits below every
// record's; a closed shard's ending one sits at or above its last record's.
func apiShard(st *store.Stream, sh *store.Shard) api.Shard {
	created := shardCreated(st, sh.Index)
	out := api.Shard{
		ShardId:      ShardID(sh.Index),
		HashKeyRange: api.HashKeyRange{StartingHashKey: sh.StartHash, EndingHashKey: sh.EndHash},
		SequenceNumberRange: api.SequenceNumberRange{
			StartingSequenceNumber: seqnum.Format(seqnum.Parts{Shard: sh.Index, ShardCreated: created, Arrival: created}),
		},
	}
	if sh.Parent >= 0 {
		out.ParentShardId = ptr(ShardID(sh.Parent))
	}
	if sh.AdjacentParent >= 0 {
		out.AdjacentParentShardId = ptr(ShardID(sh.AdjacentParent))
	}
	if sh.Closed != nil {
		end := seqnum.Format(seqnum.Parts{Shard: sh.Index, Seq: sh.EndSeq, Sub: seqnum.MaxSub, ShardCreated: created, Arrival: seqnum.Secs(sh.Closed.Unix())})
		out.SequenceNumberRange.EndingSequenceNumber = &end
	}
	return out
}

func enhancedMonitoring(st *store.Stream) []api.EnhancedMetrics {
	m := st.ShardLevelMetrics
	if m == nil {
		m = []string{}
	}
	return []api.EnhancedMetrics{{ShardLevelMetrics: m}}
}

// DescribeStream describes a stream with a page of its shards.
func (s *Service) DescribeStream(ctx context.Context, in *api.DescribeStreamInput) (*api.DescribeStreamOutput, error) {
	if err := validateDescribeStream(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	d := api.StreamDescription{
		StreamName: k.Name, StreamARN: StreamARN(k), StreamStatus: st.Status, StreamModeDetails: modeDetails(st),
		RetentionPeriodHours: int64(st.RetentionHours), StreamCreationTimestamp: *api.NewTime(st.Created),
		EnhancedMonitoring: enhancedMonitoring(st), EncryptionType: st.EncryptionType, Shards: []api.Shard{},
	}
	if st.KeyID != "" {
		d.KeyId = ptr(st.KeyID)
	}
	for i := range st.Shards {
		id := ShardID(st.Shards[i].Index)
		if in.ExclusiveStartShardId != nil && id <= *in.ExclusiveStartShardId {
			continue
		}
		if len(d.Shards) == limit {
			d.HasMoreShards = true
			break
		}
		d.Shards = append(d.Shards, apiShard(st, &st.Shards[i]))
	}
	return &api.DescribeStreamOutput{StreamDescription: d}, nil
}

// DescribeStreamSummary describes a stream without its shards.
func (s *Service) DescribeStreamSummary(ctx context.Context, in *api.DescribeStreamSummaryInput) (*api.DescribeStreamSummaryOutput, error) {
	if err := validateDescribeStreamSummary(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	st, _, err := s.load(ctx, k)
	if err != nil {
		return nil, err
	}
	channels, err := s.streamChannels(ctx, k, st.Created)
	if err != nil {
		return nil, err
	}
	d := api.StreamDescriptionSummary{
		StreamName: k.Name, StreamARN: StreamARN(k), StreamStatus: st.Status, StreamModeDetails: modeDetails(st),
		RetentionPeriodHours: int64(st.RetentionHours), StreamCreationTimestamp: *api.NewTime(st.Created),
		EnhancedMonitoring: enhancedMonitoring(st), EncryptionType: st.EncryptionType,
		OpenShardCount: int64(openShards(st)), MaxRecordSizeInKiB: int64(st.MaxRecordSizeKiB),
		WarmThroughput: s.warmNow(st), RecordDistributionStrategy: distributionOf(st),
		ConsumerCount: int64(s.liveConsumerCount(st)), // enhanced fan-out
		ChannelCount:  int64(channels),
	}
	if st.KeyID != "" {
		d.KeyId = ptr(st.KeyID)
	}
	return &api.DescribeStreamSummaryOutput{StreamDescriptionSummary: d}, nil
}

// DescribeLimits reports the account's limits and usage in this region.
func (s *Service) DescribeLimits(ctx context.Context, in *api.DescribeLimitsInput) (*api.DescribeLimitsOutput, error) {
	c := CallerFrom(ctx)
	streams, err := s.liveStreams(ctx, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeLimitsOutput{ShardLimit: int64(s.cfg.ShardLimit), OnDemandStreamCountLimit: int64(s.cfg.OnDemandStreamLimit)}
	for _, st := range streams {
		out.OpenShardCount += int64(openShards(st))
		if st.Mode == api.ModeOnDemand {
			out.OnDemandStreamCount++
		}
	}
	return out, nil
}

// UpdateMaxRecordSize changes the largest record a stream accepts.
func (s *Service) UpdateMaxRecordSize(ctx context.Context, in *api.UpdateMaxRecordSizeInput) (*api.UpdateMaxRecordSizeOutput, error) {
	if err := validateUpdateMaxRecordSize(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, nil, in.StreamARN)
	if err != nil {
		return nil, err
	}
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		st.MaxRecordSizeKiB = int(*in.MaxRecordSizeInKiB)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateMaxRecordSizeOutput{}, nil
}

// IncreaseStreamRetentionPeriod lengthens how long records are kept.
func (s *Service) IncreaseStreamRetentionPeriod(ctx context.Context, in *api.IncreaseStreamRetentionPeriodInput) (*api.IncreaseStreamRetentionPeriodOutput, error) {
	if err := validateIncreaseStreamRetentionPeriod(in); err != nil {
		return nil, err
	}
	if err := s.setRetention(ctx, in, true); err != nil {
		return nil, err
	}
	return &api.IncreaseStreamRetentionPeriodOutput{}, nil
}

// DecreaseStreamRetentionPeriod shortens how long records are kept; older
// records become unreadable and their storage is reclaimed by the log.
func (s *Service) DecreaseStreamRetentionPeriod(ctx context.Context, in *api.DecreaseStreamRetentionPeriodInput) (*api.DecreaseStreamRetentionPeriodOutput, error) {
	if err := validateDecreaseStreamRetentionPeriod(in); err != nil {
		return nil, err
	}
	if err := s.setRetention(ctx, in, false); err != nil {
		return nil, err
	}
	return &api.DecreaseStreamRetentionPeriodOutput{}, nil
}

func (s *Service) setRetention(ctx context.Context, in *api.IncreaseStreamRetentionPeriodInput, increase bool) error {
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return err
	}
	h := int(*in.RetentionPeriodHours)
	if h < defaultRetentionHours {
		return Errorf(ErrInvalidArgument, "Minimum allowed retention period is 24 hours. Requested retention period (%d hours) is too short.", h)
	}
	if h > maxRetentionHours {
		return Errorf(ErrInvalidArgument, "Maximum allowed retention period is 8760 hours. Requested retention period (%d hours) is too long.", h)
	}
	check := func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if increase && h < st.RetentionHours {
			return Errorf(ErrInvalidArgument, "Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", h, k.Name, st.RetentionHours)
		}
		if !increase && h > st.RetentionHours {
			return Errorf(ErrInvalidArgument, "Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", h, k.Name, st.RetentionHours)
		}
		st.RetentionHours = h
		return nil
	}
	st, err := s.update(ctx, k, check)
	if errors.Is(err, store.ErrFull) && !increase {
		st, err = s.shortenWhenFull(ctx, k, check, time.Duration(h)*time.Hour)
	}
	if err != nil {
		return err
	}
	for _, sh := range st.Shards {
		if err := s.be.SetRetention(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}, time.Duration(h)*time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// EnableEnhancedMonitoring records shard-level metric names.
func (s *Service) EnableEnhancedMonitoring(ctx context.Context, in *api.EnableEnhancedMonitoringInput) (*api.EnhancedMonitoringOutput, error) {
	return s.monitoring(ctx, in, true)
}

// DisableEnhancedMonitoring removes shard-level metric names.
func (s *Service) DisableEnhancedMonitoring(ctx context.Context, in *api.DisableEnhancedMonitoringInput) (*api.EnhancedMonitoringOutput, error) {
	return s.monitoring(ctx, in, false)
}

func (s *Service) monitoring(ctx context.Context, in *api.EnableEnhancedMonitoringInput, enable bool) (*api.EnhancedMonitoringOutput, error) {
	if err := validateEnableEnhancedMonitoring(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	want := in.ShardLevelMetrics
	if slices.Contains(want, "ALL") {
		want = metrics.ShardLevelMetrics // AWS answers with the names, not "ALL"
	}
	var before []string
	st, err := s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		before = append([]string{}, st.ShardLevelMetrics...)
		set := map[string]bool{}
		for _, m := range st.ShardLevelMetrics {
			set[m] = true
		}
		for _, m := range want {
			set[m] = enable
		}
		st.ShardLevelMetrics = st.ShardLevelMetrics[:0]
		for m, on := range set {
			if on {
				st.ShardLevelMetrics = append(st.ShardLevelMetrics, m)
			}
		}
		sort.Strings(st.ShardLevelMetrics)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Series of shard-level metrics switched off go now, as on AWS; ones
	// switched on appear with their first sample.
	s.cfg.Metrics.SetShardLevel(k.Account, k.Region, k.Name, st.ShardLevelMetrics)
	return &api.EnhancedMonitoringOutput{StreamName: k.Name, StreamARN: StreamARN(k),
		CurrentShardLevelMetrics: before, DesiredShardLevelMetrics: append([]string{}, st.ShardLevelMetrics...)}, nil
}

// shortenWhenFull applies a shorter retention on a full storage: the logs
// take it first, which trims them and may free the space the metadata
// write needs. Logs keeping records for less than the metadata says is
// safe; a repeated call (or any later decrease) writes the metadata.
func (s *Service) shortenWhenFull(ctx context.Context, k store.StreamKey, check func(*store.Stream) error, retention time.Duration) (*store.Stream, error) {
	st, _, err := s.be.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) || err == nil && !settle(st, s.now()) {
		return nil, notFound(k)
	}
	if err != nil {
		return nil, err
	}
	if err := check(st.Clone()); err != nil {
		return nil, err
	}
	s.log.Warn("storage full: shortening the logs' retention before the metadata", "stream", k.Name)
	for _, sh := range st.Shards {
		if err := s.be.SetRetention(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}, retention); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return s.update(ctx, k, check)
}
