package bench

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPutRecordsEncryption is BenchmarkPutRecords (W1: 500 records of
// 1 KiB per call over 4 shards) on a stream in the clear and on one with
// server-side encryption (alias/aws/kinesis), on one server, so the two
// can be compared within a run. With -count N the two alternate.
func BenchmarkPutRecordsEncryption(b *testing.B) {
	e := start(b) // on disk, as BenchmarkPutRecords
	for _, mode := range []string{"none", "kms"} {
		stream := "enc-" + mode
		e.createStream(b, stream, 4)
		if mode == "kms" {
			e.call(b, "StartStreamEncryption", fmt.Appendf(nil, `{"StreamName":%q,"EncryptionType":"KMS","KeyId":"alias/aws/kinesis"}`, stream))
			e.waitActive(b, stream)
		}
	}
	for _, mode := range []string{"none", "kms"} {
		b.Run(mode, func(b *testing.B) {
			body := putRecordsBody("enc-"+mode, 500, 1024)
			b.SetBytes(500 * 1024)
			b.SetParallelism(4)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.call(b, "PutRecords", body)
				}
			})
			// The process's CPU time (server and client) per call: steadier
			// than records/s on a machine that other work shares.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			reportRecords(b, 500)
		})
	}
}

// cpuTime is the user plus system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitActive polls until the stream is ACTIVE (the zero Config makes
// transitions immediate, so this is one call).
func (e *env) waitActive(b *testing.B, stream string) {
	b.Helper()
	deadline := time.Now().Add(hangTimeout)
	for time.Now().Before(deadline) {
		out := e.call(b, "DescribeStreamSummary", fmt.Appendf(nil, `{"StreamName":%q}`, stream))
		if bytes.Contains(out, []byte(`"StreamStatus":"ACTIVE"`)) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("%s not ACTIVE", stream)
}
