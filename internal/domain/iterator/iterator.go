// Package iterator encodes shard iterators: opaque base64 tokens that carry a
// read position and are signed with a key stored in NATS, so any Rivulet
// process on the same storage accepts them and none can be forged or edited.
//
// Layout (before base64, all integers big-endian):
//
//	u8  version (1)
//	i64 issued, epoch ms
//	u32 shard index
//	u64 seq    next stored message to read
//	u32 sub    first record index to return inside that message
//	i64 notBefore, epoch ms; records that arrived earlier are skipped (0: none)
//	u8+bytes stream id, account, region, stream name
//	16 bytes HMAC-SHA256 of everything above, truncated
package iterator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

const (
	version = 1
	macLen  = 16
	// TTL is how long an iterator stays valid, as on AWS.
	TTL = 300 * time.Second
)

// ErrMalformed covers bad base64, a wrong layout and a wrong signature.
var ErrMalformed = errors.New("iterator: malformed")

// Iterator is a decoded read position.
type Iterator struct {
	Issued    time.Time
	StreamID  string
	Account   string
	Region    string
	Stream    string
	Shard     int
	Seq       uint64
	Sub       int
	NotBefore time.Time // zero: none
}

// Encode signs it with secret.
func Encode(secret []byte, it Iterator) string {
	b := make([]byte, 0, 96+len(it.Stream))
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(it.Issued.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(it.Shard))
	b = binary.BigEndian.AppendUint64(b, it.Seq)
	b = binary.BigEndian.AppendUint32(b, uint32(it.Sub))
	var nb int64
	if !it.NotBefore.IsZero() {
		nb = it.NotBefore.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(nb))
	for _, s := range []string{it.StreamID, it.Account, it.Region, it.Stream} {
		if len(s) > 255 {
			s = s[:255] // names are validated far below this
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	b = append(b, sign(secret, b)...)
	return base64.StdEncoding.EncodeToString(b)
}

func sign(secret, b []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(b)
	return m.Sum(nil)[:macLen]
}

// Decode checks the signature and layout. It does not check expiry.
func Decode(secret []byte, s string) (Iterator, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) < 33+4+macLen {
		return Iterator{}, ErrMalformed
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(mac, sign(secret, body)) || body[0] != version {
		return Iterator{}, ErrMalformed
	}
	it := Iterator{
		Issued: time.UnixMilli(int64(binary.BigEndian.Uint64(body[1:]))),
		Shard:  int(binary.BigEndian.Uint32(body[9:])),
		Seq:    binary.BigEndian.Uint64(body[13:]),
		Sub:    int(binary.BigEndian.Uint32(body[21:])),
	}
	if nb := int64(binary.BigEndian.Uint64(body[25:])); nb != 0 {
		it.NotBefore = time.UnixMilli(nb)
	}
	rest := body[33:]
	fields := make([]string, 4)
	for i := range fields {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return Iterator{}, ErrMalformed
		}
		fields[i] = string(rest[1 : 1+int(rest[0])])
		rest = rest[1+int(rest[0]):]
	}
	if len(rest) != 0 {
		return Iterator{}, ErrMalformed
	}
	it.StreamID, it.Account, it.Region, it.Stream = fields[0], fields[1], fields[2], fields[3]
	return it, nil
}

// Expired reports whether it was issued more than TTL before now.
func (it Iterator) Expired(now time.Time) bool { return now.Sub(it.Issued) > TTL }
