package hashkey

import (
	"math/big"
	"strings"
	"testing"
)

func TestFromPartitionKey(t *testing.T) {
	// md5("a") = 0cc175b9c0f1b6a831c399e269772661
	got := FromPartitionKey("a").String()
	if want := "16955237001963240173058271559858726497"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestSplitMatchesAWS(t *testing.T) {
	// AWS's 2-shard stream: shard 0 ends at 2^127-1, shard 1 starts at 2^127.
	r := Split(2)
	if r[0].Start.String() != "0" || r[0].End.String() != "170141183460469231731687303715884105727" ||
		r[1].Start.String() != "170141183460469231731687303715884105728" ||
		r[1].End.String() != "340282366920938463463374607431768211455" {
		t.Fatalf("bad split %v", r)
	}
	// 3 shards: floor(2^128/3) each, the last takes the remainder.
	r = Split(3)
	if r[1].Start.String() != "113427455640312821154458202477256070485" ||
		r[2].End.Cmp(Max) != 0 {
		t.Fatalf("bad split %v %v", r[1].Start, r[2].End)
	}
	for n := 1; n < 40; n++ {
		rs := Split(n)
		if rs[0].Start != (Key{}) || rs[n-1].End != Max {
			t.Fatalf("n=%d does not cover the space", n)
		}
		for i := 1; i < n; i++ {
			if rs[i].Start != rs[i-1].End.Add(1) {
				t.Fatalf("n=%d gap at %d", n, i)
			}
		}
	}
}

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "-1", "1a", "340282366920938463463374607431768211456", "1234567890123456789012345678901234567890"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	k, err := Parse("340282366920938463463374607431768211455")
	if err != nil || k != Max {
		t.Fatalf("max: %v %v", k, err)
	}
	if k.Add(1) != (Key{}) || (Key{}).Sub(1) != Max {
		t.Fatal("wrap")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "1", "340282366920938463463374607431768211455", "340282366920938463463374607431768211456", "x", "007", "+1", "99999999999999999999999999999999999999", "184467440737095516160"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		// The reference: math/big, for strings of at most 39 digits.
		n, ok := new(big.Int).SetString(s, 10)
		valid := ok && s != "" && len(s) <= 39 && strings.Trim(s, "0123456789") == "" && n.BitLen() <= 128
		if valid != (err == nil) {
			t.Fatalf("Parse(%q): %v, %v; math/big says valid=%v", s, k, err, valid)
		}
		if err != nil {
			return
		}
		if k.big().Cmp(n) != 0 {
			t.Fatalf("Parse(%q) = %v, math/big %v", s, k, n)
		}
		if k2, err := Parse(k.String()); err != nil || k2 != k {
			t.Fatalf("round trip %q -> %v", s, k)
		}
	})
}
