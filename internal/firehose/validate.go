package firehose

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/rivulet/rivulet/internal/delivery/encode"
	"github.com/rivulet/rivulet/internal/delivery/prefix"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

// Shape constraints from the service model (botocore firehose
// 2015-08-04), reported as ValidationException by AWS's front end. The
// rules AWS reports as InvalidArgumentException follow below them.

var (
	namePattern       = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	roleARNPattern    = regexp.MustCompile(`^arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+$`)
	bucketARNPattern  = regexp.MustCompile(`^arn:.*:s3:::[\w.\-]{1,255}$`)
	kinesisARNPattern = regexp.MustCompile(`^arn:.*:kinesis:[a-zA-Z0-9\-]+:\d{12}:stream/[a-zA-Z0-9_.-]+$`)
	keyARNPattern     = regexp.MustCompile(`^arn:.*:kms:[a-zA-Z0-9\-]+:\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\-_/]+$`)
	tagKeyPattern     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@%]*$`)
)

const (
	namePatternText       = `[a-zA-Z0-9_.-]+`
	roleARNPatternText    = `arn:.*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+`
	bucketARNPatternText  = `arn:.*:s3:::[\w\.\-]{1,255}`
	kinesisARNPatternText = `arn:.*:kinesis:[a-zA-Z0-9\-]+:\d{12}:stream/[a-zA-Z0-9_.-]+`
	keyARNPatternText     = `arn:.*:kms:[a-zA-Z0-9\-]+:\d{12}:(key|alias)/[a-zA-Z_0-9+=,.@\-_/]+`
	tagKeyPatternText     = `^(?!aws:)[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$`
	tagValuePatternText   = `^[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$`
)

func validName(s string) bool {
	return len(s) >= 1 && utf16Len(s) <= 64 && namePattern.MatchString(s)
}

func match(re *regexp.Regexp) func(string) bool { return re.MatchString }

func validTagKey(s string) bool {
	return tagKeyPattern.MatchString(s) && !strings.HasPrefix(s, "aws:")
}

func (v *validator) name(path string, s *string) {
	v.str(path, s, true, 1, 64, match(namePattern), namePatternText)
}

var compressionFormats = []string{"UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"}

func (v *validator) tags(path string, tags []Tag, min int) {
	if len(tags) < min {
		v.fail(path, "'[]'", "Member must have length greater than or equal to "+itoa(min))
	}
	if len(tags) > maxTags {
		v.fail(path, "'[...]'", "Member must have length less than or equal to 50")
	}
	for i, t := range tags {
		p := path + "." + itoa(i+1) + ".member."
		v.str(p+"key", t.Key, true, 1, 128, validTagKey, tagKeyPatternText)
		v.str(p+"value", t.Value, false, 0, 256, match(tagKeyPattern), tagValuePatternText)
	}
}

func (v *validator) hints(path string, h *model.BufferingHints, maxSize int32) {
	if h == nil {
		return
	}
	v.num(path+".sizeInMBs", h.SizeInMBs, 1, maxSize)
	v.num(path+".intervalInSeconds", h.IntervalInSeconds, 0, 900)
}

func (v *validator) encryption(path string, e *model.EncryptionConfiguration) {
	if e == nil {
		return
	}
	v.enum(path+".noEncryptionConfig", e.NoEncryptionConfig, "NoEncryption")
	if k := e.KMSEncryptionConfig; k != nil {
		v.str(path+".kMSEncryptionConfig.aWSKMSKeyARN", k.AWSKMSKeyARN, true, 1, 512, match(keyARNPattern), keyARNPatternText)
	}
}

func (v *validator) s3(path string, c *model.S3DestinationConfiguration, update bool) {
	if c == nil {
		return
	}
	v.str(path+".roleARN", c.RoleARN, !update, 1, 512, match(roleARNPattern), roleARNPatternText)
	v.str(path+".bucketARN", c.BucketARN, !update, 1, 2048, match(bucketARNPattern), bucketARNPatternText)
	v.str(path+".prefix", c.Prefix, false, 0, 1024, nil, "")
	v.str(path+".errorOutputPrefix", c.ErrorOutputPrefix, false, 0, 1024, nil, "")
	v.hints(path+".bufferingHints", c.BufferingHints, 128)
	v.enum(path+".compressionFormat", c.CompressionFormat, compressionFormats...)
	v.encryption(path+".encryptionConfiguration", c.EncryptionConfiguration)
}

func (v *validator) processing(path string, p *model.ProcessingConfiguration) {
	if p == nil {
		return
	}
	for i, pr := range p.Processors {
		v.enum(path+".processors."+itoa(i+1)+".member.type", pr.Type, "RecordDeAggregation", "Decompression",
			"CloudWatchLogProcessing", "Lambda", "MetadataExtraction", "AppendDelimiterToRecord")
	}
}

func (v *validator) extendedS3(path string, c *model.ExtendedS3DestinationConfiguration, update bool) {
	if c == nil {
		return
	}
	v.s3(path, plainS3(c), update)
	v.enum(path+".s3BackupMode", c.S3BackupMode, "Disabled", "Enabled")
	v.s3(path+".s3BackupConfiguration", c.S3BackupConfiguration, update)
	v.processing(path+".processingConfiguration", c.ProcessingConfiguration)
	v.str(path+".fileExtension", c.FileExtension, false, 0, 128, nil, "")
	v.str(path+".customTimeZone", c.CustomTimeZone, false, 0, 50, nil, "")
	if d := c.DynamicPartitioningConfiguration; d != nil && d.RetryOptions != nil {
		v.num(path+".dynamicPartitioningConfiguration.retryOptions.durationInSeconds", d.RetryOptions.DurationInSeconds, 0, 7200)
	}
}

func (v *validator) httpEndpoint(path string, c *model.HttpEndpointDestinationConfiguration, update bool) {
	if c == nil {
		return
	}
	if c.EndpointConfiguration == nil {
		if !update {
			v.null(path + ".endpointConfiguration")
		}
	} else {
		e := c.EndpointConfiguration
		v.str(path+".endpointConfiguration.url", e.Url, true, 1, 1000, nil, "")
		v.str(path+".endpointConfiguration.name", e.Name, false, 1, 256, nil, "")
		v.str(path+".endpointConfiguration.accessKey", e.AccessKey, false, 0, 4096, nil, "")
	}
	v.hints(path+".bufferingHints", c.BufferingHints, 64)
	if r := c.RequestConfiguration; r != nil {
		v.enum(path+".requestConfiguration.contentEncoding", r.ContentEncoding, "NONE", "GZIP")
		if len(r.CommonAttributes) > 50 {
			v.fail(path+".requestConfiguration.commonAttributes", "'[...]'", "Member must have length less than or equal to 50")
		}
	}
	if r := c.RetryOptions; r != nil {
		v.num(path+".retryOptions.durationInSeconds", r.DurationInSeconds, 0, 7200)
	}
	v.enum(path+".s3BackupMode", c.S3BackupMode, "FailedDataOnly", "AllData")
	if c.S3Configuration == nil && !update {
		v.null(path + ".s3Configuration")
	}
	v.s3(path+".s3Configuration", c.S3Configuration, update)
	v.processing(path+".processingConfiguration", c.ProcessingConfiguration)
}

func (v *validator) redshift(path string, c *model.RedshiftDestinationConfiguration, update bool) {
	if c == nil {
		return
	}
	v.str(path+".roleARN", c.RoleARN, !update, 1, 512, match(roleARNPattern), roleARNPatternText)
	v.str(path+".clusterJDBCURL", c.ClusterJDBCURL, !update, 1, 512, nil, "")
	if c.CopyCommand == nil {
		if !update {
			v.null(path + ".copyCommand")
		}
	} else {
		v.str(path+".copyCommand.dataTableName", c.CopyCommand.DataTableName, true, 1, 512, nil, "")
	}
	v.str(path+".username", c.Username, false, 1, 512, nil, "")
	v.str(path+".password", c.Password, false, 6, 512, nil, "")
	if r := c.RetryOptions; r != nil {
		v.num(path+".retryOptions.durationInSeconds", r.DurationInSeconds, 0, 7200)
	}
	if c.S3Configuration == nil && !update {
		v.null(path + ".s3Configuration")
	}
	v.s3(path+".s3Configuration", c.S3Configuration, update)
	v.enum(path+".s3BackupMode", c.S3BackupMode, "Disabled", "Enabled")
	v.s3(path+".s3BackupConfiguration", c.S3BackupConfiguration, update)
	v.processing(path+".processingConfiguration", c.ProcessingConfiguration)
}

func (v *validator) streamEncryption(path string, e *model.DeliveryStreamEncryptionConfigurationInput) {
	if e == nil {
		return
	}
	if e.KeyType == "" {
		v.null(path + ".keyType")
	}
	v.enum(path+".keyType", e.KeyType, "AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK")
	v.str(path+".keyARN", e.KeyARN, false, 1, 512, match(keyARNPattern), keyARNPatternText)
}

// validateCreateShape is the front end's check of CreateDeliveryStream.
func validateCreateShape(in *CreateDeliveryStreamInput) error {
	var v validator
	v.name("deliveryStreamName", in.DeliveryStreamName)
	v.enum("deliveryStreamType", in.DeliveryStreamType, model.TypeDirectPut, model.TypeKinesisSource, "MSKAsSource", "DatabaseAsSource")
	if d := in.DirectPutSourceConfiguration; d != nil {
		if d.ThroughputHintInMBs == nil {
			v.null("directPutSourceConfiguration.throughputHintInMBs")
		}
		v.num("directPutSourceConfiguration.throughputHintInMBs", d.ThroughputHintInMBs, 1, 100)
	}
	if k := in.KinesisStreamSourceConfiguration; k != nil {
		v.str("kinesisStreamSourceConfiguration.kinesisStreamARN", k.KinesisStreamARN, true, 1, 512, match(kinesisARNPattern), kinesisARNPatternText)
		v.str("kinesisStreamSourceConfiguration.roleARN", k.RoleARN, true, 1, 512, match(roleARNPattern), roleARNPatternText)
	}
	v.streamEncryption("deliveryStreamEncryptionConfigurationInput", in.DeliveryStreamEncryptionConfigurationInput)
	v.s3("s3DestinationConfiguration", in.S3DestinationConfiguration, false)
	v.extendedS3("extendedS3DestinationConfiguration", in.ExtendedS3DestinationConfiguration, false)
	v.httpEndpoint("httpEndpointDestinationConfiguration", in.HttpEndpointDestinationConfiguration, false)
	v.redshift("redshiftDestinationConfiguration", in.RedshiftDestinationConfiguration, false)
	if in.Tags != nil {
		v.tags("tags", in.Tags, 1)
	}
	return v.err()
}

// present reports whether a raw member was given (null means absent).
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// unsupported names the destinations and sources Rivulet refuses.
func unsupported(what string) error {
	return invalidArg("Rivulet does not support %s; supported destinations are ExtendedS3DestinationConfiguration, "+
		"S3DestinationConfiguration, HttpEndpointDestinationConfiguration and RedshiftDestinationConfiguration "+
		"(delivered to PostgreSQL), with DirectPut or KinesisStreamAsSource sources.", what)
}

// plainS3 is the S3 part of an extended configuration.
func plainS3(c *model.ExtendedS3DestinationConfiguration) *model.S3DestinationConfiguration {
	return &model.S3DestinationConfiguration{
		RoleARN: c.RoleARN, BucketARN: c.BucketARN, Prefix: c.Prefix, ErrorOutputPrefix: c.ErrorOutputPrefix,
		BufferingHints: c.BufferingHints, CompressionFormat: c.CompressionFormat,
		EncryptionConfiguration: c.EncryptionConfiguration, CloudWatchLoggingOptions: c.CloudWatchLoggingOptions,
	}
}

// extendedOf converts the deprecated S3 destination, as AWS does.
func extendedOf(c *model.S3DestinationConfiguration) *model.ExtendedS3DestinationConfiguration {
	return &model.ExtendedS3DestinationConfiguration{
		RoleARN: c.RoleARN, BucketARN: c.BucketARN, Prefix: c.Prefix, ErrorOutputPrefix: c.ErrorOutputPrefix,
		BufferingHints: c.BufferingHints, CompressionFormat: c.CompressionFormat,
		EncryptionConfiguration: c.EncryptionConfiguration, CloudWatchLoggingOptions: c.CloudWatchLoggingOptions,
	}
}

func i32(n int32) *int32 { return &n }

func str(s string) *string { return &s }

func boolp(b bool) *bool { return &b }

// checkHints applies both-or-neither and fills AWS's defaults.
func checkHints(h **model.BufferingHints, defSize int32) error {
	if *h == nil {
		*h = &model.BufferingHints{SizeInMBs: i32(defSize), IntervalInSeconds: i32(300)}
		return nil
	}
	if ((*h).SizeInMBs == nil) != ((*h).IntervalInSeconds == nil) {
		return invalidArg("BufferingHints must specify both SizeInMBs and IntervalInSeconds, or neither.")
	}
	if (*h).SizeInMBs == nil {
		(*h).SizeInMBs, (*h).IntervalInSeconds = i32(defSize), i32(300)
	}
	return nil
}

// completeS3 checks a plain S3 configuration's rules and fills defaults.
func completeS3(c *model.S3DestinationConfiguration) error {
	if err := checkHints(&c.BufferingHints, 5); err != nil {
		return err
	}
	fillS3Common(&c.Prefix, &c.CompressionFormat, &c.EncryptionConfiguration, &c.CloudWatchLoggingOptions)
	return checkS3Encryption(c.EncryptionConfiguration)
}

func fillS3Common(pfx **string, comp *string, enc **model.EncryptionConfiguration, cw **model.CloudWatchLoggingOptions) {
	if *pfx == nil {
		*pfx = str("")
	}
	if *comp == "" {
		*comp = "UNCOMPRESSED"
	}
	if *enc == nil {
		*enc = &model.EncryptionConfiguration{NoEncryptionConfig: "NoEncryption"}
	}
	fillCloudWatch(cw)
}

func fillCloudWatch(cw **model.CloudWatchLoggingOptions) {
	if *cw == nil {
		*cw = &model.CloudWatchLoggingOptions{Enabled: boolp(false)}
	} else if (*cw).Enabled == nil {
		(*cw).Enabled = boolp(false)
	}
}

func checkS3Encryption(e *model.EncryptionConfiguration) error {
	if e.KMSEncryptionConfig != nil && e.NoEncryptionConfig != "" {
		return invalidArg("EncryptionConfiguration may specify either NoEncryptionConfig or KMSEncryptionConfig, not both.")
	}
	if e.KMSEncryptionConfig == nil && e.NoEncryptionConfig == "" {
		e.NoEncryptionConfig = "NoEncryption"
	}
	return nil
}

// completeExtendedS3 checks an ExtendedS3 destination's rules and fills
// defaults; create is false for UpdateDestination's merged result.
func completeExtendedS3(c *model.ExtendedS3DestinationConfiguration, create bool, wasDynamic bool) error {
	conv := c.DataFormatConversionConfiguration.On()
	defSize := int32(5)
	if conv {
		defSize = 128
	}
	if err := checkHints(&c.BufferingHints, defSize); err != nil {
		return err
	}
	fillS3Common(&c.Prefix, &c.CompressionFormat, &c.EncryptionConfiguration, &c.CloudWatchLoggingOptions)
	if err := checkS3Encryption(c.EncryptionConfiguration); err != nil {
		return err
	}
	if c.S3BackupMode == "" {
		c.S3BackupMode = "Disabled"
	}
	if c.S3BackupMode == "Enabled" {
		if c.S3BackupConfiguration == nil {
			return invalidArg("S3BackupConfiguration is required when S3BackupMode is Enabled.")
		}
	}
	if c.S3BackupConfiguration != nil {
		if err := completeS3(c.S3BackupConfiguration); err != nil {
			return err
		}
	}
	dynamic := false
	if d := c.DynamicPartitioningConfiguration; d != nil && d.Enabled != nil && *d.Enabled {
		dynamic = true
		if !create && !wasDynamic {
			return invalidArg("Dynamic partitioning can only be enabled when the delivery stream is created.")
		}
		if model.Str(c.ErrorOutputPrefix) == "" {
			return invalidArg("ErrorOutputPrefix is required when dynamic partitioning is enabled.")
		}
		if d.RetryOptions == nil {
			d.RetryOptions = &model.RetryOptions{DurationInSeconds: i32(300)}
		}
	} else if wasDynamic {
		return invalidArg("Dynamic partitioning cannot be disabled once it is enabled.")
	}
	if conv {
		if c.CompressionFormat != "UNCOMPRESSED" {
			return invalidArg("CompressionFormat must be set to UNCOMPRESSED when data format conversion is enabled.")
		}
		if *c.BufferingHints.SizeInMBs < 64 {
			return invalidArg("BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled.")
		}
		if err := encode.ValidateConversion(c.DataFormatConversionConfiguration); err != nil {
			if ce, ok := errors.AsType[*encode.ConstraintError](err); ok {
				return errorf(ErrValidation, "%s", ce.Message) // AWS checks bounds before rules
			}
			return invalidArg("%s", err.Error())
		}
	}
	if c.ProcessingConfiguration != nil {
		if err := process.Validate(c.ProcessingConfiguration, dynamic); err != nil {
			return invalidArg("%s", err.Error())
		}
	}
	if err := prefix.Validate(model.Str(c.Prefix), model.Str(c.ErrorOutputPrefix), dynamic); err != nil {
		return invalidArg("%s", err.Error())
	}
	return nil
}

func completeHTTPEndpoint(c *model.HttpEndpointDestinationConfiguration) error {
	if c.EndpointConfiguration == nil || c.EndpointConfiguration.Url == nil {
		return invalidArg("HttpEndpointDestinationConfiguration requires EndpointConfiguration.Url.")
	}
	u := *c.EndpointConfiguration.Url
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return invalidArg("EndpointConfiguration.Url must be an https:// (or, in Rivulet, http://) URL: %s", u)
	}
	if c.S3Configuration == nil {
		return invalidArg("HttpEndpointDestinationConfiguration requires S3Configuration.")
	}
	if err := checkHints(&c.BufferingHints, 5); err != nil {
		return err
	}
	fillCloudWatch(&c.CloudWatchLoggingOptions)
	if c.RequestConfiguration == nil {
		c.RequestConfiguration = &model.HttpEndpointRequestConfiguration{}
	}
	if c.RequestConfiguration.ContentEncoding == "" {
		c.RequestConfiguration.ContentEncoding = "NONE"
	}
	if c.RetryOptions == nil || c.RetryOptions.DurationInSeconds == nil {
		c.RetryOptions = &model.RetryOptions{DurationInSeconds: i32(300)}
	}
	if c.S3BackupMode == "" {
		c.S3BackupMode = "FailedDataOnly"
	}
	if err := completeS3(c.S3Configuration); err != nil {
		return err
	}
	if c.ProcessingConfiguration != nil {
		if err := process.Validate(c.ProcessingConfiguration, false); err != nil {
			return invalidArg("%s", err.Error())
		}
	}
	return nil
}

func completeRedshift(c *model.RedshiftDestinationConfiguration) error {
	u := model.Str(c.ClusterJDBCURL)
	ok := false
	for _, p := range []string{"jdbc:redshift://", "jdbc:postgresql://", "postgres://", "postgresql://"} {
		ok = ok || strings.HasPrefix(u, p)
	}
	if !ok {
		return invalidArg("ClusterJDBCURL must be a jdbc:postgresql:// (or jdbc:redshift://, postgres://) URL of the PostgreSQL database to load: %s", u)
	}
	if c.CopyCommand == nil || model.Str(c.CopyCommand.DataTableName) == "" {
		return invalidArg("RedshiftDestinationConfiguration requires CopyCommand.DataTableName.")
	}
	if c.Username == nil || c.Password == nil {
		return invalidArg("RedshiftDestinationConfiguration requires Username and Password.")
	}
	if c.S3Configuration == nil {
		return invalidArg("RedshiftDestinationConfiguration requires S3Configuration.")
	}
	if f := c.S3Configuration.CompressionFormat; f == "ZIP" || f == "Snappy" || f == "HADOOP_SNAPPY" {
		return invalidArg("CompressionFormat %s is not supported for the Redshift destination's S3Configuration; use UNCOMPRESSED or GZIP.", f)
	}
	if err := completeS3(c.S3Configuration); err != nil {
		return err
	}
	if c.RetryOptions == nil || c.RetryOptions.DurationInSeconds == nil {
		c.RetryOptions = &model.RetryOptions{DurationInSeconds: i32(3600)}
	}
	if c.S3BackupMode == "" {
		c.S3BackupMode = "Disabled"
	}
	if c.S3BackupMode == "Enabled" && c.S3BackupConfiguration == nil {
		return invalidArg("S3BackupConfiguration is required when S3BackupMode is Enabled.")
	}
	if c.S3BackupConfiguration != nil {
		if err := completeS3(c.S3BackupConfiguration); err != nil {
			return err
		}
	}
	fillCloudWatch(&c.CloudWatchLoggingOptions)
	if c.ProcessingConfiguration != nil {
		if err := process.Validate(c.ProcessingConfiguration, false); err != nil {
			return invalidArg("%s", err.Error())
		}
	}
	return nil
}

// checkStreamEncryption is the rule for an encryption input's key.
func checkStreamEncryption(e *model.DeliveryStreamEncryptionConfigurationInput) error {
	switch e.KeyType {
	case "CUSTOMER_MANAGED_CMK":
		if e.KeyARN == nil {
			return invalidArg("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
		}
	case "AWS_OWNED_CMK":
		if e.KeyARN != nil {
			return invalidArg("KeyARN must not be specified when KeyType is AWS_OWNED_CMK.")
		}
	}
	return nil
}

// destinationOf checks CreateDeliveryStream's destinations: exactly one,
// supported, valid. It returns it with defaults filled.
func destinationOf(in *CreateDeliveryStreamInput) (model.Destination, error) {
	for _, u := range []struct {
		raw  json.RawMessage
		name string
	}{
		{in.ElasticsearchDestinationConfiguration, "ElasticsearchDestinationConfiguration"},
		{in.AmazonopensearchserviceDestinationConfiguration, "AmazonopensearchserviceDestinationConfiguration"},
		{in.AmazonOpenSearchServerlessDestinationConfiguration, "AmazonOpenSearchServerlessDestinationConfiguration"},
		{in.SplunkDestinationConfiguration, "SplunkDestinationConfiguration"},
		{in.SnowflakeDestinationConfiguration, "SnowflakeDestinationConfiguration"},
		{in.IcebergDestinationConfiguration, "IcebergDestinationConfiguration"},
	} {
		if present(u.raw) {
			return model.Destination{}, unsupported(u.name)
		}
	}
	n := 0
	for _, set := range []bool{in.S3DestinationConfiguration != nil, in.ExtendedS3DestinationConfiguration != nil,
		in.HttpEndpointDestinationConfiguration != nil, in.RedshiftDestinationConfiguration != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return model.Destination{}, invalidArg("Exactly one destination configuration must be specified; %d were given.", n)
	}
	var d model.Destination
	switch {
	case in.S3DestinationConfiguration != nil:
		d.ExtendedS3 = extendedOf(in.S3DestinationConfiguration)
		return d, completeExtendedS3(d.ExtendedS3, true, false)
	case in.ExtendedS3DestinationConfiguration != nil:
		d.ExtendedS3 = in.ExtendedS3DestinationConfiguration
		return d, completeExtendedS3(d.ExtendedS3, true, false)
	case in.HttpEndpointDestinationConfiguration != nil:
		d.HTTPEndpoint = in.HttpEndpointDestinationConfiguration
		return d, completeHTTPEndpoint(d.HTTPEndpoint)
	default:
		d.Redshift = in.RedshiftDestinationConfiguration
		return d, completeRedshift(d.Redshift)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
