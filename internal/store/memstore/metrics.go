package memstore

import (
	"context"
	"errors"

	"github.com/rivulet/rivulet/internal/store"
)

var _ store.Metrics = (*Store)(nil)

// PutMetrics implements store.Metrics. (Stub: replaced.)
func (s *Store) PutMetrics(ctx context.Context, ds []store.MetricDatum) error {
	return errors.New("memstore: metrics not implemented")
}

// ReadMetrics implements store.Metrics. (Stub: replaced.)
func (s *Store) ReadMetrics(ctx context.Context, q store.MetricQuery) ([]store.MetricDatum, error) {
	return nil, errors.New("memstore: metrics not implemented")
}
