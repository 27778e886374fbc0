// Package kinesis implements the Kinesis Data Streams operations on top of a
// store.Backend. Each operation is func(ctx, *In) (*Out, error): it
// validates, works against storage, and returns domain errors (*Error) that
// the wire adapter maps to AWS error types in one table.
//
// The service keeps no state of its own between requests beyond caches that
// storage can always overrule: every decision is made against metadata read
// from the store and changed by compare-and-swap, so several processes on
// one storage serve the same streams.
package kinesis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// Config tunes the service.
type Config struct {
	// CreateDelay is how long a new stream stays CREATING.
	CreateDelay time.Duration
	// DeleteDelay is how long a deleted stream stays DELETING.
	DeleteDelay time.Duration
	// ReshardDelay is how long a stream stays UPDATING before a reshard,
	// mode change or encryption change takes effect.
	ReshardDelay time.Duration
	// ShardLimit is the account's shard limit per region.
	ShardLimit int
	// OnDemandStreamLimit is the account's ON_DEMAND stream limit.
	OnDemandStreamLimit int
	Logger              *slog.Logger
	// Limits enforces AWS's throughput limits; nil means --limits=off.
	Limits Limiter
	// Faults injects errors and latency; nil means none.
	Faults Faults
	// AutoScale is the ON_DEMAND scaling policy.
	AutoScale AutoScale
	// ConsumerCreateDelay is how long a new enhanced fan-out consumer stays
	// CREATING; ConsumerDeleteDelay how long a deregistered one stays
	// DELETING. Zero means the default, negative means immediately.
	ConsumerCreateDelay time.Duration
	ConsumerDeleteDelay time.Duration
	// KMS holds the master keys of server-side encryption; nil means
	// only alias/aws/kinesis, kept in the store.
	KMS *kms.Ring
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Authorizer, when set, decides every request (--auth=sigv4).
	Authorizer Authorizer
	// Channels stores channel records (channels.go); nil means channels
	// are not available and their operations say so.
	Channels store.Resources
	// Accounts stores account settings (account.go); nil means the
	// backend, if it stores them.
	Accounts store.Accounts
	// Metrics counts AWS/Kinesis metrics; nil counts nothing.
	Metrics *metrics.Registry
}

// Defaults; short transitions suit local development and tests.
const (
	DefaultCreateDelay      = 500 * time.Millisecond
	DefaultDeleteDelay      = 500 * time.Millisecond
	DefaultShardLimit       = 500
	defaultOnDemandLimit    = 50
	defaultRetentionHours   = 24
	maxRetentionHours       = 8760
	defaultMaxRecordSizeKiB = 1024
	onDemandShards          = 4
	maxTags                 = 50
	// maxGetRecordsBytes is the 10 MiB cap on one GetRecords response.
	maxGetRecordsBytes = 10 << 20
	// maxPutRecordsBytes is the 10 MiB cap on one PutRecords request.
	maxPutRecordsBytes = 10 << 20
)

// Service is the Kinesis API over a storage backend.
type Service struct {
	be  store.Backend
	cfg Config
	log *slog.Logger

	secretMu sync.Mutex
	secret   []byte

	scaler *scaler
	fan    *fanout // enhanced fan-out subscriptions (subscribe.go)

	keys *kms.Ring    // server-side encryption (encryption.go)
	dks  dataKeyCache // unwrapped data keys
}

// New returns a service over be. Zero config fields take their defaults;
// negative delays mean "immediately".
func New(be store.Backend, cfg Config) *Service {
	if cfg.CreateDelay == 0 {
		cfg.CreateDelay = DefaultCreateDelay
	}
	if cfg.DeleteDelay == 0 {
		cfg.DeleteDelay = DefaultDeleteDelay
	}
	if cfg.ReshardDelay == 0 {
		cfg.ReshardDelay = DefaultReshardDelay
	}
	if cfg.ReshardDelay < 0 {
		cfg.ReshardDelay = 0
	}
	if cfg.CreateDelay < 0 {
		cfg.CreateDelay = 0
	}
	if cfg.DeleteDelay < 0 {
		cfg.DeleteDelay = 0
	}
	if cfg.ShardLimit <= 0 {
		cfg.ShardLimit = DefaultShardLimit
	}
	if cfg.OnDemandStreamLimit <= 0 {
		cfg.OnDemandStreamLimit = defaultOnDemandLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Enhanced fan-out (consumers.go).
	if cfg.ConsumerCreateDelay == 0 {
		cfg.ConsumerCreateDelay = DefaultConsumerCreateDelay
	}
	if cfg.ConsumerDeleteDelay == 0 {
		cfg.ConsumerDeleteDelay = DefaultConsumerDeleteDelay
	}
	cfg.ConsumerCreateDelay = max(cfg.ConsumerCreateDelay, 0)
	cfg.ConsumerDeleteDelay = max(cfg.ConsumerDeleteDelay, 0)
	s := &Service{be: be, cfg: cfg, log: cfg.Logger, fan: newFanout(), keys: cfg.KMS}
	if s.keys == nil {
		s.keys, _ = kms.New(nil, be) // no file keys: nothing to fail
	}
	s.scaler = newScaler(s, cfg.AutoScale)
	return s
}

// Close stops the ON_DEMAND scaler and ends every SubscribeToShard
// stream.
func (s *Service) Close() {
	s.scaler.close()
	s.fan.close()
}

// Operations lists every operation by its X-Amz-Target name.
func (s *Service) Operations() map[string]Operation {
	ops := []Operation{
		Op("AddTagsToStream", s.AddTagsToStream),
		Op("CreateChannel", s.CreateChannel),
		Op("CreateStream", s.CreateStream),
		Op("DecreaseStreamRetentionPeriod", s.DecreaseStreamRetentionPeriod),
		Op("DescribeAccountSettings", s.DescribeAccountSettings),
		Op("DeleteChannel", s.DeleteChannel),
		Op("DeleteResourcePolicy", s.DeleteResourcePolicy),
		Op("DeleteStream", s.DeleteStream),
		Op("DeregisterStreamConsumer", s.DeregisterStreamConsumer),
		Op("DescribeChannel", s.DescribeChannel),
		Op("DescribeLimits", s.DescribeLimits),
		Op("DescribeStream", s.DescribeStream),
		Op("DescribeStreamConsumer", s.DescribeStreamConsumer),
		Op("DescribeStreamSummary", s.DescribeStreamSummary),
		Op("DisableEnhancedMonitoring", s.DisableEnhancedMonitoring),
		Op("EnableEnhancedMonitoring", s.EnableEnhancedMonitoring),
		Op("GetRecords", s.GetRecords),
		Op("GetResourcePolicy", s.GetResourcePolicy),
		Op("GetShardIterator", s.GetShardIterator),
		Op("IncreaseStreamRetentionPeriod", s.IncreaseStreamRetentionPeriod),
		Op("ListChannels", s.ListChannels),
		Op("ListShards", s.ListShards),
		Op("ListStreamConsumers", s.ListStreamConsumers),
		Op("ListStreams", s.ListStreams),
		Op("ListTagsForResource", s.ListTagsForResource),
		Op("ListTagsForStream", s.ListTagsForStream),
		Op("MergeShards", s.MergeShards),
		Op("PutRecord", s.PutRecord),
		Op("PutRecords", s.PutRecords),
		Op("PutResourcePolicy", s.PutResourcePolicy),
		Op("RegisterStreamConsumer", s.RegisterStreamConsumer),
		Op("RemoveTagsFromStream", s.RemoveTagsFromStream),
		Op("SplitShard", s.SplitShard),
		Op("StartStreamEncryption", s.StartStreamEncryption),
		Op("StopStreamEncryption", s.StopStreamEncryption),
		streaming(Op("SubscribeToShard", s.SubscribeToShard)),
		Op("TagResource", s.TagResource),
		Op("UntagResource", s.UntagResource),
		Op("UpdateAccountSettings", s.UpdateAccountSettings),
		Op("UpdateChannel", s.UpdateChannel),
		Op("UpdateMaxRecordSize", s.UpdateMaxRecordSize),
		Op("UpdateShardCount", s.UpdateShardCount),
		Op("UpdateStreamMode", s.UpdateStreamMode),
		Op("UpdateStreamRecordDistributionStrategy", s.UpdateStreamRecordDistributionStrategy),
		Op("UpdateStreamWarmThroughput", s.UpdateStreamWarmThroughput),
	}
	m := make(map[string]Operation, len(ops))
	for _, o := range ops {
		m[o.Name] = s.authorizing(s.guard(fullAware(o)))
	}
	return m
}

// guard runs the fault injector and the control-plane rate limits before
// an operation, when they are configured.
func (s *Service) guard(o Operation) Operation {
	if s.cfg.Faults == nil && s.cfg.Limits == nil {
		return o
	}
	call := o.Call
	o.Call = func(ctx context.Context, in any) (any, error) {
		stream := streamOf(in)
		if s.cfg.Faults != nil {
			if err := s.cfg.Faults.Before(ctx, o.Name, stream); err != nil {
				return nil, err
			}
		}
		if s.cfg.Limits != nil && !s.cfg.Limits.Control(CallerFrom(ctx), o.Name, stream) {
			c := CallerFrom(ctx)
			if stream != "" {
				return nil, Errorf(ErrLimitExceeded, "Rate exceeded for stream %s under account %s.", stream, c.Account)
			}
			return nil, Errorf(ErrLimitExceeded, "Rate exceeded for account %s.", c.Account)
		}
		return call(ctx, in)
	}
	return o
}

// fullAware gives a storage-full error its message (storageFull).
func fullAware(o Operation) Operation {
	call := o.Call
	o.Call = func(ctx context.Context, in any) (any, error) {
		out, err := call(ctx, in)
		return out, storageFull(err)
	}
	return o
}

// streamOf finds the stream an input names, by StreamName or StreamARN.
func streamOf(in any) string {
	return streamByReflection(in)
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// secretKey is the signing key shared through storage, fetched once.
func (s *Service) secretKey(ctx context.Context) ([]byte, error) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != nil {
		return s.secret, nil
	}
	k, err := s.be.Secret(ctx)
	if err != nil {
		return nil, err
	}
	s.secret = k
	return k, nil
}

// StreamARN renders a stream's ARN.
func StreamARN(k store.StreamKey) string {
	return "arn:aws:kinesis:" + k.Region + ":" + k.Account + ":stream/" + k.Name
}

// parseStreamARN splits arn:aws:kinesis:REGION:ACCOUNT:stream/NAME.
func parseStreamARN(arn string) (store.StreamKey, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" {
		return store.StreamKey{}, false
	}
	name, ok := strings.CutPrefix(parts[5], "stream/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return store.StreamKey{}, false
	}
	return store.StreamKey{Account: parts[4], Region: parts[3], Name: name}, true
}

// streamKey resolves StreamName and/or StreamARN to a key in the caller's
// namespace (or the ARN's).
func streamKey(ctx context.Context, name, arn *string) (store.StreamKey, error) {
	c := CallerFrom(ctx)
	if arn != nil {
		k, ok := parseStreamARN(*arn)
		if !ok {
			return store.StreamKey{}, Errorf(ErrInvalidArgument, "StreamARN %s is invalid.", *arn)
		}
		if name != nil && *name != k.Name {
			return store.StreamKey{}, Errorf(ErrInvalidArgument,
				"StreamARN %s and StreamName %s do not refer to the same stream.", *arn, *name)
		}
		return k, nil
	}
	if name == nil {
		return store.StreamKey{}, Errorf(ErrInvalidArgument, "Either StreamName or StreamARN should be provided.")
	}
	return store.StreamKey{Account: c.Account, Region: c.Region, Name: *name}, nil
}

func notFound(k store.StreamKey) error {
	return Errorf(ErrResourceNotFound, "Stream %s under account %s not found.", k.Name, k.Account)
}

func notActive(st *store.Stream) error {
	return Errorf(ErrResourceInUse, "Stream %s under account %s not ACTIVE, instead in state %s",
		st.Key.Name, st.Key.Account, st.Status)
}

// settle applies a transition whose time has come. It reports false when
// the stream no longer exists (its deletion finished).
func settle(st *store.Stream, now time.Time) bool {
	if st.StatusUntil.IsZero() || now.Before(st.StatusUntil) {
		return true
	}
	if st.NextStatus == "" {
		return false
	}
	st.Status, st.NextStatus, st.StatusUntil = st.NextStatus, "", time.Time{}
	applyWriteKey(st)
	return true
}

// load reads a stream, applying due status transitions. A stream whose
// deletion has finished is removed from storage and reported missing.
//
// It also moves the stream along: it applies a reshard whose UPDATING
// time is over, drops shards past retention, and finishes log work left
// Pending, by whichever process calls it first.
func (s *Service) load(ctx context.Context, k store.StreamKey) (*store.Stream, store.Revision, error) {
	for attempt := 0; ; attempt++ {
		st, rev, err := s.be.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			return nil, 0, notFound(k)
		}
		if err != nil {
			return nil, 0, err
		}
		now := s.now()
		if !settle(st, now) {
			s.reap(ctx, st, rev)
			return nil, 0, notFound(k)
		}
		dirty := false
		stored := st.Clone()
		if len(st.Plan) > 0 && st.Status != api.StatusUpdating {
			applyPlan(st, now)
			dirty = true
		}
		expired := expireShards(st, now)
		if dirty || len(expired) > 0 {
			nrev, err := s.be.Put(ctx, st, rev)
			if errors.Is(err, store.ErrConflict) && attempt < 20 {
				continue
			}
			if errors.Is(err, store.ErrFull) && !hasPending(stored) {
				// Readers go on with the stored view; the first load after
				// space is freed does the work.
				s.log.Debug("stream upkeep deferred: storage full", "stream", k.Name)
				return stored, rev, nil
			}
			if err != nil {
				return nil, 0, err
			}
			rev = nrev
			for _, sh := range expired {
				if err := s.be.DeleteShard(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}); err != nil {
					s.log.Warn("delete expired shard", "stream", k.Name, "shard", sh.Index, "err", err)
				}
			}
		}
		if hasPending(st) {
			rev, err = s.finishPending(ctx, st, rev)
			if errors.Is(err, store.ErrConflict) && attempt < 20 {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
		}
		return st, rev, nil
	}
}

// loadCached is load for the data path (PutRecord, PutRecords,
// GetRecords): it takes the store's cached copy and falls back to load
// whenever load has work to write back (a finished deletion, a due reshard
// plan, pending or expired shards), so that work still gets done by the
// first process to look. Status deadlines need no write: settle derives
// them from the clock on the copy.
func (s *Service) loadCached(ctx context.Context, k store.StreamKey) (*store.Stream, error) {
	st, _, err := s.be.Cached(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(k)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !settle(st, now) || len(st.Plan) > 0 && st.Status != api.StatusUpdating || hasPending(st) || len(expireShards(st, now)) > 0 {
		st, _, err = s.load(ctx, k)
		return st, err
	}
	return st, nil
}

// reap removes a stream whose deletion is due. Losing the race to another
// process is fine.
func (s *Service) reap(ctx context.Context, st *store.Stream, rev store.Revision) {
	for _, sh := range st.Shards {
		if err := s.be.DeleteShard(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}); err != nil {
			s.log.Warn("reap shard", "stream", st.Key.Name, "shard", sh.Index, "err", err)
		}
	}
	if err := s.be.Delete(ctx, st.Key, rev); err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("reap stream", "stream", st.Key.Name, "err", err)
	}
}

// update runs fn on the current stream and writes it back by CAS, retrying
// when another writer got there first.
func (s *Service) update(ctx context.Context, k store.StreamKey, fn func(st *store.Stream) error) (*store.Stream, error) {
	for attempt := 0; ; attempt++ {
		st, rev, err := s.load(ctx, k)
		if err != nil {
			return nil, err
		}
		if err := fn(st); err != nil {
			return nil, err
		}
		_, err = s.be.Put(ctx, st, rev)
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

func newStreamID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ShardID renders a shard index as AWS does.
func ShardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

// parseShardID accepts "shardId-000000000001" and, as AWS does, a bare or
// short-form index ("1", "shardId-1").
func parseShardID(id string) (int, bool) {
	digits := id
	if i := strings.LastIndexByte(id, '-'); i >= 0 {
		digits = id[i+1:]
	}
	if digits == "" || len(digits) > 12 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n > 2147483647 {
		return 0, false
	}
	return n, true
}

func findShard(st *store.Stream, idx int) *store.Shard {
	for i := range st.Shards {
		if st.Shards[i].Index == idx {
			return &st.Shards[i]
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func modeDetails(st *store.Stream) *api.StreamModeDetails {
	return &api.StreamModeDetails{StreamMode: ptr(st.Mode)}
}

func openShards(st *store.Stream) int {
	n := 0
	for _, sh := range st.Shards {
		if sh.Closed == nil {
			n++
		}
	}
	return n
}
