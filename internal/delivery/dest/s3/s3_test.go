package s3_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/desttest"
	"github.com/rivulet/rivulet/internal/delivery/dest/s3"
	"github.com/rivulet/rivulet/internal/testpki"
	"github.com/rivulet/rivulet/internal/tests3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is an HTTP transport that notes each request's method and
// query and can fail chosen requests.
type recorder struct {
	base *http.Transport
	fail func(*http.Request) bool
	// tamper, if it returns true for a request, has one byte of its body
	// changed after the request was signed.
	tamper func(*http.Request) bool

	mu   sync.Mutex
	reqs []request
}

type request struct {
	method, path string
	query        url.Values
	header       http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, request{req.Method, req.URL.Path, req.URL.Query(), req.Header.Clone()})
	r.mu.Unlock()
	if r.fail != nil && r.fail(req) {
		return nil, errors.New("injected transport failure")
	}
	if r.tamper != nil && r.tamper(req) && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			body[len(body)/2] ^= 0x20
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return r.base.RoundTrip(req)
}

// last returns the last request with method to path.
func (r *recorder) last(method, path string) (request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, req := range slices.Backward(r.reqs) {
		if req.method == method && req.path == path {
			return req, true
		}
	}
	return request{}, false
}

// count returns how many requests had method and a query parameter named q.
func (r *recorder) count(method, q string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.reqs {
		if req.method == method && req.query.Has(q) {
			n++
		}
	}
	return n
}

// newClient gives an HTTP client whose idle connections close at cleanup,
// so goleak sees no stray goroutines.
func newClient(t testing.TB) (*http.Client, *recorder) {
	return newTLSClient(t, nil)
}

func newTLSClient(t testing.TB, tc *tls.Config) (*http.Client, *recorder) {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	rec := &recorder{base: tr}
	return &http.Client{Transport: rec}, rec
}

func newStore(t testing.TB, srv *tests3.Server, partSize int64) (*s3.Store, *recorder) {
	t.Helper()
	hc, rec := newTLSClient(t, srv.TLS)
	st, err := s3.New(t.Context(), s3.Config{
		Endpoint:        srv.Endpoint,
		Region:          srv.Region,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		PartSize:        partSize,
		HTTPClient:      hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, rec
}

var bucketSeq atomic.Int64

func newBucket(t testing.TB, srv *tests3.Server) string {
	name := fmt.Sprintf("rivulet-test-%d", bucketSeq.Add(1))
	srv.CreateBucket(t, name)
	return name
}

func TestObjectStore(t *testing.T) {
	t.Parallel()
	srv := tests3.Start(t)
	st, rec := newStore(t, srv, 0)
	desttest.RunObjectStore(t, func(t *testing.T) (dest.ObjectStore, string) {
		return st, newBucket(t, srv)
	})
	// ListMany's 1100 keys took a second page.
	if rec.count("GET", "continuation-token") == 0 {
		t.Error("no ListObjectsV2 request followed a continuation token")
	}
}

func randomBody(n int) []byte {
	r := rand.New(rand.NewPCG(7, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestIntegrity checks what protects an object's bytes on the way: over
// HTTP the body's SHA-256 is signed; over HTTPS TLS carries it and the
// payload is UNSIGNED-PAYLOAD. Either way PutObject sends the body's CRC32
// (S3 wants a checksum or Content-MD5 for Object Lock buckets) and no
// Content-MD5. A body changed after signing is refused by the server and
// leaves no object; parts of a multipart upload carry Content-MD5.
func TestIntegrity(t *testing.T) {
	t.Parallel()
	for _, scheme := range schemes {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			srv := startScheme(t, scheme)
			st, rec := newStore(t, srv, s3.MinPartSize)
			bucket := newBucket(t, srv)
			body := randomBody(100 << 10)
			if err := st.Put(t.Context(), bucket, "whole", body); err != nil {
				t.Fatal(err)
			}
			req, ok := rec.last(http.MethodPut, "/"+bucket+"/whole")
			if !ok {
				t.Fatalf("no PutObject request recorded: %v", rec.reqs)
			}
			var sum [4]byte
			binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(body))
			if got, want := req.header.Get("X-Amz-Checksum-Crc32"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
				t.Errorf("x-amz-checksum-crc32 = %q, want %q", got, want)
			}
			if got := req.header.Get("Content-Md5"); got != "" {
				t.Errorf("Content-MD5 = %q, want none", got)
			}
			payload := sha256.Sum256(body)
			wantHash := hex.EncodeToString(payload[:])
			if scheme == "https" {
				wantHash = "UNSIGNED-PAYLOAD"
			}
			if got := req.header.Get("X-Amz-Content-Sha256"); got != wantHash {
				t.Errorf("x-amz-content-sha256 = %q, want %q", got, wantHash)
			}
			if got, err := st.Get(t.Context(), bucket, "whole"); err != nil || !bytes.Equal(got, body) {
				t.Fatalf("Get: %d bytes, %v", len(got), err)
			}

			rec.tamper = func(r *http.Request) bool { return r.URL.Path == "/"+bucket+"/tampered" }
			err := st.Put(t.Context(), bucket, "tampered", body)
			rec.tamper = nil
			if err == nil {
				t.Fatal("Put of a body changed after signing succeeded")
			}
			if _, err := st.Get(t.Context(), bucket, "tampered"); !errors.Is(err, dest.ErrNotFound) {
				t.Errorf("Get after the refused Put: %v, want dest.ErrNotFound", err)
			}

			big := randomBody(s3.MinPartSize + 1000)
			if err := st.Put(t.Context(), bucket, "parts", big); err != nil {
				t.Fatal(err)
			}
			part, ok := rec.last(http.MethodPut, "/"+bucket+"/parts")
			if !ok || !part.query.Has("partNumber") {
				t.Fatalf("last request for parts: %+v, want an UploadPart", part)
			}
			if part.header.Get("Content-Md5") == "" {
				t.Error("UploadPart without Content-MD5")
			}
			if got, err := st.Get(t.Context(), bucket, "parts"); err != nil || !bytes.Equal(got, big) {
				t.Fatalf("Get of the multipart object: %d bytes, %v", len(got), err)
			}
		})
	}
}

// schemes are what startScheme serves.
var schemes = []string{"http", "https"}

// startScheme runs versitygw over HTTP, or over HTTPS with a new
// certificate.
func startScheme(tb testing.TB, scheme string) *tests3.Server {
	tb.Helper()
	if scheme == "http" {
		return tests3.Start(tb)
	}
	pki := testpki.New(tb)
	return tests3.StartTLS(tb, tests3.TLSFiles{Cert: pki.ServerCert, Key: pki.ServerKey, CA: pki.CA})
}

func TestMultipart(t *testing.T) {
	t.Parallel()
	srv := tests3.Start(t)
	st, rec := newStore(t, srv, s3.MinPartSize)
	bucket := newBucket(t, srv)
	body := randomBody(12<<20 + 777)
	key := "2024/01/02/03/stream-1-2024-01-02-03-04-05-big"
	if err := st.Put(t.Context(), bucket, key, body); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("PUT", "partNumber"); n != 3 {
		t.Errorf("UploadPart requests: %d, want 3 (5 MiB parts of 12 MiB); requests: %v", n, rec.reqs)
	}
	if n := rec.count("POST", "uploads"); n != 1 {
		t.Errorf("CreateMultipartUpload requests: %d, want 1", n)
	}
	if n := rec.count("POST", "uploadId"); n != 1 {
		t.Errorf("CompleteMultipartUpload requests: %d, want 1", n)
	}
	// The server assembled the parts into exactly the body.
	onDisk, err := os.ReadFile(filepath.Join(srv.Dir, bucket, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, body) {
		t.Fatalf("file on disk: %d bytes, want the %d bytes put", len(onDisk), len(body))
	}
	got, err := st.Get(t.Context(), bucket, key)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Get: %d bytes, %v", len(got), err)
	}

	// A body of exactly one part is a single PutObject.
	before := rec.count("PUT", "partNumber")
	if err := st.Put(t.Context(), bucket, "exact", body[:s3.MinPartSize]); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("PUT", "partNumber"); n != before {
		t.Errorf("a body of exactly PartSize used multipart upload")
	}
	onDisk, err = os.ReadFile(filepath.Join(srv.Dir, bucket, "exact"))
	if err != nil || !bytes.Equal(onDisk, body[:s3.MinPartSize]) {
		t.Fatalf("exact-size object on disk: %d bytes, %v", len(onDisk), err)
	}
}

func TestMultipartAbort(t *testing.T) {
	t.Parallel()
	srv := tests3.Start(t)
	st, rec := newStore(t, srv, s3.MinPartSize)
	rec.fail = func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2"
	}
	bucket := newBucket(t, srv)
	if err := st.Put(t.Context(), bucket, "fails", randomBody(11<<20)); err == nil {
		t.Fatal("Put succeeded although part 2 could not be sent")
	}
	if n := rec.count("DELETE", "uploadId"); n != 1 {
		t.Errorf("AbortMultipartUpload requests: %d, want 1; requests: %v", n, rec.reqs)
	}
	if _, err := st.Get(t.Context(), bucket, "fails"); !errors.Is(err, dest.ErrNotFound) {
		t.Errorf("Get after the failed Put: %v, want dest.ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, bucket, "fails")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("object file after the failed Put: %v", err)
	}
}

// TestEnvCredentials uses the SDK's default chain, fed by environment
// variables only.
func TestEnvCredentials(t *testing.T) {
	srv := tests3.Start(t)
	bucket := newBucket(t, srv)
	nowhere := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", nowhere)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", srv.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	open := func() *s3.Store {
		hc, _ := newClient(t)
		st, err := s3.New(t.Context(), s3.Config{Endpoint: srv.Endpoint, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	if err := st.Put(t.Context(), bucket, "env/obj", []byte("from env")); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(t.Context(), bucket, "env/obj")
	if err != nil || string(got) != "from env" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	keys, err := st.List(t.Context(), bucket, "env/")
	if err != nil || !slices.Equal(keys, []string{"env/obj"}) {
		t.Fatalf("List = %q, %v", keys, err)
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	bad := open()
	err = bad.Put(t.Context(), bucket, "env/denied", []byte("x"))
	if err == nil || errors.Is(err, dest.ErrNotFound) {
		t.Fatalf("Put with a wrong secret: %v, want an access error", err)
	}
}

func TestMissingBucket(t *testing.T) {
	t.Parallel()
	srv := tests3.Start(t)
	st, _ := newStore(t, srv, 0)
	if _, err := st.List(t.Context(), "no-such-bucket-here", ""); !errors.Is(err, dest.ErrNotFound) {
		t.Errorf("List of a missing bucket: %v, want dest.ErrNotFound", err)
	}
	if err := st.Put(t.Context(), "no-such-bucket-here", "k", []byte("x")); err == nil {
		t.Error("Put into a missing bucket succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	if _, err := s3.New(t.Context(), s3.Config{Endpoint: "http://127.0.0.1:1", PartSize: s3.MinPartSize - 1}); err == nil {
		t.Error("a part size below 5 MiB was accepted")
	}
	if _, err := s3.New(t.Context(), s3.Config{Endpoint: "http://127.0.0.1:1", AccessKeyID: "AK"}); err == nil {
		t.Error("an access key without a secret was accepted")
	}
}
