// Package seqnum lays out Rivulet's sequence numbers: 56 decimal digits, so
// they look like AWS's and compare correctly both as strings and as
// integers (the KCL uses BigInteger).
//
//	digits  0-1   "49"       layout marker (version 1)
//	digits  2-13  shard      shard index, as in shardId-NNNNNNNNNNNN
//	digits 14-33  seq        the stored message's sequence in the shard log
//	digits 34-39  sub        the record's index inside that message
//	digits 40-55  epoch      the stream's creation time in epoch ms
//
// Within one shard the marker, shard and epoch are fixed, so numbers order
// by (seq, sub): strictly increasing in write order. See docs/format/.
package seqnum

import (
	"errors"
	"fmt"
	"strconv"
)

// Len is the number of digits in a sequence number.
const Len = 56

// MaxSub is the largest record index inside one stored message.
const MaxSub = 999999

const marker = "49"

// ErrSyntax means the string is not a Rivulet sequence number.
var ErrSyntax = errors.New("seqnum: not a rivulet sequence number")

// Parts are the fields of a sequence number.
type Parts struct {
	Shard int
	Seq   uint64
	Sub   int
	Epoch int64 // stream creation, epoch milliseconds
}

// Format renders p. Fields out of range are clamped by the caller's
// invariants; Format panics on them because they would break ordering.
func Format(p Parts) string {
	if p.Shard < 0 || p.Shard > 999999999999 || p.Sub < 0 || p.Sub > MaxSub || p.Epoch < 0 {
		panic(fmt.Sprintf("seqnum: field out of range: %+v", p))
	}
	b := make([]byte, 0, Len)
	b = append(b, marker...)
	b = appendPadded(b, uint64(p.Shard), 12)
	b = appendPadded(b, p.Seq, 20)
	b = appendPadded(b, uint64(p.Sub), 6)
	b = appendPadded(b, uint64(p.Epoch)%1e16, 16)
	return string(b)
}

func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// Parse splits a sequence number into its parts.
func Parse(s string) (Parts, error) {
	if len(s) != Len || s[:2] != marker {
		return Parts{}, ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Parts{}, ErrSyntax
		}
	}
	shard, _ := strconv.ParseUint(s[2:14], 10, 64)
	seq, err := strconv.ParseUint(s[14:34], 10, 64)
	if err != nil {
		return Parts{}, ErrSyntax
	}
	sub, _ := strconv.ParseUint(s[34:40], 10, 64)
	epoch, _ := strconv.ParseUint(s[40:56], 10, 64)
	return Parts{Shard: int(shard), Seq: seq, Sub: int(sub), Epoch: int64(epoch)}, nil
}

// EpochOf reduces a stream creation time to the epoch digits it carries.
func EpochOf(createdMs int64) int64 { return createdMs % 1e16 }
