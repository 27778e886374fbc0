package firehose

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/rivulet/rivulet/internal/store"
)

const (
	roleARN   = "arn:aws:iam::123456789012:role/firehose"
	bucketARN = "arn:aws:s3:::bucket"
)

func s3Dest() *types.ExtendedS3DestinationConfiguration {
	return &types.ExtendedS3DestinationConfiguration{RoleARN: aws.String(roleARN), BucketARN: aws.String(bucketARN)}
}

func (e *env) create(name string) string {
	e.t.Helper()
	out, err := e.c.CreateDeliveryStream(context.Background(), &fh.CreateDeliveryStreamInput{
		DeliveryStreamName:                 aws.String(name),
		ExtendedS3DestinationConfiguration: s3Dest(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.DeliveryStreamARN)
}

func (e *env) describe(name string) *types.DeliveryStreamDescription {
	e.t.Helper()
	out, err := e.c.DescribeDeliveryStream(context.Background(), &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.DeliveryStreamDescription
}

func TestCreateDescribeExtendedS3Defaults(t *testing.T) {
	e := newEnv(t, Config{})
	arn := e.create("logs")
	if arn != "arn:aws:firehose:us-east-1:"+account+":deliverystream/logs" {
		t.Fatalf("ARN %s", arn)
	}
	d := e.describe("logs")
	if d.DeliveryStreamStatus != types.DeliveryStreamStatusActive || d.DeliveryStreamType != types.DeliveryStreamTypeDirectPut ||
		aws.ToString(d.VersionId) != "1" || aws.ToString(d.DeliveryStreamARN) != arn || d.CreateTimestamp == nil ||
		!d.CreateTimestamp.Equal(e.clock.Now()) || aws.ToBool(d.HasMoreDestinations) {
		t.Fatalf("description %+v", d)
	}
	if enc := d.DeliveryStreamEncryptionConfiguration; enc == nil || enc.Status != types.DeliveryStreamEncryptionStatusDisabled {
		t.Fatalf("encryption %+v", enc)
	}
	if len(d.Destinations) != 1 || aws.ToString(d.Destinations[0].DestinationId) != "destinationId-000000000001" {
		t.Fatalf("destinations %+v", d.Destinations)
	}
	x := d.Destinations[0].ExtendedS3DestinationDescription
	if x == nil || aws.ToInt32(x.BufferingHints.SizeInMBs) != 5 || aws.ToInt32(x.BufferingHints.IntervalInSeconds) != 300 ||
		x.CompressionFormat != types.CompressionFormatUncompressed ||
		x.EncryptionConfiguration.NoEncryptionConfig != types.NoEncryptionConfigNoEncryption ||
		x.Prefix == nil || *x.Prefix != "" || x.ErrorOutputPrefix != nil || x.S3BackupMode != types.S3BackupModeDisabled ||
		x.CloudWatchLoggingOptions == nil || aws.ToBool(x.CloudWatchLoggingOptions.Enabled) ||
		aws.ToString(x.RoleARN) != roleARN || aws.ToString(x.BucketARN) != bucketARN {
		t.Fatalf("extended S3 description %+v", x)
	}
	if p := d.Destinations[0].S3DestinationDescription; p == nil || aws.ToString(p.BucketARN) != bucketARN {
		t.Fatalf("S3 description %+v", p)
	}
	// Past the only destination, none is listed.
	out, err := e.c.DescribeDeliveryStream(context.Background(), &fh.DescribeDeliveryStreamInput{
		DeliveryStreamName: aws.String("logs"), ExclusiveStartDestinationId: aws.String("destinationId-000000000001"), Limit: aws.Int32(1)})
	if err != nil || len(out.DeliveryStreamDescription.Destinations) != 0 {
		t.Fatalf("%v %+v", err, out)
	}
}

func TestCreateDeprecatedS3BecomesExtended(t *testing.T) {
	e := newEnv(t, Config{})
	_, err := e.c.CreateDeliveryStream(context.Background(), &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("old"),
		S3DestinationConfiguration: &types.S3DestinationConfiguration{RoleARN: aws.String(roleARN), BucketARN: aws.String(bucketARN),
			CompressionFormat: types.CompressionFormatGzip, Prefix: aws.String("p/")},
	})
	if err != nil {
		t.Fatal(err)
	}
	x := e.describe("old").Destinations[0].ExtendedS3DestinationDescription
	if x == nil || x.CompressionFormat != types.CompressionFormatGzip || aws.ToString(x.Prefix) != "p/" {
		t.Fatalf("%+v", x)
	}
}

func TestDescribeHTTPEndpointHidesAccessKey(t *testing.T) {
	e := newEnv(t, Config{})
	_, err := e.c.CreateDeliveryStream(context.Background(), &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("web"),
		HttpEndpointDestinationConfiguration: &types.HttpEndpointDestinationConfiguration{
			EndpointConfiguration: &types.HttpEndpointConfiguration{Url: aws.String("http://127.0.0.1:9/ingest"),
				Name: aws.String("mine"), AccessKey: aws.String("sekrit")},
			S3Configuration: &types.S3DestinationConfiguration{RoleARN: aws.String(roleARN), BucketARN: aws.String(bucketARN)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, m := e.raw("DescribeDeliveryStream", `{"DeliveryStreamName":"web"}`)
	b, _ := json.Marshal(m)
	if code != 200 || strings.Contains(string(b), "sekrit") || strings.Contains(string(b), "AccessKey") {
		t.Fatalf("%d %s", code, b)
	}
	h := e.describe("web").Destinations[0].HttpEndpointDestinationDescription
	if h == nil || aws.ToString(h.EndpointConfiguration.Url) != "http://127.0.0.1:9/ingest" || aws.ToString(h.EndpointConfiguration.Name) != "mine" ||
		aws.ToInt32(h.BufferingHints.SizeInMBs) != 5 || aws.ToInt32(h.RetryOptions.DurationInSeconds) != 300 ||
		h.S3BackupMode != types.HttpEndpointS3BackupModeFailedDataOnly || h.RequestConfiguration.ContentEncoding != types.ContentEncodingNone ||
		h.S3DestinationDescription == nil || aws.ToString(h.S3DestinationDescription.BucketARN) != bucketARN {
		t.Fatalf("%+v", h)
	}
}

func TestDescribeRedshiftHidesPassword(t *testing.T) {
	e := newEnv(t, Config{})
	_, err := e.c.CreateDeliveryStream(context.Background(), &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("pg"),
		RedshiftDestinationConfiguration: &types.RedshiftDestinationConfiguration{
			RoleARN: aws.String(roleARN), ClusterJDBCURL: aws.String("jdbc:postgresql://127.0.0.1:5432/db"),
			CopyCommand: &types.CopyCommand{DataTableName: aws.String("events")},
			Username:    aws.String("u"), Password: aws.String("hunter22"),
			S3Configuration: &types.S3DestinationConfiguration{RoleARN: aws.String(roleARN), BucketARN: aws.String(bucketARN),
				CompressionFormat: types.CompressionFormatGzip},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	code, m := e.raw("DescribeDeliveryStream", `{"DeliveryStreamName":"pg"}`)
	b, _ := json.Marshal(m)
	if code != 200 || strings.Contains(string(b), "hunter22") || strings.Contains(string(b), "Password") {
		t.Fatalf("%d %s", code, b)
	}
	r := e.describe("pg").Destinations[0].RedshiftDestinationDescription
	if r == nil || aws.ToString(r.Username) != "u" || aws.ToInt32(r.RetryOptions.DurationInSeconds) != 3600 ||
		r.S3DestinationDescription.CompressionFormat != types.CompressionFormatGzip {
		t.Fatalf("%+v", r)
	}
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, Config{})
	e.create("taken")
	const s3 = `"ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}`
	const plainS3 = `{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `"}`
	long := strings.Repeat("a", 65)
	for _, c := range []struct {
		body, typ, msg string
	}{
		{`{` + s3 + `}`, "ValidationException",
			"1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null"},
		{`{"DeliveryStreamName":"` + long + `",` + s3 + `}`, "ValidationException",
			"1 validation error detected: Value '" + long + "' at 'deliveryStreamName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{`{"DeliveryStreamName":"a b",` + s3 + `}`, "ValidationException",
			"1 validation error detected: Value 'a b' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{`{"DeliveryStreamName":"taken",` + s3 + `}`, "ResourceInUseException",
			"Firehose taken under accountId " + account + " already exists"},
		{`{"DeliveryStreamName":"x"}`, "InvalidArgumentException",
			"Exactly one destination configuration must be specified; 0 were given."},
		{`{"DeliveryStreamName":"x",` + s3 + `,"S3DestinationConfiguration":` + plainS3 + `}`, "InvalidArgumentException",
			"Exactly one destination configuration must be specified; 2 were given."},
		{`{"DeliveryStreamName":"x","SplunkDestinationConfiguration":{"HECEndpoint":"h"}}`, "InvalidArgumentException",
			"Rivulet does not support SplunkDestinationConfiguration; supported destinations are ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration and RedshiftDestinationConfiguration (delivered to PostgreSQL), with DirectPut or KinesisStreamAsSource sources."},
		{`{"DeliveryStreamName":"x","DeliveryStreamType":"MSKAsSource",` + s3 + `}`, "InvalidArgumentException",
			"Rivulet does not support the MSKAsSource delivery stream type; supported destinations are ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration and RedshiftDestinationConfiguration (delivered to PostgreSQL), with DirectPut or KinesisStreamAsSource sources."},
		{`{"DeliveryStreamName":"x","DeliveryStreamType":"Other",` + s3 + `}`, "ValidationException",
			"1 validation error detected: Value 'Other' at 'deliveryStreamType' failed to satisfy constraint: Member must satisfy enum value set: [DirectPut, KinesisStreamAsSource, MSKAsSource, DatabaseAsSource]"},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","BufferingHints":{"SizeInMBs":129,"IntervalInSeconds":901}}}`,
			"ValidationException", "2 validation errors detected: Value '129' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128; " +
				"Value '901' at 'extendedS3DestinationConfiguration.bufferingHints.intervalInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","BufferingHints":{"SizeInMBs":10}}}`,
			"InvalidArgumentException", "BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither."},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","DynamicPartitioningConfiguration":{"Enabled":true}}}`,
			"InvalidArgumentException", "ErrorOutputPrefix is required when dynamic partitioning is enabled."},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","CompressionFormat":"GZIP","DataFormatConversionConfiguration":{"Enabled":true}}}`,
			"InvalidArgumentException", "CompressionFormat must be set to UNCOMPRESSED when data format conversion is enabled."},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","BufferingHints":{"SizeInMBs":32,"IntervalInSeconds":60},"DataFormatConversionConfiguration":{}}}`,
			"InvalidArgumentException", "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","Prefix":"!{timestamp:yyyy}/"}}`,
			"InvalidArgumentException", "Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"},
		{`{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"RoleARN":"role","BucketARN":"` + bucketARN + `"}}`, "ValidationException",
			`1 validation error detected: Value 'role' at 'extendedS3DestinationConfiguration.roleARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+`},
		{`{"DeliveryStreamName":"x","HttpEndpointDestinationConfiguration":{"EndpointConfiguration":{"Url":"ftp://h"},"S3Configuration":` + plainS3 + `}}`,
			"InvalidArgumentException", "EndpointConfiguration.Url must be an https:// (or, in Rivulet, http://) URL: ftp://h"},
		{`{"DeliveryStreamName":"x","HttpEndpointDestinationConfiguration":{"EndpointConfiguration":{"Url":"https://h"}}}`,
			"ValidationException", "1 validation error detected: Value null at 'httpEndpointDestinationConfiguration.s3Configuration' failed to satisfy constraint: Member must not be null"},
		{`{"DeliveryStreamName":"x","HttpEndpointDestinationConfiguration":{"EndpointConfiguration":{"Url":"https://h"},"BufferingHints":{"SizeInMBs":65,"IntervalInSeconds":60},"S3Configuration":` + plainS3 + `}}`,
			"ValidationException", "1 validation error detected: Value '65' at 'httpEndpointDestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 64"},
		{`{"DeliveryStreamName":"x","RedshiftDestinationConfiguration":{"RoleARN":"` + roleARN + `","ClusterJDBCURL":"jdbc:postgresql://h/db","CopyCommand":{"DataTableName":"t"},"Username":"u","Password":"passwd","S3Configuration":{"RoleARN":"` + roleARN + `","BucketARN":"` + bucketARN + `","CompressionFormat":"ZIP"}}}`,
			"InvalidArgumentException", "CompressionFormat ZIP is not supported for the Redshift destination's S3Configuration; use UNCOMPRESSED or GZIP."},
		{`{"DeliveryStreamName":"x","DeliveryStreamType":"KinesisStreamAsSource",` + s3 + `}`, "InvalidArgumentException",
			"KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource delivery stream type."},
		{`{"DeliveryStreamName":"x","DeliveryStreamEncryptionConfigurationInput":{"KeyType":"CUSTOMER_MANAGED_CMK"},` + s3 + `}`, "InvalidArgumentException",
			"KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK."},
		{`{"DeliveryStreamName":"x","Tags":[{"Key":"aws:no"}],` + s3 + `}`, "ValidationException",
			`1 validation error detected: Value 'aws:no' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!aws:)[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$`},
	} {
		e.rawErr("CreateDeliveryStream", c.body, 400, c.typ, c.msg)
	}
	// A refused stream left nothing behind.
	out, err := e.c.ListDeliveryStreams(context.Background(), &fh.ListDeliveryStreamsInput{})
	if err != nil || len(out.DeliveryStreamNames) != 1 {
		t.Fatalf("%v %v", err, out.DeliveryStreamNames)
	}
}

func TestCreatingBecomesActive(t *testing.T) {
	e := newEnv(t, Config{CreateDelay: time.Minute})
	e.create("slow")
	if st := e.describe("slow").DeliveryStreamStatus; st != types.DeliveryStreamStatusCreating {
		t.Fatalf("status %s", st)
	}
	_, err := e.c.UpdateDestination(context.Background(), &fh.UpdateDestinationInput{DeliveryStreamName: aws.String("slow"),
		CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String(destinationID),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("p/")}})
	apiErr(t, err, "ResourceInUseException", "Firehose slow under account "+account+" is not in the ACTIVE state (it is CREATING).")
	e.clock.Add(time.Minute)
	if st := e.describe("slow").DeliveryStreamStatus; st != types.DeliveryStreamStatusActive {
		t.Fatalf("status %s", st)
	}
}

func TestDeleteRemovesBufferAndCheckpoints(t *testing.T) {
	e := newEnv(t, Config{})
	e.create("gone")
	ctx := context.Background()
	if _, err := e.c.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("gone"), Record: &types.Record{Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	ds, _, err := e.svc.load(ctx, store.TableKey{Account: account, Region: "us-east-1", Name: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{CheckpointKeyPrefix + ds.ID, OwnerKeyPrefix + ds.ID} {
		if _, err := e.st.PutValue(ctx, k, []byte("1"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.c.DeleteDeliveryStream(ctx, &fh.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("gone"), AllowForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Tip(ctx, BufferLog(ds.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("buffer log after delete: %v", err)
	}
	for _, k := range []string{CheckpointKeyPrefix + ds.ID, OwnerKeyPrefix + ds.ID} {
		if _, _, err := e.st.GetValue(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s after delete: %v", k, err)
		}
	}
	_, err = e.c.DescribeDeliveryStream(ctx, &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("gone")})
	apiErr(t, err, "ResourceNotFoundException", "Firehose gone under account "+account+" not found.")
	_, err = e.c.DeleteDeliveryStream(ctx, &fh.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("gone")})
	apiErr(t, err, "ResourceNotFoundException", "Firehose gone under account "+account+" not found.")
	// The name is free again, with a new buffer log.
	e.create("gone")
}

func TestListDeliveryStreams(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	for i := range 5 {
		e.create("s" + strconv.Itoa(i))
	}
	_, err := e.c.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("k"), DeliveryStreamType: types.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: &types.KinesisStreamSourceConfiguration{
			KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:" + account + ":stream/src"), RoleARN: aws.String(roleARN)},
		ExtendedS3DestinationConfiguration: s3Dest(),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.c.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{Limit: aws.Int32(2), ExclusiveStartDeliveryStreamName: aws.String("s0")})
	if err != nil || strings.Join(out.DeliveryStreamNames, ",") != "s1,s2" || !aws.ToBool(out.HasMoreDeliveryStreams) {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = e.c.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{})
	if err != nil || strings.Join(out.DeliveryStreamNames, ",") != "k,s0,s1,s2,s3,s4" || aws.ToBool(out.HasMoreDeliveryStreams) {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = e.c.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{DeliveryStreamType: types.DeliveryStreamTypeKinesisStreamAsSource})
	if err != nil || strings.Join(out.DeliveryStreamNames, ",") != "k" {
		t.Fatalf("%v %+v", err, out)
	}
	d := e.describe("k")
	if d.Source == nil || aws.ToString(d.Source.KinesisStreamSourceDescription.KinesisStreamARN) != "arn:aws:kinesis:us-east-1:"+account+":stream/src" ||
		d.DeliveryStreamEncryptionConfiguration != nil {
		t.Fatalf("%+v", d)
	}
	e.rawErr("ListDeliveryStreams", `{"Limit":0}`, 400, "ValidationException",
		"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
}

func TestUpdateDestination(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.create("u")
	_, err := e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String(destinationID),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{
			Prefix: aws.String("data/!{timestamp:yyyy}/"), ErrorOutputPrefix: aws.String("err/!{firehose:error-output-type}/"),
			BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(0)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := e.describe("u")
	x := d.Destinations[0].ExtendedS3DestinationDescription
	if aws.ToString(d.VersionId) != "2" || aws.ToString(x.Prefix) != "data/!{timestamp:yyyy}/" || aws.ToString(x.BucketARN) != bucketARN ||
		aws.ToInt32(x.BufferingHints.SizeInMBs) != 1 || aws.ToInt32(x.BufferingHints.IntervalInSeconds) != 0 || d.LastUpdateTimestamp == nil {
		t.Fatalf("%+v %+v", d, x)
	}
	// A stale version is refused.
	_, err = e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("1"), DestinationId: aws.String(destinationID),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")},
	})
	apiErr(t, err, "ConcurrentModificationException", "Cannot update firehose: u because the current version id 2 does not match the version id 1 in the request.")
	// Dynamic partitioning cannot be turned on later.
	_, err = e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("2"), DestinationId: aws.String(destinationID),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{DynamicPartitioningConfiguration: &types.DynamicPartitioningConfiguration{Enabled: aws.Bool(true)}},
	})
	apiErr(t, err, "InvalidArgumentException", "Dynamic partitioning can only be enabled when the delivery stream is created.")
	_, err = e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("2"), DestinationId: aws.String("destinationId-000000000002"),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")},
	})
	apiErr(t, err, "InvalidArgumentException", "Destination destinationId-000000000002 was not found for Firehose u under account "+account+".")
	// Another type replaces the destination.
	_, err = e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("2"), DestinationId: aws.String(destinationID),
		HttpEndpointDestinationUpdate: &types.HttpEndpointDestinationUpdate{
			EndpointConfiguration: &types.HttpEndpointConfiguration{Url: aws.String("https://example.test/x")},
			S3Update:              &types.S3DestinationUpdate{RoleARN: aws.String(roleARN), BucketARN: aws.String(bucketARN)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d = e.describe("u")
	if aws.ToString(d.VersionId) != "3" || d.Destinations[0].ExtendedS3DestinationDescription != nil ||
		aws.ToString(d.Destinations[0].HttpEndpointDestinationDescription.EndpointConfiguration.Url) != "https://example.test/x" {
		t.Fatalf("%+v", d.Destinations[0])
	}
	// Replacing needs a complete destination.
	_, err = e.c.UpdateDestination(ctx, &fh.UpdateDestinationInput{
		DeliveryStreamName: aws.String("u"), CurrentDeliveryStreamVersionId: aws.String("3"), DestinationId: aws.String(destinationID),
		ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("x/")},
	})
	apiErr(t, err, "ValidationException", "2 validation errors detected: Value null at 'extendedS3DestinationUpdate.roleARN' failed to satisfy constraint: Member must not be null; "+
		"Value null at 'extendedS3DestinationUpdate.bucketARN' failed to satisfy constraint: Member must not be null")
	e.rawErr("UpdateDestination", `{"DeliveryStreamName":"u","CurrentDeliveryStreamVersionId":"3","DestinationId":"`+destinationID+`","SplunkDestinationUpdate":{}}`,
		400, "InvalidArgumentException", "Rivulet does not support SplunkDestinationUpdate; supported destinations are ExtendedS3DestinationConfiguration, S3DestinationConfiguration, HttpEndpointDestinationConfiguration and RedshiftDestinationConfiguration (delivered to PostgreSQL), with DirectPut or KinesisStreamAsSource sources.")
	e.rawErr("UpdateDestination", `{"DeliveryStreamName":"u","DestinationId":"`+destinationID+`"}`,
		400, "ValidationException", "1 validation error detected: Value null at 'currentDeliveryStreamVersionId' failed to satisfy constraint: Member must not be null")
}
