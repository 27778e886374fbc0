package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
)

// ownerLease is the stored value "firehose.owner.<id>": which process
// delivers a DirectPut delivery stream, until when.
type ownerLease struct {
	Owner   string
	Expires time.Time
}

func ownerKey(id string) string { return "firehose.owner." + id }

// errLeaseHeld means another live process owns the lease.
var errLeaseHeld = errors.New("delivery: lease held by another owner")

// acquire takes the lease by compare-and-swap when it is absent, expired
// or already this process's (left by an earlier run with the same Owner).
func (e *Engine) acquire(ctx context.Context, key string) (store.Revision, error) {
	raw, rev, err := e.cfg.Store.GetValue(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rev = 0
	case err != nil:
		return 0, err
	default:
		var l ownerLease
		if err := json.Unmarshal(raw, &l); err != nil {
			// An unreadable lease is taken over rather than blocking
			// delivery for ever.
			e.cfg.Logger.Warn("delivery: unreadable owner lease", "key", key, "err", err)
		} else if l.Owner != e.cfg.Owner && e.cfg.Now().Before(l.Expires) {
			return 0, errLeaseHeld
		}
	}
	return e.putLease(ctx, key, rev)
}

func (e *Engine) putLease(ctx context.Context, key string, rev store.Revision) (store.Revision, error) {
	val, err := json.Marshal(ownerLease{Owner: e.cfg.Owner, Expires: e.cfg.Now().Add(e.cfg.LeaseTTL)})
	if err != nil {
		return 0, err
	}
	nrev, err := e.cfg.Store.PutValue(ctx, key, val, rev)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return 0, errLeaseHeld
	}
	if err != nil {
		return 0, fmt.Errorf("delivery: lease %s: %w", key, err)
	}
	return nrev, nil
}

// renew extends the lease; it must finish before a third of the TTL has
// passed, so a slow store cannot leave us delivering past expiry.
func (e *Engine) renew(ctx context.Context, key string, rev store.Revision) (store.Revision, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.LeaseTTL/3)
	defer cancel()
	return e.putLease(ctx, key, rev)
}

// release deletes the lease if it is still ours, so another process can
// take over at once instead of waiting for expiry.
func (e *Engine) release(key string, rev store.Revision) {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.LeaseTTL/3)
	defer cancel()
	if err := e.cfg.Store.DeleteValue(ctx, key, rev); err != nil && !errors.Is(err, store.ErrConflict) {
		e.cfg.Logger.Warn("delivery: releasing owner lease", "key", key, "err", err)
	}
}

// runDirectPut owns and delivers a DirectPut delivery stream until ctx
// ends: it waits for the owner lease, delivers while renewing it, stops at
// once when a renewal fails, and releases the lease when stopped.
func (e *Engine) runDirectPut(ctx context.Context, ds *model.DeliveryStream) {
	key := ownerKey(ds.ID)
	log := e.cfg.Logger.With("deliveryStream", ds.Name, "id", ds.ID)
	changed, stopWatch, err := e.cfg.Store.WatchValue(ctx, key)
	if err != nil {
		// Without the watch we still find a free lease by polling.
		log.Warn("delivery: watching owner lease", "err", err)
		changed = nil
		stopWatch = func() {}
	}
	defer stopWatch()
	poll := e.cfg.LeaseTTL / 3
	for n := 0; ; {
		rev, err := e.acquire(ctx, key)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !errors.Is(err, errLeaseHeld) {
				log.Warn("delivery: taking owner lease", "err", err)
			}
			t := time.NewTimer(poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-changed:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		log.Info("delivery: owner lease taken", "owner", e.cfg.Owner)
		err = e.holdAndDeliver(ctx, ds, key, rev)
		if ctx.Err() != nil {
			return
		}
		log.Warn("delivery: delivery stopped; taking the lease again", "err", err)
		if sleep(ctx, e.backoff(min(n, 5))) != nil {
			return
		}
		n++
	}
}

// holdAndDeliver delivers while holding the lease. It returns when ctx
// ends (releasing the lease), when a renewal fails (without releasing: it
// is no longer ours), or when delivery itself stopped.
func (e *Engine) holdAndDeliver(ctx context.Context, ds *model.DeliveryStream, key string, rev store.Revision) error {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.deliverBuffer(dctx, ds) }()
	tick := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			cancel()
			<-done
			e.release(key, rev)
			return ctx.Err()
		case err := <-done:
			e.release(key, rev)
			return err
		case <-tick.C:
			nrev, err := e.renew(ctx, key, rev)
			if err != nil {
				// Stop before anyone else may take over: the lease
				// expires no sooner than a TTL after the last renewal.
				cancel()
				<-done
				if ctx.Err() != nil {
					e.release(key, rev)
					return ctx.Err()
				}
				return fmt.Errorf("delivery: lost owner lease: %w", err)
			}
			rev = nrev
		}
	}
}
