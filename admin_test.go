package rivulet_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/rivulet/rivulet"
)

const startRules = `[{"op":"PutRecord","error":"InternalFailure"}]`

// adminDo sends one request and returns the status and body.
func adminDo(t *testing.T, c *http.Client, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func testHTTPClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestAdminListener: the admin endpoints and /health are on their own
// listener; the main port answers /admin/ paths as any unknown path.
func TestAdminListener(t *testing.T) {
	srv := start(t, rivulet.Config{Faults: startRules})
	c := testHTTPClient(t)
	admin := srv.AdminEndpoint()
	if admin == "" || admin == srv.Endpoint() || !strings.HasPrefix(admin, "http://127.0.0.1:") {
		t.Fatalf("AdminEndpoint %q (Endpoint %q)", admin, srv.Endpoint())
	}
	if code, body := adminDo(t, c, "GET", admin+"/admin/faults", "", nil); code != 200 || !strings.Contains(body, "InternalFailure") {
		t.Errorf("admin GET /admin/faults: %d %s", code, body)
	}
	for _, base := range []string{admin, srv.Endpoint()} {
		if code, body := adminDo(t, c, "GET", base+"/health", "", nil); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("GET %s/health: %d %s", base, code, body)
		}
	}
	json := map[string]string{"Content-Type": "application/json"}
	for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
		code, body := adminDo(t, c, method, srv.Endpoint()+"/admin/faults", "[]", json)
		wantCode, wantBody := adminDo(t, c, method, srv.Endpoint()+"/no-such-path", "[]", json)
		if code != wantCode || body != wantBody || code == 200 {
			t.Errorf("main port %s /admin/faults: %d %s; an unknown path: %d %s", method, code, body, wantCode, wantBody)
		}
	}
	if code, body := adminDo(t, c, "GET", admin+"/admin/faults", "", nil); code != 200 || !strings.Contains(body, "InternalFailure") {
		t.Errorf("rules changed through the main port: %d %s", code, body)
	}

	off := start(t, rivulet.Config{AdminAddr: rivulet.AdminOff})
	if off.AdminEndpoint() != "" {
		t.Errorf("AdminAddr off: AdminEndpoint %q", off.AdminEndpoint())
	}
}

// TestAdminListenerTaken: a taken admin address fails Start and says so.
func TestAdminListenerTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv, err := rivulet.Start(context.Background(), rivulet.Config{AdminAddr: l.Addr().String()})
	if err == nil {
		srv.Close()
		t.Fatal("started on a taken admin address")
	}
	if !strings.Contains(err.Error(), "(admin)") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("error %q does not name the admin listener and its address", err)
	}
}

// TestAdminRefusesCrossSiteRequests sends the requests a browser sends
// for a page on another site, and for one that rebound its name to the
// admin address: each is refused and the fault rules stay as they were.
func TestAdminRefusesCrossSiteRequests(t *testing.T) {
	srv := start(t, rivulet.Config{Faults: startRules})
	c := testHTTPClient(t)
	admin := srv.AdminEndpoint()
	self := strings.TrimPrefix(admin, "http://")
	_, port, _ := net.SplitHostPort(self)
	_, before := adminDo(t, c, "GET", admin+"/admin/faults", "", nil)
	clear := `[]`
	rule := `{"op":"ListStreams","error":"InternalFailure"}`
	for _, tc := range []struct {
		name, method, body string
		header             map[string]string
	}{
		// fetch(url, {method: "POST", mode: "no-cors", body: "..."}) from another site.
		{"text/plain POST", "POST", rule, map[string]string{
			"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}},
		// <form method=POST action=".../admin/faults" enctype="text/plain">.
		{"text/plain form", "POST", rule + "=", map[string]string{
			"Content-Type": "text/plain", "Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}},
		// An ordinary form.
		{"urlencoded form", "POST", "a=b", map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}},
		// fetch with JSON would be preflighted; if a browser sent it anyway.
		{"JSON fetch cross-site", "PUT", clear, map[string]string{
			"Content-Type": "application/json", "Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}},
		{"fetch cross-site without Origin", "DELETE", "", map[string]string{
			"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}},
		{"same-site page on another port", "DELETE", "", map[string]string{
			"Content-Type": "application/json", "Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}},
		// The attacker's name now resolves to 127.0.0.1: same origin to the browser.
		{"DNS rebinding", "PUT", clear, map[string]string{
			"Content-Type": "application/json", "Host": "attacker.example:" + port, "Origin": "http://attacker.example:" + port, "Sec-Fetch-Site": "same-origin"}},
	} {
		code, body := adminDo(t, c, tc.method, admin+"/admin/faults", tc.body, tc.header)
		if code != http.StatusForbidden || !strings.Contains(body, `"message"`) {
			t.Errorf("%s: %d %s, want 403 with a JSON message", tc.name, code, body)
		}
	}
	if _, after := adminDo(t, c, "GET", admin+"/admin/faults", "", nil); after != before {
		t.Errorf("fault rules changed:\nbefore %s\nafter  %s", before, after)
	}
	// curl with the JSON type may change them.
	if code, body := adminDo(t, c, "DELETE", admin+"/admin/faults", "", map[string]string{"Content-Type": "application/json"}); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("DELETE as curl sends it: %d %s", code, body)
	}
}
