package iterator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	if got != it {
		t.Fatalf("got %+v", got)
	}
	it.NotBefore = time.Time{}
	it.Stream, it.Region = "a", "x"
	got, err = Decode(secret, Encode(secret, it))
	if err != nil || got != it {
		t.Fatalf("short names, no NotBefore: %+v %v", got, err)
	}
}

// TestOpaque: nothing of the position shows, and the same position never
// gives the same string twice.
func TestOpaque(t *testing.T) {
	it := sample()
	it.Stream = "plainly-visible-stream-name"
	s := Encode(secret, it)
	b, _ := base64.StdEncoding.DecodeString(s)
	for _, w := range []string{it.Stream, it.StreamID, it.Account, it.Region} {
		if bytes.Contains(b, []byte(w)) || strings.Contains(s, w) {
			t.Errorf("%q readable in the iterator", w)
		}
	}
	if Encode(secret, it) == s {
		t.Error("two iterators of one position are equal")
	}
}

// TestPrefix: AWS's iterators open with the 8 bytes 00..01, so their
// base64 starts with ten A's and one of E-H.
func TestPrefix(t *testing.T) {
	for range 20 {
		s := Encode(secret, sample())
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !bytes.Equal(b[:8], []byte{0, 0, 0, 0, 0, 0, 0, 1}) {
			t.Fatalf("decoded prefix % x, %v", b[:8], err)
		}
		if !strings.HasPrefix(s, "AAAAAAAAAA") || !strings.ContainsRune("EFGH", rune(s[10])) {
			t.Fatalf("iterator starts %q", s[:11])
		}
	}
}

// TestTamper: every bit flipped, in the string or in the bytes it
// decodes to, every truncation and any junk is refused.
func TestTamper(t *testing.T) {
	s := Encode(secret, sample())
	refuse := func(what, c string) {
		t.Helper()
		if _, err := Decode(secret, c); err == nil {
			t.Fatalf("%s accepted", what)
		}
	}
	for i := range len(s) {
		for bit := range 8 {
			c := []byte(s)
			c[i] ^= 1 << bit
			refuse("string flip", string(c))
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(s)
	for i := range raw {
		for bit := range 8 {
			c := bytes.Clone(raw)
			c[i] ^= 1 << bit
			refuse("byte flip", base64.StdEncoding.EncodeToString(c))
		}
	}
	for i := range len(s) {
		refuse("truncation", s[:i])
	}
	for i := 16; i < len(raw); i += 16 {
		refuse("16-byte truncation", base64.StdEncoding.EncodeToString(raw[:len(raw)-i]))
		refuse("16 junk bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), raw[:i]...)))
	}
	refuse("newline", s[:40]+"\n"+s[40:])
	refuse("CRLF", s+"\r\n")
	refuse("no padding", strings.TrimRight(s, "="))
	refuse("URL alphabet", base64.URLEncoding.EncodeToString(raw))
	refuse("junk", s+"AAAA")
	refuse("junk", "AAAAAAAAAAE"+s[11:]+"AAAAAAAAAAAAAAAAAAAAAAAA")
	refuse("empty", "")
	if _, err := Decode([]byte("other"), s); err == nil {
		t.Fatal("wrong key accepted")
	}
}

// TestOldLayout: an iterator of the layout before version 2 (base64 of
// version 1, the fields, a truncated HMAC-SHA256) is refused.
func TestOldLayout(t *testing.T) {
	it := sample()
	b := []byte{1}
	b = binary.BigEndian.AppendUint64(b, uint64(it.Issued.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, uint32(it.Shard))
	b = binary.BigEndian.AppendUint64(b, it.Seq)
	b = binary.BigEndian.AppendUint32(b, uint32(it.Sub))
	b = binary.BigEndian.AppendUint64(b, uint64(it.NotBefore.UnixMilli()))
	for _, s := range []string{it.StreamID, it.Account, it.Region, it.Stream} {
		b = append(append(b, byte(len(s))), s...)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(b)
	b = m.Sum(b)[:len(b)+16]
	if _, err := Decode(secret, base64.StdEncoding.EncodeToString(b)); err == nil {
		t.Fatal("old layout accepted")
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
	it := sample()
	it.Stream = "s"
	f.Add(Encode(secret, it))
	f.Add(strings.Repeat("A", 204))
	f.Add("AAAAAAAAAAE" + strings.Repeat("A", 193))
	f.Add("AAAA")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		it, err := Decode(secret, s)
		if err != nil {
			return
		}
		if got, err := Decode(secret, Encode(secret, it)); err != nil || got != it {
			t.Fatalf("re-encode: %+v %v", got, err)
		}
	})
}

// TestLength pins the figures docs/format/iterators.md gives: the decoded
// iterator is 152 + 16k bytes; a 128-character stream name with a
// 16-character stream id and a 12-digit account is 248 bytes, 332
// characters, with us-east-1 or any region name up to 15 characters;
// Rivulet's longest region, 64 characters, gives 416, inside AWS's 512.
func TestLength(t *testing.T) {
	it := Iterator{Issued: time.Now(), StreamID: "0123456789abcdef", Account: "000000000000",
		Region: "us-east-1", Shard: 7, Seq: 1 << 40, Sub: 3}
	for _, region := range []string{"x", "us-east-1", "ap-southeast-5", "us-isob-east-1", strings.Repeat("r", 64)} {
		for n := 1; n <= 128; n++ {
			it.Region, it.Stream = region, strings.Repeat("s", n)
			s := Encode([]byte("k"), it)
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(b) < 152 || (len(b)-152)%16 != 0 {
				t.Fatalf("region %q, name %d: decoded length %d, want 152+16k (%v)", region, n, len(b), err)
			}
			if len(s) > 512 {
				t.Fatalf("region %q, name %d: %d characters, AWS allows 512", region, n, len(s))
			}
			if n == 1 && len(region) < 10 && len(b) != 152 {
				t.Errorf("short names make %d bytes, want 152", len(b))
			}
		}
		want := 332
		if len(region) == 64 {
			want = 416
		}
		if len(it.Stream) != 128 {
			t.Fatal("loop ended early")
		}
		if n := len(Encode([]byte("k"), it)); n != want {
			t.Errorf("region %q, 128-character name: %d characters, docs say %d", region, n, want)
		}
	}
}
