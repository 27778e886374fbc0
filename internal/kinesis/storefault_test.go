package kinesis

// Storage failures, injected with faultstore over memstore: the error
// paths between the service and its store that healthy storage never
// takes.

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/faultstore"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// faultService is a test service whose storage fails as fs's rules say.
func faultService(t *testing.T) (*Service, *clock, *faultstore.Backend) {
	t.Helper()
	fs := faultstore.Wrap(memstore.New(memstore.Config{}), 1)
	t.Cleanup(func() { fs.Close() })
	s, c := newTestService(t, fs)
	return s, c, fs
}

func addRule(t *testing.T, fs *faultstore.Backend, r faultstore.Rule) faultstore.RuleID {
	t.Helper()
	id, err := fs.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func keyOf(name string) store.StreamKey {
	return store.StreamKey{Account: DefaultCaller.Account, Region: DefaultCaller.Region, Name: name}
}

// streamID reads a stream's ID from storage, past the rules.
func streamID(t *testing.T, fs *faultstore.Backend, name string) string {
	t.Helper()
	st, _, err := fs.Inner().Get(ctx, keyOf(name))
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

// answeredAsInternal reports whether the wire layer (internal/wire,
// errorTable) answers err with InternalFailure: it does for ErrInternal
// and for every error of none of the kinds it maps to a client error.
func answeredAsInternal(err error) bool {
	if err == nil {
		return false
	}
	for _, k := range []error{ErrResourceNotFound, ErrResourceInUse, ErrInvalidArgument, ErrLimitExceeded,
		ErrExpiredIterator, ErrExpiredNextToken, ErrProvisionedThroughputExceeded, ErrValidation, ErrAccessDenied} {
		if errors.Is(err, k) {
			return false
		}
	}
	return true
}

// wantStoreFailure checks err is the injected fault, passed on so that
// the client sees InternalFailure.
func wantStoreFailure(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, faultstore.ErrInjected) || !answeredAsInternal(err) {
		t.Fatalf("got %v, want the injected store error, answered as InternalFailure", err)
	}
}

const (
	lowKey  = "0"
	highKey = "340282366920938463463374607431768211455"
)

// PutRecords writes each shard in one append; one failing append fails
// exactly its shard's entries, with AWS's per-entry InternalFailure, and
// the rest are stored.
func TestPutRecordsOneShardAppendFails(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "pf", 2)
	bad := store.ShardRef{StreamID: streamID(t, fs, "pf"), Shard: 1}
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpAppend, Shard: &bad})

	// Shard 0 gets even entries, shard 1 odd ones.
	var in []api.PutRecordsRequestEntry
	for i := range 7 {
		h := lowKey
		if i%2 == 1 {
			h = highKey
		}
		in = append(in, api.PutRecordsRequestEntry{PartitionKey: ptr("k"), ExplicitHashKey: ptr(h), Data: []byte(fmt.Sprint("r", i))})
	}
	out, err := s.PutRecords(ctx, &api.PutRecordsInput{StreamName: ptr("pf"), Records: in})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedRecordCount != 3 || len(out.Records) != 7 {
		t.Fatalf("%d of %d failed, want 3 of 7", out.FailedRecordCount, len(out.Records))
	}
	var seqs []string
	for i, r := range out.Records {
		if i%2 == 1 {
			if r.ErrorCode == nil || *r.ErrorCode != "InternalFailure" || r.ErrorMessage == nil || *r.ErrorMessage != "Internal Service Failure" ||
				r.ShardId != nil || r.SequenceNumber != nil {
				t.Fatalf("entry %d on the failing shard: %+v", i, r)
			}
			continue
		}
		if r.ErrorCode != nil || r.ShardId == nil || *r.ShardId != "shardId-000000000000" || r.SequenceNumber == nil {
			t.Fatalf("entry %d on the healthy shard: %+v", i, r)
		}
		seqs = append(seqs, *r.SequenceNumber)
	}
	// One append per shard, no retry of a failure that is not a closed shard.
	if n := fs.Calls(faultstore.OpAppend); n != 2 {
		t.Fatalf("%d appends, want 2", n)
	}
	recs, _ := getAll(t, s, iter(t, s, "pf", "shardId-000000000000", api.TrimHorizon, nil, nil))
	if len(recs) != 4 {
		t.Fatalf("healthy shard holds %d records, want 4", len(recs))
	}
	for i, r := range recs {
		if string(r.Data) != fmt.Sprint("r", 2*i) || r.SequenceNumber != seqs[i] {
			t.Fatalf("record %d: %q at %s, want r%d at %s", i, r.Data, r.SequenceNumber, 2*i, seqs[i])
		}
	}
	if recs, _ := getAll(t, s, iter(t, s, "pf", "shardId-000000000001", api.TrimHorizon, nil, nil)); len(recs) != 0 {
		t.Fatalf("failing shard holds %d records", len(recs))
	}
}

// A failed PutRecord append is the store's error, which the wire layer
// answers with InternalFailure; nothing is stored, and the next call works.
func TestPutRecordAppendFails(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "p1", 1)
	id := addRule(t, fs, faultstore.Rule{Op: faultstore.OpAppend})
	_, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("p1"), PartitionKey: ptr("k"), Data: []byte("lost")})
	wantStoreFailure(t, err)
	if n := fs.Calls(faultstore.OpAppend); n != 1 {
		t.Fatalf("%d appends, want 1: only a closed shard is retried", n)
	}
	fs.Remove(id)
	put(t, s, "p1", "k", "kept")
	recs, _ := getAll(t, s, iter(t, s, "p1", "shardId-000000000000", api.TrimHorizon, nil, nil))
	if len(recs) != 1 || string(recs[0].Data) != "kept" {
		t.Fatalf("stored %+v, want only the second record", recs)
	}
}

// An append that finds its shard closed (store.ErrNotFound) re-reads the
// shard map and tries again; if it never succeeds the stream is reported
// missing.
func TestPutRecordRetriesNotFound(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "nf", 1)
	id := addRule(t, fs, faultstore.Rule{Op: faultstore.OpAppend, Nth: 1, Err: store.ErrNotFound})
	out := put(t, s, "nf", "k", "second try")
	if n := fs.Calls(faultstore.OpAppend); n != 2 || fs.Fired(id) != 1 {
		t.Fatalf("%d appends, %d failed; want 2 and 1", n, fs.Fired(id))
	}
	recs, _ := getAll(t, s, iter(t, s, "nf", out.ShardId, api.TrimHorizon, nil, nil))
	if len(recs) != 1 || recs[0].SequenceNumber != out.SequenceNumber {
		t.Fatalf("stored %+v", recs)
	}

	fs.Remove(id)
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpAppend, Err: store.ErrNotFound})
	before := fs.Calls(faultstore.OpAppend)
	_, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: ptr("nf"), PartitionKey: ptr("k"), Data: []byte("x")})
	wantErr(t, err, ErrResourceNotFound, "Stream nf under account 000000000000 not found.")
	if n := fs.Calls(faultstore.OpAppend) - before; n != maxRouteAttempts+1 {
		t.Fatalf("%d appends, want %d", n, maxRouteAttempts+1)
	}
}

// Reads that fail in storage answer InternalFailure, and leave the
// iterator usable; a log gone under the reader is a missing shard.
func TestGetRecordsStoreFailures(t *testing.T) {
	s, c, fs := faultService(t)
	mustCreate(t, s, c, "gr", 1)
	for i := range 5 {
		put(t, s, "gr", "k", fmt.Sprint(i))
	}
	it := iter(t, s, "gr", "shardId-000000000000", api.TrimHorizon, nil, nil)
	get := func() (*api.GetRecordsOutput, error) {
		return s.GetRecords(ctx, &api.GetRecordsInput{ShardIterator: &it, Limit: ptr(int64(2))})
	}

	id := addRule(t, fs, faultstore.Rule{Op: faultstore.OpRead})
	_, err := get()
	wantStoreFailure(t, err)
	fs.Remove(id)

	// With more records than the limit, GetRecords asks Tip for the lag.
	id = addRule(t, fs, faultstore.Rule{Op: faultstore.OpTip})
	_, err = get()
	wantStoreFailure(t, err)
	fs.Remove(id)

	id = addRule(t, fs, faultstore.Rule{Op: faultstore.OpRead, Err: store.ErrNotFound})
	_, err = get()
	wantErr(t, err, ErrResourceNotFound, "Shard shardId-000000000000 in stream gr under account 000000000000 does not exist")
	fs.Remove(id)

	out, err := get()
	if err != nil || len(out.Records) != 2 || string(out.Records[0].Data) != "0" {
		t.Fatalf("retry with the same iterator: %+v, %v", out, err)
	}

	// GetShardIterator's own store calls fail the same way.
	id = addRule(t, fs, faultstore.Rule{Op: faultstore.OpTip})
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("gr"), ShardId: ptr("shardId-000000000000"), ShardIteratorType: ptr(api.Latest)})
	wantStoreFailure(t, err)
	fs.Remove(id)
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpSeekTime})
	past := time.Now().Add(-time.Minute)
	_, err = s.GetShardIterator(ctx, &api.GetShardIteratorInput{StreamName: ptr("gr"), ShardId: ptr("shardId-000000000000"),
		ShardIteratorType: ptr(api.AtTimestamp), Timestamp: &api.Time{Time: past}})
	wantStoreFailure(t, err)
}

// logRecorder notes every shard log the service creates, through a rule
// that never fires.
func logRecorder(t *testing.T, fs *faultstore.Backend) func() []store.ShardRef {
	var mu sync.Mutex
	var refs []store.ShardRef
	addRule(t, fs, faultstore.Rule{Op: faultstore.OpCreateShard, Match: func(c faultstore.Call) bool {
		mu.Lock()
		refs = append(refs, c.Shard)
		mu.Unlock()
		return false
	}})
	return func() []store.ShardRef {
		mu.Lock()
		defer mu.Unlock()
		return append([]store.ShardRef(nil), refs...)
	}
}

func listed(t *testing.T, s *Service, name string) bool {
	t.Helper()
	out, err := s.ListStreams(ctx, &api.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range out.StreamNames {
		if n == name {
			return true
		}
	}
	return false
}

// CreateStream writes the shard logs, then the metadata. When either
// step fails for sure, nothing is left: no stream, no logs, and the name
// is free.
func TestCreateStreamFailureLeavesNothing(t *testing.T) {
	for _, rule := range []faultstore.Rule{
		{Op: faultstore.OpPut},
		{Op: faultstore.OpCreateShard, Nth: 2},
	} {
		t.Run(rule.Op.String(), func(t *testing.T) {
			s, c, fs := faultService(t)
			created := logRecorder(t, fs)
			id := addRule(t, fs, rule)
			_, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("half"), ShardCount: ptr(int64(3))})
			wantStoreFailure(t, err)
			if listed(t, s, "half") {
				t.Fatal("ListStreams shows the failed stream")
			}
			_, err = s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("half")})
			wantErr(t, err, ErrResourceNotFound, "Stream half under account 000000000000 not found.")
			if len(created()) == 0 {
				t.Fatal("no log was created: the fault hit nothing")
			}
			for _, ref := range created() {
				if _, err := fs.Inner().Tip(ctx, ref); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("log %+v left behind: %v", ref, err)
				}
			}
			fs.Remove(id)
			mustCreate(t, s, c, "half", 3)
			put(t, s, "half", "k", "v")
		})
	}
}

// A Put whose reply is lost stored the stream all the same. CreateStream
// must then not drop the logs of a stream that exists: it checks, and
// reports success. When even the check fails, it answers InternalFailure
// but keeps the logs, so the stream that may exist is whole.
func TestCreateStreamLostPutReply(t *testing.T) {
	t.Run("checked", func(t *testing.T) {
		s, c, fs := faultService(t)
		addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, After: true, Nth: 1})
		if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("lost"), ShardCount: ptr(int64(2))}); err != nil {
			t.Fatalf("CreateStream whose Put landed: %v", err)
		}
		c.Add(time.Second)
		wantWhole(t, s, "lost", 2)
	})
	t.Run("unknown", func(t *testing.T) {
		s, c, fs := faultService(t)
		k := keyOf("lost")
		addRule(t, fs, faultstore.Rule{Op: faultstore.OpPut, After: true, Nth: 1})
		check := addRule(t, fs, faultstore.Rule{Op: faultstore.OpGet, Stream: &k, Nth: 1})
		_, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("lost"), ShardCount: ptr(int64(2))})
		wantStoreFailure(t, err)
		if fs.Fired(check) != 1 {
			t.Fatal("CreateStream did not look for the stream after the failed Put")
		}
		c.Add(time.Second)
		wantWhole(t, s, "lost", 2)
	})
}

// wantWhole checks a stream is listed, ACTIVE, and takes and serves
// records on every shard.
func wantWhole(t *testing.T, s *Service, name string, shards int) {
	t.Helper()
	if !listed(t, s, name) {
		t.Fatalf("%s is not listed", name)
	}
	for i := range shards {
		h := lowKey
		if i == shards-1 {
			h = highKey
		}
		out, err := s.PutRecord(ctx, &api.PutRecordInput{StreamName: &name, PartitionKey: ptr("k"), ExplicitHashKey: &h, Data: []byte("v")})
		if err != nil {
			t.Fatalf("PutRecord to %s: %v", name, err)
		}
		if recs, _ := getAll(t, s, iter(t, s, name, out.ShardId, api.TrimHorizon, nil, nil)); len(recs) != 1 {
			t.Fatalf("%s of %s holds %d records", out.ShardId, name, len(recs))
		}
	}
}
