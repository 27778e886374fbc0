package rivulet_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/consumer"
)

// monBrowser starts headless Chromium for the console tests; it ends with
// t (or when the returned stop is called). Each monDo has its own bound,
// so that after a hang the browser can still take a screenshot.
func monBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	browser := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// The same window as the other console screenshots in docs/.
		chromedp.WindowSize(1366, 900),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("lang", "en-US"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	stop := func() {
		bcancel()
		acancel()
	}
	t.Cleanup(stop)
	// The first call starts the browser, with the context it lives in.
	// Every page then keeps a list of what went wrong in it (monProblems).
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__monProblems = [];
		const problem = s => window.__monProblems.push(String(s));
		addEventListener('error', e => problem('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)), true);
		addEventListener('unhandledrejection', e => problem('unhandled rejection: ' + (e.reason && (e.reason.stack || e.reason.message) || e.reason)));
		document.addEventListener('securitypolicyviolation', e => problem('CSP blocked ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));
	`}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx, stop
}

// monProblems fails t with the errors, unhandled rejections and CSP
// violations of the page shown.
func monProblems(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, p := range monEval[[]string](t, ctx, `window.__monProblems || ["the problem recorder did not run"]`) {
		t.Errorf("in the page %s: %s", monEval[string](t, ctx, `location.hash`), p)
	}
}

// monDo runs browser actions, failing the test with what was being done
// and a screenshot of the page.
func monDo(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, browserHangTimeout)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		monShot(t, ctx, "failed-"+strings.Map(func(r rune) rune {
			if r == ' ' || r == '/' {
				return '-'
			}
			return r
		}, what), false)
		t.Fatalf("%s: %v", what, err)
	}
}

// monWait polls a JavaScript predicate until it is true; only a hang
// reaches browserHangTimeout. A poll cut off by a navigation (a reload,
// a page that replaces its location) starts again in the new page.
func monWait(expr string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(0), chromedp.WithPollingInterval(100*time.Millisecond))
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		for {
			_, err := poll(ctx, tgt)
			if err == nil || ctx.Err() != nil || !navigating(err) {
				return err
			}
			time.Sleep(50 * time.Millisecond) // the new page's context is being made
		}
	})
}

// navigating reports whether err is Chrome saying the page went away
// under a poll: a reload or navigation in progress, which passes.
func navigating(err error) bool {
	msg := err.Error()
	for _, s := range []string{"context", "navigated", "Not attached to an active page"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// monEval evaluates a JavaScript expression.
func monEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

var monArtifacts sync.Once

// monShot saves a full-page screenshot to $RIVULET_ARTIFACTS/console/
// (else to the test's temporary directory), and with RIVULET_UPDATE_SCREENSHOTS=1 and
// docs set, to docs/console/<name>.png for docs/CONSOLE.md.
func monShot(t *testing.T, ctx context.Context, name string, docs bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("RIVULET_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
	monArtifacts.Do(func() { t.Logf("console screenshots in %s", dir) })
	if docs && os.Getenv("RIVULET_UPDATE_SCREENSHOTS") == "1" {
		if err := os.MkdirAll(filepath.Join("docs", "console"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("docs", "console", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleMonitoringBrowser drives the monitoring, consumers and
// delivery-stream pages in Chromium against a server with a known
// workload: the graphs show the records put, the consumers page an
// enhanced fan-out consumer and two KCL applications with their leases
// and lag, and the delivery pages a delivery stream with its metrics.
func TestConsoleMonitoringBrowser(t *testing.T) {
	var back atomic.Int64 // how far the server's clock is set back
	srv := start(t, rivulet.Config{
		Metrics: rivulet.Metrics{FlushInterval: 100 * time.Millisecond},
		Clock:   func() time.Time { return time.Now().Add(-time.Duration(back.Load())) },
	})
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: rivulet.SDKTransport(tr)}
	kc := client(t, srv.Endpoint(), tr)
	ddb := dynamodb.New(dynamodb.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1", Credentials: creds, HTTPClient: hc, RetryMaxAttempts: 1})
	fh := firehose.New(firehose.Options{BaseEndpoint: aws.String(srv.Endpoint()), Region: "us-east-1", Credentials: creds, HTTPClient: hc, RetryMaxAttempts: 1})

	// The workload: batches of known size over the last 12 minutes, put
	// while the server's clock (which stamps metrics with their minute)
	// is set back, so the graphs have a shape.
	const stream = "watched"
	batches := []int{30, 42, 55, 48, 61, 80, 96, 88, 71, 77, 104, 120, 9}
	records, inShard0 := 0, 0
	for _, n := range batches {
		records += n
	}
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// Shard-level metrics too, so the page draws them per shard.
	if _, err := kc.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{
		StreamName: aws.String(stream), ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll},
	}); err != nil {
		t.Fatal(err)
	}
	for i, n := range batches {
		back.Store(int64(time.Duration(len(batches)-1-i) * time.Minute))
		var entries []types.PutRecordsRequestEntry
		for j := range n {
			entries = append(entries, types.PutRecordsRequestEntry{
				PartitionKey: aws.String(fmt.Sprintf("customer-%d", j)),
				Data:         fmt.Appendf(nil, `{"batch":%d,"order":%d,"note":"%s"}`, i, j, strings.Repeat("x", j%40)),
			})
		}
		put, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
		if err != nil || aws.ToInt32(put.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v %v", put, err)
		}
		for _, r := range put.Records {
			if aws.ToString(r.ShardId) == "shardId-000000000000" {
				inShard0++
			}
		}
	}
	back.Store(0)
	sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: sum.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String("fanout-reader"),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fan-out consumer reads shard 0 through a subscription.
	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	sub, err := client(t, srv.Endpoint(), h2c).SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: reg.Consumer.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	if err != nil {
		t.Fatal(err)
	}
	pushed := 0
	for ev := range sub.GetStream().Events() {
		if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
			pushed += len(e.Value.Records)
		}
		if pushed >= inShard0 {
			break
		}
	}
	sub.GetStream().Close()
	if pushed != inShard0 {
		t.Fatalf("the subscription pushed %d records of shard 0's %d: %v", pushed, inShard0, sub.GetStream().Err())
	}

	// A KCL application made by the consumer library, which processes and
	// checkpoints every record and keeps its leases while the browser
	// looks; and one whose lease is written by hand, as the Java KCL
	// writes it, that has processed nothing.
	var processed atomic.Int64
	allDone := make(chan struct{})
	var once sync.Once
	w, err := consumer.New(consumer.Config{
		AppName:         "orders-app",
		WorkerID:        "worker-1",
		Stream:          stream,
		Kinesis:         kc,
		DynamoDB:        ddb,
		InitialPosition: consumer.InitialPosition{Type: consumer.SentinelTrimHorizon},
		Retrieval:       consumer.Polling{IdleTimeBetweenReads: 100 * time.Millisecond},
		Processor: consumer.ProcessorFunc(func(ctx context.Context, in consumer.ProcessRecordsInput) {
			if len(in.Records) == 0 {
				return
			}
			if err := in.Checkpointer.Checkpoint(ctx); err != nil {
				t.Errorf("checkpoint: %v", err)
				return
			}
			if processed.Add(int64(len(in.Records))) >= int64(records) {
				once.Do(func() { close(allDone) })
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		if err := <-workerDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	}()
	select {
	case <-allDone:
	case <-time.After(browserHangTimeout):
		t.Fatalf("the consumer library processed %d of %d records", processed.Load(), records)
	}
	for _, tc := range []struct {
		table string
		key   string
		item  map[string]ddbtypes.AttributeValue
	}{
		{"legacy-app", "leaseKey", map[string]ddbtypes.AttributeValue{
			"leaseKey":                     &ddbtypes.AttributeValueMemberS{Value: "shardId-000000000000"},
			"leaseOwner":                   &ddbtypes.AttributeValueMemberS{Value: "java-worker-7"},
			"leaseCounter":                 &ddbtypes.AttributeValueMemberN{Value: "42"},
			"checkpoint":                   &ddbtypes.AttributeValueMemberS{Value: "TRIM_HORIZON"},
			"checkpointSubSequenceNumber":  &ddbtypes.AttributeValueMemberN{Value: "0"},
			"ownerSwitchesSinceCheckpoint": &ddbtypes.AttributeValueMemberN{Value: "0"},
		}},
		// Not a lease table: it must not be shown.
		{"sessions", "id", map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "shardId-000000000000"}}},
	} {
		if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(tc.table),
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(tc.key), KeyType: ddbtypes.KeyTypeHash}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(tc.key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tc.table), Item: tc.item}); err != nil {
			t.Fatal(err)
		}
	}

	// A delivery stream to the local bucket directory, with 5 records.
	const delivery, delivered = "to-bucket", 5
	if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String(delivery),
		ExtendedS3DestinationConfiguration: &fhtypes.ExtendedS3DestinationConfiguration{
			RoleARN: aws.String("arn:aws:iam::000000000000:role/firehose"), BucketARN: aws.String("arn:aws:s3:::console-bucket"),
			Prefix:         aws.String("orders/"),
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	var batch []fhtypes.Record
	for i := range delivered {
		batch = append(batch, fhtypes.Record{Data: fmt.Appendf(nil, "line %d\n", i)})
	}
	if out, err := fh.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(delivery), Records: batch}); err != nil || aws.ToInt32(out.FailedPutCount) != 0 {
		t.Fatalf("PutRecordBatch: %v %v", out, err)
	}

	bctx, stopBrowser := monBrowser(t)
	admin := srv.AdminEndpoint()

	// Monitoring: the IncomingRecords chart comes to show every record
	// (its sum over the range); auto-refresh brings them in.
	monDo(t, bctx, "open the monitoring page",
		chromedp.Navigate(admin+"/#/streams/"+stream+"/monitoring"),
		monWait(`document.body.dataset.ready === "true"`),
		monWait(chartTotal("IncomingRecords")+` === `+strconv.Itoa(records)))
	// Per shard: one series for each of the two shards, adding up to
	// the same records.
	monDo(t, bctx, "see the shard-level graphs",
		monWait(chartTotal("shard:IncomingRecords")+` === `+strconv.Itoa(records)))
	if n := monEval[int](t, bctx, `document.querySelectorAll('figure[data-metric="shard:IncomingRecords"] g.series').length`); n != 2 {
		t.Errorf("the shard-level IncomingRecords chart has %d series, want one per shard", n)
	}
	if n := monEval[int](t, bctx, `document.querySelectorAll('#page figure.chart-panel').length`); n != 9+7 {
		t.Errorf("%d charts on the monitoring page, want 9 stream-level and 7 shard-level ones", n)
	}
	// The consumer library read the records with GetRecords.
	monDo(t, bctx, "see GetRecords in the graphs",
		monWait(chartTotal("GetRecords.Records")+` >= `+strconv.Itoa(records)))
	// The range picker asks again for a longer range.
	for _, r := range []string{"3h", "15m"} {
		monDo(t, bctx, "pick "+r,
			chromedp.Click(chromedp.CSS(`button.range[data-range="`+r+`"]`)),
			monWait(`document.querySelector('#page .chart-grid').dataset.range === "`+r+`" && `+chartTotal("IncomingRecords")+` === `+strconv.Itoa(records)))
	}
	// Point at the busiest minute: the read-out names its value.
	readout := monEval[string](t, bctx, `(() => {
		const svg = document.querySelector('figure[data-metric="IncomingRecords"] svg.chart');
		const r = svg.querySelector('rect[fill="transparent"]').getBoundingClientRect();
		const line = svg.querySelector('path.line').getAttribute('d');
		let best = null;
		for (const m of line.matchAll(/[ML]([\d.]+),([\d.]+)/g)) {
			if (!best || Number(m[2]) < best[1]) best = [Number(m[1]), Number(m[2])];
		}
		const ctm = svg.getScreenCTM();
		const x = ctm.a * best[0] + ctm.e;
		svg.querySelector('rect[fill="transparent"]').dispatchEvent(new PointerEvent('pointermove', {clientX: x, clientY: r.top + 20, bubbles: true}));
		return svg.querySelector('g.tip').textContent;
	})()`)
	if want := fmt.Sprintf("IncomingRecords: %d", slices.Max(batches)); !strings.Contains(readout, want) {
		t.Errorf("the read-out at the busiest minute says %q, want %q", readout, want)
	}
	monProblems(t, bctx)
	monShot(t, bctx, "monitoring", true)

	// Consumers: the fan-out consumer, and both applications' leases.
	monDo(t, bctx, "open the consumers page",
		chromedp.Navigate(admin+"/#/streams/"+stream+"/consumers"),
		monWait(`(() => { const r = document.querySelector('tr[data-consumer="fanout-reader"]');
			return r && r.textContent.includes("ACTIVE"); })()`),
		// What the subscription pushed.
		monWait(chartTotal("SubscribeToShardEvent.Records")+` === `+strconv.Itoa(inShard0)),
		monWait(chartTotal("SubscribeToShard.Success")+` === 1`),
		// Every lease's lag is measured.
		monWait(`document.querySelectorAll('.lease-table td.lag').length > 0 &&
			[...document.querySelectorAll('.lease-table td.lag')].every(td => td.textContent !== "…")`))
	type lease struct{ Shard, Owner, Checkpoint, Lag, Next, Ms string }
	leases := monEval[map[string][]lease](t, bctx, `(() => {
		const out = {};
		for (const app of document.querySelectorAll('div.app')) {
			out[app.dataset.app] = [...app.querySelectorAll('tbody tr')].map(tr => ({
				Shard: tr.dataset.shard, Owner: tr.querySelector('.owner').textContent,
				Checkpoint: tr.querySelector('.checkpoint').textContent,
				Lag: tr.querySelector('.lag').textContent, Next: tr.querySelector('.next').textContent,
				Ms: tr.querySelector('.lag').dataset.ms ?? "",
			}));
		}
		return out;
	})()`)
	if _, ok := leases["sessions"]; ok || len(leases) != 2 {
		t.Errorf("applications shown: %v, want orders-app and legacy-app", leases)
	}
	if got := leases["orders-app"]; len(got) != 2 {
		t.Errorf("orders-app leases %v, want one per shard", got)
	}
	for _, l := range leases["orders-app"] {
		// Every record was processed and checkpointed: nothing is left.
		if l.Owner != "worker-1" || l.Ms != "0" || !strings.HasPrefix(l.Next, "none") {
			t.Errorf("orders-app lease %+v: want owner worker-1, caught up", l)
		}
	}
	if got := leases["legacy-app"]; len(got) != 1 || got[0].Owner != "java-worker-7" || got[0].Checkpoint != "TRIM_HORIZON" ||
		!strings.Contains(got[0].Next, "ago") {
		// shardId-000000000000 got records that it has not processed.
		t.Errorf("legacy-app leases %+v: want java-worker-7 at TRIM_HORIZON with a record to process", got)
	}
	monProblems(t, bctx)
	monShot(t, bctx, "consumers", true)

	// Delivery streams: the list, then the delivery stream's page, whose
	// IncomingRecords and DeliveryToS3.Records charts show the 5 records.
	monDo(t, bctx, "open the delivery streams",
		chromedp.Navigate(admin+"/#/delivery"),
		monWait(`(() => { const r = document.querySelector('tr[data-delivery="`+delivery+`"]');
			return r && r.textContent.includes("ACTIVE") && r.textContent.includes("s3://console-bucket/orders/"); })()`))
	monProblems(t, bctx)
	monShot(t, bctx, "delivery-streams", true)
	monDo(t, bctx, "open the delivery stream",
		chromedp.Click(chromedp.CSS(`a.delivery-link`)),
		monWait(`location.hash === "#/delivery/`+delivery+`"`),
		monWait(`(document.querySelector('#delivery-summary') || {textContent: ""}).textContent.includes("Direct PUT")`),
		monWait(chartTotal("IncomingRecords")+` === `+strconv.Itoa(delivered)),
		// Delivered to the bucket within a second's buffering.
		monWait(chartTotal("DeliveryToS3.Records")+` === `+strconv.Itoa(delivered)))
	if text := monEval[string](t, bctx, `document.querySelector('section.destination').textContent`); !strings.Contains(text, "1 MiB or 1 s") {
		t.Errorf("destination card %q does not show the buffering hints", text)
	}
	monProblems(t, bctx)
	monShot(t, bctx, "delivery", true)
	stopBrowser()
}

// chartTotal is JavaScript for the sum of a chart's values, or -1 while
// it is not drawn.
func chartTotal(metric string) string {
	return `(() => {
		const svg = document.querySelector('figure[data-metric="` + metric + `"] svg.chart');
		return svg ? Number(svg.dataset.total) : -1;
	})()`
}

// TestConsoleSignInBrowser signs in through the console's form on a
// server that checks signatures: a wrong secret is refused with AWS's
// error, the right one shows the streams of the key's account, and
// signing out asks again.
func TestConsoleSignInBrowser(t *testing.T) {
	srv := start(t, rivulet.Config{Auth: rivulet.AuthSigV4, Credentials: credentialsFile(t)})
	ctx := context.Background()
	alice := keyClient(t, srv.Endpoint(), "AKIAALICE", "alice-secret", nil)
	if _, err := alice.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("alices-stream"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	bctx, stopBrowser := monBrowser(t)
	form := `document.querySelector('#login-form')`
	signIn := func(key, secret string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.SetValue(chromedp.ID("login-access-key"), key),
			chromedp.SetValue(chromedp.ID("login-secret"), secret),
			chromedp.SetValue(chromedp.ID("login-region"), "eu-west-1"), // where alice made her stream
			chromedp.Click(chromedp.ID("login-submit")),
		)
	}
	errorText := `(document.querySelector('#login-error') || {textContent: ""}).textContent`

	// The default key is unknown to this server: the form appears.
	monDo(t, bctx, "open the console",
		chromedp.Navigate(srv.AdminEndpoint()+"/"),
		monWait(form+` !== null`),
		chromedp.WaitVisible(chromedp.ID("login-access-key")))
	if ready := monEval[string](t, bctx, `document.body.dataset.ready || ""`); ready != "" {
		t.Errorf("the console drew its pages before sign-in")
	}
	monProblems(t, bctx)
	monShot(t, bctx, "signin", true)

	for _, tc := range []struct{ key, secret, want string }{
		{"AKIAALICE", "not-alices-secret", "InvalidSignatureException"},
		{"AKIANOBODY", "x", "UnrecognizedClientException"},
	} {
		monDo(t, bctx, "sign in with "+tc.key+"/"+tc.secret,
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#login-error').replaceChildren()`),
			signIn(tc.key, tc.secret),
			monWait(errorText+`.includes("`+tc.want+`")`))
		if monEval[bool](t, bctx, form+` === null`) {
			t.Fatalf("%s/%s was let in", tc.key, tc.secret)
		}
	}
	monShot(t, bctx, "signin-refused", false)

	monDo(t, bctx, "sign in as alice",
		signIn("AKIAALICE", "alice-secret"),
		monWait(form+` === null && document.body.dataset.ready === "true"`),
		monWait(`(document.querySelector('#streams-table') || {textContent: ""}).textContent.includes("alices-stream")`))
	if who := monEval[string](t, bctx, `document.querySelector('#session-key').textContent`); who != "AKIAALICE" {
		t.Errorf("signed in as %q", who)
	}
	if region := monEval[string](t, bctx, `document.querySelector('#region').textContent`); region != "eu-west-1" {
		t.Errorf("region shown %q, want eu-west-1", region)
	}
	// A reload keeps the key (sessionStorage); signing out forgets it.
	monDo(t, bctx, "reload",
		chromedp.Reload(),
		monWait(`(document.querySelector('#streams-table') || {textContent: ""}).textContent.includes("alices-stream")`))
	// Signing out reloads the page: wait on the new one.
	monDo(t, bctx, "sign out",
		chromedp.Click(chromedp.ID("signout")))
	monDo(t, bctx, "see the form again", monWait(form+` !== null`))
	if key := monEval[string](t, bctx, `sessionStorage.getItem("rivulet.console.credentials") || ""`); key != "" {
		t.Errorf("the key is still kept after signing out: %s", key)
	}
	stopBrowser()
}
