// Package seqnum lays out sequence numbers as AWS does: a 47-hex-digit
// value written as 56 decimal digits. Fields, most significant first:
//
//	hex digits  width  field
//	0           1      '2', the layout version
//	1-9         9      shard creation time, epoch seconds
//	10          1      low hex digit of the shard index
//	11-28       18     seq<<20 | sub (72 bits: the per-shard index and one byte)
//	29-37       9      record arrival time, epoch seconds
//	38-45       8      shard index
//	46          1      '2'
//
// Within one shard every field above the index is fixed, so numbers order
// by (seq, sub), as integers and as strings. Parse also reads Rivulet's
// earlier decimal layout, which sorts below every number of this one.
// See docs/format/sequence-numbers.md.
package seqnum

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
)

// Len is the number of decimal digits in a sequence number.
const Len = 56

// MaxSub is the largest record index inside one stored message.
const MaxSub = 1<<subBits - 1

// MaxSeq is the largest stored message sequence the layout holds.
const MaxSeq = 1<<(72-subBits) - 1

const (
	subBits  = 20
	maxSecs  = 1<<36 - 1
	maxShard = 1<<32 - 1
)

// ErrSyntax means the string is not a sequence number Rivulet issued.
var ErrSyntax = errors.New("seqnum: not a rivulet sequence number")

// Parts are the fields of a sequence number.
type Parts struct {
	// Legacy marks Rivulet's earlier decimal layout; only Epoch dates it.
	Legacy bool
	Shard  int
	Seq    uint64
	Sub    int
	// ShardCreated and Arrival are epoch seconds (AWS layout only).
	ShardCreated int64
	Arrival      int64
	// Epoch is the stream's creation in epoch milliseconds (legacy only).
	Epoch int64
}

// Secs reduces a time in epoch seconds to what the layout carries:
// negative (a zero time.Time) becomes 0.
func Secs(unix int64) int64 { return min(max(unix, 0), maxSecs) }

// Format renders p. Seq, Sub and Shard out of range would break ordering,
// so Format panics on them; callers' invariants keep them in range.
func Format(p Parts) string {
	if p.Legacy {
		return formatLegacy(p)
	}
	if p.Shard < 0 || p.Shard > maxShard || p.Sub < 0 || p.Sub > MaxSub || p.Seq > MaxSeq ||
		p.ShardCreated != Secs(p.ShardCreated) || p.Arrival != Secs(p.Arrival) {
		panic(fmt.Sprintf("seqnum: field out of range: %+v", p))
	}
	var v u192
	v.or(2, 184)
	v.or(uint64(p.ShardCreated), 148)
	v.or(uint64(p.Shard)&0xf, 144)
	v.or(p.Seq<<subBits|uint64(p.Sub), 72)
	v.or(p.Seq>>(64-subBits), 136)
	v.or(uint64(p.Arrival), 36)
	v.or(uint64(p.Shard), 4)
	v.or(2, 0)
	return v.decimal()
}

// Parse splits a sequence number of either layout into its parts.
func Parse(s string) (Parts, error) {
	if len(s) != Len {
		return Parts{}, ErrSyntax
	}
	var v u192
	for i := 0; i < Len; {
		n := 19 // 18 digits first, then 19s
		if i == 0 {
			n = 18
		}
		c, err := strconv.ParseUint(s[i:i+n], 10, 64)
		if err != nil {
			return Parts{}, ErrSyntax
		}
		v.mulAdd(pow10(n), c)
		i += n
	}
	if v[2] < 1<<57 { // below 2^185: the legacy layout
		return parseLegacy(s)
	}
	if v.get(184, 4) != 2 || v.get(0, 4) != 2 {
		return Parts{}, ErrSyntax
	}
	field := v.get(72, 64)
	p := Parts{
		Shard:        int(v.get(4, 32)),
		Seq:          field>>subBits | v.get(136, 8)<<(64-subBits),
		Sub:          int(field & MaxSub),
		ShardCreated: int64(v.get(148, 36)),
		Arrival:      int64(v.get(36, 36)),
	}
	if v.get(144, 4) != uint64(p.Shard)&0xf {
		return Parts{}, ErrSyntax
	}
	return p, nil
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// The legacy layout: "49", then shard (12 digits), seq (20), sub (6) and
// the stream's creation in epoch ms (16), all decimal.

const legacyMaxSub = 999999

// legacyLimit is 2^185, the least number of the AWS layout.
const legacyLimit = "49039857307708443467467104868809893875799651909875269632"

func formatLegacy(p Parts) string {
	if p.Shard < 0 || p.Shard > 999999999999 || p.Sub < 0 || p.Sub > legacyMaxSub || p.Epoch < 0 || p.Epoch > 9999999999999999 {
		panic(fmt.Sprintf("seqnum: field out of range: %+v", p))
	}
	s := fmt.Sprintf("49%012d%020d%06d%016d", p.Shard, p.Seq, p.Sub, p.Epoch)
	if len(s) != Len || s >= legacyLimit {
		panic(fmt.Sprintf("seqnum: legacy number out of range: %+v", p)) // would read as the AWS layout
	}
	return s
}

func parseLegacy(s string) (Parts, error) {
	if s[:2] != "49" {
		return Parts{}, ErrSyntax
	}
	seq, err := strconv.ParseUint(s[14:34], 10, 64)
	if err != nil {
		return Parts{}, ErrSyntax
	}
	shard, _ := strconv.ParseUint(s[2:14], 10, 64)
	sub, _ := strconv.ParseUint(s[34:40], 10, 64)
	epoch, _ := strconv.ParseUint(s[40:56], 10, 64)
	return Parts{Legacy: true, Shard: int(shard), Seq: seq, Sub: int(sub), Epoch: int64(epoch)}, nil
}

// u192 is a 192-bit unsigned integer, least significant word first.
type u192 [3]uint64

// or sets x<<shift into v.
func (v *u192) or(x uint64, shift uint) {
	i, s := shift/64, shift%64
	v[i] |= x << s
	if s > 0 && i < 2 {
		v[i+1] |= x >> (64 - s)
	}
}

// get reads width (at most 64) bits from shift.
func (v *u192) get(shift, width uint) uint64 {
	i, s := shift/64, shift%64
	x := v[i] >> s
	if s > 0 && i < 2 {
		x |= v[i+1] << (64 - s)
	}
	if width < 64 {
		x &= 1<<width - 1
	}
	return x
}

// mulAdd sets v to v*m + a; v stays below 2^192 for 56 digits.
func (v *u192) mulAdd(m, a uint64) {
	carry := a
	for i := range v {
		hi, lo := bits.Mul64(v[i], m)
		var c uint64
		v[i], c = bits.Add64(lo, carry, 0)
		carry = hi + c
	}
}

// decimal renders v, which is below 10^56, as 56 digits.
func (v u192) decimal() string {
	var b [57]byte
	for chunk := 0; chunk < 3; chunk++ {
		var rem uint64
		for i := 2; i >= 0; i-- {
			v[i], rem = bits.Div64(rem, v[i], 1e19)
		}
		for j := 0; j < 19; j++ {
			b[56-chunk*19-j] = byte('0' + rem%10)
			rem /= 10
		}
	}
	return string(b[1:])
}
