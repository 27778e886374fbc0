package console

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stopNode()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func get(t *testing.T, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, req)
	return w
}

func TestHandlerServesAssets(t *testing.T) {
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/console/app.js">`},
		{"/console/index.html", "text/html; charset=utf-8", "<!doctype html>"},
		{"/console/app.js", "text/javascript; charset=utf-8", "export function route"},
		{"/console/kpl.js", "text/javascript; charset=utf-8", "export function deaggregate"},
		{"/console/pages/streams.js", "text/javascript; charset=utf-8", "export async function render"},
		{"/console/style.css", "text/css; charset=utf-8", ".shard-map"},
		{"/console/favicon.svg", "image/svg+xml", "<svg"},
	} {
		w := get(t, http.MethodGet, c.path)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", c.path, w.Code)
			continue
		}
		h := w.Header()
		if got := h.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := h.Get("Content-Security-Policy"); got != "default-src 'self'; img-src 'self' data:; style-src 'self'" {
			t.Errorf("GET %s: CSP %q", c.path, got)
		}
		if got := h.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", c.path, got)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", c.path)
		}
		if !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}

		// HEAD: the same headers, no body; a matching ETag: 304.
		hw := get(t, http.MethodHead, c.path)
		if hw.Code != http.StatusOK || hw.Body.Len() != 0 || hw.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
			t.Errorf("HEAD %s: %d, body %d bytes, Content-Length %q", c.path, hw.Code, hw.Body.Len(), hw.Header().Get("Content-Length"))
		}
		if cw := get(t, http.MethodGet, c.path, "If-None-Match", h.Get("ETag")); cw.Code != http.StatusNotModified || cw.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes", c.path, cw.Code, cw.Body.Len())
		}
	}
}

func TestHandlerNotFound(t *testing.T) {
	for _, p := range []string{
		"/console/", "/console/nope.js", "/console/pages", "/console/pages/", "/console/../handler.go",
		"/console//app.js", "/console/./app.js", "/index.html", "/app.js", "/console/app.js/",
		"/console/assets/app.js",
	} {
		if w := get(t, http.MethodGet, p); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	if w := get(t, http.MethodPost, "/console/app.js"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
}

// assetFiles lists every file under assets.
func assetFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		files[strings.TrimPrefix(p, "assets/")] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestEveryAssetServed: each file is served, so none lacks a content type.
func TestEveryAssetServed(t *testing.T) {
	for name := range assetFiles(t) {
		if w := get(t, http.MethodGet, Prefix+name); w.Code != http.StatusOK {
			t.Errorf("%s is embedded but GET %s%s answers %d (unknown extension?)", name, Prefix, name, w.Code)
		}
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	importRef = regexp.MustCompile(`(?m)(?:^import\s[^'"]*|\bimport\(\s*|^export\s[^'"]*from\s*)['"]([^'"]+)['"]`)
)

// TestReferencesResolve: every file index.html loads, and every module a
// script imports (statically, or dynamically with a literal name), exists.
func TestReferencesResolve(t *testing.T) {
	files := assetFiles(t)
	for _, m := range htmlRef.FindAllStringSubmatch(string(files["index.html"]), -1) {
		name, ok := strings.CutPrefix(m[1], Prefix)
		if !ok {
			t.Errorf("index.html refers to %q, outside %s", m[1], Prefix)
			continue
		}
		if _, ok := files[name]; !ok {
			t.Errorf("index.html refers to %s, which is not embedded", m[1])
		}
	}
	for name, body := range files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range importRef.FindAllStringSubmatch(string(body), -1) {
			ref := m[1]
			if !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "../") {
				t.Errorf("%s imports %q: only relative imports of the console's own files", name, ref)
				continue
			}
			target := pathJoin(name, ref)
			if _, ok := files[target]; !ok {
				t.Errorf("%s imports %s (%s), which is not embedded", name, ref, target)
			}
		}
	}
	// The router's pages: each route's module exists (the dynamic import
	// builds its name, so the test above does not see it).
	app := string(files["app.js"])
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`page: '([a-z]+)'`).FindAllStringSubmatch(app, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		if _, ok := files["pages/"+m[1]+".js"]; !ok {
			t.Errorf("route page %s has no pages/%s.js", m[1], m[1])
		}
	}
}

func pathJoin(from, ref string) string {
	dir := from[:strings.LastIndex(from, "/")+1]
	parts := strings.Split(dir+ref, "/")
	var out []string
	for _, p := range parts {
		switch p {
		case ".", "":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// urlRE finds addresses with a host name, with or without a scheme.
var urlRE = regexp.MustCompile(`(?i)(?:https?:)?//([a-z0-9-]+(?:\.[a-z0-9-]+)+|\[[0-9a-f:]+\])([^\s'"\x60)]*)`)

// externalURLs lists the addresses in text that point off this machine.
// Loopback addresses and the SVG namespace (a name that nothing fetches)
// are not external.
func externalURLs(text string) []string {
	var out []string
	for _, m := range urlRE.FindAllStringSubmatch(text, -1) {
		switch host := strings.ToLower(m[1]); {
		case host == "127.0.0.1" || host == "localhost" || host == "[::1]":
		case host == "www.w3.org" && m[2] == "/2000/svg":
		default:
			out = append(out, m[0])
		}
	}
	if regexp.MustCompile(`(?i)//cdn`).MatchString(text) {
		out = append(out, "//cdn")
	}
	return out
}

func TestExternalURLsFinds(t *testing.T) {
	for text, want := range map[string]int{
		`<script src="https://cdn.jsdelivr.net/npm/x.js">`:                   2, // the address, and //cdn
		`@import url(//fonts.googleapis.com/css?family=Inter);`:              1,
		`fetch("http://example.com/api")`:                                    1,
		`// see http://127.0.0.1:4568/ or http://localhost:4568/`:            0,
		`createElementNS("http://www.w3.org/2000/svg", "svg")`:               0,
		`"http://www.w3.org/1999/xlink"`:                                     1,
		`// comment // another, a/b//c and "ValidationException:http://..."`: 0,
	} {
		if got := externalURLs(text); len(got) != want {
			t.Errorf("externalURLs(%s) = %q, want %d", text, got, want)
		}
	}
}

// TestNoExternalURLs: the console loads nothing from elsewhere (no CDN,
// no web fonts), and writes no inline script or style the CSP would block.
// An address with a host name fails it wherever it appears, comments
// included.
func TestNoExternalURLs(t *testing.T) {
	for name, body := range assetFiles(t) {
		if strings.HasSuffix(name, ".png") {
			continue
		}
		text := string(body)
		for _, u := range externalURLs(text) {
			t.Errorf("%s: external URL %q", name, u)
		}
		if strings.HasSuffix(name, ".html") {
			if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(text) {
				t.Errorf("%s has an inline script", name)
			}
			if regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`).MatchString(text) {
				t.Errorf("%s has inline style or an inline event handler", name)
			}
		}
	}
}
