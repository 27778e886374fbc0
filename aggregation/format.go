package aggregation

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"

	"google.golang.org/protobuf/encoding/protowire"
)

// Magic is the prefix of every aggregated record.
var Magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

const (
	magicLen  = len(Magic)
	digestLen = md5.Size
	// Overhead is the framing around the protobuf message: magic and MD5.
	Overhead = magicLen + digestLen
)

// Protobuf field numbers of the format.
const (
	fieldPartitionKeyTable    protowire.Number = 1 // AggregatedRecord
	fieldExplicitHashKeyTable protowire.Number = 2 // AggregatedRecord
	fieldRecords              protowire.Number = 3 // AggregatedRecord
	fieldPartitionKeyIndex    protowire.Number = 1 // Record
	fieldExplicitHashKeyIndex protowire.Number = 2 // Record
	fieldData                 protowire.Number = 3 // Record
	fieldTags                 protowire.Number = 4 // Record
	fieldTagKey               protowire.Number = 1 // Tag
)

// Record is one user record inside an aggregated record.
type Record struct {
	PartitionKey string
	// ExplicitHashKey is a decimal 128-bit hash key, or "" when the record
	// is routed by the MD5 of its partition key.
	ExplicitHashKey string
	Data            []byte
}

var (
	// ErrNotAggregated: the bytes lack the magic or are too short to hold
	// a checksum and a non-empty message.
	ErrNotAggregated = errors.New("aggregation: not an aggregated record")
	// ErrChecksum: the trailing MD5 does not match the message.
	ErrChecksum = errors.New("aggregation: checksum mismatch")
	// ErrMalformed: the message does not parse, lacks a required field,
	// refers to a table entry that does not exist, or holds an explicit
	// hash key that is not an integer.
	ErrMalformed = errors.New("aggregation: malformed aggregated record")
)

// Encode aggregates records into one blob with no size limit and no
// validation: keys are deduplicated in first-seen order, records keep their
// order. Encode(nil) is a valid blob with no records, which the KCL reads as
// a plain record because its message is empty.
func Encode(records []Record) []byte {
	var t tables
	var body []byte
	for _, r := range records {
		body = t.appendRecord(body, r)
	}
	return t.frame(body)
}

// tables are the deduplicated key tables of an aggregated record being
// built, plus the encoded size of their protobuf fields.
type tables struct {
	pks, ehks     []string
	pkIdx, ehkIdx map[string]uint64
	size          int
}

// recordSize is the number of bytes adding r would add to the message:
// new table entries plus the Record field.
func (t *tables) recordSize(r Record) int {
	n := 0
	pk, ok := t.pkIdx[r.PartitionKey]
	if !ok {
		pk = uint64(len(t.pks))
		n += protowire.SizeTag(fieldPartitionKeyTable) + protowire.SizeBytes(len(r.PartitionKey))
	}
	inner := protowire.SizeTag(fieldPartitionKeyIndex) + protowire.SizeVarint(pk)
	if r.ExplicitHashKey != "" {
		ehk, ok := t.ehkIdx[r.ExplicitHashKey]
		if !ok {
			ehk = uint64(len(t.ehks))
			n += protowire.SizeTag(fieldExplicitHashKeyTable) + protowire.SizeBytes(len(r.ExplicitHashKey))
		}
		inner += protowire.SizeTag(fieldExplicitHashKeyIndex) + protowire.SizeVarint(ehk)
	}
	inner += protowire.SizeTag(fieldData) + protowire.SizeBytes(len(r.Data))
	return n + protowire.SizeTag(fieldRecords) + protowire.SizeBytes(inner)
}

// appendRecord adds r's keys to the tables and appends its Record field to
// body.
func (t *tables) appendRecord(body []byte, r Record) []byte {
	if t.pkIdx == nil {
		t.pkIdx = make(map[string]uint64)
		t.ehkIdx = make(map[string]uint64)
	}
	pk, ok := t.pkIdx[r.PartitionKey]
	if !ok {
		pk = uint64(len(t.pks))
		t.pkIdx[r.PartitionKey] = pk
		t.pks = append(t.pks, r.PartitionKey)
		t.size += protowire.SizeTag(fieldPartitionKeyTable) + protowire.SizeBytes(len(r.PartitionKey))
	}
	inner := protowire.SizeTag(fieldPartitionKeyIndex) + protowire.SizeVarint(pk)
	var ehk uint64
	if r.ExplicitHashKey != "" {
		ehk, ok = t.ehkIdx[r.ExplicitHashKey]
		if !ok {
			ehk = uint64(len(t.ehks))
			t.ehkIdx[r.ExplicitHashKey] = ehk
			t.ehks = append(t.ehks, r.ExplicitHashKey)
			t.size += protowire.SizeTag(fieldExplicitHashKeyTable) + protowire.SizeBytes(len(r.ExplicitHashKey))
		}
		inner += protowire.SizeTag(fieldExplicitHashKeyIndex) + protowire.SizeVarint(ehk)
	}
	inner += protowire.SizeTag(fieldData) + protowire.SizeBytes(len(r.Data))

	body = protowire.AppendTag(body, fieldRecords, protowire.BytesType)
	body = protowire.AppendVarint(body, uint64(inner))
	body = protowire.AppendTag(body, fieldPartitionKeyIndex, protowire.VarintType)
	body = protowire.AppendVarint(body, pk)
	if r.ExplicitHashKey != "" {
		body = protowire.AppendTag(body, fieldExplicitHashKeyIndex, protowire.VarintType)
		body = protowire.AppendVarint(body, ehk)
	}
	body = protowire.AppendTag(body, fieldData, protowire.BytesType)
	return protowire.AppendBytes(body, r.Data)
}

// frame writes magic, the tables, body (the Record fields) and the MD5 of
// the message into a new slice. Fields go in field-number order, as every
// protobuf serializer (the KPL's included) writes them.
func (t *tables) frame(body []byte) []byte {
	out := make([]byte, 0, Overhead+t.size+len(body))
	out = append(out, Magic[:]...)
	for _, k := range t.pks {
		out = protowire.AppendTag(out, fieldPartitionKeyTable, protowire.BytesType)
		out = protowire.AppendString(out, k)
	}
	for _, k := range t.ehks {
		out = protowire.AppendTag(out, fieldExplicitHashKeyTable, protowire.BytesType)
		out = protowire.AppendString(out, k)
	}
	out = append(out, body...)
	sum := md5.Sum(out[magicLen:])
	return append(out, sum[:]...)
}

// IsAggregated reports whether b is framed as an aggregated record: the
// magic, a non-empty message and a matching MD5. The message itself may
// still be malformed; Deaggregate is the full check.
func IsAggregated(b []byte) bool {
	_, err := checkFrame(b)
	return err == nil
}

// checkFrame returns the protobuf message inside an aggregated record. Like
// the KCL, it requires at least one message byte.
func checkFrame(b []byte) ([]byte, error) {
	if len(b) <= Overhead || !bytes.HasPrefix(b, Magic[:]) {
		return nil, ErrNotAggregated
	}
	msg := b[magicLen : len(b)-digestLen]
	sum := md5.Sum(msg)
	if !bytes.Equal(sum[:], b[len(b)-digestLen:]) {
		return nil, ErrChecksum
	}
	return msg, nil
}

// Deaggregate decodes an aggregated record into its user records, in order.
// The returned records own their data. It returns ErrNotAggregated,
// ErrChecksum or ErrMalformed (possibly wrapped) for bytes it cannot read.
func Deaggregate(data []byte) ([]Record, error) {
	msg, err := checkFrame(data)
	if err != nil {
		return nil, err
	}
	return decodeMessage(msg)
}

// rawRecord is a Record message before its indexes are resolved.
type rawRecord struct {
	pkIdx, ehkIdx uint64
	hasEHK        bool
	data          []byte
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeMessage parses an AggregatedRecord with proto2 semantics as
// protobuf-java (the KCL's parser) applies them: unknown fields and known
// fields of an unexpected wire type are skipped, a repeated scalar's last
// value wins, and required fields must be present.
func decodeMessage(b []byte) ([]Record, error) {
	var pks, ehks []string
	var raws []rawRecord
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, malformed("tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType && num >= fieldPartitionKeyTable && num <= fieldRecords {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, malformed("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case fieldPartitionKeyTable:
				pks = append(pks, string(v))
			case fieldExplicitHashKeyTable:
				ehks = append(ehks, string(v))
			default:
				r, err := decodeRecord(v)
				if err != nil {
					return nil, err
				}
				raws = append(raws, r)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, malformed("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}

	out := make([]Record, len(raws))
	for i, r := range raws {
		if r.pkIdx >= uint64(len(pks)) {
			return nil, malformed("record %d: partition key index %d, table has %d", i, r.pkIdx, len(pks))
		}
		out[i].PartitionKey = pks[r.pkIdx]
		if r.hasEHK {
			if r.ehkIdx >= uint64(len(ehks)) {
				return nil, malformed("record %d: explicit hash key index %d, table has %d", i, r.ehkIdx, len(ehks))
			}
			ehk := ehks[r.ehkIdx]
			if _, ok := new(big.Int).SetString(ehk, 10); !ok {
				return nil, malformed("record %d: explicit hash key %q is not an integer", i, ehk)
			}
			out[i].ExplicitHashKey = ehk
		}
		out[i].Data = bytes.Clone(r.data)
		if out[i].Data == nil {
			out[i].Data = []byte{}
		}
	}
	return out, nil
}

func decodeRecord(b []byte) (rawRecord, error) {
	var r rawRecord
	var hasPK, hasData bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, malformed("record tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && (num == fieldPartitionKeyIndex || num == fieldExplicitHashKeyIndex):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return r, malformed("record field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			if num == fieldPartitionKeyIndex {
				r.pkIdx, hasPK = v, true
			} else {
				r.ehkIdx, r.hasEHK = v, true
			}
		case typ == protowire.BytesType && (num == fieldData || num == fieldTags):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return r, malformed("record field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			if num == fieldData {
				r.data, hasData = v, true
			} else if err := checkTag(v); err != nil {
				return r, err
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return r, malformed("record field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if !hasPK {
		return r, malformed("record lacks partition_key_index")
	}
	if !hasData {
		return r, malformed("record lacks data")
	}
	return r, nil
}

// checkTag validates a Tag message. Tags are not surfaced (the KPL never
// writes them and the KCL ignores them), but a Tag without its required key
// makes the whole message unparsable for protobuf-java.
func checkTag(b []byte) error {
	hasKey := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("tag tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == fieldTagKey && typ == protowire.BytesType {
			hasKey = true
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return malformed("tag field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if !hasKey {
		return malformed("tag lacks key")
	}
	return nil
}
