package cluster

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

// Violation kinds, one per rule the checker verifies, and one for a node
// that could not be read at all.
const (
	ruleAcked    = "acked"    // 1: acknowledged records readable recPlace acknowledged, once per write
	ruleOrder    = "order"    // 2: same records in the same order from every node
	ruleSequence = "sequence" // 3: sequence numbers grow within a shard
	ruleVanished = "vanished" // 4: what a reader saw is still there
	ruleMeta     = "metadata" // 5: same shards, status and consumers on every node
	ruleRead     = "read"     // a node could not be read
)

var ruleOrderOfReport = []string{ruleRead, ruleAcked, ruleOrder, ruleSequence, ruleVanished, ruleMeta}

// maxListed is how many violations of each kind a report lists.
const maxListed = 10

const (
	// callPatience is how long the checker retries one call on one node.
	callPatience = 2 * time.Minute
	// metaSettle is how long the checker waits for nodes' metadata to
	// agree, as stream and consumer transitions are timed.
	metaSettle = 10 * time.Second
)

// ShardMeta is what ListShards says of one shard.
type ShardMeta struct {
	ID, Parent, AdjacentParent string
	HashStart, HashEnd         string
	SeqStart, SeqEnd           string
}

// ConsumerMeta is what ListStreamConsumers says of one consumer.
type ConsumerMeta struct {
	Name, ARN, Status string
	Created           time.Time
}

// Meta is a node's view of a stream's metadata.
type Meta struct {
	Status     string // DescribeStreamSummary
	OpenShards int32
	Shards     []ShardMeta    // by id
	Consumers  []ConsumerMeta // by name
}

// NodeRead is everything the checker read through one node.
type NodeRead struct {
	Shards map[string][]Record // shard id: its records from TRIM_HORIZON to the end
	Meta   Meta
	Err    error // why the node could not be read completely
}

// Report is the checker's verdict.
type Report struct {
	Stream      string
	Nodes       []string
	Acked       int
	Retries     int
	Duplicates  int // extra copies of payloads that were sent more than once
	Unacked     int // payloads stored whose writes were never acknowledged
	Foreign     int // records this workload did not write
	Seen        int // records the readers saw
	Read        map[string]int
	Unavailable time.Duration
	AckLog      string

	Violations map[string][]string // kind: the first maxListed
	Counts     map[string]int      // kind: how many
}

// OK says whether no rule was violated.
func (r *Report) OK() bool { return len(r.Counts) == 0 }

func (r *Report) violate(kind, format string, args ...any) {
	if r.Counts == nil {
		r.Counts, r.Violations = map[string]int{}, map[string][]string{}
	}
	r.Counts[kind]++
	if len(r.Violations[kind]) < maxListed {
		r.Violations[kind] = append(r.Violations[kind], fmt.Sprintf(format, args...))
	}
}

// String is the checker's output: one paragraph of figures and findings.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checker: stream %s on %d nodes: %d records acknowledged (ack log %s), %d retries, %d duplicates from retries, %d stored but unacknowledged, %d foreign; readers saw %d records; read per node:",
		r.Stream, len(r.Nodes), r.Acked, r.AckLog, r.Retries, r.Duplicates, r.Unacked, r.Foreign, r.Seen)
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, " %s %d", n, r.Read[n])
	}
	fmt.Fprintf(&b, "; unavailability window (longest gap between successful writes) %v; ", r.Unavailable.Round(time.Millisecond))
	if r.OK() {
		b.WriteString("no violations: every acknowledged record readable once per write, same order on every node, sequence numbers growing, nothing a reader saw gone, same shards, status and consumers on every node.")
		return b.String()
	}
	b.WriteString("VIOLATIONS:")
	for _, k := range ruleOrderOfReport {
		if r.Counts[k] == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s %d [%s]", k, r.Counts[k], strings.Join(r.Violations[k], "; "))
		if r.Counts[k] > len(r.Violations[k]) {
			b.WriteString(" ...")
		}
		b.WriteString(";")
	}
	return b.String()
}

// Check reads every shard of stream, closed ones too, from TRIM_HORIZON to
// its end through each endpoint, and each endpoint's metadata, and verifies
// them against h (see verify). A node that does not answer for long is a
// violation, not a test failure: the report says it.
func Check(ctx context.Context, t testing.TB, endpoints []string, stream string, h *History) *Report {
	t.Helper()
	tr := &http.Transport{ResponseHeaderTimeout: requestTimeout}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: rivulet.SDKTransport(tr), Timeout: requestTimeout}
	cls := make(map[string]*kinesis.Client, len(endpoints))
	reads := make(map[string]*NodeRead, len(endpoints))
	for _, ep := range endpoints {
		cls[ep] = newClient(ep, hc)
		reads[ep] = readNode(ctx, cls[ep], stream)
	}
	// Timed transitions (CREATING, UPDATING) may differ for a moment
	// between reads of different nodes: read the metadata again until it
	// agrees or metaSettle passes.
	for deadline := time.Now().Add(metaSettle); time.Now().Before(deadline) && !metaAgrees(endpoints, reads) && sleepCtx(ctx, time.Second); {
		for _, ep := range endpoints {
			if reads[ep].Err == nil {
				m, err := readMeta(ctx, cls[ep], stream)
				if err != nil {
					reads[ep].Err = err
					continue
				}
				reads[ep].Meta = m
			}
		}
	}
	return verify(h, stream, endpoints, reads)
}

// metaAgrees says whether every node read has the same metadata.
func metaAgrees(nodes []string, reads map[string]*NodeRead) bool {
	var ref *Meta
	for _, n := range nodes {
		if reads[n].Err != nil {
			continue
		}
		if ref == nil {
			ref = &reads[n].Meta
		} else if !reflect.DeepEqual(*ref, reads[n].Meta) {
			return false
		}
	}
	return true
}

// withPatience calls f until it succeeds, ctx ends or callPatience passes.
func withPatience[T any](ctx context.Context, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(callPatience)
	for {
		v, err := f()
		if err == nil || time.Now().After(deadline) || !sleepCtx(ctx, 500*time.Millisecond) {
			return v, err
		}
	}
}

// readNode reads a stream's metadata and every shard through one node.
func readNode(ctx context.Context, c *kinesis.Client, stream string) *NodeRead {
	nr := &NodeRead{Shards: map[string][]Record{}}
	nr.Meta, nr.Err = readMeta(ctx, c, stream)
	if nr.Err != nil {
		return nr
	}
	for _, s := range nr.Meta.Shards {
		recs, err := readShard(ctx, c, stream, s.ID)
		nr.Shards[s.ID] = recs
		if err != nil {
			nr.Err = fmt.Errorf("shard %s after %d records: %w", s.ID, len(recs), err)
			return nr
		}
	}
	return nr
}

// readMeta reads what a node says of a stream: ListShards,
// DescribeStreamSummary and ListStreamConsumers.
func readMeta(ctx context.Context, c *kinesis.Client, stream string) (Meta, error) {
	var m Meta
	shards, err := withPatience(ctx, func() ([]types.Shard, error) { return listShardsOf(ctx, c, stream) })
	if err != nil {
		return m, fmt.Errorf("ListShards: %w", err)
	}
	for _, s := range shards {
		sm := ShardMeta{ID: aws.ToString(s.ShardId), Parent: aws.ToString(s.ParentShardId), AdjacentParent: aws.ToString(s.AdjacentParentShardId)}
		if r := s.HashKeyRange; r != nil {
			sm.HashStart, sm.HashEnd = aws.ToString(r.StartingHashKey), aws.ToString(r.EndingHashKey)
		}
		if r := s.SequenceNumberRange; r != nil {
			sm.SeqStart, sm.SeqEnd = aws.ToString(r.StartingSequenceNumber), aws.ToString(r.EndingSequenceNumber)
		}
		m.Shards = append(m.Shards, sm)
	}
	sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].ID < m.Shards[j].ID })
	sum, err := withPatience(ctx, func() (*kinesis.DescribeStreamSummaryOutput, error) {
		return c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &stream})
	})
	if err != nil {
		return m, fmt.Errorf("DescribeStreamSummary: %w", err)
	}
	d := sum.StreamDescriptionSummary
	m.Status, m.OpenShards = string(d.StreamStatus), aws.ToInt32(d.OpenShardCount)
	cons, err := withPatience(ctx, func() ([]types.Consumer, error) {
		var all []types.Consumer
		in := &kinesis.ListStreamConsumersInput{StreamARN: d.StreamARN}
		for {
			out, err := c.ListStreamConsumers(ctx, in)
			if err != nil {
				return nil, err
			}
			all = append(all, out.Consumers...)
			if out.NextToken == nil {
				return all, nil
			}
			in = &kinesis.ListStreamConsumersInput{StreamARN: d.StreamARN, NextToken: out.NextToken}
		}
	})
	if err != nil {
		return m, fmt.Errorf("ListStreamConsumers: %w", err)
	}
	for _, c := range cons {
		m.Consumers = append(m.Consumers, ConsumerMeta{Name: aws.ToString(c.ConsumerName), ARN: aws.ToString(c.ConsumerARN),
			Status: string(c.ConsumerStatus), Created: aws.ToTime(c.ConsumerCreationTimestamp).UTC()})
	}
	sort.Slice(m.Consumers, func(i, j int) bool { return m.Consumers[i].Name < m.Consumers[j].Name })
	return m, nil
}

// readShard reads one shard from TRIM_HORIZON to its end (a closed shard)
// or its tip (an open one: two empty pages with nothing behind), picking
// up after the last record after a failure.
func readShard(ctx context.Context, c *kinesis.Client, stream, shard string) ([]Record, error) {
	var recs []Record
	var it *string
	empty := 0
	deadline := time.Now().Add(callPatience)
	for {
		if it == nil {
			in := &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: &shard, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if len(recs) > 0 {
				in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(recs[len(recs)-1].Seq)
			}
			out, err := c.GetShardIterator(ctx, in)
			if err != nil {
				if time.Now().After(deadline) || !sleepCtx(ctx, 500*time.Millisecond) {
					return recs, fmt.Errorf("GetShardIterator: %w", err)
				}
				continue
			}
			it = out.ShardIterator
		}
		out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
		if err != nil {
			it = nil
			if time.Now().After(deadline) || !sleepCtx(ctx, 500*time.Millisecond) {
				return recs, fmt.Errorf("GetRecords: %w", err)
			}
			continue
		}
		deadline = time.Now().Add(callPatience)
		now := time.Now()
		for _, r := range out.Records {
			recs = append(recs, Record{Shard: shard, Seq: aws.ToString(r.SequenceNumber), Payload: string(r.Data), At: now})
		}
		if out.NextShardIterator == nil {
			return recs, nil
		}
		it = out.NextShardIterator
		if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
			if empty++; empty == 2 {
				return recs, nil
			}
		} else {
			empty = 0
		}
	}
}

// recPlace is a record's place in a shard.
type recPlace struct{ shard, seq string }

// verify checks what was read through each node against the history:
//  1. every acknowledged record is there, at its acknowledged shard and
//     sequence number, and no payload is stored more often than it was
//     sent (copies from retries are counted, not failures);
//  2. each shard holds the same records in the same order on every node;
//  3. sequence numbers grow within each shard, on every node and for
//     every reader;
//  4. every record a reader saw is still there with the same payload;
//  5. every node reports the same shards, status and consumers.
func verify(h *History, stream string, nodes []string, reads map[string]*NodeRead) *Report {
	if h == nil {
		h = &History{}
	}
	r := &Report{Stream: stream, Nodes: nodes, Read: map[string]int{}, Acked: h.Acked(), Retries: h.Retries,
		Unavailable: h.Unavailable(), AckLog: h.AckLog}
	for _, rs := range h.Readers {
		r.Seen += len(rs)
	}
	var ref string // the first node read completely
	at := map[string]map[recPlace]string{}
	for _, n := range nodes {
		nr := reads[n]
		if nr == nil {
			r.violate(ruleRead, "%s: not read", n)
			continue
		}
		if nr.Err != nil {
			r.violate(ruleRead, "%s: %v", n, nr.Err)
		}
		idx := map[recPlace]string{}
		for _, recs := range nr.Shards {
			r.Read[n] += len(recs)
			for _, rec := range recs {
				idx[recPlace{rec.Shard, rec.Seq}] = rec.Payload
			}
		}
		at[n] = idx
		if nr.Err == nil && ref == "" {
			ref = n
		}
		checkSequence(r, n, nr.Shards)
	}
	// Rule 1, per node: acknowledged records recPlace they were acknowledged.
	for _, n := range nodes {
		idx := at[n]
		if idx == nil || reads[n].Err != nil {
			continue
		}
		for _, a := range h.Acks {
			if p, ok := idx[recPlace{a.Shard, a.Seq}]; !ok {
				r.violate(ruleAcked, "%s: acknowledged %s/%s %q missing", n, a.Shard, a.Seq, payloadTag(a.Payload))
			} else if p != a.Payload {
				r.violate(ruleAcked, "%s: acknowledged %s/%s %q holds %q", n, a.Shard, a.Seq, payloadTag(a.Payload), payloadTag(p))
			}
		}
	}
	// Rule 1, on the reference node: each payload stored no more often
	// than sent; the copies beyond one are duplicates from retries.
	if ref != "" {
		acked := make(map[string]bool, len(h.Acks))
		for _, a := range h.Acks {
			acked[a.Payload] = true
		}
		stored := map[string]int{}
		for _, recs := range reads[ref].Shards {
			for _, rec := range recs {
				stored[rec.Payload]++
			}
		}
		for p, c := range stored {
			sends, ours := h.Sends[p]
			switch {
			case !ours:
				r.Foreign += c
				continue
			case c > sends:
				r.violate(ruleAcked, "%q stored %d times, sent %d", payloadTag(p), c, sends)
				continue
			}
			if !acked[p] {
				r.Unacked++
			}
			r.Duplicates += c - 1
		}
	}
	// Rule 2: every node against the reference.
	if ref != "" {
		for _, n := range nodes {
			if n == ref || reads[n] == nil || reads[n].Err != nil {
				continue
			}
			compareShards(r, ref, n, reads[ref].Shards, reads[n].Shards)
		}
	}
	// Rules 3 and 4 for readers.
	names := make([]string, 0, len(h.Readers))
	for name := range h.Readers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		seen := h.Readers[name]
		checkSequence(r, "reader "+name, map[string][]Record{"": seen})
		for _, n := range nodes {
			if at[n] == nil || reads[n].Err != nil {
				continue
			}
			for _, s := range seen {
				if p, ok := at[n][recPlace{s.Shard, s.Seq}]; !ok {
					r.violate(ruleVanished, "%s: %s saw %s/%s %q, gone", n, name, s.Shard, s.Seq, payloadTag(s.Payload))
				} else if p != s.Payload {
					r.violate(ruleVanished, "%s: %s saw %s/%s %q, now %q", n, name, s.Shard, s.Seq, payloadTag(s.Payload), payloadTag(p))
				}
			}
		}
	}
	// Rule 5.
	if ref != "" {
		for _, n := range nodes {
			if n != ref && reads[n] != nil && reads[n].Err == nil {
				compareMeta(r, ref, n, reads[ref].Meta, reads[n].Meta)
			}
		}
	}
	return r
}

// checkSequence reports sequence numbers that do not grow, shard by shard
// (records keep their own shard; the map key only groups them).
func checkSequence(r *Report, who string, shards map[string][]Record) {
	keys := make([]string, 0, len(shards))
	for k := range shards {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		last := map[string]*big.Int{}
		lastSeq := map[string]string{}
		for _, rec := range shards[k] {
			v, ok := new(big.Int).SetString(rec.Seq, 10)
			if !ok {
				r.violate(ruleSequence, "%s: %s sequence number %q is not a number", who, rec.Shard, rec.Seq)
				continue
			}
			if p := last[rec.Shard]; p != nil && v.Cmp(p) <= 0 {
				r.violate(ruleSequence, "%s: %s %s after %s", who, rec.Shard, rec.Seq, lastSeq[rec.Shard])
			}
			last[rec.Shard], lastSeq[rec.Shard] = v, rec.Seq
		}
	}
}

// compareShards reports the shards whose records differ between two nodes.
func compareShards(r *Report, a, b string, sa, sb map[string][]Record) {
	ids := map[string]bool{}
	for id := range sa {
		ids[id] = true
	}
	for id := range sb {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	for _, id := range sorted {
		ra, rb := sa[id], sb[id]
		i := 0
		for i < len(ra) && i < len(rb) && ra[i].Seq == rb[i].Seq && ra[i].Payload == rb[i].Payload {
			i++
		}
		switch {
		case i == len(ra) && i == len(rb):
		case i < len(ra) && i < len(rb):
			r.violate(ruleOrder, "%s: %s and %s differ at record %d: %s %q against %s %q", id, a, b, i, ra[i].Seq, payloadTag(ra[i].Payload), rb[i].Seq, payloadTag(rb[i].Payload))
		default:
			r.violate(ruleOrder, "%s: %d records on %s, %d on %s, the first %d the same", id, len(ra), a, len(rb), b, i)
		}
	}
}

// compareMeta reports how two nodes' metadata differ.
func compareMeta(r *Report, a, b string, ma, mb Meta) {
	if ma.Status != mb.Status || ma.OpenShards != mb.OpenShards {
		r.violate(ruleMeta, "status %s with %d open shards on %s, %s with %d on %s", ma.Status, ma.OpenShards, a, mb.Status, mb.OpenShards, b)
	}
	if !reflect.DeepEqual(ma.Shards, mb.Shards) {
		byID := map[string]ShardMeta{}
		for _, s := range mb.Shards {
			byID[s.ID] = s
		}
		for _, s := range ma.Shards {
			o, ok := byID[s.ID]
			switch {
			case !ok:
				r.violate(ruleMeta, "shard %s on %s, not on %s", s.ID, a, b)
			case o != s:
				r.violate(ruleMeta, "shard %s: %+v on %s, %+v on %s", s.ID, s, a, o, b)
			}
			delete(byID, s.ID)
		}
		for id := range byID {
			r.violate(ruleMeta, "shard %s on %s, not on %s", id, b, a)
		}
	}
	if !reflect.DeepEqual(ma.Consumers, mb.Consumers) {
		r.violate(ruleMeta, "consumers %+v on %s, %+v on %s", ma.Consumers, a, mb.Consumers, b)
	}
}

// payloadTag keeps a payload readable in a report.
func payloadTag(p string) string {
	if i := strings.IndexByte(p, ' '); i > 0 {
		return p[:i]
	}
	if len(p) > 40 {
		return p[:40] + "..."
	}
	return p
}
