package kms

import (
	"bytes"
	"errors"
	"testing"
)

func testDataKey(t testing.TB) *DataKey {
	ring, err := New([]FileKey{{ID: id1, Material: material(1)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, wrapped := ring.byID[id1].GenerateDataKey([]byte("s/1"))
	d, err := ring.byID[id1].OpenDataKey(wrapped, []byte("s/1"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDataKeySealOpen(t *testing.T) {
	d := testDataKey(t)
	if d.Master.ID != id1 {
		t.Fatalf("master %s", d.Master.ID)
	}
	plain := []byte("the quick brown fox")
	sealed := d.Seal([]byte("head:"), plain, []byte("here"))
	if !bytes.HasPrefix(sealed, []byte("head:")) || len(sealed) != 5+len(plain)+SealOverhead {
		t.Fatalf("sealed %d bytes: %q", len(sealed), sealed)
	}
	body := sealed[5:]
	if bytes.Contains(body, plain) {
		t.Fatal("plaintext visible in the sealed message")
	}
	if again := d.Seal(nil, plain, []byte("here")); bytes.Equal(again, body) {
		t.Fatal("two seals of one message are equal: the nonce is not random")
	}
	got, err := d.Open(nil, body, []byte("here"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	// Bound to its aad; damage and truncation are caught.
	if _, err := d.Open(nil, body, []byte("there")); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("other aad: %v", err)
	}
	bad := bytes.Clone(body)
	bad[len(bad)/2] ^= 1
	for _, m := range [][]byte{nil, body[:SealOverhead-1], bad} {
		if _, err := d.Open(nil, m, []byte("here")); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("damaged %x: %v", m, err)
		}
	}
	// Another data key does not open it.
	if _, err := testDataKey(t).Open(nil, body, []byte("here")); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("other key: %v", err)
	}
	// A wrapped key bound elsewhere does not unwrap.
	_, wrapped := d.Master.GenerateDataKey([]byte("s/1"))
	if _, err := d.Master.OpenDataKey(wrapped, []byte("s/2")); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("other bind: %v", err)
	}
}

// FuzzDataKeyOpen: Open takes stored bytes; it must refuse what it did
// not seal, never panic.
func FuzzDataKeyOpen(f *testing.F) {
	d := testDataKey(f)
	f.Add(d.Seal(nil, []byte("x"), nil), []byte(nil))
	f.Add([]byte{}, []byte("a"))
	f.Add(bytes.Repeat([]byte{0}, SealOverhead), []byte{})
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		got, err := d.Open(nil, sealed, aad)
		if err != nil {
			if !errors.Is(err, ErrInvalidCiphertext) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if again, err := d.Open(nil, d.Seal(nil, got, aad), aad); err != nil || !bytes.Equal(again, got) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
