package seqnum

import (
	"math/big"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	p := Parts{Shard: 7, Seq: 123456789, Sub: 42, Epoch: 1700000000123}
	s := Format(p)
	if len(s) != Len {
		t.Fatalf("len %d", len(s))
	}
	got, err := Parse(s)
	if err != nil || got != p {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestOrderWithinShard(t *testing.T) {
	ps := []Parts{{1, 1, 0, 5}, {1, 1, 1, 5}, {1, 1, MaxSub, 5}, {1, 2, 0, 5}, {1, 1 << 62, 0, 5}, {1, ^uint64(0), MaxSub, 5}}
	prev := new(big.Int)
	prevS := ""
	for _, p := range ps {
		s := Format(p)
		n, _ := new(big.Int).SetString(s, 10)
		if n.Cmp(prev) <= 0 || s <= prevS {
			t.Fatalf("%s not above %s", s, prevS)
		}
		prev, prevS = n, s
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "0", "1", "59" + Format(Parts{})[2:], Format(Parts{})[:55], Format(Parts{})[:55] + "x"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
	// seq field above uint64
	bad := "49" + "000000000000" + "99999999999999999999" + "000000" + "0000000000000000"
	if _, err := Parse(bad); err == nil {
		t.Error("overflowing seq accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Format(Parts{Shard: 3, Seq: 9, Sub: 1, Epoch: 1}))
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
