package firehose

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/store"
)

// recordIDBytes makes RecordIds as long as AWS's (224 base64 characters,
// no padding).
const recordIDBytes = 168

// RecordID derives a record's id from where it was stored: unique within
// the stream (seq, sub) and across streams (the stream's ID), and the same
// every time it is computed.
func RecordID(streamID string, pos store.Position) string {
	return newRecordIDs(streamID).id(pos)
}

// recordIDs makes one stream's RecordIds. The position in the first 12
// bytes makes an id unique; the rest only has to look like AWS's, so it is
// the stream's hash chain (computed once per call) mixed with a cheap
// function of the position, not a hash per record: a batch of 500 ids
// cost 500 SHA-256 chains, the largest part of PutRecordBatch's own work.
type recordIDs struct {
	fill [recordIDBytes - 12]byte
}

func newRecordIDs(streamID string) *recordIDs {
	r := &recordIDs{}
	sum := sha256.Sum256([]byte(streamID))
	for i := 0; i < len(r.fill); i += len(sum) {
		copy(r.fill[i:], sum[:])
		sum = sha256.Sum256(sum[:])
	}
	return r
}

func (r *recordIDs) id(pos store.Position) string {
	var b [recordIDBytes]byte
	binary.BigEndian.PutUint64(b[0:8], pos.Seq)
	binary.BigEndian.PutUint32(b[8:12], uint32(pos.Sub))
	x := pos.Seq ^ uint64(pos.Sub)<<44
	i := 12
	for ; i+8 <= len(b); i += 8 {
		x = splitmix(x)
		binary.BigEndian.PutUint64(b[i:], binary.BigEndian.Uint64(r.fill[i-12:])^x)
	}
	x = splitmix(x)
	for j := 0; i < len(b); i, j = i+1, j+1 {
		b[i] = r.fill[i-12] ^ byte(x>>(8*j))
	}
	var out [recordIDChars]byte
	base64.StdEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// recordIDChars is a RecordId's length in base64.
const recordIDChars = recordIDBytes / 3 * 4

// splitmix steps SplitMix64: a cheap, well-spread sequence.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func blobShown(n int) string {
	return fmt.Sprintf("'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'", n, n)
}

// putTarget loads the stream records are put to and checks it takes them.
func (s *Service) putTarget(ctx context.Context, name string) (*model.DeliveryStream, error) {
	ds, _, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if ds.Status == model.StatusDeleting {
		return nil, notFound(name, ds.Account)
	}
	if ds.Type != model.TypeDirectPut {
		return nil, invalidArg("This operation is not permitted on %s delivery stream type.", ds.Type)
	}
	return ds, nil
}

// PutRecord appends one record durably to the stream's buffer log.
func (s *Service) PutRecord(ctx context.Context, in *PutRecordInput) (*PutRecordOutput, error) {
	start := time.Now()
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	if in.Record == nil {
		v.null("record")
	} else if in.Record.Data == nil {
		v.null("record.data")
	} else if n := len(in.Record.Data); n > maxRecordBytes {
		v.fail("record.data", blobShown(n), "Member must have length less than or equal to 1024000")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "PutRecord", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	ds, err := s.putTarget(ctx, *in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	entries := []store.Entry{{Data: in.Record.Data}}
	sealed, err := s.seal(ctx, ds, entries)
	if err != nil {
		return nil, err
	}
	pos, err := s.st.Append(ctx, BufferLog(ds.ID), entries)
	if err != nil {
		s.observe(ds, "PutRecord", start, 0, 0, 0)
		return nil, s.appendError(ds, err)
	}
	s.observe(ds, "PutRecord", start, 1, len(in.Record.Data), 0)
	return &PutRecordOutput{RecordId: RecordID(ds.ID, pos[0]), Encrypted: sealed}, nil
}

// appendError maps a failed append: full storage is ServiceUnavailable
// (SDKs retry it), a log deleted under us means the stream is gone.
func (s *Service) appendError(ds *model.DeliveryStream, err error) error {
	switch {
	case errors.Is(err, store.ErrFull):
		return errorf(ErrServiceUnavailable, "%s", fullMessage)
	case errors.Is(err, store.ErrNotFound):
		return notFound(ds.Name, ds.Account)
	}
	return err
}

// PutRecordBatch appends up to 500 records in one durable append. Storage
// either takes the whole batch or none of it, so a failure marks every
// record with the same error.
func (s *Service) PutRecordBatch(ctx context.Context, in *PutRecordBatchInput) (*PutRecordBatchOutput, error) {
	start := time.Now()
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	switch n := len(in.Records); {
	case in.Records == nil:
		v.null("records")
	case n < 1:
		v.fail("records", "'[]'", "Member must have length greater than or equal to 1")
	case n > maxBatchRecords:
		v.fail("records", "'[...]'", "Member must have length less than or equal to 500")
	}
	total := 0
	for i, r := range in.Records {
		p := "records." + itoa(i+1) + ".member.data"
		if r.Data == nil {
			v.null(p)
		} else if len(r.Data) > maxRecordBytes {
			v.fail(p, blobShown(len(r.Data)), "Member must have length less than or equal to 1024000")
		}
		total += len(r.Data)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if total > maxBatchBytes {
		return nil, invalidArg("Records size exceeds 4 MiB limit: the batch's data totals %d bytes.", total)
	}
	if err := s.authorize(ctx, "PutRecordBatch", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	ds, err := s.putTarget(ctx, *in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	entries := make([]store.Entry, len(in.Records))
	for i, r := range in.Records {
		entries[i] = store.Entry{Data: r.Data}
	}
	sealed, err := s.seal(ctx, ds, entries)
	if err != nil {
		return nil, err
	}
	out := &PutRecordBatchOutput{Encrypted: sealed, RequestResponses: make([]PutRecordBatchResponseEntry, len(entries))}
	pos, err := s.st.Append(ctx, BufferLog(ds.ID), entries)
	switch {
	case err == nil:
		ids := newRecordIDs(ds.ID)
		for i := range out.RequestResponses {
			out.RequestResponses[i].RecordId = ids.id(pos[i])
		}
		s.observe(ds, "PutRecordBatch", start, len(entries), total, 0)
	case errors.Is(err, store.ErrFull):
		for i := range out.RequestResponses {
			out.RequestResponses[i] = PutRecordBatchResponseEntry{ErrorCode: "ServiceUnavailableException", ErrorMessage: fullMessage}
		}
		out.FailedPutCount = len(entries)
		s.observe(ds, "PutRecordBatch", start, 0, 0, 0)
	default:
		s.observe(ds, "PutRecordBatch", start, 0, 0, 0)
		return nil, s.appendError(ds, err)
	}
	return out, nil
}
