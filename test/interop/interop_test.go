package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/aggregation"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	nodeBin    = "/usr/bin/node"
	modulesDir = "../e2e/clients/node_modules"
)

// jsRecord is a user record as the node script reads and writes it.
type jsRecord struct {
	PartitionKey    string `json:"partitionKey"`
	ExplicitHashKey string `json:"explicitHashKey,omitempty"`
	Data            []byte `json:"data"` // base64 in JSON
}

type jsKinesisRecord struct {
	PartitionKey   string `json:"partitionKey"`
	SequenceNumber string `json:"sequenceNumber"`
	Data           []byte `json:"data"`
}

type jsUserRecord struct {
	PartitionKey         string  `json:"partitionKey"`
	ExplicitPartitionKey *string `json:"explicitPartitionKey"`
	SequenceNumber       string  `json:"sequenceNumber"`
	SubSequenceNumber    *int    `json:"subSequenceNumber"`
	Data                 []byte  `json:"data"`
}

type jsDeaggregated struct {
	Errors      []string       `json:"errors"`
	UserRecords []jsUserRecord `json:"userRecords"`
}

type jsEncoded struct {
	PartitionKey    string `json:"partitionKey"`
	ExplicitHashKey string `json:"explicitHashKey"`
	Data            []byte `json:"data"`
}

type jsAggregated struct {
	Errors  []string    `json:"errors"`
	Encoded []jsEncoded `json:"encoded"`
}

// runNode runs kpl_agg.cjs in mode with req as JSON on stdin and decodes its
// stdout into resp. A missing node or module fails the test: interop is a
// requirement, not an option.
func runNode(t *testing.T, mode string, req, resp any) {
	t.Helper()
	if _, err := os.Stat(nodeBin); err != nil {
		t.Fatalf("%s is required: %v", nodeBin, err)
	}
	mods, err := filepath.Abs(modulesDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mods, "aws-kinesis-agg", "package.json")); err != nil {
		t.Fatalf("aws-kinesis-agg is not installed (run scripts/install-clients.sh): %v", err)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "kpl_agg.cjs", mods, mode)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), resp); err != nil {
		t.Fatalf("node %s output: %v\n%.500s", mode, err, stdout.String())
	}
}

type testCase struct {
	name    string
	records []aggregation.Record
	maxSize int // for the Go aggregator; 0 is the default
	// nodeAggregates is false where aws-kinesis-agg's own encoder is wrong
	// (see numericKeys).
	nodeAggregates bool
}

func data(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Hash keys above 2^32 on purpose: aws-kinesis-agg builds its key tables
// with Object.keys, which lists integer-like keys below 2^32-1 first, in
// numeric order, so its tables disagree with its indexes for such keys.
const (
	ehkMax  = "340282366920938463463374607431768211455"
	ehkHalf = "170141183460469231731687303715884105728"
	ehk2_32 = "4294967296"
)

func cases() []testCase {
	rng := rand.New(rand.NewPCG(7, 11))
	var several []aggregation.Record
	for i := range 40 {
		several = append(several, aggregation.Record{
			PartitionKey: fmt.Sprintf("device-%d", i%6),
			Data:         data(rng, 1+rng.IntN(300)),
		})
	}
	var withEHK []aggregation.Record
	for i, ehk := range []string{ehkMax, "", ehkHalf, ehk2_32, ehkMax, "", ehkHalf} {
		withEHK = append(withEHK, aggregation.Record{
			PartitionKey:    fmt.Sprintf("k%c", 'a'+i%3),
			ExplicitHashKey: ehk,
			Data:            []byte(fmt.Sprintf("record %d", i)),
		})
	}
	empty := []aggregation.Record{
		{PartitionKey: "e1", Data: []byte{}},
		{PartitionKey: "e2", Data: []byte("not empty")},
		{PartitionKey: "e1", ExplicitHashKey: ehk2_32, Data: []byte{}},
	}
	unicode := []aggregation.Record{
		{PartitionKey: "ключ", Data: []byte("данные")},
		{PartitionKey: "日本語のキー", Data: []byte("データ")},
		{PartitionKey: "🙂 emoji", Data: []byte("😀")},
		{PartitionKey: "e\u0301", Data: []byte("combining")}, // e + combining acute
		{PartitionKey: "ключ", ExplicitHashKey: ehkMax, Data: []byte{0xff, 0x00, 0xfe}},
		{PartitionKey: strings.Repeat("ü", 256), Data: []byte("longest key")},
	}
	// Many records with random sizes: the Go aggregator fills blobs close
	// to its default 51200-byte limit.
	var nearDefault []aggregation.Record
	for i := range 120 {
		nearDefault = append(nearDefault, aggregation.Record{
			PartitionKey: fmt.Sprintf("p%d", i%17),
			Data:         data(rng, 200+rng.IntN(3000)),
		})
	}
	// About 2.6 MB: aws-kinesis-agg splits it into records near its 1 MiB
	// limit, and the Go aggregator (1 MiB limit) does the same.
	var nearMiB []aggregation.Record
	for i := range 40 {
		nearMiB = append(nearMiB, aggregation.Record{PartitionKey: fmt.Sprintf("big-%d", i%3), Data: data(rng, 60000+rng.IntN(10000))})
	}
	// One big record plus one sized so the blob is exactly 51200 bytes.
	var a aggregation.Aggregator
	exact := []aggregation.Record{{PartitionKey: "exact", Data: data(rng, 40000)}}
	if err := a.Add(exact[0]); err != nil {
		panic(err)
	}
	filler := aggregation.Record{PartitionKey: "filler", ExplicitHashKey: ehkHalf}
	for a.SizeWith(filler) < aggregation.DefaultMaxSize {
		filler.Data = append(filler.Data, byte(len(filler.Data)))
	}
	exact = append(exact, filler)
	// aws-kinesis-agg aggregates integer-like keys wrongly (see ehk2_32),
	// but reads them right.
	numericKeys := []aggregation.Record{
		{PartitionKey: "10", Data: []byte("a")},
		{PartitionKey: "2", ExplicitHashKey: "7", Data: []byte("b")},
		{PartitionKey: "x", ExplicitHashKey: "3", Data: []byte("c")},
	}
	return []testCase{
		{name: "several keys", records: several, nodeAggregates: true},
		{name: "explicit hash keys", records: withEHK, nodeAggregates: true},
		{name: "empty data", records: empty, nodeAggregates: true},
		{name: "unicode keys", records: unicode, nodeAggregates: true},
		{name: "near the default size limit", records: nearDefault, nodeAggregates: true},
		{name: "near 1 MiB", records: nearMiB, maxSize: aggregation.MaxMaxSize, nodeAggregates: true},
		{name: "exactly the default size limit", records: exact, nodeAggregates: true},
		{name: "numeric keys", records: numericKeys},
	}
}

// goAggregate aggregates records as a producer would: Add until ErrFull,
// Drain, repeat. It returns the blobs with the records each holds.
func goAggregate(t *testing.T, records []aggregation.Record, maxSize int) (blobs []jsEncoded, batches [][]aggregation.Record) {
	t.Helper()
	var opts []aggregation.Option
	if maxSize != 0 {
		opts = append(opts, aggregation.WithMaxSize(maxSize))
	}
	a, err := aggregation.NewAggregator(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var pending []aggregation.Record
	drain := func() {
		size := a.Size()
		blob, pk, ehk, err := a.Drain()
		if err != nil {
			t.Fatal(err)
		}
		if len(blob) != size || size > a.MaxSize() {
			t.Fatalf("blob of %d bytes, Size %d, limit %d", len(blob), size, a.MaxSize())
		}
		blobs = append(blobs, jsEncoded{PartitionKey: pk, ExplicitHashKey: ehk, Data: blob})
		batches = append(batches, pending)
		pending = nil
	}
	for _, r := range records {
		err := a.Add(r)
		if errors.Is(err, aggregation.ErrFull) {
			drain()
			err = a.Add(r)
		}
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, r)
	}
	drain()
	return blobs, batches
}

func sameRecords(t *testing.T, got, want []aggregation.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.PartitionKey != w.PartitionKey || g.ExplicitHashKey != w.ExplicitHashKey || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("record %d: got {%q %q %d bytes}, want {%q %q %d bytes}", i,
				g.PartitionKey, g.ExplicitHashKey, len(g.Data), w.PartitionKey, w.ExplicitHashKey, len(w.Data))
		}
	}
}

// Records aggregated by package aggregation are read correctly by
// aws-kinesis-agg's deaggregateSync, checksums verified.
func TestNodeReadsGoAggregates(t *testing.T) {
	cs := cases()
	var req []jsKinesisRecord
	var batches [][][]aggregation.Record // per case, per blob
	for ci, c := range cs {
		blobs, bs := goAggregate(t, c.records, c.maxSize)
		batches = append(batches, bs)
		for bi, b := range blobs {
			req = append(req, jsKinesisRecord{PartitionKey: b.PartitionKey, SequenceNumber: fmt.Sprintf("%d-%d", ci, bi), Data: b.Data})
		}
	}
	var resp []jsDeaggregated
	runNode(t, "deaggregate", req, &resp)
	if len(resp) != len(req) {
		t.Fatalf("node answered for %d records, sent %d", len(resp), len(req))
	}
	next := 0
	for ci, c := range cs {
		first := next
		next += len(batches[ci])
		t.Run(c.name, func(t *testing.T) {
			largest := 0
			for bi, batch := range batches[ci] {
				in, out := req[first+bi], resp[first+bi]
				largest = max(largest, len(in.Data))
				if len(out.Errors) > 0 {
					t.Fatalf("blob %d: aws-kinesis-agg: %v", bi, out.Errors)
				}
				if len(out.UserRecords) != len(batch) {
					t.Fatalf("blob %d: aws-kinesis-agg read %d user records, want %d", bi, len(out.UserRecords), len(batch))
				}
				for j, u := range out.UserRecords {
					w := batch[j]
					if u.PartitionKey != w.PartitionKey || !bytes.Equal(u.Data, w.Data) {
						t.Fatalf("blob %d record %d: got {%q %d bytes}, want {%q %d bytes}",
							bi, j, u.PartitionKey, len(u.Data), w.PartitionKey, len(w.Data))
					}
					if u.SequenceNumber != in.SequenceNumber || u.SubSequenceNumber == nil || *u.SubSequenceNumber != j {
						t.Fatalf("blob %d record %d: sequence %q/%v", bi, j, u.SequenceNumber, u.SubSequenceNumber)
					}
					// Without an explicit hash key index, protobufjs reads
					// the proto2 default 0, so aws-kinesis-agg reports the
					// table's first key: only records that have one can be
					// checked.
					if w.ExplicitHashKey != "" && (u.ExplicitPartitionKey == nil || *u.ExplicitPartitionKey != w.ExplicitHashKey) {
						t.Fatalf("blob %d record %d: explicit hash key %v, want %q", bi, j, u.ExplicitPartitionKey, w.ExplicitHashKey)
					}
				}
			}
			switch c.name {
			case "near the default size limit":
				if len(batches[ci]) < 3 || largest < aggregation.DefaultMaxSize-3500 {
					t.Fatalf("%d blobs, largest %d bytes: not near the limit", len(batches[ci]), largest)
				}
			case "exactly the default size limit":
				if len(batches[ci]) != 1 || largest != aggregation.DefaultMaxSize {
					t.Fatalf("%d blobs, largest %d bytes", len(batches[ci]), largest)
				}
			case "near 1 MiB":
				if len(batches[ci]) < 2 || largest < aggregation.MaxMaxSize-75000 {
					t.Fatalf("%d blobs, largest %d bytes: not near 1 MiB", len(batches[ci]), largest)
				}
			}
		})
	}
}

// Records aggregated by aws-kinesis-agg's aggregate are read correctly by
// package aggregation, and are the very bytes it writes itself.
func TestGoReadsNodeAggregates(t *testing.T) {
	var cs []testCase
	var req [][]jsRecord
	for _, c := range cases() {
		if !c.nodeAggregates {
			continue
		}
		cs = append(cs, c)
		var recs []jsRecord
		for _, r := range c.records {
			recs = append(recs, jsRecord(r))
		}
		req = append(req, recs)
	}
	var resp []jsAggregated
	runNode(t, "aggregate", req, &resp)
	if len(resp) != len(req) {
		t.Fatalf("node answered for %d cases, sent %d", len(resp), len(req))
	}
	for ci, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			res := resp[ci]
			if len(res.Errors) > 0 {
				t.Fatalf("aws-kinesis-agg: %v", res.Errors)
			}
			var got []aggregation.Record
			for bi, enc := range res.Encoded {
				if !aggregation.IsAggregated(enc.Data) {
					t.Fatalf("blob %d is not an aggregated record", bi)
				}
				seq := fmt.Sprint(4960 + bi)
				users, err := aggregation.DeaggregateRecord(aggregation.KinesisRecord{
					SequenceNumber: seq, PartitionKey: enc.PartitionKey, Data: enc.Data,
				}, nil)
				if err != nil {
					t.Fatal(err)
				}
				var batch []aggregation.Record
				for j, u := range users {
					if !u.Aggregated || u.SequenceNumber != seq || u.SubSequenceNumber != uint64(j) {
						t.Fatalf("blob %d user record %d: %+v", bi, j, u)
					}
					batch = append(batch, u.Record)
				}
				if len(batch) == 0 || enc.PartitionKey != batch[0].PartitionKey {
					t.Fatalf("blob %d: outer key %q, %d records", bi, enc.PartitionKey, len(batch))
				}
				if !bytes.Equal(aggregation.Encode(batch), enc.Data) {
					t.Fatalf("blob %d: Encode of the same records differs from aws-kinesis-agg's bytes", bi)
				}
				got = append(got, batch...)
			}
			sameRecords(t, got, c.records)

			// With the same 1 MiB limit, the Go aggregator splits exactly
			// where aws-kinesis-agg does and writes the same blobs.
			ours, _ := goAggregate(t, c.records, aggregation.MaxMaxSize)
			if len(ours) != len(res.Encoded) {
				t.Fatalf("Go made %d blobs, aws-kinesis-agg %d", len(ours), len(res.Encoded))
			}
			for bi := range ours {
				o, n := ours[bi], res.Encoded[bi]
				if !bytes.Equal(o.Data, n.Data) || o.PartitionKey != n.PartitionKey || o.ExplicitHashKey != n.ExplicitHashKey {
					t.Fatalf("blob %d differs: Go {%q %q %d bytes}, aws-kinesis-agg {%q %q %d bytes}", bi,
						o.PartitionKey, o.ExplicitHashKey, len(o.Data), n.PartitionKey, n.ExplicitHashKey, len(n.Data))
				}
			}
			if c.name == "near 1 MiB" && len(res.Encoded) < 2 {
				t.Fatalf("aws-kinesis-agg made %d blobs; the case should need several", len(res.Encoded))
			}
		})
	}
}
