package consumer

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/rivulet/rivulet/internal/client"
)

// retryable reports whether a failed call may succeed when tried again.
func retryable(err error) bool {
	return client.IsRetryableCode(client.ErrorCode(err))
}

func throttled(err error) bool { return client.IsThrottleCode(client.ErrorCode(err)) }

// backoff is exponential with full jitter: up to base·2^(attempt-1),
// capped at ceiling.
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := ceiling
	if attempt < 30 {
		d = min(ceiling, base<<(max(attempt, 1)-1))
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
