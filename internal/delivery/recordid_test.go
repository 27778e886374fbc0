package delivery

import (
	"fmt"
	"math"
	"testing"
)

// RecordID keeps the layout ids had when fmt made them, so ids of
// records already in flight do not change.
func TestRecordIDLayout(t *testing.T) {
	for _, c := range []struct {
		seq uint64
		sub int
	}{{0, 0}, {1, 2}, {123456789, 499}, {math.MaxUint64, 1<<20 - 1}, {1e19, 9999999999}} {
		if got, want := RecordID(c.seq, c.sub), fmt.Sprintf("%020d%010d", c.seq, c.sub); got != want {
			t.Errorf("RecordID(%d, %d) = %s, want %s", c.seq, c.sub, got, want)
		}
	}
}
