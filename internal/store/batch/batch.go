// Package batch is the packing format of one stored log message: several
// records of one shard in a single payload, so group commit writes one
// storage message for many appends.
//
// Layout (version 1, every entry in the clear):
//
//	byte 0        format version, 0x01
//	uvarint N     entry count, N >= 1
//	N times:      uvarint len(partitionKey), partitionKey bytes,
//	              uvarint len(data), data bytes
//
// Version 2 (written when any entry has a data key, Entry.Key != 0) puts
// uvarint key before each entry's partition key; 0 means in the clear.
// Readers decode both. docs/format/batch.md describes them with examples.
package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/rivulet/rivulet/internal/store"
)

// Format versions. Append writes Version when every entry is in the clear
// (so such messages stay readable by older releases) and VersionKeyed
// otherwise; Decode reads both.
const (
	Version      byte = 0x01
	VersionKeyed byte = 0x02
)

// Errors returned by Decode; all wrap ErrCorrupt.
var (
	ErrCorrupt = errors.New("batch: corrupt message")
	ErrVersion = fmt.Errorf("%w: unknown format version", ErrCorrupt)
)

// EntrySize is the encoded size of one entry inside a version 2 message,
// key included; inside a version 1 message it is one byte less.
func EntrySize(e store.Entry) int {
	return uvarintLen(uint64(e.Key)) + uvarintLen(uint64(len(e.PartitionKey))) + len(e.PartitionKey) +
		uvarintLen(uint64(len(e.Data))) + len(e.Data)
}

// Size bounds the encoded size of a message holding n entries whose
// EntrySize values add up to entryBytes: exact for version 2, and n bytes
// more than a version 1 message takes.
func Size(n, entryBytes int) int {
	return 1 + uvarintLen(uint64(n)) + entryBytes
}

// Append encodes entries as one message appended to dst. It is the
// caller's job not to pass an empty slice: such a message does not decode.
func Append(dst []byte, entries []store.Entry) []byte {
	keyed := false
	for _, e := range entries {
		keyed = keyed || e.Key != 0
	}
	if keyed {
		dst = append(dst, VersionKeyed)
	} else {
		dst = append(dst, Version)
	}
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for _, e := range entries {
		if keyed {
			dst = binary.AppendUvarint(dst, uint64(e.Key))
		}
		dst = binary.AppendUvarint(dst, uint64(len(e.PartitionKey)))
		dst = append(dst, e.PartitionKey...)
		dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
		dst = append(dst, e.Data...)
	}
	return dst
}

// Encode returns entries encoded as one message.
func Encode(entries []store.Entry) []byte {
	n := 0
	for _, e := range entries {
		n += EntrySize(e)
	}
	return Append(make([]byte, 0, Size(len(entries), n)), entries)
}

// Decode parses one message. The returned entries' Data slices alias b
// (with capacity clipped, so appending to them never overwrites b); copy
// them if b is reused. Partition keys are copied into strings.
func Decode(b []byte) ([]store.Entry, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	keyed := b[0] == VersionKeyed
	if b[0] != Version && !keyed {
		return nil, fmt.Errorf("%w 0x%02x", ErrVersion, b[0])
	}
	off := 1
	count, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return nil, fmt.Errorf("%w: bad entry count", ErrCorrupt)
	}
	off += n
	// Each entry takes at least two bytes (two zero lengths; three with a
	// key), which bounds the allocation below by the input size.
	minEntry := uint64(2)
	if keyed {
		minEntry = 3
	}
	if count == 0 || count > uint64(len(b)-off)/minEntry {
		return nil, fmt.Errorf("%w: entry count %d does not fit %d bytes", ErrCorrupt, count, len(b)-off)
	}
	entries := make([]store.Entry, count)
	for i := range entries {
		var key uint64
		if keyed {
			k, n := binary.Uvarint(b[off:])
			if n <= 0 || k > math.MaxUint32 {
				return nil, fmt.Errorf("%w: entry %d: bad key", ErrCorrupt, i)
			}
			key, off = k, off+n
		}
		pk, next, err := field(b, off)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d partition key: %v", ErrCorrupt, i, err)
		}
		data, end, err := field(b, next)
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d data: %v", ErrCorrupt, i, err)
		}
		entries[i] = store.Entry{PartitionKey: string(pk), Data: data, Key: uint32(key)}
		off = end
	}
	if off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(b)-off)
	}
	return entries, nil
}

// field reads one length-prefixed byte string at off.
func field(b []byte, off int) (val []byte, next int, err error) {
	l, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return nil, 0, errors.New("bad length")
	}
	off += n
	if l > uint64(len(b)-off) {
		return nil, 0, errors.New("truncated")
	}
	end := off + int(l)
	return b[off:end:end], end, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
