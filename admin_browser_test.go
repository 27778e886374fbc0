package rivulet_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rivulet/rivulet"
)

// browserHangTimeout bounds what should happen in the browser: only a
// hang reaches it.
const browserHangTimeout = 2 * time.Minute

// chromiumPath finds the browser: $RIVULET_CHROMIUM, else the usual
// names. A missing browser fails the test; it never skips it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RIVULET_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium found: run scripts/install-clients.sh (apt package chromium) or set RIVULET_CHROMIUM")
	return ""
}

// attackPage is a page on another site that tries to change the fault
// rules every way a page can without the server's consent: simple
// (text/plain) fetches, preflighted fetches, and a text/plain form whose
// body is JSON. It adds #done when every attempt has settled.
const attackPage = `<!doctype html>
<title>another site</title>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="ADMIN/admin/faults" enctype="text/plain" target="sink">
<input name='{"op":"ListStreams","error":"InternalFailure","x":"' value='"}'>
</form>
<script>
const url = "ADMIN/admin/faults";
const rule = JSON.stringify({op: "ListStreams", error: "InternalFailure"});
const settle = p => p.then(() => {}, () => {});
(async () => {
  await settle(fetch(url, {method: "POST", mode: "no-cors", body: rule}));
  await settle(fetch(url, {method: "POST", mode: "cors", headers: {"Content-Type": "application/json"}, body: rule}));
  await settle(fetch(url, {method: "DELETE", mode: "cors", headers: {"Content-Type": "application/json"}}));
  await new Promise(done => {
    document.getElementById("sink").onload = done;
    document.getElementById("f").submit();
  });
  const d = document.createElement("div");
  d.id = "done";
  d.textContent = "done";
  document.body.appendChild(d);
})();
</script>`

// attacksPerPage is how many requests of attackPage reach the server: the
// no-cors POST, two preflights (refused, so no request follows), the form.
const attacksPerPage = 4

// refusalCounter counts the admin listener's "refused" warnings, so the
// test knows the browser's requests reached the server and were refused
// there, not stopped by the browser on its own.
type refusalCounter struct{ n *atomic.Int64 }

func (refusalCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h refusalCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "admin request refused" {
		h.n.Add(1)
	}
	return nil
}

func (h refusalCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h refusalCounter) WithGroup(string) slog.Handler      { return h }

// TestAdminRefusesRealBrowser loads pages from other origins in headless
// Chromium, one cross-site (localhost) and one same-site on another port
// (127.0.0.1), whose scripts try to change the fault rules on the admin
// listener; the rules must be unchanged.
func TestAdminRefusesRealBrowser(t *testing.T) {
	browser := chromiumPath(t)
	var refused atomic.Int64
	srv := start(t, rivulet.Config{
		Faults: startRules,
		Logger: slog.New(refusalCounter{&refused}),
	})
	c := testHTTPClient(t)
	_, before := adminDo(t, c, "GET", srv.AdminEndpoint()+"/admin/faults", "", nil)

	page := strings.ReplaceAll(attackPage, "ADMIN", srv.AdminEndpoint())
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	defer site.Close()
	port := strings.TrimPrefix(site.URL, "http://127.0.0.1:")

	ctx, cancel := context.WithTimeout(context.Background(), browserHangTimeout)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// #done comes after every response: each fetch awaits its own, the
	// form its frame's load; the server logs a refusal before answering.
	for i, origin := range []string{"http://localhost:" + port, "http://127.0.0.1:" + port} {
		if err := chromedp.Do(bctx, chromedp.Navigate(origin+"/"), chromedp.WaitReady(chromedp.ID("done"))); err != nil {
			t.Fatalf("page from %s: %v", origin, err)
		}
		if _, after := adminDo(t, c, "GET", srv.AdminEndpoint()+"/admin/faults", "", nil); after != before {
			t.Errorf("the page from %s changed the fault rules:\nbefore %s\nafter  %s", origin, before, after)
		}
		if got, want := refused.Load(), int64((i+1)*attacksPerPage); got < want {
			t.Errorf("after the page from %s the server had refused %d requests, want %d: the test did not test it", origin, got, want)
		}
	}
	bcancel()
	acancel()
}
