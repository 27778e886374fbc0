package consumer

import (
	"reflect"
	"testing"
)

func TestNewLeases(t *testing.T) {
	// 0 was split into 2 and 3; 1 is open; 5 is the merge of 3 and 4,
	// where 4 was never leased (an old closed root).
	shards := []shardInfo{
		{id: "s0", closed: true},
		{id: "s1"},
		{id: "s2", parents: []string{"s0"}},
		{id: "s3", parents: []string{"s0"}, closed: true},
		{id: "s4", closed: true},
		{id: "s5", parents: []string{"s3", "s4"}},
	}
	type want map[string]string // shard → checkpoint
	for _, tc := range []struct {
		name    string
		initial string
		leased  []string
		want    want
	}{
		{"empty LATEST", SentinelLatest, nil, want{"s1": "LATEST", "s2": "LATEST", "s5": "LATEST"}},
		{"empty TRIM_HORIZON", SentinelTrimHorizon, nil, want{"s0": "TRIM_HORIZON", "s1": "TRIM_HORIZON", "s2": "TRIM_HORIZON", "s3": "TRIM_HORIZON", "s4": "TRIM_HORIZON", "s5": "TRIM_HORIZON"}},
		{"empty AT_TIMESTAMP", SentinelAtTimestamp, nil, want{"s0": "AT_TIMESTAMP", "s1": "AT_TIMESTAMP", "s2": "AT_TIMESTAMP", "s3": "AT_TIMESTAMP", "s4": "AT_TIMESTAMP", "s5": "AT_TIMESTAMP"}},
		// A leased parent: its descendants are read from their start,
		// the unrelated parent 4 from the initial position.
		{"leased parent LATEST", SentinelLatest, []string{"s0"}, want{"s1": "LATEST", "s2": "TRIM_HORIZON", "s3": "TRIM_HORIZON", "s4": "LATEST", "s5": "TRIM_HORIZON"}},
		// Parents cleaned up after their children started: the old
		// shards are not read again.
		{"cleaned up TRIM_HORIZON", SentinelTrimHorizon, []string{"s1", "s2", "s5"}, want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var leases []*lease
			for _, k := range tc.leased {
				leases = append(leases, &lease{key: k})
			}
			got := want{}
			pos := map[string]int{}
			for i, l := range newLeases(shards, leases, tc.initial) {
				got[l.key] = l.checkpoint.SequenceNumber
				pos[l.key] = i
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, s := range shards {
				for _, p := range s.parents {
					if _, ok := pos[p]; ok && pos[p] > pos[s.id] {
						t.Errorf("%s created before its parent %s", s.id, p)
					}
				}
			}
		})
	}
}

func TestExtendedSequenceNumberCompare(t *testing.T) {
	seq := func(s string, sub uint64) ExtendedSequenceNumber { return ExtendedSequenceNumber{s, sub} }
	ordered := []ExtendedSequenceNumber{TrimHorizon, seq("9", 0), seq("9", 1), seq("10", 0), seq("100000000000000000000000000000000000000000000000000000001", 0), ShardEnd}
	for i, a := range ordered {
		for j, b := range ordered {
			want := cmpInt(i, j)
			if got := a.Compare(b); got != want {
				t.Errorf("%v vs %v: %d, want %d", a, b, got, want)
			}
		}
	}
	if Latest.Compare(seq("1", 0)) >= 0 || AtTimestamp.Compare(seq("1", 0)) >= 0 {
		t.Errorf("starting sentinels must come before records")
	}
}

// TestNewLeasesForWaitingChild: a child leased at TRIM_HORIZON while a
// listed parent has no lease (an older version's merge) gets the parent
// leased, and the parent's unleased ancestors back to a leased one; a
// child that started, or starts at LATEST, does not.
func TestNewLeasesForWaitingChild(t *testing.T) {
	shards := []shardInfo{
		{id: "p", closed: true},
		{id: "q0", closed: true},
		{id: "q", parents: []string{"q0"}, closed: true},
		{id: "m", parents: []string{"p", "q"}},
	}
	for _, tc := range []struct {
		name    string
		initial string
		child   ExtendedSequenceNumber
		want    map[string]string
	}{
		{"waiting", SentinelLatest, TrimHorizon, map[string]string{"q": "TRIM_HORIZON"}},
		{"started", SentinelTrimHorizon, ExtendedSequenceNumber{SequenceNumber: "5"}, map[string]string{}},
		{"at LATEST", SentinelLatest, Latest, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leases := []*lease{{key: "p", checkpoint: ShardEnd}, {key: "q0", checkpoint: TrimHorizon}, {key: "m", checkpoint: tc.child}}
			got := map[string]string{}
			for _, l := range newLeases(shards, leases, tc.initial) {
				got[l.key] = l.checkpoint.SequenceNumber
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
