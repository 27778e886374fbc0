package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
)

// genericJSON is format.encode's JSON path as it was before the hand-written
// encoder: the reference the hot outputs must match byte for byte.
func genericJSON(out any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// genSource feeds the output generator: fuzz bytes, then zeros.
type genSource struct{ b []byte }

func (g *genSource) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *genSource) n(limit int) int { return int(g.byte()) % limit }

func (g *genSource) uint64() uint64 {
	var tmp [8]byte
	for i := range tmp {
		tmp[i] = g.byte()
	}
	return binary.LittleEndian.Uint64(tmp[:])
}

// pieces are the characters encoding/json treats specially, and some it
// does not.
var pieces = []string{
	"a", "Z", "0", " ", "~", "\x7f", `"`, `\`, "/", "<", ">", "&",
	"\x00", "\x01", "\b", "\t", "\n", "\v", "\f", "\r", "\x1b", "\x1f",
	"é", "€", "😀", "\u2027", "\u2028", "\u2029", "\u202a", "\ufffd", "\ufeff",
	"\x80", "\xbf", "\xc0", "\xc3", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\xf0\x9f\x98",
}

func (g *genSource) string() string {
	n := g.n(12)
	if n == 11 {
		n = 40 + g.n(200)
	}
	var b []byte
	for range n {
		if c := g.byte(); c < 128 {
			b = append(b, pieces[int(c)%len(pieces)]...)
		} else {
			b = append(b, g.byte())
		}
	}
	return string(b)
}

func (g *genSource) optString() *string {
	if g.n(3) == 0 {
		return nil
	}
	s := g.string()
	return &s
}

func (g *genSource) strings() []string {
	switch g.n(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	v := make([]string, 1+g.n(3))
	for i := range v {
		v[i] = g.string()
	}
	return v
}

func (g *genSource) blob() []byte {
	switch g.n(64) {
	case 0, 1, 2, 3:
		return nil
	case 4, 5, 6, 7:
		return []byte{}
	case 8:
		// Longer than the stream buffer, so it is written in pieces.
		b := make([]byte, streamBufSize+g.n(200))
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	b := make([]byte, g.n(40))
	for i := range b {
		b[i] = g.byte()
	}
	return b
}

func (g *genSource) time() api.Time {
	var t time.Time
	switch g.n(8) {
	case 0:
		t = time.UnixMilli(int64(g.uint64()))
	case 1:
		t = time.UnixMilli([]int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, 0, -1, -999, -1000, -1001, 1, 999, 1000}[g.n(11)])
	case 2:
		t = time.Unix(int64(g.uint64()), int64(g.uint64()%1e9)) // UnixMilli may overflow
	case 3:
		t = time.Time{}
	default:
		// Today, at every precision: .1, .12, .123, and whole seconds.
		ms := 1_700_000_000_000 + int64(g.uint64()%1e11)
		t = time.UnixMilli(ms - ms%[]int64{1, 10, 100, 1000}[g.n(4)])
	}
	return api.Time{Time: t}
}

func (g *genSource) int64() int64 {
	switch g.n(3) {
	case 0:
		return int64(g.uint64())
	case 1:
		return []int64{0, -1, math.MinInt64, math.MaxInt64}[g.n(4)]
	}
	return int64(g.n(256))
}

func (g *genSource) output() any {
	switch g.n(4) {
	case 0:
		return &api.PutRecordOutput{ShardId: g.string(), SequenceNumber: g.string(), EncryptionType: *or(g.optString(), "")}
	case 1:
		o := &api.PutRecordsOutput{FailedRecordCount: g.int64(), EncryptionType: *or(g.optString(), "")}
		if g.n(5) > 0 {
			o.Records = make([]api.PutRecordsResultEntry, g.n(6))
			for i := range o.Records {
				o.Records[i] = api.PutRecordsResultEntry{SequenceNumber: g.optString(), ShardId: g.optString(),
					ErrorCode: g.optString(), ErrorMessage: g.optString()}
			}
		}
		return o
	}
	o := &api.GetRecordsOutput{NextShardIterator: g.optString(), MillisBehindLatest: g.int64()}
	if g.n(5) > 0 {
		o.Records = make([]api.Record, g.n(6))
		for i := range o.Records {
			o.Records[i] = api.Record{SequenceNumber: g.string(), ApproximateArrivalTimestamp: g.time(),
				Data: g.blob(), PartitionKey: g.string(), EncryptionType: g.optString()}
		}
	}
	switch g.n(4) {
	case 0:
		o.ChildShards = []api.ChildShard{}
	case 1:
		o.ChildShards = make([]api.ChildShard, 1+g.n(3))
		for i := range o.ChildShards {
			o.ChildShards[i] = api.ChildShard{ShardId: g.string(), ParentShards: g.strings(),
				HashKeyRange: api.HashKeyRange{StartingHashKey: g.string(), EndingHashKey: g.string()}}
		}
	}
	return o
}

func or(p *string, def string) *string {
	if p == nil {
		return &def
	}
	return p
}

// failAfter fails every write once n bytes have gone through.
type failAfter struct {
	n   int
	got int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.got+len(p) > f.n {
		return 0, errors.New("gone")
	}
	f.got += len(p)
	return len(p), nil
}

// checkHotJSON compares the hand-written encoder with encoding/json on out:
// same bytes, exact size, same through a stream of any buffer size, and a
// refusal only where encoding/json fails.
func checkHotJSON(t *testing.T, out any, bufSize int) {
	t.Helper()
	want, wantErr := genericJSON(out)
	n, ok := hotJSONSize(out)
	if !ok {
		if wantErr == nil {
			t.Fatalf("hot encoder refused %#v, which encoding/json renders as %q", out, want)
		}
		if _, err := formatJSON.encode(out); err == nil {
			t.Fatalf("encode succeeded where encoding/json fails (%v)", wantErr)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("encoding/json fails (%v) on %#v, but the hot encoder accepted it", wantErr, out)
	}
	if n != len(want) {
		t.Fatalf("size %d, want %d for %q", n, len(want), want)
	}
	got, ok := appendHotJSON(out)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("hot encoder\n%q\nencoding/json\n%q", got, want)
	}
	if cap(got) != n {
		t.Fatalf("buffer grew: cap %d for %d bytes", cap(got), n)
	}
	if got, err := formatJSON.encode(out); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("encode: %q, %v", got, err)
	}
	var w bytes.Buffer
	s := &jsonStream{buf: make([]byte, 0, bufSize), w: &w}
	writeHotJSON(s, out)
	s.flush()
	if s.err != nil || s.written != int64(n) || !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("streamed with a %d-byte buffer (%d written, err %v):\n%q\nwant\n%q", bufSize, s.written, s.err, w.Bytes(), want)
	}
	// A writer that fails midway stops the stream without a panic.
	f := &failAfter{n: n / 2}
	s = &jsonStream{buf: make([]byte, 0, bufSize), w: f}
	writeHotJSON(s, out)
	s.flush()
	if n > bufSize && s.err == nil {
		t.Fatalf("write error lost")
	}
}

// TestHotJSONMatchesEncodingJSON is the property test: random outputs, full
// of the strings, blobs and timestamps encoding/json treats specially.
func TestHotJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	buf := make([]byte, 4096)
	for i := range iters {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		g := &genSource{b: buf}
		out := g.output()
		bufSize := []int{1, 2, 7, 64, 1000, streamBufSize}[i%6]
		checkHotJSON(t, out, bufSize)
	}
}

// TestHotJSONCases pins the cases that matter most, whatever the generator
// happens to produce.
func TestHotJSONCases(t *testing.T) {
	et := "KMS"
	cases := []any{
		&api.GetRecordsOutput{},
		&api.GetRecordsOutput{Records: []api.Record{}, ChildShards: []api.ChildShard{}},
		&api.GetRecordsOutput{Records: []api.Record{{}}, NextShardIterator: new(string)},
		&api.GetRecordsOutput{
			Records: []api.Record{
				{SequenceNumber: "49590338271490256608559692538361571095921575989136588898", ApproximateArrivalTimestamp: *api.NewTime(created),
					Data: []byte("hello"), PartitionKey: "pk\x00\u2028\xff<&>\"\\", EncryptionType: &et},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(-1500)}, Data: []byte{}, PartitionKey: "é"},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(1506440188050)}},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(1506440188005)}},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(1506440188000)}},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(math.MaxInt64)}},
				{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(math.MinInt64 + 1)}},
			},
			MillisBehindLatest: -7,
			ChildShards: []api.ChildShard{
				{ShardId: "shardId-000000000002", ParentShards: []string{"shardId-000000000000", "shardId-000000000001"},
					HashKeyRange: api.HashKeyRange{StartingHashKey: "0", EndingHashKey: "340282366920938463463374607431768211455"}},
				{},
			},
		},
		// encoding/json fails on this timestamp; the hot encoder must defer.
		&api.GetRecordsOutput{Records: []api.Record{{ApproximateArrivalTimestamp: api.Time{Time: time.UnixMilli(math.MinInt64)}}}},
		&api.PutRecordsOutput{},
		&api.PutRecordsOutput{Records: []api.PutRecordsResultEntry{{}, {ErrorCode: &et}, {SequenceNumber: &et, ErrorMessage: &et}}, EncryptionType: "KMS"},
		&api.PutRecordOutput{},
		&api.PutRecordOutput{ShardId: "s", SequenceNumber: "1", EncryptionType: "NONE"},
	}
	for _, out := range cases {
		for _, size := range []int{1, 5, 64, streamBufSize} {
			checkHotJSON(t, out, size)
		}
	}
	// Not hot: nil pointers, values and other outputs take the generic path.
	for _, out := range []any{(*api.GetRecordsOutput)(nil), api.GetRecordsOutput{}, &api.ListShardsOutput{}} {
		if _, ok := hotJSONSize(out); ok {
			t.Fatalf("%T taken as hot", out)
		}
	}
}

func FuzzEncodeJSON(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{1, 1, 3})
	f.Add([]byte{2, 1, 5, 7, 34, 92, 0, 130, 0xff, 1, 1, 10, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{3, 4, 5, 1, 11, 0, 2, 5, 6, 28, 29, 120, 200, 2, 3, 1})
	f.Add([]byte("\x00\x0b\x80\xed\x80\xa0\x1c\x1d\x1e\x1f\x20\x21\x22\x23\x24\x25\x26\x27"))
	f.Add(bytes.Repeat([]byte{0xff, 0x03, 0x27}, 64))
	f.Add(bytes.Repeat([]byte{0x01, 0x00, 0x02}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &genSource{b: data}
		out := g.output()
		checkHotJSON(t, out, 1+g.n(100))
	})
}

// tenThousand is a full GetRecords: 10,000 records of 1 KiB.
func tenThousand() *api.GetRecordsOutput {
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.UnixMilli(1_700_000_000_000)
	recs := make([]api.Record, 10000)
	for i := range recs {
		data := make([]byte, 1024)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		recs[i] = api.Record{
			SequenceNumber:              "4959033827149025660855969253836157109592157598913658" + string(rune('0'+i%10)) + "000",
			ApproximateArrivalTimestamp: api.Time{Time: base.Add(time.Duration(i) * time.Millisecond)},
			Data:                        data,
			PartitionKey:                "pk-" + string(rune('a'+i%26)) + "-ü",
		}
	}
	next := "AAAAAAAAAAGjy0mVbZ8QbE5IU2p8uwvPnl5Dz3ekCKcEPJ8oMGb1mRRqSDZ4hv1fnLsKDPLm2iFYSK2bfiYVT9PyUdgaFh3I5zz2"
	return &api.GetRecordsOutput{Records: recs, NextShardIterator: &next, MillisBehindLatest: 12345}
}

// BenchmarkEncodeGetRecords encodes one 10,000 × 1 KiB GetRecords output.
func BenchmarkEncodeGetRecords(b *testing.B) {
	out := tenThousand()
	n, _ := hotJSONSize(out)
	b.SetBytes(int64(n))
	perRecord := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out.Records)), "ns/record")
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := genericJSON(out); err != nil {
				b.Fatal(err)
			}
		}
		perRecord(b)
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := appendHotJSON(out); !ok {
				b.Fatal("refused")
			}
		}
		perRecord(b)
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := hotJSONSize(out); !ok {
				b.Fatal("refused")
			}
			s := newJSONStream(io.Discard)
			writeHotJSON(s, out)
			s.close()
		}
		perRecord(b)
	})
}

func TestAppendBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 300 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		prefix := []byte("x")
		if got, want := appendBase64(prefix, src), base64.StdEncoding.AppendEncode(prefix, src); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: %q, want %q", n, got, want)
		}
	}
}
