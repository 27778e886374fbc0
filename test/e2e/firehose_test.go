package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// fhRole is the RoleARN every destination names; Rivulet records it and
// does not assume it.
const fhRole = "arn:aws:iam::000000000000:role/firehose"

// startFirehose starts a server whose buckets are directories under the
// returned bucket directory.
func startFirehose(t *testing.T, opts serverOptions) (*server, string) {
	t.Helper()
	dir := t.TempDir()
	opts.extra = append([]string{"--bucket-dir", dir}, opts.extra...)
	return startServer(t, opts), dir
}

// firehoseClient returns an aws-sdk-go-v2 Firehose client for s.
func (s *server) firehose() *firehose.Client {
	return firehose.NewFromConfig(aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		HTTPClient:  s.http,
	}, func(o *firehose.Options) { o.BaseEndpoint = aws.String(s.endpoint()) })
}

// waitDeliveryActive polls DescribeDeliveryStream until ACTIVE.
func waitDeliveryActive(ctx context.Context, t *testing.T, c *firehose.Client, name string) *fhtypes.DeliveryStreamDescription {
	t.Helper()
	for {
		out, err := c.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeDeliveryStream %s: %v", name, err)
		}
		if out.DeliveryStreamDescription.DeliveryStreamStatus == fhtypes.DeliveryStreamStatusActive {
			return out.DeliveryStreamDescription
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never became ACTIVE: %s", name, out.DeliveryStreamDescription.DeliveryStreamStatus)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// bucketFiles reads every object under dir/bucket/prefix, by key.
func bucketFiles(t *testing.T, dir, bucket, prefix string) map[string][]byte {
	t.Helper()
	root := filepath.Join(dir, bucket)
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		key, _ := filepath.Rel(root, p)
		key = filepath.ToSlash(key)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[key] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gunzip decompresses with /usr/bin/gzip -d: a reader independent of
// the one that wrote.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("/usr/bin/gzip", "-d", "-c")
	cmd.Stdin = bytes.NewReader(b)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gzip -d: %v: %s", err, errb.String())
	}
	return out.Bytes()
}

// lines splits delivered objects into their newline-ended records and
// counts each.
func countLines(objects map[string][]byte, decode func([]byte) []byte) map[string]int {
	n := map[string]int{}
	for _, b := range objects {
		if decode != nil {
			b = decode(b)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if l != "" {
				n[l]++
			}
		}
	}
	return n
}

// awsCLI firehose: create, describe, put-record, put-record-batch, list,
// tags and errors, then the objects in the bucket directory, GZIP, read
// back with gzip -d.
func TestFirehoseAWSCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, dir := startFirehose(t, serverOptions{})

	dest := `{"RoleARN":"` + fhRole + `","BucketARN":"arn:aws:s3:::cli-bucket","Prefix":"logs/","ErrorOutputPrefix":"errors/",` +
		`"BufferingHints":{"SizeInMBs":1,"IntervalInSeconds":60},"CompressionFormat":"GZIP"}`
	var created struct{ DeliveryStreamARN string }
	awsJSON(ctx, t, s, &created, "firehose", "create-delivery-stream", "--delivery-stream-name", "cli-stream",
		"--delivery-stream-type", "DirectPut", "--extended-s3-destination-configuration", dest,
		"--tags", "Key=team,Value=data")
	if want := "arn:aws:firehose:" + region + ":" + account + ":deliverystream/cli-stream"; created.DeliveryStreamARN != want {
		t.Fatalf("DeliveryStreamARN = %q, want %q", created.DeliveryStreamARN, want)
	}
	_, stderr, code := awsRun(ctx, t, s, "firehose", "create-delivery-stream", "--delivery-stream-name", "cli-stream",
		"--extended-s3-destination-configuration", dest)
	if code == 0 || !strings.Contains(stderr, "ResourceInUseException") {
		t.Fatalf("second create: exit %d, %s", code, stderr)
	}
	waitDeliveryActive(ctx, t, s.firehose(), "cli-stream")

	var desc struct {
		DeliveryStreamDescription struct {
			DeliveryStreamName, DeliveryStreamStatus, DeliveryStreamType, VersionId string
			Destinations                                                            []struct {
				DestinationId                    string
				ExtendedS3DestinationDescription struct {
					BucketARN, Prefix, CompressionFormat string
					BufferingHints                       struct{ SizeInMBs, IntervalInSeconds int }
				}
			}
		}
	}
	awsJSON(ctx, t, s, &desc, "firehose", "describe-delivery-stream", "--delivery-stream-name", "cli-stream")
	d := desc.DeliveryStreamDescription
	if d.DeliveryStreamStatus != "ACTIVE" || d.DeliveryStreamType != "DirectPut" || d.VersionId != "1" || len(d.Destinations) != 1 {
		t.Fatalf("describe = %+v", d)
	}
	if e := d.Destinations[0]; e.DestinationId != "destinationId-000000000001" || e.ExtendedS3DestinationDescription.CompressionFormat != "GZIP" ||
		e.ExtendedS3DestinationDescription.BufferingHints.IntervalInSeconds != 60 {
		t.Fatalf("destination = %+v", e)
	}
	// Debian's CLI checks an older model, where the interval starts at 60
	// seconds; the current one (and Rivulet) allows 0. The SDK, which
	// does not check ranges, shortens it.
	_, err := s.firehose().UpdateDestination(ctx, &firehose.UpdateDestinationInput{
		DeliveryStreamName: aws.String("cli-stream"), CurrentDeliveryStreamVersionId: aws.String("1"),
		DestinationId: aws.String("destinationId-000000000001"),
		ExtendedS3DestinationUpdate: &fhtypes.ExtendedS3DestinationUpdate{
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
		},
	})
	if err != nil {
		t.Fatalf("UpdateDestination: %v", err)
	}
	_, stderr, code = awsRun(ctx, t, s, "firehose", "update-destination", "--delivery-stream-name", "cli-stream",
		"--current-delivery-stream-version-id", "1", "--destination-id", "destinationId-000000000001",
		"--extended-s3-destination-update", `{"Prefix":"other/"}`)
	if code == 0 || !strings.Contains(stderr, "ConcurrentModificationException") {
		t.Fatalf("update with a stale version: exit %d, %s", code, stderr)
	}

	// The CLI takes blobs as base64 (AWS CLI v2's default).
	var one struct {
		RecordId  string
		Encrypted bool
	}
	awsJSON(ctx, t, s, &one, "firehose", "put-record", "--delivery-stream-name", "cli-stream",
		"--record", `{"Data":"`+b64("cli-single\n")+`"}`)
	if one.RecordId == "" {
		t.Fatal("put-record returned no RecordId")
	}
	var batch struct {
		FailedPutCount   int
		RequestResponses []struct{ RecordId, ErrorCode string }
	}
	var recs []string
	for i := range 20 {
		recs = append(recs, `{"Data":"`+b64(fmt.Sprintf("cli-batch-%02d\n", i))+`"}`)
	}
	awsJSON(ctx, t, s, &batch, "firehose", "put-record-batch", "--delivery-stream-name", "cli-stream",
		"--records", "["+strings.Join(recs, ",")+"]")
	if batch.FailedPutCount != 0 || len(batch.RequestResponses) != 20 {
		t.Fatalf("put-record-batch = %+v", batch)
	}
	seen := map[string]bool{}
	for _, r := range batch.RequestResponses {
		if r.RecordId == "" || seen[r.RecordId] {
			t.Fatalf("record ids not unique: %+v", batch.RequestResponses)
		}
		seen[r.RecordId] = true
	}

	_, stderr, code = awsRun(ctx, t, s, "firehose", "put-record", "--delivery-stream-name", "missing",
		"--record", `{"Data":"eA=="}`)
	if code == 0 || !strings.Contains(stderr, "ResourceNotFoundException") ||
		!strings.Contains(stderr, "Firehose missing under account "+account+" not found.") {
		t.Fatalf("put to a missing stream: exit %d, %s", code, stderr)
	}

	var list struct {
		DeliveryStreamNames    []string
		HasMoreDeliveryStreams bool
	}
	awsJSON(ctx, t, s, &list, "firehose", "list-delivery-streams")
	if !slices.Equal(list.DeliveryStreamNames, []string{"cli-stream"}) || list.HasMoreDeliveryStreams {
		t.Fatalf("list = %+v", list)
	}
	var tags struct {
		Tags []struct{ Key, Value string }
	}
	awsJSON(ctx, t, s, &tags, "firehose", "list-tags-for-delivery-stream", "--delivery-stream-name", "cli-stream")
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" || tags.Tags[0].Value != "data" {
		t.Fatalf("tags = %+v", tags)
	}

	want := map[string]int{"cli-single": 1}
	for i := range 20 {
		want[fmt.Sprintf("cli-batch-%02d", i)] = 1
	}
	got := waitDelivered(ctx, t, func() map[string]int {
		objs := bucketFiles(t, dir, "cli-bucket", "logs/")
		for k := range objs {
			if !cliKeyRE.MatchString(k) {
				t.Fatalf("object key %q is not in AWS's layout", k)
			}
		}
		return countLines(objs, func(b []byte) []byte { return gunzip(t, b) })
	}, want)
	t.Logf("delivered %d records", len(got))

	awsJSON(ctx, t, s, nil, "firehose", "delete-delivery-stream", "--delivery-stream-name", "cli-stream")
}

// waitDelivered polls read until every wanted record is there, and
// returns the last counts; duplicates are allowed (at least once) and
// logged.
func waitDelivered(ctx context.Context, t *testing.T, read func() map[string]int, want map[string]int) map[string]int {
	t.Helper()
	return waitDeliveredOf(ctx, t, read, want, want)
}

// waitDeliveredOf is waitDelivered where records outside want may be
// delivered too, if they are in sent: a put cut off by a crash may have
// stored its records without acknowledging them.
func waitDeliveredOf(ctx context.Context, t *testing.T, read func() map[string]int, want, sent map[string]int) map[string]int {
	t.Helper()
	for {
		got := read()
		missing := 0
		for k := range want {
			if got[k] == 0 {
				missing++
			}
		}
		if missing == 0 {
			for k := range got {
				if _, ok := sent[k]; !ok {
					t.Fatalf("delivered a record never sent: %q", k)
				}
			}
			if dups := extraDeliveries(got); dups > 0 {
				t.Logf("%d duplicate deliveries (at least once)", dups)
			}
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d records never delivered", missing, len(want))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// putAll sends records with PutRecordBatch, retrying failed entries,
// and returns them as acknowledged.
func putAll(ctx context.Context, t *testing.T, c *firehose.Client, stream string, records []string) {
	t.Helper()
	for len(records) > 0 {
		n := min(len(records), 100)
		var in []fhtypes.Record
		for _, r := range records[:n] {
			in = append(in, fhtypes.Record{Data: []byte(r)})
		}
		out, err := c.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(stream), Records: in})
		if err != nil {
			t.Fatalf("PutRecordBatch: %v", err)
		}
		var retry []string
		for i, r := range out.RequestResponses {
			if r.ErrorCode != nil {
				retry = append(retry, records[i])
			}
		}
		records = append(retry, records[n:]...)
	}
}

// DirectPut and kill -9: every record acknowledged before the kill is
// delivered after the restart.
func TestFirehoseKillDirectPut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	data := t.TempDir()
	bucketDir := t.TempDir()
	opts := serverOptions{dataDir: data, extra: []string{"--bucket-dir", bucketDir}}
	s := startServer(t, opts)
	c := s.firehose()
	_, err := c.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("crash"),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			RoleARN: aws.String(fhRole), BucketARN: aws.String("arn:aws:s3:::crash-bucket"),
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitDeliveryActive(ctx, t, c, "crash")

	put := func(i int) (acked, names []string, err error) {
		var in []fhtypes.Record
		for j := range 50 {
			r := fmt.Sprintf("direct-%04d-%02d", i, j)
			names = append(names, r)
			in = append(in, fhtypes.Record{Data: []byte(r + "\n")})
		}
		out, err := c.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("crash"), Records: in})
		if err != nil {
			return nil, names, err
		}
		for k, r := range out.RequestResponses {
			if r.ErrorCode == nil {
				acked = append(acked, names[k])
			}
		}
		return acked, names, nil
	}
	want, sent := killWhileDelivering(ctx, t, s, put, func() bool { return len(bucketFiles(t, bucketDir, "crash-bucket", "")) > 0 })

	s = startServer(t, opts)
	got := waitDeliveredOf(ctx, t, func() map[string]int {
		return countLines(bucketFiles(t, bucketDir, "crash-bucket", ""), nil)
	}, want, sent)
	t.Logf("kill -9 during DirectPut delivery: %d acknowledged records delivered, %d duplicates", len(want), extraDeliveries(got))
	s.stop(t)
}

// killWhileDelivering calls put(0), put(1), ... from a goroutine, each
// returning the records it got acknowledged and those it sent, until at least 2000 are and
// delivered reports some delivered; then it kills s with SIGKILL and
// returns every acknowledged record and every record sent. A put cut off by
// the kill acknowledges nothing, but may have stored its records.
func killWhileDelivering(ctx context.Context, t *testing.T, s *server, put func(i int) (acked, sent []string, err error), delivered func() bool) (acked, sent map[string]int) {
	t.Helper()
	var (
		mu   sync.Mutex
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	acked, sent = map[string]int{}, map[string]int{}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ok, tried, err := put(i)
			mu.Lock()
			for _, n := range tried {
				sent[n] = 1
			}
			for _, n := range ok {
				acked[n] = 1
			}
			mu.Unlock()
			if err != nil {
				return // the server was killed mid-request
			}
		}
	}()
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 2000 && delivered() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d records acknowledged", n)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.kill(t)
	close(stop)
	<-done
	return acked, sent
}

// extraDeliveries counts the deliveries beyond the first of each record.
func extraDeliveries(got map[string]int) int {
	n := 0
	for _, c := range got {
		n += c - 1
	}
	return n
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// cliKeyRE is AWS's object key layout: the prefix, the default
// YYYY/MM/dd/HH/ time prefix, then <stream>-<version>-<time>-<uuid>.gz.
var cliKeyRE = regexp.MustCompile(`^logs/\d{4}/\d{2}/\d{2}/\d{2}/cli-stream-2-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.gz$`)

// boto3's Firehose client: create, put, deliver, tags, update, delete.
func TestFirehoseBoto3(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (run make clients): %v", debianPython, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, dir := startFirehose(t, serverOptions{})
	stdout, stderr, code := runClient(ctx, t, debianPython, filepath.Join("clients", "firehose_boto3.py"),
		"--endpoint", s.endpoint(), "--bucket-dir", dir)
	if code != 0 {
		t.Fatalf("firehose_boto3.py: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	s.stop(t)
}
