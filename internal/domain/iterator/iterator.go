// Package iterator encodes shard iterators: opaque base64 tokens that carry a
// read position, encrypted and authenticated with a key derived from the
// secret stored in NATS, so any Rivulet process on the same storage accepts
// them and none can be read, forged or edited.
//
// Layout (before standard base64), shaped like AWS's iterators:
//
//	8 bytes  prefix 00 00 00 00 00 00 00 01 (authenticated, not encrypted)
//	16 bytes salt, random per iterator
//	n bytes  AES-256-GCM ciphertext of the body, n = 112 + 16k
//	16 bytes GCM tag
//
// so the decoded length is 152 + 16k. The AES key is HKDF-SHA256 of the
// secret with the salt. A fresh key per iterator means the GCM nonce can
// be fixed: random 96-bit nonces under one long-lived key would wear the
// key out after about 2^32 iterators.
//
// Body (integers big-endian), zero-padded to its length:
//
//	u8  version (2)
//	i64 issued, epoch ms
//	u32 shard index
//	u64 seq    next stored message to read
//	u32 sub    first record index to return inside that message
//	i64 notBefore, epoch ms; records that arrived earlier are skipped (0: none)
//	u8+bytes stream id, account, region, stream name
package iterator

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

const (
	version = 2
	saltLen = 16
	tagLen  = 16
	// minBody is the smallest body; with the prefix, salt and tag it
	// makes the 152 bytes AWS's shortest iterators decode to.
	minBody = 112
	// fixedLen is the body's fields before the four strings, plus their
	// four length bytes.
	fixedLen = 1 + 8 + 4 + 8 + 4 + 8 + 4
	// maxLen bounds what Decode looks at; GetRecords allows 512.
	maxLen = 1024
	// TTL is how long an iterator stays valid, as on AWS.
	TTL = 300 * time.Second
	// info labels the derived keys, so they serve no other purpose.
	info = "rivulet shard iterator v2"
)

// prefix opens every iterator, as it opens AWS's.
var prefix = [8]byte{0, 0, 0, 0, 0, 0, 0, 1}

// b64 refuses the unused bits of the last character being set, so that
// each iterator has exactly one spelling.
var b64 = base64.StdEncoding.Strict()

// ErrMalformed covers bad base64, a wrong layout and a failed
// authentication: an edited, truncated or foreign iterator.
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

// aead is AES-256-GCM under the key secret and salt derive.
func aead(secret, salt []byte) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, secret, salt, info, 32)
	if err != nil {
		panic(err) // only for lengths beyond 255 hash outputs
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // 32 bytes is always a valid AES key
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// Encode encrypts it under a key derived from secret.
func Encode(secret []byte, it Iterator) string {
	body := make([]byte, 0, fixedLen+len(it.StreamID)+len(it.Account)+len(it.Region)+len(it.Stream)+16)
	body = append(body, version)
	body = binary.BigEndian.AppendUint64(body, uint64(it.Issued.UnixMilli()))
	body = binary.BigEndian.AppendUint32(body, uint32(it.Shard))
	body = binary.BigEndian.AppendUint64(body, it.Seq)
	body = binary.BigEndian.AppendUint32(body, uint32(it.Sub))
	var nb int64
	if !it.NotBefore.IsZero() {
		nb = it.NotBefore.UnixMilli()
	}
	body = binary.BigEndian.AppendUint64(body, uint64(nb))
	for _, s := range []string{it.StreamID, it.Account, it.Region, it.Stream} {
		if len(s) > 255 {
			s = s[:255] // names are validated far below this
		}
		body = append(body, byte(len(s)))
		body = append(body, s...)
	}
	body = append(body, make([]byte, padding(len(body)))...)

	b := make([]byte, 0, len(prefix)+saltLen+len(body)+tagLen)
	b = append(b, prefix[:]...)
	b = append(b, make([]byte, saltLen)...)
	salt := b[len(prefix):]
	rand.Read(salt) // never fails since Go 1.24
	g := aead(secret, salt)
	b = g.Seal(b, make([]byte, g.NonceSize()), body, prefix[:])
	return b64.EncodeToString(b)
}

// padding is how many zero bytes bring a body of n bytes to 112 + 16k.
func padding(n int) int {
	if n <= minBody {
		return minBody - n
	}
	return (16 - (n-minBody)%16) % 16
}

// Decode authenticates and decrypts s. It does not check expiry.
func Decode(secret []byte, s string) (Iterator, error) {
	if len(s) > maxLen {
		return Iterator{}, ErrMalformed
	}
	b, err := b64.DecodeString(s)
	// The decoder skips CR and LF; an iterator has exactly one spelling.
	if err != nil || b64.EncodedLen(len(b)) != len(s) {
		return Iterator{}, ErrMalformed
	}
	head := len(prefix) + saltLen
	if len(b) < head+minBody+tagLen || (len(b)-head-minBody-tagLen)%16 != 0 || !bytes.Equal(b[:len(prefix)], prefix[:]) {
		return Iterator{}, ErrMalformed
	}
	g := aead(secret, b[len(prefix):head])
	body, err := g.Open(nil, make([]byte, g.NonceSize()), b[head:], b[:len(prefix)])
	if err != nil || body[0] != version {
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
	for _, c := range rest {
		if c != 0 {
			return Iterator{}, ErrMalformed
		}
	}
	it.StreamID, it.Account, it.Region, it.Stream = fields[0], fields[1], fields[2], fields[3]
	return it, nil
}

// Expired reports whether it was issued more than TTL before now.
func (it Iterator) Expired(now time.Time) bool { return now.Sub(it.Issued) > TTL }
