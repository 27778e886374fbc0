package item

import "testing"

// A KCL lease as stored: the table's hot read path decodes many of these.
var leaseJSON = []byte(`{"M":{"leaseKey":{"S":"shardId-000000000001"},"leaseOwner":{"S":"worker-1"},"leaseCounter":{"N":"42"},
"checkpoint":{"S":"49590338271490256608559692538361571095921575989136588898"},"checkpointSubSequenceNumber":{"N":"0"},
"ownerSwitchesSinceCheckpoint":{"N":"0"},"parentShardId":{"SS":["shardId-000000000000"]}}}`)

func BenchmarkDecodeLease(b *testing.B) {
	for b.Loop() {
		if _, err := Decode(leaseJSON); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLease(b *testing.B) {
	it, err := Decode(leaseJSON)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Encode(it); err != nil {
			b.Fatal(err)
		}
	}
}
