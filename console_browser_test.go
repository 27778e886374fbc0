package rivulet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/aggregation"
)

// consoleBrowser starts headless Chromium for a console test; the browser
// closes when t ends.
func consoleBrowser(t *testing.T) context.Context {
	t.Helper()
	browser := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserHangTimeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("lang", "en-US"),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
		cancel()
	})
	// Every page records what went wrong in it: uncaught errors, rejected
	// promises nobody handled, files that did not load, and whatever the
	// Content-Security-Policy blocked. pageProblems reads the list.
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__problems = [];
		const note = s => window.__problems.push(String(s));
		window.addEventListener('error', e => note('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)), true);
		window.addEventListener('unhandledrejection', e => note('unhandled rejection: ' + (e.reason && (e.reason.stack || e.reason.message) || e.reason)));
		document.addEventListener('securitypolicyviolation', e => note('CSP blocked ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));
	`}); err != nil {
		t.Fatal(err)
	}
	return bctx
}

// pageProblems fails t with what went wrong in the page so far.
func pageProblems(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, p := range js[[]string](t, ctx, `window.__problems || ['the problem recorder did not run']`) {
		t.Errorf("in the page: %s", p)
	}
}

// screenshots keeps full-page PNGs of the console: always in the test's
// artifact directory ($RIVULET_ARTIFACTS, else a temporary one), and in
// docs/console as well when RIVULET_UPDATE_SCREENSHOTS=1.
type screenshots struct {
	t   *testing.T
	dir string
}

func newScreenshots(t *testing.T) *screenshots {
	dir := os.Getenv("RIVULET_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots in %s", dir)
	return &screenshots{t: t, dir: dir}
}

func (s *screenshots) take(ctx context.Context, page string) {
	s.t.Helper()
	// Nothing may be focused or hovered in a picture meant for the docs.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`)); err != nil {
		s.t.Fatalf("screenshot %s: %v", page, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", page, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, page+".png"), png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	if os.Getenv("RIVULET_UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile(filepath.Join("docs", "console", page+".png"), png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// css selects the first element matching a CSS selector.
type css = chromedp.CSS

// waitJS waits until the JavaScript expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(browserHangTimeout))
}

// choose sets a <select> or <input> to value and tells the page, as a
// user's change would.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		e.value = %q;
		e.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, sel, value))
}

// js evaluates a JavaScript expression in the page.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func innerText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return js[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).innerText`, sel))
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return js[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// TestConsoleStreamsBrowser drives the console's stream pages in
// Chromium: create a stream in the form, read records put through the API
// (one of them KPL-aggregated) in the data viewer, split, merge and scale
// on the shard map, switch shard-level metrics, delete a stream.
func TestConsoleStreamsBrowser(t *testing.T) {
	// Transitions take a while, as with rivulet serve: the pages wait for
	// CREATING and UPDATING to end.
	const delay = 300 * time.Millisecond
	srv := start(t, rivulet.Config{
		CreateDelay: delay, DeleteDelay: delay, ReshardDelay: delay,
		Metrics: rivulet.Metrics{FlushInterval: 200 * time.Millisecond},
	})
	kc := client(t, srv.Endpoint(), nil)
	ctx := consoleBrowser(t)
	shots := newScreenshots(t)
	api := context.Background()
	const stream = "console-demo"

	// Some streams beside the one made in the browser, for the list.
	for _, in := range []*kinesis.CreateStreamInput{
		{StreamName: aws.String("orders"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}},
		{StreamName: aws.String("clickstream"), ShardCount: aws.Int32(4)},
		{StreamName: aws.String("scratch"), ShardCount: aws.Int32(1)},
	} {
		if _, err := kc.CreateStream(api, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"orders", "clickstream", "scratch"} {
		waitActive(t, kc, name)
	}

	// The list, then the create form.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.AdminEndpoint()+"/"),
		chromedp.WaitVisible(css(`#streams-table tr[data-stream="scratch"]`)),
	); err != nil {
		t.Fatalf("streams page: %v", err)
	}
	listed := innerText(t, ctx, `#streams-table`)
	for _, want := range []string{"orders", "On-demand", "clickstream", "Provisioned", "ACTIVE"} {
		if !strings.Contains(listed, want) {
			t.Errorf("streams table lacks %q:\n%s", want, listed)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(css(`#stream-name`), stream),
		chromedp.Click(css(`#mode-provisioned`)),
		chromedp.SetValue(css(`#shard-count`), "2"),
		chromedp.Click(css(`#create-stream`)),
		waitJS(fmt.Sprintf(`location.hash === '#/streams/%s'`, stream)),
		// CREATING, then ACTIVE without a reload.
		waitJS(`document.querySelector('[data-testid=summary-status]')?.textContent === 'ACTIVE'`),
		waitJS(`document.querySelectorAll('#shard-map [data-testid=shard-rect][data-state=open]').length === 2`),
	); err != nil {
		t.Fatalf("create through the form: %v", err)
	}
	sum, err := kc.DescribeStreamSummary(api, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("the stream created in the browser: %v", err)
	}
	if n := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); n != 2 {
		t.Fatalf("stream created with %d shards, want 2", n)
	}

	if _, err := kc.AddTagsToStream(api, &kinesis.AddTagsToStreamInput{StreamName: aws.String(stream),
		Tags: map[string]string{"team": "payments", "env": "staging"}}); err != nil {
		t.Fatal(err)
	}

	// Records through the API, all on shard 0 (the lower half of the key
	// space): text, JSON, binary, and a KPL aggregated record.
	puts := []struct {
		pk   string
		data []byte
	}{
		{"greeting", []byte("hello console")},
		{"sensor-1", []byte(`{"sensor":"s-1","temperature":21.5,"ok":true}`)},
		{"blob", []byte{0x00, 0x01, 0x02, 0xff, 0xfe}},
	}
	var seqs []string
	for i, p := range puts {
		out, err := kc.PutRecord(api, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(p.pk),
			ExplicitHashKey: aws.String(fmt.Sprint(i + 1)), Data: p.data})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	var agg aggregation.Aggregator
	for i := range 3 {
		if err := agg.Add(aggregation.Record{PartitionKey: fmt.Sprintf("user-%d", i), ExplicitHashKey: fmt.Sprint(10 + i),
			Data: fmt.Appendf(nil, "kpl user record %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	blob, pk, ehk, err := agg.Drain()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.PutRecord(api, &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: &pk,
		ExplicitHashKey: aws.String(ehk), Data: blob}); err != nil {
		t.Fatal(err)
	}

	// The data viewer, from the trim horizon.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#stream-tabs a[data-tab="data"]`)),
		chromedp.WaitVisible(css(`#viewer-form`)),
		waitJS(`document.querySelectorAll('#viewer-shard option').length === 2`),
		choose(`#viewer-shard`, "shardId-000000000000"),
		choose(`#viewer-position`, "TRIM_HORIZON"),
		chromedp.Click(css(`#viewer-start`)),
		waitJS(`document.querySelectorAll('#records [data-testid=record]').length === 4`),
	); err != nil {
		t.Fatalf("data viewer: %v", err)
	}
	records := innerText(t, ctx, `#records`)
	users := js[string](t, ctx, `[...document.querySelectorAll('[data-testid=user-record]')].map(e => e.dataset.index + ':' + e.querySelector('[data-testid=user-record-data]').textContent).join('|')`)
	for _, want := range []string{"hello console", "\"temperature\": 21.5", "greeting", "KPL aggregated · 3 user records", seqs[0]} {
		if !strings.Contains(records, want) {
			t.Errorf("data viewer lacks %q:\n%s", want, records)
		}
	}
	if want := "0:kpl user record 0|1:kpl user record 1|2:kpl user record 2"; users != want {
		t.Errorf("user records %q, want %q", users, want)
	}
	if !strings.Contains(records, "00 01 02 ff fe") {
		t.Errorf("the binary record is not shown in hex:\n%s", records)
	}
	if millis := innerText(t, ctx, `#millis-behind`); millis == "" || millis == "—" {
		t.Errorf("MillisBehindLatest shown as %q", millis)
	}
	shots.take(ctx, "data")

	// Hex for everything, then text.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#fmt-hex`)),
		waitJS(`document.querySelector('#records [data-testid=record] .badge.fmt').textContent === 'hex'`),
	); err != nil {
		t.Fatalf("format toggle: %v", err)
	}
	hexView := innerText(t, ctx, `#records`)
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#fmt-text`)),
		waitJS(`document.querySelector('#records [data-testid=record] .badge.fmt').textContent === 'text'`),
	); err != nil {
		t.Fatalf("format toggle: %v", err)
	}
	textView := innerText(t, ctx, `#records`)
	if err := chromedp.Do(ctx, chromedp.Click(css(`#fmt-auto`))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hexView, "68 65 6c 6c 6f 20 63 6f") { // "hello co"
		t.Errorf("hex view lacks the bytes of %q:\n%s", "hello console", hexView)
	}
	if !strings.Contains(textView, `{"sensor":"s-1","temperature":21.5,"ok":true}`) {
		t.Errorf("text view does not show the JSON as sent:\n%s", textView)
	}

	// From a sequence number: the JSON record first, one per page.
	if err := chromedp.Do(ctx,
		choose(`#viewer-position`, "AT_SEQUENCE_NUMBER"),
		chromedp.WaitVisible(css(`#viewer-seq`)),
		chromedp.SetValue(css(`#viewer-seq`), seqs[1]),
		choose(`#viewer-limit`, "10"),
		chromedp.Click(css(`#viewer-start`)),
		waitJS(fmt.Sprintf(`(() => { const r = document.querySelector('#records [data-testid=record]'); return r && r.dataset.seq === %q; })()`, seqs[1])),
		waitJS(`document.querySelectorAll('#records [data-testid=record]').length === 3`),
		chromedp.Click(css(`#viewer-next`)),
		waitJS(`document.getElementById('viewer-page').textContent === '2'`),
	); err != nil {
		t.Fatalf("viewer from a sequence number: %v", err)
	}
	first := innerText(t, ctx, `#records`)
	if !strings.Contains(first, "No records") {
		t.Errorf("page 2 after the last record:\n%s", first)
	}

	// Split shard 0 at its middle on the details tab: the map gains two
	// open children under the closed parent.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#stream-tabs a[data-tab="details"]`)),
		chromedp.WaitVisible(css(`#split-form`)),
		chromedp.Click(css(`#shard-map [data-shard-id="shardId-000000000000"]`)),
	); err != nil {
		t.Fatalf("details: %v", err)
	}
	splitKey, err := chromedp.Run(ctx, chromedp.Value(css(`#split-hash-key`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#split-submit`)),
		waitJS(`document.querySelectorAll('#shard-map [data-testid=shard-rect]').length === 4`),
		waitJS(`document.querySelectorAll('#shard-map [data-state=open]').length === 3`),
	); err != nil {
		t.Fatalf("split: %v", err)
	}
	if splitKey != "85070591730234615865843651857942052864" { // 2^126
		t.Errorf("split proposed at %s, want 2^126", splitKey)
	}
	shards := listShards(t, kc, stream)
	if len(shards) != 4 || shards[0].SequenceNumberRange.EndingSequenceNumber == nil {
		t.Fatalf("after the split: %d shards, shard 0 closed: %v", len(shards), shards[0].SequenceNumberRange.EndingSequenceNumber != nil)
	}
	lineage := count(t, ctx, `#shard-map [data-testid=lineage]`)
	rows := js[int](t, ctx, `new Set([...document.querySelectorAll('#shard-map [data-testid=shard-rect]')].map(e => e.dataset.row)).size`)
	if lineage != 2 || rows != 2 {
		t.Errorf("after the split the map has %d lineage lines in %d rows, want 2 and 2", lineage, rows)
	}

	// Merge the two children back: one open shard with two parents.
	if err := chromedp.Do(ctx,
		choose(`#merge-pair`, "shardId-000000000002 shardId-000000000003"),
		chromedp.Click(css(`#merge-submit`)),
		waitJS(`document.querySelectorAll('#shard-map [data-testid=shard-rect]').length === 5`),
		waitJS(`document.querySelectorAll('#shard-map [data-state=open]').length === 2`),
		waitJS(`document.querySelectorAll('#shard-map [data-testid=lineage]').length === 4`),
	); err != nil {
		t.Fatalf("merge: %v", err)
	}
	if got := listShards(t, kc, stream); aws.ToString(got[4].ParentShardId) != "shardId-000000000002" || aws.ToString(got[4].AdjacentParentShardId) != "shardId-000000000003" {
		t.Errorf("merged shard %s has parents %s and %s", aws.ToString(got[4].ShardId), aws.ToString(got[4].ParentShardId), aws.ToString(got[4].AdjacentParentShardId))
	}

	// Shard-level metrics: one switch, then ALL.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#em-IncomingBytes`)),
		waitJS(`document.querySelector('[data-testid=summary-monitoring]').textContent === 'IncomingBytes'`),
		waitJS(`!document.getElementById('em-IncomingBytes').disabled`),
	); err != nil {
		t.Fatalf("enhanced monitoring: %v", err)
	}
	if got := enhanced(t, kc, stream); got != "IncomingBytes" {
		t.Errorf("after one switch the stream has shard-level metrics %q", got)
	}
	if tags := innerText(t, ctx, `#stream-tags`); !strings.Contains(tags, "team\tpayments") || !strings.Contains(tags, "env\tstaging") {
		t.Errorf("tags shown:\n%s", tags)
	}
	shots.take(ctx, "stream")
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#em-ALL`)),
		waitJS(`[...document.querySelectorAll('[data-testid=em-switch]')].every(b => b.checked && !b.disabled)`),
	); err != nil {
		t.Fatalf("enhanced monitoring ALL: %v", err)
	}
	if got := enhanced(t, kc, stream); strings.Count(got, ",") != 6 {
		t.Errorf("after ALL the stream has shard-level metrics %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#em-ALL`)),
		waitJS(`[...document.querySelectorAll('[data-testid=em-switch]')].every(b => !b.checked && !b.disabled)`),
	); err != nil {
		t.Fatalf("enhanced monitoring off: %v", err)
	}
	if got := enhanced(t, kc, stream); got != "" {
		t.Errorf("after switching ALL off the stream has shard-level metrics %q", got)
	}

	// Scale from 2 to 3 open shards.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(css(`#scale-target`), "3"),
		chromedp.Click(css(`#scale-submit`)),
		waitJS(`document.querySelectorAll('#shard-map [data-state=open]').length === 3`),
		waitJS(`document.querySelector('[data-testid=summary-open-shards]').textContent === '3'`),
	); err != nil {
		t.Fatalf("scale: %v", err)
	}

	// A refused action shows AWS's error: split a closed shard.
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('split-shard'); s.append(new Option('shardId-000000000000', 'shardId-000000000000')); s.value = 'shardId-000000000000'; })()`),
		chromedp.Click(css(`#split-submit`)),
		chromedp.WaitVisible(css(`#split-form [data-testid=error]`)),
	); err != nil {
		t.Fatalf("refused split: %v", err)
	}
	refusal := innerText(t, ctx, `#split-form [data-testid=error]`)
	if !strings.Contains(refusal, "Exception") {
		t.Errorf("refused split shows %q", refusal)
	}

	// Delete "scratch" from the list, after confirming.
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#nav a[data-nav="streams"]`)),
		chromedp.WaitVisible(css(`#streams-table tr[data-stream="scratch"]`)),
	); err != nil {
		t.Fatalf("back to the list: %v", err)
	}
	shots.take(ctx, "streams")
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`tr[data-stream="scratch"] [data-testid=delete-stream]`)),
		chromedp.WaitVisible(css(`tr.confirm-row[data-stream="scratch"] [data-testid=confirm-delete]`)),
		chromedp.Click(css(`tr.confirm-row[data-stream="scratch"] [data-testid=confirm-delete]`)),
		waitJS(`!document.querySelector('#streams-table tr[data-stream="scratch"]')`),
	); err != nil {
		t.Fatalf("delete: %v", err)
	}
	pageProblems(t, ctx)
	sum, err = kc.DescribeStreamSummary(api, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("scratch")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) && err != nil {
		t.Errorf("DescribeStreamSummary of the deleted stream: %v", err)
	}
	if err == nil && sum.StreamDescriptionSummary.StreamStatus != types.StreamStatusDeleting {
		t.Errorf("scratch is %s after its deletion in the browser", sum.StreamDescriptionSummary.StreamStatus)
	}
	w := kinesis.NewStreamNotExistsWaiter(kc, func(o *kinesis.StreamNotExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(api, &kinesis.DescribeStreamInput{StreamName: aws.String("scratch")}, browserHangTimeout); err != nil {
		t.Fatalf("scratch: %v", err)
	}

	// The list a page at a time: the three streams left, two a page.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.AdminEndpoint()+"/#/streams?limit=2"),
		waitJS(`document.querySelectorAll('#streams-table [data-testid=stream-row]').length === 2`),
		chromedp.WaitVisible(css(`#streams-more`)),
		chromedp.Click(css(`#streams-more`)),
		waitJS(`document.querySelectorAll('#streams-table [data-testid=stream-row]').length === 3`),
		waitJS(`document.getElementById('streams-more').hidden`),
	); err != nil {
		t.Fatalf("paging through the list: %v", err)
	}
	if got := js[string](t, ctx, `[...document.querySelectorAll('[data-testid=stream-row]')].map(r => r.dataset.stream).join(',')`); got != "clickstream,console-demo,orders" {
		t.Errorf("the pages list %s", got)
	}
	pageProblems(t, ctx)
}

// waitActive waits for a stream created through the API to be ACTIVE.
func waitActive(t *testing.T, kc *kinesis.Client, stream string) {
	t.Helper()
	w := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(context.Background(), &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, browserHangTimeout); err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
}

func listShards(t *testing.T, kc *kinesis.Client, stream string) []types.Shard {
	t.Helper()
	out, err := kc.ListShards(context.Background(), &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Shards
}

func enhanced(t *testing.T, kc *kinesis.Client, stream string) string {
	t.Helper()
	out, err := kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range out.StreamDescriptionSummary.EnhancedMonitoring {
		for _, m := range e.ShardLevelMetrics {
			names = append(names, string(m))
		}
	}
	return strings.Join(names, ",")
}
