package e2e

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The resharding tests use only the public API through aws-sdk-go-v2 and
// read streams as the KCL does. A short --reshard-delay keeps the UPDATING
// phase of every reshard brief.
const reshardDelay = "200ms"

// hashSpace is 2^128, one past the largest hash key.
var hashSpace = new(big.Int).Lsh(big.NewInt(1), 128)

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("%q is not a decimal integer", s)
	}
	return v
}

func shardID(n int) string { return fmt.Sprintf("shardId-%012d", n) }

func hashRange(t *testing.T, sh types.Shard) (lo, hi *big.Int) {
	t.Helper()
	if sh.HashKeyRange == nil {
		t.Fatalf("%s has no HashKeyRange", aws.ToString(sh.ShardId))
	}
	return bigInt(t, aws.ToString(sh.HashKeyRange.StartingHashKey)), bigInt(t, aws.ToString(sh.HashKeyRange.EndingHashKey))
}

// midKey is the hash key halfway through the shard's range.
func midKey(t *testing.T, sh types.Shard) string {
	lo, hi := hashRange(t, sh)
	return new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1).String()
}

// uniformRanges is how AWS divides the hash key space into n shards: 2^128/n
// each, the last one taking the remainder.
func uniformRanges(n int) [][2]string {
	step := new(big.Int).Div(hashSpace, big.NewInt(int64(n)))
	out := make([][2]string, n)
	for i := range n {
		lo := new(big.Int).Mul(step, big.NewInt(int64(i)))
		hi := new(big.Int).Sub(new(big.Int).Add(lo, step), big.NewInt(1))
		if i == n-1 {
			hi = new(big.Int).Sub(hashSpace, big.NewInt(1))
		}
		out[i] = [2]string{lo.String(), hi.String()}
	}
	return out
}

// partitionHash is a partition key's hash key: its MD5 as a 128-bit integer.
func partitionHash(key string) *big.Int {
	sum := md5.Sum([]byte(key))
	return new(big.Int).SetBytes(sum[:])
}

func parentsOf(sh types.Shard) []string {
	var out []string
	for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

func isOpen(sh types.Shard) bool {
	return sh.SequenceNumberRange == nil || sh.SequenceNumberRange.EndingSequenceNumber == nil
}

func openOnly(shards []types.Shard) []types.Shard {
	var out []types.Shard
	for _, sh := range shards {
		if isOpen(sh) {
			out = append(out, sh)
		}
	}
	return out
}

func shardIDs(shards []types.Shard) []string {
	out := make([]string, 0, len(shards))
	for _, sh := range shards {
		out = append(out, aws.ToString(sh.ShardId))
	}
	sort.Strings(out)
	return out
}

// sortByHash orders shards by StartingHashKey.
func sortByHash(t *testing.T, shards []types.Shard) []types.Shard {
	out := slices.Clone(shards)
	slices.SortFunc(out, func(a, b types.Shard) int {
		alo, _ := hashRange(t, a)
		blo, _ := hashRange(t, b)
		return alo.Cmp(blo)
	})
	return out
}

// adjacentPairs lists open shards (lower, upper) where lower's range ends
// right before upper's begins.
func adjacentPairs(t *testing.T, open []types.Shard) [][2]types.Shard {
	var out [][2]types.Shard
	byStart := sortByHash(t, open)
	for i := 0; i+1 < len(byStart); i++ {
		_, hi := hashRange(t, byStart[i])
		lo, _ := hashRange(t, byStart[i+1])
		if new(big.Int).Add(hi, big.NewInt(1)).Cmp(lo) == 0 {
			out = append(out, [2]types.Shard{byStart[i], byStart[i+1]})
		}
	}
	return out
}

// listShardsFilter lists a stream's shards with an optional ShardFilter,
// following NextToken (which AWS takes without StreamName).
func listShardsFilter(ctx context.Context, t *testing.T, c *kinesis.Client, name string, f *types.ShardFilter) []types.Shard {
	t.Helper()
	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name), ShardFilter: f}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatalf("ListShards %s (filter %+v): %v", name, f, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// splitShard splits sh at the middle of its range and waits for ACTIVE.
func splitShard(ctx context.Context, t *testing.T, c *kinesis.Client, name string, sh types.Shard) {
	t.Helper()
	_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String(name), ShardToSplit: sh.ShardId, NewStartingHashKey: aws.String(midKey(t, sh)),
	})
	if err != nil {
		t.Fatalf("SplitShard %s at %s: %v", aws.ToString(sh.ShardId), midKey(t, sh), err)
	}
	waitActive(ctx, t, c, name)
}

// mergeShards merges an adjacent pair, lower range first, and waits for
// ACTIVE.
func mergeShards(ctx context.Context, t *testing.T, c *kinesis.Client, name, lower, upper string) {
	t.Helper()
	_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{
		StreamName: aws.String(name), ShardToMerge: aws.String(lower), AdjacentShardToMerge: aws.String(upper),
	})
	if err != nil {
		t.Fatalf("MergeShards %s %s: %v", lower, upper, err)
	}
	waitActive(ctx, t, c, name)
}

// checkLineage checks the shard map is one that splits and merges make:
// a split child lies inside its parent's range, a merge child is exactly
// the union of its two adjacent parents, a parent is closed, and the open
// shards cover every hash key exactly once.
func checkLineage(t *testing.T, shards []types.Shard) {
	t.Helper()
	byID := make(map[string]types.Shard, len(shards))
	for _, sh := range shards {
		byID[aws.ToString(sh.ShardId)] = sh
	}
	one := big.NewInt(1)
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		lo, hi := hashRange(t, sh)
		if lo.Cmp(hi) > 0 || lo.Sign() < 0 || hi.Cmp(hashSpace) >= 0 {
			t.Errorf("%s: bad hash key range [%s, %s]", id, lo, hi)
		}
		var plo, phi *big.Int
		for i, pid := range parentsOf(sh) {
			p, listed := byID[pid]
			if !listed {
				continue // expired parents are not listed
			}
			if isOpen(p) {
				t.Errorf("%s: parent %s is still open", id, pid)
			}
			l, h := hashRange(t, p)
			if i == 0 {
				plo, phi = l, h
				continue
			}
			// Merged: the parents are adjacent, in either order.
			switch {
			case new(big.Int).Add(phi, one).Cmp(l) == 0:
				phi = h
			case new(big.Int).Add(h, one).Cmp(plo) == 0:
				plo = l
			default:
				t.Errorf("%s: parents %v are not adjacent", id, parentsOf(sh))
			}
		}
		switch {
		case plo == nil:
		case sh.AdjacentParentShardId != nil && (lo.Cmp(plo) != 0 || hi.Cmp(phi) != 0):
			t.Errorf("%s: merged range [%s, %s] is not its parents' union [%s, %s]", id, lo, hi, plo, phi)
		case lo.Cmp(plo) < 0 || hi.Cmp(phi) > 0:
			t.Errorf("%s: range [%s, %s] is outside its parent's [%s, %s]", id, lo, hi, plo, phi)
		}
	}
	next := new(big.Int)
	for _, sh := range sortByHash(t, openOnly(shards)) {
		lo, hi := hashRange(t, sh)
		if lo.Cmp(next) != 0 {
			t.Errorf("open shards: %s starts at %s, want %s (gap or overlap)", aws.ToString(sh.ShardId), lo, next)
		}
		next = new(big.Int).Add(hi, one)
	}
	if next.Cmp(hashSpace) != 0 {
		t.Errorf("open shards end at %s, want 2^128-1", new(big.Int).Sub(next, one))
	}
}

// kclReader reads a whole stream as the KCL does: a shard only once all of
// its listed parents are finished, a closed shard from TRIM_HORIZON to
// SHARD_END (a null NextShardIterator), an open one until caught up.
type kclReader struct {
	c      *kinesis.Client
	stream string
}

// readAll returns the records in processing order, which for any one
// partition key is the order a KCL application would see.
func (r kclReader) readAll(ctx context.Context, t *testing.T) []readRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	shards := listShardsFilter(ctx, t, r.c, r.stream, nil)
	listed := make(map[string]bool, len(shards))
	children := make(map[string][]types.Shard)
	for _, sh := range shards {
		listed[aws.ToString(sh.ShardId)] = true
		for _, p := range parentsOf(sh) {
			children[p] = append(children[p], sh)
		}
	}
	done := make(map[string]bool, len(shards))
	var out []readRecord
	for len(done) < len(shards) {
		progress := false
		for _, sh := range shards {
			id := aws.ToString(sh.ShardId)
			if done[id] {
				continue
			}
			ready := true
			for _, p := range parentsOf(sh) {
				if listed[p] && !done[p] {
					ready = false
				}
			}
			if !ready {
				continue
			}
			out = append(out, r.readShard(ctx, t, sh, children[id])...)
			done[id] = true
			progress = true
		}
		if !progress {
			t.Fatalf("no shard is ready to read; the parent links form a cycle: %+v", shards)
		}
	}
	return out
}

func (r kclReader) readShard(ctx context.Context, t *testing.T, sh types.Shard, children []types.Shard) []readRecord {
	t.Helper()
	id := aws.ToString(sh.ShardId)
	closed := !isOpen(sh)
	it, err := r.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(r.stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("GetShardIterator %s: %v", id, err)
	}
	start := aws.ToString(sh.SequenceNumberRange.StartingSequenceNumber)
	end := aws.ToString(sh.SequenceNumberRange.EndingSequenceNumber)
	iter := it.ShardIterator
	var out []readRecord
	empty := 0
	for {
		if ctx.Err() != nil {
			t.Fatalf("%s: not read to its end in time (closed %v, %d records so far)", id, closed, len(out))
		}
		res, err := r.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			var thr *types.ProvisionedThroughputExceededException
			if errors.As(err, &thr) {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			t.Fatalf("GetRecords %s: %v", id, err)
		}
		for _, rec := range res.Records {
			seq := aws.ToString(rec.SequenceNumber)
			if seqLess(seq, start) || closed && seqLess(end, seq) {
				t.Errorf("%s: record %s outside the shard's sequence number range [%s, %s]", id, seq, start, end)
			}
			out = append(out, readRecord{Shard: id, Seq: seq, PartitionKey: aws.ToString(rec.PartitionKey), Data: string(rec.Data)})
		}
		if res.NextShardIterator == nil {
			if !closed {
				t.Errorf("%s: GetRecords returned SHARD_END on an open shard", id)
			}
			checkChildShards(t, id, res.ChildShards, children)
			return out
		}
		if len(res.ChildShards) > 0 {
			t.Errorf("%s: ChildShards %+v before SHARD_END", id, res.ChildShards)
		}
		iter = res.NextShardIterator
		if len(res.Records) > 0 {
			empty = 0
			continue
		}
		if !closed && aws.ToInt64(res.MillisBehindLatest) == 0 {
			if empty++; empty == 2 {
				return out
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkChildShards compares GetRecords' ChildShards at SHARD_END with the
// listed shards that name id as a parent.
func checkChildShards(t *testing.T, id string, got []types.ChildShard, want []types.Shard) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: no ChildShards at SHARD_END", id)
		return
	}
	wantByID := make(map[string]types.Shard, len(want))
	for _, sh := range want {
		wantByID[aws.ToString(sh.ShardId)] = sh
	}
	var gotIDs []string
	for _, ch := range got {
		cid := aws.ToString(ch.ShardId)
		gotIDs = append(gotIDs, cid)
		w, ok := wantByID[cid]
		if !ok {
			continue
		}
		parents := slices.Clone(ch.ParentShards)
		wantParents := parentsOf(w)
		sort.Strings(parents)
		sort.Strings(wantParents)
		if !slices.Equal(parents, wantParents) {
			t.Errorf("%s: child %s has ParentShards %v, ListShards says %v", id, cid, ch.ParentShards, parentsOf(w))
		}
		if ch.HashKeyRange == nil || aws.ToString(ch.HashKeyRange.StartingHashKey) != aws.ToString(w.HashKeyRange.StartingHashKey) ||
			aws.ToString(ch.HashKeyRange.EndingHashKey) != aws.ToString(w.HashKeyRange.EndingHashKey) {
			t.Errorf("%s: child %s HashKeyRange %+v, ListShards says %+v", id, cid, ch.HashKeyRange, w.HashKeyRange)
		}
	}
	sort.Strings(gotIDs)
	if wantIDs := shardIDs(want); !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("%s: ChildShards %v, want %v", id, gotIDs, wantIDs)
	}
}

// recordData is a record's payload: its key and the key's counter.
func recordData(key string, n int) string { return fmt.Sprintf("%s|%06d", key, n) }

func parseRecordData(data string) (key string, n int, ok bool) {
	key, num, found := strings.Cut(data, "|")
	if !found {
		return "", 0, false
	}
	n, err := strconv.Atoi(num)
	return key, n, err == nil
}

// keyWriters put records from several goroutines, PutRecord and PutRecords
// mixed. Each partition key belongs to one writer, which numbers its
// records 1, 2, 3, ... and puts them one call after another, so any reader
// must see each key's counters increase.
type keyWriters struct {
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	acked   []ackedRecord
	unacked map[string]bool // data of puts whose outcome is unknown
}

// maxPerWriter bounds how much there is to read back.
const maxPerWriter = 5000

func startKeyWriters(ctx context.Context, t *testing.T, s *server, stream string, nKeys, nWriters int, seed uint64) *keyWriters {
	t.Helper()
	// One attempt per put: an SDK retry after a lost response would store a
	// record twice, and this test is about the server.
	c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	w := &keyWriters{stop: make(chan struct{}), unacked: make(map[string]bool)}
	for n := range nWriters {
		var mine []string
		for k := n; k < nKeys; k += nWriters {
			mine = append(mine, fmt.Sprintf("key-%02d", k))
		}
		w.wg.Add(1)
		go w.run(ctx, t, c, stream, mine, rand.New(rand.NewPCG(seed, uint64(n))))
	}
	t.Cleanup(func() { w.finish() })
	return w
}

func (w *keyWriters) running(ctx context.Context) bool {
	select {
	case <-w.stop:
		return false
	default:
		return ctx.Err() == nil
	}
}

func (w *keyWriters) run(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, keys []string, rng *rand.Rand) {
	defer w.wg.Done()
	var acked []ackedRecord
	unacked := make(map[string]bool)
	defer func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.acked = append(w.acked, acked...)
		for d := range unacked {
			w.unacked[d] = true
		}
	}()
	counter := make(map[string]int)
	next := func() (string, string) {
		k := keys[rng.IntN(len(keys))]
		counter[k]++
		return k, recordData(k, counter[k])
	}
	for len(acked) < maxPerWriter && w.running(ctx) {
		if rng.IntN(2) == 0 {
			key, data := next()
			out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(key), Data: []byte(data)})
			if err != nil {
				unacked[data] = true
				if w.running(ctx) {
					t.Errorf("PutRecord %s: %v", data, err)
				}
				return
			}
			acked = append(acked, ackedRecord{Shard: aws.ToString(out.ShardId), Seq: aws.ToString(out.SequenceNumber), PartitionKey: key, Data: data})
		} else {
			// A batch may hold the same key several times, in counter order.
			entries := make([]types.PutRecordsRequestEntry, 1+rng.IntN(10))
			for i := range entries {
				key, data := next()
				entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: []byte(data)}
			}
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				for _, e := range entries {
					unacked[string(e.Data)] = true
				}
				if w.running(ctx) {
					t.Errorf("PutRecords: %v", err)
				}
				return
			}
			if len(out.Records) != len(entries) {
				t.Errorf("PutRecords: %d results for %d entries", len(out.Records), len(entries))
				return
			}
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					// A failed entry was not stored; the reader must not see it.
					t.Errorf("PutRecords entry %s failed: %s %s", entries[i].Data, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
					continue
				}
				acked = append(acked, ackedRecord{Shard: aws.ToString(r.ShardId), Seq: aws.ToString(r.SequenceNumber),
					PartitionKey: aws.ToString(entries[i].PartitionKey), Data: string(entries[i].Data)})
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// finish stops the writers and returns what they put.
func (w *keyWriters) finish() ([]ackedRecord, map[string]bool) {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.unacked
}

// verifyKeyCounters checks that each key's counters increase in read order.
func verifyKeyCounters(t *testing.T, read []readRecord) {
	t.Helper()
	last := make(map[string]int)
	bad := 0
	for _, r := range read {
		key, n, ok := parseRecordData(r.Data)
		if !ok || key != r.PartitionKey {
			t.Errorf("%s %s: data %q does not match partition key %q", r.Shard, r.Seq, r.Data, r.PartitionKey)
			continue
		}
		if prev, seen := last[key]; seen && n <= prev {
			if bad++; bad <= 10 {
				t.Errorf("key %s: counter %d read after %d (%s %s)", key, n, prev, r.Shard, r.Seq)
			}
		}
		last[key] = n
	}
	if bad > 0 {
		t.Errorf("%d records read out of order for their key", bad)
	}
}

// verifyRouting checks every acknowledged record went to the shard whose
// hash key range holds its partition key's MD5.
func verifyRouting(t *testing.T, shards []types.Shard, acked []ackedRecord) {
	t.Helper()
	byID := make(map[string]types.Shard, len(shards))
	for _, sh := range shards {
		byID[aws.ToString(sh.ShardId)] = sh
	}
	bad := 0
	for _, a := range acked {
		sh, ok := byID[a.Shard]
		if !ok {
			t.Errorf("record %s acknowledged on %s, which ListShards does not list", a.Seq, a.Shard)
			continue
		}
		lo, hi := hashRange(t, sh)
		if h := partitionHash(a.PartitionKey); h.Cmp(lo) < 0 || h.Cmp(hi) > 0 {
			if bad++; bad <= 10 {
				t.Errorf("key %s (hash %s) acknowledged on %s, whose range is [%s, %s]", a.PartitionKey, h, a.Shard, lo, hi)
			}
		}
	}
}

// verifyExactlyOnce is the common check after reading a resharded stream.
func verifyExactlyOnce(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, acked []ackedRecord, unacked map[string]bool) []types.Shard {
	t.Helper()
	shards := listShardsFilter(ctx, t, c, stream, nil)
	checkLineage(t, shards)
	read := kclReader{c: c, stream: stream}.readAll(ctx, t)
	t.Logf("%d shards, %d records acknowledged, %d of unknown outcome, %d read", len(shards), len(acked), len(unacked), len(read))
	verifyDurable(t, acked, unacked, read)
	verifyKeyCounters(t, read)
	verifyRouting(t, shards, acked)

	// The writes must have spanned the reshards to test anything.
	perShard := make(map[string]int)
	for _, a := range acked {
		perShard[a.Shard]++
	}
	var inClosed, inChildren int
	for _, sh := range shards {
		n := perShard[aws.ToString(sh.ShardId)]
		if !isOpen(sh) {
			inClosed += n
		}
		if len(parentsOf(sh)) > 0 {
			inChildren += n
		}
	}
	t.Logf("records per shard: %v", perShard)
	if inClosed == 0 || inChildren == 0 {
		t.Errorf("records in closed shards: %d, in child shards: %d; the writes did not span the reshards", inClosed, inChildren)
	}
	return shards
}

// TestReshardExactlyOnceInOrder splits and merges random shards while six
// writers put records, then reads parents before children and checks that
// every acknowledged record is read exactly once, in its key's order, from
// the shard its put named.
func TestReshardExactlyOnceInOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis()
	const stream = "ReshardOrder"
	createStream(ctx, t, c, stream, 2)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	w := startKeyWriters(ctx, t, s, stream, 50, 6, seed)

	for op := range 6 {
		time.Sleep(150 * time.Millisecond) // let records land on the current shards
		open := openOnly(listShardsFilter(ctx, t, c, stream, nil))
		pairs := adjacentPairs(t, open)
		if op%2 == 0 || len(pairs) == 0 {
			sh := open[rng.IntN(len(open))]
			t.Logf("split %s at %s", aws.ToString(sh.ShardId), midKey(t, sh))
			splitShard(ctx, t, c, stream, sh)
			continue
		}
		p := pairs[rng.IntN(len(pairs))]
		t.Logf("merge %s and %s", aws.ToString(p[0].ShardId), aws.ToString(p[1].ShardId))
		mergeShards(ctx, t, c, stream, aws.ToString(p[0].ShardId), aws.ToString(p[1].ShardId))
	}
	time.Sleep(150 * time.Millisecond)
	acked, unacked := w.finish()
	if t.Failed() {
		return
	}
	shards := verifyExactlyOnce(ctx, t, c, stream, acked, unacked)
	// Six reshards from two shards: three splits add six, three merges three.
	if len(shards) != 2+6+3 {
		t.Errorf("%d shards after 3 splits and 3 merges of a 2-shard stream, want 11: %v", len(shards), shardIDs(shards))
	}
	s.stop(t)
}

// checkUniform checks the open shards are exactly the n uniform ranges.
func checkUniform(ctx context.Context, t *testing.T, c *kinesis.Client, stream string, n int) {
	t.Helper()
	latest := sortByHash(t, listShardsFilter(ctx, t, c, stream, &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}))
	want := uniformRanges(n)
	if len(latest) != n {
		t.Errorf("AT_LATEST lists %d shards, want %d: %v", len(latest), n, shardIDs(latest))
	} else {
		for i, sh := range latest {
			got := [2]string{aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey)}
			if got != want[i] {
				t.Errorf("open shard %d of %d (%s): range %v, want %v", i, n, aws.ToString(sh.ShardId), got, want[i])
			}
		}
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary: %v", err)
	}
	if got := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); got != int32(n) {
		t.Errorf("OpenShardCount %d, want %d", got, n)
	}
	open := make(map[string]bool)
	for _, sh := range latest {
		open[aws.ToString(sh.ShardId)] = true
	}
	all := listShardsFilter(ctx, t, c, stream, nil)
	for _, sh := range all {
		id := aws.ToString(sh.ShardId)
		switch {
		case open[id] && !isOpen(sh):
			t.Errorf("%s is listed AT_LATEST but has EndingSequenceNumber %s", id, aws.ToString(sh.SequenceNumberRange.EndingSequenceNumber))
		case !open[id] && isOpen(sh):
			t.Errorf("%s is closed (not AT_LATEST) but has no EndingSequenceNumber", id)
		}
	}
	checkLineage(t, all)
}

// TestUpdateShardCount scales 2 -> 4 -> 3 -> 2 with UNIFORM_SCALING while
// writers put records, checking the ranges after each step and reading
// everything back exactly once at the end.
func TestUpdateShardCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis()
	const stream = "Scale"
	createStream(ctx, t, c, stream, 2)
	checkUniform(ctx, t, c, stream, 2)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := startKeyWriters(ctx, t, s, stream, 30, 3, seed)
	from := 2
	for _, to := range []int{4, 3, 2} {
		time.Sleep(150 * time.Millisecond)
		out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{
			StreamName: aws.String(stream), TargetShardCount: aws.Int32(int32(to)), ScalingType: types.ScalingTypeUniformScaling,
		})
		if err != nil {
			t.Fatalf("UpdateShardCount %d -> %d: %v", from, to, err)
		}
		if aws.ToInt32(out.CurrentShardCount) != int32(from) || aws.ToInt32(out.TargetShardCount) != int32(to) ||
			aws.ToString(out.StreamName) != stream || aws.ToString(out.StreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/"+stream {
			t.Errorf("UpdateShardCount %d -> %d: Current %d Target %d Name %q ARN %q", from, to,
				aws.ToInt32(out.CurrentShardCount), aws.ToInt32(out.TargetShardCount), aws.ToString(out.StreamName), aws.ToString(out.StreamARN))
		}
		waitActive(ctx, t, c, stream)
		checkUniform(ctx, t, c, stream, to)
		from = to
	}
	time.Sleep(150 * time.Millisecond)
	acked, unacked := w.finish()
	if t.Failed() {
		return
	}
	verifyExactlyOnce(ctx, t, c, stream, acked, unacked)
	s.stop(t)
}

// wantErr checks err is the SDK's typed exception E and, unless msg is
// empty, that its message is exactly msg.
func wantErr[E any, P interface {
	*E
	error
	ErrorMessage() string
}](t *testing.T, what string, err error, msg string) {
	t.Helper()
	var target P
	if !errors.As(err, &target) {
		t.Errorf("%s: error %v, want %T", what, err, target)
		return
	}
	if msg != "" && target.ErrorMessage() != msg {
		t.Errorf("%s: message\n got %q\nwant %q", what, target.ErrorMessage(), msg)
	}
}

func streamStatus(ctx context.Context, t *testing.T, c *kinesis.Client, stream string) *types.StreamDescriptionSummary {
	t.Helper()
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("DescribeStreamSummary %s: %v", stream, err)
	}
	return sum.StreamDescriptionSummary
}

// TestReshardErrors checks the errors AWS gives for reshards it refuses,
// with AWS's exception types and messages.
func TestReshardErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Long enough for several calls to find the stream UPDATING.
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", "400ms"}})
	// No SDK retries: LimitExceededException would otherwise be retried.
	c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	const stream = "Errs"
	createStream(ctx, t, c, stream, 3)
	shards := listShardsFilter(ctx, t, c, stream, nil)
	if len(shards) != 3 {
		t.Fatalf("%d shards, want 3", len(shards))
	}
	split := func(id, key string) error {
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: aws.String(id), NewStartingHashKey: aws.String(key)})
		return err
	}
	merge := func(a, b string) error {
		_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: aws.String(a), AdjacentShardToMerge: aws.String(b)})
		return err
	}
	scale := func(name string, n int32) error {
		_, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name), TargetShardCount: aws.Int32(n), ScalingType: types.ScalingTypeUniformScaling})
		return err
	}
	suffix := " in stream " + stream + " under account " + account

	wantErr[types.InvalidArgumentException](t, "merge non-adjacent shards", merge(shardID(0), shardID(2)),
		"Shards shardId-000000000000 and shardId-000000000002"+suffix+" are not an adjacent pair of shards eligible for merging")

	// NewStartingHashKey must be greater than StartingHashKey+1 and less
	// than EndingHashKey, as the message says.
	lo, hi := hashRange(t, shards[1])
	one := big.NewInt(1)
	for _, key := range []*big.Int{lo, new(big.Int).Add(lo, one), hi, new(big.Int).Sub(lo, one), new(big.Int).Add(hi, one)} {
		wantErr[types.InvalidArgumentException](t, "split at "+key.String(), split(shardID(1), key.String()),
			"NewStartingHashKey "+key.String()+" used in SplitShard() on shard shardId-000000000001"+suffix+
				" is not both greater than one plus the shard's StartingHashKey "+lo.String()+
				" and less than the shard's EndingHashKey "+hi.String()+".")
	}
	if st := streamStatus(ctx, t, c, stream).StreamStatus; st != types.StreamStatusActive {
		t.Fatalf("refused reshards left the stream %s", st)
	}

	// A reshard puts the stream in UPDATING; every other reshard is refused
	// until it is ACTIVE again.
	if err := split(shardID(0), midKey(t, shards[0])); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	if st := streamStatus(ctx, t, c, stream).StreamStatus; st != types.StreamStatusUpdating {
		t.Errorf("status right after SplitShard: %s, want UPDATING", st)
	}
	notActive := "Stream " + stream + " under account " + account + " not ACTIVE, instead in state UPDATING"
	wantErr[types.ResourceInUseException](t, "split while UPDATING", split(shardID(1), midKey(t, shards[1])), notActive)
	wantErr[types.ResourceInUseException](t, "merge while UPDATING", merge(shardID(1), shardID(2)), notActive)
	wantErr[types.ResourceInUseException](t, "UpdateShardCount while UPDATING", scale(stream, 4), notActive)
	waitActive(ctx, t, c, stream)

	// Shard 0 is closed now: neither split nor merge may touch it again.
	closed := "Shard shardId-000000000000" + suffix + " has already been merged or split, and thus is not eligible for merging or splitting."
	wantErr[types.InvalidArgumentException](t, "split a closed shard", split(shardID(0), midKey(t, shards[0])), closed)
	wantErr[types.InvalidArgumentException](t, "merge a closed shard", merge(shardID(0), shardID(1)), closed)

	// Four open shards now: UpdateShardCount may go from 2 to 8.
	wantErr[types.LimitExceededException](t, "UpdateShardCount above double", scale(stream, 9),
		"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4, Target shard count: 9")
	wantErr[types.LimitExceededException](t, "UpdateShardCount below half", scale(stream, 1),
		"UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: 4, Target shard count: 1")
	if n := len(listShardsFilter(ctx, t, c, stream, nil)); n != 5 {
		t.Errorf("%d shards after one split of three, want 5", n)
	}

	// At most ten scalings per stream in a rolling 24 hours.
	const scaled = "Scaled"
	createStream(ctx, t, c, scaled, 1)
	for i := range 10 {
		if err := scale(scaled, int32(2-i%2)); err != nil {
			t.Fatalf("UpdateShardCount #%d: %v", i+1, err)
		}
		waitActive(ctx, t, c, scaled)
	}
	err := scale(scaled, 2)
	wantErr[types.LimitExceededException](t, "11th UpdateShardCount in 24 hours", err, "")
	t.Logf("11th UpdateShardCount: %v", err)
	s.stop(t)

	t.Run("shard limit", func(t *testing.T) {
		s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay, "--shard-limit", "3"}})
		c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
		const stream = "Limited"
		createStream(ctx, t, c, stream, 3)
		shards := listShardsFilter(ctx, t, c, stream, nil)
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: shards[0].ShardId, NewStartingHashKey: aws.String(midKey(t, shards[0]))})
		wantErr[types.LimitExceededException](t, "split over the shard limit", err,
			"This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 3. "+
				"Limit: 3. Number of additional shards that would have resulted from this request: 1. Refer to the AWS Service Limits page "+
				"(https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
		_, err = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(stream), TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling})
		wantErr[types.LimitExceededException](t, "UpdateShardCount over the shard limit", err,
			"Target shard count or number of open shards cannot be greater than 3. Current open shard count: 3, Target shard count: 4")
		if n := len(listShardsFilter(ctx, t, c, stream, nil)); n != 3 {
			t.Errorf("%d shards after refused reshards, want 3", n)
		}
		s.stop(t)
	})
}

// TestListShardsFilters checks every ShardFilter type after a split and a
// merge, against the shard sets AWS documents for them.
func TestListShardsFilters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis()
	const stream = "Filters"
	createStream(ctx, t, c, stream, 3)
	orig := listShardsFilter(ctx, t, c, stream, nil)

	// Shard times are kept to the millisecond; 100 ms margins keep the
	// filter times clear of them.
	const margin = 100 * time.Millisecond
	time.Sleep(margin)
	before := time.Now()
	time.Sleep(margin)
	splitShard(ctx, t, c, stream, orig[0]) // -> 3, 4
	time.Sleep(margin)
	between := time.Now()
	time.Sleep(margin)
	mergeShards(ctx, t, c, stream, shardID(1), shardID(2)) // -> 5
	time.Sleep(margin)
	after := time.Now()

	all := listShardsFilter(ctx, t, c, stream, nil)
	checkLineage(t, all)
	byID := make(map[string]types.Shard)
	for _, sh := range all {
		byID[aws.ToString(sh.ShardId)] = sh
	}
	mid := midKey(t, orig[0])
	for id, want := range map[string]struct{ parent, adjacent, lo, hi string }{
		shardID(3): {shardID(0), "", "0", new(big.Int).Sub(bigInt(t, mid), big.NewInt(1)).String()},
		shardID(4): {shardID(0), "", mid, aws.ToString(orig[0].HashKeyRange.EndingHashKey)},
		shardID(5): {shardID(1), shardID(2), aws.ToString(orig[1].HashKeyRange.StartingHashKey), maxHashKey},
	} {
		sh, ok := byID[id]
		if !ok {
			t.Errorf("%s is not listed: %v", id, shardIDs(all))
			continue
		}
		got := struct{ parent, adjacent, lo, hi string }{aws.ToString(sh.ParentShardId), aws.ToString(sh.AdjacentParentShardId),
			aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey)}
		if got != want {
			t.Errorf("%s: parents/range %+v, want %+v", id, got, want)
		}
	}

	ids := func(ns ...int) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = shardID(n)
		}
		return out
	}
	at := func(ts time.Time) *time.Time { return &ts }
	for _, tc := range []struct {
		name   string
		filter *types.ShardFilter
		want   []string
	}{
		{"no filter", nil, ids(0, 1, 2, 3, 4, 5)},
		{"FROM_TRIM_HORIZON", &types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}, ids(0, 1, 2, 3, 4, 5)},
		{"AT_TRIM_HORIZON", &types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}, ids(0, 1, 2)},
		{"AT_LATEST", &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}, ids(3, 4, 5)},
		{"AFTER_SHARD_ID 0", &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String(shardID(0))}, ids(1, 2, 3, 4, 5)},
		{"AFTER_SHARD_ID 2", &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String(shardID(2))}, ids(3, 4, 5)},
		{"AT_TIMESTAMP before", &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(before)}, ids(0, 1, 2)},
		{"AT_TIMESTAMP between", &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(between)}, ids(1, 2, 3, 4)},
		{"AT_TIMESTAMP after", &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: at(after)}, ids(3, 4, 5)},
		{"FROM_TIMESTAMP before", &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(before)}, ids(0, 1, 2, 3, 4, 5)},
		{"FROM_TIMESTAMP between", &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(between)}, ids(1, 2, 3, 4, 5)},
		{"FROM_TIMESTAMP after", &types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: at(after)}, ids(3, 4, 5)},
	} {
		if got := shardIDs(listShardsFilter(ctx, t, c, stream, tc.filter)); !slices.Equal(got, tc.want) {
			t.Errorf("ListShards %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	s.stop(t)
}

// TestUpdateStreamMode: ON_DEMAND streams refuse split, merge and
// UpdateShardCount; after switching to PROVISIONED they reshard.
func TestUpdateStreamMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := startServer(t, serverOptions{extra: []string{"--reshard-delay", reshardDelay}})
	c := s.kinesis(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })

	createStream(ctx, t, c, "Prov", 1)
	if sum := streamStatus(ctx, t, c, "Prov"); sum.StreamModeDetails == nil || sum.StreamModeDetails.StreamMode != types.StreamModeProvisioned {
		t.Errorf("a stream created with a ShardCount has mode %+v, want PROVISIONED", sum.StreamModeDetails)
	}

	const stream = "Modes"
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}})
	if err != nil {
		t.Fatalf("CreateStream ON_DEMAND: %v", err)
	}
	waitActive(ctx, t, c, stream)
	sum := streamStatus(ctx, t, c, stream)
	if sum.StreamModeDetails == nil || sum.StreamModeDetails.StreamMode != types.StreamModeOnDemand || aws.ToInt32(sum.OpenShardCount) != 4 {
		t.Fatalf("ON_DEMAND stream: mode %+v, %d open shards; want ON_DEMAND, 4", sum.StreamModeDetails, aws.ToInt32(sum.OpenShardCount))
	}
	arn := aws.ToString(sum.StreamARN)
	shards := listShardsFilter(ctx, t, c, stream, nil)

	// AWS documents ValidationException for split, merge and
	// UpdateShardCount on an ON_DEMAND stream; its message is not
	// documented, so only the type is checked.
	refused := func(when string) {
		t.Helper()
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: shards[0].ShardId, NewStartingHashKey: aws.String(midKey(t, shards[0]))})
		wantErr[types.ValidationException](t, "SplitShard "+when, err, "")
		_, err = c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(stream), ShardToMerge: shards[0].ShardId, AdjacentShardToMerge: shards[1].ShardId})
		wantErr[types.ValidationException](t, "MergeShards "+when, err, "")
		_, err = c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(stream), TargetShardCount: aws.Int32(8), ScalingType: types.ScalingTypeUniformScaling})
		wantErr[types.ValidationException](t, "UpdateShardCount "+when, err, "")
		t.Logf("%s: %v", when, err)
		if n := len(listShardsFilter(ctx, t, c, stream, nil)); n != 4 {
			t.Errorf("%s: %d shards after refused reshards, want 4", when, n)
		}
	}
	refused("on an ON_DEMAND stream")

	setMode := func(mode types.StreamMode) {
		t.Helper()
		_, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{StreamARN: aws.String(arn), StreamModeDetails: &types.StreamModeDetails{StreamMode: mode}})
		if err != nil {
			t.Fatalf("UpdateStreamMode %s: %v", mode, err)
		}
		waitActive(ctx, t, c, stream)
		if sum := streamStatus(ctx, t, c, stream); sum.StreamModeDetails == nil || sum.StreamModeDetails.StreamMode != mode {
			t.Fatalf("after UpdateStreamMode %s: mode %+v", mode, sum.StreamModeDetails)
		}
	}
	setMode(types.StreamModeProvisioned)
	splitShard(ctx, t, c, stream, shards[0])
	mergeShards(ctx, t, c, stream, shardID(1), shardID(2))
	all := listShardsFilter(ctx, t, c, stream, nil)
	checkLineage(t, all)
	if got, want := shardIDs(openOnly(all)), []string{shardID(3), shardID(4), shardID(5), shardID(6)}; !slices.Equal(got, want) {
		t.Errorf("open shards after a split and a merge: %v, want %v", got, want)
	}

	setMode(types.StreamModeOnDemand)
	shards = openOnly(listShardsFilter(ctx, t, c, stream, nil))
	shards = sortByHash(t, shards)
	_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(stream), ShardToSplit: shards[0].ShardId, NewStartingHashKey: aws.String(midKey(t, shards[0]))})
	wantErr[types.ValidationException](t, "SplitShard after switching back to ON_DEMAND", err, "")
	s.stop(t)
}
