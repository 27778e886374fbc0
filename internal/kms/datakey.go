package kms

import (
	"crypto/cipher"
	"crypto/rand"
)

// Framing of a message sealed by DataKey.Seal: nonce, ciphertext, tag.
const (
	SealNonce    = 12
	SealTag      = 16
	SealOverhead = SealNonce + SealTag
)

// DataKey is an unwrapped data key ready for use: AES-256-GCM with a
// random 96-bit nonce per message. Master is the key that wrapped it, so
// callers can check it is still usable on every use.
type DataKey struct {
	Master *Key
	aead   cipher.AEAD
}

// OpenDataKey unwraps a data key made by GenerateDataKey with the same
// bind and makes it ready for sealing and opening.
func (k *Key) OpenDataKey(wrapped, bind []byte) (*DataKey, error) {
	plain, err := k.Decrypt(wrapped, bind)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(plain)
	if err != nil {
		return nil, err
	}
	return &DataKey{Master: k, aead: aead}, nil
}

// Seal appends nonce | AES-256-GCM(plain, aad) | tag to dst and returns
// the result. dst and plain must not overlap.
func (d *DataKey) Seal(dst, plain, aad []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, SealNonce)...)
	_, _ = rand.Read(dst[n:])
	return d.aead.Seal(dst, dst[n:n+SealNonce], plain, aad)
}

// Open checks and decrypts a message made by Seal with the same aad,
// appending the plaintext to dst. It fails with ErrInvalidCiphertext when
// the message is damaged, was sealed with another key, or bound to
// another aad.
func (d *DataKey) Open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < SealOverhead {
		return nil, &Error{Kind: ErrInvalidCiphertext, Message: "The sealed message is too short."}
	}
	out, err := d.aead.Open(dst, sealed[:SealNonce], sealed[SealNonce:], aad)
	if err != nil {
		return nil, &Error{Kind: ErrInvalidCiphertext, Message: "The sealed message does not open: it is damaged, or was sealed with another key or for another place."}
	}
	return out, nil
}
