package transport

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestAdminRefusesCrossSite sends what a browser sends from another site
// (and what DNS rebinding makes it send) and what curl sends: only the
// latter may reach the admin handler.
func TestAdminRefusesCrossSite(t *testing.T) {
	var served atomic.Int64
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte("ok"))
	})
	s := start(t, Config{AdminAddr: "127.0.0.1:0", Admin: admin}, protoHandler)
	c := client(t, http1, nil)
	self := s.AdminAddr().String()
	port := s.AdminAddr().(*net.TCPAddr).Port
	url := "http://" + self + "/admin/faults"
	type req struct {
		name, method, host string
		header             map[string]string
		allowed            bool
	}
	for _, tc := range []req{
		{"curl GET", "GET", "", nil, true},
		{"GET by localhost", "GET", "localhost:" + strconv.Itoa(port), nil, true},
		{"GET by [::1]", "GET", "[::1]:" + strconv.Itoa(port), nil, true},
		{"JSON POST", "POST", "", map[string]string{"Content-Type": "application/json"}, true},
		{"JSON PUT with charset", "PUT", "", map[string]string{"Content-Type": "application/json; charset=utf-8"}, true},
		{"JSON DELETE", "DELETE", "", map[string]string{"Content-Type": "application/json"}, true},
		{"same origin", "POST", "", map[string]string{"Content-Type": "application/json", "Origin": "http://" + self, "Sec-Fetch-Site": "same-origin"}, true},
		{"typed by a person", "GET", "", map[string]string{"Sec-Fetch-Site": "none"}, true},

		{"text/plain POST from another site", "POST", "", map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, false},
		{"form POST from another site", "POST", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}, false},
		{"multipart POST", "POST", "", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, false},
		{"text/plain POST without Origin", "POST", "", map[string]string{"Content-Type": "text/plain"}, false},
		{"curl -d default", "POST", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false},
		{"DELETE without a body type", "DELETE", "", nil, false},
		{"PATCH text/plain", "PATCH", "", map[string]string{"Content-Type": "text/plain"}, false},
		{"fetch cross-site", "GET", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"fetch same-site", "POST", "", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, false},
		{"Origin of another site", "GET", "", map[string]string{"Origin": "http://evil.example"}, false},
		{"Origin of another local port", "POST", "", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"}, false},
		{"Origin null", "POST", "", map[string]string{"Content-Type": "application/json", "Origin": "null"}, false},
		{"https Origin", "GET", "", map[string]string{"Origin": "https://" + self}, false},
		{"DNS rebinding", "POST", "evil.example:" + strconv.Itoa(port), map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example:" + strconv.Itoa(port)}, false},
		{"DNS rebinding GET", "GET", "evil.example:" + strconv.Itoa(port), nil, false},
		{"localhost lookalike", "GET", "localhost.evil.example:" + strconv.Itoa(port), nil, false},
	} {
		before := served.Load()
		r, err := http.NewRequest(tc.method, url, strings.NewReader(`[]`))
		if err != nil {
			t.Fatal(err)
		}
		if tc.host != "" {
			r.Host = tc.host
		}
		for k, v := range tc.header {
			r.Header.Set(k, v)
		}
		resp, err := c.Do(r)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var body struct{ Message string }
		if !tc.allowed {
			err = json.NewDecoder(resp.Body).Decode(&body)
		}
		resp.Body.Close()
		reached := served.Load() != before
		switch {
		case tc.allowed && (resp.StatusCode != 200 || !reached):
			t.Errorf("%s: %d, reached handler %v; want it served", tc.name, resp.StatusCode, reached)
		case !tc.allowed && (resp.StatusCode != http.StatusForbidden || reached || err != nil || body.Message == ""):
			t.Errorf("%s: %d %q (decode %v), reached handler %v; want 403 with a JSON message", tc.name, resp.StatusCode, body.Message, err, reached)
		}
	}
}

type unauthenticated struct{}

func (unauthenticated) Error() string   { return "no signature" }
func (unauthenticated) HTTPStatus() int { return http.StatusUnauthorized }

// TestAdminAuthorize: the hook sees /admin/ requests that passed the
// cross-site checks, not /health, and its error refuses the request.
func TestAdminAuthorize(t *testing.T) {
	var asked atomic.Int64
	var refuse atomic.Pointer[error]
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	s := start(t, Config{AdminAddr: "127.0.0.1:0", Admin: admin, AdminAuthorize: func(*http.Request) error {
		asked.Add(1)
		if p := refuse.Load(); p != nil {
			return *p
		}
		return nil
	}}, protoHandler)
	c := client(t, http1, nil)
	base := "http://" + s.AdminAddr().String()
	if resp, _ := get(t, c, "GET", base+"/admin/faults"); resp.StatusCode != 200 || asked.Load() != 1 {
		t.Errorf("allowed: %d, asked %d times", resp.StatusCode, asked.Load())
	}
	if resp, _ := get(t, c, "GET", base+"/health"); resp.StatusCode != 200 || asked.Load() != 1 {
		t.Errorf("/health: %d, asked %d times", resp.StatusCode, asked.Load())
	}
	notAllowed := errors.New("not allowed rivulet:AdminWrite")
	refuse.Store(&notAllowed)
	if resp, body := get(t, c, "GET", base+"/admin/faults"); resp.StatusCode != 403 || !strings.Contains(body, "rivulet:AdminWrite") {
		t.Errorf("refused: %d %s", resp.StatusCode, body)
	}
	var noSig error = unauthenticated{}
	refuse.Store(&noSig)
	if resp, body := get(t, c, "GET", base+"/admin/faults"); resp.StatusCode != 401 || !strings.Contains(body, "no signature") {
		t.Errorf("unauthenticated: %d %s", resp.StatusCode, body)
	}
}

// TestAdminHostAllowed covers listeners this test does not bind: a named
// host and every interface.
func TestAdminHostAllowed(t *testing.T) {
	for _, tc := range []struct {
		cfg, bound string
		host       string
		want       bool
	}{
		{"127.0.0.1:4568", "127.0.0.1:4568", "127.0.0.1:4568", true},
		{"127.0.0.1:4568", "127.0.0.1:4568", "localhost", true},
		{"127.0.0.1:4568", "127.0.0.1:4568", "10.1.2.3:4568", false},
		{"127.0.0.1:4568", "127.0.0.1:4568", "", false},
		{"10.1.2.3:4568", "10.1.2.3:4568", "10.1.2.3:4568", true},
		{"10.1.2.3:4568", "10.1.2.3:4568", "10.1.2.4:4568", false},
		{"admin.internal:4568", "10.1.2.3:4568", "ADMIN.internal:4568", true},
		{"admin.internal:4568", "10.1.2.3:4568", "10.1.2.3:4568", true},
		{"admin.internal:4568", "10.1.2.3:4568", "evil.example:4568", false},
		{":4568", "[::]:4568", "192.0.2.7:4568", true},
		{":4568", "[::]:4568", "[2001:db8::1]:4568", true},
		{":4568", "[::]:4568", "evil.example:4568", false},
	} {
		bound, err := net.ResolveTCPAddr("tcp", tc.bound)
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{cfg: Config{AdminAddr: tc.cfg}, adminAddr: bound}
		if got := s.adminHostAllowed(tc.host); got != tc.want {
			t.Errorf("listener %s (bound %s), Host %q: %v, want %v", tc.cfg, tc.bound, tc.host, got, tc.want)
		}
	}
}

// TestAdminListenError: a taken admin port fails Start with a ListenError
// naming the admin listener, and leaves nothing bound.
func TestAdminListenError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s, err := New(Config{Addr: "127.0.0.1:0", AdminAddr: taken.Addr().String()}, protoHandler, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(t.Context())
	var le *ListenError
	if !errors.As(err, &le) || le.Listener != "admin" || !strings.Contains(err.Error(), "(admin)") {
		t.Fatalf("Start: %v, want an admin ListenError", err)
	}
	if s.Addr() != nil {
		t.Errorf("plain listener left bound at %v", s.Addr())
	}
}

// TestAdminRoutes: the console's files are served without AdminAuthorize,
// /metrics with it (or without, MetricsUnsigned), and the AWS APIs pass
// through with their own content types only.
func TestAdminRoutes(t *testing.T) {
	var asked atomic.Int64
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(name)) })
	}
	deny := errors.New("not allowed rivulet:AdminRead")
	for _, unsigned := range []bool{false, true} {
		s := start(t, Config{AdminAddr: "127.0.0.1:0", Admin: named("admin"), Metrics: named("metrics"), MetricsUnsigned: unsigned,
			Console: named("console"), AdminAPI: named("api"),
			AdminAuthorize: func(*http.Request) error { asked.Add(1); return deny }}, protoHandler)
		c := client(t, http1, nil)
		base := "http://" + s.AdminAddr().String()
		asked.Store(0)
		for _, p := range []string{"/", "/console/app.js"} {
			if resp, body := get(t, c, "GET", base+p); resp.StatusCode != 200 || body != "console" {
				t.Errorf("GET %s: %d %q, want the console", p, resp.StatusCode, body)
			}
		}
		if asked.Load() != 0 {
			t.Errorf("the console's files asked AdminAuthorize %d times", asked.Load())
		}
		resp, body := get(t, c, "GET", base+"/metrics")
		if unsigned {
			if resp.StatusCode != 200 || body != "metrics" || asked.Load() != 0 {
				t.Errorf("unsigned /metrics: %d %q, asked %d times", resp.StatusCode, body, asked.Load())
			}
		} else if resp.StatusCode != 403 || asked.Load() != 1 {
			t.Errorf("/metrics: %d %q, asked %d times; want AdminAuthorize's refusal", resp.StatusCode, body, asked.Load())
		}
		post := func(path, target, ctype string) (int, string) {
			req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader("{}"))
			if target != "" {
				req.Header.Set("X-Amz-Target", target)
			}
			req.Header.Set("Content-Type", ctype)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, tc := range []struct{ path, target, ctype string }{
			{"/", "Kinesis_20131202.ListStreams", "application/x-amz-json-1.1"},
			{"/", "GraniteServiceVersion20100801.ListMetrics", "application/x-amz-json-1.0"},
			{"/service/GraniteServiceVersion20100801/operation/ListMetrics", "", "application/cbor"},
		} {
			if code, body := post(tc.path, tc.target, tc.ctype); code != 200 || body != "api" {
				t.Errorf("POST %s %s (%s): %d %q, want the API", tc.path, tc.target, tc.ctype, code, body)
			}
		}
		// Bodies a page may send to another origin unasked are refused
		// before any handler.
		for _, ctype := range []string{"text/plain", "application/x-www-form-urlencoded"} {
			if code, body := post("/", "Kinesis_20131202.DeleteStream", ctype); code != 403 || body == "api" {
				t.Errorf("POST / as %s: %d %q, want 403", ctype, code, body)
			}
		}
	}
}
