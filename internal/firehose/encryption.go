package firehose

// Server-side encryption of DirectPut records (internal/firehose/envelope
// does the sealing). Start makes a data key under the master key the
// caller names (AWS_OWNED_CMK: the ring's built-in alias/aws/kinesis) and
// keeps it wrapped in the stream's record; once ENABLING ends, PutRecord
// and PutRecordBatch seal every record with it. Stop stores new records in
// the clear again once DISABLING ends. Records keep the index of their
// data key, and retired keys stay while the buffer log may hold records
// sealed with them, so everything written reads back.

import (
	"context"
	"errors"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/envelope"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const (
	// maxEncryptionChangesPerDay is AWS's combined allowance of Start- and
	// StopDeliveryStreamEncryption per stream in 24 hours.
	maxEncryptionChangesPerDay = 25
	// retireMargin covers processes that switch keys a little late and
	// clocks a little apart.
	retireMargin = time.Hour
	// grantMessage is AWS's InvalidKMSResourceException text when a put
	// cannot use the stream's key.
	grantMessage = "The grant for the CMK to this delivery stream might have been revoked or caller might not have sufficient permissions for the CMK."
)

// masterKey resolves the key an encryption input names: the ring's
// built-in key for AWS_OWNED_CMK, KeyARN for CUSTOMER_MANAGED_CMK. It must
// exist and be enabled.
func (s *Service) masterKey(ctx context.Context, e *model.DeliveryStreamEncryptionConfigurationInput, k store.TableKey) (*kms.Key, error) {
	ring := s.keys.Ring()
	if ring == nil {
		return nil, errorf(ErrInvalidKMSResource, "Server-side encryption needs a key ring, and this server has none configured.")
	}
	id := envelope.OwnedKeyAlias
	if e.KeyType == "CUSTOMER_MANAGED_CMK" {
		id = model.Str(e.KeyARN)
	}
	master, err := ring.Resolve(ctx, id, k.Region, k.Account)
	if err == nil {
		err = master.Usable(k.Region, k.Account)
	}
	if err != nil {
		return nil, kmsError(err, "")
	}
	return master, nil
}

// kmsError turns a key ring failure into InvalidKMSResourceException,
// whose code member names the KMS exception it stands for (AWS documents
// which ones, not the code's value). message, if set, replaces KMS's.
func kmsError(err error, message string) error {
	var ke *kms.Error
	switch {
	case errors.As(err, &ke):
		code := "NotFoundException"
		switch {
		case errors.Is(err, kms.ErrDisabled):
			code = "DisabledException"
		case errors.Is(err, kms.ErrInvalidCiphertext):
			code = "AccessDeniedException"
		}
		if message == "" {
			message = ke.Message
		}
		return &Error{Kind: ErrInvalidKMSResource, Code: code, Message: message}
	case errors.Is(err, envelope.ErrNoRing):
		return errorf(ErrInvalidKMSResource, "Server-side encryption needs a key ring, and this server has none configured.")
	}
	return err // storage trouble reading the built-in key
}

// StartDeliveryStreamEncryption turns server-side encryption on, or moves
// it to another key: ENABLING, then ENABLED after Config.CreateDelay, when
// new records start being sealed with a new data key. Until then they are
// stored as before (in the clear, or with the previous key), as AWS's are.
func (s *Service) StartDeliveryStreamEncryption(ctx context.Context, in *StartDeliveryStreamEncryptionInput) (*StartDeliveryStreamEncryptionOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	v.streamEncryption("deliveryStreamEncryptionConfigurationInput", in.DeliveryStreamEncryptionConfigurationInput)
	if err := v.err(); err != nil {
		return nil, err
	}
	enc := in.DeliveryStreamEncryptionConfigurationInput
	if enc == nil {
		enc = &model.DeliveryStreamEncryptionConfigurationInput{KeyType: "AWS_OWNED_CMK"}
	}
	if err := checkStreamEncryption(enc); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "StartDeliveryStreamEncryption", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	// Resolved up front; reported after the stream's own checks.
	master, kerr := s.masterKey(ctx, enc, s.key(ctx, *in.DeliveryStreamName))
	_, err := s.modify(ctx, *in.DeliveryStreamName, func(ds *model.DeliveryStream) error {
		if err := s.encryptable(ds); err != nil {
			return err
		}
		if kerr != nil {
			return kerr
		}
		now := s.now()
		if err := s.countChange(ds, now); err != nil {
			return err
		}
		ds.Encryption = enc
		s.transition(ds, "ENABLING", "ENABLED", envelope.NewDataKey(ds, master, now), now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &StartDeliveryStreamEncryptionOutput{}, nil
}

// StopDeliveryStreamEncryption turns server-side encryption off: once
// DISABLING ends new records are stored in the clear. Sealed records stay
// readable.
func (s *Service) StopDeliveryStreamEncryption(ctx context.Context, in *StopDeliveryStreamEncryptionInput) (*StopDeliveryStreamEncryptionOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "StopDeliveryStreamEncryption", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	_, err := s.modify(ctx, *in.DeliveryStreamName, func(ds *model.DeliveryStream) error {
		if err := s.encryptable(ds); err != nil {
			return err
		}
		now := s.now()
		if err := s.countChange(ds, now); err != nil {
			return err
		}
		ds.Encryption = nil
		s.transition(ds, "DISABLING", "DISABLED", 0, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &StopDeliveryStreamEncryptionOutput{}, nil
}

// countChange applies AWS's limit of 25 Start and Stop calls together per
// stream in a rolling 24 hours. AWS documents the limit, not its message.
func (s *Service) countChange(ds *model.DeliveryStream, now time.Time) error {
	recent := ds.EncryptionChanges[:0]
	for _, t := range ds.EncryptionChanges {
		if now.Sub(t) < 24*time.Hour {
			recent = append(recent, t)
		}
	}
	ds.EncryptionChanges = recent
	if len(recent) >= maxEncryptionChangesPerDay {
		return errorf(ErrLimitExceeded, "Exceeded the limit of %d StartDeliveryStreamEncryption and StopDeliveryStreamEncryption calls in a rolling 24-hour period for Firehose %s under account %s.",
			maxEncryptionChangesPerDay, ds.Name, ds.Account)
	}
	ds.EncryptionChanges = append(ds.EncryptionChanges, now)
	return nil
}

func (s *Service) encryptable(ds *model.DeliveryStream) error {
	if ds.Type != model.TypeDirectPut {
		return invalidArg("This operation is not permitted on %s delivery stream type.", ds.Type)
	}
	if st := ds.CurrentStatus(s.now()); st != model.StatusActive {
		return errorf(ErrResourceInUse, "Firehose %s under account %s is not in the ACTIVE state (it is %s).", ds.Name, ds.Account, st)
	}
	return nil
}

// transition starts an encryption status change, during then after
// Config.CreateDelay: new records use data key next (0: none) from its
// end. The key in use until then retires at that moment; a switch still
// pending is dropped (its key retires now). Keys retired longer ago than
// the buffer log keeps records are removed.
func (s *Service) transition(ds *model.DeliveryStream, during, after string, next uint32, now time.Time) {
	// Settle the switch of a transition that has ended.
	ds.WriteKey, ds.NextWriteKey = ds.WriteKeyAt(now), nil
	at := now
	if s.cfg.CreateDelay > 0 {
		at = now.Add(s.cfg.CreateDelay)
		ds.EncryptionStatus, ds.EncryptionUntil = during, at
	} else {
		ds.EncryptionStatus, ds.EncryptionUntil = after, time.Time{}
	}
	keep := ds.DataKeys[:0]
	for _, dk := range ds.DataKeys {
		switch {
		case dk.Retired != nil:
		case dk.Index == ds.WriteKey:
			dk.Retired = &at
		case dk.Index != next:
			dk.Retired = &now // a pending switch's key, replaced
		}
		// A record sealed with dk was appended before it retired, so the
		// buffer log's retention removes it by Retired + retention.
		if dk.Retired != nil && dk.Index != next && now.After(dk.Retired.Add(bufferRetention+retireMargin)) {
			continue
		}
		keep = append(keep, dk)
	}
	ds.DataKeys = keep
	if at.Equal(now) {
		ds.WriteKey = next
	} else {
		ds.NextWriteKey = &next
	}
}

// seal seals entries with the stream's current data key, reporting
// whether it did.
func (s *Service) seal(ctx context.Context, ds *model.DeliveryStream, entries []store.Entry) (bool, error) {
	idx := ds.WriteKeyAt(s.now())
	if idx == 0 {
		return false, nil
	}
	if err := s.keys.Seal(ctx, ds, idx, entries); err != nil {
		var ke *kms.Error
		if errors.As(err, &ke) && !errors.Is(err, kms.ErrDisabled) {
			// The key cannot be used (gone, or its material changed):
			// log why, answer as AWS does.
			s.log.Error("firehose: data key unusable", "stream", ds.Name, "index", idx, "err", err)
			return false, kmsError(err, grantMessage)
		}
		return false, kmsError(err, "")
	}
	return true, nil
}
