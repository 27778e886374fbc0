package kinesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/domain/hashkey"
	"github.com/rivulet/rivulet/internal/domain/iterator"
	"github.com/rivulet/rivulet/internal/domain/seqnum"
	"github.com/rivulet/rivulet/internal/store"
)

// writable loads a stream that accepts records, from the store's cache
// unless fresh is set. AWS answers writes to a stream that is not ACTIVE or
// UPDATING as if it did not exist.
func (s *Service) writable(ctx context.Context, k store.StreamKey, fresh bool) (*store.Stream, error) {
	var st *store.Stream
	var err error
	if fresh {
		st, _, err = s.load(ctx, k)
	} else {
		st, err = s.loadCached(ctx, k)
	}
	if err != nil {
		return nil, err
	}
	if st.Status != api.StatusActive && st.Status != api.StatusUpdating {
		return nil, notFound(k)
	}
	return st, nil
}

// router finds the open shard whose hash range holds a key. Parsing the
// ranges once per request, not once per record, matters for PutRecords.
type router []routeEntry

type routeEntry struct {
	r  hashkey.Range
	sh *store.Shard
}

func newRouter(st *store.Stream) router {
	rt := make(router, 0, len(st.Shards))
	for i := range st.Shards {
		sh := &st.Shards[i]
		if sh.Closed == nil {
			rt = append(rt, routeEntry{hashkey.Range{Start: hashkey.MustParse(sh.StartHash), End: hashkey.MustParse(sh.EndHash)}, sh})
		}
	}
	return rt
}

func (rt router) route(h hashkey.Key) *store.Shard {
	for _, e := range rt {
		if e.r.Contains(h) {
			return e.sh
		}
	}
	return nil
}

func hashOf(pk string, explicit *string) (hashkey.Key, error) {
	if explicit == nil {
		return hashkey.FromPartitionKey(pk), nil
	}
	h, err := hashkey.Parse(*explicit)
	if err != nil {
		return h, Errorf(ErrInvalidArgument, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", *explicit)
	}
	return h, nil
}

func blobText(n int) string {
	return fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", n, n)
}

func (s *Service) checkRecordSize(st *store.Stream, path string, data []byte, pk string) error {
	limit := st.MaxRecordSizeKiB * 1024
	if len(data)+len(pk) <= limit {
		return nil
	}
	return Errorf(ErrValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d",
		blobText(len(data)), path, limit-len(pk))
}

// seqFor is the sequence number of position p in a shard: a record's,
// carrying its arrival, or (zero arrival) one that names no record, dated
// at the shard's creation.
func (s *Service) seqFor(st *store.Stream, shard int, p store.Position, arrival time.Time) string {
	created := shardCreated(st, shard)
	at := created
	if !arrival.IsZero() {
		at = seqnum.Secs(arrival.Unix())
	}
	return seqnum.Format(seqnum.Parts{Shard: shard, Seq: p.Seq, Sub: p.Sub, ShardCreated: created, Arrival: at})
}

// shardCreated is the creation second a shard's sequence numbers carry.
// Metadata written before shards kept their own creation time falls back
// to the stream's.
func shardCreated(st *store.Stream, idx int) int64 {
	var sh *store.Shard
	if idx >= 0 && idx < len(st.Shards) && st.Shards[idx].Index == idx {
		sh = &st.Shards[idx] // the usual layout; spares a search per record
	} else {
		sh = findShard(st, idx)
	}
	t := st.Created
	if sh != nil && !sh.Created.IsZero() {
		t = sh.Created
	}
	return seqnum.Secs(t.Unix())
}

// PutRecord stores one record.
func (s *Service) PutRecord(ctx context.Context, in *api.PutRecordInput) (*api.PutRecordOutput, error) {
	start := s.startClock()
	if err := validatePutRecord(in, true); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	st, err := s.writable(ctx, k, false)
	if err != nil {
		return nil, err
	}
	if in.PartitionKey == nil {
		if !spreads(st) {
			return nil, validatePutRecord(in, false)
		}
		in.PartitionKey = ptr("") // AUTO ignores keys; one missing is stored empty
	}
	m := s.recorderFor(k, st)
	out, shard, refused, err := s.putRecord(ctx, k, st, in)
	m.putRecord(start, shard, len(in.Data)+len(*in.PartitionKey), err == nil, refused)
	return out, err
}

// putRecord is PutRecord on a stream that accepts records. It also
// returns the shard it wrote to or was refused on (-1: none) and whether
// the limits refused it.
func (s *Service) putRecord(ctx context.Context, k store.StreamKey, st *store.Stream, in *api.PutRecordInput) (*api.PutRecordOutput, int, bool, error) {
	if err := s.checkRecordSize(st, "data", in.Data, *in.PartitionKey); err != nil {
		return nil, -1, false, err
	}
	var h hashkey.Key
	if !spreads(st) { // AUTO ignores keys and explicit hash keys
		var err error
		if h, err = hashOf(*in.PartitionKey, in.ExplicitHashKey); err != nil {
			return nil, -1, false, err
		}
	}
	if o := in.SequenceNumberForOrdering; o != nil && *o != "0" {
		if _, err := seqnum.Parse(*o); err != nil {
			return nil, -1, false, Errorf(ErrInvalidArgument, "ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.", *o, k.Name, k.Account)
		}
	}
	size := len(in.Data) + len(*in.PartitionKey)
	for attempt := 0; ; attempt++ {
		sh := place(st, newRouter(st), h)
		if sh == nil {
			return nil, -1, false, Errorf(ErrInternal, "no open shard covers hash key %s", h)
		}
		z, err := s.writeSealer(ctx, st)
		if err != nil {
			return nil, -1, false, err
		}
		if s.cfg.Limits != nil && !s.cfg.Limits.Write(k, sh.Index, 1, size) {
			return nil, sh.Index, true, throttled(k, sh.Index)
		}
		entries := []store.Entry{{PartitionKey: *in.PartitionKey, Data: in.Data}}
		z.seal(entries, sh.Index)
		pos, err := s.be.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: sh.Index}, entries)
		if errors.Is(err, store.ErrNotFound) && attempt < maxRouteAttempts {
			// The shard closed under us, or its log is not there yet:
			// re-read the shard map (which finishes a pending reshard).
			if st, err = s.rerouteWait(ctx, k, attempt); err != nil {
				return nil, -1, false, err
			}
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, -1, false, notFound(k)
		}
		if err != nil {
			return nil, -1, false, err
		}
		if st.Mode == api.ModeOnDemand {
			s.scaler.record(k, sh.Index, 1, size)
		}
		return &api.PutRecordOutput{ShardId: ShardID(sh.Index), SequenceNumber: s.seqFor(st, sh.Index, pos[0], pos[0].Time), EncryptionType: encryptionOf(st)}, sh.Index, false, nil
	}
}

// maxRouteAttempts bounds how often a write re-reads the shard map after
// finding its shard closed.
const maxRouteAttempts = 10

func (s *Service) rerouteWait(ctx context.Context, k store.StreamKey, attempt int) (*store.Stream, error) {
	if attempt > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
	return s.writable(ctx, k, true)
}

func throttled(k store.StreamKey, shard int) error {
	return Errorf(ErrProvisionedThroughputExceeded, "%s", throttleMessage(k, shard))
}

// readThrottled is GetRecords' throttle. Today's AWS words it unlike the
// write throttle (risingwave#7453 in 2023, amazon-kinesis-client#1521).
func readThrottled(k store.StreamKey, shard int) error {
	return Errorf(ErrProvisionedThroughputExceeded, "Rate exceeded for Shard - %s/%s/%s", k.Account, k.Name, ShardID(shard))
}

func throttleMessage(k store.StreamKey, shard int) string {
	return fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", ShardID(shard), k.Name, k.Account)
}

// PutRecords stores up to 500 records. Records bound for one shard go to
// storage in one append, and shards are written in parallel; a shard whose
// append fails fails only its own entries.
func (s *Service) PutRecords(ctx context.Context, in *api.PutRecordsInput) (*api.PutRecordsOutput, error) {
	start := s.startClock()
	if err := validatePutRecords(in, true); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	st, err := s.writable(ctx, k, false)
	if err != nil {
		return nil, err
	}
	for i := range in.Records {
		if in.Records[i].PartitionKey != nil {
			continue
		}
		if !spreads(st) {
			return nil, validatePutRecords(in, false)
		}
		in.Records[i].PartitionKey = ptr("")
	}
	m := s.recorderFor(k, st)
	res, err := s.putRecords(ctx, k, st, in, &m)
	if err != nil {
		m.putRecords(start, len(in.Records), nil)
		return nil, err
	}
	m.putRecords(start, len(in.Records), &res.putTally)
	return res.out, nil
}

// putResults is a PutRecords answer being filled in, with its tally for
// the metrics.
type putResults struct {
	out *api.PutRecordsOutput
	putTally
}

// fail fails entry i with an AWS error code.
func (r *putResults) fail(i int, code, msg string) {
	r.out.Records[i].ErrorCode, r.out.Records[i].ErrorMessage = ptr(code), ptr(msg)
	r.out.FailedRecordCount++
	if code == errThrottledCode {
		r.throttled++
	} else {
		r.failed++
	}
}

// putRecords is PutRecords on a stream that accepts records.
func (s *Service) putRecords(ctx context.Context, k store.StreamKey, st *store.Stream, in *api.PutRecordsInput, m *recorder) (*putResults, error) {
	total := 0
	limit := st.MaxRecordSizeKiB * 1024
	for i, r := range in.Records {
		n := len(r.Data) + len(*r.PartitionKey)
		if n > limit { // the path is built only for the message
			return nil, s.checkRecordSize(st, fmt.Sprintf("records.%d.member.data", i+1), r.Data, *r.PartitionKey)
		}
		total += n
	}
	if total > maxPutRecordsBytes {
		return nil, Errorf(ErrInvalidArgument, "Records size exceeds %d bytes limit", maxPutRecordsBytes)
	}
	hashes := make([]hashkey.Key, len(in.Records))
	var err error
	for i, r := range in.Records {
		if spreads(st) {
			break // AUTO ignores keys and explicit hash keys
		}
		if hashes[i], err = hashOf(*r.PartitionKey, r.ExplicitHashKey); err != nil {
			return nil, err
		}
	}
	res := &putResults{out: &api.PutRecordsOutput{Records: make([]api.PutRecordsResultEntry, len(in.Records))}}
	todo := make([]int, len(in.Records))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if st, err = s.rerouteWait(ctx, k, attempt-1); err != nil {
				return nil, err
			}
		}
		z, err := s.writeSealer(ctx, st)
		if err != nil {
			return nil, err
		}
		res.out.EncryptionType = encryptionOf(st)
		retry, missing := s.putGroups(ctx, st, k, z, in.Records, hashes, todo, res, m, attempt < maxRouteAttempts)
		if missing && int(res.out.FailedRecordCount) == len(in.Records) {
			return nil, notFound(k)
		}
		todo = retry
	}
	return res, nil
}

// putGroups appends the entries in todo, grouped by shard, one goroutine
// per shard. Entries whose shard turned out closed are returned for
// another try when retry is set.
func (s *Service) putGroups(ctx context.Context, st *store.Stream, k store.StreamKey, z *sealer, recs []api.PutRecordsRequestEntry,
	hashes []hashkey.Key, todo []int, res *putResults, m *recorder, retry bool) (again []int, missing bool) {
	type group struct {
		shard   int
		idx     []int
		entries []store.Entry
		// For the metrics: entries refused for throughput, and what
		// the append stored.
		throttled, stored, bytes int
	}
	groups := map[int]*group{}
	var order []*group
	rt := newRouter(st)
	for _, i := range todo {
		r := recs[i]
		sh := place(st, rt, hashes[i])
		if sh == nil {
			res.fail(i, "InternalFailure", "Internal Service Failure")
			continue
		}
		g := groups[sh.Index]
		if g == nil {
			g = &group{shard: sh.Index}
			groups[sh.Index] = g
			order = append(order, g)
		}
		if s.cfg.Faults != nil {
			if code, msg := s.cfg.Faults.Entry(k, sh.Index); code != "" {
				res.fail(i, code, msg)
				if code == errThrottledCode {
					g.throttled++
				}
				continue
			}
		}
		if s.cfg.Limits != nil && !s.cfg.Limits.Write(k, sh.Index, 1, len(r.Data)+len(*r.PartitionKey)) {
			res.fail(i, errThrottledCode, throttleMessage(k, sh.Index))
			g.throttled++
			continue
		}
		g.idx = append(g.idx, i)
		g.entries = append(g.entries, store.Entry{PartitionKey: *r.PartitionKey, Data: r.Data})
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	out := res.out
	for _, g := range order {
		if len(g.entries) == 0 {
			continue // every entry was refused
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Sizes for the scaler and the metrics are the records', not
			// the sealed ones'.
			bytes := 0
			for _, e := range g.entries {
				bytes += len(e.Data) + len(e.PartitionKey)
			}
			z.seal(g.entries, g.shard)
			pos, err := s.be.Append(ctx, store.ShardRef{StreamID: st.ID, Shard: g.shard}, g.entries)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, store.ErrNotFound) && retry {
				again = append(again, g.idx...)
				return
			}
			if err != nil {
				missing = missing || errors.Is(err, store.ErrNotFound)
				msg := "Internal Service Failure"
				if errors.Is(err, store.ErrFull) {
					msg = fullMessage
					s.log.Debug("append refused: storage full", "stream", k.Name, "shard", g.shard, "err", err)
				} else {
					s.log.Warn("append failed", "stream", k.Name, "shard", g.shard, "err", err)
				}
				for _, i := range g.idx {
					res.fail(i, "InternalFailure", msg)
				}
				return
			}
			// One shard ID for every entry of the shard.
			id := ShardID(g.shard)
			for j, i := range g.idx {
				out.Records[i].ShardId, out.Records[i].SequenceNumber = &id, ptr(s.seqFor(st, g.shard, pos[j], pos[j].Time))
			}
			g.stored, g.bytes = len(g.idx), bytes
			res.stored += g.stored
			res.storedBytes += bytes
			if st.Mode == api.ModeOnDemand {
				s.scaler.record(k, g.shard, len(g.idx), bytes)
			}
		}()
	}
	wg.Wait()
	for _, g := range order {
		m.putShard(g.shard, g.stored, g.bytes, g.throttled)
	}
	slices.Sort(again) // keep request order within a shard on the next try
	return again, missing
}

func shardMissing(k store.StreamKey, shardID string) error {
	return Errorf(ErrResourceNotFound, "Shard %s in stream %s under account %s does not exist", shardID, k.Name, k.Account)
}

// GetShardIterator returns a signed read position in one shard.
func (s *Service) GetShardIterator(ctx context.Context, in *api.GetShardIteratorInput) (*api.GetShardIteratorOutput, error) {
	return s.shardIterator(ctx, in, true)
}

// shardIterator is GetShardIterator. limited says whether the call counts
// against the shard's GetShardIterator rate: SubscribeToShard's starting
// position is resolved here too, and has its own rate.
func (s *Service) shardIterator(ctx context.Context, in *api.GetShardIteratorInput, limited bool) (*api.GetShardIteratorOutput, error) {
	if err := validateGetShardIterator(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	idx, ok := parseShardID(*in.ShardId)
	if !ok {
		return nil, Errorf(ErrResourceNotFound, "Could not find shard %s in stream %s under account %s.", *in.ShardId, k.Name, k.Account)
	}
	shardID := ShardID(idx)
	st, _, err := s.load(ctx, k)
	if errors.Is(err, store.ErrFull) {
		return nil, err
	}
	if err != nil {
		return nil, shardMissing(k, shardID)
	}
	if st.Status != api.StatusActive && st.Status != api.StatusUpdating {
		return nil, notFound(k)
	}
	sh := findShard(st, idx)
	if sh == nil {
		return nil, shardMissing(k, shardID)
	}
	if limited && s.cfg.Limits != nil && !s.cfg.Limits.ShardIterator(k, idx) {
		return nil, throttled(k, idx)
	}
	ref := store.ShardRef{StreamID: st.ID, Shard: idx}
	typ := *in.ShardIteratorType
	it := iterator.Iterator{Issued: s.now(), StreamID: st.ID, Account: k.Account, Region: k.Region, Stream: k.Name, Shard: idx}
	withSeq := typ == api.AtSequenceNumber || typ == api.AfterSequenceNumber
	if in.StartingSequenceNumber != nil && !withSeq {
		return nil, Errorf(ErrInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and also a StartingSequenceNumber.", typ)
	}
	switch typ {
	case api.AtSequenceNumber, api.AfterSequenceNumber:
		if in.StartingSequenceNumber == nil {
			return nil, Errorf(ErrInvalidArgument, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified %s and no StartingSequenceNumber.", typ)
		}
		seq := *in.StartingSequenceNumber
		p, err := seqnum.Parse(seq)
		if err != nil {
			return nil, Errorf(ErrInvalidArgument, "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", seq, shardID, k.Name, k.Account)
		}
		if p.Shard != idx {
			return nil, Errorf(ErrInvalidArgument, "Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", ShardID(p.Shard), shardID)
		}
		if p.Legacy && p.Epoch != st.Created.UnixMilli()%1e16 || !p.Legacy && p.ShardCreated != shardCreated(st, idx) {
			return nil, Errorf(ErrInvalidArgument, "StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid because it did not come from this stream.", seq, shardID, k.Name, k.Account)
		}
		it.Seq, it.Sub = p.Seq, p.Sub
		if typ == api.AfterSequenceNumber {
			it.Sub++ // past the end of a message, the reader moves to the next
		}
	case api.TrimHorizon:
		// Seq 0 reads from the oldest message the log still holds.
	case api.Latest:
		tip, err := s.be.Tip(ctx, ref)
		if err != nil {
			return nil, s.readErr(err, k, shardID)
		}
		it.Seq = tip.LastSeq + 1
	case api.AtTimestamp:
		if in.Timestamp == nil {
			return nil, Errorf(ErrInvalidArgument, "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		ts := in.Timestamp.Time
		if ts.After(s.now()) {
			return nil, Errorf(ErrInvalidArgument, "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: %d, currentTimestampInMillis: %d", ts.UnixMilli(), s.now().UnixMilli())
		}
		seq, err := s.be.SeekTime(ctx, ref, ts)
		if err != nil {
			return nil, s.readErr(err, k, shardID)
		}
		it.Seq, it.NotBefore = seq, ts
	}
	key, err := s.secretKey(ctx)
	if err != nil {
		return nil, err
	}
	return &api.GetShardIteratorOutput{ShardIterator: iterator.Encode(key, it)}, nil
}

func (s *Service) readErr(err error, k store.StreamKey, shardID string) error {
	if errors.Is(err, store.ErrNotFound) {
		return shardMissing(k, shardID)
	}
	return err
}

// awsDate formats times as Java's Date.toString does in UTC, which is how
// AWS prints them in ExpiredIteratorException.
func awsDate(t time.Time) string { return t.UTC().Format("Mon Jan 02 15:04:05 UTC 2006") }

// readBatch is how many stored messages one storage read asks for.
const readBatch = 256

// readChunk bounds the bytes of one storage read. A 10 MiB GetRecords in
// one read had the whole batch in flight at once in NATS's buffers and
// again in the client's; smaller reads keep peak memory down at the cost
// of a few more round trips.
const readChunk = 2 << 20

// GetRecords reads from an iterator's position.
func (s *Service) GetRecords(ctx context.Context, in *api.GetRecordsInput) (*api.GetRecordsOutput, error) {
	start := s.startClock()
	if err := validateGetRecords(in); err != nil {
		return nil, err
	}
	key, err := s.secretKey(ctx)
	if err != nil {
		return nil, err
	}
	it, err := iterator.Decode(key, *in.ShardIterator)
	if err != nil {
		return nil, Errorf(ErrInvalidArgument, "Invalid ShardIterator.")
	}
	now := s.now()
	if it.Expired(now) {
		return nil, Errorf(ErrExpiredIterator, "Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			awsDate(it.Issued), awsDate(now), iterator.TTL.Milliseconds())
	}
	k := store.StreamKey{Account: it.Account, Region: it.Region, Name: it.Stream}
	shardID := ShardID(it.Shard)
	if in.StreamARN != nil && *in.StreamARN != StreamARN(k) {
		return nil, Errorf(ErrInvalidArgument, "Invalid ShardIterator.")
	}
	if err := s.authorize(ctx, "kinesis:GetRecords", k, "", StreamARN(k)); err != nil {
		return nil, err
	}
	st, err := s.loadCached(ctx, k)
	if err == nil && (st.ID != it.StreamID || findShard(st, it.Shard) == nil) {
		// The cached copy may predate a re-created stream or a new shard.
		st, _, err = s.load(ctx, k)
	}
	if err != nil || st.ID != it.StreamID {
		return nil, shardMissing(k, shardID)
	}
	shard := findShard(st, it.Shard)
	if shard == nil {
		return nil, shardMissing(k, shardID)
	}
	m := s.recorderFor(k, st)
	if s.cfg.Limits != nil && !s.cfg.Limits.Read(k, it.Shard) {
		m.getRecords(start, shardID, true, nil, 0)
		return nil, readThrottled(k, it.Shard)
	}
	out, res, atTip, err := s.getRecords(ctx, in, key, it, now, k, st, shard)
	if err != nil {
		m.getRecords(start, shardID, false, nil, 0)
		return nil, err
	}
	m.getRecords(start, shardID, false, &res, iteratorAge(now, &res, atTip))
	return out, nil
}

// getRecords is GetRecords on a shard that exists, once the limits let
// it read. For the metrics, it also returns what it read and whether
// that reached the latest record of the shard.
func (s *Service) getRecords(ctx context.Context, in *api.GetRecordsInput, key []byte, it iterator.Iterator, now time.Time,
	k store.StreamKey, st *store.Stream, shard *store.Shard) (*api.GetRecordsOutput, readResult, bool, error) {
	limit := 10000
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	ref := store.ShardRef{StreamID: st.ID, Shard: it.Shard}
	// The read loop is shared with SubscribeToShard (subscribe.go).
	res, err := s.readShard(ctx, st, it.Shard, store.Position{Seq: it.Seq, Sub: it.Sub}, it.NotBefore, limit, maxGetRecordsBytes)
	if err != nil {
		return nil, readResult{}, false, s.readErr(err, k, ShardID(it.Shard))
	}
	out := &api.GetRecordsOutput{Records: res.Records}
	next, bytes, caughtUp, lastTime := res.Next, res.Bytes, res.CaughtUp, res.LastTime
	if s.cfg.Limits != nil {
		s.cfg.Limits.ReadDone(k, it.Shard, bytes)
	}
	if caughtUp && shard.Closed != nil && !shard.Pending {
		// SHARD_END: no iterator, and where to go next.
		out.ChildShards = childShards(st, it.Shard)
		return out, res, true, nil
	}
	atTip := caughtUp
	if !caughtUp {
		tip, err := s.be.Tip(ctx, ref)
		if err != nil {
			return nil, readResult{}, false, s.readErr(err, k, ShardID(it.Shard))
		}
		atTip = next.Seq > tip.LastSeq
		if !atTip && !lastTime.IsZero() {
			out.MillisBehindLatest = max(0, tip.LastTime.Sub(lastTime).Milliseconds())
		}
	}
	nextIt := it
	nextIt.Issued, nextIt.Seq, nextIt.Sub = now, next.Seq, next.Sub
	tok := iterator.Encode(key, nextIt)
	out.NextShardIterator = &tok
	return out, res, atTip, nil
}
