package kinesis

// Channels: CreateChannel, DescribeChannel, ListChannels, UpdateChannel and
// DeleteChannel. A channel delivers an ON_DEMAND stream to a general
// purpose S3 bucket; the Firehose delivery engine runs it, from the
// model.DeliveryStream kept in the record's Delivery.
//
// Records live in Config.Channels (kind store.KindChannel) and change
// only by compare-and-swap. A transition ends at Delivery.StatusUntil:
// CREATING and UPDATING become ACTIVE, DELETING removes the record. Every
// reader applies a due transition and writes it back, so the engine,
// which runs stored ACTIVE records, sees it too.

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/delivery/prefix"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const (
	// defaultDataFreshness is AWS's documented default, in seconds.
	defaultDataFreshness = 300
	// channelBufferMB caps a buffer by size as Firehose's default does;
	// channels have no size setting, only DataFreshnessInSeconds.
	channelBufferMB      = 5
	defaultChannelPage   = 100
	channelDestinationID = "destinationId-000000000001"
)

// Constraints from the service model (API reference, 2013-12-02).
var (
	vChannelName = vStr{min: 1, max: 128, pattern: vNamePattern}
	vChannelARN  = vStr{min: 1, max: 2048, pattern: vNewPattern(`arn:aws.*:kinesis:.*:\d{12}:channel/\S+`,
		`arn:aws`+vJavaDot+`*:kinesis:`+vJavaDot+`*:`+vJavaDigits+`{12}:channel/`+vJavaNonSp+`+`)}
	vRoleARN = vStr{min: 1, max: 512, pattern: vNewPattern(`arn:aws[-a-z0-9]*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+`,
		`arn:aws[-a-z0-9]*:iam::[0-9]{12}:role/[a-zA-Z_0-9+=,.@\-_/]+`)}
	vBucketARN = vStr{min: 1, max: 2048, pattern: vNewPattern(`arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}`,
		`arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}`)}
	vBucketOwner       = vStr{min: 12, max: 12, pattern: vNewPattern(`\d{12}`, `[0-9]{12}`)}
	vOutputKeyTemplate = vStr{min: 1, max: 1024, pattern: vNewPattern(`[0-9A-Za-z!\-_'.*()\/=:{}]+`, `[0-9A-Za-z!\-_'.*()/=:{}]+`)}
	vErrorOutputPrefix = vStr{min: 1, max: 512, pattern: vNewPattern(`[0-9A-Za-z!\-_'.*()\/]+`, `[0-9A-Za-z!\-_'.*()/]+`)}
	vGSRSchemaARN      = vStr{min: 1, max: 512, pattern: vNewPattern(`arn:aws[-a-z0-9]*:glue:[-a-z0-9]+:\d{12}:schema/[-a-zA-Z0-9_$#.]+/[-a-zA-Z0-9_$#.]+`,
		`arn:aws[-a-z0-9]*:glue:[-a-z0-9]+:[0-9]{12}:schema/[-a-zA-Z0-9_$#.]+/[-a-zA-Z0-9_$#.]+`)}
	vLogGroupName  = vStr{min: 1, max: 512, pattern: vNewPattern(`[\.\-_/#A-Za-z0-9]+`, `[.\-_/#A-Za-z0-9]+`)}
	vLogStreamName = vStr{min: 1, max: 512, pattern: vNewPattern(`[^:*]*`, `[^:*]*`)}
	vChannelKeyID  = vStr{min: 1, max: 2048}
	vS3Compression = vStr{min: vNone, max: vNone, enum: []string{api.S3CompressionNone, api.S3CompressionGZIP, api.S3CompressionZSTD}}
	vStorageClass  = vStr{min: vNone, max: vNone, enum: []string{"STANDARD", "INTELLIGENT_TIERING", "GLACIER_IR"}}
	vRecordFormat  = vStr{min: vNone, max: vNone, enum: []string{api.RecordFormatGSRJSON, api.RecordFormatJSON, api.RecordFormatString, api.RecordFormatByteArray}}
	vChannelEnc    = vStr{min: vNone, max: vNone, enum: []string{api.EncryptionKMS}}
)

// channelConfig is model.Channel.Request: the members DescribeChannel
// echoes, with defaults filled.
type channelConfig struct {
	Streams    []api.ChannelStreamDescription
	S3         api.S3DestinationConfiguration
	Encryption *api.ChannelEncryptionConfiguration `json:",omitempty"`
	Logging    api.ChannelLoggingConfiguration
}

// ChannelARN renders a channel's ARN, as AWS's examples show it.
func ChannelARN(k store.TableKey) string {
	return "arn:aws:kinesis:" + k.Region + ":" + k.Account + ":channel/" + k.Name
}

// parseChannelARN splits arn:aws:kinesis:REGION:ACCOUNT:channel/NAME.
func parseChannelARN(arn string) (store.TableKey, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" ||
		parts[3] == "" || parts[4] == "" {
		return store.TableKey{}, false
	}
	name, ok := strings.CutPrefix(parts[5], "channel/")
	if !ok || !validName(name) {
		return store.TableKey{}, false
	}
	return store.TableKey{Account: parts[4], Region: parts[3], Name: name}, true
}

func channelNotFound(k store.TableKey) error {
	return Errorf(ErrResourceNotFound, "Channel %s under account %s not found.", k.Name, k.Account)
}

func channelNotActive(ch *model.Channel) error {
	return Errorf(ErrResourceInUse, "Channel %s under account %s not ACTIVE, instead in state %s", ch.Name, ch.Account, ch.Status)
}

func channelKey(ch *model.Channel) store.TableKey {
	return store.TableKey{Account: ch.Account, Region: ch.Region, Name: ch.Name}
}

// channels is the channel storage, or the error that says there is none.
func (s *Service) channels() (store.Resources, error) {
	if s.cfg.Channels == nil {
		return nil, Errorf(ErrInvalidArgument, "Channels are not available on this server: it has no storage for them.")
	}
	return s.cfg.Channels, nil
}

// settleChannel applies a transition whose time has come. It reports
// whether ch changed and whether the channel still exists.
func settleChannel(ch *model.Channel, now time.Time) (changed, alive bool) {
	until := ch.Delivery.StatusUntil
	if until.IsZero() || now.Before(until) {
		return false, true
	}
	if ch.Status == api.ChannelStatusDeleting {
		return true, false
	}
	ch.Status = api.ChannelStatusActive
	ch.Delivery.Status = model.StatusActive
	ch.Delivery.StatusUntil = time.Time{}
	return true, true
}

func decodeChannel(raw []byte) (*model.Channel, *channelConfig, error) {
	var ch model.Channel
	if err := json.Unmarshal(raw, &ch); err != nil {
		return nil, nil, err
	}
	var cfg channelConfig
	if err := json.Unmarshal(ch.Request, &cfg); err != nil {
		return nil, nil, err
	}
	return &ch, &cfg, nil
}

func encodeChannel(ch *model.Channel, cfg *channelConfig) ([]byte, error) {
	req, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	ch.Request = req
	return json.Marshal(ch)
}

// getChannel reads a channel as it is now, writing back a due transition
// (a finished deletion removes the record) by whichever process looks
// first.
func (s *Service) getChannel(ctx context.Context, res store.Resources, k store.TableKey) (*model.Channel, *channelConfig, store.Revision, error) {
	for attempt := 0; ; attempt++ {
		raw, rev, err := res.GetResource(ctx, store.KindChannel, k)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, 0, channelNotFound(k)
		}
		if err != nil {
			return nil, nil, 0, err
		}
		ch, cfg, err := decodeChannel(raw)
		if err != nil {
			return nil, nil, 0, err
		}
		changed, alive := settleChannel(ch, s.now())
		if !changed {
			return ch, cfg, rev, nil
		}
		if !alive {
			err := res.DeleteResource(ctx, store.KindChannel, k, rev)
			if errors.Is(err, store.ErrConflict) && attempt < 20 {
				continue
			}
			if err != nil {
				return nil, nil, 0, err
			}
			return nil, nil, 0, channelNotFound(k)
		}
		b, err := encodeChannel(ch, cfg)
		if err != nil {
			return nil, nil, 0, err
		}
		nrev, err := res.PutResource(ctx, store.KindChannel, k, b, rev)
		switch {
		case errors.Is(err, store.ErrConflict) && attempt < 20:
			continue
		case errors.Is(err, store.ErrFull):
			// Readers go on with the settled view; a later read writes it.
			return ch, cfg, rev, nil
		case err != nil:
			return nil, nil, 0, err
		}
		return ch, cfg, nrev, nil
	}
}

// updateChannelRecord runs fn on the current channel and writes it back by
// CAS, retrying when another writer got there first.
func (s *Service) updateChannelRecord(ctx context.Context, res store.Resources, k store.TableKey,
	fn func(ch *model.Channel, cfg *channelConfig) error) (*model.Channel, *channelConfig, error) {
	for attempt := 0; ; attempt++ {
		ch, cfg, rev, err := s.getChannel(ctx, res, k)
		if err != nil {
			return nil, nil, err
		}
		if err := fn(ch, cfg); err != nil {
			return nil, nil, err
		}
		b, err := encodeChannel(ch, cfg)
		if err != nil {
			return nil, nil, err
		}
		_, err = res.PutResource(ctx, store.KindChannel, k, b, rev)
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return ch, cfg, nil
	}
}

// delivery is what the engine runs for a channel: a Kinesis-sourced
// ExtendedS3 delivery. StorageClass, both ExpectedBucketOwners, the
// dead-letter bucket (errors go to the destination bucket under
// ErrorOutputPrefix), RecordFormatType and GSRSchemaARN have no
// equivalent there and are only echoed.
func channelDelivery(ch *model.Channel, cfg *channelConfig) model.DeliveryStream {
	d := ch.Delivery
	d.Account, d.Region, d.Name, d.ID = ch.Account, ch.Region, ch.Name, ch.ID
	d.Type = model.TypeKinesisSource
	d.Created, d.Updated = ch.Created, ch.Updated
	d.DestinationID = channelDestinationID
	role := ch.RoleARN
	d.Source = &model.KinesisStreamSourceConfiguration{KinesisStreamARN: ptr(ch.StreamARN), RoleARN: &role}
	sc := cfg.S3.StorageConfiguration
	x := &model.ExtendedS3DestinationConfiguration{
		RoleARN:   &role,
		BucketARN: sc.BucketARN,
		Prefix:    ptr(model.Str(sc.OutputKeyTemplate)),
		BufferingHints: &model.BufferingHints{
			SizeInMBs:         ptr(int32(channelBufferMB)),
			IntervalInSeconds: ptr(int32(min(*cfg.S3.DataFreshnessInSeconds, math.MaxInt32))),
		},
		CompressionFormat:       "UNCOMPRESSED",
		EncryptionConfiguration: &model.EncryptionConfiguration{NoEncryptionConfig: "NoEncryption"},
		S3BackupMode:            "Disabled",
	}
	// The engine's encode names; ZSTD is not a Firehose format, the
	// encoder has it for channels only. (Spelled out: importing encode
	// would pull Parquet into this package.)
	switch model.Str(sc.CompressionType) {
	case api.S3CompressionGZIP:
		x.CompressionFormat = "GZIP"
	case api.S3CompressionZSTD:
		x.CompressionFormat = "ZSTD"
	}
	if dlq := cfg.S3.DeadLetterQueueS3Configuration; dlq != nil && dlq.ErrorOutputPrefix != nil {
		x.ErrorOutputPrefix = ptr(*dlq.ErrorOutputPrefix)
	}
	if e := cfg.Encryption; e != nil {
		x.EncryptionConfiguration = &model.EncryptionConfiguration{KMSEncryptionConfig: &model.KMSEncryptionConfig{AWSKMSKeyARN: ptr(model.Str(e.KeyId))}}
	}
	if cw := cfg.Logging.CloudWatchLogs; cw != nil {
		x.CloudWatchLoggingOptions = &model.CloudWatchLoggingOptions{Enabled: cw.Enabled, LogGroupName: cw.LogGroupName, LogStreamName: cw.LogStreamName}
	}
	d.Destination = model.Destination{ExtendedS3: x}
	return d
}

func describeChannel(ch *model.Channel, cfg *channelConfig) api.ChannelDescription {
	s3 := cfg.S3
	return api.ChannelDescription{
		ChannelARN: ChannelARN(channelKey(ch)), ChannelName: ch.Name, ChannelId: ch.ID, ChannelStatus: ch.Status,
		ChannelCreationTimestamp: *api.NewTime(ch.Created), ServiceExecutionRoleARN: ch.RoleARN,
		StreamConfigurationList: cfg.Streams, S3DestinationConfiguration: &s3,
		EncryptionConfiguration: cfg.Encryption, LoggingConfiguration: cfg.Logging,
	}
}

func summarizeChannel(ch *model.Channel, cfg *channelConfig) api.ChannelSummary {
	out := api.ChannelSummary{
		ChannelARN: ChannelARN(channelKey(ch)), ChannelName: ch.Name, ChannelId: ch.ID, ChannelStatus: ch.Status,
		ChannelCreationTimestamp: *api.NewTime(ch.Created), ChannelDestinationType: api.ChannelDestinationS3,
		Streams: make([]api.ChannelStreamIdentifier, len(cfg.Streams)),
	}
	for i, st := range cfg.Streams {
		out.Streams[i] = api.ChannelStreamIdentifier{StreamARN: st.StreamARN, StreamCreationTimestamp: st.StreamCreationTimestamp}
	}
	return out
}

// Validation, in the shape validate.go gives AWS's messages.

func (v *validator) bucket(path string, b *api.DeadLetterQueueS3Configuration) {
	if b == nil {
		return
	}
	v.str(path+".bucketARN", b.BucketARN, true, vBucketARN)
	v.str(path+".expectedBucketOwner", b.ExpectedBucketOwner, true, vBucketOwner)
	v.str(path+".errorOutputPrefix", b.ErrorOutputPrefix, false, vErrorOutputPrefix)
}

func (v *validator) cloudWatchLogs(path string, l *api.ChannelLoggingConfiguration) {
	if l == nil {
		return
	}
	if l.CloudWatchLogs == nil {
		v.null(path + ".cloudWatchLogs")
		return
	}
	if l.CloudWatchLogs.Enabled == nil {
		v.null(path + ".cloudWatchLogs.enabled")
	}
	v.str(path+".cloudWatchLogs.logGroupName", l.CloudWatchLogs.LogGroupName, false, vLogGroupName)
	v.str(path+".cloudWatchLogs.logStreamName", l.CloudWatchLogs.LogStreamName, false, vLogStreamName)
}

func validateCreateChannel(in *api.CreateChannelInput) error {
	var v validator
	v.str("channelName", in.ChannelName, true, vChannelName)
	v.str("serviceExecutionRoleARN", in.ServiceExecutionRoleARN, true, vRoleARN)
	if in.StreamConfigurationList == nil {
		v.null("streamConfigurationList")
	} else {
		v.listLen("streamConfigurationList", len(in.StreamConfigurationList), 1, 10000, func() string {
			return vListString(nil)
		})
		for i := range in.StreamConfigurationList {
			if len(v.errs) >= vMaxErrors {
				break
			}
			c := &in.StreamConfigurationList[i]
			p := "streamConfigurationList." + strconv.Itoa(i+1) + ".member."
			v.str(p+"streamARN", c.StreamARN, true, vStreamARN)
			if c.RecordConfiguration == nil {
				v.null(p + "recordConfiguration")
			} else {
				v.str(p+"recordConfiguration.recordFormatType", c.RecordConfiguration.RecordFormatType, true, vRecordFormat)
				v.str(p+"recordConfiguration.gSRSchemaARN", c.RecordConfiguration.GSRSchemaARN, false, vGSRSchemaARN)
			}
		}
	}
	if d := in.S3DestinationConfiguration; d != nil {
		if sc := d.StorageConfiguration; sc == nil {
			v.null("s3DestinationConfiguration.storageConfiguration")
		} else {
			p := "s3DestinationConfiguration.storageConfiguration."
			v.str(p+"bucketARN", sc.BucketARN, true, vBucketARN)
			v.str(p+"compressionType", sc.CompressionType, true, vS3Compression)
			v.str(p+"expectedBucketOwner", sc.ExpectedBucketOwner, true, vBucketOwner)
			v.str(p+"outputKeyTemplate", sc.OutputKeyTemplate, false, vOutputKeyTemplate)
			v.str(p+"storageClass", sc.StorageClass, false, vStorageClass)
		}
		v.bucket("s3DestinationConfiguration.deadLetterQueueS3Configuration", d.DeadLetterQueueS3Configuration)
	}
	if e := in.EncryptionConfiguration; e != nil {
		v.str("encryptionConfiguration.encryptionType", e.EncryptionType, true, vChannelEnc)
		v.str("encryptionConfiguration.keyId", e.KeyId, true, vChannelKeyID)
	}
	if in.Tags != nil {
		v.tags(in.Tags)
	}
	v.cloudWatchLogs("loggingConfiguration", in.LoggingConfiguration)
	return v.err()
}

func validateUpdateChannel(in *api.UpdateChannelInput) error {
	var v validator
	v.str("channelARN", in.ChannelARN, true, vChannelARN)
	if d := in.S3DestinationConfiguration; d != nil && d.DataFreshnessInSeconds == nil {
		v.null("s3DestinationConfiguration.dataFreshnessInSeconds")
	}
	if d := in.S3TablesDestinationConfiguration; d != nil && d.DataFreshnessInSeconds == nil {
		v.null("s3TablesDestinationConfiguration.dataFreshnessInSeconds")
	}
	v.cloudWatchLogs("loggingConfiguration", in.LoggingConfiguration)
	return v.err()
}

func validateListChannels(in *api.ListChannelsInput) error {
	var v validator
	v.num("maxResults", in.MaxResults, false, vBetween(1, 10000))
	v.str("nextToken", in.NextToken, false, vNextToken)
	if in.StreamFilter != nil {
		v.listLen("streamFilter", len(in.StreamFilter), 1, 10000, func() string { return vListString(nil) })
		for i := range in.StreamFilter {
			if len(v.errs) >= vMaxErrors {
				break
			}
			v.str("streamFilter."+strconv.Itoa(i+1)+".member.streamARN", in.StreamFilter[i].StreamARN, true, vStreamARN)
		}
	}
	return v.err()
}

func validateChannelARN(arn *string) (store.TableKey, error) {
	var v validator
	v.str("channelARN", arn, true, vChannelARN)
	if err := v.err(); err != nil {
		return store.TableKey{}, err
	}
	k, ok := parseChannelARN(*arn)
	if !ok {
		return store.TableKey{}, Errorf(ErrInvalidArgument, "ChannelARN %s is invalid.", *arn)
	}
	return k, nil
}

// checkFreshness is the business rule on DataFreshnessInSeconds, which the
// model leaves unbounded.
func checkFreshness(n *int64) error {
	if n != nil && *n < 1 {
		return Errorf(ErrInvalidArgument, "DataFreshnessInSeconds must be at least 1 second, not %d.", *n)
	}
	return nil
}

// checkChannelDestination applies CreateChannel's rules on the destination
// that validation leaves to the service.
func checkChannelDestination(in *api.CreateChannelInput) error {
	if (in.S3DestinationConfiguration == nil) == (in.S3TablesDestinationConfiguration == nil) {
		return Errorf(ErrInvalidArgument, "Either S3DestinationConfiguration or S3TablesDestinationConfiguration must be specified, but not both.")
	}
	if in.S3TablesDestinationConfiguration != nil {
		return Errorf(ErrInvalidArgument, "Rivulet does not support S3 Tables (Apache Iceberg) destinations; "+
			"use S3DestinationConfiguration to deliver to a general purpose Amazon S3 bucket.")
	}
	if len(in.StreamConfigurationList) != 1 {
		return Errorf(ErrInvalidArgument, "Currently, one stream is supported per channel; StreamConfigurationList has %d.", len(in.StreamConfigurationList))
	}
	if f := *in.StreamConfigurationList[0].RecordConfiguration.RecordFormatType; f == api.RecordFormatGSRJSON {
		return Errorf(ErrInvalidArgument, "RecordFormatType %s is supported only for S3 Tables destinations.", f)
	}
	d := in.S3DestinationConfiguration
	sc := d.StorageConfiguration
	if t := sc.OutputKeyTemplate; t != nil {
		if _, err := prefix.Parse(*t, prefix.KindPrefix); err != nil {
			return Errorf(ErrInvalidArgument, "OutputKeyTemplate %s is not supported: %v", *t, err)
		}
	}
	return checkFreshness(d.DataFreshnessInSeconds)
}

// checkChannelKey resolves the channel's customer managed key; AWS refuses
// the Kinesis service key.
func (s *Service) checkChannelKey(ctx context.Context, e *api.ChannelEncryptionConfiguration, k store.TableKey) error {
	if e == nil {
		return nil
	}
	master, err := s.keys.Resolve(ctx, *e.KeyId, k.Region, k.Account)
	if err == nil {
		err = master.Usable(k.Region, k.Account)
	}
	if err != nil {
		return kmsError(err)
	}
	def, err := s.keys.Resolve(ctx, kms.DefaultAlias, k.Region, k.Account)
	if err != nil {
		return kmsError(err)
	}
	if master.ID == def.ID {
		return Errorf(ErrInvalidArgument, "KeyId %s is the Amazon Kinesis Data Streams service key (%s); a channel needs a customer managed key.",
			*e.KeyId, kms.DefaultAlias)
	}
	return nil
}

// CreateChannel creates a channel from an ON_DEMAND stream to an S3
// bucket, CREATING for Config.CreateDelay.
func (s *Service) CreateChannel(ctx context.Context, in *api.CreateChannelInput) (*api.CreateChannelOutput, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	if err := validateCreateChannel(in); err != nil {
		return nil, err
	}
	if err := checkChannelDestination(in); err != nil {
		return nil, err
	}
	c := CallerFrom(ctx)
	k := store.TableKey{Account: c.Account, Region: c.Region, Name: *in.ChannelName}
	if len(in.Tags) > maxTags {
		return nil, Errorf(ErrInvalidArgument, "Failed to create channel %s under account %s because a given channel cannot have more than %d tags associated with it.",
			k.Name, k.Account, maxTags)
	}
	if err := checkTagText(in.Tags); err != nil {
		return nil, err
	}
	if err := s.checkChannelKey(ctx, in.EncryptionConfiguration, k); err != nil {
		return nil, err
	}
	src := in.StreamConfigurationList[0]
	sk, ok := parseStreamARN(*src.StreamARN)
	if !ok {
		return nil, Errorf(ErrInvalidArgument, "StreamARN %s is invalid.", *src.StreamARN)
	}
	st, _, err := s.load(ctx, sk)
	if err != nil {
		return nil, err
	}
	if st.Status != api.StatusActive && st.Status != api.StatusUpdating {
		return nil, notActive(st)
	}
	if st.Mode != api.ModeOnDemand {
		return nil, Errorf(ErrValidation, "Request is invalid. Stream %s under account %s is in Provisioned mode; channels need an On-Demand stream.",
			sk.Name, sk.Account)
	}

	now := s.now()
	d := in.S3DestinationConfiguration
	cfg := &channelConfig{
		Streams: []api.ChannelStreamDescription{{
			StreamARN: StreamARN(sk), StreamCreationTimestamp: *api.NewTime(st.Created),
			RecordConfiguration: *src.RecordConfiguration,
		}},
		S3: api.S3DestinationConfiguration{
			StorageConfiguration:           d.StorageConfiguration,
			DataFreshnessInSeconds:         d.DataFreshnessInSeconds,
			DeadLetterQueueS3Configuration: d.DeadLetterQueueS3Configuration,
		},
		Encryption: in.EncryptionConfiguration,
		Logging:    api.ChannelLoggingConfiguration{CloudWatchLogs: &api.CloudWatchLogs{Enabled: ptr(false)}},
	}
	if cfg.S3.DataFreshnessInSeconds == nil {
		cfg.S3.DataFreshnessInSeconds = ptr(int64(defaultDataFreshness))
	}
	if cfg.S3.DeadLetterQueueS3Configuration == nil {
		// AWS's default: the destination bucket, with an error prefix.
		sc := d.StorageConfiguration
		cfg.S3.DeadLetterQueueS3Configuration = &api.DeadLetterQueueS3Configuration{BucketARN: sc.BucketARN, ExpectedBucketOwner: sc.ExpectedBucketOwner}
	}
	if in.LoggingConfiguration != nil {
		cfg.Logging = *in.LoggingConfiguration
	}
	ch := &model.Channel{
		Account: k.Account, Region: k.Region, Name: k.Name, ID: newStreamID(),
		Status: api.ChannelStatusActive, Created: now.Truncate(time.Millisecond), Updated: now,
		StreamARN: StreamARN(sk), RoleARN: *in.ServiceExecutionRoleARN,
	}
	if len(in.Tags) > 0 {
		ch.Tags = in.Tags
	}
	ch.Delivery = model.DeliveryStream{VersionID: 1, Status: model.StatusActive}
	if dl := s.cfg.CreateDelay; dl > 0 {
		ch.Status, ch.Delivery.Status, ch.Delivery.StatusUntil = api.ChannelStatusCreating, model.StatusCreating, now.Add(dl)
	}
	ch.Delivery = channelDelivery(ch, cfg)
	b, err := encodeChannel(ch, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := res.PutResource(ctx, store.KindChannel, k, b, 0); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, Errorf(ErrResourceInUse, "Channel %s under account %s already exists.", k.Name, k.Account)
		}
		return nil, err
	}
	return &api.CreateChannelOutput{ChannelDescription: describeChannel(ch, cfg)}, nil
}

// DescribeChannel describes one channel.
func (s *Service) DescribeChannel(ctx context.Context, in *api.DescribeChannelInput) (*api.DescribeChannelOutput, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	k, err := validateChannelARN(in.ChannelARN)
	if err != nil {
		return nil, err
	}
	ch, cfg, _, err := s.getChannel(ctx, res, k)
	if err != nil {
		return nil, err
	}
	return &api.DescribeChannelOutput{ChannelDescription: describeChannel(ch, cfg)}, nil
}

// UpdateChannel changes DataFreshnessInSeconds or the logging settings;
// the channel is UPDATING for Config.ReshardDelay, and the engine runs
// the new version (VersionID) from then on.
func (s *Service) UpdateChannel(ctx context.Context, in *api.UpdateChannelInput) (*api.UpdateChannelOutput, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	if err := validateUpdateChannel(in); err != nil {
		return nil, err
	}
	k, err := validateChannelARN(in.ChannelARN)
	if err != nil {
		return nil, err
	}
	if in.S3DestinationConfiguration == nil && in.S3TablesDestinationConfiguration == nil && in.LoggingConfiguration == nil {
		return nil, Errorf(ErrInvalidArgument, "At least one of S3DestinationConfiguration, S3TablesDestinationConfiguration or LoggingConfiguration must be specified.")
	}
	if d := in.S3DestinationConfiguration; d != nil {
		if err := checkFreshness(d.DataFreshnessInSeconds); err != nil {
			return nil, err
		}
	}
	ch, cfg, err := s.updateChannelRecord(ctx, res, k, func(ch *model.Channel, cfg *channelConfig) error {
		if ch.Status != api.ChannelStatusActive {
			return channelNotActive(ch)
		}
		if in.S3TablesDestinationConfiguration != nil {
			return Errorf(ErrInvalidArgument, "Channel %s under account %s delivers to a general purpose Amazon S3 bucket; "+
				"update it with S3DestinationConfiguration.", ch.Name, ch.Account)
		}
		if d := in.S3DestinationConfiguration; d != nil {
			cfg.S3.DataFreshnessInSeconds = ptr(*d.DataFreshnessInSeconds)
		}
		if l := in.LoggingConfiguration; l != nil {
			cfg.Logging = *l
		}
		now := s.now()
		ch.Updated = now
		ch.Delivery.VersionID++
		if dl := s.cfg.ReshardDelay; dl > 0 {
			// The engine stops at UPDATING and runs the new version at
			// ACTIVE, as AWS applies the change.
			ch.Status, ch.Delivery.StatusUntil = api.ChannelStatusUpdating, now.Add(dl)
		}
		ch.Delivery = channelDelivery(ch, cfg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UpdateChannelOutput{ChannelDescription: describeChannel(ch, cfg)}, nil
}

// DeleteChannel marks a channel DELETING (the engine stops running it);
// the record is gone after Config.DeleteDelay. Deleting a DELETING
// channel again is harmless.
func (s *Service) DeleteChannel(ctx context.Context, in *api.DeleteChannelInput) (*api.DeleteChannelOutput, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	k, err := validateChannelARN(in.ChannelARN)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		ch, cfg, rev, err := s.getChannel(ctx, res, k)
		if err != nil {
			return nil, err
		}
		if ch.Status == api.ChannelStatusDeleting {
			return &api.DeleteChannelOutput{}, nil
		}
		now := s.now()
		if s.cfg.DeleteDelay > 0 {
			ch.Status, ch.Updated = api.ChannelStatusDeleting, now
			ch.Delivery.Status, ch.Delivery.StatusUntil = model.StatusDeleting, now.Add(s.cfg.DeleteDelay)
			var b []byte
			if b, err = encodeChannel(ch, cfg); err != nil {
				return nil, err
			}
			_, err = res.PutResource(ctx, store.KindChannel, k, b, rev)
		} else {
			err = res.DeleteResource(ctx, store.KindChannel, k, rev)
		}
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &api.DeleteChannelOutput{}, nil
	}
}

// channelMatches reports whether a channel's source passes ListChannels'
// StreamFilter (any of its entries).
func channelMatches(cfg *channelConfig, filter []api.StreamFilter) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		for _, st := range cfg.Streams {
			if *f.StreamARN == st.StreamARN &&
				(f.StreamCreationTimestamp == nil || f.StreamCreationTimestamp.UnixMilli() == st.StreamCreationTimestamp.UnixMilli()) {
				return true
			}
		}
	}
	return false
}

// ListChannels pages through the caller's channels in name order.
func (s *Service) ListChannels(ctx context.Context, in *api.ListChannelsInput) (*api.ListChannelsOutput, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	if err := validateListChannels(in); err != nil {
		return nil, err
	}
	c := CallerFrom(ctx)
	after := ""
	if in.NextToken != nil {
		t, err := s.decodeToken(ctx, "channels", *in.NextToken)
		if err != nil {
			return nil, err
		}
		if t.Account != c.Account || t.Region != c.Region {
			return nil, Errorf(ErrInvalidArgument, "Invalid NextToken.")
		}
		after = t.After
	}
	limit := defaultChannelPage
	if in.MaxResults != nil {
		limit = min(int(*in.MaxResults), defaultChannelPage)
	}
	keys, err := res.ListResources(ctx, store.KindChannel, c.Account, c.Region)
	if err != nil {
		return nil, err
	}
	out := &api.ListChannelsOutput{ChannelSummaries: []api.ChannelSummary{}}
	more := false
	for _, k := range keys {
		if k.Name <= after {
			continue
		}
		ch, cfg, _, err := s.getChannel(ctx, res, k)
		if errors.Is(err, ErrResourceNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if !channelMatches(cfg, in.StreamFilter) {
			continue
		}
		if len(out.ChannelSummaries) == limit {
			more = true
			break
		}
		out.ChannelSummaries = append(out.ChannelSummaries, summarizeChannel(ch, cfg))
	}
	if more {
		tok, err := s.encodeToken(ctx, pageToken{Kind: "channels", Account: c.Account, Region: c.Region,
			After: out.ChannelSummaries[len(out.ChannelSummaries)-1].ChannelName})
		if err != nil {
			return nil, err
		}
		out.NextToken = &tok
	}
	return out, nil
}

// streamChannels counts the channels, whatever their status, that read
// stream k as created at created (not an older stream of the same name).
func (s *Service) streamChannels(ctx context.Context, k store.StreamKey, created time.Time) (int, error) {
	res := s.cfg.Channels
	if res == nil {
		return 0, nil
	}
	keys, err := res.ListResources(ctx, store.KindChannel, k.Account, k.Region)
	if err != nil {
		return 0, err
	}
	arn, ms := StreamARN(k), created.UnixMilli()
	n := 0
	for _, ck := range keys {
		_, cfg, _, err := s.getChannel(ctx, res, ck)
		if errors.Is(err, ErrResourceNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, err
		}
		for _, st := range cfg.Streams {
			if st.StreamARN == arn && st.StreamCreationTimestamp.UnixMilli() == ms {
				n++
				break
			}
		}
	}
	return n, nil
}

// channelsExist is DeleteStream's refusal; AWS documents the rule but not
// the message.
func channelsExist(k store.StreamKey) error {
	return Errorf(ErrResourceInUse, "DeleteStream can't delete %s because there are channels associated with this data stream. "+
		"Delete them with DeleteChannel first; ListChannels with a StreamFilter finds them.", StreamARN(k))
}

// Tags of channels, for TagResource, UntagResource and
// ListTagsForResource with a channel ARN.

func (s *Service) tagChannel(ctx context.Context, k store.TableKey, tags map[string]string) error {
	res, err := s.channels()
	if err != nil {
		return err
	}
	if err := checkTagText(tags); err != nil {
		return err
	}
	_, _, err = s.updateChannelRecord(ctx, res, k, func(ch *model.Channel, _ *channelConfig) error {
		merged := make(map[string]string, len(ch.Tags)+len(tags))
		for key, v := range ch.Tags {
			merged[key] = v
		}
		for key, v := range tags {
			merged[key] = v
		}
		if len(merged) > maxTags {
			return Errorf(ErrInvalidArgument, "Failed to add tags to channel %s under account %s because a given channel cannot have more than %d tags associated with it.",
				k.Name, k.Account, maxTags)
		}
		ch.Tags = merged
		return nil
	})
	return err
}

func (s *Service) untagChannel(ctx context.Context, k store.TableKey, keys []string) error {
	res, err := s.channels()
	if err != nil {
		return err
	}
	_, _, err = s.updateChannelRecord(ctx, res, k, func(ch *model.Channel, _ *channelConfig) error {
		for _, key := range keys {
			delete(ch.Tags, key)
		}
		if len(ch.Tags) == 0 {
			ch.Tags = nil
		}
		return nil
	})
	return err
}

func (s *Service) channelTags(ctx context.Context, k store.TableKey) ([]api.Tag, error) {
	res, err := s.channels()
	if err != nil {
		return nil, err
	}
	ch, _, _, err := s.getChannel(ctx, res, k)
	if err != nil {
		return nil, err
	}
	return sortedTags(ch.Tags), nil
}

// authorizeChannel asks the Authorizer about the channel an input names
// (CreateChannel's by its name in the caller's namespace). Inputs too
// malformed to name one go on to the operation's validation.
func (s *Service) authorizeChannel(ctx context.Context, action string, in any) error {
	var k store.TableKey
	switch v := in.(type) {
	case *api.CreateChannelInput:
		if v.ChannelName == nil || !validName(*v.ChannelName) {
			return nil
		}
		c := CallerFrom(ctx)
		k = store.TableKey{Account: c.Account, Region: c.Region, Name: *v.ChannelName}
	default:
		var arn *string
		switch v := in.(type) {
		case *api.DescribeChannelInput:
			arn = v.ChannelARN
		case *api.UpdateChannelInput:
			arn = v.ChannelARN
		case *api.DeleteChannelInput:
			arn = v.ChannelARN
		}
		var ok bool
		if arn == nil {
			return nil
		}
		if k, ok = parseChannelARN(*arn); !ok {
			return nil
		}
	}
	return s.authorizeChannelKey(ctx, action, k)
}

// authorizeChannelKey asks the Authorizer about channel k, with its tags
// when it exists.
func (s *Service) authorizeChannelKey(ctx context.Context, action string, k store.TableKey) error {
	var about Resource
	if res := s.cfg.Channels; res != nil {
		if raw, _, err := res.GetResource(ctx, store.KindChannel, k); err == nil {
			if ch, _, err := decodeChannel(raw); err == nil {
				about.Tags = ch.Tags
				if about.Tags == nil {
					about.Tags = map[string]string{}
				}
			}
		}
	}
	return s.cfg.Authorizer.Authorize(ctx, CallerFrom(ctx), action, ChannelARN(k), about)
}
