package seqnum

import (
	"math/big"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, p := range []Parts{
		{Shard: 7, Seq: 123456789, Sub: 42, ShardCreated: 1700000000, Arrival: 1700000123},
		{},
		{Shard: maxShard, Seq: MaxSeq, Sub: MaxSub, ShardCreated: maxSecs, Arrival: maxSecs},
		{Shard: 0x1f, Seq: 1 << 44, Sub: 1, ShardCreated: 1, Arrival: 2},
		{Legacy: true, Shard: 7, Seq: 123456789, Sub: 42, Epoch: 1700000000123},
		{Legacy: true, Seq: ^uint64(0), Sub: legacyMaxSub, Epoch: 9999999999999999},
	} {
		s := Format(p)
		if len(s) != Len {
			t.Fatalf("len %d: %s", len(s), s)
		}
		got, err := Parse(s)
		if err != nil || got != p {
			t.Fatalf("%s: got %+v %v, want %+v", s, got, err, p)
		}
	}
}

// A number AWS issued decodes into its documented fields.
func TestDecodeAWS(t *testing.T) {
	const s = "49590338271490256608559692538361571095921575989136588898"
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Legacy || p.ShardCreated != 1542776258 || p.Shard != 6 || p.Arrival != 1545084650 {
		t.Fatalf("got %+v", p)
	}
	// Its 72-bit index field 0x0000000067648a1700 splits as seq<<20|sub.
	if field := uint64(0x67648a1700); p.Seq != field>>20 || p.Sub != int(field&MaxSub) {
		t.Fatalf("got seq %d sub %d", p.Seq, p.Sub)
	}
	if Format(p) != s {
		t.Fatalf("re-formatted as %s", Format(p))
	}
}

// Within a shard, numbers order by (seq, sub) whatever their arrival,
// as integers and as strings, and every legacy number sorts first.
func TestOrderWithinShard(t *testing.T) {
	legacy := []Parts{{Legacy: true, Shard: 1, Seq: 1, Epoch: 5}, {Legacy: true, Shard: 1, Seq: ^uint64(0), Sub: legacyMaxSub, Epoch: 9999999999999999}}
	at := func(seq uint64, sub int, arrival int64) Parts {
		return Parts{Shard: 1, Seq: seq, Sub: sub, ShardCreated: 1700000000, Arrival: arrival}
	}
	ps := append(legacy,
		at(0, 0, 1700000000), at(0, 1, 1), at(1, 0, maxSecs), at(1, 1, 0), at(1, MaxSub, 5), at(2, 0, 0),
		at(1<<44-1, MaxSub, 9), at(1<<44, 0, 0), at(1<<44, 1, 0), at(MaxSeq-1, MaxSub, 0), at(MaxSeq, 0, 0), at(MaxSeq, MaxSub, 0))
	prev := new(big.Int)
	prevS := ""
	for _, p := range ps {
		s := Format(p)
		n, _ := new(big.Int).SetString(s, 10)
		if n.Cmp(prev) <= 0 || s <= prevS {
			t.Fatalf("%s (%+v) not above %s", s, p, prevS)
		}
		prev, prevS = n, s
	}
}

// The AWS layout starts at 2^185; the legacy one stays below.
func TestLayoutBoundary(t *testing.T) {
	two185 := new(big.Int).Lsh(big.NewInt(1), 185)
	if two185.String() != legacyLimit {
		t.Fatal("legacyLimit is not 2^185")
	}
	if n, _ := new(big.Int).SetString(Format(Parts{}), 10); n.Cmp(two185) < 0 {
		t.Fatalf("smallest new number %s below 2^185", n)
	}
	// 2^185 itself has a last hex digit 0, not 2.
	if _, err := Parse(legacyLimit); err == nil {
		t.Fatal("2^185 accepted")
	}
	// The largest legacy shard index below it.
	top := Parts{Legacy: true, Shard: 39857307707, Seq: ^uint64(0), Sub: legacyMaxSub, Epoch: 9999999999999999}
	if p, err := Parse(Format(top)); err != nil || p != top {
		t.Fatalf("%+v: %+v %v", top, p, err)
	}
}

func TestParseRejects(t *testing.T) {
	good := Format(Parts{Shard: 3, Seq: 9, ShardCreated: 1700000000, Arrival: 1700000001})
	hexOf := func(h string) string { n, _ := new(big.Int).SetString(h, 16); return n.String() }
	for _, s := range []string{
		"", "0", "1", good[:55], good[:55] + "x", good + "0", "+" + good[1:], "-" + good[1:],
		"59" + Format(Parts{Legacy: true})[2:], // legacy without its marker
		"99999999999999999999999999999999999999999999999999999999",
		hexOf("205bf4e5c260000000067648a170005c181eea000000063"),                       // last digit 3
		hexOf("205bf4e5c270000000067648a170005c181eea000000062"),                       // low shard digit 7, shard 6
		hexOf("305bf4e5c260000000067648a170005c181eea000000062"),                       // version 3
		"49" + "000000000000" + "99999999999999999999" + "000000" + "0000000000000000", // legacy seq above uint64
	} {
		if p, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %+v", s, p)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Format(Parts{Shard: 3, Seq: 9, Sub: 1, ShardCreated: 1700000000, Arrival: 1700000001}))
	f.Add(Format(Parts{Legacy: true, Shard: 3, Seq: 9, Sub: 1, Epoch: 1}))
	f.Add("49590338271490256608559692538361571095921575989136588898")
	f.Add(legacyLimit)
	f.Add("49000")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if Format(p) != s {
			t.Fatalf("round trip %q -> %+v -> %q", s, p, Format(p))
		}
	})
}
