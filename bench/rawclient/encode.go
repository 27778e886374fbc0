package rawclient

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	smithyencoding "github.com/aws/smithy-go/encoding"
	smithytime "github.com/aws/smithy-go/time"
)

// The request bodies below write the members the SDK writes, in its order
// and with its string escaping, so a request is byte for byte what the
// SDK would send (the tests check this).

// object writes JSON object members, with the commas between them.
type object struct {
	b    []byte
	more bool
}

func (o *object) key(k string) {
	if o.more {
		o.b = append(o.b, ',')
	}
	o.more = true
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *object) str(k string, v *string) {
	if v != nil {
		o.key(k)
		o.b = appendString(o.b, *v)
	}
}

func (o *object) bool(k string, v *bool) {
	if v != nil {
		o.key(k)
		o.b = strconv.AppendBool(o.b, *v)
	}
}

func (o *object) blob(k string, v []byte) {
	if v != nil {
		o.key(k)
		o.b = append(o.b, '"')
		o.b = base64.StdEncoding.AppendEncode(o.b, v)
		o.b = append(o.b, '"')
	}
}

func appendPutRecord(b []byte, in *kinesis.PutRecordInput) []byte {
	o := object{b: append(b, '{')}
	o.blob("Data", in.Data)
	o.bool("DryRun", in.DryRun)
	o.str("ExplicitHashKey", in.ExplicitHashKey)
	o.str("PartitionKey", in.PartitionKey)
	o.str("SequenceNumberForOrdering", in.SequenceNumberForOrdering)
	o.str("StreamARN", in.StreamARN)
	o.str("StreamId", in.StreamId)
	o.str("StreamName", in.StreamName)
	return append(o.b, '}')
}

// putRecordsSize is about the size of the body of in, so the buffer
// grows at most once.
func putRecordsSize(in *kinesis.PutRecordsInput) int {
	n := 128 + len(deref(in.StreamName)) + len(deref(in.StreamARN)) + len(deref(in.StreamId))
	for i := range in.Records {
		e := &in.Records[i]
		n += 48 + base64.StdEncoding.EncodedLen(len(e.Data)) + len(deref(e.PartitionKey)) + len(deref(e.ExplicitHashKey))
	}
	return n
}

func appendPutRecords(b []byte, in *kinesis.PutRecordsInput) []byte {
	o := object{b: append(b, '{')}
	o.bool("DryRun", in.DryRun)
	if in.Records != nil {
		o.key("Records")
		o.b = append(o.b, '[')
		for i := range in.Records {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			e := &in.Records[i]
			eo := object{b: append(o.b, '{')}
			eo.blob("Data", e.Data)
			eo.str("ExplicitHashKey", e.ExplicitHashKey)
			eo.str("PartitionKey", e.PartitionKey)
			o.b = append(eo.b, '}')
		}
		o.b = append(o.b, ']')
	}
	o.str("StreamARN", in.StreamARN)
	o.str("StreamId", in.StreamId)
	o.str("StreamName", in.StreamName)
	return append(o.b, '}')
}

func appendGetRecords(b []byte, in *kinesis.GetRecordsInput) []byte {
	o := object{b: append(b, '{')}
	o.bool("DryRun", in.DryRun)
	if in.Limit != nil {
		o.key("Limit")
		o.b = strconv.AppendInt(o.b, int64(*in.Limit), 10)
	}
	o.str("ShardIterator", in.ShardIterator)
	o.str("StreamARN", in.StreamARN)
	o.str("StreamId", in.StreamId)
	return append(o.b, '}')
}

func appendGetShardIterator(b []byte, in *kinesis.GetShardIteratorInput) []byte {
	o := object{b: append(b, '{')}
	o.bool("DryRun", in.DryRun)
	o.str("ShardId", in.ShardId)
	if in.ShardIteratorType != "" {
		o.key("ShardIteratorType")
		o.b = appendString(o.b, string(in.ShardIteratorType))
	}
	o.str("StartingSequenceNumber", in.StartingSequenceNumber)
	o.str("StreamARN", in.StreamARN)
	o.str("StreamId", in.StreamId)
	o.str("StreamName", in.StreamName)
	if in.Timestamp != nil {
		o.key("Timestamp")
		o.b = appendEpochSeconds(o.b, *in.Timestamp)
	}
	return append(o.b, '}')
}

// appendEpochSeconds writes t as JSON 1.1 does: seconds, to the
// millisecond, as the SDK formats them.
func appendEpochSeconds(b []byte, t time.Time) []byte {
	return smithyencoding.EncodeFloat(b, smithytime.FormatEpochSeconds(t), 64)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// safe marks the ASCII bytes a JSON string holds as they are. The SDK
// also escapes DEL, so this does too.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped, and bytes that are not
// UTF-8 replaced by U+FFFD, as the SDK does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && safe[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	b = append(b, s[:i]...)
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
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
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
