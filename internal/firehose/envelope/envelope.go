// Package envelope is a delivery stream's server-side encryption, as
// envelope encryption, the way Kinesis streams do it: each data key is a
// random AES-256 key wrapped by a master key of the key ring
// (internal/kms) and kept in the stream's record (model.DeliveryStream
// DataKeys). The API seals each buffer-log entry with the current data key
// (store.Entry.Key naming it); the delivery engine opens entries before
// processing. Storage never sees a data key or the data of a sealed
// record.
package envelope

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

// OwnedKeyAlias is the master key that stands in for Firehose's
// AWS_OWNED_CMK: the one key every Rivulet key ring has. (AWS's own key
// is owned by the service and not visible in the account; Rivulet has no
// separate one.)
const OwnedKeyAlias = kms.DefaultAlias

var (
	// ErrNoRing: sealed data, or a request to seal, with no key ring.
	ErrNoRing = errors.New("envelope: no key ring is configured")
	// ErrDamaged: a sealed entry does not open with its data key: the
	// stored bytes are damaged or were moved from elsewhere.
	ErrDamaged = errors.New("envelope: sealed record does not open")
)

// maxCached bounds the unwrapped-key cache; past it the cache starts over
// (keys are unwrapped again on use).
const maxCached = 4096

type ref struct {
	stream string
	index  uint32
}

// Keys unwraps data keys with a key ring and keeps them, so a key is
// unwrapped once per process, not per record. It is safe for concurrent
// use.
type Keys struct {
	ring *kms.Ring

	mu sync.RWMutex
	m  map[ref]*kms.DataKey
}

// New returns Keys over ring; a nil ring refuses every key with ErrNoRing.
func New(ring *kms.Ring) *Keys {
	return &Keys{ring: ring}
}

// Ring is the key ring (nil when none is configured).
func (k *Keys) Ring() *kms.Ring { return k.ring }

// Bind is what data key idx of a delivery stream incarnation is wrapped
// for, so a wrapped key cannot be moved to another stream.
func Bind(streamID string, idx uint32) []byte {
	b := append([]byte("firehose/"), streamID...)
	b = append(b, '/')
	return strconv.AppendUint(b, uint64(idx), 10)
}

// aad binds a sealed entry to its stream incarnation and data key index.
func aad(streamID string, idx uint32) []byte {
	b := make([]byte, 0, len("rivulet-firehose-record\x00")+len(streamID)+5)
	b = append(b, "rivulet-firehose-record\x00"...)
	b = append(b, streamID...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint32(b, idx)
}

// NewDataKey makes a data key for ds under master, with the next unused
// index, and adds it to ds.DataKeys.
func NewDataKey(ds *model.DeliveryStream, master *kms.Key, now time.Time) uint32 {
	idx := uint32(1)
	for _, dk := range ds.DataKeys {
		idx = max(idx, dk.Index+1)
	}
	_, wrapped := master.GenerateDataKey(Bind(ds.ID, idx))
	ds.DataKeys = append(ds.DataKeys, store.DataKey{Index: idx, MasterKeyID: master.ID, Wrapped: wrapped, Created: now})
	return idx
}

// Reload reads the stored delivery stream again, for a data key newer
// than the caller's copy.
type Reload func(ctx context.Context) (*model.DeliveryStream, error)

// dataKey finds data key idx of ds, unwrapping it on first use; reload
// (optional) is asked when ds is older than the key. The master key must
// be usable on every use, so a disabled key stops writes and reads.
func (k *Keys) dataKey(ctx context.Context, ds *model.DeliveryStream, idx uint32, reload Reload) (*kms.DataKey, error) {
	if k.ring == nil {
		return nil, ErrNoRing
	}
	r := ref{ds.ID, idx}
	k.mu.RLock()
	d := k.m[r]
	k.mu.RUnlock()
	if d == nil {
		spec := ds.DataKey(idx)
		if spec == nil && reload != nil {
			fresh, err := reload(ctx)
			if err != nil {
				return nil, err
			}
			if fresh.ID == ds.ID {
				spec = fresh.DataKey(idx)
			}
		}
		if spec == nil {
			// Lost with the stream's record; no AWS counterpart.
			return nil, &kms.Error{Kind: kms.ErrNotFound, Message: fmt.Sprintf(
				"Data key %d of Firehose %s under account %s is not in its record.", idx, ds.Name, ds.Account)}
		}
		master, err := k.ring.Get(ctx, spec.MasterKeyID, ds.Region, ds.Account)
		if err != nil {
			return nil, err
		}
		if d, err = master.OpenDataKey(spec.Wrapped, Bind(ds.ID, idx)); err != nil {
			return nil, err
		}
		k.mu.Lock()
		if k.m == nil || len(k.m) >= maxCached {
			k.m = map[ref]*kms.DataKey{}
		}
		k.m[r] = d
		k.mu.Unlock()
	}
	if err := d.Master.Usable(ds.Region, ds.Account); err != nil {
		return nil, err
	}
	return d, nil
}

// Seal replaces each entry's data by its sealing with data key idx of ds
// and sets Key to idx. Entries with a Key already set are refused. On
// error the entries are unchanged.
func (k *Keys) Seal(ctx context.Context, ds *model.DeliveryStream, idx uint32, entries []store.Entry) error {
	d, err := k.dataKey(ctx, ds, idx, nil)
	if err != nil {
		return err
	}
	ad := aad(ds.ID, idx)
	total := 0
	for _, e := range entries {
		if e.Key != 0 {
			return fmt.Errorf("envelope: entry already sealed with data key %d", e.Key)
		}
		total += len(e.Data) + kms.SealOverhead
	}
	// One buffer for the call: fewer allocations than one per record.
	buf := make([]byte, 0, total)
	for i := range entries {
		start := len(buf)
		buf = d.Seal(buf, entries[i].Data, ad)
		entries[i] = store.Entry{PartitionKey: entries[i].PartitionKey, Data: buf[start:len(buf):len(buf)], Key: idx}
	}
	return nil
}

// Open replaces a sealed entry by its data (an entry in the clear is left
// as it is). reload (optional) reads the stored stream when the entry's
// data key is newer than ds.
func (k *Keys) Open(ctx context.Context, ds *model.DeliveryStream, e *store.Entry, reload Reload) error {
	if e.Key == 0 {
		return nil
	}
	d, err := k.dataKey(ctx, ds, e.Key, reload)
	if err != nil {
		return err
	}
	plain, err := d.Open(nil, e.Data, aad(ds.ID, e.Key))
	if err != nil {
		return fmt.Errorf("%w (data key %d of Firehose %s): %w", ErrDamaged, e.Key, ds.Name, err)
	}
	e.Data, e.Key = plain, 0
	return nil
}
