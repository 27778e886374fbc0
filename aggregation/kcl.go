package aggregation

import (
	"crypto/md5"
	"fmt"
	"math/big"
	"time"
)

// KinesisRecord is a record as GetRecords or SubscribeToShard returns it.
type KinesisRecord struct {
	SequenceNumber              string
	PartitionKey                string
	Data                        []byte
	ApproximateArrivalTimestamp time.Time
}

// UserRecord is one record as the producer put it: a user record taken out
// of an aggregated record, or a plain record passed through.
type UserRecord struct {
	Record
	// SequenceNumber is the enclosing Kinesis record's.
	SequenceNumber string
	// SubSequenceNumber is the user record's position in the aggregated
	// record (0 for a plain record). Together with SequenceNumber it
	// identifies the user record, for checkpoints.
	SubSequenceNumber uint64
	// Aggregated tells a user record from a plain record passed through.
	Aggregated                  bool
	ApproximateArrivalTimestamp time.Time
}

// HashRange is a shard's hash key range, both ends included.
type HashRange struct {
	Start, End *big.Int
}

// ParseHashRange reads a shard's StartingHashKey and EndingHashKey.
func ParseHashRange(start, end string) (*HashRange, error) {
	s, err := parseHashKey(start)
	if err != nil {
		return nil, fmt.Errorf("aggregation: starting hash key: %w", err)
	}
	e, err := parseHashKey(end)
	if err != nil {
		return nil, fmt.Errorf("aggregation: ending hash key: %w", err)
	}
	if s.Cmp(e) > 0 {
		return nil, fmt.Errorf("aggregation: starting hash key %s above ending hash key %s", start, end)
	}
	return &HashRange{Start: s, End: e}, nil
}

// Contains reports whether k is in the range.
func (h *HashRange) Contains(k *big.Int) bool {
	return k.Cmp(h.Start) >= 0 && k.Cmp(h.End) <= 0
}

// fullRange is the whole key space, which the KCL also uses when it is not
// given a shard's range.
var fullRange = &HashRange{Start: new(big.Int), End: maxHashKey}

// HashKey is the key Kinesis routes r by: its explicit hash key if set,
// else the MD5 of its partition key read as an unsigned 128-bit big-endian
// integer. An explicit hash key that is not an integer is an error.
func (r Record) HashKey() (*big.Int, error) {
	if r.ExplicitHashKey != "" {
		k, ok := new(big.Int).SetString(r.ExplicitHashKey, 10)
		if !ok {
			return nil, fmt.Errorf("aggregation: explicit hash key %q is not an integer", r.ExplicitHashKey)
		}
		return k, nil
	}
	sum := md5.Sum([]byte(r.PartitionKey))
	return new(big.Int).SetBytes(sum[:]), nil
}

// DeaggregateRecord extracts the user records of a record read from a shard
// whose hash key range is hashRange (nil: the whole key space), following
// the KCL:
//   - a record that is not an aggregated record (no magic, bad checksum, a
//     message that does not parse) is returned as one plain record;
//   - user records carry r's sequence number and sub-sequence numbers 0, 1,
//     2... by position;
//   - when any user record's hash key is outside hashRange, the whole
//     aggregated record is dropped, as the KCL drops it: the producer sent
//     it to a shard that no longer owned all of its keys (a reshard raced
//     it), and a producer following the KPL sends those records again, so
//     keeping part of it would deliver them twice.
//
// One departure from the Java KCL, on records no KPL writes: the KCL stops
// at a table index that does not exist and keeps the records before it;
// here a bad index (like any ErrMalformed) makes the whole record pass
// through as plain.
//
// The only error is for a hashRange with nil or reversed ends.
func DeaggregateRecord(r KinesisRecord, hashRange *HashRange) ([]UserRecord, error) {
	if hashRange == nil {
		hashRange = fullRange
	}
	if hashRange.Start == nil || hashRange.End == nil || hashRange.Start.Cmp(hashRange.End) > 0 {
		return nil, fmt.Errorf("aggregation: invalid hash range")
	}
	records, err := Deaggregate(r.Data)
	if err != nil {
		return []UserRecord{{
			Record:                      Record{PartitionKey: r.PartitionKey, Data: r.Data},
			SequenceNumber:              r.SequenceNumber,
			ApproximateArrivalTimestamp: r.ApproximateArrivalTimestamp,
		}}, nil
	}
	out := make([]UserRecord, 0, len(records))
	for i, rec := range records {
		k, err := rec.HashKey()
		if err != nil || !hashRange.Contains(k) {
			// Deaggregate vetted every explicit hash key, so only the
			// range gets here.
			return []UserRecord{}, nil
		}
		out = append(out, UserRecord{
			Record:                      rec,
			SequenceNumber:              r.SequenceNumber,
			SubSequenceNumber:           uint64(i),
			Aggregated:                  true,
			ApproximateArrivalTimestamp: r.ApproximateArrivalTimestamp,
		})
	}
	return out, nil
}
