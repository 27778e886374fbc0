package firehose

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/envelope"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// CreateDeliveryStream validates the configuration, stores the stream
// (CREATING until Config.CreateDelay has passed) and, for DirectPut,
// creates its buffer log.
func (s *Service) CreateDeliveryStream(ctx context.Context, in *CreateDeliveryStreamInput) (*CreateDeliveryStreamOutput, error) {
	if err := validateCreateShape(in); err != nil {
		return nil, err
	}
	typ := in.DeliveryStreamType
	if typ == "" {
		typ = model.TypeDirectPut
	}
	switch {
	case typ == "MSKAsSource" || present(in.MSKSourceConfiguration):
		return nil, unsupported("the MSKAsSource delivery stream type")
	case typ == "DatabaseAsSource" || present(in.DatabaseSourceConfiguration):
		return nil, unsupported("the DatabaseAsSource delivery stream type")
	}
	if typ == model.TypeKinesisSource {
		if in.KinesisStreamSourceConfiguration == nil {
			return nil, invalidArg("KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource delivery stream type.")
		}
		if in.DirectPutSourceConfiguration != nil {
			return nil, invalidArg("DirectPutSourceConfiguration is not allowed for the KinesisStreamAsSource delivery stream type.")
		}
		if in.DeliveryStreamEncryptionConfigurationInput != nil {
			return nil, invalidArg("Server-side encryption is not supported for the KinesisStreamAsSource delivery stream type; the source stream's encryption applies.")
		}
	} else if in.KinesisStreamSourceConfiguration != nil {
		return nil, invalidArg("KinesisStreamSourceConfiguration is only allowed for the KinesisStreamAsSource delivery stream type.")
	}
	if e := in.DeliveryStreamEncryptionConfigurationInput; e != nil {
		if err := checkStreamEncryption(e); err != nil {
			return nil, err
		}
	}
	dest, err := destinationOf(in)
	if err != nil {
		return nil, err
	}
	k := s.key(ctx, *in.DeliveryStreamName)
	if err := s.authorize(ctx, "CreateDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	now := s.now()
	ds := &model.DeliveryStream{
		Account: k.Account, Region: k.Region, Name: k.Name, ID: newID(),
		Type: typ, Status: model.StatusActive, Created: now, Updated: now, VersionID: 1,
		Source: in.KinesisStreamSourceConfiguration, DestinationID: destinationID, Destination: dest,
	}
	if s.cfg.CreateDelay > 0 {
		ds.Status, ds.StatusUntil = model.StatusCreating, now.Add(s.cfg.CreateDelay)
	}
	if len(in.Tags) > 0 {
		ds.Tags = make(map[string]string, len(in.Tags))
		for _, t := range in.Tags {
			ds.Tags[*t.Key] = model.Str(t.Value)
		}
	}
	if e := in.DeliveryStreamEncryptionConfigurationInput; e != nil {
		master, err := s.masterKey(ctx, e, k)
		if err != nil {
			return nil, err
		}
		ds.Encryption = e
		s.transition(ds, "ENABLING", "ENABLED", envelope.NewDataKey(ds, master, now), now)
	}
	// The log first: a stream that exists can always take records.
	if typ == model.TypeDirectPut {
		// No Kinesis stream owns the log, so its spec is empty.
		if err := s.st.CreateShard(ctx, BufferLog(ds.ID), bufferRetention, store.ShardSpec{}); err != nil {
			return nil, s.storeError(err)
		}
	}
	if err := s.save(ctx, ds, 0); err != nil {
		if typ == model.TypeDirectPut {
			if derr := s.st.DeleteShard(context.WithoutCancel(ctx), BufferLog(ds.ID)); derr != nil {
				s.log.Warn("firehose: removing an unused buffer log", "stream", k.Name, "err", derr)
			}
		}
		if errors.Is(err, store.ErrExists) {
			return nil, errorf(ErrResourceInUse, "Firehose %s under accountId %s already exists", k.Name, k.Account)
		}
		return nil, s.storeError(err)
	}
	return &CreateDeliveryStreamOutput{DeliveryStreamARN: ds.ARN()}, nil
}

// storeError turns storage being full into ServiceUnavailableException.
func (s *Service) storeError(err error) error {
	if errors.Is(err, store.ErrFull) {
		return errorf(ErrServiceUnavailable, "%s", fullMessage)
	}
	return err
}

// DeleteDeliveryStream marks the stream DELETING (so the engine stops),
// removes its buffer log and checkpoints, then its record. A crash
// part-way leaves a DELETING record that another delete finishes.
func (s *Service) DeleteDeliveryStream(ctx context.Context, in *DeleteDeliveryStreamInput) (*DeleteDeliveryStreamOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DeleteDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	var ds *model.DeliveryStream
	var rev store.Revision
	for attempt := 0; ; attempt++ {
		var err error
		ds, rev, err = s.get(ctx, *in.DeliveryStreamName)
		if err != nil {
			return nil, err
		}
		if ds.Status == model.StatusDeleting {
			break
		}
		ds.Status, ds.StatusUntil, ds.Updated = model.StatusDeleting, time.Time{}, s.now()
		b, err := json.Marshal(ds)
		if err != nil {
			return nil, err
		}
		k := store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}
		rev, err = s.st.PutResource(ctx, store.KindDeliveryStream, k, b, rev)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= maxCASAttempts {
			return nil, err
		}
	}
	s.cfg.Metrics.DropStream(metrics.Firehose, ds.Account, ds.Region, ds.Name)
	if ds.Type == model.TypeDirectPut {
		if err := s.st.DeleteShard(ctx, BufferLog(ds.ID)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if vs, ok := s.st.(Values); ok {
		for _, key := range []string{CheckpointKeyPrefix + ds.ID, OwnerKeyPrefix + ds.ID} {
			if err := vs.DeleteValue(ctx, key, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	k := store.TableKey{Account: ds.Account, Region: ds.Region, Name: ds.Name}
	if err := s.st.DeleteResource(ctx, store.KindDeliveryStream, k, rev); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, err
	}
	return &DeleteDeliveryStreamOutput{}, nil
}

// DescribeDeliveryStream describes a stream with its one destination.
func (s *Service) DescribeDeliveryStream(ctx context.Context, in *DescribeDeliveryStreamInput) (*DescribeDeliveryStreamOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	v.num("limit", in.Limit, 1, 10000)
	v.str("exclusiveStartDestinationId", in.ExclusiveStartDestinationId, false, 1, 100, match(namePattern), namePatternText)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "DescribeDeliveryStream", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	ds, _, err := s.get(ctx, *in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := DeliveryStreamDescription{
		DeliveryStreamName:   ds.Name,
		DeliveryStreamARN:    ds.ARN(),
		DeliveryStreamStatus: ds.CurrentStatus(now),
		DeliveryStreamType:   ds.Type,
		VersionId:            strconv.Itoa(ds.VersionID),
		CreateTimestamp:      epoch(ds.Created),
		Destinations:         []DestinationDescription{},
	}
	if ds.VersionID > 1 {
		d.LastUpdateTimestamp = epoch(ds.Updated)
	}
	if ds.Type == model.TypeDirectPut {
		enc := &EncryptionDescription{Status: ds.CurrentEncryptionStatus(now)}
		if ds.Encryption != nil {
			enc.KeyType, enc.KeyARN = ds.Encryption.KeyType, ds.Encryption.KeyARN
		}
		d.DeliveryStreamEncryptionConfiguration = enc
	}
	if src := ds.Source; src != nil {
		d.Source = &SourceDescription{KinesisStreamSourceDescription: &KinesisStreamSourceDescription{
			KinesisStreamARN: src.KinesisStreamARN, RoleARN: src.RoleARN, DeliveryStartTimestamp: epoch(ds.Created),
		}}
	}
	if in.ExclusiveStartDestinationId == nil || *in.ExclusiveStartDestinationId < ds.DestinationID {
		d.Destinations = append(d.Destinations, describeDestination(ds))
	}
	return &DescribeDeliveryStreamOutput{DeliveryStreamDescription: d}, nil
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// describeDestination renders the stored destination as AWS describes it:
// HTTP endpoints without their access key, Redshift without its password.
func describeDestination(ds *model.DeliveryStream) DestinationDescription {
	out := DestinationDescription{DestinationId: ds.DestinationID}
	switch d := ds.Destination; {
	case d.ExtendedS3 != nil:
		e := *d.ExtendedS3
		backup := e.S3BackupConfiguration
		e.S3BackupConfiguration = nil
		out.ExtendedS3DestinationDescription = &ExtendedS3Description{ExtendedS3DestinationConfiguration: e, S3BackupDescription: backup}
		out.S3DestinationDescription = plainS3(d.ExtendedS3)
	case d.HTTPEndpoint != nil:
		h := *d.HTTPEndpoint
		s3 := h.S3Configuration
		h.S3Configuration = nil
		if h.EndpointConfiguration != nil {
			h.EndpointConfiguration = &model.HttpEndpointConfiguration{Url: h.EndpointConfiguration.Url, Name: h.EndpointConfiguration.Name}
		}
		out.HttpEndpointDestinationDescription = &HTTPEndpointDescription{HttpEndpointDestinationConfiguration: h, S3DestinationDescription: s3}
	case d.Redshift != nil:
		r := *d.Redshift
		s3, backup := r.S3Configuration, r.S3BackupConfiguration
		r.S3Configuration, r.S3BackupConfiguration, r.Password = nil, nil, nil
		out.RedshiftDestinationDescription = &RedshiftDescription{RedshiftDestinationConfiguration: r,
			S3DestinationDescription: s3, S3BackupDescription: backup}
	}
	return out
}

// ListDeliveryStreams lists names in order, optionally of one type.
func (s *Service) ListDeliveryStreams(ctx context.Context, in *ListDeliveryStreamsInput) (*ListDeliveryStreamsOutput, error) {
	var v validator
	v.num("limit", in.Limit, 1, 10000)
	v.enum("deliveryStreamType", in.DeliveryStreamType, model.TypeDirectPut, model.TypeKinesisSource, "MSKAsSource", "DatabaseAsSource")
	v.str("exclusiveStartDeliveryStreamName", in.ExclusiveStartDeliveryStreamName, false, 1, 64, match(namePattern), namePatternText)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListDeliveryStreams", nil); err != nil {
		return nil, err
	}
	limit := int(model.Int(in.Limit, 10))
	k := s.key(ctx, "")
	keys, err := s.st.ListResources(ctx, store.KindDeliveryStream, k.Account, k.Region)
	if err != nil {
		return nil, err
	}
	out := &ListDeliveryStreamsOutput{DeliveryStreamNames: []string{}}
	for _, key := range keys {
		if in.ExclusiveStartDeliveryStreamName != nil && key.Name <= *in.ExclusiveStartDeliveryStreamName {
			continue
		}
		if in.DeliveryStreamType != "" {
			ds, _, err := s.load(ctx, key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if ds.Type != in.DeliveryStreamType {
				continue
			}
		}
		if len(out.DeliveryStreamNames) == limit {
			out.HasMoreDeliveryStreams = true
			break
		}
		out.DeliveryStreamNames = append(out.DeliveryStreamNames, key.Name)
	}
	return out, nil
}

// UpdateDestination changes the destination: an update of the same type
// is merged into it, one of another type replaces it. VersionId goes up.
func (s *Service) UpdateDestination(ctx context.Context, in *UpdateDestinationInput) (*UpdateDestinationOutput, error) {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	v.str("currentDeliveryStreamVersionId", in.CurrentDeliveryStreamVersionId, true, 1, 50, isDigits, "[0-9]+")
	v.str("destinationId", in.DestinationId, true, 1, 100, match(namePattern), namePatternText)
	if err := v.err(); err != nil {
		return nil, err
	}
	for _, u := range []struct {
		raw  json.RawMessage
		name string
	}{
		{in.ElasticsearchDestinationUpdate, "ElasticsearchDestinationUpdate"},
		{in.AmazonopensearchserviceDestinationUpdate, "AmazonopensearchserviceDestinationUpdate"},
		{in.AmazonOpenSearchServerlessDestinationUpdate, "AmazonOpenSearchServerlessDestinationUpdate"},
		{in.SplunkDestinationUpdate, "SplunkDestinationUpdate"},
		{in.SnowflakeDestinationUpdate, "SnowflakeDestinationUpdate"},
		{in.IcebergDestinationUpdate, "IcebergDestinationUpdate"},
	} {
		if present(u.raw) {
			return nil, unsupported(u.name)
		}
	}
	var kind string
	var update json.RawMessage
	n := 0
	for _, u := range []struct {
		raw  json.RawMessage
		kind string
	}{
		{in.S3DestinationUpdate, model.KindExtendedS3},
		{in.ExtendedS3DestinationUpdate, model.KindExtendedS3},
		{in.HttpEndpointDestinationUpdate, model.KindHTTPEndpoint},
		{in.RedshiftDestinationUpdate, model.KindRedshift},
	} {
		if present(u.raw) {
			n++
			kind, update = u.kind, u.raw
		}
	}
	if n != 1 {
		return nil, invalidArg("Exactly one destination update must be specified; %d were given.", n)
	}
	update, err := renameUpdateMembers(update)
	if err != nil {
		return nil, err
	}
	if err := checkUpdateShape(kind, update); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "UpdateDestination", in.DeliveryStreamName); err != nil {
		return nil, err
	}
	_, err = s.modify(ctx, *in.DeliveryStreamName, func(ds *model.DeliveryStream) error {
		if st := ds.CurrentStatus(s.now()); st != model.StatusActive {
			return errorf(ErrResourceInUse, "Firehose %s under account %s is not in the ACTIVE state (it is %s).", ds.Name, ds.Account, st)
		}
		if *in.CurrentDeliveryStreamVersionId != strconv.Itoa(ds.VersionID) {
			return errorf(ErrConcurrentModification,
				"Cannot update firehose: %s because the current version id %s does not match the version id %s in the request.",
				ds.Name, strconv.Itoa(ds.VersionID), *in.CurrentDeliveryStreamVersionId)
		}
		if *in.DestinationId != ds.DestinationID {
			return invalidArg("Destination %s was not found for Firehose %s under account %s.", *in.DestinationId, ds.Name, ds.Account)
		}
		dest, err := updatedDestination(ds.Destination, kind, update)
		if err != nil {
			return err
		}
		ds.Destination = dest
		ds.VersionID++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &UpdateDestinationOutput{}, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// checkUpdateShape applies the front end's constraints to an update.
func checkUpdateShape(kind string, raw json.RawMessage) error {
	var v validator
	switch kind {
	case model.KindExtendedS3:
		var c model.ExtendedS3DestinationConfiguration
		if err := decodeJSON(raw, &c); err != nil {
			return err
		}
		v.extendedS3("extendedS3DestinationUpdate", &c, true)
	case model.KindHTTPEndpoint:
		var c model.HttpEndpointDestinationConfiguration
		if err := decodeJSON(raw, &c); err != nil {
			return err
		}
		v.httpEndpoint("httpEndpointDestinationUpdate", &c, true)
	case model.KindRedshift:
		var c model.RedshiftDestinationConfiguration
		if err := decodeJSON(raw, &c); err != nil {
			return err
		}
		v.redshift("redshiftDestinationUpdate", &c, true)
	}
	return v.err()
}

// updatedDestination merges (same kind) or replaces (another kind) the
// destination, then checks the result as CreateDeliveryStream would.
func updatedDestination(cur model.Destination, kind string, raw json.RawMessage) (model.Destination, error) {
	var base any
	switch kind {
	case model.KindExtendedS3:
		base = cur.ExtendedS3
	case model.KindHTTPEndpoint:
		base = cur.HTTPEndpoint
	case model.KindRedshift:
		base = cur.Redshift
	}
	merged := raw
	if cur.Kind() == kind {
		b, err := json.Marshal(base)
		if err != nil {
			return model.Destination{}, err
		}
		if merged, err = mergeJSON(b, raw); err != nil {
			return model.Destination{}, err
		}
	}
	var d model.Destination
	switch kind {
	case model.KindExtendedS3:
		d.ExtendedS3 = new(model.ExtendedS3DestinationConfiguration)
		if err := decodeJSON(merged, d.ExtendedS3); err != nil {
			return d, err
		}
		if cur.ExtendedS3 != nil && cur.ExtendedS3.S3BackupMode == "Enabled" && d.ExtendedS3.S3BackupMode == "Disabled" {
			return d, invalidArg("S3BackupMode cannot be changed from Enabled to Disabled.")
		}
		was := cur.ExtendedS3 != nil && cur.ExtendedS3.DynamicPartitioningConfiguration != nil &&
			cur.ExtendedS3.DynamicPartitioningConfiguration.Enabled != nil &&
			*cur.ExtendedS3.DynamicPartitioningConfiguration.Enabled
		var v validator
		v.s3("extendedS3DestinationUpdate", plainS3(d.ExtendedS3), false)
		if err := v.err(); err != nil {
			return d, err
		}
		return d, completeExtendedS3(d.ExtendedS3, false, was)
	case model.KindHTTPEndpoint:
		d.HTTPEndpoint = new(model.HttpEndpointDestinationConfiguration)
		if err := decodeJSON(merged, d.HTTPEndpoint); err != nil {
			return d, err
		}
		return d, completeHTTPEndpoint(d.HTTPEndpoint)
	default:
		d.Redshift = new(model.RedshiftDestinationConfiguration)
		if err := decodeJSON(merged, d.Redshift); err != nil {
			return d, err
		}
		if d.Redshift.RoleARN == nil {
			return d, invalidArg("RedshiftDestinationConfiguration requires RoleARN.")
		}
		return d, completeRedshift(d.Redshift)
	}
}

// mergeJSON overlays update onto base: objects merge member by member,
// anything else (lists included) replaces.
func mergeJSON(base, update []byte) ([]byte, error) {
	var b, u any
	if err := json.Unmarshal(base, &b); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(update, &u); err != nil {
		return nil, errorf(ErrSerialization, "")
	}
	return json.Marshal(overlay(b, u))
}

func overlay(base, update any) any {
	bm, ok1 := base.(map[string]any)
	um, ok2 := update.(map[string]any)
	if !ok1 || !ok2 {
		if update == nil {
			return base
		}
		return update
	}
	out := maps.Clone(bm)
	for k, v := range um {
		out[k] = overlay(bm[k], v)
	}
	return out
}

// renameUpdateMembers gives an update's S3 members their configuration
// names (S3Update is S3Configuration, S3BackupUpdate is
// S3BackupConfiguration), so an update decodes as a configuration.
func renameUpdateMembers(raw json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := decodeJSON(raw, &m); err != nil {
		return nil, err
	}
	for from, to := range map[string]string{"S3Update": "S3Configuration", "S3BackupUpdate": "S3BackupConfiguration"} {
		if v, ok := m[from]; ok {
			delete(m, from)
			m[to] = v
		}
	}
	return json.Marshal(m)
}
