package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// assets are the console's files: plain ES modules, CSS and SVG, written
// by hand, so there is no build step whose output could drift.
//
//go:embed assets
var assets embed.FS

// Prefix is the URL path the assets are served under; GET / is index.html.
const Prefix = "/console/"

// CSP lets the pages load only this origin's files: no inline script,
// no inline style, no other site. Images may also be data: URLs.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'"

// contentTypes are the types of the files under assets, by extension.
// A file with another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
}

// asset is one file, read once.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

type server map[string]asset

// handler reads the files once, on first use.
var handler = sync.OnceValue(func() http.Handler {
	s := server{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		s[strings.TrimPrefix(p, "assets/")] = asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // an embedded file that cannot be read is a broken build
	}
	return s
})

func (s server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := s[assetName(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	// The files change with the binary and their names carry no version:
	// revalidate every time (cheap, by ETag) rather than run stale modules.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// assetName maps a request path to a file name under assets: "/" is
// index.html, Prefix+"x/y.js" is "x/y.js". Anything else is "", no asset.
func assetName(p string) string {
	if p == "/" {
		return "index.html"
	}
	name, ok := strings.CutPrefix(p, Prefix)
	if !ok || !fs.ValidPath(name) {
		return ""
	}
	return name
}

// etagMatch reports whether an If-None-Match list names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
