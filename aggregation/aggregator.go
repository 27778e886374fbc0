package aggregation

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// Limits of the KPL's aggregation settings.
const (
	// DefaultMaxSize is the KPL's default AggregationMaxSize in bytes.
	DefaultMaxSize = 51200
	// MinMaxSize and MaxMaxSize bound AggregationMaxSize as the KPL does;
	// 1 MiB is also the largest Kinesis record.
	MinMaxSize = 64
	MaxMaxSize = 1 << 20
	// DefaultMaxCount is the KPL's default AggregationMaxCount.
	DefaultMaxCount uint64 = math.MaxUint32
	// maxPartitionKeyLen is Kinesis's limit, in Unicode characters.
	maxPartitionKeyLen = 256
)

var (
	// ErrFull: the record does not fit next to the records already held.
	// Drain, then add it again.
	ErrFull = errors.New("aggregation: aggregated record is full")
	// ErrRecordTooLarge: the record does not fit even in an empty
	// aggregated record; send it on its own, unaggregated.
	ErrRecordTooLarge = errors.New("aggregation: record too large to aggregate")
	// ErrInvalidRecord: the partition key or explicit hash key would be
	// rejected by Kinesis.
	ErrInvalidRecord = errors.New("aggregation: invalid record")
	// ErrEmpty: Drain was called with no records held.
	ErrEmpty = errors.New("aggregation: no records to drain")
	// ErrInvalidOption: an Option's value is out of range.
	ErrInvalidOption = errors.New("aggregation: invalid option")
)

// Option configures an Aggregator.
type Option func(*Aggregator) error

// WithMaxSize sets the largest aggregated record, in bytes, magic and
// checksum included (the KPL's AggregationMaxSize, 64..1048576).
func WithMaxSize(n int) Option {
	return func(a *Aggregator) error {
		if n < MinMaxSize || n > MaxMaxSize {
			return fmt.Errorf("%w: max size %d not in [%d, %d]", ErrInvalidOption, n, MinMaxSize, MaxMaxSize)
		}
		a.maxSize = n
		return nil
	}
}

// WithMaxCount sets the most user records in one aggregated record (the
// KPL's AggregationMaxCount, at least 1).
func WithMaxCount(n uint64) Option {
	return func(a *Aggregator) error {
		if n < 1 {
			return fmt.Errorf("%w: max count must be at least 1", ErrInvalidOption)
		}
		a.maxCount = n
		return nil
	}
}

// Aggregator collects user records into one aggregated record while keeping
// its encoded size exactly. The zero value is ready to use with the default
// limits. An Aggregator is not safe for concurrent use.
type Aggregator struct {
	maxSize  int    // 0 means DefaultMaxSize
	maxCount uint64 // 0 means DefaultMaxCount

	t     tables
	body  []byte // encoded Record fields, reused across drains
	count int
	first Record // keys of the first record, for the outer record
}

// NewAggregator returns an Aggregator with the given options applied.
func NewAggregator(opts ...Option) (*Aggregator, error) {
	a := &Aggregator{}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// MaxSize is the size limit in force.
func (a *Aggregator) MaxSize() int {
	if a.maxSize == 0 {
		return DefaultMaxSize
	}
	return a.maxSize
}

// MaxCount is the count limit in force.
func (a *Aggregator) MaxCount() uint64 {
	if a.maxCount == 0 {
		return DefaultMaxCount
	}
	return a.maxCount
}

// Count is the number of records held.
func (a *Aggregator) Count() int { return a.count }

// Size is the exact length of the blob Drain would return now, or 0 when
// no records are held.
func (a *Aggregator) Size() int {
	if a.count == 0 {
		return 0
	}
	return Overhead + a.t.size + len(a.body)
}

// SizeWith is the length Drain would return after adding r; it does not
// check limits or validity.
func (a *Aggregator) SizeWith(r Record) int {
	return Overhead + a.t.size + len(a.body) + a.t.recordSize(r)
}

// Add appends r. It returns ErrInvalidRecord for keys Kinesis would reject,
// ErrRecordTooLarge if r cannot fit even alone, and ErrFull if r does not
// fit next to the records already held; on error nothing changes. Add
// copies r.Data.
func (a *Aggregator) Add(r Record) error {
	if err := ValidateRecord(r); err != nil {
		return err
	}
	if a.SizeWith(r) > a.MaxSize() {
		if a.count == 0 {
			return fmt.Errorf("%w: %d bytes aggregated, limit %d", ErrRecordTooLarge, a.SizeWith(r), a.MaxSize())
		}
		return ErrFull
	}
	if uint64(a.count) >= a.MaxCount() {
		return ErrFull
	}
	if a.count == 0 {
		a.first = Record{PartitionKey: r.PartitionKey, ExplicitHashKey: r.ExplicitHashKey}
	}
	a.body = a.t.appendRecord(a.body, r)
	a.count++
	return nil
}

// Drain returns the aggregated blob of the records held and the partition
// key and explicit hash key to put it with, then empties the Aggregator.
// The keys are the first record's, so the blob lands on the shard of its
// first record (the KPL gets the same routing from partition key "a" and the
// first record's hash key). The caller owns the blob. With no records held
// it returns ErrEmpty.
//
// A drained single record is still aggregated; the KPL sends such a record
// unaggregated, which a caller can do by checking Count first.
func (a *Aggregator) Drain() (blob []byte, partitionKey, explicitHashKey string, err error) {
	if a.count == 0 {
		return nil, "", "", ErrEmpty
	}
	blob = a.t.frame(a.body)
	partitionKey, explicitHashKey = a.first.PartitionKey, a.first.ExplicitHashKey
	a.Reset()
	return blob, partitionKey, explicitHashKey, nil
}

// Reset discards the records held.
func (a *Aggregator) Reset() {
	a.t = tables{}
	a.body = a.body[:0]
	a.count = 0
	a.first = Record{}
}

// maxHashKey is 2^128-1, the top of the Kinesis hash key space.
var maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// ValidateRecord reports whether Kinesis would accept r's keys: a partition
// key of 1 to 256 Unicode characters in valid UTF-8, and an explicit hash
// key that is empty or a decimal in [0, 2^128-1] without leading zeros.
func ValidateRecord(r Record) error {
	if r.PartitionKey == "" || !utf8.ValidString(r.PartitionKey) || utf8.RuneCountInString(r.PartitionKey) > maxPartitionKeyLen {
		return fmt.Errorf("%w: partition key must be 1 to %d characters of valid UTF-8", ErrInvalidRecord, maxPartitionKeyLen)
	}
	if r.ExplicitHashKey != "" {
		if _, err := parseHashKey(r.ExplicitHashKey); err != nil {
			return fmt.Errorf("%w: explicit hash key: %v", ErrInvalidRecord, err)
		}
	}
	return nil
}

// parseHashKey reads a hash key as the Kinesis API writes it: "0" or a
// decimal without leading zeros, at most 2^128-1.
func parseHashKey(s string) (*big.Int, error) {
	if s == "" || len(s) > 39 || (len(s) > 1 && s[0] == '0') {
		return nil, fmt.Errorf("%q is not a decimal in [0, 2^128-1]", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, fmt.Errorf("%q is not a decimal in [0, 2^128-1]", s)
		}
	}
	n, _ := new(big.Int).SetString(s, 10)
	if n.Cmp(maxHashKey) > 0 {
		return nil, fmt.Errorf("%q is not a decimal in [0, 2^128-1]", s)
	}
	return n, nil
}
