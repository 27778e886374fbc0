package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in microseconds with log-linear buckets:
// exact below 64 µs, then 64 buckets per power of two, so a quantile is
// within 1/64 (1.6 %) of the true value. The zero value is ready to use; it
// is not safe for concurrent use (give each goroutine its own and Merge).
type Histogram struct {
	counts []uint64
	n      uint64
	sum    uint64 // µs
	max    uint64 // µs
}

const subBits = 6 // 64 sub-buckets per power of two

// bucket maps v (µs) to its bucket index.
func bucket(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	exp := bits.Len64(v) - subBits // >= 1
	return exp<<subBits + int(v>>(exp-1)) - 1<<subBits
}

// lowest is the smallest value in bucket i.
func lowest(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	exp := i >> subBits
	return uint64(i-exp<<subBits+1<<subBits) << (exp - 1)
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0) / time.Microsecond)
	i := bucket(v)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest observation.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the average observation.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Quantile is the value at or below which a fraction q of observations
// fall, as the middle of its bucket (never above Max).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := lowest(i), lowest(i+1)
			v := lo + (hi-lo-1)/2
			return time.Duration(min(v, h.max)) * time.Microsecond
		}
	}
	return h.Max()
}
