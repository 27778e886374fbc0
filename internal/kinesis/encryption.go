package kinesis

// Server-side encryption, as envelope encryption. StartStreamEncryption
// makes a random 256-bit data key for the stream, wraps it with the master
// key the caller named (internal/kms) and keeps it in the stream's
// metadata. When the stream is ACTIVE again, PutRecord(s) seal each
// record's partition key and data with that key (AES-256-GCM, a random
// 96-bit nonce per record, the stream ID, shard and key index as
// additional data) and store the result with the key's index beside it
// (store.Entry.Key). Reads open what they find by the index, so records
// from before, during and after encryption all read back; every data key
// stays until no record written with it can remain. Storage never sees a
// key or a plaintext of a sealed record. docs/SECURITY.md has the rest.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const (
	// maxKeyChangesPerDay and maxEncryptionStopsPerDay are AWS's rolling
	// 24-hour allowances for Start- and StopStreamEncryption.
	maxKeyChangesPerDay      = 25
	maxEncryptionStopsPerDay = 25
	// sealNonce and sealTag frame a sealed record: nonce, ciphertext, tag.
	sealNonce = 12
	sealTag   = 16
	// retireMargin covers processes whose cached stream copy switches
	// keys a little late, and clocks a little apart.
	retireMargin = time.Hour
	// maxCachedDataKeys bounds the unwrapped-key cache; past it the cache
	// starts over (keys are unwrapped again on use).
	maxCachedDataKeys = 4096
)

var (
	vEncryptionType = vStr{min: vNone, max: vNone, enum: []string{api.EncryptionNone, api.EncryptionKMS}}
	vKeyID          = vStr{min: 1, max: 2048}
	// kmsType is every sealed record's EncryptionType; never written through.
	kmsType = api.EncryptionKMS
)

func validateStartStreamEncryption(in *api.StartStreamEncryptionInput) error {
	var v validator
	v.str("encryptionType", in.EncryptionType, true, vEncryptionType)
	v.str("keyId", in.KeyId, true, vKeyID)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

// onlyKMS refuses EncryptionType NONE, which the model's enum lets
// through. AWS's wording for this is not documented; this one is ours.
func onlyKMS(t string) error {
	if t == api.EncryptionKMS {
		return nil
	}
	return Errorf(ErrInvalidArgument, "EncryptionType %s is not supported here. The only valid value is KMS.", t)
}

// StartStreamEncryption starts sealing new records with a new data key
// under the named master key, once the stream is ACTIVE again.
func (s *Service) StartStreamEncryption(ctx context.Context, in *api.StartStreamEncryptionInput) (*api.StartStreamEncryptionOutput, error) {
	if err := validateStartStreamEncryption(in); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	if err := onlyKMS(*in.EncryptionType); err != nil {
		return nil, err
	}
	// Resolved up front, reported after the stream's own checks.
	master, kerr := s.keys.Resolve(ctx, *in.KeyId, k.Region, k.Account)
	if kerr == nil {
		kerr = master.Usable(k.Region, k.Account)
	}
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if kerr != nil {
			return kmsError(kerr)
		}
		now := s.now()
		st.KeyChanges = lastDay(st.KeyChanges, now)
		if len(st.KeyChanges) >= maxKeyChangesPerDay {
			// AWS documents the limit, not its message.
			return Errorf(ErrLimitExceeded, "Exceeded the limit of %d StartStreamEncryption calls in a rolling 24-hour period for stream %s under account %s.",
				maxKeyChangesPerDay, k.Name, k.Account)
		}
		st.KeyChanges = append(st.KeyChanges, now)
		idx := uint32(1)
		for _, dk := range st.DataKeys {
			idx = max(idx, dk.Index+1)
		}
		_, wrapped := master.GenerateDataKey(dataKeyBind(st.ID, idx))
		st.DataKeys = append(st.DataKeys, store.DataKey{Index: idx, MasterKeyID: master.ID, Wrapped: wrapped, Created: now})
		st.EncryptionType, st.KeyID = api.EncryptionKMS, *in.KeyId
		s.switchWriteKey(st, idx, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.StartStreamEncryptionOutput{}, nil
}

// StopStreamEncryption stores new records in the clear again, once the
// stream is ACTIVE again. Records already sealed stay readable.
func (s *Service) StopStreamEncryption(ctx context.Context, in *api.StopStreamEncryptionInput) (*api.StopStreamEncryptionOutput, error) {
	if err := validateStartStreamEncryption((*api.StartStreamEncryptionInput)(in)); err != nil {
		return nil, err
	}
	k, err := streamKey(ctx, in.StreamName, in.StreamARN)
	if err != nil {
		return nil, err
	}
	if err := onlyKMS(*in.EncryptionType); err != nil {
		return nil, err
	}
	// The model lists no KMS errors for this call, so KeyId is not looked
	// up. Stopping a stream that is not encrypted changes nothing; what AWS
	// answers then is not documented.
	_, err = s.update(ctx, k, func(st *store.Stream) error {
		if st.Status != api.StatusActive {
			return notActive(st)
		}
		if st.EncryptionType != api.EncryptionKMS && st.WriteKey == 0 {
			return nil
		}
		now := s.now()
		st.EncryptionStops = lastDay(st.EncryptionStops, now)
		if len(st.EncryptionStops) >= maxEncryptionStopsPerDay {
			// AWS documents the limit, not its message.
			return Errorf(ErrLimitExceeded, "Exceeded the limit of %d StopStreamEncryption calls in a rolling 24-hour period for stream %s under account %s.",
				maxEncryptionStopsPerDay, k.Name, k.Account)
		}
		st.EncryptionStops = append(st.EncryptionStops, now)
		st.EncryptionType, st.KeyID = api.EncryptionNone, ""
		s.switchWriteKey(st, 0, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.StopStreamEncryptionOutput{}, nil
}

// switchWriteKey puts the stream in UPDATING, after which new records
// use data key next (0: none). The key in use until then retires at that
// moment; keys retired longer ago than any record can be kept are dropped.
func (s *Service) switchWriteKey(st *store.Stream, next uint32, now time.Time) {
	s.schedule(st)
	st.NextWriteKey = &next
	retention := time.Duration(st.RetentionHours) * time.Hour
	keep := st.DataKeys[:0]
	for _, dk := range st.DataKeys {
		if dk.Index == st.WriteKey && dk.Retired == nil {
			at := st.StatusUntil
			dk.Retired = &at
		}
		// A record sealed with dk was written before dk retired, so
		// retention has removed it by Retired + retention. Retention
		// only grows for records still stored, so the current one is a
		// safe bound.
		if dk.Retired != nil && dk.Index != next && now.After(dk.Retired.Add(retention+retireMargin)) {
			continue
		}
		keep = append(keep, dk)
	}
	st.DataKeys = keep
}

// applyWriteKey is settle's part: the key switch takes effect when
// UPDATING ends.
func applyWriteKey(st *store.Stream) {
	if st.NextWriteKey != nil {
		st.WriteKey, st.NextWriteKey = *st.NextWriteKey, nil
	}
}

func lastDay(ts []time.Time, now time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < 24*time.Hour {
			out = append(out, t)
		}
	}
	return out
}

// encryptionOf is what PutRecord(s) report for a stream's new records.
func encryptionOf(st *store.Stream) string {
	if st.WriteKey != 0 {
		return api.EncryptionKMS
	}
	return api.EncryptionNone
}

// kmsError turns a key ring error into the Kinesis error AWS would send.
func kmsError(err error) error {
	var ke *kms.Error
	if !errors.As(err, &ke) {
		return err // storage trouble reading the default key
	}
	switch {
	case errors.Is(err, kms.ErrDisabled):
		return Errorf(ErrKMSDisabled, "%s", ke.Message)
	case errors.Is(err, kms.ErrInvalidCiphertext):
		return Errorf(ErrKMSAccessDenied, "%s", ke.Message)
	default:
		return Errorf(ErrKMSNotFound, "%s", ke.Message)
	}
}

// dataKeyBind is what a wrapped data key is bound to: its stream
// incarnation and index.
func dataKeyBind(streamID string, idx uint32) []byte {
	return strconv.AppendUint(append([]byte(streamID), '/'), uint64(idx), 10)
}

// recordAAD binds a sealed record to its stream incarnation, shard and
// data key index, so its bytes cannot be moved elsewhere and still open.
func recordAAD(streamID string, shard int, idx uint32) []byte {
	ad := make([]byte, 0, len("rivulet-record\x00")+len(streamID)+9)
	ad = append(ad, "rivulet-record\x00"...)
	ad = append(ad, streamID...)
	ad = append(ad, 0)
	ad = binary.BigEndian.AppendUint32(ad, uint32(shard))
	return binary.BigEndian.AppendUint32(ad, idx)
}

// dataKey is an unwrapped data key, ready for use.
type dataKey struct {
	aead   cipher.AEAD
	master *kms.Key
}

type dataKeyRef struct {
	stream string
	index  uint32
}

// dataKeyCache keeps unwrapped data keys, so a key is unwrapped once per
// process, not once per record or request.
type dataKeyCache struct {
	mu sync.RWMutex
	m  map[dataKeyRef]*dataKey
}

// dataKey finds data key idx of st, unwrapping it on first use. st may be
// an older copy than the key (a subscription's, or another process's
// change not yet seen): then the stored stream is read.
func (s *Service) dataKey(ctx context.Context, st *store.Stream, idx uint32) (*dataKey, error) {
	ref := dataKeyRef{st.ID, idx}
	s.dks.mu.RLock()
	d := s.dks.m[ref]
	s.dks.mu.RUnlock()
	if d == nil {
		spec := findDataKey(st, idx)
		if spec == nil {
			fresh, _, err := s.be.Get(ctx, st.Key)
			if err == nil && fresh.ID == st.ID {
				spec = findDataKey(fresh, idx)
			}
		}
		if spec == nil {
			// Lost with the stream's metadata (rivulet recover cannot
			// rebuild data keys); no AWS counterpart.
			return nil, Errorf(ErrKMSNotFound, "Data key %d of stream %s under account %s is not in the stream's metadata.", idx, st.Key.Name, st.Key.Account)
		}
		master, err := s.keys.Get(ctx, spec.MasterKeyID, st.Key.Region, st.Key.Account)
		if err != nil {
			return nil, kmsError(err)
		}
		plain, err := master.Decrypt(spec.Wrapped, dataKeyBind(st.ID, idx))
		if err != nil {
			s.log.Error("data key does not unwrap", "stream", st.Key.Name, "index", idx, "master_key", master.ID, "err", err)
			return nil, kmsError(err)
		}
		block, err := aes.NewCipher(plain)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		d = &dataKey{aead: aead, master: master}
		s.dks.mu.Lock()
		if s.dks.m == nil || len(s.dks.m) >= maxCachedDataKeys {
			s.dks.m = map[dataKeyRef]*dataKey{}
		}
		s.dks.m[ref] = d
		s.dks.mu.Unlock()
	}
	// Checked on every use, so a disabled key stops writes and reads.
	if err := d.master.Usable(st.Key.Region, st.Key.Account); err != nil {
		return nil, kmsError(err)
	}
	return d, nil
}

func findDataKey(st *store.Stream, idx uint32) *store.DataKey {
	for i := range st.DataKeys {
		if st.DataKeys[i].Index == idx {
			return &st.DataKeys[i]
		}
	}
	return nil
}

// sealer seals one stream's new records.
type sealer struct {
	key      *dataKey
	index    uint32
	streamID string
}

// writeSealer is the sealer for st's new records; nil stores them in the
// clear.
func (s *Service) writeSealer(ctx context.Context, st *store.Stream) (*sealer, error) {
	if st.WriteKey == 0 {
		return nil, nil
	}
	d, err := s.dataKey(ctx, st, st.WriteKey)
	if err != nil {
		return nil, err
	}
	return &sealer{key: d, index: st.WriteKey, streamID: st.ID}, nil
}

// seal replaces entries bound for shard with sealed ones:
//
//	Data = nonce (12) | AES-256-GCM(uvarint len(pk) | pk | data) | tag (16)
//	PartitionKey = "", Key = the data key's index
//
// The caller's slices are not changed.
func (z *sealer) seal(entries []store.Entry, shard int) {
	if z == nil || len(entries) == 0 {
		return
	}
	aad := recordAAD(z.streamID, shard, z.index)
	nonces := make([]byte, sealNonce*len(entries))
	_, _ = rand.Read(nonces) // one call for all: a syscall per record costs
	var buf []byte
	for i, e := range entries {
		n := sealedSize(e)
		if len(buf) < n {
			// Records share buffers of up to sealChunk: fewer allocations
			// than one each, and none of the large ones that a buffer for
			// a whole call would be (those take the heap lock).
			buf = make([]byte, max(n, sealChunk))
		}
		rec := buf[:n:n]
		buf = buf[n:]
		copy(rec, nonces[i*sealNonce:(i+1)*sealNonce])
		pt := binary.AppendUvarint(rec[sealNonce:sealNonce], uint64(len(e.PartitionKey)))
		pt = append(pt, e.PartitionKey...)
		pt = append(pt, e.Data...)
		z.key.aead.Seal(pt[:0], rec[:sealNonce], pt, aad) // in place; the tag fills the rest
		entries[i] = store.Entry{Data: rec, Key: z.index}
	}
}

// sealChunk is Go's largest small-object size class.
const sealChunk = 32 << 10

func sealedSize(e store.Entry) int {
	return sealNonce + uvarintSize(uint64(len(e.PartitionKey))) + len(e.PartitionKey) + len(e.Data) + sealTag
}

func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// opener opens the sealed records of one shard read, remembering the last
// key it used (a read's records almost always share one).
type opener struct {
	s     *Service
	st    *store.Stream
	shard int
	index uint32
	key   *dataKey
	aad   []byte
}

// open replaces a sealed entry by its partition key and data, decrypting
// in place (Read's data are the caller's).
func (o *opener) open(ctx context.Context, e *store.Entry) error {
	if o.key == nil || o.index != e.Key {
		d, err := o.s.dataKey(ctx, o.st, e.Key)
		if err != nil {
			return err
		}
		o.key, o.index, o.aad = d, e.Key, recordAAD(o.st.ID, o.shard, e.Key)
	}
	if len(e.Data) < sealNonce+sealTag {
		return o.corrupt(e)
	}
	ct := e.Data[sealNonce:]
	pt, err := o.key.aead.Open(ct[:0], e.Data[:sealNonce], ct, o.aad)
	if err != nil {
		return o.corrupt(e)
	}
	l, n := binary.Uvarint(pt)
	if n <= 0 || l > uint64(len(pt)-n) {
		return o.corrupt(e)
	}
	end := n + int(l)
	e.PartitionKey, e.Data, e.Key = string(pt[n:end]), pt[end:len(pt):len(pt)], 0
	return nil
}

func (o *opener) corrupt(e *store.Entry) error {
	o.s.log.Error("sealed record does not open: damaged or moved", "stream", o.st.Key.Name, "shard", o.shard, "key", e.Key)
	return Errorf(ErrInternal, "a stored record of shard %s does not decrypt", ShardID(o.shard))
}

// isKMS reports a key error, which SubscribeToShard sends as its own
// exception event, as AWS does.
func isKMS(err error) bool {
	for _, k := range []error{ErrKMSAccessDenied, ErrKMSDisabled, ErrKMSInvalidState, ErrKMSNotFound, ErrKMSOptIn, ErrKMSThrottling} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
