package rawclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rivulet/rivulet/internal/client"
)

// The benchmarks measure the client alone: both clients send through a
// transport that reads the whole request body, as a server must, and
// answers with a canned response, with no network or server in between.
// cpu-ns/record is the process's CPU time (getrusage, so garbage
// collection on the other cores counts too) per record.
//
// The SDK client here is client.New's with its HTTP client swapped for
// the canned one, which leaves out client.HTTPClient's copy of every
// request body: the real SDK mode costs a little more than measured.
//
//	go test -run '^$' -bench . -count 5 ./bench/rawclient/

type canned struct{ body []byte }

func (c canned) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"b2a9a3a0-0000-4000-8000-000000000000"}},
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
	}, nil
}

// benchClients returns the SDK and raw clients answering with body.
func benchClients(b *testing.B, body []byte) (*kinesis.Client, *Client) {
	cc := client.Config{Endpoint: "http://127.0.0.1:4567", Region: region, MaxAttempts: 1}
	base, err := client.New(cc)
	if err != nil {
		b.Fatal(err)
	}
	sdk := kinesis.New(base.Options(), func(o *kinesis.Options) { o.HTTPClient = &http.Client{Transport: canned{body}} })
	raw, err := New(cc)
	if err != nil {
		b.Fatal(err)
	}
	raw.rt = canned{body}
	return sdk, raw
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perRecord runs call b.N times and reports CPU and wall time per record.
func perRecord(b *testing.B, records int, call func() error) {
	b.ReportAllocs()
	if err := call(); err != nil { // warm the pools
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, wall0 := cpuTime(), time.Now()
	for range b.N {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.StopTimer()
	n := float64(b.N * records)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	b.ReportMetric(float64(wall.Nanoseconds())/n, "ns/record")
}

func putRecordsResponse(n int) []byte {
	var s strings.Builder
	s.WriteString(`{"FailedRecordCount":0,"Records":[`)
	for i := range n {
		if i > 0 {
			s.WriteByte(',')
		}
		fmt.Fprintf(&s, `{"SequenceNumber":"4959033827149025660855969253836157109592157598913%07d","ShardId":"shardId-00000000000%d"}`, i, i%4)
	}
	s.WriteString(`],"EncryptionType":"NONE"}`)
	return []byte(s.String())
}

func BenchmarkPutRecords500x1KiB(b *testing.B) {
	sdk, raw := benchClients(b, putRecordsResponse(500))
	defer raw.Close()
	data := make([]byte, 500*1024)
	for i := range data {
		data[i] = byte(i * 7)
	}
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("%x", i*7919)), Data: data[i*1024 : (i+1)*1024]}
	}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("w1"), Records: entries}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		api  interface {
			PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
		}
	}{{"sdk", sdk}, {"raw", raw}} {
		b.Run(c.name, func(b *testing.B) {
			perRecord(b, 500, func() error {
				out, err := c.api.PutRecords(ctx, in)
				if err == nil && len(out.Records) != 500 {
					err = fmt.Errorf("%d results", len(out.Records))
				}
				return err
			})
		})
	}
}

func BenchmarkPutRecord100B(b *testing.B) {
	sdk, raw := benchClients(b, []byte(`{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000003"}`))
	defer raw.Close()
	in := &kinesis.PutRecordInput{StreamName: aws.String("w2"), PartitionKey: aws.String("1a2b3c4d5e"), Data: bytes.Repeat([]byte{'x'}, 100)}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		api  interface {
			PutRecord(context.Context, *kinesis.PutRecordInput, ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
		}
	}{{"sdk", sdk}, {"raw", raw}} {
		b.Run(c.name, func(b *testing.B) {
			perRecord(b, 1, func() error {
				out, err := c.api.PutRecord(ctx, in)
				if err == nil && out.SequenceNumber == nil {
					err = fmt.Errorf("no sequence number")
				}
				return err
			})
		})
	}
}

func BenchmarkGetRecords10000x1KiB(b *testing.B) {
	body := bigGetRecordsBody(10000, 1024)
	sdk, raw := benchClients(b, body)
	defer raw.Close()
	in := &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAGbVHtRQW0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADAAAAAAAAAAAAAA="), Limit: aws.Int32(10000)}
	ctx := context.Background()
	check := func(out *kinesis.GetRecordsOutput, err error) error {
		if err == nil && len(out.Records) != 10000 {
			err = fmt.Errorf("%d records", len(out.Records))
		}
		return err
	}
	b.Run("sdk", func(b *testing.B) {
		perRecord(b, 10000, func() error { return check(sdk.GetRecords(ctx, in)) })
	})
	b.Run("raw", func(b *testing.B) {
		perRecord(b, 10000, func() error { return check(raw.GetRecords(ctx, in)) })
	})
	// The decoders alone, on the body in memory.
	b.Run("decode-sdk", func(b *testing.B) {
		perRecord(b, 10000, func() error {
			out := &kinesis.GetRecordsOutput{}
			return check(out, sdkDecode(opGetRecords, body, out))
		})
	})
	b.Run("decode-raw", func(b *testing.B) {
		perRecord(b, 10000, func() error {
			out := &kinesis.GetRecordsOutput{}
			return check(out, decodeGetRecords(body, out))
		})
	})
}

// putRecordAnswer is a PutRecord response as Rivulet sends it.
var putRecordAnswer = []byte("HTTP/1.1 200 OK\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"Access-Control-Expose-Headers: x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date\r\n" +
	"Content-Length: 110\r\n" +
	"Content-Type: application/x-amz-json-1.1\r\n" +
	"Date: Tue, 01 Dec 2026 12:00:00 GMT\r\n" +
	"x-amz-id-2: 4c0sCfvzn9Dl0dmT8kVNkJGEB2A6UTB+hZ8kqQ8n4eZzd1qfb5XN1a7RN3yU3PyrkHXSVxlMzJYpZkqgYuqnSGCNbvW8VjUB\r\n" +
	"x-amzn-RequestId: b2a9a3a0-0000-4000-8000-000000000000\r\n" +
	"\r\n" +
	`{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000003"}`)

// requestEnd reports the length of the first whole request (head and
// Content-Length body) in b, or 0 if b holds less than one.
func requestEnd(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return 0
	}
	n := 0
	for head := b[:i]; len(head) > 0; {
		line := head
		if j := bytes.Index(head, []byte("\r\n")); j >= 0 {
			line, head = head[:j], head[j+2:]
		} else {
			head = nil
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if len(b) < i+4+n {
		return 0
	}
	return i + 4 + n
}

// cannedConn is a connection to a server that answers every request with
// putRecordAnswer at once, in memory: the client's CPU alone.
type cannedConn struct {
	in, out []byte
}

func (c *cannedConn) Write(p []byte) (int, error) {
	c.in = append(c.in, p...)
	for n := requestEnd(c.in); n > 0; n = requestEnd(c.in) {
		c.in = c.in[:copy(c.in, c.in[n:])]
		c.out = append(c.out, putRecordAnswer...)
	}
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.out)
	c.out = c.out[:copy(c.out, c.out[n:])]
	return n, nil
}

func (c *cannedConn) Close() error                     { return nil }
func (c *cannedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *cannedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *cannedConn) SetDeadline(time.Time) error      { return nil }
func (c *cannedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cannedConn) SetWriteDeadline(time.Time) error { return nil }

// cannedServer is a minimal HTTP/1.1 server on loopback that answers every
// request with putRecordAnswer, so that little of the process's CPU is the
// server's.
func cannedServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 64<<10)
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					for m := requestEnd(buf[:have]); m > 0; m = requestEnd(buf[:have]) {
						have = copy(buf, buf[m:have])
						if _, err := c.Write(putRecordAnswer); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// BenchmarkPutRecordRoundTrip is a whole PutRecord of 100 bytes through
// the h1 transport: "conn" against an in-memory connection (the client's
// CPU alone), "loopback" and "loopback-64" (64 goroutines, as workload W2)
// against cannedServer. The context can be cancelled, as the load
// generator's.
func BenchmarkPutRecordRoundTrip(b *testing.B) {
	in := &kinesis.PutRecordInput{StreamName: aws.String("w2"), PartitionKey: aws.String("1a2b3c4d5e"), Data: bytes.Repeat([]byte{'x'}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	newClient := func(b *testing.B, url string) *Client {
		c, err := New(client.Config{Endpoint: url, Region: region, MaxAttempts: 1})
		if err != nil {
			b.Fatal(err)
		}
		if c.h1 == nil {
			b.Fatal("not the h1 transport")
		}
		b.Cleanup(c.Close)
		return c
	}
	call := func(c *Client) error {
		out, err := c.PutRecord(ctx, in)
		if err == nil && out.SequenceNumber == nil {
			err = fmt.Errorf("no sequence number")
		}
		return err
	}
	b.Run("conn", func(b *testing.B) {
		c := newClient(b, "http://127.0.0.1:4567")
		conn := &cannedConn{}
		c.h1.dial = func(context.Context, string, string) (net.Conn, error) { return conn, nil }
		perRecord(b, 1, func() error { return call(c) })
	})
	b.Run("loopback", func(b *testing.B) {
		c := newClient(b, cannedServer(b))
		perRecord(b, 1, func() error { return call(c) })
	})
	b.Run("loopback-64", func(b *testing.B) {
		c := newClient(b, cannedServer(b))
		b.ReportAllocs()
		b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.ResetTimer()
		cpu0 := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(c); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/record")
	})
}
