package fault

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/rivulet/rivulet/internal/store"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func mustNew(t *testing.T, rules ...Rule) *Injector {
	t.Helper()
	f, err := New(rules...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var ctx = kinesis.WithCaller(context.Background(), kinesis.Caller{Account: "123456789012", Region: "us-east-1"})

// schedule runs n calls and returns which ones failed, 1-based.
func schedule(f *Injector, n int, op, stream string) []int {
	var failed []int
	for i := 1; i <= n; i++ {
		if f.Before(ctx, op, stream) != nil {
			failed = append(failed, i)
		}
	}
	return failed
}

func TestNoRules(t *testing.T) {
	f := mustNew(t)
	if err := f.Before(ctx, "PutRecords", "s"); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.Entry(store.StreamKey{Account: "000000000000", Name: "s"}, 0); code != "" {
		t.Fatal(code)
	}
	if got := f.Rules(); got == nil || len(got) != 0 {
		t.Errorf("Rules() = %#v, want an empty non-nil slice (JSON [])", got)
	}
}

func TestMatching(t *testing.T) {
	f := mustNew(t,
		Rule{Op: "PutRecord", Stream: "a", Error: "InternalFailure"},
		Rule{Op: "GetRecords", Error: "ProvisionedThroughputExceededException"},
		Rule{Stream: "b", Error: "ResourceNotFoundException"},
	)
	tests := []struct {
		op, stream string
		want       error
	}{
		{"PutRecord", "a", kinesis.ErrInternal},
		{"PutRecord", "c", nil},
		{"PutRecords", "a", nil},
		{"GetRecords", "anything", kinesis.ErrProvisionedThroughputExceeded},
		{"GetRecords", "", kinesis.ErrProvisionedThroughputExceeded},
		{"ListShards", "b", kinesis.ErrResourceNotFound},
		{"ListStreams", "", nil},
	}
	for _, tc := range tests {
		err := f.Before(ctx, tc.op, tc.stream)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s on %q: got %v, want %v", tc.op, tc.stream, err, tc.want)
		}
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		rule   Rule
		stream string
		want   string
	}{
		{Rule{Error: "ProvisionedThroughputExceededException"}, "s", "Rate exceeded for stream s under account 123456789012."},
		{Rule{Error: "LimitExceededException"}, "", "Rate exceeded for account 123456789012."},
		{Rule{Error: "InternalFailure"}, "s", "Internal Service Failure"},
		{Rule{Error: "InternalFailureException"}, "s", "Internal Service Failure"},
		{Rule{Error: "ResourceNotFoundException"}, "s", "Stream s under account 123456789012 not found."},
		{Rule{Error: "ResourceInUseException"}, "s", "Stream s under account 123456789012 not ACTIVE, instead in state UPDATING"},
		{Rule{Error: "InvalidArgumentException", Message: "custom"}, "s", "custom"},
	}
	for _, tc := range tests {
		err := mustNew(t, tc.rule).Before(ctx, "PutRecord", tc.stream)
		var se *kinesis.Error
		if !errors.As(err, &se) || se.Message != tc.want || !errors.Is(err, Errors[tc.rule.Error]) {
			t.Errorf("%s: got %#v, want message %q", tc.rule.Error, err, tc.want)
		}
	}
}

func TestEvery(t *testing.T) {
	f := mustNew(t, Rule{Op: "PutRecord", Error: "InternalFailure", Every: 3})
	got := schedule(f, 10, "PutRecord", "s")
	if want := []int{3, 6, 9}; !reflect.DeepEqual(got, want) {
		t.Errorf("failed calls %v, want %v", got, want)
	}
	// Calls that do not match do not advance the schedule.
	schedule(f, 5, "GetRecords", "s")
	if got := schedule(f, 2, "PutRecord", "s"); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("after other ops: %v, want [2] (the 12th matching call)", got)
	}
}

func TestCount(t *testing.T) {
	f := mustNew(t, Rule{Error: "InternalFailure", Count: 2})
	if got := schedule(f, 5, "PutRecord", "s"); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("failed %v, want [1 2]", got)
	}
	f = mustNew(t, Rule{Error: "InternalFailure", Every: 2, Count: 2})
	if got := schedule(f, 10, "PutRecord", "s"); !reflect.DeepEqual(got, []int{2, 4}) {
		t.Errorf("every 2, count 2: failed %v, want [2 4]", got)
	}
}

// Count holds under concurrency: exactly Count injections.
func TestCountConcurrent(t *testing.T) {
	f := mustNew(t, Rule{Error: "InternalFailure", Count: 100})
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if f.Before(ctx, "PutRecord", "s") != nil {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n != 100 {
		t.Errorf("%d injections, want 100", n)
	}
}

// A rate's failures stay within 5 standard deviations of the mean, and a
// seed makes the sequence repeat.
func TestRate(t *testing.T) {
	const n, p = 20000, 0.2
	f := mustNew(t, Rule{Error: "ProvisionedThroughputExceededException", Rate: p})
	f.Seed(42)
	first := schedule(f, n, "PutRecord", "s")
	mean, sd := n*p, math.Sqrt(n*p*(1-p))
	if got := float64(len(first)); math.Abs(got-mean) > 5*sd {
		t.Errorf("%v failures of %d at rate %v, want %v ± %.0f", got, n, p, mean, 5*sd)
	}
	f2 := mustNew(t, Rule{Error: "ProvisionedThroughputExceededException", Rate: p})
	f2.Seed(42)
	if second := schedule(f2, n, "PutRecord", "s"); !reflect.DeepEqual(first, second) {
		t.Error("the same seed gave different schedules")
	}
	// Without a seed the global source is used; still about right.
	f3 := mustNew(t, Rule{Error: "InternalFailure", Rate: p})
	if got := float64(len(schedule(f3, n, "PutRecord", "s"))); math.Abs(got-mean) > 5*sd {
		t.Errorf("unseeded: %v failures, want %v ± %.0f", got, mean, 5*sd)
	}
}

// The first firing error rule answers; a later one keeps its Count.
func TestFirstErrorWins(t *testing.T) {
	f := mustNew(t,
		Rule{Op: "PutRecord", Error: "InternalFailure", Every: 2},
		Rule{Error: "LimitExceededException", Count: 1},
	)
	var got []error
	for range 3 {
		got = append(got, f.Before(ctx, "PutRecord", "s"))
	}
	if !errors.Is(got[0], kinesis.ErrLimitExceeded) || !errors.Is(got[1], kinesis.ErrInternal) || got[2] != nil {
		t.Errorf("got %v; want LimitExceeded, InternalFailure, nil", got)
	}
	f = mustNew(t,
		Rule{Error: "InternalFailure", Count: 1},
		Rule{Error: "LimitExceededException", Count: 1},
	)
	first, second := f.Before(ctx, "X", ""), f.Before(ctx, "X", "")
	if !errors.Is(first, kinesis.ErrInternal) || !errors.Is(second, kinesis.ErrLimitExceeded) {
		t.Errorf("got %v, %v; the second rule's single injection was spent while the first answered", first, second)
	}
}

// recordSleeps makes Before's sleeps return at once for the rest of the
// test, and lists the durations asked for.
func recordSleeps(t *testing.T) *[]time.Duration {
	t.Helper()
	var asked []time.Duration
	orig := sleep
	t.Cleanup(func() { sleep = orig })
	sleep = func(ctx context.Context, d time.Duration) error {
		asked = append(asked, d)
		return ctx.Err()
	}
	return &asked
}

func TestLatency(t *testing.T) {
	slept := recordSleeps(t)
	f := mustNew(t,
		Rule{Op: "GetRecords", Latency: 30 * time.Millisecond},
		Rule{Stream: "s", Latency: 20 * time.Millisecond},
	)
	if err := f.Before(ctx, "GetRecords", "s"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*slept, []time.Duration{50 * time.Millisecond}) {
		t.Errorf("slept %v, want [50ms] (latencies add up)", *slept)
	}
	*slept = nil
	if err := f.Before(ctx, "PutRecord", "other"); err != nil || len(*slept) != 0 {
		t.Errorf("a call no rule matches: %v, slept %v", err, *slept)
	}
	// Latency then the error.
	f = mustNew(t, Rule{Latency: 20 * time.Millisecond, Error: "InternalFailure"})
	if err := f.Before(ctx, "PutRecord", "s"); !errors.Is(err, kinesis.ErrInternal) || !reflect.DeepEqual(*slept, []time.Duration{20 * time.Millisecond}) {
		t.Errorf("got %v after sleeping %v, want InternalFailure after [20ms]", err, *slept)
	}
}

// A latency holds the call until its context ends, which cuts it short.
func TestLatencyCancel(t *testing.T) {
	orig := sleep
	t.Cleanup(func() { sleep = orig })
	sleeping := make(chan time.Duration, 1)
	sleep = func(ctx context.Context, d time.Duration) error {
		sleeping <- d
		return orig(ctx, d)
	}
	f := mustNew(t, Rule{Latency: MaxLatency, Error: "InternalFailure"})
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Before(c, "PutRecord", "s") }()
	select {
	case d := <-sleeping:
		if d != MaxLatency {
			t.Fatalf("sleeping %v, want %v", d, MaxLatency)
		}
	case err := <-done:
		t.Fatalf("Before returned %v without sleeping", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Before returned %v during its latency", err)
	default:
	}
	cancel()
	// Only a hang reaches this bound: the latency is ten minutes.
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want the context's error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Before still sleeping a minute after its context was cancelled")
	}
}

func TestEntries(t *testing.T) {
	f := mustNew(t,
		Rule{Entries: true, Stream: "s", Error: "ProvisionedThroughputExceededException", Every: 2},
		Rule{Op: "PutRecords", Entries: true, Stream: "t", Error: "InternalFailure"},
	)
	// Entries rules never fail whole calls.
	if err := f.Before(ctx, "PutRecords", "s"); err != nil {
		t.Fatalf("Before: %v", err)
	}
	var codes []string
	for range 4 {
		code, msg := f.Entry(store.StreamKey{Account: "000000000000", Name: "s"}, 0)
		if code != "" && msg != "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000." {
			t.Errorf("message %q", msg)
		}
		codes = append(codes, code)
	}
	want := []string{"", "ProvisionedThroughputExceededException", "", "ProvisionedThroughputExceededException"}
	if !reflect.DeepEqual(codes, want) {
		t.Errorf("codes %q, want %q", codes, want)
	}
	if code, msg := f.Entry(store.StreamKey{Account: "000000000000", Name: "t"}, 0); code != "InternalFailure" || msg != "Internal Service Failure" {
		t.Errorf("t: %q %q", code, msg)
	}
	if code, _ := f.Entry(store.StreamKey{Account: "000000000000", Name: "u"}, 0); code != "" {
		t.Errorf("u: %q", code)
	}
}

func TestEntriesRate(t *testing.T) {
	f := mustNew(t, Rule{Entries: true, Error: "InternalFailure", Rate: 0.5})
	f.Seed(7)
	n := 0
	for range 10000 {
		if code, _ := f.Entry(store.StreamKey{Account: "000000000000", Name: "s"}, 0); code != "" {
			n++
		}
	}
	if n < 4750 || n > 5250 {
		t.Errorf("%d of 10000 entries failed at rate 0.5", n)
	}
}

func TestSetAddClear(t *testing.T) {
	f := mustNew(t, Rule{Error: "InternalFailure", Every: 2})
	f.Before(ctx, "PutRecord", "s")
	if err := f.Add(Rule{Op: "GetRecords", Error: "ExpiredIteratorException"}); err != nil {
		t.Fatal(err)
	}
	// Add keeps the first rule's counter: its 2nd matching call fails.
	if err := f.Before(ctx, "PutRecord", "s"); !errors.Is(err, kinesis.ErrInternal) {
		t.Errorf("counter lost on Add: %v", err)
	}
	if len(f.Rules()) != 2 {
		t.Errorf("rules %v", f.Rules())
	}
	if err := f.Add(Rule{Op: "Nope", Error: "InternalFailure"}); err == nil || len(f.Rules()) != 2 {
		t.Error("invalid rule added")
	}
	if err := f.Set([]Rule{{Error: "InternalFailure"}, {Error: "Bad"}}); err == nil || len(f.Rules()) != 2 {
		t.Error("invalid set applied")
	}
	f.Clear()
	if err := f.Before(ctx, "PutRecord", "s"); err != nil || len(f.Rules()) != 0 {
		t.Errorf("after Clear: %v %v", err, f.Rules())
	}
}

// Rules can be replaced while calls run (run with -race).
func TestConcurrentReplace(t *testing.T) {
	f := mustNew(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					f.Before(ctx, "PutRecord", "s")
					f.Entry(store.StreamKey{Account: "000000000000", Name: "s"}, 0)
				}
			}
		})
	}
	for i := range 200 {
		if i%2 == 0 {
			_ = f.Set([]Rule{{Error: "InternalFailure", Rate: 0.5}, {Entries: true, Error: "InternalFailure"}})
		} else {
			_ = f.Add(Rule{Op: "PutRecord", Error: "LimitExceededException", Every: 3})
		}
	}
	f.Clear()
	close(stop)
	wg.Wait()
}

func TestParse(t *testing.T) {
	rules, err := Parse([]byte(`[
		{"op":"PutRecords","stream":"orders","error":"ProvisionedThroughputExceededException","rate":0.1},
		{"op":"GetRecords","latency":"250ms","every":5,"count":3},
		{"entries":true,"error":"InternalFailure","rate":0.05,"message":"boom"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Op: "PutRecords", Stream: "orders", Error: "ProvisionedThroughputExceededException", Rate: 0.1},
		{Op: "GetRecords", Latency: 250 * time.Millisecond, Every: 5, Count: 3},
		{Entries: true, Error: "InternalFailure", Rate: 0.05, Message: "boom"},
	}
	if !reflect.DeepEqual(rules, want) {
		t.Fatalf("got %+v", rules)
	}
	// Marshal and parse again: the same rules.
	data, err := json.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(data)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("round trip: %v %+v from %s", err, again, data)
	}
	if empty, err := Parse([]byte(` [] `)); err != nil || len(empty) != 0 {
		t.Errorf("[]: %v %v", empty, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, "empty input"},
		{`null`, "not null"},
		{`{"error":"InternalFailure"}`, "not a single object"},
		{`[{"op":"PutRecordz","error":"InternalFailure"}]`, `rule 1: unknown op "PutRecordz"`},
		{`[{"op":"putrecords","error":"InternalFailure"}]`, `did you mean "PutRecords"`},
		{`[{"error":"Throttled"}]`, `unknown error "Throttled": want one of ProvisionedThroughputExceededException`},
		{`[{"error":"InternalFailure"},{"error":"InternalFailure","rate":1.5}]`, "rule 2: rate 1.5 is outside 0..1"},
		{`[{"error":"InternalFailure","rate":-0.1}]`, "rate -0.1 is outside 0..1"},
		{`[{"error":"InternalFailure","rate":0}]`, "rate 0 never fires"},
		{`[{"error":"InternalFailure","rate":0.5,"every":2}]`, "cannot be combined"},
		{`[{"error":"InternalFailure","every":-1}]`, "every -1 is negative"},
		{`[{"error":"InternalFailure","count":-1}]`, "count -1 is negative"},
		{`[{"latency":"soon"}]`, `latency "soon" is not a duration`},
		{`[{"latency":"-1s"}]`, "negative"},
		{`[{"latency":"1h"}]`, "longer than"},
		{`[{"op":"PutRecords"}]`, "rule does nothing"},
		{`[{"entries":true,"error":"LimitExceededException"}]`, "entries rules need error"},
		{`[{"entries":true,"op":"GetRecords","error":"InternalFailure"}]`, "PutRecords only"},
		{`[{"entries":true,"error":"InternalFailure","latency":"1s"}]`, "cannot add latency"},
		{`[{"error":"InternalFailure","probability":0.5}]`, `unknown field "probability"`},
		{`[{"error":"InternalFailure","rate":"0.5"}]`, "rate: wrong type"},
		{`[{"error":"InternalFailure"}] x`, "unexpected data"},
		{`[1]`, "wrong type"},
		{`[{"error":"InternalFailure"}`, "unexpected EOF"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseRule([]byte(`[]`)); err == nil {
		t.Error("ParseRule accepted an array")
	}
}

func TestLoad(t *testing.T) {
	if rules, err := Load(""); err != nil || rules != nil {
		t.Errorf("empty: %v %v", rules, err)
	}
	rules, err := Load(`[{"error":"InternalFailure","every":10}]`)
	if err != nil || len(rules) != 1 || rules[0].Every != 10 {
		t.Errorf("inline: %v %v", rules, err)
	}
	p := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(p, []byte(`[{"op":"GetRecords","latency":"1s"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err = Load("@" + p)
	if err != nil || len(rules) != 1 || rules[0].Latency != time.Second {
		t.Errorf("file: %v %v", rules, err)
	}
	if err := os.WriteFile(p, []byte(`[{"op":"Nope","latency":"1s"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("@" + p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := Load("@" + p + ".missing"); err == nil {
		t.Error("missing file accepted")
	}
}

func TestAdminHandler(t *testing.T) {
	f := mustNew(t)
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	do := func(method, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/admin/faults", strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", method, ct)
		}
		return resp.StatusCode, sb.String()
	}
	rulesOf := func(body string) []Rule {
		t.Helper()
		var r []Rule
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		return r
	}
	if code, body := do("GET", ""); code != 200 || len(rulesOf(body)) != 0 {
		t.Errorf("GET empty: %d %s", code, body)
	}
	code, body := do("PUT", `[{"op":"PutRecords","error":"ProvisionedThroughputExceededException","rate":0.5},{"latency":"10ms"}]`)
	if code != 200 || len(rulesOf(body)) != 2 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if !strings.Contains(body, `"latency": "10ms"`) {
		t.Errorf("latency not rendered as a duration: %s", body)
	}
	if code, body := do("POST", `{"op":"GetRecords","error":"InternalFailure","every":2}`); code != 200 || len(rulesOf(body)) != 3 {
		t.Errorf("POST: %d %s", code, body)
	}
	if len(f.Rules()) != 3 || f.Rules()[2].Op != "GetRecords" {
		t.Errorf("rules in force: %+v", f.Rules())
	}
	// The rules take effect: every second GetRecords fails.
	f.Before(ctx, "GetRecords", "s")
	if err := f.Before(ctx, "GetRecords", "s"); !errors.Is(err, kinesis.ErrInternal) {
		t.Errorf("posted rule not in force: %v", err)
	}
	// GET output can be PUT back as is.
	_, listed := do("GET", "")
	if code, body := do("PUT", listed); code != 200 || !reflect.DeepEqual(rulesOf(body), f.Rules()) {
		t.Errorf("GET then PUT: %d %s", code, body)
	}
	// Bad input: 400 with a message, rules unchanged.
	code, body = do("PUT", `[{"error":"Nope"}]`)
	var e errorBody
	if code != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Message, `unknown error "Nope"`) {
		t.Errorf("bad PUT: %d %s", code, body)
	}
	if code, body := do("POST", `[{"error":"InternalFailure"}]`); code != 400 {
		t.Errorf("POST of an array: %d %s", code, body)
	}
	if len(f.Rules()) != 3 {
		t.Errorf("bad requests changed the rules: %+v", f.Rules())
	}
	if code, body := do("DELETE", ""); code != 200 || len(rulesOf(body)) != 0 || len(f.Rules()) != 0 {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if code, _ := do("PATCH", "{}"); code != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d", code)
	}
	if code, body := do("PUT", "["+strings.Repeat(" ", maxBody)+"]"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d %s", code, body)
	}
}

// TestOpsCoverService: rules may name every operation the service serves,
// the channel operations included.
func TestOpsCoverService(t *testing.T) {
	be := memstore.New(memstore.Config{})
	defer be.Close()
	svc := kinesis.New(be, kinesis.Config{Channels: be})
	defer svc.Close()
	known := map[string]bool{}
	for _, op := range Ops {
		known[op] = true
	}
	for op := range svc.Operations() {
		if !known[op] {
			t.Errorf("the service serves %s, which fault.Ops lacks", op)
		}
	}
	f := mustNew(t, Rule{Op: "DeleteChannel", Error: "ResourceInUseException"})
	if err := f.Before(ctx, "DeleteChannel", ""); !errors.Is(err, kinesis.ErrResourceInUse) {
		t.Errorf("DeleteChannel rule: %v", err)
	}
	if err := f.Before(ctx, "CreateChannel", ""); err != nil {
		t.Errorf("CreateChannel matched a DeleteChannel rule: %v", err)
	}
}
