package rivulet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/delivery"
	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/local"
	"github.com/rivulet/rivulet/internal/delivery/dest/s3"
)

// Firehose configures where delivery streams deliver (docs/FIREHOSE.md).
type Firehose struct {
	// BucketDir holds the buckets that BucketARNs name, one directory
	// each, when S3 is nil: the local directory destination, a Rivulet
	// extension. Empty means DataDir/buckets, or a new temporary
	// directory for an in-memory server, removed at shutdown.
	BucketDir string
	// S3, if set, sends every BucketARN bucket to an S3-compatible store
	// instead.
	S3 *S3
	// LambdaEndpoint is where a transformation's LambdaArn is invoked when
	// it is an ARN (the Lambda Invoke API path); a LambdaArn that is an
	// http(s) URL is posted to directly.
	LambdaEndpoint string
	// Off serves the Firehose API but delivers nothing from this process;
	// other processes on the same NATS deliver.
	Off bool
}

// S3 is an S3-compatible object store.
type S3 struct {
	// Endpoint is its URL, such as "http://127.0.0.1:7070"; empty means
	// AWS's S3 in Region.
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey; when empty, the AWS SDK's default
	// chain (AWS_ACCESS_KEY_ID and the like, shared config files).
	AccessKeyID, SecretAccessKey, SessionToken string
	// VirtualHosted addresses buckets as bucket.host instead of the path
	// style that S3-compatible servers expect.
	VirtualHosted bool
}

// objectStore opens where bucket ARNs go. temp is a directory made for an
// in-memory server, removed at shutdown like the rest of its state.
func objectStore(ctx context.Context, cfg Config, logger *slog.Logger) (objects dest.ObjectStore, temp string, err error) {
	f := cfg.Firehose
	if f.S3 != nil {
		objects, err = s3.New(ctx, s3.Config{
			Endpoint: f.S3.Endpoint, Region: f.S3.Region, VirtualHostStyle: f.S3.VirtualHosted,
			AccessKeyID: f.S3.AccessKeyID, SecretAccessKey: f.S3.SecretAccessKey, SessionToken: f.S3.SessionToken,
		})
		return objects, "", err
	}
	dir := f.BucketDir
	switch {
	case dir != "":
	case cfg.DataDir != "":
		dir = filepath.Join(cfg.DataDir, "buckets")
	default:
		d, err := os.MkdirTemp("", "rivulet-buckets-")
		if err != nil {
			return nil, "", err
		}
		dir, temp = d, d
		logger.Info("delivery streams deliver to a temporary directory", "bucket_dir", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, temp, fmt.Errorf("bucket directory: %w", err)
	}
	objects, err = local.New(dir, local.Options{Sync: cfg.SyncAlways})
	return objects, temp, err
}

// inProcess serves the SDK clients of Kinesis-sourced delivery streams
// from the server's own handlers, without a network hop or a signature
// check: Firehose acts as the service, as AWS's does with its role.
type inProcess struct{ h http.Handler }

func (p inProcess) Do(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// deliveryClients returns the Kinesis and lease-table clients of one
// account and region: the account is the access key, as the handlers read
// it without --auth=sigv4.
func deliveryClients(h http.Handler) delivery.Clients {
	return func(account, region string) (consumer.KinesisAPI, consumer.DynamoDBAPI) {
		creds := credentials.NewStaticCredentialsProvider(account, "rivulet-firehose", "")
		base := aws.String("http://rivulet.internal")
		k := awskinesis.New(awskinesis.Options{Region: region, Credentials: creds, BaseEndpoint: base, HTTPClient: inProcess{h}})
		d := awsddb.New(awsddb.Options{Region: region, Credentials: creds, BaseEndpoint: base, HTTPClient: inProcess{h}})
		return k, d
	}
}

// runDelivery runs the engine until ctx ends; done is closed after.
func runDelivery(ctx context.Context, e *delivery.Engine, logger *slog.Logger, done chan<- struct{}) {
	defer close(done)
	if err := e.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("delivery engine stopped", "err", err)
	}
}
