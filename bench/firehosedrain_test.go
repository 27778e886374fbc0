package bench

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/tests3"
)

// BenchmarkFirehoseDrain measures the delivery engine on its own, as after
// an outage or a restart: the records (as in BenchmarkFirehose) are put
// into a DirectPut stream of a server that does not deliver
// (Config.Firehose.Off), that server stops, and a server that delivers
// starts on the same data directory; the clock runs from its start to the
// last byte visible in the destination, so it includes start-up and the
// engine reading the buffer log back from JetStream (no tap: another
// process appended). The baseline is Kinesis PutRecords of the same
// records on the first server, just before: drain-pct-of-ingest is the
// drain's records/s against it. Unlike BenchmarkFirehose, ingest and
// delivery do not share the machine here.
func BenchmarkFirehoseDrain(b *testing.B) {
	batches, total := fhLoad()
	records := int64(batches * fhBatch)
	data := fhRecordsOnce()
	iteration := 0
	for _, tc := range fhCases {
		name := tc.name()
		b.Run(name, func(b *testing.B) {
			var fh rivulet.Firehose
			root := b.TempDir()
			newBucket := func(string) {}
			if tc.target == "s3" {
				vgw := tests3.Start(b)
				root = vgw.Dir
				newBucket = func(name string) { vgw.CreateBucket(b, name) }
				fh.S3 = &rivulet.S3{Endpoint: vgw.Endpoint, Region: vgw.Region, AccessKeyID: vgw.AccessKey, SecretAccessKey: vgw.SecretKey}
			} else {
				fh.BucketDir = root
			}
			var base, drain time.Duration
			for b.Loop() {
				iteration++
				b.StopTimer()
				stream := fmt.Sprintf("drain-%d", iteration)
				bucket := fmt.Sprintf("drain-%d", iteration)
				cfg := rivulet.Config{DataDir: b.TempDir(), Firehose: fh}
				cfg.Firehose.Off = true
				e, stop := startFirehoseServer(b, cfg)
				base += e.kinesisIngest(b, fmt.Sprintf("base-%d", iteration), batches)
				newBucket(bucket)
				e.createDeliveryStream(b, stream, bucket, fhBufSize, int32(firehoseInterval), tc.comp)
				err := putAll(context.Background(), batches, firehoseProducers, func(ctx context.Context, k int) error {
					_, err := putRecordBatch(ctx, e.fc, stream, data.fh[k%fhTemplates])
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				stop()
				t := newQuickTally(filepath.Join(root, bucket), tc.comp == fhtypes.CompressionFormatGzip)
				t.watch = newDirWatch(b, t.dir)
				cfg.Firehose.Off = false
				b.StartTimer()
				start := time.Now()
				_, stop = startFirehoseServer(b, cfg)
				at, err := t.waitFor(context.Background(), records, total, 20*time.Millisecond)
				if err != nil {
					b.Fatal(err)
				}
				drain += at.Sub(start)
				b.StopTimer()
				stop()
				if err := t.verify(records, total); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			n := float64(b.N)
			rate := n * float64(records) / drain.Seconds()
			kRate := n * float64(records) / base.Seconds()
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(n*float64(total)/mib/drain.Seconds(), "MiB/s")
			b.ReportMetric(kRate, "kinesis-records/s")
			b.ReportMetric(100*rate/kRate, "drain-pct-of-ingest")
			b.Logf("%s: drained %d records (%.1f MiB) at %.0f records/s, %.1f MiB/s = %.0f %% of Kinesis ingest (%.0f records/s)",
				name, records, float64(total)/mib, rate, n*float64(total)/mib/drain.Seconds(), 100*rate/kRate, kRate)
		})
	}
}

// startFirehoseServer starts a server for cfg and returns clients for it
// and a function that stops it (also called when b ends).
func startFirehoseServer(b *testing.B, cfg rivulet.Config) (*fhEnv, func()) {
	b.Helper()
	srv, err := rivulet.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	stop := func() {
		tr.CloseIdleConnections()
		srv.Close()
	}
	b.Cleanup(stop)
	url := srv.Endpoint()
	return &fhEnv{
		newBucket: func(*testing.B, string) {}, // made by the caller
		kc:        kinesisClient(url, tr),
		fc:        firehose.NewFromConfig(awsConfig(tr), func(o *firehose.Options) { o.BaseEndpoint = aws.String(url) }),
	}, stop
}
