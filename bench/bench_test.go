// Package bench measures Rivulet's PutRecords and GetRecords paths through
// HTTP, against the embedded JetStream store on disk. Run with
//
//	go test -run '^$' -bench . -count 5 ./bench/ | tee new.txt
//
// and compare runs with benchstat. BenchmarkBaseline posts the same bodies
// to a handler that only reads them, so figures can be read as ratios
// against the HTTP floor measured in the same run.
package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet"
)

type env struct {
	url    string
	client *http.Client
}

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

func start(b *testing.B) *env { return startWith(b, false) }

// startWith runs the server on disk, or with --storage=discard semantics
// (records acknowledged and dropped) for the ceiling.
func startWith(b *testing.B, discarding bool) *env {
	b.Helper()
	return startConfig(b, rivulet.Config{DataDir: b.TempDir(), DiscardRecords: discarding})
}

func startConfig(b *testing.B, cfg rivulet.Config) *env {
	b.Helper()
	url := startServer(b, cfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	return &env{url: url, client: &http.Client{Transport: tr}}
}

// startServer runs Rivulet, assembled as rivulet serve assembles it, until
// b ends.
func startServer(b *testing.B, cfg rivulet.Config) string {
	b.Helper()
	srv, err := rivulet.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv.Endpoint()
}

func (e *env) call(b *testing.B, op string, body []byte) []byte {
	req, _ := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", op, resp.StatusCode, out)
	}
	return out
}

func (e *env) createStream(b *testing.B, name string, shards int) {
	e.call(b, "CreateStream", fmt.Appendf(nil, `{"StreamName":%q,"ShardCount":%d}`, name, shards))
}

// putRecordsBody is n records of size bytes with distinct partition keys,
// spread over every shard.
func putRecordsBody(stream string, n, size int) []byte {
	data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'x'}, size))
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"StreamName":%q,"Records":[`, stream)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"PartitionKey":"pk-%d","Data":%q}`, i, data)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}

func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPutRecords: 500 records of 1 KiB per call over 4 shards, with
// 4 concurrent callers per core.
func BenchmarkPutRecords(b *testing.B) { benchPutRecords(b, start(b)) }

// BenchmarkPutRecordsDiscard is the same load without storage: the ceiling
// that BenchmarkPutRecords is measured against.
func BenchmarkPutRecordsDiscard(b *testing.B) { benchPutRecords(b, startWith(b, true)) }

func benchPutRecords(b *testing.B, e *env) {
	e.createStream(b, "put", 4)
	body := putRecordsBody("put", 500, 1024)
	b.SetBytes(500 * 1024)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.call(b, "PutRecords", body)
		}
	})
	reportRecords(b, 500)
}

// BenchmarkPutRecord: single 100-byte records from 32 callers per core.
func BenchmarkPutRecord(b *testing.B) {
	// The same calls through the plain port's HTTP/1.1 fast path and, as
	// with --http-fast-path=false, through net/http alone.
	for _, tc := range []struct {
		name    string
		netHTTP bool
	}{{"fast-path", false}, {"net-http", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := startConfig(b, rivulet.Config{DataDir: b.TempDir(), DisableHTTPFastPath: tc.netHTTP})
			e.createStream(b, "put1", 4)
			data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'y'}, 100))
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					e.call(b, "PutRecord", fmt.Appendf(nil, `{"StreamName":"put1","PartitionKey":"k%d","Data":%q}`, i, data))
				}
			})
			reportRecords(b, 1)
		})
	}
}

// BenchmarkGetRecords reads 1 KiB records 10000 at a time from one shard,
// following NextShardIterator and starting over at the end.
func BenchmarkGetRecords(b *testing.B) {
	e := start(b)
	e.createStream(b, "get", 1)
	body := putRecordsBody("get", 500, 1024)
	for i := 0; i < 100; i++ { // 50,000 records
		e.call(b, "PutRecords", body)
	}
	iterator := func() string {
		var out struct{ ShardIterator string }
		_ = json.Unmarshal(e.call(b, "GetShardIterator", []byte(`{"StreamName":"get","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)), &out)
		return out.ShardIterator
	}
	it := iterator()
	records := 0
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var out struct {
			Records           []json.RawMessage
			NextShardIterator string
		}
		if err := json.Unmarshal(e.call(b, "GetRecords", fmt.Appendf(nil, `{"ShardIterator":%q,"Limit":10000}`, it)), &out); err != nil {
			b.Fatal(err)
		}
		records += len(out.Records)
		it = out.NextShardIterator
		if len(out.Records) == 0 {
			it = iterator()
		}
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkBaseline posts the PutRecords body to a handler that only reads
// it: the cost of HTTP and the client alone, for ratios.
func BenchmarkBaseline(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	e := &env{url: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	body := putRecordsBody("put", 500, 1024)
	b.SetBytes(500 * 1024)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.call(b, "PutRecords", body)
		}
	})
	reportRecords(b, 500)
}
