package kinesis

// Storage full: store.ErrFull injected with faultstore.

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/faultstore"
)

// recordOps logs the ops fs sees from now on, failing none.
func recordOps(t *testing.T, fs *faultstore.Backend) func() []faultstore.Op {
	var mu sync.Mutex
	var ops []faultstore.Op
	addRule(t, fs, faultstore.Rule{Match: func(c faultstore.Call) bool {
		mu.Lock()
		ops = append(ops, c.Op)
		mu.Unlock()
		return false
	}})
	return func() []faultstore.Op {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ops)
	}
}

func TestWritesWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "w", 1)
	id := addRule(t, fs, faultstore.Rule{Op: faultstore.OpAppend, Err: store.ErrFull})

	out, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("w"), Records: []api.PutRecordsRequestEntry{
		{PartitionKey: ptr("a"), Data: []byte("1")}, {PartitionKey: ptr("b"), Data: []byte("2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedRecordCount != 2 || *out.Records[0].ErrorCode != "InternalFailure" || *out.Records[0].ErrorMessage != fullMessage {
		t.Fatalf("PutRecords while full: %+v", out.Records[0])
	}
	op := s.Operations()["PutRecord"]
	_, err = op.Call(ctx, &api.PutRecordInput{StreamName: ptr("w"), PartitionKey: ptr("a"), Data: []byte("1")})
	wantErr(t, err, ErrInternal, fullMessage)

	// Space is back: writes resume by themselves.
	fs.Remove(id)
	if _, err := op.Call(ctx, &api.PutRecordInput{StreamName: ptr("w"), PartitionKey: ptr("a"), Data: []byte("1")}); err != nil {
		t.Fatalf("PutRecord after space is freed: %v", err)
	}
}

// TestReadsWhenFull fails every write; iterators and records still come.
func TestReadsWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "r", 1)
	if _, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("r"), PartitionKey: ptr("a"), Data: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []faultstore.Op{faultstore.OpPut, faultstore.OpDelete, faultstore.OpPutValue,
		faultstore.OpDeleteValue, faultstore.OpAppend, faultstore.OpCreateShard} {
		addRule(t, fs, faultstore.Rule{Op: op, Err: store.ErrFull})
	}
	for _, typ := range []string{api.TrimHorizon, api.Latest} {
		it, err := s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("r"), ShardId: ptr("0"), ShardIteratorType: &typ})
		if err != nil {
			t.Fatalf("GetShardIterator %s while full: %v", typ, err)
		}
		recs, err := s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords %s while full: %v", typ, err)
		}
		if typ == api.TrimHorizon && (len(recs.Records) != 1 || string(recs.Records[0].Data) != "kept") {
			t.Fatalf("read %+v", recs.Records)
		}
	}
}

// TestSubscribeWhenFull accepts a subscription whose lease cannot be
// written, and gives back nothing when it ends.
func TestSubscribeWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "fan", 1)
	cons := register(t, s, "fan", "app")
	c.Add(DefaultConsumerCreateDelay)
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpPutValue, Err: store.ErrFull})
	sub, err := trySubscribe(s, cons.ConsumerARN, "0", api.TrimHorizon, nil, nil)
	if err != nil {
		t.Fatalf("SubscribeToShard while full: %v", err)
	}
	if !sub.unleased {
		t.Fatal("subscription claims a lease it could not write")
	}
	if err := sub.checkLease(ctx); err != nil {
		t.Fatalf("checkLease without a lease: %v", err)
	}
	before := fs.Calls(faultstore.OpDeleteValue)
	sub.release()
	if fs.Calls(faultstore.OpDeleteValue) != before {
		t.Error("release of an unleased subscription deleted a lease")
	}
}

// TestDeleteStreamWhenFull: the DELETING mark fails for space, so the
// logs go first, then the mark is written.
func TestDeleteStreamWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "d", 2)
	id := streamID(t, fs, "d")
	ops := recordOps(t, fs)
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, Nth: 1, Err: store.ErrFull})
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("d")}); err != nil {
		t.Fatalf("DeleteStream while full: %v", err)
	}
	seen := ops()
	firstDelete := slices.Index(seen, faultstore.OpDeleteShard)
	if firstDelete < 0 || firstDelete > lastIndex(seen, faultstore.OpPut) {
		t.Fatalf("ops %v: want logs deleted before the successful Put", seen)
	}
	for sh := range 2 {
		if _, err := fs.Inner().Tip(ctx, store.ShardRef{StreamID: id, Shard: sh}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("shard %d log after DeleteStream: %v", sh, err)
		}
	}
	c.Add(2 * DefaultDeleteDelay * 2)
	_, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("d")})
	wantErr(t, err, ErrResourceNotFound, "")
}

// TestDeleteStreamInterruptedWhenFull: logs gone, mark never written; a
// second DeleteStream completes the deletion.
func TestDeleteStreamInterruptedWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "i", 1)
	rule := addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, Err: store.ErrFull})
	_, err := s.Operations()["DeleteStream"].Call(ctx, &api.DeleteStreamInput{StreamName: ptr("i")})
	wantErr(t, err, ErrInternal, fullMessage)
	fs.Remove(rule)
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("i")}); err != nil {
		t.Fatalf("second DeleteStream: %v", err)
	}
	c.Add(2 * DefaultDeleteDelay * 2)
	_, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("i")})
	wantErr(t, err, ErrResourceNotFound, "")
}

// TestDecreaseRetentionWhenFull: the logs take the shorter retention
// first, then the metadata is written.
func TestDecreaseRetentionWhenFull(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "ret", 1)
	if _, err := s.IncreaseStreamRetentionPeriod(ctx, &api.IncreaseStreamRetentionPeriodInput{StreamName: ptr("ret"), RetentionPeriodHours: ptr(int64(48))}); err != nil {
		t.Fatal(err)
	}
	ops := recordOps(t, fs)
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, Nth: 1, Err: store.ErrFull})
	if _, err := s.DecreaseStreamRetentionPeriod(ctx, &api.DecreaseStreamRetentionPeriodInput{StreamName: ptr("ret"), RetentionPeriodHours: ptr(int64(24))}); err != nil {
		t.Fatalf("DecreaseStreamRetentionPeriod while full: %v", err)
	}
	seen := ops()
	if i := slices.Index(seen, faultstore.OpSetRetention); i < 0 || i > lastIndex(seen, faultstore.OpPut) {
		t.Errorf("ops %v: want SetRetention before the successful Put", seen)
	}
	sum, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("ret")})
	if err != nil || sum.StreamDescriptionSummary.RetentionPeriodHours != 24 {
		t.Fatalf("after decrease: %+v %v", sum, err)
	}
	// An increase is no way to free space: it fails as it is.
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, Nth: 1, Err: store.ErrFull})
	_, err = s.Operations()["IncreaseStreamRetentionPeriod"].Call(ctx, &api.IncreaseStreamRetentionPeriodInput{StreamName: ptr("ret"), RetentionPeriodHours: ptr(int64(36))})
	wantErr(t, err, ErrInternal, fullMessage)
}

func lastIndex(ops []faultstore.Op, op faultstore.Op) int {
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i] == op {
			return i
		}
	}
	return -1
}
