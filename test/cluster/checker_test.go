package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet"
)

var (
	testNodes  = []string{"http://a", "http://b", "http://c"}
	testShards = []string{"shardId-000000000000", "shardId-000000000001"}
)

// testSeq is the i-th sequence number of a synthetic shard: growing as
// numbers (9e30, 1e31, 9e32, ...) but not as strings, so that only a
// numeric comparison passes.
func testSeq(shard, i int) string {
	v := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(30+i)), nil)
	if i%2 == 0 {
		v.Mul(v, big.NewInt(9))
	}
	return v.Add(v, big.NewInt(int64(shard))).String()
}

// synthetic is a clean history of 5 acknowledged records per shard, of
// which readers saw the first 3, and the same reads on three nodes.
func synthetic() (*History, map[string]*NodeRead) {
	h := &History{Stream: "s", AckLog: "/tmp/acks.jsonl", Sends: map[string]int{}, Readers: map[string][]Record{},
		longest: 1500 * time.Millisecond}
	shards := map[string][]Record{}
	meta := Meta{Status: "ACTIVE", OpenShards: 2,
		Consumers: []ConsumerMeta{{Name: "workload-1", ARN: "arn:c", Status: "ACTIVE", Created: time.Unix(1e9, 0).UTC()}}}
	for s, shard := range testShards {
		for i := range 5 {
			rec := Record{Shard: shard, Seq: testSeq(s, i), Payload: fmt.Sprintf("w0-%d-%d r1 ....", s, i)}
			shards[shard] = append(shards[shard], rec)
			h.Acks = append(h.Acks, rec)
			h.Sends[rec.Payload] = 1
			if i < 3 {
				h.Readers["poll/"+shard] = append(h.Readers["poll/"+shard], rec)
				h.Readers["efo/"+shard] = append(h.Readers["efo/"+shard], rec)
			}
		}
		meta.Shards = append(meta.Shards, ShardMeta{ID: shard, HashStart: fmt.Sprint(s), HashEnd: fmt.Sprint(s + 1), SeqStart: testSeq(s, 0)})
	}
	reads := map[string]*NodeRead{}
	for _, n := range testNodes {
		nr := &NodeRead{Shards: map[string][]Record{}, Meta: meta}
		nr.Meta.Shards = append([]ShardMeta(nil), meta.Shards...)
		nr.Meta.Consumers = append([]ConsumerMeta(nil), meta.Consumers...)
		for id, recs := range shards {
			nr.Shards[id] = append([]Record(nil), recs...)
		}
		reads[n] = nr
	}
	return h, reads
}

// onAll changes every node's records of a shard.
func onAll(reads map[string]*NodeRead, shard string, f func([]Record) []Record) {
	for _, nr := range reads {
		nr.Shards[shard] = f(nr.Shards[shard])
	}
}

func TestVerify(t *testing.T) {
	s0, s1 := testShards[0], testShards[1]
	cases := []struct {
		name   string
		change func(h *History, reads map[string]*NodeRead)
		kind   string // the only kind of violation expected; "" for none
	}{
		{name: "clean"},
		{name: "retry duplicate", change: func(h *History, reads map[string]*NodeRead) {
			// A write whose answer was lost, stored again by its retry.
			p := h.Acks[4].Payload
			h.Sends[p] = 2
			h.Retries = 1
			onAll(reads, s0, func(r []Record) []Record {
				return append(r, Record{Shard: s0, Seq: testSeq(0, 9), Payload: p})
			})
		}},
		{name: "stored but unacknowledged", change: func(h *History, reads map[string]*NodeRead) {
			h.Sends["w1-0-0 r1"] = 1
			onAll(reads, s1, func(r []Record) []Record {
				return append(r, Record{Shard: s1, Seq: testSeq(1, 9), Payload: "w1-0-0 r1"})
			})
		}},
		{name: "foreign record", change: func(h *History, reads map[string]*NodeRead) {
			onAll(reads, s1, func(r []Record) []Record {
				return append(r, Record{Shard: s1, Seq: testSeq(1, 9), Payload: "someone else's"})
			})
		}},
		{name: "acknowledged record lost", kind: ruleAcked, change: func(h *History, reads map[string]*NodeRead) {
			onAll(reads, s0, func(r []Record) []Record { return r[:4] })
		}},
		{name: "acknowledged at another sequence number", kind: ruleAcked, change: func(h *History, reads map[string]*NodeRead) {
			h.Acks[3].Seq = testSeq(0, 4)
		}},
		{name: "stored more often than sent", kind: ruleAcked, change: func(h *History, reads map[string]*NodeRead) {
			p := h.Acks[4].Payload
			onAll(reads, s0, func(r []Record) []Record {
				return append(r, Record{Shard: s0, Seq: testSeq(0, 9), Payload: p})
			})
		}},
		{name: "order differs between nodes", kind: ruleOrder, change: func(h *History, reads map[string]*NodeRead) {
			h.Sends["w1-0-0 r1"] = 1
			b := reads["http://b"]
			b.Shards[s1] = append(b.Shards[s1], Record{Shard: s1, Seq: testSeq(1, 9), Payload: "w1-0-0 r1"})
		}},
		{name: "payload differs between nodes", kind: ruleOrder, change: func(h *History, reads map[string]*NodeRead) {
			h.Sends["w1-0-0 r1"], h.Sends["w1-0-1 r1"] = 1, 1
			for _, n := range testNodes {
				p := "w1-0-0 r1"
				if n == "http://c" {
					p = "w1-0-1 r1"
				}
				reads[n].Shards[s1] = append(reads[n].Shards[s1], Record{Shard: s1, Seq: testSeq(1, 9), Payload: p})
			}
		}},
		{name: "sequence number goes back", kind: ruleSequence, change: func(h *History, reads map[string]*NodeRead) {
			h.Sends["w1-0-0 r1"] = 1
			onAll(reads, s1, func(r []Record) []Record {
				return append(r, Record{Shard: s1, Seq: "1" + strings.Repeat("0", 33), Payload: "w1-0-0 r1"})
			})
		}},
		{name: "reader saw sequence go back", kind: ruleSequence, change: func(h *History, reads map[string]*NodeRead) {
			r := h.Readers["efo/"+s0]
			r[0], r[1] = r[1], r[0]
		}},
		{name: "seen record gone", kind: ruleVanished, change: func(h *History, reads map[string]*NodeRead) {
			h.Readers["poll/"+s1] = append(h.Readers["poll/"+s1], Record{Shard: s1, Seq: testSeq(1, 9), Payload: "w1-0-0 r1"})
		}},
		{name: "seen record changed", kind: ruleVanished, change: func(h *History, reads map[string]*NodeRead) {
			h.Readers["poll/"+s1] = append(h.Readers["poll/"+s1], Record{Shard: s1, Seq: testSeq(1, 4), Payload: "other"})
		}},
		{name: "shards differ", kind: ruleMeta, change: func(h *History, reads map[string]*NodeRead) {
			reads["http://c"].Meta.Shards[1].SeqEnd = testSeq(1, 9)
		}},
		{name: "status differs", kind: ruleMeta, change: func(h *History, reads map[string]*NodeRead) {
			reads["http://b"].Meta.Status = "UPDATING"
		}},
		{name: "consumers differ", kind: ruleMeta, change: func(h *History, reads map[string]*NodeRead) {
			reads["http://b"].Meta.Consumers = nil
		}},
		{name: "node unreadable", kind: ruleRead, change: func(h *History, reads map[string]*NodeRead) {
			reads["http://a"].Err = fmt.Errorf("connection refused")
			reads["http://a"].Shards = map[string][]Record{}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, reads := synthetic()
			if tc.change != nil {
				tc.change(h, reads)
			}
			r := verify(h, "s", testNodes, reads)
			t.Log(r)
			if r.OK() != (tc.kind == "") {
				t.Fatalf("OK() = %v, want %v", r.OK(), tc.kind == "")
			}
			for k := range r.Counts {
				if k != tc.kind {
					t.Errorf("violation of %q, want only %q: %v", k, tc.kind, r.Violations[k])
				}
			}
			if tc.kind != "" && r.Counts[tc.kind] == 0 {
				t.Errorf("no violation of %q", tc.kind)
			}
			if s := r.String(); tc.kind != "" && !strings.Contains(s, "VIOLATIONS: "+tc.kind) {
				t.Errorf("String() = %s", s)
			}
		})
	}
}

// TestVerifyFigures checks the report's counts and its text.
func TestVerifyFigures(t *testing.T) {
	h, reads := synthetic()
	h.Retries = 7
	p := h.Acks[4].Payload
	h.Sends[p] = 3
	h.Sends["w1-0-0 r1"] = 2
	onAll(reads, testShards[0], func(r []Record) []Record {
		return append(r, Record{Shard: testShards[0], Seq: testSeq(0, 8), Payload: p}, Record{Shard: testShards[0], Seq: testSeq(0, 9), Payload: p})
	})
	onAll(reads, testShards[1], func(r []Record) []Record {
		return append(r, Record{Shard: testShards[1], Seq: testSeq(1, 8), Payload: "w1-0-0 r1"}, Record{Shard: testShards[1], Seq: testSeq(1, 9), Payload: "x"})
	})
	r := verify(h, "s", testNodes, reads)
	if !r.OK() {
		t.Fatal(r)
	}
	want := Report{Acked: 10, Retries: 7, Duplicates: 2, Unacked: 1, Foreign: 1, Seen: 12, Unavailable: 1500 * time.Millisecond, AckLog: "/tmp/acks.jsonl"}
	if r.Acked != want.Acked || r.Retries != want.Retries || r.Duplicates != want.Duplicates || r.Unacked != want.Unacked ||
		r.Foreign != want.Foreign || r.Seen != want.Seen || r.Unavailable != want.Unavailable || r.AckLog != want.AckLog {
		t.Errorf("report %+v, want figures %+v", r, want)
	}
	for _, n := range testNodes {
		if r.Read[n] != 14 {
			t.Errorf("read %d records on %s, want 14", r.Read[n], n)
		}
	}
	s := r.String()
	for _, part := range []string{"10 records acknowledged", "ack log /tmp/acks.jsonl", "7 retries", "2 duplicates from retries",
		"http://b 14", "1.5s", "no violations"} {
		if !strings.Contains(s, part) {
			t.Errorf("String() lacks %q: %s", part, s)
		}
	}
	// Many violations of one kind: the first maxListed listed, all counted.
	onAll(reads, testShards[0], func([]Record) []Record { return nil })
	r = verify(h, "s", testNodes, reads)
	if r.Counts[ruleAcked] != 15 || len(r.Violations[ruleAcked]) != maxListed || !strings.Contains(r.String(), "acked 15 [") {
		t.Errorf("counts %v, listed %d: %s", r.Counts, len(r.Violations[ruleAcked]), r)
	}
}

// TestWorkloadOneNode runs the workload and the checker against one
// in-process server, through a reshard, with enhanced fan-out.
func TestWorkloadOneNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := rivulet.Start(ctx, rivulet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(srv.Endpoint(), srv.HTTPClient())
	const stream = "workload"
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, c, stream)

	endpoints := []string{srv.Endpoint()}
	w := StartWorkload(ctx, t, WorkloadConfig{Endpoints: endpoints, Stream: stream, EFO: true})
	time.Sleep(1500 * time.Millisecond)
	// Split both shards: the readers must follow to the children.
	if _, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(stream),
		TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, c, stream)
	time.Sleep(1500 * time.Millisecond)
	// Then run until both kinds of reader saw records of a child shard,
	// however slow the machine.
	for !w.sawChild("poll/") || !w.sawChild("efo/") {
		if ctx.Err() != nil {
			w.Stop()
			t.Fatal("readers never saw a child shard's records")
		}
		time.Sleep(100 * time.Millisecond)
	}
	h := w.Stop()
	r := Check(ctx, t, endpoints, stream, h)
	t.Log(r)
	if !r.OK() || h.Acked() == 0 || r.Read[srv.Endpoint()] < h.Acked() {
		t.Fatalf("acked %d, report: %s", h.Acked(), r)
	}

	// The ack log holds every acknowledged record.
	f, err := os.Open(h.AckLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for ; sc.Scan(); n++ {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || n >= len(h.Acks) || rec.Payload != h.Acks[n].Payload ||
			rec.Seq != h.Acks[n].Seq || rec.Shard != h.Acks[n].Shard {
			t.Fatalf("ack log line %d: %s (%v)", n+1, sc.Bytes(), err)
		}
	}
	if n != h.Acked() {
		t.Errorf("ack log has %d lines, %d records acknowledged", n, h.Acked())
	}
}

// sawChild says whether a reader whose name starts with prefix saw records
// of a shard that is a child (the stream starts with shards 0 and 1).
func (w *Workload) sawChild(prefix string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, recs := range w.h.Readers {
		if strings.HasPrefix(name, prefix) && !strings.HasSuffix(name, testShards[0]) && !strings.HasSuffix(name, testShards[1]) && len(recs) > 0 {
			return true
		}
	}
	return false
}

// waitActive waits until a stream is ACTIVE.
func waitActive(ctx context.Context, t *testing.T, c *kinesis.Client, stream string) {
	t.Helper()
	for {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("stream %s not ACTIVE: %v", stream, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkloadFailover gives the workload a dead endpoint beside a live
// one: writers and readers that start on the dead one retry on the live
// one, and nothing acknowledged is lost.
func TestWorkloadFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := rivulet.Start(ctx, rivulet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(srv.Endpoint(), srv.HTTPClient())
	const stream = "failover"
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, c, stream)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close()

	w := StartWorkload(ctx, t, WorkloadConfig{Endpoints: []string{dead, srv.Endpoint()}, Stream: stream, EFO: true})
	time.Sleep(time.Second)
	for !w.saw2("poll/") || !w.saw2("efo/") {
		if ctx.Err() != nil {
			w.Stop()
			t.Fatal("readers saw nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	h := w.Stop()
	r := Check(ctx, t, []string{srv.Endpoint()}, stream, h)
	t.Log(r)
	// Writer 0 starts on the dead endpoint, so its first batch is retried.
	if !r.OK() || h.Acked() == 0 || h.Retries == 0 || h.Failures == 0 {
		t.Fatalf("acked %d, retries %d, failures %d, report: %s", h.Acked(), h.Retries, h.Failures, r)
	}
}

// saw2 says whether readers whose names start with prefix saw records of
// both shards.
func (w *Workload) saw2(prefix string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for name, recs := range w.h.Readers {
		if strings.HasPrefix(name, prefix) && len(recs) > 0 {
			n++
		}
	}
	return n >= 2
}
