package rawclient

import (
	"bytes"
	"encoding/base64"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The response decoders read the members of the known response shapes
// and skip every other member. Their rules follow encoding/json decoding
// into the SDK's structs, with member names matched exactly (as the SDK
// does): a null member is an absent one, and when a member appears twice
// the last one wins whole.
//
// A GetRecords response of 10,000 records becomes a handful of
// allocations: the records' data share one block, their strings one
// string, and the pointers in types.Record point into shared slices.

// ref is a string collected in decoder.strs, or absent.
type ref struct {
	off, end int
	set      bool
}

type recordScratch struct {
	data    []byte // nil if absent
	seq, pk ref
	enc     types.EncryptionType
	encRef  ref // EncryptionType other than NONE and KMS
	ts      int64
	hasTS   bool
}

type resultScratch struct {
	code, msg, seq, shard ref
}

// decoder holds the scratch space of one response decode.
type decoder struct {
	s       scanner
	strs    []byte // the bytes of the strings to build
	tmp     []byte // unescaped blob text
	arena   []byte // decoded blobs; handed to the caller, never reused
	recs    []recordScratch
	results []resultScratch
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder(body []byte) *decoder {
	d := decoders.Get().(*decoder)
	d.s.reset(body)
	d.strs, d.tmp, d.arena = d.strs[:0], d.tmp[:0], nil
	d.recs, d.results = d.recs[:0], d.results[:0]
	return d
}

// maxKeep bounds the scratch a pooled decoder keeps.
const maxKeep = 4 << 20

func putDecoder(d *decoder) {
	d.s.b, d.arena = nil, nil
	clear(d.recs) // their data point into arenas handed out
	if cap(d.strs) > maxKeep || cap(d.tmp) > maxKeep || cap(d.recs) > 20000 || cap(d.results) > 2000 {
		return
	}
	decoders.Put(d)
}

// text reads a string or null into d.strs.
func (d *decoder) text() (ref, error) {
	if null, err := d.s.null(); null || err != nil {
		return ref{}, err
	}
	raw, esc, err := d.s.str()
	if err != nil {
		return ref{}, err
	}
	off := len(d.strs)
	if esc {
		d.strs = unquote(d.strs, raw)
	} else {
		d.strs = append(d.strs, raw...)
	}
	return ref{off: off, end: len(d.strs), set: true}, nil
}

// encryptionType reads EncryptionType, without building a string for the
// two values Kinesis has.
func (d *decoder) encryptionType() (types.EncryptionType, ref, error) {
	if d.s.next() == '"' {
		at := d.s.i
		raw, esc, err := d.s.str()
		if err != nil {
			return "", ref{}, err
		}
		if !esc {
			switch string(raw) {
			case "NONE":
				return types.EncryptionTypeNone, ref{}, nil
			case "KMS":
				return types.EncryptionTypeKms, ref{}, nil
			}
		}
		d.s.i = at
	}
	r, err := d.text()
	return "", r, err
}

// blob reads a base64 string or null into d.arena.
func (d *decoder) blob() ([]byte, error) {
	s := &d.s
	if null, err := s.null(); null || err != nil {
		return nil, err
	}
	if s.next() != '"' {
		return nil, s.fail("expected a string")
	}
	at := s.i
	start := at + 1
	var src []byte
	j := bytes.IndexByte(s.b[start:], '"')
	plain := j >= 0 && bytes.IndexByte(s.b[start:start+j], '\\') < 0
	if plain {
		// The usual case, no escapes: decode the text in place. Base64
		// refuses every byte JSON would (a control character, a byte that
		// is not ASCII) except CR and LF, which it skips: checked below.
		src = s.b[start : start+j]
		s.i = start + j + 1
	} else {
		raw, _, err := s.str()
		if err != nil {
			return nil, err
		}
		d.tmp = unquote(d.tmp[:0], raw)
		src = d.tmp
	}
	need := base64.StdEncoding.DecodedLen(len(src))
	if d.arena == nil || cap(d.arena)-len(d.arena) < need {
		// Sized for every blob still to come, so there is one block per
		// response. Earlier blobs stay in the old block.
		d.arena = make([]byte, 0, need+base64.StdEncoding.DecodedLen(len(s.b)-s.i))
	}
	off := len(d.arena)
	var err error
	d.arena, err = base64.StdEncoding.AppendDecode(d.arena, src)
	if err != nil {
		d.arena = d.arena[:off]
		return nil, &syntaxError{off: at, msg: "invalid base64 data: " + err.Error()}
	}
	if plain && !exactBase64(src, len(d.arena)-off) && (bytes.IndexByte(src, '\n') >= 0 || bytes.IndexByte(src, '\r') >= 0) {
		d.arena = d.arena[:off]
		return nil, &syntaxError{off: at, msg: "control character in string"}
	}
	return d.arena[off:len(d.arena):len(d.arena)], nil
}

// exactBase64 reports whether src, which decoded to n bytes, decoded with
// no CR or LF skipped: then its length is a multiple of 4 and n is what
// that length and its padding give. (k skipped bytes with a length that is
// a multiple of 4 make k a multiple of 4, and n at least 3 short.)
func exactBase64(src []byte, n int) bool {
	if len(src)%4 != 0 {
		return false
	}
	pad := 0
	if len(src) > 0 && src[len(src)-1] == '=' {
		pad++
		if len(src) > 1 && src[len(src)-2] == '=' {
			pad++
		}
	}
	return n == len(src)/4*3-pad
}

// optString reads a string or null.
func (d *decoder) optString() (*string, error) {
	if null, err := d.s.null(); null || err != nil {
		return nil, err
	}
	raw, esc, err := d.s.str()
	if err != nil {
		return nil, err
	}
	var v string
	if esc {
		d.tmp = unquote(d.tmp[:0], raw)
		v = string(d.tmp)
	} else {
		v = string(raw)
	}
	return &v, nil
}

func (d *decoder) optInt(bits int) (int64, bool, error) {
	if null, err := d.s.null(); null || err != nil {
		return 0, false, err
	}
	n, err := d.s.int(bits)
	return n, err == nil, err
}

// epochMillis turns JSON 1.1 epoch seconds into milliseconds as
// smithy-go's ParseEpochSeconds does: the product rounded to a float64,
// then truncated, saturating at the int64 range.
func epochMillis(sec float64) int64 {
	ms := sec * 1e3
	switch {
	case ms >= math.MaxInt64:
		return math.MaxInt64
	case ms <= math.MinInt64:
		return math.MinInt64
	}
	return int64(ms)
}

// msTime is ParseEpochSeconds' time for ms (overflow included).
func msTime(ms int64) time.Time { return time.Unix(0, ms*1e6).UTC() }

// finish builds the strings of d.strs: one string, and the *string
// values in one slice, of which n are needed.
type stringTable struct {
	all  string
	ptrs []string
}

func (d *decoder) table(n int) stringTable {
	if n == 0 {
		return stringTable{}
	}
	return stringTable{all: string(d.strs), ptrs: make([]string, 0, n)}
}

func (t *stringTable) get(r ref) *string {
	if !r.set {
		return nil
	}
	t.ptrs = append(t.ptrs, t.all[r.off:r.end])
	return &t.ptrs[len(t.ptrs)-1]
}

func (t *stringTable) value(r ref) string {
	if !r.set {
		return ""
	}
	return t.all[r.off:r.end]
}

func count(rs ...ref) int {
	n := 0
	for _, r := range rs {
		if r.set {
			n++
		}
	}
	return n
}

// object decodes a whole response body that is an object, calling member
// for each member. An empty body is an empty response (as the SDK reads
// it), and so is null.
func (d *decoder) object(member func(name []byte) error) error {
	if len(d.s.b) == 0 {
		return nil
	}
	if err := d.eachMember(member); err != nil {
		return err
	}
	return d.s.end()
}

func decodeGetRecords(body []byte, out *kinesis.GetRecordsOutput) error {
	d := getDecoder(body)
	defer putDecoder(d)
	haveRecords := false
	err := d.object(func(name []byte) (err error) {
		switch string(name) {
		case "Records":
			haveRecords, err = d.records()
		case "NextShardIterator":
			out.NextShardIterator, err = d.optString()
		case "MillisBehindLatest":
			var n int64
			var ok bool
			n, ok, err = d.optInt(64)
			out.MillisBehindLatest = nil
			if ok {
				out.MillisBehindLatest = &n
			}
		case "ChildShards":
			out.ChildShards, err = d.childShards()
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if !haveRecords {
		return nil
	}
	nstr, nts := 0, 0
	for i := range d.recs {
		r := &d.recs[i]
		nstr += count(r.seq, r.pk, r.encRef)
		if r.hasTS {
			nts++
		}
	}
	recs := make([]types.Record, len(d.recs))
	tab := d.table(nstr)
	times := make([]time.Time, 0, nts)
	for i := range d.recs {
		r, o := &d.recs[i], &recs[i]
		o.Data = r.data
		o.SequenceNumber = tab.get(r.seq)
		o.PartitionKey = tab.get(r.pk)
		o.EncryptionType = r.enc
		if r.encRef.set {
			o.EncryptionType = types.EncryptionType(tab.value(r.encRef))
		}
		if r.hasTS {
			times = append(times, msTime(r.ts))
			o.ApproximateArrivalTimestamp = &times[len(times)-1]
		}
	}
	out.Records = recs
	return nil
}

// records reads GetRecords' Records; false for null.
func (d *decoder) records() (bool, error) {
	s := &d.s
	clear(d.recs) // a repeated Records member replaces the first
	d.recs = d.recs[:0]
	null, err := d.eachElement(func() error {
		d.recs = append(d.recs, recordScratch{})
		r := &d.recs[len(d.recs)-1]
		return d.eachMember(func(name []byte) (err error) {
			switch string(name) {
			case "Data":
				r.data, err = d.blob()
			case "SequenceNumber":
				r.seq, err = d.text()
			case "PartitionKey":
				r.pk, err = d.text()
			case "ApproximateArrivalTimestamp":
				r.hasTS = false
				var null bool
				if null, err = s.null(); !null && err == nil {
					var f float64
					if f, err = s.float(); err == nil {
						r.ts, r.hasTS = epochMillis(f), true
					}
				}
			case "EncryptionType":
				r.enc, r.encRef, err = d.encryptionType()
			default:
				err = s.skip()
			}
			return err
		})
	})
	return !null && err == nil, err
}

func (d *decoder) childShards() ([]types.ChildShard, error) {
	s := &d.s
	out := []types.ChildShard{}
	null, err := d.eachElement(func() error {
		var c types.ChildShard
		err := d.eachMember(func(name []byte) (err error) {
			switch string(name) {
			case "ShardId":
				c.ShardId, err = d.optString()
			case "ParentShards":
				c.ParentShards, err = d.stringList()
			case "HashKeyRange":
				c.HashKeyRange, err = d.hashKeyRange()
			default:
				err = s.skip()
			}
			return err
		})
		out = append(out, c)
		return err
	})
	if null || err != nil {
		return nil, err
	}
	return out, nil
}

// eachElement reads an array or null (reported as true), calling element
// at the start of each element.
func (d *decoder) eachElement(element func() error) (null bool, err error) {
	s := &d.s
	if null, err := s.openArray(); null || err != nil {
		return null, err
	}
	for first := true; ; first = false {
		more, err := s.element(first)
		if err != nil || !more {
			return false, err
		}
		if err := element(); err != nil {
			return false, err
		}
	}
}

// eachMember reads an object or null, calling member for each member.
func (d *decoder) eachMember(member func(name []byte) error) error {
	s := &d.s
	null, err := s.openObject()
	if null || err != nil {
		return err
	}
	for first := true; ; first = false {
		name, ok, err := s.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := member(name); err != nil {
			return err
		}
	}
}

func (d *decoder) hashKeyRange() (*types.HashKeyRange, error) {
	if null, err := d.s.null(); null || err != nil {
		return nil, err
	}
	h := &types.HashKeyRange{}
	err := d.eachMember(func(name []byte) (err error) {
		switch string(name) {
		case "StartingHashKey":
			h.StartingHashKey, err = d.optString()
		case "EndingHashKey":
			h.EndingHashKey, err = d.optString()
		default:
			err = d.s.skip()
		}
		return err
	})
	return h, err
}

// stringList reads an array of strings; a null element is "".
func (d *decoder) stringList() ([]string, error) {
	out := []string{}
	null, err := d.eachElement(func() error {
		p, err := d.optString()
		out = append(out, deref(p))
		return err
	})
	if null || err != nil {
		return nil, err
	}
	return out, nil
}

func decodePutRecords(body []byte, out *kinesis.PutRecordsOutput) error {
	d := getDecoder(body)
	defer putDecoder(d)
	haveRecords := false
	var encRef ref
	err := d.object(func(name []byte) (err error) {
		switch string(name) {
		case "Records":
			haveRecords, err = d.putResults()
		case "FailedRecordCount":
			var n int64
			var ok bool
			n, ok, err = d.optInt(32)
			out.FailedRecordCount = nil
			if ok {
				c := int32(n)
				out.FailedRecordCount = &c
			}
		case "EncryptionType":
			out.EncryptionType, encRef, err = d.encryptionType()
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	nstr := count(encRef)
	for i := range d.results {
		r := &d.results[i]
		nstr += count(r.code, r.msg, r.seq, r.shard)
	}
	tab := d.table(nstr)
	if encRef.set {
		out.EncryptionType = types.EncryptionType(tab.value(encRef))
	}
	if !haveRecords {
		return nil
	}
	res := make([]types.PutRecordsResultEntry, len(d.results))
	for i := range d.results {
		r, o := &d.results[i], &res[i]
		o.ErrorCode = tab.get(r.code)
		o.ErrorMessage = tab.get(r.msg)
		o.SequenceNumber = tab.get(r.seq)
		o.ShardId = tab.get(r.shard)
	}
	out.Records = res
	return nil
}

// putResults reads PutRecords' Records; false for null.
func (d *decoder) putResults() (bool, error) {
	s := &d.s
	d.results = d.results[:0]
	null, err := d.eachElement(func() error {
		d.results = append(d.results, resultScratch{})
		r := &d.results[len(d.results)-1]
		return d.eachMember(func(name []byte) (err error) {
			switch string(name) {
			case "SequenceNumber":
				r.seq, err = d.text()
			case "ShardId":
				r.shard, err = d.text()
			case "ErrorCode":
				r.code, err = d.text()
			case "ErrorMessage":
				r.msg, err = d.text()
			default:
				err = s.skip()
			}
			return err
		})
	})
	return !null && err == nil, err
}

func decodePutRecord(body []byte, out *kinesis.PutRecordOutput) error {
	d := getDecoder(body)
	defer putDecoder(d)
	var seq, shard, enc ref
	err := d.object(func(name []byte) (err error) {
		switch string(name) {
		case "SequenceNumber":
			seq, err = d.text()
		case "ShardId":
			shard, err = d.text()
		case "EncryptionType":
			out.EncryptionType, enc, err = d.encryptionType()
		default:
			err = d.s.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	tab := d.table(count(seq, shard, enc))
	out.SequenceNumber, out.ShardId = tab.get(seq), tab.get(shard)
	if enc.set {
		out.EncryptionType = types.EncryptionType(tab.value(enc))
	}
	return nil
}

func decodeGetShardIterator(body []byte, out *kinesis.GetShardIteratorOutput) error {
	d := getDecoder(body)
	defer putDecoder(d)
	return d.object(func(name []byte) (err error) {
		switch string(name) {
		case "ShardIterator":
			out.ShardIterator, err = d.optString()
		default:
			err = d.s.skip()
		}
		return err
	})
}
