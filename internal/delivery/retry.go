package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// backoff is the n-th retry delay: retryBase × 2^n, ±15 %, capped at
// retryMax (Firehose's HTTP endpoint schedule: 1 s doubling to 120 s).
func (e *Engine) backoff(n int) time.Duration {
	d := e.retryBase
	for i := 0; i < n && d < e.retryMax; i++ {
		d *= 2
	}
	d = min(d, e.retryMax)
	jitter := 0.85 + 0.3*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// idSpace scopes the engine's name-based UUIDs.
var idSpace = uuid.MustParse("5b6c3c52-2f43-4c8e-9d0a-7e1f3f0b8a61")

// stableID is a UUID-shaped string fixed by parts, so a retried delivery
// names the same objects and sends the same request ID.
func stableID(parts ...string) string {
	return uuid.NewSHA1(idSpace, []byte(strings.Join(parts, "\x00"))).String()
}

// batchID names a batch after its source and first position.
func batchID(source, id string, first checkpoint) string {
	return stableID(source, id, strconv.FormatUint(first.Seq, 10), strconv.Itoa(first.Sub))
}

// randomStrings returns firehose:random-string's generator, seeded from
// the batch and partition: each call gives 11 new characters, and a retry
// gives the same sequence.
func randomStrings(parts ...string) func() string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	return func() string {
		b := make([]byte, 11)
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		return string(b)
	}
}
