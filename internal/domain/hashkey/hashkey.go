// Package hashkey implements Kinesis's 128-bit hash key space: the MD5 of a
// partition key read as an unsigned big-endian integer, and the even split
// of [0, 2^128-1] across shards.
package hashkey

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"math/big"
	"math/bits"
)

// Key is an unsigned 128-bit integer.
type Key struct{ Hi, Lo uint64 }

// Max is 2^128-1, the top of the key space.
var Max = Key{^uint64(0), ^uint64(0)}

// ErrSyntax is returned for a string that is not a decimal in [0, 2^128-1].
var ErrSyntax = errors.New("hashkey: not a 128-bit decimal")

// FromPartitionKey hashes a partition key as Kinesis does.
func FromPartitionKey(pk string) Key {
	sum := md5.Sum([]byte(pk))
	return Key{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// Parse reads a decimal hash key.
func Parse(s string) (Key, error) {
	if s == "" || len(s) > 39 {
		return Key{}, ErrSyntax
	}
	// k = k*10 + digit in 128 bits: math/big took a twentieth of a
	// PutRecord, parsing shard ranges.
	var k Key
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return Key{}, ErrSyntax
		}
		over, hi := bits.Mul64(k.Hi, 10)
		carryHi, lo := bits.Mul64(k.Lo, 10)
		hi, c1 := bits.Add64(hi, carryHi, 0)
		lo, c2 := bits.Add64(lo, uint64(d), 0)
		hi, c3 := bits.Add64(hi, 0, c2)
		if over != 0 || c1 != 0 || c3 != 0 {
			return Key{}, ErrSyntax
		}
		k = Key{hi, lo}
	}
	return k, nil
}

// MustParse is Parse for trusted strings (stored metadata).
func MustParse(s string) Key {
	k, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return k
}

func fromBig(n *big.Int) Key {
	var b [16]byte
	n.FillBytes(b[:])
	return Key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k Key) big() *big.Int {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.Hi)
	binary.BigEndian.PutUint64(b[8:], k.Lo)
	return new(big.Int).SetBytes(b[:])
}

// String is the decimal form used on the wire.
func (k Key) String() string { return k.big().String() }

// Cmp returns -1, 0 or +1.
func (k Key) Cmp(o Key) int {
	switch {
	case k.Hi < o.Hi:
		return -1
	case k.Hi > o.Hi:
		return 1
	case k.Lo < o.Lo:
		return -1
	case k.Lo > o.Lo:
		return 1
	}
	return 0
}

// Add returns k+n, wrapping at 2^128.
func (k Key) Add(n uint64) Key {
	lo, c := bits.Add64(k.Lo, n, 0)
	return Key{k.Hi + c, lo}
}

// Sub returns k-n, wrapping at 0.
func (k Key) Sub(n uint64) Key {
	lo, b := bits.Sub64(k.Lo, n, 0)
	return Key{k.Hi - b, lo}
}

// Range is an inclusive range of keys.
type Range struct{ Start, End Key }

// Contains reports whether k lies in r.
func (r Range) Contains(k Key) bool { return r.Start.Cmp(k) <= 0 && k.Cmp(r.End) <= 0 }

// Split divides the whole key space into n ranges as AWS does on stream
// creation: each gets floor(2^128/n) keys and the last takes the remainder.
func Split(n int) []Range {
	if n <= 0 {
		return nil
	}
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(space, big.NewInt(int64(n)))
	out := make([]Range, n)
	start := new(big.Int)
	for i := 0; i < n; i++ {
		end := new(big.Int).Add(start, step)
		end.Sub(end, big.NewInt(1))
		if i == n-1 {
			end = Max.big()
		}
		out[i] = Range{fromBig(start), fromBig(end)}
		start = new(big.Int).Add(end, big.NewInt(1))
	}
	return out
}
