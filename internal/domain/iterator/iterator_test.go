package iterator

import (
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func sample() Iterator {
	return Iterator{
		Issued: time.UnixMilli(1700000000123), StreamID: "a1b2c3d4e5f6a7b8", Account: "000000000000",
		Region: "us-east-1", Stream: strings.Repeat("s", 128), Shard: 12, Seq: 1 << 40, Sub: 499,
		NotBefore: time.UnixMilli(1690000000000),
	}
}

func TestRoundTrip(t *testing.T) {
	it := sample()
	s := Encode(secret, it)
	if len(s) > 512 {
		t.Fatalf("iterator is %d chars, AWS allows 512", len(s))
	}
	got, err := Decode(secret, s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Issued.Equal(it.Issued) || !got.NotBefore.Equal(it.NotBefore) || got.StreamID != it.StreamID ||
		got.Stream != it.Stream || got.Shard != it.Shard || got.Seq != it.Seq || got.Sub != it.Sub ||
		got.Account != it.Account || got.Region != it.Region {
		t.Fatalf("got %+v", got)
	}
	it.NotBefore = time.Time{}
	got, _ = Decode(secret, Encode(secret, it))
	if !got.NotBefore.IsZero() {
		t.Fatal("zero NotBefore not kept")
	}
}

func TestTamperEvident(t *testing.T) {
	s := Encode(secret, sample())
	raw := []byte(s)
	for i := 0; i < len(raw)-2; i += 7 {
		c := append([]byte(nil), raw...)
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		if _, err := Decode(secret, string(c)); err == nil {
			t.Fatalf("edit at %d accepted", i)
		}
	}
	if _, err := Decode([]byte("other"), s); err == nil {
		t.Fatal("wrong key accepted")
	}
}

func TestExpired(t *testing.T) {
	it := sample()
	if it.Expired(it.Issued.Add(TTL)) || !it.Expired(it.Issued.Add(TTL+time.Millisecond)) {
		t.Fatal("expiry boundary")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(secret, sample()))
	f.Add("AAAA")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		it, err := Decode(secret, s)
		if err != nil {
			return
		}
		if _, err := Decode(secret, Encode(secret, it)); err != nil {
			t.Fatalf("re-encode failed: %v", err)
		}
	})
}

// TestLength pins the length docs/format/iterators.md gives: a 128-character
// stream name with a 16-character stream id, a 12-digit account and
// us-east-1 makes 218 bytes, 292 in base64, inside AWS's 512.
func TestLength(t *testing.T) {
	it := Iterator{Issued: time.Now(), StreamID: "0123456789abcdef", Account: "000000000000",
		Region: "us-east-1", Stream: strings.Repeat("s", 128), Shard: 7, Seq: 1 << 40, Sub: 3}
	if n := len(Encode([]byte("k"), it)); n != 292 {
		t.Errorf("iterator length %d, docs say 292", n)
	}
	it.Region = "ap-southeast-5" // among the longest region names
	if n := len(Encode([]byte("k"), it)); n > 300 {
		t.Errorf("iterator length %d with a long region, docs say at most 300", n)
	}
}
