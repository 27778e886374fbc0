package producer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/rivulet/rivulet/aggregation"
)

// Defaults, the KPL's where the KPL has the setting.
const (
	DefaultAggregationMaxSize    = 51200
	DefaultAggregationMaxCount   = math.MaxUint32
	DefaultCollectionMaxCount    = 500
	DefaultCollectionMaxSize     = 5 << 20
	DefaultRecordMaxBufferedTime = 100 * time.Millisecond
	DefaultRecordTTL             = 30 * time.Second
	DefaultRateLimit             = 150
	DefaultMaxBufferedRecords    = 100_000
	DefaultMaxBufferedBytes      = 64 << 20
	DefaultRetryBase             = 100 * time.Millisecond
	DefaultRetryMax              = 5 * time.Second
	DefaultRetryJitter           = 0.5
	DefaultShardRefreshInterval  = time.Minute
	DefaultMaxConnections        = 24
	DefaultRequestTimeout        = 6 * time.Second
	DefaultMaxRecordSize         = 1 << 20
)

// Kinesis's limits.
const (
	// MaxCollectionCount is the most entries one PutRecords call takes.
	MaxCollectionCount = 500
	// MaxCollectionSize is the largest PutRecords request (data and
	// partition keys) Kinesis accepts since records may reach 10 MiB.
	MaxCollectionSize = 10 << 20
	// MaxRecordSize is the largest record a stream can be configured for.
	MaxRecordSize = 10 << 20
	// shardRecordsPerSec and shardBytesPerSec are a shard's write limits.
	shardRecordsPerSec = 1000
	shardBytesPerSec   = 1 << 20
)

// ErrInvalidOption is wrapped by New's error for an option out of range.
var ErrInvalidOption = errors.New("producer: invalid option")

// Option configures a Producer. Options are checked by New.
type Option func(*config) error

type config struct {
	aggregation           bool
	aggregationMaxSize    int
	aggregationMaxCount   uint64
	collectionMaxCount    int
	collectionMaxSize     int
	recordMaxBufferedTime time.Duration
	recordTTL             time.Duration
	rateLimit             int
	maxBufferedRecords    int
	maxBufferedBytes      int
	blockOnFull           bool
	preserveOrdering      bool
	retryBase, retryMax   time.Duration
	retryJitter           float64
	shardRefreshInterval  time.Duration
	maxConnections        int
	requestTimeout        time.Duration
	maxRecordSize         int
	logger                *slog.Logger
}

func defaultConfig() config {
	return config{
		aggregation:           true,
		aggregationMaxSize:    DefaultAggregationMaxSize,
		aggregationMaxCount:   DefaultAggregationMaxCount,
		collectionMaxCount:    DefaultCollectionMaxCount,
		collectionMaxSize:     DefaultCollectionMaxSize,
		recordMaxBufferedTime: DefaultRecordMaxBufferedTime,
		recordTTL:             DefaultRecordTTL,
		rateLimit:             DefaultRateLimit,
		maxBufferedRecords:    DefaultMaxBufferedRecords,
		maxBufferedBytes:      DefaultMaxBufferedBytes,
		blockOnFull:           true,
		retryBase:             DefaultRetryBase,
		retryMax:              DefaultRetryMax,
		retryJitter:           DefaultRetryJitter,
		shardRefreshInterval:  DefaultShardRefreshInterval,
		maxConnections:        DefaultMaxConnections,
		requestTimeout:        DefaultRequestTimeout,
		maxRecordSize:         DefaultMaxRecordSize,
		logger:                slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}

// WithAggregation turns KPL aggregation on (the default) or off. Only
// records predicted to land on the same shard are aggregated together.
func WithAggregation(on bool) Option {
	return func(c *config) error { c.aggregation = on; return nil }
}

// WithAggregationMaxSize caps an aggregated record's size in bytes, framing
// included (KPL AggregationMaxSize; 64 to 1048576, default 51200). Records
// too big to aggregate are sent on their own.
func WithAggregationMaxSize(n int) Option {
	return func(c *config) error {
		if n < aggregation.MinMaxSize || n > aggregation.MaxMaxSize {
			return invalid("aggregation max size %d not in [%d, %d]", n, aggregation.MinMaxSize, aggregation.MaxMaxSize)
		}
		c.aggregationMaxSize = n
		return nil
	}
}

// WithAggregationMaxCount caps the user records in one aggregated record
// (KPL AggregationMaxCount; at least 1, default 4294967295).
func WithAggregationMaxCount(n uint64) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("aggregation max count must be at least 1")
		}
		c.aggregationMaxCount = n
		return nil
	}
}

// WithCollectionMaxCount caps the entries in one PutRecords call (KPL
// CollectionMaxCount; 1 to 500, default 500).
func WithCollectionMaxCount(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxCollectionCount {
			return invalid("collection max count %d not in [1, %d]", n, MaxCollectionCount)
		}
		c.collectionMaxCount = n
		return nil
	}
}

// WithCollectionMaxSize caps the bytes (data plus partition keys) in one
// PutRecords call (KPL CollectionMaxSize). The default, 5 MiB, is the
// request limit Kinesis had before 10 MiB records and still the KPL's
// default, so it is safe everywhere; up to 10 MiB is accepted for streams
// and endpoints that take it. A single entry larger than the cap is still
// sent, alone.
func WithCollectionMaxSize(n int) Option {
	return func(c *config) error {
		if n < 1 || n > MaxCollectionSize {
			return invalid("collection max size %d not in [1, %d]", n, MaxCollectionSize)
		}
		c.collectionMaxSize = n
		return nil
	}
}

// WithRecordMaxBufferedTime bounds how long a record waits to be batched
// before it is sent (KPL RecordMaxBufferedTime; default 100ms; 0 sends as
// soon as possible). Rate limiting and retries can delay it further.
func WithRecordMaxBufferedTime(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("record max buffered time %v is negative", d)
		}
		c.recordMaxBufferedTime = d
		return nil
	}
}

// WithRecordTTL bounds a record's whole life in the producer, from Put to
// acknowledgement (KPL RecordTtl; default 30s). A record not acknowledged
// by then fails with ErrExpired.
func WithRecordTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("record TTL %v must be positive", d)
		}
		c.recordTTL = d
		return nil
	}
}

// WithRateLimit caps what the producer sends to each shard, in percent of
// the shard's write limits of 1000 records/s and 1 MiB/s (KPL RateLimit;
// default 150, which lets a producer use a whole shard and relies on
// retries for the excess).
func WithRateLimit(percent int) Option {
	return func(c *config) error {
		if percent < 1 || percent > 1_000_000 {
			return invalid("rate limit %d%% not in [1, 1000000]", percent)
		}
		c.rateLimit = percent
		return nil
	}
}

// WithMaxBufferedRecords bounds the records accepted by Put and not yet
// finished, in flight included (default 100000). See WithBlockOnFull.
func WithMaxBufferedRecords(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max buffered records %d must be positive", n)
		}
		c.maxBufferedRecords = n
		return nil
	}
}

// WithMaxBufferedBytes bounds the bytes (data plus partition key) of the
// records accepted and not yet finished (default 64 MiB). A record larger
// than the bound is accepted only into an empty buffer.
func WithMaxBufferedBytes(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return invalid("max buffered bytes %d must be positive", n)
		}
		c.maxBufferedBytes = n
		return nil
	}
}

// WithBlockOnFull chooses what Put does when the buffer is full: wait for
// room (true, the default) or fail at once with ErrBufferFull.
func WithBlockOnFull(block bool) Option {
	return func(c *config) error { c.blockOnFull = block; return nil }
}

// WithPreserveOrdering keeps records with the same partition key in Put
// order on their shard, retries included: at most one PutRecords call in
// flight holds a given key, and a key appears in at most one entry of it.
// It costs throughput on hot keys (off by default).
func WithPreserveOrdering(on bool) Option {
	return func(c *config) error { c.preserveOrdering = on; return nil }
}

// WithRetry sets the backoff between attempts at a failed record: base
// doubling per attempt up to max, minus a random fraction up to jitter
// (0 to 1) of it. Defaults: 100ms, 5s, 0.5.
func WithRetry(base, max time.Duration, jitter float64) Option {
	return func(c *config) error {
		if base <= 0 || max < base {
			return invalid("retry backoff base %v, max %v: need 0 < base <= max", base, max)
		}
		if !(jitter >= 0 && jitter <= 1) {
			return invalid("retry jitter %v not in [0, 1]", jitter)
		}
		c.retryBase, c.retryMax, c.retryJitter = base, max, jitter
		return nil
	}
}

// WithShardRefreshInterval sets how often the shard map is listed again
// besides when a reshard is detected (default 1 minute; 0 turns periodic
// refreshes off).
func WithShardRefreshInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return invalid("shard refresh interval %v is negative", d)
		}
		c.shardRefreshInterval = d
		return nil
	}
}

// WithMaxConnections caps the PutRecords calls in flight at once (KPL
// MaxConnections; 1 to 256, default 24).
func WithMaxConnections(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 256 {
			return invalid("max connections %d not in [1, 256]", n)
		}
		c.maxConnections = n
		return nil
	}
}

// WithRequestTimeout bounds each PutRecords and ListShards call (KPL
// RequestTimeout; default 6s). A call that times out is retried whole,
// which can duplicate records (see the package documentation).
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return invalid("request timeout %v must be positive", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithMaxRecordSize is the stream's record size limit (data plus partition
// key): 1 MiB by default, up to 10 MiB after UpdateMaxRecordSize. Put
// refuses larger records.
func WithMaxRecordSize(n int) Option {
	return func(c *config) error {
		if n < 1024 || n > MaxRecordSize {
			return invalid("max record size %d not in [1024, %d]", n, MaxRecordSize)
		}
		c.maxRecordSize = n
		return nil
	}
}

// WithLogger sets where the producer logs (default: nowhere). Throttling
// and retries are logged at Debug, shard map failures at Warn.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalid("nil logger")
		}
		c.logger = l
		return nil
	}
}
