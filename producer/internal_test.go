package producer

import (
	"crypto/md5"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/aggregation"
)

var maxKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

func TestHashKey(t *testing.T) {
	for _, s := range []string{"0", "1", "18446744073709551615", "18446744073709551616", maxKey.String()} {
		k, err := parseHashKey(s)
		if err != nil || k.String() != s {
			t.Fatalf("parse %s: %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "-1", "1e3", " 1", new(big.Int).Add(maxKey, big.NewInt(1)).String(), strings.Repeat("9", 40)} {
		if _, err := parseHashKey(s); err == nil {
			t.Fatalf("parse %q: no error", s)
		}
	}
	sum := md5.Sum([]byte("partition"))
	if got, want := hashOfPartitionKey("partition").String(), new(big.Int).SetBytes(sum[:]).String(); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	a, _ := parseHashKey("18446744073709551616") // hi=1, lo=0
	b, _ := parseHashKey("18446744073709551615") // hi=0, lo=max
	if a.cmp(b) != 1 || b.cmp(a) != -1 || a.cmp(a) != 0 {
		t.Fatal("cmp")
	}
}

func FuzzParseHashKey(f *testing.F) {
	for _, s := range []string{"0", "340282366920938463463374607431768211455", "340282366920938463463374607431768211456", "007", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseHashKey(s)
		n, ok := new(big.Int).SetString(s, 10)
		// At most 39 digits: 2^128-1 has 39, and Kinesis forbids leading zeros.
		valid := ok && s != "" && len(s) <= 39 && !strings.ContainsAny(s, "+-_") && n.Sign() >= 0 && n.Cmp(maxKey) <= 0
		if valid != (err == nil) {
			t.Fatalf("parse %q: %v, big.Int says valid=%v", s, err, valid)
		}
		if err == nil && k.String() != n.String() {
			t.Fatalf("parse %q gave %s", s, k)
		}
	})
}

func mustKey(t *testing.T, s string) hashKey {
	t.Helper()
	k, err := parseHashKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestShardMapRoute(t *testing.T) {
	m := &shardMap{open: []shardInfo{
		{"a", hashRange{mustKey(t, "0"), mustKey(t, "99")}},
		{"b", hashRange{mustKey(t, "100"), mustKey(t, "18446744073709551616")}},
		// gap: 18446744073709551617..199999999999999999999
		{"c", hashRange{mustKey(t, "200000000000000000000"), mustKey(t, maxKey.String())}},
	}}
	for key, want := range map[string]string{
		"0": "a", "99": "a", "100": "b", "18446744073709551615": "b", "18446744073709551616": "b",
		"18446744073709551617": "", "199999999999999999999": "", "200000000000000000000": "c", maxKey.String(): "c",
	} {
		got, ok := m.route(mustKey(t, key))
		if got != want || ok != (want != "") {
			t.Errorf("route(%s) = %q, %v; want %q", key, got, ok, want)
		}
	}
}

func TestQueueOrder(t *testing.T) {
	mk := func(ids ...uint64) []*urec {
		var q []*urec
		for _, id := range ids {
			q = append(q, &urec{id: id})
		}
		return q
	}
	ids := func(q []*urec) (out []uint64) {
		for _, r := range q {
			out = append(out, r.id)
		}
		return out
	}
	q := insertByID(mk(1, 3, 5), &urec{id: 4})
	q = insertByID(q, &urec{id: 0})
	q = insertByID(q, &urec{id: 9})
	if got := ids(q); !equal(got, []uint64{0, 1, 3, 4, 5, 9}) {
		t.Fatalf("insert: %v", got)
	}
	if got := ids(mergeByID(mk(1, 4, 6), mk(2, 3, 7, 8))); !equal(got, []uint64{1, 2, 3, 4, 6, 7, 8}) {
		t.Fatalf("merge: %v", got)
	}
	if got := ids(mergeByID(mk(1, 2), mk(3))); !equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("merge: %v", got)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBucket(t *testing.T) {
	var b bucket
	b.init(10)
	now := time.Unix(1000, 0)
	b.refill(now)
	if !b.has(10) || !b.has(1000) {
		t.Fatal("a full bucket affords anything")
	}
	b.take(10)
	if b.has(1) {
		t.Fatal("empty bucket has tokens")
	}
	if got := b.readyAt(2, now); got != now.Add(200*time.Millisecond) {
		t.Fatalf("readyAt %v", got.Sub(now))
	}
	b.refill(now.Add(100 * time.Millisecond))
	if !b.has(1) || b.has(1.5) {
		t.Fatalf("after 100ms at 10/s: %v tokens", b.tokens)
	}
	b.refill(now.Add(time.Hour))
	if b.tokens != 10 {
		t.Fatalf("bucket holds %v, cap 10", b.tokens)
	}
}

func TestBackoff(t *testing.T) {
	p := &Producer{cfg: defaultConfig()}
	p.cfg.retryBase, p.cfg.retryMax, p.cfg.retryJitter = 100*time.Millisecond, time.Second, 0.5
	for i := 0; i < 100; i++ {
		if d := p.backoff(1); d < 50*time.Millisecond || d > 100*time.Millisecond {
			t.Fatalf("attempt 1: %v", d)
		}
		if d := p.backoff(3); d < 200*time.Millisecond || d > 400*time.Millisecond {
			t.Fatalf("attempt 3: %v", d)
		}
		if d := p.backoff(100); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("attempt 100: %v", d)
		}
	}
}

// FuzzCheck: Put's validation never panics and accepts exactly what
// Kinesis would.
func FuzzCheck(f *testing.F) {
	f.Add("pk", "", 10)
	f.Add("", "1", 0)
	f.Add("k", "340282366920938463463374607431768211456", 5)
	f.Add("\xff", "", 1)
	f.Add("k", "01", 1)
	f.Add(strings.Repeat("é", 256), "0", 1<<20)
	p := &Producer{cfg: defaultConfig()}
	f.Fuzz(func(t *testing.T, pk, ehk string, n int) {
		n = max(0, min(n, 2<<20))
		rec := Record{PartitionKey: pk, ExplicitHashKey: ehk, Data: make([]byte, n)}
		size, h, err := p.check(rec)
		verr := aggregation.ValidateRecord(aggregation.Record{PartitionKey: pk, ExplicitHashKey: ehk})
		want := verr == nil && n+len(pk) <= p.cfg.maxRecordSize
		if want != (err == nil) {
			t.Fatalf("check(%q, %q, %d): %v (validator: %v)", pk, ehk, n, err, verr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("error %v is not ErrInvalidRecord", err)
			}
			return
		}
		if size != n+len(pk) {
			t.Fatalf("size %d", size)
		}
		if ehk != "" && h.String() != ehk {
			t.Fatalf("hash %s for explicit %s", h, ehk)
		}
	})
}
