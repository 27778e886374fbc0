// Package firehose serves the Amazon Data Firehose API: delivery streams
// kept as records in store.Resources (changed only by compare-and-swap, so
// several processes on one store agree), and DirectPut records appended
// durably to each stream's buffer log before they are acknowledged. The
// delivery engine (internal/delivery) reads those logs and delivers.
package firehose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/envelope"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// Storage is what the service needs: the delivery-stream records and the
// DirectPut buffer logs. If it also implements Values, the delivery
// engine's checkpoints are removed with their stream.
type Storage interface {
	store.Resources
	store.Log
}

// Values is the part of store.Meta that holds the engine's checkpoints
// ("firehose.ckpt.<id>", "firehose.owner.<id>").
type Values interface {
	GetValue(ctx context.Context, key string) ([]byte, store.Revision, error)
	DeleteValue(ctx context.Context, key string, rev store.Revision) error
}

// Config tunes the service.
type Config struct {
	// Metrics counts AWS/Firehose metrics (IncomingRecords, ...); nil
	// counts nothing.
	Metrics *metrics.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives unexpected failures; nil means slog.Default().
	Logger *slog.Logger
	// Authorizer decides every request, with actions "firehose:<Op>" on
	// the delivery stream's ARN; nil allows all.
	Authorizer kinesis.Authorizer
	// CreateDelay is how long a new stream stays CREATING (and encryption
	// ENABLING or DISABLING); zero makes it ACTIVE at once.
	CreateDelay time.Duration
	// KMS is the key ring server-side encryption uses (--kms-keys; its
	// alias/aws/kinesis stands in for AWS_OWNED_CMK). nil refuses
	// encryption with InvalidKMSResourceException.
	KMS *kms.Ring
}

// Service is the Firehose API over a Storage.
type Service struct {
	st   Storage
	cfg  Config
	log  *slog.Logger
	keys *envelope.Keys
}

// New returns a service over st.
func New(st Storage, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{st: st, cfg: cfg, log: cfg.Logger, keys: envelope.New(cfg.KMS)}
}

// Limits, AWS's where it has one.
const (
	maxCASAttempts  = 64
	maxTags         = 50
	maxBatchRecords = 500
	maxRecordBytes  = 1_024_000
	maxBatchBytes   = 4 << 20
	bufferRetention = 24 * time.Hour
	destinationID   = "destinationId-000000000001"
)

// Checkpoint value keys of the delivery engine, per stream ID.
const (
	CheckpointKeyPrefix = "firehose.ckpt."
	OwnerKeyPrefix      = "firehose.owner."
)

// BufferLog is the log a DirectPut delivery stream's records are
// appended to.
func BufferLog(id string) store.ShardRef {
	return store.ShardRef{StreamID: store.BufferLogPrefix + id, Shard: 0}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func (s *Service) key(ctx context.Context, name string) store.TableKey {
	c := kinesis.CallerFrom(ctx)
	return store.TableKey{Account: c.Account, Region: c.Region, Name: name}
}

func arnOf(k store.TableKey) string {
	return "arn:aws:firehose:" + k.Region + ":" + k.Account + ":deliverystream/" + k.Name
}

// load reads a delivery stream; store.ErrNotFound passes through.
func (s *Service) load(ctx context.Context, k store.TableKey) (*model.DeliveryStream, store.Revision, error) {
	b, rev, err := s.st.GetResource(ctx, store.KindDeliveryStream, k)
	if err != nil {
		return nil, 0, err
	}
	var ds model.DeliveryStream
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, 0, errorf(ErrInternal, "delivery stream %s: corrupt record: %v", k.Name, err)
	}
	return &ds, rev, nil
}

// get loads a delivery stream that must exist (and not be going away).
func (s *Service) get(ctx context.Context, name string) (*model.DeliveryStream, store.Revision, error) {
	k := s.key(ctx, name)
	ds, rev, err := s.load(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, notFound(name, k.Account)
	}
	return ds, rev, err
}

func (s *Service) save(ctx context.Context, ds *model.DeliveryStream, rev store.Revision) error {
	b, err := json.Marshal(ds)
	if err != nil {
		return err
	}
	_, err = s.st.PutResource(ctx, store.KindDeliveryStream,
		store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}, b, rev)
	return err
}

// modify applies change to the named stream and saves it, starting over
// when another writer got there first. change may refuse with an error.
func (s *Service) modify(ctx context.Context, name string, change func(ds *model.DeliveryStream) error) (*model.DeliveryStream, error) {
	for range maxCASAttempts {
		ds, rev, err := s.get(ctx, name)
		if err != nil {
			return nil, err
		}
		if ds.Status == model.StatusDeleting {
			return nil, notFound(name, ds.Account)
		}
		if err := change(ds); err != nil {
			return nil, err
		}
		ds.Updated = s.now()
		err = s.save(ctx, ds, rev)
		if err == nil {
			return ds, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
	}
	return nil, errorf(ErrConcurrentModification, "Delivery stream %s was modified concurrently; try again.", name)
}

// authorize asks the Authorizer about action on the named stream, with
// its tags when it exists.
func (s *Service) authorize(ctx context.Context, op string, name *string) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	c := kinesis.CallerFrom(ctx)
	resource := "*"
	var about kinesis.Resource
	if name != nil && validName(*name) {
		k := s.key(ctx, *name)
		resource = arnOf(k)
		ds, _, err := s.load(ctx, k)
		switch {
		case err == nil:
			about.Tags = ds.Tags
			if about.Tags == nil {
				about.Tags = map[string]string{}
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	return s.cfg.Authorizer.Authorize(ctx, c, "firehose:"+op, resource, about)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
