// Package s3 is an object store on Amazon S3 or an S3-compatible server.
// It is the only package that uses the S3 SDK.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

const (
	// DefaultPartSize is the multipart threshold and part size.
	DefaultPartSize = 16 << 20
	// MinPartSize is S3's smallest part (but the last).
	MinPartSize = 5 << 20
	// maxParts is S3's limit on parts per upload.
	maxParts = 10000
	// DefaultRegion is used when neither Config nor the environment names one.
	DefaultRegion = "us-east-1"
)

// HTTPClient sends the SDK's requests; *http.Client is one.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// Config says which S3 to use and how.
type Config struct {
	// Endpoint is a custom S3 endpoint URL (such as http://127.0.0.1:7070);
	// empty means AWS.
	Endpoint string
	// Region defaults to the environment's (AWS_REGION, shared config),
	// else us-east-1.
	Region string
	// PathStyle addresses buckets as http://host/bucket. A custom Endpoint
	// implies it unless VirtualHostStyle is set.
	PathStyle        bool
	VirtualHostStyle bool
	// Static credentials; when AccessKeyID is empty the SDK's default
	// chain (environment, shared files, instance role) is used.
	AccessKeyID, SecretAccessKey, SessionToken string
	// PartSize is the multipart threshold and part size: bodies up to it
	// go in one PutObject. Default DefaultPartSize; at least MinPartSize.
	PartSize int64
	// HTTPClient, if set, sends the requests.
	HTTPClient HTTPClient
}

// Store is a dest.ObjectStore on S3.
type Store struct {
	client   *s3sdk.Client
	partSize int64
}

var _ dest.ObjectStore = (*Store)(nil)

// New builds a Store. It does not contact S3.
func New(ctx context.Context, cfg Config) (*Store, error) {
	partSize := cfg.PartSize
	switch {
	case partSize == 0:
		partSize = DefaultPartSize
	case partSize < MinPartSize:
		return nil, fmt.Errorf("s3: part size %d is below S3's minimum of %d bytes", partSize, MinPartSize)
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		if cfg.SecretAccessKey == "" {
			return nil, errors.New("s3: AccessKeyID given without SecretAccessKey")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	client := s3sdk.NewFromConfig(awsCfg, func(o *s3sdk.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = !cfg.VirtualHostStyle
		}
		if cfg.HTTPClient != nil {
			// Set here, not in LoadDefaultConfig, which would demand a
			// BuildableClient when AWS_CA_BUNDLE is set: a custom client
			// brings its own TLS settings.
			o.HTTPClient = cfg.HTTPClient
		}
		if cfg.PathStyle {
			o.UsePathStyle = true
		}
		// Integrity comes from headers this package sets (see Put); the
		// SDK's default flexible checksums travel in an aws-chunked
		// trailer, which many S3-compatible servers do not accept.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if overTLS(cfg.Endpoint) {
			// TLS protects the body in transit: hashing it for the
			// signature as well would cost a SHA-256 pass on each side.
			o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		}
	})
	return &Store{client: client, partSize: partSize}, nil
}

// overTLS reports whether requests go over HTTPS: to AWS (no endpoint) or
// to an https:// endpoint.
func overTLS(endpoint string) bool {
	if endpoint == "" {
		return true
	}
	u, err := url.Parse(endpoint)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}

func check(bucket, key string) error {
	if bucket == "" {
		return errors.New("s3: empty bucket name")
	}
	if key == "" {
		return errors.New("s3: empty key")
	}
	return nil
}

// checksumCRC32 is the x-amz-checksum-crc32 header of b. With the body's
// SHA-256 in the signature (over HTTP) or TLS (over HTTPS) it is not
// needed for integrity in transit, but it is cheap, the server checks it
// against what it stores, and S3 requires a checksum or Content-MD5 on
// every PutObject into an Object Lock bucket. Content-MD5 would do too,
// at the cost of an MD5 pass on each side; the server computes its own
// MD5 for the ETag in any case.
func checksumCRC32(b []byte) *string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(b))
	return aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}

func contentMD5(b []byte) *string {
	sum := md5.Sum(b)
	return aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}

// Put uploads body in one PutObject when it fits in a part, else as a
// multipart upload, which it aborts on failure.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte) error {
	if err := check(bucket, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if int64(len(body)) <= s.partSize {
		_, err := s.client.PutObject(ctx, &s3sdk.PutObjectInput{
			Bucket:        aws.String(bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			ChecksumCRC32: checksumCRC32(body),
		})
		if err != nil {
			return fmt.Errorf("s3: put %s/%s: %w", bucket, key, err)
		}
		return nil
	}
	return s.putMultipart(ctx, bucket, key, body)
}

func (s *Store) putMultipart(ctx context.Context, bucket, key string, body []byte) error {
	partSize := max(s.partSize, (int64(len(body))+maxParts-1)/maxParts)
	created, err := s.client.CreateMultipartUpload(ctx, &s3sdk.CreateMultipartUploadInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return fmt.Errorf("s3: put %s/%s: create multipart upload: %w", bucket, key, err)
	}
	uploadID := created.UploadId
	if err := s.uploadParts(ctx, bucket, key, uploadID, body, partSize); err != nil {
		s.abort(ctx, bucket, key, uploadID)
		return fmt.Errorf("s3: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (s *Store) uploadParts(ctx context.Context, bucket, key string, uploadID *string, body []byte, partSize int64) error {
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < int64(len(body)); off, n = off+partSize, n+1 {
		part := body[off:min(off+partSize, int64(len(body)))]
		out, err := s.client.UploadPart(ctx, &s3sdk.UploadPartInput{
			Bucket:        aws.String(bucket),
			Key:           aws.String(key),
			UploadId:      uploadID,
			PartNumber:    aws.Int32(n),
			Body:          bytes.NewReader(part),
			ContentLength: aws.Int64(int64(len(part))),
			// Content-MD5, not a CRC32: a part checksum would bind the
			// whole upload to that algorithm, which some S3-compatible
			// servers do not implement for multipart uploads.
			ContentMD5: contentMD5(part),
		})
		if err != nil {
			return fmt.Errorf("upload part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3sdk.CompleteMultipartUploadInput{
		Bucket:          aws.String(bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	return nil
}

// abortTimeout bounds the cleanup of a failed upload, which runs even when
// the caller's context is done so no parts are left to be billed.
const abortTimeout = time.Minute

func (s *Store) abort(ctx context.Context, bucket, key string, uploadID *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3sdk.AbortMultipartUploadInput{
		Bucket:   aws.String(bucket),
		Key:      aws.String(key),
		UploadId: uploadID,
	})
	if err != nil {
		slog.Warn("s3: aborting multipart upload", "bucket", bucket, "key", key, "uploadId", aws.ToString(uploadID), "err", err)
	}
}

// Get reads an object; an error wrapping dest.ErrNotFound when the key or
// the bucket does not exist.
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := check(bucket, key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3sdk.GetObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return nil, wrap("get "+bucket+"/"+key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(n))
	}
	if _, err := io.Copy(&buf, out.Body); err != nil {
		return nil, fmt.Errorf("s3: get %s/%s: reading body: %w", bucket, key, err)
	}
	return buf.Bytes(), nil
}

// List returns the keys under prefix, sorted, following every page.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if bucket == "" {
		return nil, errors.New("s3: empty bucket name")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := &s3sdk.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var keys []string
	for p := s3sdk.NewListObjectsV2Paginator(s.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list "+bucket+"/"+prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	// S3 lists in UTF-8 byte order already; sorting makes it a guarantee
	// for servers that do not.
	slices.Sort(keys)
	return keys, nil
}

// wrap adds dest.ErrNotFound to errors that mean a missing key or bucket.
func wrap(op string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3: %s: %w: %w", op, dest.ErrNotFound, err)
	}
	return fmt.Errorf("s3: %s: %w", op, err)
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nsb) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return true
		}
	}
	return false
}
