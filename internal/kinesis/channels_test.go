package kinesis

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/delivery/encode"
	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

const (
	testAccount    = "000000000000"
	testRole       = "arn:aws:iam::123456789012:role/delivery"
	testBucket     = "arn:aws:s3:::dest-bucket"
	testDLQBucket  = "arn:aws:s3:::dlq-bucket"
	testChannelARN = "arn:aws:kinesis:us-east-1:000000000000:channel/"
)

// newChannelService is a service with channel storage on its backend and
// one-second transitions on a test clock; cfg may adjust the config.
func newChannelService(t *testing.T, cfg func(*Config)) (*Service, *clock, store.Resources) {
	t.Helper()
	return channelServiceOn(t, openBackend(t), cfg)
}

func channelServiceOn(tb testing.TB, be store.Backend, cfg func(*Config)) (*Service, *clock, store.Resources) {
	tb.Helper()
	c := &clock{t: time.Now()}
	res, ok := be.(store.Resources)
	if !ok {
		tb.Fatalf("%T does not implement store.Resources", be)
	}
	ring, err := kms.New(testKeys(tb, true, false), be)
	if err != nil {
		tb.Fatal(err)
	}
	conf := Config{CreateDelay: time.Second, DeleteDelay: time.Second, ReshardDelay: time.Second, ShardLimit: 50,
		Now: c.Now, Channels: res, KMS: ring}
	if cfg != nil {
		cfg(&conf)
	}
	s := New(be, conf)
	tb.Cleanup(s.Close)
	return s, c, res
}

// onDemand creates an ACTIVE ON_DEMAND stream.
func onDemand(t testing.TB, s *Service, c *clock, name string) {
	t.Helper()
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: &name,
		StreamModeDetails: &api.StreamModeDetails{StreamMode: ptr(api.ModeOnDemand)}}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
}

// minimalChannel is the smallest valid CreateChannel input.
func minimalChannel(name, stream string) *api.CreateChannelInput {
	return &api.CreateChannelInput{
		ChannelName:             &name,
		ServiceExecutionRoleARN: ptr(testRole),
		StreamConfigurationList: []api.ChannelStreamConfiguration{{
			StreamARN:           ptr(testStreamARN + stream),
			RecordConfiguration: &api.RecordConfiguration{RecordFormatType: ptr(api.RecordFormatJSON)},
		}},
		S3DestinationConfiguration: &api.S3DestinationConfiguration{StorageConfiguration: &api.S3StorageConfiguration{
			BucketARN: ptr(testBucket), CompressionType: ptr(api.S3CompressionNone), ExpectedBucketOwner: ptr("123456789012"),
		}},
	}
}

// fullChannel sets every member CreateChannel takes for an S3 destination.
func fullChannel(name, stream string) *api.CreateChannelInput {
	in := minimalChannel(name, stream)
	in.StreamConfigurationList[0].RecordConfiguration.GSRSchemaARN = ptr("arn:aws:glue:us-east-1:123456789012:schema/reg/orders")
	in.S3DestinationConfiguration = &api.S3DestinationConfiguration{
		StorageConfiguration: &api.S3StorageConfiguration{
			BucketARN: ptr(testBucket), CompressionType: ptr(api.S3CompressionGZIP), ExpectedBucketOwner: ptr("123456789012"),
			OutputKeyTemplate: ptr("orders/!{timestamp:yyyy/MM/dd}/"), StorageClass: ptr("INTELLIGENT_TIERING"),
		},
		DataFreshnessInSeconds: ptr(int64(60)),
		DeadLetterQueueS3Configuration: &api.DeadLetterQueueS3Configuration{
			BucketARN: ptr(testDLQBucket), ExpectedBucketOwner: ptr("210987654321"), ErrorOutputPrefix: ptr("errors/"),
		},
	}
	in.EncryptionConfiguration = &api.ChannelEncryptionConfiguration{EncryptionType: ptr(api.EncryptionKMS), KeyId: ptr("alias/on")}
	in.LoggingConfiguration = &api.ChannelLoggingConfiguration{CloudWatchLogs: &api.CloudWatchLogs{
		Enabled: ptr(true), LogGroupName: ptr("/aws/kinesis/orders"), LogStreamName: ptr("DestinationDelivery"),
	}}
	in.Tags = map[string]string{"team": "data", "env": "test"}
	return in
}

// stored reads a channel's record as the delivery engine does.
func stored(t *testing.T, res store.Resources, name string) (*model.Channel, bool) {
	t.Helper()
	raw, _, err := res.GetResource(ctx, store.KindChannel, store.TableKey{Account: testAccount, Region: "us-east-1", Name: name})
	if err != nil {
		return nil, false
	}
	var ch model.Channel
	if err := json.Unmarshal(raw, &ch); err != nil {
		t.Fatal(err)
	}
	return &ch, true
}

// jsonOf is v as the JSON wire shows it.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func describeCh(t *testing.T, s *Service, name string) api.ChannelDescription {
	t.Helper()
	out, err := s.DescribeChannel(ctx, &api.DescribeChannelInput{ChannelARN: ptr(testChannelARN + name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.ChannelDescription
}

func TestChannelLifecycle(t *testing.T) {
	s, c, res := newChannelService(t, nil)
	onDemand(t, s, c, "orders")
	streamCreated := c.Now().Add(-time.Second).Truncate(time.Millisecond)
	in := fullChannel("orders-s3", "orders")
	created := c.Now()
	out, err := s.CreateChannel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	d := out.ChannelDescription
	want := api.ChannelDescription{
		ChannelARN: testChannelARN + "orders-s3", ChannelName: "orders-s3", ChannelId: d.ChannelId,
		ChannelStatus: api.ChannelStatusCreating, ChannelCreationTimestamp: *api.NewTime(created),
		ServiceExecutionRoleARN: testRole,
		StreamConfigurationList: []api.ChannelStreamDescription{{StreamARN: testStreamARN + "orders",
			StreamCreationTimestamp: *api.NewTime(streamCreated), RecordConfiguration: *in.StreamConfigurationList[0].RecordConfiguration}},
		S3DestinationConfiguration: in.S3DestinationConfiguration,
		EncryptionConfiguration:    in.EncryptionConfiguration,
		LoggingConfiguration:       *in.LoggingConfiguration,
	}
	if d.ChannelId == "" || jsonOf(t, d) != jsonOf(t, want) {
		t.Fatalf("created\n got %s\nwant %s", jsonOf(t, d), jsonOf(t, want))
	}
	if got := describeCh(t, s, "orders-s3"); jsonOf(t, got) != jsonOf(t, want) {
		t.Fatalf("described\n got %s\nwant %s", jsonOf(t, got), jsonOf(t, want))
	}
	_, err = s.CreateChannel(ctx, minimalChannel("orders-s3", "orders"))
	wantErr(t, err, ErrResourceInUse, "Channel orders-s3 under account 000000000000 already exists.")

	// The stored record is what the engine runs.
	ch, _ := stored(t, res, "orders-s3")
	x := ch.Delivery.Destination.ExtendedS3
	if ch.Status != api.ChannelStatusCreating || ch.ID != d.ChannelId || ch.StreamARN != testStreamARN+"orders" || ch.RoleARN != testRole ||
		!reflect.DeepEqual(ch.Tags, in.Tags) {
		t.Fatalf("stored channel %+v", ch)
	}
	ds := ch.Delivery
	if ds.Type != model.TypeKinesisSource || ds.ID != ch.ID || ds.Name != "orders-s3" || ds.VersionID != 1 ||
		ds.DestinationID != "destinationId-000000000001" || *ds.Source.KinesisStreamARN != testStreamARN+"orders" ||
		*ds.Source.RoleARN != testRole || ds.Status != model.StatusCreating {
		t.Fatalf("stored delivery %+v", ds)
	}
	if *x.BucketARN != testBucket || *x.Prefix != "orders/!{timestamp:yyyy/MM/dd}/" || *x.ErrorOutputPrefix != "errors/" ||
		x.CompressionFormat != "GZIP" || *x.BufferingHints.IntervalInSeconds != 60 || *x.BufferingHints.SizeInMBs != 5 ||
		*x.RoleARN != testRole || *x.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN != "alias/on" ||
		!*x.CloudWatchLoggingOptions.Enabled || *x.CloudWatchLoggingOptions.LogGroupName != "/aws/kinesis/orders" ||
		x.S3BackupMode != "Disabled" {
		t.Fatalf("ExtendedS3 %+v", x)
	}

	c.Add(time.Second)
	if st := describeCh(t, s, "orders-s3").ChannelStatus; st != api.ChannelStatusActive {
		t.Fatalf("status %s after the delay, want ACTIVE", st)
	}
	if ch, _ := stored(t, res, "orders-s3"); ch.Status != api.ChannelStatusActive || ch.Delivery.Status != model.StatusActive ||
		!ch.Delivery.StatusUntil.IsZero() {
		t.Fatalf("ACTIVE not written back: %s / %s until %v", ch.Status, ch.Delivery.Status, ch.Delivery.StatusUntil)
	}

	// UpdateChannel: freshness and logging; UPDATING, then ACTIVE.
	logs := &api.ChannelLoggingConfiguration{CloudWatchLogs: &api.CloudWatchLogs{Enabled: ptr(false)}}
	up, err := s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3"),
		S3DestinationConfiguration: &api.DestinationUpdate{DataFreshnessInSeconds: ptr(int64(900))}, LoggingConfiguration: logs})
	if err != nil {
		t.Fatal(err)
	}
	u := up.ChannelDescription
	if u.ChannelStatus != api.ChannelStatusUpdating || *u.S3DestinationConfiguration.DataFreshnessInSeconds != 900 ||
		!reflect.DeepEqual(u.LoggingConfiguration, *logs) || *u.S3DestinationConfiguration.StorageConfiguration.StorageClass != "INTELLIGENT_TIERING" {
		t.Fatalf("updated %+v", u)
	}
	ch, _ = stored(t, res, "orders-s3")
	if ch.Status != api.ChannelStatusUpdating || ch.Delivery.VersionID != 2 || *ch.Delivery.Destination.ExtendedS3.BufferingHints.IntervalInSeconds != 900 ||
		*ch.Delivery.Destination.ExtendedS3.CloudWatchLoggingOptions.Enabled {
		t.Fatalf("stored after update %+v", ch)
	}
	_, err = s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3"),
		S3DestinationConfiguration: &api.DestinationUpdate{DataFreshnessInSeconds: ptr(int64(30))}})
	wantErr(t, err, ErrResourceInUse, "Channel orders-s3 under account 000000000000 not ACTIVE, instead in state UPDATING")
	c.Add(time.Second)
	if st := describeCh(t, s, "orders-s3").ChannelStatus; st != api.ChannelStatusActive {
		t.Fatalf("status %s after the update, want ACTIVE", st)
	}
	_, err = s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3"),
		S3TablesDestinationConfiguration: &api.DestinationUpdate{DataFreshnessInSeconds: ptr(int64(30))}})
	wantErr(t, err, ErrInvalidArgument, "")
	_, err = s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3")})
	wantErr(t, err, ErrInvalidArgument, "At least one of S3DestinationConfiguration, S3TablesDestinationConfiguration or LoggingConfiguration must be specified.")

	// DeleteChannel: DELETING, then gone.
	if _, err := s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3")}); err != nil {
		t.Fatal(err)
	}
	if st := describeCh(t, s, "orders-s3").ChannelStatus; st != api.ChannelStatusDeleting {
		t.Fatalf("status %s after delete, want DELETING", st)
	}
	if ch, _ := stored(t, res, "orders-s3"); ch.Status != api.ChannelStatusDeleting {
		t.Fatalf("stored status %s, the engine must see it stop", ch.Status)
	}
	if _, err := s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3")}); err != nil {
		t.Fatalf("second delete while DELETING: %v", err)
	}
	c.Add(time.Second)
	_, err = s.DescribeChannel(ctx, &api.DescribeChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3")})
	wantErr(t, err, ErrResourceNotFound, "Channel orders-s3 under account 000000000000 not found.")
	if _, ok := stored(t, res, "orders-s3"); ok {
		t.Fatal("the record outlived its deletion")
	}
	_, err = s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "orders-s3")})
	wantErr(t, err, ErrResourceNotFound, "Channel orders-s3 under account 000000000000 not found.")
	// The name is free again.
	if _, err := s.CreateChannel(ctx, minimalChannel("orders-s3", "orders")); err != nil {
		t.Fatal(err)
	}
}

func TestChannelDefaults(t *testing.T) {
	s, c, res := newChannelService(t, nil)
	onDemand(t, s, c, "src")
	out, err := s.CreateChannel(ctx, minimalChannel("plain", "src"))
	if err != nil {
		t.Fatal(err)
	}
	d := out.ChannelDescription
	wantS3 := &api.S3DestinationConfiguration{
		StorageConfiguration: &api.S3StorageConfiguration{
			BucketARN: ptr(testBucket), CompressionType: ptr(api.S3CompressionNone), ExpectedBucketOwner: ptr("123456789012"),
		},
		DataFreshnessInSeconds:         ptr(int64(300)),
		DeadLetterQueueS3Configuration: &api.DeadLetterQueueS3Configuration{BucketARN: ptr(testBucket), ExpectedBucketOwner: ptr("123456789012")},
	}
	if !reflect.DeepEqual(d.S3DestinationConfiguration, wantS3) || d.EncryptionConfiguration != nil ||
		*d.LoggingConfiguration.CloudWatchLogs.Enabled || d.LoggingConfiguration.CloudWatchLogs.LogGroupName != nil {
		t.Fatalf("defaults %+v %+v", d.S3DestinationConfiguration, d.LoggingConfiguration)
	}
	ch, _ := stored(t, res, "plain")
	x := ch.Delivery.Destination.ExtendedS3
	if x.CompressionFormat != "UNCOMPRESSED" || *x.Prefix != "" || x.ErrorOutputPrefix != nil || *x.BufferingHints.IntervalInSeconds != 300 ||
		x.EncryptionConfiguration.NoEncryptionConfig != "NoEncryption" || ch.Tags != nil {
		t.Fatalf("ExtendedS3 defaults %+v", x)
	}
}

// TestChannelImmediate: with no delays (rivulet's default) a channel is
// ACTIVE at once, so the engine runs it with no reader involved.
func TestChannelImmediate(t *testing.T) {
	s, c, res := newChannelService(t, func(cfg *Config) { cfg.CreateDelay, cfg.DeleteDelay, cfg.ReshardDelay = -1, -1, -1 })
	onDemand(t, s, c, "src")
	out, err := s.CreateChannel(ctx, minimalChannel("now", "src"))
	if err != nil || out.ChannelDescription.ChannelStatus != api.ChannelStatusActive {
		t.Fatalf("create: %+v %v", out, err)
	}
	if ch, _ := stored(t, res, "now"); ch.Status != api.ChannelStatusActive || ch.Delivery.Status != model.StatusActive {
		t.Fatalf("stored %s/%s", ch.Status, ch.Delivery.Status)
	}
	up, err := s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "now"),
		S3DestinationConfiguration: &api.DestinationUpdate{DataFreshnessInSeconds: ptr(int64(10))}})
	if err != nil || up.ChannelDescription.ChannelStatus != api.ChannelStatusActive {
		t.Fatalf("update: %+v %v", up, err)
	}
	if ch, _ := stored(t, res, "now"); ch.Delivery.VersionID != 2 || *ch.Delivery.Destination.ExtendedS3.BufferingHints.IntervalInSeconds != 10 {
		t.Fatalf("stored after update %+v", ch.Delivery)
	}
	if _, err := s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "now")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := stored(t, res, "now"); ok {
		t.Fatal("an immediate delete left the record")
	}
}

func TestChannelRefusals(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "src")
	mustCreate(t, s, c, "prov", 1)

	tables := &api.S3TablesDestinationConfiguration{
		DeadLetterQueueS3Configuration: &api.DeadLetterQueueS3Configuration{BucketARN: ptr(testDLQBucket), ExpectedBucketOwner: ptr("123456789012")},
		S3TablesConfigurationList: []api.S3TablesConfiguration{{CompressionType: ptr("ZSTD"), Namespace: ptr("db"),
			TableBucketARN: ptr("arn:aws:s3tables:us-east-1:123456789012:bucket/tb"), TableName: ptr("t")}},
	}
	cases := []struct {
		name   string
		change func(in *api.CreateChannelInput)
		kind   error
		msg    string
	}{
		{"s3 tables", func(in *api.CreateChannelInput) {
			in.S3DestinationConfiguration, in.S3TablesDestinationConfiguration = nil, tables
		},
			ErrInvalidArgument, "Rivulet does not support S3 Tables (Apache Iceberg) destinations; use S3DestinationConfiguration to deliver to a general purpose Amazon S3 bucket."},
		{"both", func(in *api.CreateChannelInput) { in.S3TablesDestinationConfiguration = tables },
			ErrInvalidArgument, "Either S3DestinationConfiguration or S3TablesDestinationConfiguration must be specified, but not both."},
		{"neither", func(in *api.CreateChannelInput) { in.S3DestinationConfiguration = nil },
			ErrInvalidArgument, "Either S3DestinationConfiguration or S3TablesDestinationConfiguration must be specified, but not both."},
		{"missing stream", func(in *api.CreateChannelInput) {
			in.StreamConfigurationList[0].StreamARN = ptr(testStreamARN + "nope")
		},
			ErrResourceNotFound, "Stream nope under account 000000000000 not found."},
		{"provisioned stream", func(in *api.CreateChannelInput) {
			in.StreamConfigurationList[0].StreamARN = ptr(testStreamARN + "prov")
		},
			ErrValidation, "Request is invalid. Stream prov under account 000000000000 is in Provisioned mode; channels need an On-Demand stream."},
		{"two streams", func(in *api.CreateChannelInput) {
			in.StreamConfigurationList = append(in.StreamConfigurationList, in.StreamConfigurationList[0])
		}, ErrInvalidArgument, "Currently, one stream is supported per channel; StreamConfigurationList has 2."},
		{"GSR_JSON", func(in *api.CreateChannelInput) {
			in.StreamConfigurationList[0].RecordConfiguration.RecordFormatType = ptr(api.RecordFormatGSRJSON)
		}, ErrInvalidArgument, "RecordFormatType GSR_JSON is supported only for S3 Tables destinations."},
		{"freshness", func(in *api.CreateChannelInput) { in.S3DestinationConfiguration.DataFreshnessInSeconds = ptr(int64(0)) },
			ErrInvalidArgument, "DataFreshnessInSeconds must be at least 1 second, not 0."},
		{"bad template", func(in *api.CreateChannelInput) {
			in.S3DestinationConfiguration.StorageConfiguration.OutputKeyTemplate = ptr("a/!{nope}")
		}, ErrInvalidArgument, ""},
		{"service key", func(in *api.CreateChannelInput) {
			in.EncryptionConfiguration = &api.ChannelEncryptionConfiguration{EncryptionType: ptr("KMS"), KeyId: ptr("alias/aws/kinesis")}
		}, ErrInvalidArgument, "KeyId alias/aws/kinesis is the Amazon Kinesis Data Streams service key (alias/aws/kinesis); a channel needs a customer managed key."},
		{"unknown key", func(in *api.CreateChannelInput) {
			in.EncryptionConfiguration = &api.ChannelEncryptionConfiguration{EncryptionType: ptr("KMS"), KeyId: ptr("alias/missing")}
		}, ErrKMSNotFound, "Alias arn:aws:kms:us-east-1:000000000000:alias/missing is not found."},
		{"disabled key", func(in *api.CreateChannelInput) {
			in.EncryptionConfiguration = &api.ChannelEncryptionConfiguration{EncryptionType: ptr("KMS"), KeyId: ptr("alias/off")}
		}, ErrKMSDisabled, ""},
		{"bad tag", func(in *api.CreateChannelInput) { in.Tags = map[string]string{"a": "<>"} }, ErrInvalidArgument,
			"Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :."},
		{"too many tags", func(in *api.CreateChannelInput) {
			in.Tags = map[string]string{}
			for i := range 51 {
				in.Tags[fmt.Sprint("k", i)] = "v"
			}
		}, ErrInvalidArgument, "Failed to create channel ch under account 000000000000 because a given channel cannot have more than 50 tags associated with it."},
		// Validation, worded as validate.go words AWS's.
		{"name pattern", func(in *api.CreateChannelInput) { in.ChannelName = ptr("bad name") }, ErrValidation,
			"1 validation error detected: Value 'bad name' at 'channelName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"nulls", func(in *api.CreateChannelInput) {
			in.ServiceExecutionRoleARN, in.StreamConfigurationList[0].RecordConfiguration = nil, nil
			in.S3DestinationConfiguration.StorageConfiguration = nil
		}, ErrValidation, "3 validation errors detected: " +
			"Value null at 'serviceExecutionRoleARN' failed to satisfy constraint: Member must not be null; " +
			"Value null at 'streamConfigurationList.1.member.recordConfiguration' failed to satisfy constraint: Member must not be null; " +
			"Value null at 's3DestinationConfiguration.storageConfiguration' failed to satisfy constraint: Member must not be null"},
		{"storage", func(in *api.CreateChannelInput) {
			sc := in.S3DestinationConfiguration.StorageConfiguration
			sc.BucketARN, sc.CompressionType, sc.ExpectedBucketOwner, sc.StorageClass = ptr("arn:aws:s3:::B"), ptr("LZ4"), ptr("1234"), ptr("COLD")
		}, ErrValidation, "5 validation errors detected: " +
			"Value 'arn:aws:s3:::B' at 's3DestinationConfiguration.storageConfiguration.bucketARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}; " +
			"Value 'LZ4' at 's3DestinationConfiguration.storageConfiguration.compressionType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, GZIP, ZSTD]; " +
			"Value '1234' at 's3DestinationConfiguration.storageConfiguration.expectedBucketOwner' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}; " +
			"Value '1234' at 's3DestinationConfiguration.storageConfiguration.expectedBucketOwner' failed to satisfy constraint: Member must have length greater than or equal to 12; " +
			"Value 'COLD' at 's3DestinationConfiguration.storageConfiguration.storageClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INTELLIGENT_TIERING, GLACIER_IR]"},
		{"logging", func(in *api.CreateChannelInput) {
			in.LoggingConfiguration = &api.ChannelLoggingConfiguration{CloudWatchLogs: &api.CloudWatchLogs{LogStreamName: ptr("a:b")}}
		}, ErrValidation, "2 validation errors detected: " +
			"Value null at 'loggingConfiguration.cloudWatchLogs.enabled' failed to satisfy constraint: Member must not be null; " +
			"Value 'a:b' at 'loggingConfiguration.cloudWatchLogs.logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"},
		{"empty stream list", func(in *api.CreateChannelInput) { in.StreamConfigurationList = []api.ChannelStreamConfiguration{} }, ErrValidation,
			"1 validation error detected: Value '[]' at 'streamConfigurationList' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalChannel("ch", "src")
			tc.change(in)
			_, err := s.CreateChannel(ctx, in)
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
	// None of them left a channel behind.
	out, err := s.ListChannels(ctx, &api.ListChannelsInput{})
	if err != nil || len(out.ChannelSummaries) != 0 {
		t.Fatalf("channels after refusals: %+v %v", out, err)
	}
	// A stream that is not ACTIVE yet.
	if _, err := s.CreateStream(ctx, &api.CreateStreamInput{StreamName: ptr("young"),
		StreamModeDetails: &api.StreamModeDetails{StreamMode: ptr(api.ModeOnDemand)}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateChannel(ctx, minimalChannel("ch", "young"))
	wantErr(t, err, ErrResourceInUse, "Stream young under account 000000000000 not ACTIVE, instead in state CREATING")
}

func TestChannelARNs(t *testing.T) {
	s, _, _ := newChannelService(t, nil)
	_, err := s.DescribeChannel(ctx, &api.DescribeChannelInput{})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'channelARN' failed to satisfy constraint: Member must not be null")
	_, err = s.DescribeChannel(ctx, &api.DescribeChannelInput{ChannelARN: ptr(testStreamARN + "s")})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value 'arn:aws:kinesis:us-east-1:000000000000:stream/s' at 'channelARN' "+
		"failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:channel/\\S+")
	_, err = s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "a/b")})
	wantErr(t, err, ErrInvalidArgument, "ChannelARN arn:aws:kinesis:us-east-1:000000000000:channel/a/b is invalid.")
	_, err = s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "x"), S3DestinationConfiguration: &api.DestinationUpdate{}})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 's3DestinationConfiguration.dataFreshnessInSeconds' failed to satisfy constraint: Member must not be null")
	_, err = s.UpdateChannel(ctx, &api.UpdateChannelInput{ChannelARN: ptr(testChannelARN + "x"), S3DestinationConfiguration: &api.DestinationUpdate{DataFreshnessInSeconds: ptr(int64(5))}})
	wantErr(t, err, ErrResourceNotFound, "Channel x under account 000000000000 not found.")

	k := store.TableKey{Account: "123456789012", Region: "eu-west-1", Name: "a.b-c_d"}
	if got, ok := parseChannelARN(ChannelARN(k)); !ok || got != k {
		t.Fatalf("round trip of %s: %+v %v", ChannelARN(k), got, ok)
	}
}

func TestListChannels(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "one")
	onDemand(t, s, c, "two")
	names := []string{"e", "a", "d", "b", "c"}
	for i, n := range names {
		src := "one"
		if i%2 == 1 {
			src = "two"
		}
		if _, err := s.CreateChannel(ctx, minimalChannel(n, src)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var tok *string
	for pages := 0; ; pages++ {
		out, err := s.ListChannels(ctx, &api.ListChannelsInput{MaxResults: ptr(int64(2)), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ChannelSummaries) > 2 || pages > 3 {
			t.Fatalf("page %d: %+v", pages, out)
		}
		for _, cs := range out.ChannelSummaries {
			got = append(got, cs.ChannelName)
		}
		if out.NextToken == nil {
			break
		}
		tok = out.NextToken
	}
	if strings.Join(got, ",") != "a,b,c,d,e" {
		t.Fatalf("listed %v", got)
	}

	out, err := s.ListChannels(ctx, &api.ListChannelsInput{StreamFilter: []api.StreamFilter{{StreamARN: ptr(testStreamARN + "two")}}})
	if err != nil || len(out.ChannelSummaries) != 2 || out.NextToken != nil {
		t.Fatalf("filtered: %+v %v", out, err)
	}
	sum := out.ChannelSummaries[0]
	streamCreated := describeCh(t, s, "a").StreamConfigurationList[0].StreamCreationTimestamp
	if sum.ChannelName != "a" || sum.ChannelARN != testChannelARN+"a" || sum.ChannelDestinationType != "S3" || sum.ChannelStatus != api.ChannelStatusCreating ||
		sum.ChannelId == "" || len(sum.Streams) != 1 || sum.Streams[0].StreamARN != testStreamARN+"two" ||
		!sum.Streams[0].StreamCreationTimestamp.Equal(streamCreated.Time) || sum.ChannelStatusReason != nil {
		t.Fatalf("summary %+v", sum)
	}
	// A filter naming another incarnation of the stream matches nothing.
	out, err = s.ListChannels(ctx, &api.ListChannelsInput{StreamFilter: []api.StreamFilter{{StreamARN: ptr(testStreamARN + "two"),
		StreamCreationTimestamp: api.NewTime(streamCreated.Add(time.Second))}}})
	if err != nil || len(out.ChannelSummaries) != 0 {
		t.Fatalf("filtered by another creation time: %+v %v", out, err)
	}

	_, err = s.ListChannels(ctx, &api.ListChannelsInput{NextToken: ptr("bogus")})
	wantErr(t, err, ErrInvalidArgument, "Invalid NextToken.")
	other := WithCaller(ctx, Caller{Account: "111122223333", Region: "us-east-1"})
	first, err := s.ListChannels(ctx, &api.ListChannelsInput{MaxResults: ptr(int64(1))})
	if err != nil || first.NextToken == nil {
		t.Fatal(first, err)
	}
	_, err = s.ListChannels(other, &api.ListChannelsInput{NextToken: first.NextToken})
	wantErr(t, err, ErrInvalidArgument, "Invalid NextToken.")
	if out, err := s.ListChannels(other, &api.ListChannelsInput{}); err != nil || len(out.ChannelSummaries) != 0 {
		t.Fatalf("another account's channels: %+v %v", out, err)
	}
	c.Add(301 * time.Second)
	_, err = s.ListChannels(ctx, &api.ListChannelsInput{NextToken: first.NextToken})
	wantErr(t, err, ErrExpiredNextToken, "")
	_, err = s.ListChannels(ctx, &api.ListChannelsInput{MaxResults: ptr(int64(0)), StreamFilter: []api.StreamFilter{{}}})
	wantErr(t, err, ErrValidation, "2 validation errors detected: "+
		"Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; "+
		"Value null at 'streamFilter.1.member.streamARN' failed to satisfy constraint: Member must not be null")
	// Deleted channels drop out of the list once gone.
	if _, err := s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "c")}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	out, err = s.ListChannels(ctx, &api.ListChannelsInput{})
	if err != nil || len(out.ChannelSummaries) != 4 || out.ChannelSummaries[2].ChannelName != "d" {
		t.Fatalf("after delete: %+v %v", out, err)
	}
}

func TestChannelTags(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "src")
	in := minimalChannel("tagged", "src")
	in.Tags = map[string]string{"a": "1"}
	if _, err := s.CreateChannel(ctx, in); err != nil {
		t.Fatal(err)
	}
	k := store.TableKey{Account: testAccount, Region: "us-east-1", Name: "tagged"}
	if err := s.tagChannel(ctx, k, map[string]string{"b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.untagChannel(ctx, k, []string{"a", "zz"}); err != nil {
		t.Fatal(err)
	}
	tags, err := s.channelTags(ctx, k)
	if err != nil || len(tags) != 1 || tags[0].Key != "b" || *tags[0].Value != "2" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprint("k", i)] = "v"
	}
	err = s.tagChannel(ctx, k, many)
	wantErr(t, err, ErrInvalidArgument, "Failed to add tags to channel tagged under account 000000000000 because a given channel cannot have more than 50 tags associated with it.")
	err = s.tagChannel(ctx, store.TableKey{Account: testAccount, Region: "us-east-1", Name: "none"}, many)
	wantErr(t, err, ErrResourceNotFound, "Channel none under account 000000000000 not found.")
}

func TestChannelsUnavailable(t *testing.T) {
	s, _ := newTestService(t, nil)
	msg := "Channels are not available on this server: it has no storage for them."
	_, err := s.CreateChannel(ctx, minimalChannel("x", "y"))
	wantErr(t, err, ErrInvalidArgument, msg)
	_, err = s.ListChannels(ctx, &api.ListChannelsInput{})
	wantErr(t, err, ErrInvalidArgument, msg)
	_, err = s.DescribeChannel(ctx, &api.DescribeChannelInput{ChannelARN: ptr(testChannelARN + "x")})
	wantErr(t, err, ErrInvalidArgument, msg)
}

// TestChannelAuthorization: the Authorizer sees channel actions against
// the channel's ARN, and ListChannels against "*".
func TestChannelAuthorization(t *testing.T) {
	var seen []string
	az := authorizerFunc(func(c Caller, action, resource string, about Resource) error {
		seen = append(seen, action+" "+resource)
		if action == "kinesis:DeleteChannel" {
			return Errorf(ErrAccessDenied, "denied")
		}
		return nil
	})
	s, c, _ := newChannelService(t, func(cfg *Config) { cfg.Authorizer = az })
	onDemand(t, s, c, "src")
	ops := s.Operations()
	call := func(op string, in any) error {
		_, err := ops[op].Call(ctx, in)
		return err
	}
	if err := call("CreateChannel", minimalChannel("guarded", "src")); err != nil {
		t.Fatal(err)
	}
	if err := call("ListChannels", &api.ListChannelsInput{}); err != nil {
		t.Fatal(err)
	}
	err := call("DeleteChannel", &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + "guarded")})
	wantErr(t, err, ErrAccessDenied, "denied")
	want := []string{"kinesis:CreateChannel " + testChannelARN + "guarded", "kinesis:ListChannels *", "kinesis:DeleteChannel " + testChannelARN + "guarded"}
	if got := seen[len(seen)-3:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("authorized %v, want %v", got, want)
	}
}

type authorizerFunc func(c Caller, action, resource string, about Resource) error

func (f authorizerFunc) Authorize(_ context.Context, c Caller, action, resource string, about Resource) error {
	return f(c, action, resource, about)
}

// FuzzChannelARN: parsing and validating any ARN never panics, and what
// parses renders back to the same ARN.
func FuzzChannelARN(f *testing.F) {
	f.Add(testChannelARN + "orders")
	f.Add("arn:aws:kinesis:us-east-1:000000000000:channel/a/b")
	f.Add("arn:aws-cn:kinesis:cn-north-1:123456789012:channel/x")
	f.Add("arn::::")
	f.Fuzz(func(t *testing.T, arn string) {
		if k, ok := parseChannelARN(arn); ok {
			if !strings.HasPrefix(arn, "arn:aws:") {
				return // partitions other than aws render as aws
			}
			if ChannelARN(k) != arn {
				t.Fatalf("%q parsed to %+v, renders %q", arn, k, ChannelARN(k))
			}
		}
		_, _ = validateChannelARN(&arn)
	})
}

// FuzzCreateChannel: any JSON body decoded into CreateChannelInput gets an
// answer, never a panic.
func FuzzCreateChannel(f *testing.F) {
	seed, _ := json.Marshal(fullChannel("orders", "src"))
	f.Add(seed)
	seed, _ = json.Marshal(minimalChannel("m", "src"))
	f.Add(seed)
	f.Add([]byte(`{"ChannelName":"x","StreamConfigurationList":[{}],"S3DestinationConfiguration":{"StorageConfiguration":{}}}`))
	f.Add([]byte(`{"S3TablesDestinationConfiguration":{"S3TablesConfigurationList":[{}]}}`))
	be := memstore.New(memstore.Config{})
	f.Cleanup(func() { be.Close() })
	s, c, _ := channelServiceOn(f, be, nil)
	onDemand(f, s, c, "src")
	f.Fuzz(func(t *testing.T, body []byte) {
		var in api.CreateChannelInput
		if json.Unmarshal(body, &in) != nil {
			return
		}
		_, _ = s.CreateChannel(ctx, &in)
	})
}

// TestChannelZSTD: a ZSTD channel is accepted and its delivery asks the
// engine's encoder for ZSTD, which writes .zst objects.
func TestChannelZSTD(t *testing.T) {
	s, c, res := newChannelService(t, nil)
	onDemand(t, s, c, "src")
	in := minimalChannel("z", "src")
	in.S3DestinationConfiguration.StorageConfiguration.CompressionType = ptr(api.S3CompressionZSTD)
	out, err := s.CreateChannel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := *out.ChannelDescription.S3DestinationConfiguration.StorageConfiguration.CompressionType; got != api.S3CompressionZSTD {
		t.Fatalf("echoed CompressionType %s", got)
	}
	ch, _ := stored(t, res, "z")
	f := ch.Delivery.Destination.ExtendedS3.CompressionFormat
	if f != encode.ZSTD || encode.Extension(f) != ".zst" {
		t.Fatalf("delivery compression %q (extension %q), want %q", f, encode.Extension(f), encode.ZSTD)
	}
	if _, err := encode.Compress(f, []byte("{}"), ""); err != nil {
		t.Fatalf("the encoder refuses the channel's format: %v", err)
	}
}

// TestStreamChannels: DescribeStreamSummary counts a stream's channels,
// and DeleteStream refuses the stream while any remains, even a DELETING
// one and even with EnforceConsumerDeletion.
func TestStreamChannels(t *testing.T) {
	s, c, _ := newChannelService(t, nil)
	onDemand(t, s, c, "src")
	onDemand(t, s, c, "other")
	for _, n := range []string{"a", "b"} {
		if _, err := s.CreateChannel(ctx, minimalChannel(n, "src")); err != nil {
			t.Fatal(err)
		}
	}
	count := func(stream string) int64 {
		t.Helper()
		out, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: &stream})
		if err != nil {
			t.Fatal(err)
		}
		return out.StreamDescriptionSummary.ChannelCount
	}
	if n, o := count("src"), count("other"); n != 2 || o != 0 {
		t.Fatalf("ChannelCount src %d other %d, want 2 and 0", n, o)
	}
	msg := "DeleteStream can't delete " + testStreamARN + "src because there are channels associated with this data stream. " +
		"Delete them with DeleteChannel first; ListChannels with a StreamFilter finds them."
	_, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("src"), EnforceConsumerDeletion: ptr(true)})
	wantErr(t, err, ErrResourceInUse, msg)

	for _, n := range []string{"a", "b"} {
		if _, err := s.DeleteChannel(ctx, &api.DeleteChannelInput{ChannelARN: ptr(testChannelARN + n)}); err != nil {
			t.Fatal(err)
		}
	}
	// DELETING channels still exist.
	if n := count("src"); n != 2 {
		t.Fatalf("ChannelCount %d while DELETING, want 2", n)
	}
	_, err = s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("src")})
	wantErr(t, err, ErrResourceInUse, msg)

	c.Add(time.Second)
	if n := count("src"); n != 0 {
		t.Fatalf("ChannelCount %d after deletion, want 0", n)
	}
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("src")}); err != nil {
		t.Fatal(err)
	}
	// Streams delete as before on a server without channel storage.
	plain, pc, _ := newChannelService(t, func(cfg *Config) { cfg.Channels = nil })
	onDemand(t, plain, pc, "solo")
	if _, err := plain.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("solo")}); err != nil {
		t.Fatal(err)
	}
}

// TestChannelTagResource: the ARN-based tag operations reach a channel,
// and the Authorizer sees them against the channel's ARN and tags.
func TestChannelTagResource(t *testing.T) {
	var seen []string
	var aboutTags map[string]string
	az := authorizerFunc(func(c Caller, action, resource string, about Resource) error {
		seen = append(seen, action+" "+resource)
		aboutTags = about.Tags
		if action == "kinesis:UntagResource" {
			return Errorf(ErrAccessDenied, "denied")
		}
		return nil
	})
	s, c, _ := newChannelService(t, func(cfg *Config) { cfg.Authorizer = az })
	onDemand(t, s, c, "src")
	ops := s.Operations()
	call := func(op string, in any) (any, error) { return ops[op].Call(ctx, in) }
	in := minimalChannel("ch", "src")
	in.Tags = map[string]string{"a": "1"}
	if _, err := call("CreateChannel", in); err != nil {
		t.Fatal(err)
	}
	arn := ptr(testChannelARN + "ch")
	if _, err := call("TagResource", &api.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(aboutTags, map[string]string{"a": "1"}) {
		t.Fatalf("authorizer saw tags %v", aboutTags)
	}
	out, err := call("ListTagsForResource", &api.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, out.(*api.ListTagsForResourceOutput).Tags); got != `[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]` {
		t.Fatalf("tags %s", got)
	}
	_, err = call("UntagResource", &api.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"a"}})
	wantErr(t, err, ErrAccessDenied, "denied")
	want := []string{"kinesis:TagResource " + *arn, "kinesis:ListTagsForResource " + *arn, "kinesis:UntagResource " + *arn}
	if got := seen[len(seen)-3:]; !reflect.DeepEqual(got, want) {
		t.Fatalf("authorized %v, want %v", got, want)
	}
	// Unauthorized, the channel keeps its tags.
	if tags, err := s.channelTags(ctx, store.TableKey{Account: testAccount, Region: "us-east-1", Name: "ch"}); err != nil || len(tags) != 2 {
		t.Fatalf("tags after a denied untag: %+v %v", tags, err)
	}
	if _, err := s.UntagResource(ctx, &api.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListTagsForResource(ctx, &api.ListTagsForResourceInput{ResourceARN: ptr(testChannelARN + "none")})
	wantErr(t, err, ErrResourceNotFound, "Channel none under account 000000000000 not found.")
}
