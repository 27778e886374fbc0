package delivery

import (
	"context"
	"encoding/json"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
)

// open replaces a buffer-log entry the API sealed (server-side
// encryption, internal/firehose/envelope) by its data; entries in the
// clear pass as they are. An entry sealed with a data key newer than the
// runner's copy of the stream reads the stored record again.
func (e *Engine) open(ctx context.Context, ds *model.DeliveryStream, ent *store.Entry) error {
	if ent.Key == 0 {
		return nil
	}
	return e.keys.Open(ctx, ds, ent, func(ctx context.Context) (*model.DeliveryStream, error) {
		k := store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}
		raw, _, err := e.cfg.Store.GetResource(ctx, store.KindDeliveryStream, k)
		if err != nil {
			return nil, err
		}
		var fresh model.DeliveryStream
		if err := json.Unmarshal(raw, &fresh); err != nil {
			return nil, err
		}
		return &fresh, nil
	})
}
