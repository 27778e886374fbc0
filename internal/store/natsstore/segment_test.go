package natsstore

import (
	"testing"
)

func TestSegTable(t *testing.T) {
	// Messages 1..100 acknowledged, reservation at 1000; after a restart
	// JetStream lost 61..100 and hands out 61 again.
	tab := identity.with(61, 1000-60)
	if got := tab.String(); got != "1:0,61:940" {
		t.Fatalf("String = %q", got)
	}
	for _, c := range []struct{ js, logical uint64 }{{1, 1}, {60, 60}, {61, 1001}, {62, 1002}} {
		if got := tab.logical(c.js); got != c.logical {
			t.Errorf("logical(%d) = %d, want %d", c.js, got, c.logical)
		}
		if got := tab.js(c.logical); got != c.js {
			t.Errorf("js(%d) = %d, want %d", c.logical, got, c.js)
		}
	}
	// Lost or never used: read on at the next segment.
	for _, lost := range []uint64{61, 100, 1000} {
		if got := tab.js(lost); got != 61 {
			t.Errorf("js(%d) = %d, want 61", lost, got)
		}
	}
	if got := tab.lastLogical(60); got != 1000 {
		t.Errorf("lastLogical(60) = %d, want 1000 (the next write is 1001)", got)
	}
	// A later restart with nothing written since replaces the empty segment.
	again := tab.with(61, 5000)
	if got := again.String(); got != "1:0,61:5000" {
		t.Errorf("with on an empty segment = %q", got)
	}
	// Retention emptied the first segment.
	if got := tab.trimmed(61).String(); got != "61:940" {
		t.Errorf("trimmed = %q", got)
	}
	if got := tab.trimmed(60).String(); got != "1:0,61:940" {
		t.Errorf("trimmed(60) = %q", got)
	}
	// A log re-created above an old reservation.
	fresh := segTable{{From: 1, Offset: 700}}
	if fresh.js(5) != 1 || fresh.logical(1) != 701 || fresh.lastLogical(0) != 700 {
		t.Errorf("offset first segment: js(5)=%d logical(1)=%d lastLogical(0)=%d", fresh.js(5), fresh.logical(1), fresh.lastLogical(0))
	}
	back, err := parseSegments(tab.String())
	if err != nil || back.String() != tab.String() {
		t.Fatalf("parseSegments(%q) = %v, %v", tab.String(), back, err)
	}
	if back, err := parseSegments(""); err != nil || back.String() != "1:0" {
		t.Errorf(`parseSegments("") = %v, %v`, back, err)
	}
	for _, bad := range []string{"x", "0:0", "1:0,1:5", "1:5,9:4", "1:", ":1", "1:0,"} {
		if _, err := parseSegments(bad); err == nil {
			t.Errorf("parseSegments(%q) accepted", bad)
		}
	}
}

// FuzzSegments: any table parseSegments accepts maps logical sequences
// back and forth consistently, and never backwards.
func FuzzSegments(f *testing.F) {
	f.Add("1:0,61:940", uint64(70))
	f.Add("1:700", uint64(3))
	f.Add("", uint64(0))
	f.Fuzz(func(t *testing.T, v string, q uint64) {
		tab, err := parseSegments(v)
		if err != nil {
			return
		}
		if tab.String() != v && v != "" {
			back, err := parseSegments(tab.String())
			if err != nil || back.String() != tab.String() {
				t.Fatalf("round trip of %q: %q", v, tab.String())
			}
		}
		last := tab[len(tab)-1]
		if last.Offset > 1<<62 || q > 1<<62 {
			return // no overflow in real tables: offsets stay below 2^63
		}
		js := tab.js(q)
		if js >= tab[0].From && tab.logical(js) < q && js >= tab[0].From {
			// js(q) is the first stored position at or after q.
			t.Fatalf("%q: js(%d) = %d maps back to %d, below", v, q, js, tab.logical(js))
		}
		if tab.logical(q+1) < tab.logical(q) {
			t.Fatalf("%q: logical not monotone at %d", v, q)
		}
	})
}
