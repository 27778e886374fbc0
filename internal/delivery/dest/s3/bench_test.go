package s3_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/tests3"
)

// BenchmarkPut puts 5 MiB objects (a Firehose buffer's default size) into
// versitygw and reports the processor time each MiB costs this process
// (signing, hashing, sending) and versitygw (verifying, hashing, writing),
// which share the machine in the Firehose benchmark. Run with
//
//	go test -run '^$' -bench Put -count 5 ./internal/delivery/dest/s3/
func BenchmarkPut(b *testing.B) {
	for _, scheme := range schemes {
		b.Run(scheme, func(b *testing.B) {
			srv := startScheme(b, scheme)
			st, _ := newStore(b, srv, 0)
			bucket := newBucket(b, srv)
			body := randomBody(5 << 20)
			b.SetBytes(int64(len(body)))
			own0, srv0 := selfCPU(), serverCPU(b, srv)
			i := 0
			for b.Loop() {
				i++
				if err := st.Put(b.Context(), bucket, fmt.Sprintf("obj-%d", i), body); err != nil {
					b.Fatal(err)
				}
			}
			mib := float64(b.N*len(body)) / (1 << 20)
			b.ReportMetric(float64((selfCPU()-own0).Microseconds())/1000/mib, "client-cpu-ms/MiB")
			b.ReportMetric(float64((serverCPU(b, srv)-srv0).Microseconds())/1000/mib, "server-cpu-ms/MiB")
		})
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func serverCPU(b *testing.B, srv *tests3.Server) time.Duration {
	d, err := srv.CPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
