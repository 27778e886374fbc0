package wire

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/rivulet/rivulet/api"
)

// The hot outputs (GetRecords, PutRecords, PutRecord) are rendered by hand:
// a GetRecords can be 14 MB of JSON, and encoding/json spends most of its
// time in reflection and in growing buffers. The output is byte for byte
// what encoding/json gives (the tests compare the two), so the rules
// below are encoding/json's: member order as declared, omitempty, nil
// slices as null, base64 blobs, and its string escaping without HTML
// escapes. Each shape has a size function and a write function; the size
// is exact so the response's Content-Length can be sent before the body.

// hotJSONSize returns the exact length of out's JSON, or false when out is
// not a hot output or holds a value that encoding/json fails on, so that
// the generic path reports the same error.
func hotJSONSize(out any) (int, bool) {
	switch o := out.(type) {
	case *api.GetRecordsOutput:
		if o != nil {
			return getRecordsSize(o)
		}
	case *api.PutRecordsOutput:
		if o != nil {
			return putRecordsSize(o), true
		}
	case *api.PutRecordOutput:
		if o != nil {
			return putRecordSize(o), true
		}
	}
	return 0, false
}

// writeHotJSON renders out, which hotJSONSize accepted.
func writeHotJSON(s *jsonStream, out any) {
	switch o := out.(type) {
	case *api.GetRecordsOutput:
		s.getRecords(o)
	case *api.PutRecordsOutput:
		s.putRecords(o)
	case *api.PutRecordOutput:
		s.putRecord(o)
	}
}

// appendHotJSON renders out whole, for callers that need the bytes.
func appendHotJSON(out any) ([]byte, bool) {
	n, ok := hotJSONSize(out)
	if !ok {
		return nil, false
	}
	s := jsonStream{buf: make([]byte, 0, n)}
	writeHotJSON(&s, out)
	return s.buf, true
}

// jsonStream appends JSON to buf and, when w is set, hands buf to w
// whenever the next piece would not fit, so buf stays at its capacity
// unless a single string is longer than that.
type jsonStream struct {
	buf     []byte
	w       io.Writer
	err     error // the first write error; nothing is written after it
	written int64
	pooled  *[]byte // where buf came from, if from streamBufs
}

// streamBufSize is the buffer responses are written through: large enough
// that writes are few, small enough that concurrent GetRecords cost little.
const streamBufSize = 64 << 10

var streamBufs = sync.Pool{New: func() any { b := make([]byte, 0, streamBufSize); return &b }}

func newJSONStream(w io.Writer) *jsonStream {
	p := streamBufs.Get().(*[]byte)
	return &jsonStream{buf: (*p)[:0], w: w, pooled: p}
}

// close writes what is buffered and returns the buffer to the pool.
func (s *jsonStream) close() {
	s.flush()
	if s.pooled != nil && cap(s.buf) == streamBufSize {
		*s.pooled = s.buf[:0]
		streamBufs.Put(s.pooled)
	}
	s.buf, s.pooled = nil, nil
}

func (s *jsonStream) flush() {
	if s.w == nil || len(s.buf) == 0 {
		return
	}
	if s.err == nil {
		var n int
		n, s.err = s.w.Write(s.buf)
		s.written += int64(n)
	}
	s.buf = s.buf[:0]
}

// room makes space for n more bytes if it can.
func (s *jsonStream) room(n int) {
	if cap(s.buf)-len(s.buf) < n {
		s.flush()
	}
}

func (s *jsonStream) raw(v string) {
	s.room(len(v))
	s.buf = append(s.buf, v...)
}

func (s *jsonStream) int(v int64) {
	s.room(20)
	s.buf = strconv.AppendInt(s.buf, v, 10)
}

func (s *jsonStream) string(v string) {
	s.room(6*len(v) + 2) // the longest escape of a byte is 6 bytes
	s.buf = appendJSONString(s.buf, v)
}

func (s *jsonStream) time(t api.Time) {
	s.room(maxTimeLen)
	s.buf = appendJSONTime(s.buf, t.UnixMilli())
}

// blob writes base64 in pieces that fit the buffer; pieces are multiples of
// 3 bytes, so padding comes only at the end, as in one encoding.
func (s *jsonStream) blob(b []byte) {
	if b == nil {
		s.raw("null")
		return
	}
	s.room(1)
	s.buf = append(s.buf, '"')
	for len(b) > 0 {
		free := (cap(s.buf) - len(s.buf)) / 4 * 3
		if free == 0 {
			s.flush()
			free = max(cap(s.buf)/4*3, 3)
		}
		n := min(len(b), free)
		s.buf = appendBase64(s.buf, b[:n])
		b = b[n:]
	}
	s.raw(`"`)
}

func (s *jsonStream) getRecords(o *api.GetRecordsOutput) {
	s.raw(`{"Records":`)
	if o.Records == nil {
		s.raw("null")
	} else {
		s.raw("[")
		for i := range o.Records {
			if s.err != nil {
				return // the client has gone; the rest would be thrown away
			}
			if i > 0 {
				s.raw(",")
			}
			r := &o.Records[i]
			s.raw(`{"SequenceNumber":`)
			s.string(r.SequenceNumber)
			s.raw(`,"ApproximateArrivalTimestamp":`)
			s.time(r.ApproximateArrivalTimestamp)
			s.raw(`,"Data":`)
			s.blob(r.Data)
			s.raw(`,"PartitionKey":`)
			s.string(r.PartitionKey)
			if r.EncryptionType != nil {
				s.raw(`,"EncryptionType":`)
				s.string(*r.EncryptionType)
			}
			s.raw("}")
		}
		s.raw("]")
	}
	if o.NextShardIterator != nil {
		s.raw(`,"NextShardIterator":`)
		s.string(*o.NextShardIterator)
	}
	s.raw(`,"MillisBehindLatest":`)
	s.int(o.MillisBehindLatest)
	if len(o.ChildShards) > 0 {
		s.raw(`,"ChildShards":[`)
		for i := range o.ChildShards {
			if i > 0 {
				s.raw(",")
			}
			c := &o.ChildShards[i]
			s.raw(`{"ShardId":`)
			s.string(c.ShardId)
			s.raw(`,"ParentShards":`)
			s.strings(c.ParentShards)
			s.raw(`,"HashKeyRange":{"StartingHashKey":`)
			s.string(c.HashKeyRange.StartingHashKey)
			s.raw(`,"EndingHashKey":`)
			s.string(c.HashKeyRange.EndingHashKey)
			s.raw("}}")
		}
		s.raw("]")
	}
	s.raw("}")
}

func (s *jsonStream) strings(v []string) {
	if v == nil {
		s.raw("null")
		return
	}
	s.raw("[")
	for i, e := range v {
		if i > 0 {
			s.raw(",")
		}
		s.string(e)
	}
	s.raw("]")
}

func (s *jsonStream) putRecords(o *api.PutRecordsOutput) {
	s.raw(`{"FailedRecordCount":`)
	s.int(o.FailedRecordCount)
	s.raw(`,"Records":`)
	if o.Records == nil {
		s.raw("null")
	} else {
		s.raw("[")
		for i := range o.Records {
			if i > 0 {
				s.raw(",")
			}
			e := &o.Records[i]
			s.raw("{")
			first := true
			for _, m := range [...]struct {
				name string
				v    *string
			}{{`"SequenceNumber":`, e.SequenceNumber}, {`"ShardId":`, e.ShardId},
				{`"ErrorCode":`, e.ErrorCode}, {`"ErrorMessage":`, e.ErrorMessage}} {
				if m.v != nil {
					if !first {
						s.raw(",")
					}
					s.raw(m.name)
					s.string(*m.v)
					first = false
				}
			}
			s.raw("}")
		}
		s.raw("]")
	}
	if o.EncryptionType != "" {
		s.raw(`,"EncryptionType":`)
		s.string(o.EncryptionType)
	}
	s.raw("}")
}

func (s *jsonStream) putRecord(o *api.PutRecordOutput) {
	s.raw(`{"ShardId":`)
	s.string(o.ShardId)
	s.raw(`,"SequenceNumber":`)
	s.string(o.SequenceNumber)
	if o.EncryptionType != "" {
		s.raw(`,"EncryptionType":`)
		s.string(o.EncryptionType)
	}
	s.raw("}")
}

// Sizes. Each mirrors its write function above member by member.

func getRecordsSize(o *api.GetRecordsOutput) (int, bool) {
	n := len(`{"Records":`)
	if o.Records == nil {
		n += len("null")
	} else {
		n += len("[]") + max(len(o.Records)-1, 0) // brackets and commas
		for i := range o.Records {
			r := &o.Records[i]
			ms := r.ApproximateArrivalTimestamp.UnixMilli()
			if ms == math.MinInt64 {
				// api.Time renders this one as invalid JSON, which
				// encoding/json turns into an error.
				return 0, false
			}
			n += len(`{"SequenceNumber":,"ApproximateArrivalTimestamp":,"Data":,"PartitionKey":}`) +
				jsonStringLen(r.SequenceNumber) + jsonTimeLen(ms) + blobLen(r.Data) + jsonStringLen(r.PartitionKey)
			if r.EncryptionType != nil {
				n += len(`,"EncryptionType":`) + jsonStringLen(*r.EncryptionType)
			}
		}
	}
	if o.NextShardIterator != nil {
		n += len(`,"NextShardIterator":`) + jsonStringLen(*o.NextShardIterator)
	}
	n += len(`,"MillisBehindLatest":`) + intLen(o.MillisBehindLatest)
	if len(o.ChildShards) > 0 {
		n += len(`,"ChildShards":[]`) + len(o.ChildShards) - 1
		for i := range o.ChildShards {
			c := &o.ChildShards[i]
			n += len(`{"ShardId":,"ParentShards":,"HashKeyRange":{"StartingHashKey":,"EndingHashKey":}}`) +
				jsonStringLen(c.ShardId) + stringsLen(c.ParentShards) +
				jsonStringLen(c.HashKeyRange.StartingHashKey) + jsonStringLen(c.HashKeyRange.EndingHashKey)
		}
	}
	return n + len("}"), true
}

func putRecordsSize(o *api.PutRecordsOutput) int {
	n := len(`{"FailedRecordCount":,"Records":}`) + intLen(o.FailedRecordCount)
	if o.Records == nil {
		n += len("null")
	} else {
		n += len("[]") + max(len(o.Records)-1, 0)
		for i := range o.Records {
			e := &o.Records[i]
			n += len("{}")
			members := 0
			for _, m := range [...]struct {
				name int
				v    *string
			}{{len(`"SequenceNumber":`), e.SequenceNumber}, {len(`"ShardId":`), e.ShardId},
				{len(`"ErrorCode":`), e.ErrorCode}, {len(`"ErrorMessage":`), e.ErrorMessage}} {
				if m.v != nil {
					n += m.name + jsonStringLen(*m.v)
					members++
				}
			}
			n += max(members-1, 0)
		}
	}
	if o.EncryptionType != "" {
		n += len(`,"EncryptionType":`) + jsonStringLen(o.EncryptionType)
	}
	return n
}

func putRecordSize(o *api.PutRecordOutput) int {
	n := len(`{"ShardId":,"SequenceNumber":}`) + jsonStringLen(o.ShardId) + jsonStringLen(o.SequenceNumber)
	if o.EncryptionType != "" {
		n += len(`,"EncryptionType":`) + jsonStringLen(o.EncryptionType)
	}
	return n
}

func stringsLen(v []string) int {
	if v == nil {
		return len("null")
	}
	n := len("[]") + max(len(v)-1, 0)
	for _, e := range v {
		n += jsonStringLen(e)
	}
	return n
}

func blobLen(b []byte) int {
	if b == nil {
		return len("null")
	}
	return 2 + base64.StdEncoding.EncodedLen(len(b))
}

func intLen(v int64) int {
	var tmp [20]byte
	return len(strconv.AppendInt(tmp[:0], v, 10))
}

// maxTimeLen bounds appendJSONTime's output: a sign, 16 digits, a fraction.
const maxTimeLen = 24

func jsonTimeLen(ms int64) int {
	var tmp [maxTimeLen]byte
	return len(appendJSONTime(tmp[:0], ms))
}

// appendJSONTime writes what api.Time.MarshalJSON does for every ms but
// math.MinInt64: epoch seconds, then up to three decimals without trailing
// zeros.
func appendJSONTime(b []byte, ms int64) []byte {
	if ms < 0 {
		b, ms = append(b, '-'), -ms
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	frac := ms % 1000
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100))
	if frac%100 != 0 {
		b = append(b, byte('0'+frac/10%10))
		if frac%10 != 0 {
			b = append(b, byte('0'+frac%10))
		}
	}
	return b
}

// base64Pairs maps 12 bits to their two base64 characters, first one in
// the low byte, so six input bytes become eight output bytes with four
// lookups and one store: 1.7 times encoding/base64's speed, and base64 is
// most of the work in a GetRecords.
var base64Pairs = func() (t [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()

// appendBase64 appends src in standard padded base64, as
// base64.StdEncoding.AppendEncode.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	i, o := 0, 0
	// Each step reads 8 bytes and encodes the first 6 of them.
	for ; len(src)-i >= 8; i, o = i+6, o+8 {
		v := binary.BigEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(out[o:], uint64(base64Pairs[v>>52])|
			uint64(base64Pairs[v>>40&0xfff])<<16|
			uint64(base64Pairs[v>>28&0xfff])<<32|
			uint64(base64Pairs[v>>16&0xfff])<<48)
	}
	base64.StdEncoding.Encode(out[o:], src[i:])
	return dst[:len(dst)+n]
}

// jsonSafe marks the ASCII bytes that encoding/json copies into a string
// unescaped when HTML escaping is off; bytes from 0x80 are not marked, so
// they take the UTF-8 path.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with SetEscapeHTML(false):
// short escapes for \b \f \n \r \t " \, \u00XX for other control bytes,
// \ufffd for each byte of invalid UTF-8, and \u2028 and \u2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonStringLen is len(appendJSONString(nil, s)).
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			n++
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\', '\b', '\f', '\n', '\r', '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
