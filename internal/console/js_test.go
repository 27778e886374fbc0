package console

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/aggregation"
)

// The console's plain modules (kpl.js, shardmap.js) run under Node,
// checked against the Go packages they follow. Node (>= 20) is required,
// as it is for the JS SDK tests: without it the tests fail.

// jsModules are copied next to a package.json that makes them ES modules.
var jsModules = []string{"kpl.js", "shardmap.js", "ui.js"}

// nodeProc is one Node process serving testdata/harness.mjs, shared by the
// package's tests (and a fuzz worker's inputs); TestMain stops it.
var nodeProc struct {
	sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	dir string
	err error
}

func startNode() error {
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node not found (install Node.js >= 20: scripts/install-clients.sh): %w", err)
	}
	dir, err := os.MkdirTemp("", "console-js-")
	if err != nil {
		return err
	}
	nodeProc.dir = dir
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		return err
	}
	for _, name := range jsModules {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	harness, err := filepath.Abs("testdata/harness.mjs")
	if err != nil {
		return err
	}
	cmd := exec.Command(node, harness, dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	nodeProc.cmd, nodeProc.in, nodeProc.out = cmd, in, bufio.NewReaderSize(out, 1<<20)
	return nil
}

func stopNode() {
	nodeProc.Lock()
	defer nodeProc.Unlock()
	if nodeProc.cmd != nil {
		nodeProc.in.Close() // the harness ends at end of input
		_ = nodeProc.cmd.Wait()
		nodeProc.cmd = nil
	}
	if nodeProc.dir != "" {
		os.RemoveAll(nodeProc.dir)
	}
}

// js sends one request to the harness and decodes its answer into out.
func js(t testing.TB, req any, out any) {
	t.Helper()
	nodeProc.Lock()
	defer nodeProc.Unlock()
	if nodeProc.cmd == nil && nodeProc.err == nil {
		nodeProc.err = startNode()
	}
	if nodeProc.err != nil {
		t.Fatal(nodeProc.err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodeProc.in.Write(append(b, '\n')); err != nil {
		nodeProc.err = err
		t.Fatalf("node harness: %v", err)
	}
	line, err := nodeProc.out.ReadBytes('\n')
	if err != nil {
		nodeProc.err = err
		t.Fatalf("node harness: %v", err)
	}
	var e struct{ Error string }
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		t.Fatalf("node harness: %s", e.Error)
	}
	if err := json.Unmarshal(line, out); err != nil {
		t.Fatalf("node harness answer %q: %v", line, err)
	}
}

type jsRecord struct {
	PK   string  `json:"pk"`
	EHK  *string `json:"ehk"`
	Data string  `json:"data"`
	Key  string  `json:"key"`
}

type jsDeagg struct {
	OK         bool       `json:"ok"`
	Kind       string     `json:"kind"`
	Msg        string     `json:"msg"`
	Aggregated bool       `json:"aggregated"`
	Records    []jsRecord `json:"records"`
}

// errKind names a Deaggregate error as kpl.js does.
func errKind(err error) string {
	switch {
	case errors.Is(err, aggregation.ErrNotAggregated):
		return "not-aggregated"
	case errors.Is(err, aggregation.ErrChecksum):
		return "checksum"
	case errors.Is(err, aggregation.ErrMalformed):
		return "malformed"
	}
	return "unknown: " + err.Error()
}

// sameAsGo checks kpl.js against aggregation on data: the same records
// (keys byte for byte, and hash keys) or the same kind of error, and the
// same IsAggregated.
func sameAsGo(t testing.TB, data []byte) {
	t.Helper()
	var got jsDeagg
	js(t, map[string]string{"op": "deagg", "hex": hex.EncodeToString(data)}, &got)
	want, err := aggregation.Deaggregate(data)
	if got.Kind == "crash" {
		t.Fatalf("kpl.js threw on %x: %s", data, got.Msg)
	}
	if got.Aggregated != aggregation.IsAggregated(data) {
		t.Fatalf("isAggregated(%x) = %v, Go says %v", data, got.Aggregated, !got.Aggregated)
	}
	if err != nil {
		if got.OK {
			t.Fatalf("kpl.js read %x as %d records; Go: %v", data, len(got.Records), err)
		}
		if k := errKind(err); got.Kind != k {
			t.Fatalf("kpl.js error on %x is %s (%s); Go: %s (%v)", data, got.Kind, got.Msg, k, err)
		}
		return
	}
	if !got.OK {
		t.Fatalf("kpl.js refused %x (%s: %s); Go read %d records", data, got.Kind, got.Msg, len(want))
	}
	if len(got.Records) != len(want) {
		t.Fatalf("kpl.js read %d records from %x, Go %d", len(got.Records), data, len(want))
	}
	for i, w := range want {
		g := got.Records[i]
		if g.PK != hex.EncodeToString([]byte(w.PartitionKey)) || g.Data != hex.EncodeToString(w.Data) {
			t.Fatalf("record %d: kpl.js {pk %s data %s}, Go {pk %x data %x}", i, g.PK, g.Data, w.PartitionKey, w.Data)
		}
		if (g.EHK == nil) != (w.ExplicitHashKey == "") || (g.EHK != nil && *g.EHK != hex.EncodeToString([]byte(w.ExplicitHashKey))) {
			t.Fatalf("record %d: kpl.js explicit hash key %v, Go %q", i, g.EHK, w.ExplicitHashKey)
		}
		k, err := w.HashKey()
		if err != nil {
			t.Fatal(err)
		}
		if g.Key != k.String() {
			t.Fatalf("record %d: kpl.js hash key %s, Go %s", i, g.Key, k)
		}
	}
}

// frame wraps a protobuf message as an aggregated record with a right MD5.
func frame(msg []byte) []byte {
	sum := md5.Sum(msg)
	out := append(append([]byte{}, aggregation.Magic[:]...), msg...)
	return append(out, sum[:]...)
}

func randomRecords(r *rand.Rand) []aggregation.Record {
	keys := []string{"a", "pk", "ключ", "🙂", "", "user-42"}
	var recs []aggregation.Record
	for range r.IntN(6) {
		rec := aggregation.Record{PartitionKey: keys[r.IntN(len(keys))], Data: make([]byte, r.IntN(300))}
		for i := range rec.Data {
			rec.Data[i] = byte(r.Uint32())
		}
		if r.IntN(3) == 0 {
			k := new(big.Int).SetUint64(r.Uint64())
			rec.ExplicitHashKey = k.Lsh(k, 64).Or(k, new(big.Int).SetUint64(r.Uint64())).String()
		}
		recs = append(recs, rec)
	}
	return recs
}

// hexMsgs are hand-made messages the fuzz target also starts from: unknown
// fields, groups, tags, bad indexes, truncation, overflow.
var hexMsgs = []string{
	"0a0161 7b 0801 7c 1a05 0800 1a0178",       // a group around a field, skipped
	"0a0161 1a0c 0800 1a0178 2205 0a016b 1200", // a record with a tag
	"0a0161 1a05 0801 1a0178",                  // partition key index out of range
	"0a0161 0a0162 120131 120132 1a07 0800 1000 1a0178 1a04 0801 1a00",
	"0a80",                                         // truncated length
	"0a0161 1a03 0800 22",                          // record without data, truncated tag field
	"0a0161 1a04 0800 1a00 0c",                     // end group at top level
	"0a0161 1a04 0800 1a00 0f",                     // reserved wire type 7
	"0a0161 1203 2d3031 1a07 0800 1000 1a0178",     // explicit hash key "-01"
	"0a0161 1202 3178 1a07 0800 1000 1a0178",       // explicit hash key "1x"
	"0a0161 1a04 0800 1a00 08ffffffffffffffffff01", // varint at the 64-bit limit
	"0a0161 1a04 0800 1a00 08ffffffffffffffffff02", // varint past it
	"0a0161 1a06 0800 1a00 2200",                   // a tag without its key
	"0a0161 1a0d 08ffffffffffffffff7f 1a0178",      // huge partition key index
	"0a0161 1d01020304 1a04 0800 1a00",             // fixed32 in field 3, skipped
	"0a0161 19 0102030405060708 1a04 0800 1a00",    // fixed64
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKPLMatchesGo: kpl.js reads what the aggregation package writes, and
// agrees with it on hand-made, damaged and random bytes.
func TestKPLMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cases [][]byte
	cases = append(cases, nil, []byte("plain text"), aggregation.Magic[:], aggregation.Encode(nil))
	for _, m := range hexMsgs {
		cases = append(cases, frame(mustHex(t, m)))
	}
	// Deep groups: the Go limit is 10001 levels.
	for _, depth := range []int{10001, 10002} {
		msg := []byte{}
		for range depth {
			msg = append(msg, 0x0b) // start group 1
		}
		for range depth {
			msg = append(msg, 0x0c)
		}
		cases = append(cases, frame(msg))
	}
	for range 200 {
		blob := aggregation.Encode(randomRecords(r))
		cases = append(cases, blob)
		// The same with a byte changed: usually a checksum error...
		bad := bytes.Clone(blob)
		bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		cases = append(cases, bad)
		// ...and, re-framed, a message the parser has to judge.
		msg := bytes.Clone(blob[4 : len(blob)-16])
		if len(msg) > 0 {
			msg[r.IntN(len(msg))] ^= byte(1 + r.IntN(255))
			cases = append(cases, frame(msg), frame(msg[:r.IntN(len(msg))]))
		}
	}
	for _, c := range cases {
		sameAsGo(t, c)
	}
	// A real producer's record, aggregated the KPL way.
	var a aggregation.Aggregator
	for i := range 50 {
		if err := a.Add(aggregation.Record{PartitionKey: fmt.Sprintf("key-%d", i), Data: fmt.Appendf(nil, `{"n":%d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	blob, _, _, err := a.Drain()
	if err != nil {
		t.Fatal(err)
	}
	sameAsGo(t, blob)
}

// TestMD5MatchesGo covers the padding boundaries (55, 56, 64 bytes...).
func TestMD5MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		var got struct{ MD5 string }
		js(t, map[string]string{"op": "md5", "hex": hex.EncodeToString(b)}, &got)
		if sum := md5.Sum(b); got.MD5 != hex.EncodeToString(sum[:]) {
			t.Errorf("md5 of %d bytes: kpl.js %s, Go %x", n, got.MD5, sum)
		}
	}
	for _, s := range []string{"", "a", "pk", "ключ", "🙂 partition"} {
		var got struct{ Key string }
		js(t, map[string]string{"op": "hashkey", "str": s}, &got)
		want, _ := aggregation.Record{PartitionKey: s}.HashKey()
		if got.Key != want.String() {
			t.Errorf("hashKeyOf(%q) = %s, want %s", s, got.Key, want)
		}
	}
}

// FuzzKPL: whatever the bytes, kpl.js and the Go package agree, and
// kpl.js never throws anything but a DeaggregationError. frame=true wraps
// data with a valid checksum so the fuzzer reaches the protobuf parser.
func FuzzKPL(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte("plain"), false)
	f.Add(aggregation.Encode([]aggregation.Record{{PartitionKey: "pk", Data: []byte("a")}, {PartitionKey: "pk", ExplicitHashKey: "7", Data: []byte("bc")}}), false)
	for _, m := range hexMsgs {
		f.Add(mustHex(f, m), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, framed bool) {
		if framed {
			data = frame(data)
		}
		sameAsGo(t, data)
	})
}

type shard struct {
	ShardId               string
	ParentShardId         string `json:",omitempty"`
	AdjacentParentShardId string `json:",omitempty"`
	HashKeyRange          struct{ StartingHashKey, EndingHashKey string }
	SequenceNumberRange   struct {
		StartingSequenceNumber string
		EndingSequenceNumber   string `json:",omitempty"`
	}
}

func mkShard(id int, start, end *big.Int, closed bool, parents ...int) shard {
	s := shard{ShardId: fmt.Sprintf("shardId-%012d", id)}
	s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey = start.String(), end.String()
	s.SequenceNumberRange.StartingSequenceNumber = fmt.Sprint(1000 + id)
	if closed {
		s.SequenceNumberRange.EndingSequenceNumber = fmt.Sprint(2000 + id)
	}
	if len(parents) > 0 {
		s.ParentShardId = fmt.Sprintf("shardId-%012d", parents[0])
	}
	if len(parents) > 1 {
		s.AdjacentParentShardId = fmt.Sprintf("shardId-%012d", parents[1])
	}
	return s
}

type jsLayout struct {
	Rows  int
	Items []struct {
		ID     string
		Row    int
		Open   bool
		X0, X1 float64
	}
	Links [][2]string
}

// TestShardMapLayout: generations become rows, lineage becomes links, and
// the split and merge helpers pick what SplitShard and MergeShards take.
func TestShardMapLayout(t *testing.T) {
	n := func(s string) *big.Int { v, _ := new(big.Int).SetString(s, 0); return v }
	top := n("0xffffffffffffffffffffffffffffffff")
	half := n("0x80000000000000000000000000000000")
	quarter := n("0x40000000000000000000000000000000")
	one := big.NewInt(1)
	sub := func(a *big.Int) *big.Int { return new(big.Int).Sub(a, one) }

	var mid struct{ Key string }
	js(t, map[string]string{"op": "midpoint", "start": "0", "end": top.String()}, &mid)
	if mid.Key != half.String() {
		t.Errorf("midpoint of the key space = %s, want %s", mid.Key, half)
	}
	js(t, map[string]string{"op": "midpoint", "start": "5", "end": "6"}, &mid)
	if mid.Key != "6" {
		t.Errorf("midpoint(5, 6) = %s, want 6", mid.Key)
	}

	// 0 splits into 1 and 2; 2 splits into 3 and 4; 3 and 4 merge into 5.
	three := new(big.Int).Add(half, quarter)
	shards := []shard{
		mkShard(5, half, top, false, 3, 4),
		mkShard(0, new(big.Int), top, true),
		mkShard(1, new(big.Int), sub(half), false, 0),
		mkShard(2, half, top, true, 0),
		mkShard(3, half, sub(three), true, 2),
		mkShard(4, three, top, true, 2),
	}
	var l jsLayout
	js(t, map[string]any{"op": "layout", "shards": shards}, &l)
	rows := map[string]int{}
	for _, it := range l.Items {
		rows[it.ID] = it.Row
	}
	want := map[string]int{"shardId-000000000000": 0, "shardId-000000000001": 1, "shardId-000000000002": 1,
		"shardId-000000000003": 2, "shardId-000000000004": 2, "shardId-000000000005": 3}
	for id, row := range want {
		if rows[id] != row {
			t.Errorf("%s in row %d, want %d", id, rows[id], row)
		}
	}
	if l.Rows != 4 || len(l.Links) != 6 {
		t.Errorf("%d rows and %d links, want 4 and 6: %v", l.Rows, len(l.Links), l.Links)
	}
	for _, it := range l.Items {
		if it.ID == "shardId-000000000001" && (it.X0 != 0 || it.X1 != 0.5 || !it.Open) {
			t.Errorf("shard 1 drawn from %v to %v (open %v), want 0 to 0.5, open", it.X0, it.X1, it.Open)
		}
	}
	// Retention dropped shard 2: shard 3 still goes below shard 0.
	js(t, map[string]any{"op": "layout", "shards": []shard{shards[1], shards[4]}}, &l)
	if l.Rows != 2 || len(l.Links) != 0 {
		t.Errorf("without the middle generation: %d rows, %d links; want 2, 0", l.Rows, len(l.Links))
	}

	var pairs struct{ Pairs [][2]string }
	open := []shard{
		mkShard(6, three, top, false),
		mkShard(7, new(big.Int), sub(quarter), false),
		mkShard(8, quarter, sub(three), false),
		mkShard(9, new(big.Int), top, true),
	}
	js(t, map[string]any{"op": "pairs", "shards": open}, &pairs)
	if fmt.Sprint(pairs.Pairs) != "[[shardId-000000000007 shardId-000000000008] [shardId-000000000008 shardId-000000000006]]" {
		t.Errorf("adjacent pairs %v", pairs.Pairs)
	}
}
