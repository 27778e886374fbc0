package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/encode"
	"github.com/rivulet/rivulet/internal/delivery/prefix"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

// planKey names one configuration of one delivery stream.
type planKey struct {
	id      string
	version int
}

// plan is a delivery stream's configuration built for delivery: the
// pipeline, parsed prefixes, converter and sink. Built once per
// (ID, VersionID) and shared by every source shard.
type plan struct {
	pipe *process.Pipeline
	// out is where objects go: the ExtendedS3 bucket, or the S3
	// configuration of an HTTP endpoint (failures, backups) or Redshift
	// (staging, failures).
	out    *s3Loc
	backup *s3Loc // S3 backup of the source records, nil when off
	conv   *encode.Converter
	// dynamic is ExtendedS3 dynamic partitioning.
	dynamic bool
	fileExt string
	sink    dest.Sink
	// retry is how long the sink is retried after its first failure.
	retry time.Duration
}

// s3Loc is one bucket with its prefixes and compression.
type s3Loc struct {
	bucket      string
	rawPrefix   string
	prefix      *prefix.Expr
	errPrefix   *prefix.Expr // nil: AWS's default error path
	compression string
	loc         *time.Location
}

// bucketName takes the bucket out of "arn:aws:s3:::NAME".
func bucketName(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" || parts[5] == "" || strings.Contains(parts[5], "/") {
		return "", fmt.Errorf("delivery: BucketARN %q is not arn:aws:s3:::NAME", arn)
	}
	return parts[5], nil
}

func newS3Loc(bucketARN, pfx, errPfx *string, compression string, loc *time.Location) (*s3Loc, error) {
	b, err := bucketName(model.Str(bucketARN))
	if err != nil {
		return nil, err
	}
	l := &s3Loc{bucket: b, rawPrefix: model.Str(pfx), compression: compression, loc: loc}
	if l.compression == "" {
		l.compression = encode.Uncompressed
	}
	if l.prefix, err = prefix.Parse(l.rawPrefix, prefix.KindPrefix); err != nil {
		return nil, fmt.Errorf("delivery: Prefix: %w", err)
	}
	if s := model.Str(errPfx); s != "" {
		if l.errPrefix, err = prefix.Parse(s, prefix.KindError); err != nil {
			return nil, fmt.Errorf("delivery: ErrorOutputPrefix: %w", err)
		}
	}
	return l, nil
}

func fromS3Config(c *model.S3DestinationConfiguration, loc *time.Location) (*s3Loc, error) {
	if c == nil {
		return nil, errors.New("delivery: missing S3 configuration")
	}
	return newS3Loc(c.BucketARN, c.Prefix, c.ErrorOutputPrefix, c.CompressionFormat, loc)
}

// planFor returns the delivery stream's plan, building it on first use.
// A plan that cannot be built (a configuration the API let through but
// the engine cannot run) is retried until ctx ends rather than dropping
// data: UpdateDestination fixes it, as a new VersionID.
func (e *Engine) planFor(ctx context.Context, ds *model.DeliveryStream) (*plan, error) {
	k := planKey{ds.ID, ds.VersionID}
	for n := 0; ; n++ {
		e.mu.Lock()
		p := e.plans[k]
		e.mu.Unlock()
		if p != nil {
			return p, nil
		}
		p, err := e.buildPlan(ds)
		if err == nil {
			e.mu.Lock()
			if old := e.plans[k]; old != nil {
				e.mu.Unlock()
				p.close()
				return old, nil
			}
			e.plans[k] = p
			e.mu.Unlock()
			return p, nil
		}
		e.cfg.Logger.Error("delivery: cannot run this configuration", "deliveryStream", ds.Name, "version", ds.VersionID, "err", err)
		if err := sleep(ctx, e.backoff(min(n, 7))); err != nil {
			return nil, err
		}
	}
}

// forget closes and drops every plan of a delivery stream.
func (e *Engine) forget(id string) {
	e.mu.Lock()
	var drop []*plan
	for k, p := range e.plans {
		if k.id == id {
			drop = append(drop, p)
			delete(e.plans, k)
		}
	}
	e.mu.Unlock()
	for _, p := range drop {
		p.close()
	}
}

func (p *plan) close() {
	if p.sink != nil {
		_ = p.sink.Close()
	}
}

func (e *Engine) buildPlan(ds *model.DeliveryStream) (p *plan, err error) {
	p = &plan{}
	opts := process.Options{
		DeliveryStreamARN: ds.ARN(),
		Region:            ds.Region,
		HTTPClient:        e.cfg.HTTPClient,
		LambdaEndpoint:    e.cfg.LambdaEndpoint,
	}
	if ds.Source != nil {
		opts.SourceStreamARN = model.Str(ds.Source.KinesisStreamARN)
	}
	var pc *model.ProcessingConfiguration
	d := ds.Destination
	switch {
	case d.ExtendedS3 != nil:
		c := d.ExtendedS3
		loc := time.UTC
		if tz := model.Str(c.CustomTimeZone); tz != "" {
			if loc, err = time.LoadLocation(tz); err != nil {
				return nil, fmt.Errorf("delivery: CustomTimeZone %q: %w", tz, err)
			}
		}
		if p.out, err = newS3Loc(c.BucketARN, c.Prefix, c.ErrorOutputPrefix, c.CompressionFormat, loc); err != nil {
			return nil, err
		}
		if c.S3BackupMode == "Enabled" {
			if p.backup, err = fromS3Config(c.S3BackupConfiguration, loc); err != nil {
				return nil, fmt.Errorf("delivery: S3BackupConfiguration: %w", err)
			}
		}
		if dc := c.DataFormatConversionConfiguration; dc.On() {
			if p.conv, err = encode.NewConverter(dc); err != nil {
				return nil, err
			}
		}
		dp := c.DynamicPartitioningConfiguration
		p.dynamic = dp != nil && dp.Enabled != nil && *dp.Enabled
		opts.DynamicPartitioning = p.dynamic
		p.fileExt = model.Str(c.FileExtension)
		pc = c.ProcessingConfiguration
	case d.HTTPEndpoint != nil:
		c := d.HTTPEndpoint
		if p.out, err = fromS3Config(c.S3Configuration, time.UTC); err != nil {
			return nil, err
		}
		if p.sink, err = e.newHTTPSink(ds, c); err != nil {
			return nil, err
		}
		p.retry = time.Duration(model.Int(retryOf(c.RetryOptions), 300)) * time.Second
		pc = c.ProcessingConfiguration
	case d.Redshift != nil:
		c := d.Redshift
		if p.out, err = fromS3Config(c.S3Configuration, time.UTC); err != nil {
			return nil, err
		}
		if c.S3BackupMode == "Enabled" {
			if p.backup, err = fromS3Config(c.S3BackupConfiguration, time.UTC); err != nil {
				return nil, fmt.Errorf("delivery: S3BackupConfiguration: %w", err)
			}
		}
		if p.sink, err = e.newPostgresSink(ds, c); err != nil {
			return nil, err
		}
		p.retry = time.Duration(model.Int(retryOf(c.RetryOptions), 3600)) * time.Second
		pc = c.ProcessingConfiguration
	default:
		return nil, errors.New("delivery: no destination")
	}
	if p.pipe, err = process.New(pc, opts); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func retryOf(r *model.RetryOptions) *int32 {
	if r == nil {
		return nil
	}
	return r.DurationInSeconds
}
