package procstat

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 123 456 789"
	got, err := Parse([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3250*time.Millisecond {
		t.Fatalf("cpu = %v, want 3.25s (325 ticks)", got)
	}
	for _, bad := range []string{"", "12 (x", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
