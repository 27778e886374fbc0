package rawclient

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/bench/loadgen"
	"github.com/rivulet/rivulet/internal/client"
	"github.com/rivulet/rivulet/internal/kinesis/fault"
	"github.com/rivulet/rivulet/internal/testserver"
)

const region = "us-east-1"

// api is what both clients have in common here.
type api interface {
	loadgen.API
	SplitShard(context.Context, *kinesis.SplitShardInput, ...func(*kinesis.Options)) (*kinesis.SplitShardOutput, error)
}

var (
	_ api = (*kinesis.Client)(nil)
	_ api = (*Client)(nil)
)

// pair is the SDK client and the raw client for one endpoint.
type pair struct {
	sdk *kinesis.Client
	raw *Client
}

func clients(t *testing.T, url string, http2 bool) pair {
	t.Helper()
	cc := client.Config{Endpoint: url, Region: region, MaxAttempts: 1, HTTP2: http2}
	sdk, err := client.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)
	return pair{sdk: sdk, raw: raw}
}

func server(t *testing.T, cfg rivulet.Config) (string, pair) {
	t.Helper()
	url := testserver.Start(t, cfg)
	return url, clients(t, url, false)
}

// faultRules renders rules as the server's fault configuration.
func faultRules(t *testing.T, rules ...fault.Rule) string {
	t.Helper()
	b, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func createStream(t *testing.T, kc api, name string, shards int32) string {
	t.Helper()
	ctx := context.Background()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	return waitActive(t, kc, name)
}

// hangTimeout bounds the waits for what should happen: only a hang reaches
// it, so it is generous for a slow, stalling machine.
const hangTimeout = time.Minute

// waitActive waits for the stream to be ACTIVE and returns its ARN.
func waitActive(t *testing.T, kc api, name string) string {
	t.Helper()
	for deadline := time.Now().Add(hangTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		out, err := kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return aws.ToString(out.StreamDescriptionSummary.StreamARN)
		}
	}
	t.Fatalf("stream %s not ACTIVE", name)
	return ""
}

// tricky partition keys: everything JSON escapes, and more.
var keys = []string{
	"plain", `quote"back\slash/`, "new\nline\ttab\x01ctl\x1f\x7fdel", "é😀 ünïcødé 日本", "\u2028\u2029", strings.Repeat("k", 256), " ", "{}[]:,",
}

type written struct {
	key  string
	data []byte
}

func randomData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// readAll reads every shard of stream from TRIM_HORIZON to its tip.
func readAll(t *testing.T, kc api, stream string, limit int32) map[string][]types.Record {
	t.Helper()
	ctx := context.Background()
	shards, err := kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]types.Record{}
	for _, s := range shards.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			page, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(limit)})
			if err != nil {
				t.Fatal(err)
			}
			out[*s.ShardId] = append(out[*s.ShardId], page.Records...)
			if len(page.Records) == 0 && aws.ToInt64(page.MillisBehindLatest) == 0 {
				break
			}
			iter = page.NextShardIterator
		}
	}
	return out
}

// TestWriteOneReadOther writes with each client and reads everything back
// with both: data, partition keys and sequence numbers byte for byte.
func TestWriteOneReadOther(t *testing.T) {
	_, c := server(t, rivulet.Config{})
	ctx := context.Background()
	arn := createStream(t, c.sdk, "both", 3)
	rng := rand.New(rand.NewPCG(7, 7))
	sizes := []int{0, 1, 2, 3, 4, 100, 1024, 50_000}
	want := map[string]written{} // by sequence number
	ack := func(seq, shard *string, w written) {
		t.Helper()
		if aws.ToString(seq) == "" || !strings.HasPrefix(aws.ToString(shard), "shardId-") {
			t.Fatalf("acknowledged as %v in %v", seq, shard)
		}
		want[*seq] = w
	}
	maxKey := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)).String()
	for round, w := range []api{c.raw, c.sdk, c.raw, c.sdk} {
		var entries []types.PutRecordsRequestEntry
		var ws []written
		for i, k := range keys {
			wr := written{key: k, data: randomData(rng, sizes[(i+round)%len(sizes)])}
			e := types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: wr.data}
			if i%3 == 0 {
				e.ExplicitHashKey = aws.String([]string{"0", maxKey, "170141183460469231731687303715884105728"}[i%3])
			}
			entries = append(entries, e)
			ws = append(ws, wr)
		}
		in := &kinesis.PutRecordsInput{StreamName: aws.String("both"), Records: entries}
		if round >= 2 {
			in = &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: entries}
		}
		out, err := w.PutRecords(ctx, in)
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 || len(out.Records) != len(entries) {
			t.Fatalf("PutRecords: %v %+v", err, out)
		}
		for i, r := range out.Records {
			ack(r.SequenceNumber, r.ShardId, ws[i])
		}
		for i, k := range keys[:4] {
			wr := written{key: k, data: randomData(rng, sizes[(i+round+3)%len(sizes)])}
			in := &kinesis.PutRecordInput{StreamName: aws.String("both"), PartitionKey: aws.String(k), Data: wr.data}
			if i == 1 {
				in.ExplicitHashKey = aws.String(maxKey)
			}
			out, err := w.PutRecord(ctx, in)
			if err != nil {
				t.Fatalf("PutRecord: %v %+v", err, out)
			}
			ack(out.SequenceNumber, out.ShardId, wr)
		}
	}

	bySDK, byRaw := readAll(t, c.sdk, "both", 5), readAll(t, c.raw, "both", 5)
	for name, got := range map[string]map[string][]types.Record{"SDK": bySDK, "raw": byRaw} {
		n := 0
		for _, recs := range got {
			for _, r := range recs {
				w, ok := want[aws.ToString(r.SequenceNumber)]
				if !ok || aws.ToString(r.PartitionKey) != w.key || !bytes.Equal(r.Data, w.data) || r.Data == nil {
					t.Fatalf("%s read %q %q %d bytes, want %q %d bytes", name, aws.ToString(r.SequenceNumber), aws.ToString(r.PartitionKey), len(r.Data), w.key, len(w.data))
				}
				n++
			}
		}
		if n != len(want) {
			t.Fatalf("%s read %d records, want %d", name, n, len(want))
		}
	}
	if !reflect.DeepEqual(bySDK, byRaw) {
		t.Fatal("the raw client's GetRecords differs from the SDK's")
	}
}

// replay is a proxy in front of a server that answers a request it has
// seen before (same target, same body) with the same response, so two
// clients sending the same request get the same bytes back even where a
// server's answer changes with time (iterators carry their issue time).
// It also checks every request's SigV4 signature.
type replay struct {
	t        *testing.T
	upstream string
	hc       *http.Client
	mu       sync.Mutex
	seen     map[string]*recorded
	hits     int
	protos   map[int]int // requests by HTTP major version
}

type recorded struct {
	status int
	header http.Header
	body   []byte
}

func newReplay(t *testing.T, upstream string) (*replay, string) {
	tr := &http.Transport{}
	p := &replay{t: t, upstream: upstream, hc: &http.Client{Transport: tr}, seen: map[string]*recorded{}, protos: map[int]int{}}
	srv := httptest.NewUnstartedServer(p)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return p, srv.URL
}

func (p *replay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if err := checkSigV4(r, body, "rivulet"); err != nil {
		p.t.Errorf("%s: %v", r.Header.Get("X-Amz-Target"), err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		p.t.Errorf("Content-Type %q", ct)
	}
	key := r.Header.Get("X-Amz-Target") + "\n" + string(body)
	p.mu.Lock()
	rec, ok := p.seen[key]
	p.protos[r.ProtoMajor]++
	if ok {
		p.hits++
	}
	p.mu.Unlock()
	if !ok {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream, bytes.NewReader(body))
		for _, h := range []string{"Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization"} {
			req.Header.Set(h, r.Header.Get(h))
		}
		resp, err := p.hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		rec = &recorded{status: resp.StatusCode, header: resp.Header.Clone(), body: b}
		p.mu.Lock()
		p.seen[key] = rec
		p.mu.Unlock()
	}
	for k, v := range rec.header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body)
}

func (p *replay) hitCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// checkSigV4 verifies a request's signature from scratch (the AWS
// Signature Version 4 algorithm, written out here rather than with the
// SDK's signer the client uses).
func checkSigV4(r *http.Request, body []byte, secret string) error {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
	}
	date, reg, svc, signed, sig := m[2], m[3], m[4], m[5], m[6]
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, date) || reg != region || svc != "kinesis" {
		return fmt.Errorf("scope %s/%s/%s at %s", date, reg, svc, amzDate)
	}
	names := strings.Split(signed, ";")
	if !sort.StringsAreSorted(names) {
		return fmt.Errorf("signed headers %s not sorted", signed)
	}
	for _, must := range []string{"content-type", "host", "x-amz-date", "x-amz-target"} {
		if !slices.Contains(names, must) {
			return fmt.Errorf("%s is not signed (%s)", must, signed)
		}
	}
	var canon strings.Builder
	canon.WriteString("POST\n/\n\n")
	for _, n := range names {
		v := r.Header.Get(n)
		switch n {
		case "host":
			v = r.Host
		case "content-length":
			v = fmt.Sprint(r.ContentLength)
		}
		canon.WriteString(n + ":" + strings.TrimSpace(v) + "\n")
	}
	sum := sha256.Sum256(body)
	canon.WriteString("\n" + signed + "\n" + hex.EncodeToString(sum[:]))
	creq := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + date + "/" + reg + "/" + svc + "/aws4_request\n" + hex.EncodeToString(creq[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secret), date), reg), svc), "aws4_request")
	if want := hex.EncodeToString(mac(k, toSign)); want != sig {
		return fmt.Errorf("signature %s, want %s", sig, want)
	}
	return nil
}

// same calls the SDK and then the raw client through the replay proxy:
// the raw client's request must be byte for byte the SDK's (the proxy
// replays it), and its output field for field the SDK's.
func same[In, Out any](t *testing.T, p *replay, sdk, raw func(context.Context, In, ...func(*kinesis.Options)) (Out, error), in In) Out {
	t.Helper()
	ctx := context.Background()
	want, err := sdk(ctx, in)
	if err != nil {
		t.Fatalf("SDK: %v", err)
	}
	hits := p.hitCount()
	got, err := raw(ctx, in)
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	if p.hitCount() != hits+1 {
		t.Fatalf("the raw client's %T request differs from the SDK's", in)
	}
	reflect.ValueOf(want).Elem().FieldByName("ResultMetadata").Set(reflect.ValueOf(middleware.Metadata{}))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%T:\n raw %s\n SDK %s", got, show(got), show(want))
	}
	return got
}

func TestSameRequestsAndOutputsAsSDK(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			url, direct := server(t, rivulet.Config{})
			p, purl := newReplay(t, url)
			c := clients(t, purl, h2)
			ctx := context.Background()
			arn := createStream(t, direct.sdk, "same", 1)
			rng := rand.New(rand.NewPCG(1, 1))
			for i := range 25 {
				if _, err := direct.sdk.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("same"), PartitionKey: aws.String(keys[i%len(keys)]), Data: randomData(rng, i*37)}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond) // arrival times apart, for MillisBehindLatest
			}

			// Writes: the raw client's request is replayed, so not stored twice.
			put := same(t, p, c.sdk.PutRecords, c.raw.PutRecords, &kinesis.PutRecordsInput{StreamName: aws.String("same"), Records: []types.PutRecordsRequestEntry{
				{PartitionKey: aws.String(keys[1]), Data: []byte("one")},
				{PartitionKey: aws.String(keys[3]), Data: []byte{}, ExplicitHashKey: aws.String("12345")},
			}})
			same(t, p, c.sdk.PutRecords, c.raw.PutRecords, &kinesis.PutRecordsInput{StreamARN: aws.String(arn), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("x"), Data: []byte("arn")}}})
			same(t, p, c.sdk.PutRecord, c.raw.PutRecord, &kinesis.PutRecordInput{StreamName: aws.String("same"), PartitionKey: aws.String(keys[2]), Data: []byte("single"),
				ExplicitHashKey: aws.String("99"), SequenceNumberForOrdering: put.Records[0].SequenceNumber})

			// Iterators of every kind, then pages of 7 up to the tip.
			it := same(t, p, c.sdk.GetShardIterator, c.raw.GetShardIterator, &kinesis.GetShardIteratorInput{StreamName: aws.String("same"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			same(t, p, c.sdk.GetShardIterator, c.raw.GetShardIterator, &kinesis.GetShardIteratorInput{StreamARN: aws.String(arn), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(time.Now().Add(-time.Hour).Truncate(time.Microsecond))})
			same(t, p, c.sdk.GetShardIterator, c.raw.GetShardIterator, &kinesis.GetShardIteratorInput{StreamName: aws.String("same"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
			iter, pages, behind := it.ShardIterator, 0, false
			var last string
			for {
				out := same(t, p, c.sdk.GetRecords, c.raw.GetRecords, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(7)})
				pages++
				behind = behind || aws.ToInt64(out.MillisBehindLatest) > 0
				if len(out.Records) > 0 {
					last = *out.Records[len(out.Records)-1].SequenceNumber
				}
				if len(out.Records) == 0 {
					break
				}
				iter = out.NextShardIterator
			}
			if pages < 4 || !behind {
				t.Fatalf("%d pages, behind %v", pages, behind)
			}
			same(t, p, c.sdk.GetShardIterator, c.raw.GetShardIterator, &kinesis.GetShardIteratorInput{StreamName: aws.String("same"), ShardId: aws.String("shardId-000000000000"),
				ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(last)})

			// Split the shard; its end answers ChildShards.
			if _, err := direct.sdk.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("same"), ShardToSplit: aws.String("shardId-000000000000"),
				NewStartingHashKey: aws.String("170141183460469231731687303715884105728")}); err != nil {
				t.Fatal(err)
			}
			waitActive(t, direct.sdk, "same")
			var children []types.ChildShard
			for iter = it.ShardIterator; iter != nil; {
				out := same(t, p, c.sdk.GetRecords, c.raw.GetRecords, &kinesis.GetRecordsInput{ShardIterator: iter})
				iter, children = out.NextShardIterator, out.ChildShards
			}
			if len(children) != 2 || len(children[0].ParentShards) != 1 || children[1].HashKeyRange == nil {
				t.Fatalf("child shards %s", show(children))
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if h2 && p.protos[1] != 0 || !h2 && p.protos[2] != 0 {
				t.Fatalf("protocols %v", p.protos)
			}
		})
	}
}

var requestIDRE = regexp.MustCompile(`RequestID: [^,]*,`)

// sameError checks that two errors are the same to a caller: the same
// type, code, message, fault and text (request ids aside).
func sameError(t *testing.T, what string, sdkErr, rawErr error) {
	t.Helper()
	if sdkErr == nil || rawErr == nil {
		t.Fatalf("%s: SDK %v, raw %v", what, sdkErr, rawErr)
	}
	if a, b := client.ErrorCode(sdkErr), client.ErrorCode(rawErr); a != b {
		t.Errorf("%s: code %q, SDK %q", what, b, a)
	}
	var sa, ra smithy.APIError
	if errors.As(sdkErr, &sa) != errors.As(rawErr, &ra) {
		t.Errorf("%s: APIError SDK %T, raw %T", what, sa, ra)
	} else if sa != nil {
		if fmt.Sprintf("%T", sa) != fmt.Sprintf("%T", ra) || sa.ErrorCode() != ra.ErrorCode() || sa.ErrorMessage() != ra.ErrorMessage() || sa.ErrorFault() != ra.ErrorFault() {
			t.Errorf("%s: raw %T %q %q %v\nSDK %T %q %q %v", what, ra, ra.ErrorCode(), ra.ErrorMessage(), ra.ErrorFault(), sa, sa.ErrorCode(), sa.ErrorMessage(), sa.ErrorFault())
		}
	}
	if a, b := requestIDRE.ReplaceAllString(sdkErr.Error(), "RequestID: X,"), requestIDRE.ReplaceAllString(rawErr.Error(), "RequestID: X,"); a != b {
		t.Errorf("%s:\n raw %s\n SDK %s", what, b, a)
	}
}

func TestErrorsAsSDK(t *testing.T) {
	url, c := server(t, rivulet.Config{Faults: faultRules(t,
		fault.Rule{Op: "PutRecord", Stream: "faulty", Error: "InternalFailure"},
		fault.Rule{Op: "PutRecords", Stream: "faulty", Error: "ProvisionedThroughputExceededException"},
		fault.Rule{Op: "GetRecords", Latency: time.Second, Count: 4}, // the first four cases
		fault.Rule{Op: "GetShardIterator", Stream: "slow", Latency: time.Second},
	)})
	createStream(t, c.sdk, "faulty", 1)
	createStream(t, c.sdk, "fine", 1)
	createStream(t, c.sdk, "slow", 1)
	it, err := c.sdk.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String("fine"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20+1)
	cases := []struct {
		name string
		call func(context.Context, api) error
	}{
		{"GetRecords past its deadline", func(ctx context.Context, a api) error {
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			return err
		}},
		{"GetRecords cancelled", func(ctx context.Context, a api) error {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			return err
		}},
		{"GetRecords cancelled before", func(ctx context.Context, a api) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			return err
		}},
		{"GetRecords with an invalid iterator", func(ctx context.Context, a api) error {
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAAAAAAA")})
			return err
		}},
		{"GetRecords with a bad limit", func(ctx context.Context, a api) error {
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(0)})
			return err
		}},
		{"PutRecords to a missing stream", func(ctx context.Context, a api) error {
			_, err := a.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("missing"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
			return err
		}},
		{"PutRecord to a missing stream", func(ctx context.Context, a api) error {
			_, err := a.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("missing"), PartitionKey: aws.String("k"), Data: []byte("x")})
			return err
		}},
		{"PutRecord too big", func(ctx context.Context, a api) error {
			_, err := a.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("fine"), PartitionKey: aws.String("k"), Data: big})
			return err
		}},
		{"PutRecords with no records", func(ctx context.Context, a api) error {
			_, err := a.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("fine"), Records: []types.PutRecordsRequestEntry{}})
			return err
		}},
		{"GetShardIterator of a missing shard", func(ctx context.Context, a api) error {
			_, err := a.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("fine"), ShardId: aws.String("shardId-000000000009"), ShardIteratorType: types.ShardIteratorTypeLatest})
			return err
		}},
		{"GetShardIterator of an unknown type", func(ctx context.Context, a api) error {
			_, err := a.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("fine"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "SOMEWHERE"})
			return err
		}},
		{"PutRecord failing inside (500)", func(ctx context.Context, a api) error {
			_, err := a.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("faulty"), PartitionKey: aws.String("k"), Data: []byte("x")})
			return err
		}},
		{"PutRecords throttled", func(ctx context.Context, a api) error {
			_, err := a.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("faulty"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
			return err
		}},
		{"PutRecord without data", func(ctx context.Context, a api) error {
			_, err := a.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("fine"), PartitionKey: aws.String("k")})
			return err
		}},
		{"PutRecords without data", func(ctx context.Context, a api) error {
			_, err := a.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("fine"), Records: []types.PutRecordsRequestEntry{{Data: []byte("x")}, {}, {PartitionKey: aws.String("k")}}})
			return err
		}},
		{"PutRecords without records", func(ctx context.Context, a api) error {
			_, err := a.PutRecords(ctx, nil)
			return err
		}},
		{"GetRecords without an iterator", func(ctx context.Context, a api) error {
			_, err := a.GetRecords(ctx, &kinesis.GetRecordsInput{})
			return err
		}},
		{"GetShardIterator without anything", func(ctx context.Context, a api) error {
			_, err := a.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{})
			return err
		}},
	}
	for _, tc := range cases {
		sdkErr := tc.call(context.Background(), c.sdk)
		rawErr := tc.call(context.Background(), c.raw)
		sameError(t, tc.name, sdkErr, rawErr)
		if strings.Contains(tc.name, "deadline") || strings.Contains(tc.name, "cancelled") {
			// A call that ignored its context would answer, after the
			// injected latency, without an error.
			if code := client.ErrorCode(rawErr); code != client.CodeTimeout && code != client.CodeCanceled {
				t.Errorf("%s: code %q: the context was not respected", tc.name, code)
			}
		}
	}

	// Client.Timeout, as http.Client reports it.
	timeout := func(a api) error {
		_, err := a.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{StreamName: aws.String("slow"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
		return err
	}
	cc := client.Config{Endpoint: url, Region: region, MaxAttempts: 1, Timeout: 100 * time.Millisecond}
	tsdk, err := client.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	traw, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer traw.Close()
	// A timeout not applied would let the call answer after the injected
	// second, without an error.
	sdkErr, rawErr := timeout(tsdk), timeout(traw)
	if a, b := client.ErrorCode(sdkErr), client.ErrorCode(rawErr); a != client.CodeTimeout || b != a {
		t.Errorf("timeout codes: raw %q, SDK %q", b, a)
	}
	// Behind client.HTTPClient's wrapper, http.Client cancels the request
	// more than one way, and which one is reported (and whether it adds
	// "(Client.Timeout exceeded ...)") depends on timing: compare up to the
	// cause.
	cause := func(err error) error {
		msg := err.Error()
		for _, c := range []string{"context deadline exceeded", "net/http: request canceled"} {
			if i := strings.Index(msg, c); i >= 0 {
				return errors.New(msg[:i] + "(deadline)")
			}
		}
		return err
	}
	sameError(t, "Client.Timeout", cause(sdkErr), cause(rawErr))

	// An endpoint nobody listens on, and one that answers 200 with
	// something that is not JSON.
	down := clients(t, "http://127.0.0.1:1", false)
	put := func(a api) error {
		_, err := a.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("x"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
		return err
	}
	sameError(t, "unreachable endpoint", put(down.sdk), put(down.raw))
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "<html>not json</html>")
	}))
	defer junk.Close()
	j := clients(t, junk.URL, false)
	defer j.raw.Close() // before junk.Close, which waits for idle connections
	sdkErr, rawErr = put(j.sdk), put(j.raw)
	if a, b := client.ErrorCode(sdkErr), client.ErrorCode(rawErr); a != b || a != "HTTP 200" {
		t.Errorf("a 200 that is not JSON: raw %q (%v), SDK %q (%v)", b, rawErr, a, sdkErr)
	}
	var de *smithy.DeserializationError
	if !errors.As(rawErr, &de) {
		t.Errorf("not a DeserializationError: %v", rawErr)
	}
}

// run runs the generator with a new server holding rules, through the
// SDK client or the raw one.
func run(t *testing.T, raw bool, rules []fault.Rule, cfg loadgen.Config) *loadgen.Report {
	t.Helper()
	_, c := server(t, rivulet.Config{Faults: faultRules(t, rules...)})
	var a loadgen.API = c.sdk
	if raw {
		a = c.raw
	}
	rep, err := loadgen.Run(context.Background(), a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestLoadgenSameWithBothClients runs the generator on deterministic fault
// schedules with one worker: throttled entries and calls, server faults
// and read throttling must be retried, counted and checked the same way
// whichever client it uses.
func TestLoadgenSameWithBothClients(t *testing.T) {
	const ptee = "ProvisionedThroughputExceededException"
	for _, tc := range []struct {
		name  string
		rules []fault.Rule
		cfg   loadgen.Config
	}{
		{"PutRecords", []fault.Rule{
			{Op: "PutRecords", Entries: true, Error: ptee, Every: 7},
			{Op: "PutRecords", Error: "InternalFailure", Every: 4},
			{Op: "GetRecords", Error: ptee, Count: 3},
			{Op: "GetShardIterator", Error: "InternalFailure", Count: 1},
		}, loadgen.Config{Stream: "lg", Shards: 2, Mode: loadgen.ModeWriteRead, Workers: 1, RecordSize: 64, BatchSize: 20, Records: 300, GetRate: -1, ReadGrace: 200 * time.Millisecond}},
		{"PutRecord", []fault.Rule{
			{Op: "PutRecord", Error: ptee, Every: 4},
			{Op: "PutRecord", Error: "ResourceNotFoundException", Every: 25, Count: 2},
		}, loadgen.Config{Stream: "lg1", Shards: 2, Mode: loadgen.ModeWriteRead, Workers: 1, RecordSize: 32, BatchSize: 1, Records: 60, GetRate: -1, ReadGrace: 200 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sdk := run(t, false, tc.rules, tc.cfg)
			raw := run(t, true, tc.rules, tc.cfg)
			for _, rep := range []*loadgen.Report{sdk, raw} {
				if rep.Throttled == 0 || rep.Retries == 0 || rep.Throttled != rep.Errors[ptee]+rep.Errors["LimitExceededException"] {
					t.Fatalf("no throttling seen: %+v", rep)
				}
			}
			if !reflect.DeepEqual(sdk.Errors, raw.Errors) || sdk.Throttled != raw.Throttled || sdk.Retries != raw.Retries ||
				sdk.OK != raw.OK || !reflect.DeepEqual(sdk.Check, raw.Check) {
				t.Fatalf("SDK: errors %v throttled %d retries %d ok %v check %+v\nraw: errors %v throttled %d retries %d ok %v check %+v",
					sdk.Errors, sdk.Throttled, sdk.Retries, sdk.OK, sdk.Check, raw.Errors, raw.Throttled, raw.Retries, raw.OK, raw.Check)
			}
			sw, rw := sdk.Write, raw.Write
			if sw.Records != rw.Records || sw.FailedRecords != rw.FailedRecords || sw.Calls != rw.Calls || sdk.Read.Records != raw.Read.Records {
				t.Fatalf("write SDK %+v raw %+v; read SDK %+v raw %+v", sw, rw, sdk.Read, raw.Read)
			}
		})
	}
}

// TestLoadgenExactlyOnce writes and reads back with the raw client alone,
// from many workers.
func TestLoadgenExactlyOnce(t *testing.T) {
	_, c := server(t, rivulet.Config{})
	for _, cfg := range []loadgen.Config{
		{Stream: "eo", Shards: 3, Mode: loadgen.ModeWriteRead, Workers: 8, RecordSize: 300, BatchSize: 100, Records: 6000, GetRate: -1, GetLimit: 700},
		{Stream: "eo1", Shards: 2, Mode: loadgen.ModeWriteRead, Workers: 32, RecordSize: 16, BatchSize: 1, Records: 800, GetRate: -1, PartitionKeys: 5},
	} {
		rep, err := loadgen.Run(context.Background(), c.raw, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || !rep.Check.OK || rep.Check.Read != cfg.Records || rep.Write.Records != cfg.Records || rep.Read.Records != cfg.Records || len(rep.Errors) != 0 {
			t.Fatalf("report %+v write %+v read %+v check %+v", rep, rep.Write, rep.Read, rep.Check)
		}
	}
}
