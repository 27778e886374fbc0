package consumer

import (
	"testing"

	"github.com/rivulet/rivulet/internal/domain/seqnum"
)

// A checkpoint written before Rivulet took up AWS's sequence-number
// layout orders by position against the new numbers of the same shard,
// so the checkpointed record is not handed out again after an upgrade.
func TestCompareAcrossLayouts(t *testing.T) {
	old := seqnum.Format(seqnum.Parts{Legacy: true, Shard: 3, Seq: 42, Sub: 1, Epoch: 1700000000123})
	at := func(seq uint64, sub int) string {
		return seqnum.Format(seqnum.Parts{Shard: 3, Seq: seq, Sub: sub, ShardCreated: 1700000000, Arrival: 1700000100})
	}
	pos := func(s string) ExtendedSequenceNumber { return ExtendedSequenceNumber{SequenceNumber: s} }
	for _, tc := range []struct {
		b    string
		want int
	}{
		{at(42, 1), 0},
		{at(42, 0), 1},
		{at(41, 9), 1},
		{at(42, 2), -1},
		{at(43, 0), -1},
	} {
		if got := pos(old).Compare(pos(tc.b)); got != tc.want {
			t.Errorf("old(42,1) vs %s: %d, want %d", tc.b, got, tc.want)
		}
		if got := pos(tc.b).Compare(pos(old)); got != -tc.want {
			t.Errorf("%s vs old(42,1): %d, want %d", tc.b, got, -tc.want)
		}
	}
	// Another shard's numbers, and AWS's own, compare as integers.
	other := seqnum.Format(seqnum.Parts{Shard: 4, Seq: 1, ShardCreated: 1700000000, Arrival: 1700000100})
	if pos(old).Compare(pos(other)) != -1 {
		t.Error("a new-layout number of another shard should compare above as an integer")
	}
	if c := pos("49590338271490256608559692538361571095921575989136588898").Compare(pos("49590338271490256608559692538361571095921575989136588899")); c != -1 {
		t.Errorf("AWS numbers: %d", c)
	}
}
