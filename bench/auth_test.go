package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rivulet/rivulet"
)

// The benchmarks below run the same signed calls against a server that
// checks signatures (--auth=sigv4) and one that does not (--auth=none):
// the client signs in both, so the difference is the server's checking.

var benchCreds = aws.Credentials{AccessKeyID: "AKIABENCHMARK", SecretAccessKey: "bench-secret"}

func startAuth(b *testing.B, mode string) *env {
	b.Helper()
	cfg := rivulet.Config{DataDir: b.TempDir(), Auth: mode}
	if mode == rivulet.AuthSigV4 {
		cfg.Credentials = filepath.Join(b.TempDir(), "credentials.json")
		// A policy like a producer's, so each request is also authorized.
		file := fmt.Sprintf(`{"credentials": [{"accessKeyId": %q, "secretAccessKey": %q, "account": "000000000000", "policies": [
			{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "arn:aws:kinesis:*:000000000000:stream/*"}]}]}]}`,
			benchCreds.AccessKeyID, benchCreds.SecretAccessKey)
		if err := os.WriteFile(cfg.Credentials, []byte(file), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return startConfig(b, cfg)
}

// signedCall is env.call with a real signature, as an SDK sends it.
func (e *env) signedCall(b *testing.B, signer *v4.Signer, op string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(context.Background(), benchCreds, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", op, resp.StatusCode, out)
	}
}

var authModes = []string{rivulet.AuthNone, rivulet.AuthSigV4}

// BenchmarkPutRecordAuth: BenchmarkPutRecord's load, signed, with and
// without signatures checked.
func BenchmarkPutRecordAuth(b *testing.B) {
	for _, mode := range authModes {
		b.Run(mode, func(b *testing.B) {
			e := startAuth(b, mode)
			signer := v4.NewSigner()
			e.signedCall(b, signer, "CreateStream", []byte(`{"StreamName":"put1","ShardCount":4}`))
			data := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'y'}, 100))
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					e.signedCall(b, signer, "PutRecord", fmt.Appendf(nil, `{"StreamName":"put1","PartitionKey":"k%d","Data":%q}`, i, data))
				}
			})
			reportRecords(b, 1)
		})
	}
}

// BenchmarkPutRecordsAuth: BenchmarkPutRecords's load (500 records of
// 1 KiB a call), signed, with and without signatures checked.
func BenchmarkPutRecordsAuth(b *testing.B) {
	for _, mode := range authModes {
		b.Run(mode, func(b *testing.B) {
			e := startAuth(b, mode)
			signer := v4.NewSigner()
			e.signedCall(b, signer, "CreateStream", []byte(`{"StreamName":"put","ShardCount":4}`))
			body := putRecordsBody("put", 500, 1024)
			b.SetBytes(500 * 1024)
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.signedCall(b, signer, "PutRecords", body)
				}
			})
			reportRecords(b, 500)
		})
	}
}
