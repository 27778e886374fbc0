package aggregation

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/domain/hashkey"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// frameMsg wraps a hand-made protobuf message with magic and a correct MD5.
func frameMsg(msg []byte) []byte {
	sum := md5.Sum(msg)
	out := append([]byte{0xF3, 0x89, 0x9A, 0xC2}, msg...)
	return append(out, sum[:]...)
}

func sameRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("record %d: got {%q %q %x}, want {%q %q %x}", i,
				g.PartitionKey, g.ExplicitHashKey, g.Data, w.PartitionKey, w.ExplicitHashKey, w.Data)
		}
	}
}

// Golden vectors written by hand from the format description; the MD5s were
// computed outside Go.
var goldens = []struct {
	name    string
	records []Record
	blob    string
}{
	{
		name: "two records sharing a key",
		records: []Record{
			{PartitionKey: "pk", Data: []byte("a")},
			{PartitionKey: "pk", Data: []byte("bc")},
		},
		blob: "f3899ac2" +
			"0a02706b" + // partition_key_table: "pk"
			"1a05 0800 1a0161" + // records: {pk index 0, data "a"}
			"1a06 0800 1a026263" + // records: {pk index 0, data "bc"}
			"9b5ca7c73ef0c7e945fe116c6d10956e",
	},
	{
		name: "explicit hash keys and empty data",
		records: []Record{
			{PartitionKey: "a", ExplicitHashKey: "1", Data: []byte("x")},
			{PartitionKey: "b", Data: []byte{}},
			{PartitionKey: "a", ExplicitHashKey: "2", Data: []byte("yz")},
		},
		blob: "f3899ac2" +
			"0a0161 0a0162" + // partition_key_table: "a", "b"
			"120131 120132" + // explicit_hash_key_table: "1", "2"
			"1a07 0800 1000 1a0178" + // {pk 0, ehk 0, "x"}
			"1a04 0801 1a00" + // {pk 1, ""}
			"1a08 0800 1001 1a02797a" + // {pk 0, ehk 1, "yz"}
			"b04fc95349fb38d00a7803a8dabd7690",
	},
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			want := mustHex(t, g.blob)
			if got := Encode(g.records); !bytes.Equal(got, want) {
				t.Fatalf("Encode:\n got %x\nwant %x", got, want)
			}
			var a Aggregator
			for _, r := range g.records {
				if err := a.Add(r); err != nil {
					t.Fatal(err)
				}
			}
			if a.Size() != len(want) || a.Count() != len(g.records) {
				t.Fatalf("Size %d Count %d, want %d %d", a.Size(), a.Count(), len(want), len(g.records))
			}
			blob, pk, ehk, err := a.Drain()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(blob, want) {
				t.Fatalf("Drain:\n got %x\nwant %x", blob, want)
			}
			if pk != g.records[0].PartitionKey || ehk != g.records[0].ExplicitHashKey {
				t.Fatalf("outer keys %q %q, want the first record's", pk, ehk)
			}
			got, err := Deaggregate(want)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, g.records)
		})
	}
}

func TestMultiByteVarints(t *testing.T) {
	// 130 distinct keys push the last index past one varint byte, and 300
	// bytes of data need a two-byte length.
	var recs []Record
	for i := range 130 {
		recs = append(recs, Record{PartitionKey: fmt.Sprintf("k%03d", i), Data: []byte{byte(i)}})
	}
	recs = append(recs, Record{PartitionKey: "k129", Data: bytes.Repeat([]byte{7}, 300)})
	blob := Encode(recs)
	// The last Record field: tag, length 306 (b2 02), pk index 129 (81 01),
	// data length 300 (ac 02).
	tail := append(mustHex(t, "1ab202 088101 1aac02"), bytes.Repeat([]byte{7}, 300)...)
	if !bytes.HasSuffix(blob[:len(blob)-16], tail) {
		t.Fatalf("last record not encoded as %x...", tail[:9])
	}
	got, err := Deaggregate(blob)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, recs)
}

func randomRecord(rng *rand.Rand) Record {
	keys := []string{"a", "user-42", "ключ", "日本語キー", "🙂", strings.Repeat("z", 256)}
	var r Record
	if rng.IntN(4) == 0 {
		r.PartitionKey = fmt.Sprintf("key-%d", rng.IntN(500)) // many distinct keys: multi-byte indexes
	} else {
		r.PartitionKey = keys[rng.IntN(len(keys))]
	}
	switch rng.IntN(4) {
	case 0:
		r.ExplicitHashKey = "340282366920938463463374607431768211455"
	case 1:
		r.ExplicitHashKey = fmt.Sprint(rng.Uint64())
	}
	n := rng.IntN(64)
	if rng.IntN(10) == 0 {
		n = rng.IntN(20000)
	}
	r.Data = make([]byte, n)
	for i := range r.Data {
		r.Data[i] = byte(rng.Uint32())
	}
	return r
}

func TestSizeAccountingAndLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, maxSize := range []int{MinMaxSize, 300, DefaultMaxSize, MaxMaxSize} {
		t.Run(fmt.Sprint(maxSize), func(t *testing.T) {
			a, err := NewAggregator(WithMaxSize(maxSize))
			if err != nil {
				t.Fatal(err)
			}
			var pending, all, decoded []Record
			drain := func() {
				t.Helper()
				size := a.Size()
				blob, pk, ehk, err := a.Drain()
				if err != nil {
					t.Fatal(err)
				}
				if len(blob) != size || size > maxSize {
					t.Fatalf("Size() %d, len(Drain()) %d, limit %d", size, len(blob), maxSize)
				}
				if !bytes.Equal(blob, Encode(pending)) {
					t.Fatal("Drain differs from Encode of the same records")
				}
				if pk != pending[0].PartitionKey || ehk != pending[0].ExplicitHashKey {
					t.Fatalf("outer keys %q %q, first record %q %q", pk, ehk, pending[0].PartitionKey, pending[0].ExplicitHashKey)
				}
				recs, err := Deaggregate(blob)
				if err != nil {
					t.Fatal(err)
				}
				decoded = append(decoded, recs...)
				pending = pending[:0]
				if a.Size() != 0 || a.Count() != 0 {
					t.Fatal("Drain did not empty the aggregator")
				}
			}
			for range 400 {
				r := randomRecord(rng)
				before := a.SizeWith(r)
				err := a.Add(r)
				switch {
				case err == nil:
					if a.Size() != before {
						t.Fatalf("SizeWith predicted %d, Size is %d", before, a.Size())
					}
					pending = append(pending, r)
					all = append(all, r)
				case errors.Is(err, ErrFull):
					if before <= maxSize {
						t.Fatalf("ErrFull with SizeWith %d <= %d", before, maxSize)
					}
					drain()
					if err := a.Add(r); errors.Is(err, ErrRecordTooLarge) {
						continue
					} else if err != nil {
						t.Fatal(err)
					}
					pending = append(pending, r)
					all = append(all, r)
				case errors.Is(err, ErrRecordTooLarge):
					if a.Count() != 0 || before <= maxSize {
						t.Fatalf("ErrRecordTooLarge with Count %d SizeWith %d", a.Count(), before)
					}
				default:
					t.Fatal(err)
				}
			}
			if a.Count() > 0 {
				drain()
			}
			sameRecords(t, decoded, all)
		})
	}
}

func TestAddAtExactLimit(t *testing.T) {
	a, err := NewAggregator(WithMaxSize(100))
	if err != nil {
		t.Fatal(err)
	}
	first := Record{PartitionKey: "p", Data: []byte("hello")}
	if err := a.Add(first); err != nil {
		t.Fatal(err)
	}
	size := a.Size()
	// Fill to exactly 100 bytes with a second record on the same key.
	r := Record{PartitionKey: "p"}
	for a.SizeWith(r) < 100 {
		r.Data = append(r.Data, 'x')
	}
	if a.SizeWith(r) != 100 {
		t.Fatalf("no data length gives exactly 100 bytes (got %d)", a.SizeWith(r))
	}
	bigger := Record{PartitionKey: "p", Data: append(bytes.Clone(r.Data), 'x')}
	if err := a.Add(bigger); !errors.Is(err, ErrFull) {
		t.Fatalf("one byte over the limit: %v, want ErrFull", err)
	}
	if a.Count() != 1 || a.Size() != size || size != Overhead+3+11 {
		t.Fatalf("failed Add changed state: Count %d Size %d", a.Count(), a.Size())
	}
	if err := a.Add(r); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
	blob, _, _, err := a.Drain()
	if err != nil || len(blob) != 100 {
		t.Fatalf("blob of %d bytes, err %v", len(blob), err)
	}
	got, err := Deaggregate(blob)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, []Record{first, r})
}

func TestErrorsLeaveStateUnchanged(t *testing.T) {
	a, err := NewAggregator(WithMaxSize(MinMaxSize), WithMaxCount(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Add(Record{PartitionKey: "k", Data: make([]byte, 100)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversized record on empty aggregator: %v", err)
	}
	r1 := Record{PartitionKey: "k", Data: []byte("1")}
	r2 := Record{PartitionKey: "k2", ExplicitHashKey: "7", Data: []byte("2")}
	for _, r := range []Record{r1, r2} {
		if err := a.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	size := a.Size()
	if err := a.Add(Record{PartitionKey: "k3", Data: []byte("3")}); !errors.Is(err, ErrFull) {
		t.Fatalf("third record with max count 2: %v", err)
	}
	if err := a.Add(Record{PartitionKey: "k", Data: make([]byte, 40)}); !errors.Is(err, ErrFull) {
		t.Fatalf("record over the size limit: %v", err)
	}
	if err := a.Add(Record{PartitionKey: ""}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("empty partition key: %v", err)
	}
	if a.Size() != size || a.Count() != 2 {
		t.Fatal("a failed Add changed the aggregator")
	}
	blob, pk, ehk, err := a.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob, Encode([]Record{r1, r2})) || pk != "k" || ehk != "" {
		t.Fatalf("Drain after failed Adds: %x %q %q", blob, pk, ehk)
	}
	if _, _, _, err := a.Drain(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Drain on empty: %v", err)
	}
	// After a drain, tables start over: indexes restart at 0.
	r3 := Record{PartitionKey: "new", ExplicitHashKey: "9", Data: []byte("3")}
	if err := a.Add(r3); err != nil {
		t.Fatal(err)
	}
	blob, pk, ehk, _ = a.Drain()
	if !bytes.Equal(blob, Encode([]Record{r3})) || pk != "new" || ehk != "9" {
		t.Fatalf("second drain: %x %q %q", blob, pk, ehk)
	}
}

func TestAddCopiesData(t *testing.T) {
	var a Aggregator
	data := []byte("original")
	if err := a.Add(Record{PartitionKey: "k", Data: data}); err != nil {
		t.Fatal(err)
	}
	copy(data, "mutated!")
	blob, _, _, _ := a.Drain()
	got, err := Deaggregate(blob)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Data) != "original" {
		t.Fatalf("data %q: Add kept the caller's slice", got[0].Data)
	}
}

func TestOptions(t *testing.T) {
	var zero Aggregator
	if zero.MaxSize() != 51200 || zero.MaxCount() != 4294967295 {
		t.Fatalf("zero value limits %d %d", zero.MaxSize(), zero.MaxCount())
	}
	for _, o := range []Option{WithMaxSize(63), WithMaxSize(1<<20 + 1), WithMaxSize(-1), WithMaxCount(0)} {
		if _, err := NewAggregator(o); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("bad option accepted: %v", err)
		}
	}
	a, err := NewAggregator(WithMaxSize(1<<20), WithMaxCount(1))
	if err != nil || a.MaxSize() != 1<<20 || a.MaxCount() != 1 {
		t.Fatalf("options not applied: %v", err)
	}
}

func TestValidateRecord(t *testing.T) {
	ok := []Record{
		{PartitionKey: "k"},
		{PartitionKey: strings.Repeat("é", 256)}, // 256 characters, 512 bytes
		{PartitionKey: "k", ExplicitHashKey: "0"},
		{PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211455"},
	}
	for _, r := range ok {
		if err := ValidateRecord(r); err != nil {
			t.Errorf("%q/%q rejected: %v", r.PartitionKey, r.ExplicitHashKey, err)
		}
	}
	bad := []Record{
		{PartitionKey: ""},
		{PartitionKey: strings.Repeat("k", 257)},
		{PartitionKey: "\xff"},
		{PartitionKey: "k", ExplicitHashKey: "01"},
		{PartitionKey: "k", ExplicitHashKey: "-1"},
		{PartitionKey: "k", ExplicitHashKey: "+1"},
		{PartitionKey: "k", ExplicitHashKey: "1x"},
		{PartitionKey: "k", ExplicitHashKey: "340282366920938463463374607431768211456"},
	}
	for _, r := range bad {
		if err := ValidateRecord(r); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%q/%q accepted: %v", r.PartitionKey, r.ExplicitHashKey, err)
		}
	}
}

func TestDeaggregateRejects(t *testing.T) {
	good := mustHex(t, goldens[0].blob)
	flipped := bytes.Clone(good)
	flipped[6] ^= 1
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrNotAggregated},
		{"plain", []byte("hello, world, this is plain data"), ErrNotAggregated},
		{"magic only", []byte{0xF3, 0x89, 0x9A, 0xC2}, ErrNotAggregated},
		{"empty message", Encode(nil), ErrNotAggregated}, // the KCL needs a message byte
		{"payload flipped", flipped, ErrChecksum},
		{"checksum flipped", badSum, ErrChecksum},
		{"truncated varint", frameMsg([]byte{0x0a, 0x80}), ErrMalformed},
		{"length past end", frameMsg([]byte{0x0a, 0x05, 'a'}), ErrMalformed},
		{"field number 0", frameMsg([]byte{0x02, 0x00}), ErrMalformed},
		{"stray end group", frameMsg([]byte{0x0c}), ErrMalformed},
		{"wire type 7", frameMsg([]byte{0x0f, 0x00}), ErrMalformed},
		{"record lacks pk index", frameMsg(mustHex(t, "0a0161 1a03 1a0178")), ErrMalformed},
		{"record lacks data", frameMsg(mustHex(t, "0a0161 1a02 0800")), ErrMalformed},
		{"pk index out of range", frameMsg(mustHex(t, "0a0161 1a05 0801 1a0178")), ErrMalformed},
		{"no pk table", frameMsg(mustHex(t, "1a05 0800 1a0178")), ErrMalformed},
		{"ehk index out of range", frameMsg(mustHex(t, "0a0161 120131 1a07 0800 1001 1a0178")), ErrMalformed},
		{"ehk not an integer", frameMsg(mustHex(t, "0a0161 120178 1a07 0800 1000 1a0178")), ErrMalformed},
		{"tag without key", frameMsg(mustHex(t, "0a0161 1a09 0800 1a0178 2202 1200")), ErrMalformed},
		{"tag key of the wrong wire type", frameMsg(mustHex(t, "0a0161 1a09 0800 1a0178 2202 0800")), ErrMalformed},
		{"bad record body", frameMsg(mustHex(t, "0a0161 1a02 08ff")), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Deaggregate(c.in)
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
			if IsAggregated(c.in) != (c.want == ErrMalformed) {
				t.Fatalf("IsAggregated = %v", IsAggregated(c.in))
			}
		})
	}
}

func TestDeaggregateAccepts(t *testing.T) {
	one := []Record{{PartitionKey: "a", Data: []byte("x")}}
	cases := []struct {
		name string
		msg  string
		want []Record
	}{
		{"unknown varint field", "0a0161 7801 1a05 0800 1a0178", one},
		{"unknown group skipped", "0a0161 7b 0801 7c 1a05 0800 1a0178", one},
		{"known field, other wire type, is unknown", "0801 0a0161 1a05 0800 1a0178", one},
		{"unknown field inside record", "0a0161 1a07 0800 7805 1a0178", one},
		{"last pk index wins", "0a0162 0a0161 1a07 0800 0801 1a0178", one},
		{"tag with key and value", "0a0161 1a0c 0800 1a0178 2205 0a016b 1200", one},
		{"tables but no records", "0a0161", nil},
		{"signed ehk accepted as the KCL does", "0a0161 12022d31 1a07 0800 1000 1a0178",
			[]Record{{PartitionKey: "a", ExplicitHashKey: "-1", Data: []byte("x")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blob := frameMsg(mustHex(t, c.msg))
			got, err := Deaggregate(blob)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, c.want)
			if !IsAggregated(blob) {
				t.Fatal("IsAggregated = false")
			}
		})
	}
}

func TestHashKey(t *testing.T) {
	for _, pk := range []string{"a", "ключ", "user-1", "🙂"} {
		got, err := Record{PartitionKey: pk}.HashKey()
		if err != nil {
			t.Fatal(err)
		}
		k := hashkey.FromPartitionKey(pk)
		want := new(big.Int).Lsh(new(big.Int).SetUint64(k.Hi), 64)
		want.Or(want, new(big.Int).SetUint64(k.Lo))
		if got.Cmp(want) != 0 {
			t.Fatalf("%q: %s, want %s", pk, got, want)
		}
	}
	// MD5("a") = 0cc175b9c0f1b6a831c399e269772661, as a decimal.
	if k, _ := (Record{PartitionKey: "a"}).HashKey(); k.String() != "16955237001963240173058271559858726497" {
		t.Fatalf("MD5 hash key of %q = %s", "a", k)
	}
	if k, _ := (Record{PartitionKey: "a", ExplicitHashKey: "5"}).HashKey(); k.Int64() != 5 {
		t.Fatal("explicit hash key not used")
	}
	if _, err := (Record{PartitionKey: "a", ExplicitHashKey: "x"}).HashKey(); err == nil {
		t.Fatal("non-integer explicit hash key accepted")
	}
}

func TestDeaggregateRecordPassThrough(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	good := mustHex(t, goldens[0].blob)
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	for name, data := range map[string][]byte{
		"plain":          []byte("just bytes"),
		"empty":          {},
		"bad checksum":   badSum,
		"unparsable":     frameMsg([]byte{0x0a, 0x80}),
		"bad index":      frameMsg(mustHex(t, "0a0161 1a05 0801 1a0178")),
		"empty message":  Encode(nil),
		"magic, no more": {0xF3, 0x89, 0x9A, 0xC2},
	} {
		t.Run(name, func(t *testing.T) {
			in := KinesisRecord{SequenceNumber: "4960", PartitionKey: "outer", Data: data, ApproximateArrivalTimestamp: ts}
			got, err := DeaggregateRecord(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d records, want 1", len(got))
			}
			u := got[0]
			if u.Aggregated || u.SubSequenceNumber != 0 || u.SequenceNumber != "4960" || u.PartitionKey != "outer" ||
				u.ExplicitHashKey != "" || !bytes.Equal(u.Data, data) || !u.ApproximateArrivalTimestamp.Equal(ts) {
				t.Fatalf("pass-through record %+v", u)
			}
		})
	}
}

func TestDeaggregateRecordSubSequenceNumbers(t *testing.T) {
	ts := time.Unix(1700000000, 5)
	recs := []Record{
		{PartitionKey: "a", Data: []byte("0")},
		{PartitionKey: "b", ExplicitHashKey: "12", Data: []byte("1")},
		{PartitionKey: "a", Data: []byte{}},
	}
	got, err := DeaggregateRecord(KinesisRecord{SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
		PartitionKey: "a", Data: Encode(recs), ApproximateArrivalTimestamp: ts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d user records, want 3", len(got))
	}
	for i, u := range got {
		if !u.Aggregated || u.SubSequenceNumber != uint64(i) || !u.ApproximateArrivalTimestamp.Equal(ts) ||
			u.SequenceNumber != "49590338271490256608559692538361571095921575989136588898" {
			t.Fatalf("user record %d: %+v", i, u)
		}
		sameRecords(t, []Record{u.Record}, recs[i:i+1])
	}
}

func TestDeaggregateRecordHashRange(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	low := &HashRange{Start: big.NewInt(0), End: new(big.Int).Sub(half, big.NewInt(1))}
	high := &HashRange{Start: half, End: new(big.Int).Set(maxHashKey)}
	// Explicit hash keys place records exactly; both ends are inclusive.
	inLow := []Record{
		{PartitionKey: "a", ExplicitHashKey: "0", Data: []byte("first")},
		{PartitionKey: "b", ExplicitHashKey: low.End.String(), Data: []byte("last")},
	}
	blob := Encode(inLow)
	got, err := DeaggregateRecord(KinesisRecord{SequenceNumber: "7", Data: blob}, low)
	if err != nil || len(got) != 2 || got[0].SubSequenceNumber != 0 || got[1].SubSequenceNumber != 1 ||
		string(got[1].Data) != "last" || got[1].SequenceNumber != "7" {
		t.Fatalf("all in range: %+v %v", got, err)
	}
	// One user record outside the shard's range drops the whole aggregated
	// record, as the KCL does: a KPL producer re-sends all of it.
	mixed := Encode(append(inLow, Record{PartitionKey: "c", ExplicitHashKey: half.String(), Data: []byte("stray")}))
	for _, hr := range []*HashRange{low, high} {
		got, err := DeaggregateRecord(KinesisRecord{SequenceNumber: "8", Data: mixed}, hr)
		if err != nil || len(got) != 0 {
			t.Fatalf("mixed record in %v: %d user records, %v", hr, len(got), err)
		}
	}
	// Out of the key space entirely, which Encode allows: dropped even with
	// the whole key space (nil).
	neg := Encode([]Record{{PartitionKey: "a", Data: []byte("ok")}, {PartitionKey: "a", ExplicitHashKey: "-1", Data: []byte("neg")}})
	if got, _ := DeaggregateRecord(KinesisRecord{Data: neg}, nil); len(got) != 0 {
		t.Fatalf("negative hash key kept: %+v", got)
	}
	got, _ = DeaggregateRecord(KinesisRecord{Data: blob}, nil)
	if len(got) != 2 {
		t.Fatalf("nil range: %d user records", len(got))
	}
}

func TestParseHashRange(t *testing.T) {
	hr, err := ParseHashRange("0", "340282366920938463463374607431768211455")
	if err != nil || hr.Start.Sign() != 0 || hr.End.Cmp(maxHashKey) != 0 {
		t.Fatalf("full range: %v %v", hr, err)
	}
	for _, c := range [][2]string{{"", "1"}, {"1", "x"}, {"5", "4"}, {"0", "340282366920938463463374607431768211456"}} {
		if _, err := ParseHashRange(c[0], c[1]); err == nil {
			t.Fatalf("ParseHashRange(%q, %q) accepted", c[0], c[1])
		}
	}
}
