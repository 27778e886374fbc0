package natsstore

import (
	"context"

	"github.com/rivulet/rivulet/internal/metrics"
)

// StreamStorage lists what JetStream holds per Kinesis stream and
// delivery-stream buffer. (Stub: replaced.)
func (s *Store) StreamStorage(ctx context.Context) ([]metrics.StreamStorage, error) {
	return nil, nil
}
