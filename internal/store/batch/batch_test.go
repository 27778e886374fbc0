package batch

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
)

func equalEntries(a, b []store.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].PartitionKey != b[i].PartitionKey || !bytes.Equal(a[i].Data, b[i].Data) || a[i].Key != b[i].Key {
			return false
		}
	}
	return true
}

// The example in docs/format/batch.md; keep them in step.
func TestEncodeDocExample(t *testing.T) {
	got := Encode([]store.Entry{
		{PartitionKey: "pk1", Data: []byte("hello")},
		{PartitionKey: "k", Data: nil},
	})
	want := "01" + "02" + "03706b31" + "0568656c6c6f" + "016b" + "00"
	if h := hex.EncodeToString(got); h != want {
		t.Fatalf("Encode = %s, want %s", h, want)
	}
}

// The version 2 example in docs/format/batch.md: one entry in the clear,
// one under data key 1 (its partition key travels inside the sealed data).
func TestEncodeKeyedDocExample(t *testing.T) {
	entries := []store.Entry{
		{PartitionKey: "pk1", Data: []byte("hello")},
		{Key: 1, Data: []byte{0x0a, 0x0b, 0x0c}},
	}
	got := Encode(entries)
	want := "02" + "02" + "00" + "03706b31" + "0568656c6c6f" + "01" + "00" + "030a0b0c"
	if h := hex.EncodeToString(got); h != want {
		t.Fatalf("Encode = %s, want %s", h, want)
	}
	back, err := Decode(got)
	if err != nil || !equalEntries(back, entries) {
		t.Fatalf("Decode = %+v, %v", back, err)
	}
}

// Messages written before version 2 existed keep decoding, with Key 0.
func TestDecodeVersion1(t *testing.T) {
	b, _ := hex.DecodeString("010203706b310568656c6c6f016b00")
	got, err := Decode(b)
	if err != nil || !equalEntries(got, []store.Entry{{PartitionKey: "pk1", Data: []byte("hello")}, {PartitionKey: "k"}}) {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 300) // two-byte length prefix
	cases := [][]store.Entry{
		{{PartitionKey: "a", Data: []byte("x")}},
		{{PartitionKey: "", Data: nil}},
		{{PartitionKey: strings.Repeat("p", 256), Data: big}, {PartitionKey: "b", Data: []byte{0}}},
	}
	many := make([]store.Entry, 1000)
	for i := range many {
		many[i] = store.Entry{PartitionKey: string(rune('a' + i%26)), Data: []byte{byte(i)}}
	}
	cases = append(cases, many)
	keyed := make([]store.Entry, 300)
	for i := range keyed {
		keyed[i] = store.Entry{PartitionKey: strings.Repeat("k", i%3), Data: []byte{byte(i)}, Key: uint32(i * i * 1000)}
	}
	cases = append(cases, keyed,
		[]store.Entry{{Key: 1<<32 - 1, Data: big}},
		[]store.Entry{{PartitionKey: "a"}, {Key: 2, Data: []byte("sealed")}})
	for _, entries := range cases {
		b := Encode(entries)
		sum, anyKey := 0, false
		for _, e := range entries {
			sum += EntrySize(e)
			anyKey = anyKey || e.Key != 0
		}
		want := Size(len(entries), sum)
		if !anyKey {
			want -= len(entries) // no key bytes in version 1
		}
		if want != len(b) {
			t.Fatalf("Size = %d, encoded %d bytes", want, len(b))
		}
		if v := b[0]; v != Version && !anyKey || v != VersionKeyed && anyKey {
			t.Fatalf("version 0x%02x for keyed=%v", v, anyKey)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !equalEntries(got, entries) {
			t.Fatalf("round trip mismatch for %d entries", len(entries))
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	dst := []byte("prefix")
	out := Append(dst, []store.Entry{{PartitionKey: "k", Data: []byte("v")}})
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("prefix lost: %q", out)
	}
	if _, err := Decode(out[len("prefix"):]); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeAliasesButClipsCapacity(t *testing.T) {
	b := Encode([]store.Entry{{PartitionKey: "a", Data: []byte("xy")}, {PartitionKey: "b", Data: []byte("z")}})
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if cap(got[0].Data) != 2 {
		t.Fatalf("cap = %d, want 2", cap(got[0].Data))
	}
	_ = append(got[0].Data, '!') // must not overwrite entry 1
	again, err := Decode(b)
	if err != nil || !equalEntries(again, got) {
		t.Fatalf("buffer modified by append: %v", err)
	}
	b[len(b)-1] = 'Q' // Data of entry 1 aliases b
	if got[1].Data[0] != 'Q' {
		t.Fatalf("Data does not alias the input")
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := Encode([]store.Entry{{PartitionKey: "pk", Data: []byte("data")}})
	cases := map[string][]byte{
		"empty":           nil,
		"version 0":       {0x00, 0x01, 0x00, 0x00},
		"version 3":       {0x03, 0x01, 0x00, 0x00, 0x00},
		"v2 no key room":  {0x02, 0x01, 0x00, 0x00},
		"v2 key overflow": {0x02, 0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00},
		"v2 key cut":      {0x02, 0x01, 0x80, 0x80, 0x80},
		"v2 absurd count": {0x02, 0x02, 0x01, 0x00, 0x00},
		"v2 trailing":     {0x02, 0x01, 0x01, 0x00, 0x00, 0x00},
		"v2 truncated":    {0x02, 0x01, 0x01, 0x00, 0x03, 0x0a},
		"no count":        {0x01},
		"zero count":      {0x01, 0x00},
		"count overflow":  {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"absurd count":    {0x01, 0x03, 0x00, 0x00, 0x00, 0x00},
		"huge count":      append([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x0f}, make([]byte, 64)...),
		"truncated pk":    {0x01, 0x01, 0x05, 'a', 'b'},
		"truncated data":  valid[:len(valid)-1],
		"missing data":    {0x01, 0x01, 0x01, 'a'},
		"trailing bytes":  append(append([]byte{}, valid...), 0x00),
		"pk length huge":  {0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00},
		"data length bad": {0x01, 0x01, 0x00, 0x80},
		"fewer entries":   {0x01, 0x02, 0x00, 0x00, 0x00},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Decode(b)
			if err == nil {
				t.Fatalf("Decode(%x) = %v, want error", b, got)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
		})
	}
	if _, err := Decode([]byte{0x03, 0x01, 0x00, 0x00}); !errors.Is(err, ErrVersion) {
		t.Fatalf("version error = %v, want ErrVersion", err)
	}
}

// FuzzDecode feeds arbitrary bytes: Decode must not panic, and whatever it
// accepts must survive Encode/Decode unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(Encode([]store.Entry{{PartitionKey: "pk1", Data: []byte("hello")}, {PartitionKey: "k"}}))
	f.Add([]byte{0x01, 0x01, 0x00, 0x00})
	f.Add([]byte{0x01, 0x80, 0x00, 0x00, 0x00}) // non-minimal count
	f.Add([]byte{0x02})
	f.Add(Encode([]store.Entry{{PartitionKey: "pk1", Data: []byte("hello")}, {Key: 1, Data: []byte{1, 2, 3}}}))
	f.Add([]byte{0x02, 0x01, 0x00, 0x00, 0x00})
	f.Add([]byte{0x02, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00})
	f.Add([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := Decode(b)
		if err != nil {
			return
		}
		if len(entries) == 0 {
			t.Fatalf("accepted a message without entries")
		}
		again, err := Decode(Encode(entries))
		if err != nil || !equalEntries(again, entries) {
			t.Fatalf("re-encode mismatch: %v", err)
		}
	})
}

// FuzzRoundTrip builds entries from fuzzed fields: Decode(Encode(x)) == x.
func FuzzRoundTrip(f *testing.F) {
	f.Add("pk", []byte("data"), uint8(1), uint32(0))
	f.Add("", []byte{}, uint8(3), uint32(7))
	f.Add(strings.Repeat("k", 200), bytes.Repeat([]byte{1}, 200), uint8(200), uint32(1<<32-1))
	f.Fuzz(func(t *testing.T, pk string, data []byte, n uint8, key uint32) {
		entries := make([]store.Entry, int(n)%50+1)
		for i := range entries {
			// Vary the entries so positions matter.
			cut := i % (len(data) + 1)
			entries[i] = store.Entry{PartitionKey: pk[:i%(len(pk)+1)], Data: data[cut:]}
			if i%2 == 1 {
				entries[i].Key = key
			}
		}
		got, err := Decode(Encode(entries))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !equalEntries(got, entries) {
			t.Fatalf("round trip mismatch")
		}
	})
}
