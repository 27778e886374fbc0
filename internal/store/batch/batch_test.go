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
		if a[i].PartitionKey != b[i].PartitionKey || !bytes.Equal(a[i].Data, b[i].Data) {
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
	for _, entries := range cases {
		b := Encode(entries)
		sum := 0
		for _, e := range entries {
			sum += EntrySize(e)
		}
		if Size(len(entries), sum) != len(b) {
			t.Fatalf("Size = %d, encoded %d bytes", Size(len(entries), sum), len(b))
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
		"version 2":       {0x02, 0x01, 0x00, 0x00},
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
	if _, err := Decode([]byte{0x02, 0x01, 0x00, 0x00}); !errors.Is(err, ErrVersion) {
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
	f.Add("pk", []byte("data"), uint8(1))
	f.Add("", []byte{}, uint8(3))
	f.Add(strings.Repeat("k", 200), bytes.Repeat([]byte{1}, 200), uint8(200))
	f.Fuzz(func(t *testing.T, pk string, data []byte, n uint8) {
		entries := make([]store.Entry, int(n)%50+1)
		for i := range entries {
			// Vary the entries so positions matter.
			cut := i % (len(data) + 1)
			entries[i] = store.Entry{PartitionKey: pk[:i%(len(pk)+1)], Data: data[cut:]}
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
