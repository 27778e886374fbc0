package store

import (
	"reflect"
	"testing"
	"time"
)

func fullStream() *Stream {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	closed := now.Add(time.Hour)
	return &Stream{
		Key: StreamKey{Account: "123456789012", Region: "us-east-1", Name: "s"}, ID: "id", Created: now,
		Status: "UPDATING", StatusUntil: now, NextStatus: "ACTIVE", Mode: "PROVISIONED", RetentionHours: 24, MaxRecordSizeKiB: 1024,
		Shards:            []Shard{{Index: 0, Parent: -1, AdjacentParent: -1, StartHash: "0", EndHash: "9", Created: now, Closed: &closed, EndSeq: 7, Pending: true}},
		NextShardIndex:    1,
		Tags:              map[string]string{"a": "b"},
		ShardLevelMetrics: []string{"IncomingBytes"},
		EncryptionType:    "KMS", KeyID: "k",
		Plan:            []ReshardStep{{Kind: "split", Shard: 0, NewStart: "5"}},
		Scalings:        []time.Time{now},
		Consumers:       []Consumer{{Name: "c", Created: now, Status: "ACTIVE", Tags: map[string]string{"x": "y"}}},
		DataKeys:        []DataKey{{Index: 1, MasterKeyID: "m", Wrapped: []byte{1, 2}, Created: now, Retired: &closed}},
		WriteKey:        1,
		NextWriteKey:    new(uint32),
		KeyChanges:      []time.Time{now},
		EncryptionStops: []time.Time{now},
		Warm:            &WarmThroughput{Target: 10, From: 5, Until: now},
		Distribution:    "AUTO",
	}
}

// Clone must copy every field and share nothing a caller may change.
func TestCloneIsDeep(t *testing.T) {
	orig := fullStream()
	// A new field in Stream must be looked at in Clone (and here).
	if n := reflect.TypeFor[Stream]().NumField(); n != 26 {
		t.Fatalf("Stream has %d fields; check Clone copies the new ones deeply, then update this test", n)
	}
	c := orig.Clone()
	if !reflect.DeepEqual(c, orig) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, orig)
	}
	*c.Shards[0].Closed = time.Time{}
	c.Shards[0].EndSeq = 99
	c.Tags["a"] = "changed"
	c.ShardLevelMetrics[0] = "changed"
	c.Plan[0].Kind = "merge"
	c.Scalings[0] = time.Time{}
	c.Consumers[0].Tags["x"] = "changed"
	c.Consumers[0].Name = "changed"
	c.DataKeys[0].Wrapped[0] = 9
	*c.DataKeys[0].Retired = time.Time{}
	c.DataKeys[0].Index = 7
	*c.NextWriteKey = 5
	c.KeyChanges[0] = time.Time{}
	c.EncryptionStops[0] = time.Time{}
	c.Warm.Target = 99
	if !reflect.DeepEqual(orig, fullStream()) {
		t.Fatalf("changing the clone changed the original: %+v", orig)
	}
}
