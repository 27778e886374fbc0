package transport

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/rivulet/rivulet/internal/netaddr"
)

// The admin listener (Config.AdminAddr) serves /health and Config.Admin
// under /admin/. It is plain HTTP/1.1 meant for curl and, later, a
// browser console on the same origin, so every request passes adminCheck
// first: a page on another origin must not be able to change anything,
// whatever the authentication mode.

// ListenError is a listener that could not be bound; Listener is "plain",
// "TLS" or "admin".
type ListenError struct {
	Listener string
	Addr     string
	Err      error
}

func (e *ListenError) Error() string {
	if e.Listener == "plain" {
		return fmt.Sprintf("listen on %s: %v", e.Addr, e.Err)
	}
	return fmt.Sprintf("listen on %s (%s): %v", e.Addr, e.Listener, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// AuthorizeStatus is implemented by an AdminAuthorize error that answers
// with a code other than 403, such as 401 for a missing signature.
type AuthorizeStatus interface{ HTTPStatus() int }

// serveAdmin is the admin listener's handler.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	s.limitBody(w, r)
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // no clickjacking of a future console
	if msg := s.adminCheck(r); msg != "" {
		s.log.Warn("admin request refused", "method", r.Method, "path", r.URL.Path,
			"host", r.Host, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr, "reason", msg)
		adminError(w, http.StatusForbidden, msg)
		return
	}
	if (r.URL.Path == "/health" || r.URL.Path == "/healthz") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.health(w, r)
		return
	}
	if s.cfg.AdminAPI != nil && r.Method == http.MethodPost &&
		((r.URL.Path == "/" && r.Header.Get("X-Amz-Target") != "") || strings.HasPrefix(r.URL.Path, "/service/")) {
		s.cfg.AdminAPI.ServeHTTP(w, r)
		return
	}
	if s.cfg.Console != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/console/")) {
		s.cfg.Console.ServeHTTP(w, r)
		return
	}
	var next http.Handler
	switch {
	case r.URL.Path == "/metrics" && s.cfg.Metrics != nil:
		if s.cfg.MetricsUnsigned {
			s.cfg.Metrics.ServeHTTP(w, r)
			return
		}
		next = s.cfg.Metrics
	case strings.HasPrefix(r.URL.Path, "/admin/") && s.cfg.Admin != nil:
		next = s.cfg.Admin
	default:
		adminError(w, http.StatusNotFound, "no such admin endpoint: "+r.URL.Path)
		return
	}
	if auth := s.cfg.AdminAuthorize; auth != nil {
		if err := auth(r); err != nil {
			code := http.StatusForbidden
			if as, ok := err.(AuthorizeStatus); ok {
				code = as.HTTPStatus()
			}
			adminError(w, code, err.Error())
			return
		}
	}
	next.ServeHTTP(w, r)
}

// adminCheck returns why r must be refused, or "" to serve it.
func (s *Server) adminCheck(r *http.Request) string {
	if !s.adminHostAllowed(r.Host) {
		// A page whose own name was made to resolve to this address
		// (DNS rebinding) would otherwise count as same-origin.
		return fmt.Sprintf("Host %q is neither this listener's address nor a loopback name", r.Host)
	}
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) != 1 || !strings.EqualFold(origins[0], "http://"+r.Host) {
			return fmt.Sprintf("cross-origin request (Origin %q) refused", strings.Join(origins, ", "))
		}
	}
	switch site := strings.ToLower(r.Header.Get("Sec-Fetch-Site")); site {
	case "cross-site", "same-site":
		return "request from another site (Sec-Fetch-Site: " + site + ") refused"
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		// Browsers send text/plain, form and multipart bodies to any site
		// without asking first; application/json needs a preflight, which
		// this listener never grants.
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || !preflighted[mt] {
			return fmt.Sprintf("%s needs Content-Type: application/json (got %q)", r.Method, r.Header.Get("Content-Type"))
		}
	}
	return ""
}

// preflighted are the body types the admin listener accepts: none of
// them is one a page may send to another origin without a preflight.
var preflighted = map[string]bool{
	"application/json":           true,
	"application/x-amz-json-1.0": true, // CloudWatch, DynamoDB
	"application/x-amz-json-1.1": true, // Kinesis, Firehose
	"application/cbor":           true, // Kinesis CBOR, Smithy RPC v2
}

// adminHostAllowed accepts a Host header naming a loopback host, the host
// the listener was configured with, or an address it is bound to. IP
// literals cannot be rebound, so when bound to every interface any IP is
// accepted; names other than localhost only if configured.
func (s *Server) adminHostAllowed(hostport string) bool {
	if hostport == "" {
		return false
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if netaddr.IsLoopbackHost(host) {
		return true
	}
	if cfgHost, _, err := net.SplitHostPort(s.cfg.AdminAddr); err == nil && cfgHost != "" && strings.EqualFold(host, cfgHost) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	bound, ok := s.AdminAddr().(*net.TCPAddr)
	if !ok {
		return false
	}
	bip, _ := netip.AddrFromSlice(bound.IP)
	bip = bip.Unmap()
	return bip.IsUnspecified() || bip == ip.Unmap()
}

func adminError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
