// Package delivery is the Firehose delivery engine: it reads each delivery
// stream's source (its DirectPut buffer log, or a Kinesis stream through
// the consumer library), buffers by size and interval, processes,
// partitions, converts and compresses, and delivers to the destination,
// at least once, retrying and setting failures aside. Each source position
// has one owner at a time among the processes on one NATS.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/envelope"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// Storage is what the engine keeps in NATS: the delivery-stream records,
// the DirectPut buffer logs, owner leases and checkpoints (values).
type Storage interface {
	store.Resources
	store.Log
	GetValue(ctx context.Context, key string) ([]byte, store.Revision, error)
	PutValue(ctx context.Context, key string, val []byte, rev store.Revision) (store.Revision, error)
	DeleteValue(ctx context.Context, key string, rev store.Revision) error
	WatchValue(ctx context.Context, key string) (<-chan struct{}, func(), error)
}

// Clients are the Kinesis and lease-table clients a Kinesis source reads
// with, in the delivery stream's account and region.
type Clients func(account, region string) (consumer.KinesisAPI, consumer.DynamoDBAPI)

// Config configures an Engine.
type Config struct {
	// Metrics counts AWS/Firehose delivery metrics (DeliveryToS3.*, ...);
	// nil counts nothing.
	Metrics *metrics.Registry
	Store   Storage
	// Objects holds every bucket a BucketARN names.
	Objects dest.ObjectStore
	// Clients serve KinesisStreamAsSource delivery streams and channels.
	Clients Clients
	// HTTPClient reaches HTTP endpoints and Lambda URLs; nil means a
	// default with Firehose's 3-minute request timeout.
	HTTPClient *http.Client
	// LambdaEndpoint is where a Lambda ARN is invoked (process.Options).
	LambdaEndpoint string
	// Owner identifies this process in owner leases; "" means random.
	Owner string
	// LeaseTTL is how long an owner lease lasts without renewal
	// (default 10 s).
	LeaseTTL time.Duration
	// Scan is how often the engine looks for delivery streams it could
	// own (default 1 s).
	Scan   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// KMS opens the DirectPut records the API sealed (server-side
	// encryption); nil leaves sealed records undelivered, logged.
	KMS *kms.Ring
}

// Engine runs delivery for every delivery stream and channel it owns.
type Engine struct {
	cfg Config

	// retryBase and retryMax shape the backoff of S3 writes, sinks and
	// store operations; tests shorten them.
	retryBase, retryMax time.Duration

	// ownHTTP is set when HTTPClient is New's default, which the HTTP
	// endpoint sink then replaces with its own (no transparent gzip).
	ownHTTP bool

	mu    sync.Mutex
	plans map[planKey]*plan

	// keys opens sealed buffer-log entries (encryption.go).
	keys *envelope.Keys
}

// New returns an engine; Run starts it. Unset Config members get their
// defaults here, so every part of the engine sees them.
func New(cfg Config) *Engine {
	ownHTTP := cfg.HTTPClient == nil
	if ownHTTP {
		cfg.HTTPClient = &http.Client{Timeout: 3 * time.Minute}
	}
	if cfg.Owner == "" {
		cfg.Owner = uuid.NewString()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.Scan <= 0 {
		cfg.Scan = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{
		cfg:       cfg,
		ownHTTP:   ownHTTP,
		retryBase: time.Second,
		retryMax:  120 * time.Second,
		plans:     map[planKey]*plan{},
		keys:      envelope.New(cfg.KMS),
	}
}

// runner is one running delivery stream or channel.
type runner struct {
	key     string
	version int
	ds      *model.DeliveryStream
	cancel  context.CancelFunc
	done    chan struct{}
	// gone marks a runner stopped because its record disappeared: once it
	// has ended, a Kinesis source's lease table is dropped.
	gone bool
}

// Run delivers until ctx ends, then stops every delivery, releasing its
// leases, and returns.
func (e *Engine) Run(ctx context.Context) error {
	runners := map[string]*runner{}
	var stopping []*runner
	defer func() {
		for _, r := range runners {
			r.cancel()
		}
		for _, r := range runners {
			<-r.done
		}
		for _, r := range stopping {
			<-r.done
		}
	}()
	tick := time.NewTicker(e.cfg.Scan)
	defer tick.Stop()
	for {
		want, err := e.discover(ctx)
		if err != nil && ctx.Err() == nil {
			// Keep what runs: a failed listing says nothing about the
			// delivery streams.
			e.cfg.Logger.Warn("delivery: listing delivery streams", "err", err)
		}
		if err == nil {
			stopping = e.reconcile(ctx, want, runners, stopping)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// reconcile stops the runners whose record is gone, inactive or of another
// version, and starts the missing ones. A key's replacement starts only
// once its old runner has ended, so two versions never deliver at once.
func (e *Engine) reconcile(ctx context.Context, want map[string]*model.DeliveryStream, runners map[string]*runner, stopping []*runner) []*runner {
	for key, r := range runners {
		if ds, ok := want[key]; !ok || ds.VersionID != r.version {
			r.gone = !ok
			r.cancel()
			stopping = append(stopping, r)
			delete(runners, key)
		}
	}
	alive := stopping[:0]
	busy := map[string]bool{}
	for _, r := range stopping {
		select {
		case <-r.done:
			if r.gone && r.ds.Type == model.TypeKinesisSource {
				e.dropIfDeleted(ctx, r)
			}
		default:
			alive = append(alive, r)
		}
	}
	stopping = alive
	for _, r := range stopping {
		busy[r.key] = true
	}
	for key, ds := range want {
		if _, ok := runners[key]; ok || busy[key] {
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &runner{key: key, version: ds.VersionID, ds: ds, cancel: cancel, done: make(chan struct{})}
		runners[key] = r
		go func() {
			defer close(r.done)
			defer e.forget(ds.ID)
			e.run(rctx, ds)
		}()
	}
	return stopping
}

// dropIfDeleted deletes the lease table of a Kinesis source whose record
// is gone for good (not merely inactive). Every process may do it; a
// missing table is not an error.
func (e *Engine) dropIfDeleted(ctx context.Context, r *runner) {
	kind, _, _ := strings.Cut(r.key, "/")
	k := store.TableKey{Account: r.ds.Account, Region: r.ds.Region, Name: r.ds.Name}
	if _, _, err := e.cfg.Store.GetResource(ctx, kind, k); !errors.Is(err, store.ErrNotFound) {
		return
	}
	if err := e.dropKinesis(ctx, r.ds); err != nil {
		e.cfg.Logger.Warn("delivery: dropping the lease table of a deleted delivery stream", "name", r.ds.Name, "err", err)
	}
}

// discover lists the ACTIVE delivery streams and channels by runner key.
func (e *Engine) discover(ctx context.Context) (map[string]*model.DeliveryStream, error) {
	want := map[string]*model.DeliveryStream{}
	for _, kind := range []string{store.KindDeliveryStream, store.KindChannel} {
		keys, err := e.cfg.Store.ListResources(ctx, kind, "", "")
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			raw, _, err := e.cfg.Store.GetResource(ctx, kind, k)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ds, err := decodeRecord(kind, raw, e.cfg.Now())
			if err != nil {
				e.cfg.Logger.Error("delivery: unreadable record", "kind", kind, "account", k.Account, "region", k.Region, "name", k.Name, "err", err)
				continue
			}
			if ds == nil || ds.ID == "" {
				continue
			}
			want[kind+"/"+ds.ID] = ds
		}
	}
	return want, nil
}

// decodeRecord returns what runs for a stored record, nil when it is not
// ACTIVE.
func decodeRecord(kind string, raw []byte, now time.Time) (*model.DeliveryStream, error) {
	switch kind {
	case store.KindChannel:
		var ch model.Channel
		if err := json.Unmarshal(raw, &ch); err != nil {
			return nil, err
		}
		if ch.Delivery.CurrentStatus(now) != model.StatusActive {
			return nil, nil
		}
		ds := ch.Delivery
		if ds.ID == "" {
			ds.ID = ch.ID
		}
		ds.Type = model.TypeKinesisSource
		return &ds, nil
	default:
		var ds model.DeliveryStream
		if err := json.Unmarshal(raw, &ds); err != nil {
			return nil, err
		}
		if ds.CurrentStatus(now) != model.StatusActive {
			return nil, nil
		}
		return &ds, nil
	}
}

// run delivers one delivery stream until ctx ends.
func (e *Engine) run(ctx context.Context, ds *model.DeliveryStream) {
	log := e.cfg.Logger.With("deliveryStream", ds.Name, "id", ds.ID, "version", ds.VersionID)
	log.Info("delivery: starting")
	defer log.Info("delivery: stopped")
	if ds.Type == model.TypeKinesisSource {
		for n := 0; ; n++ {
			err := e.runKinesis(ctx, ds)
			if ctx.Err() != nil {
				return
			}
			log.Error("delivery: Kinesis source failed", "err", err)
			if sleep(ctx, e.backoff(min(n, 7))) != nil {
				return
			}
		}
	}
	e.runDirectPut(ctx, ds)
}

// Batch is one buffer's worth of records from either source, ready for
// delivery.
type Batch struct {
	// ID is fixed by the batch's source position (the delivery stream or
	// shard, and the first record's position), so a retry after a crash
	// names the same objects and sends the same request ID.
	ID      string
	Records []process.Record
}
