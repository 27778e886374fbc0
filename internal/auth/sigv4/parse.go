// Package sigv4 verifies AWS Signature Version 4 requests, signed in the
// Authorization header or presigned in the query string, and reports
// failures with the error types and messages AWS uses.
package sigv4

import (
	"net/http"
	"net/url"
	"strings"
)

// Algorithm is the one signing algorithm AWS's JSON services accept.
const Algorithm = "AWS4-HMAC-SHA256"

// Error is an authentication failure as the client sees it.
type Error struct {
	Type    string // such as "InvalidSignatureException"
	Message string
	Status  int // HTTP status; 400 for every error here, as AWS answers
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func newError(typ, msg string) *Error {
	return &Error{Type: typ, Message: msg, Status: http.StatusBadRequest}
}

// Error types.
const (
	TypeMissingToken        = "MissingAuthenticationTokenException"
	TypeIncompleteSignature = "IncompleteSignatureException"
	TypeInvalidSignature    = "InvalidSignatureException"
	TypeUnrecognizedClient  = "UnrecognizedClientException"
	TypeExpiredToken        = "ExpiredTokenException"
)

// Signature is what a request presents, read but not yet checked.
type Signature struct {
	// Presigned is true when the signature came in the query string.
	Presigned     bool
	Algorithm     string
	Credential    string // AKID/DATE/REGION/SERVICE/aws4_request
	SignedHeaders string // "host;x-amz-date"
	Signature     string // hex
	// Date is X-Amz-Date (or, in the header form, Date) as sent.
	Date string
	// SecurityToken is X-Amz-Security-Token, if any.
	SecurityToken string
}

// AccessKeyID is the credential's first element.
func (s *Signature) AccessKeyID() string {
	akid, _, _ := strings.Cut(s.Credential, "/")
	return akid
}

// Parse finds the signature of r, in the Authorization header or the
// query string, and checks only that every part is there. Its errors are
// AWS's, in AWS's order; it runs before anything else about the
// signature is looked at.
func Parse(r *http.Request) (Signature, error) {
	authz := r.Header.Get("Authorization")
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	_, queryAuth := query["X-Amz-Algorithm"]

	switch {
	case authz != "" && queryAuth:
		return Signature{}, newError(TypeInvalidSignature,
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	case authz == "" && !queryAuth:
		return Signature{}, newError(TypeMissingToken, "Missing Authentication Token")
	}

	var msg strings.Builder
	var s Signature
	if authz != "" {
		f := ParseAuthorization(authz)
		s = Signature{
			Algorithm:     f.Algorithm,
			Credential:    f.Credential,
			SignedHeaders: f.SignedHeaders,
			Signature:     f.Signature,
			Date:          r.Header.Get("X-Amz-Date"),
			SecurityToken: r.Header.Get("X-Amz-Security-Token"),
		}
		if s.Date == "" {
			s.Date = r.Header.Get("Date")
		}
		for _, p := range [...]struct{ name, value string }{
			{"Credential", f.Credential}, {"Signature", f.Signature}, {"SignedHeaders", f.SignedHeaders},
		} {
			if p.value == "" {
				msg.WriteString("Authorization header requires '" + p.name + "' parameter. ")
			}
		}
		if s.Date == "" {
			msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		if msg.Len() > 0 {
			msg.WriteString("Authorization=" + authz)
		}
	} else {
		s = Signature{
			Presigned:     true,
			Algorithm:     first(query["X-Amz-Algorithm"]),
			Credential:    first(query["X-Amz-Credential"]),
			SignedHeaders: first(query["X-Amz-SignedHeaders"]),
			Signature:     first(query["X-Amz-Signature"]),
			Date:          first(query["X-Amz-Date"]),
			SecurityToken: first(query["X-Amz-Security-Token"]),
		}
		for _, p := range [...]struct{ name, value string }{
			{"X-Amz-Algorithm", s.Algorithm}, {"X-Amz-Credential", s.Credential}, {"X-Amz-Signature", s.Signature},
			{"X-Amz-SignedHeaders", s.SignedHeaders}, {"X-Amz-Date", s.Date},
		} {
			if p.value == "" {
				msg.WriteString("AWS query-string parameters must include '" + p.name + "'. ")
			}
		}
		if msg.Len() > 0 {
			msg.WriteString("Re-examine the query-string parameters.")
		}
	}
	if msg.Len() > 0 {
		return Signature{}, newError(TypeIncompleteSignature, msg.String())
	}
	return s, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// AuthFields are the parts of an Authorization header.
type AuthFields struct {
	Algorithm, Credential, Signature, SignedHeaders string
}

// ParseAuthorization reads "ALGORITHM k=v, k=v ..." the way AWS's front
// end does: split on every comma and space, take the first piece as the
// algorithm, and keep what follows each key's first '=' up to any second
// one; a later key wins. No map: this runs on every request.
func ParseAuthorization(authz string) AuthFields {
	var f AuthFields
	// AWS takes the first piece as the algorithm only when the header
	// does not start with a separator.
	skip := authz != "" && authz[0] != ',' && authz[0] != ' '
	for rest := authz; rest != ""; {
		var p string
		if i := strings.IndexAny(rest, ", "); i >= 0 {
			p, rest = rest[:i], rest[i+1:]
		} else {
			p, rest = rest, ""
		}
		if p == "" {
			continue
		}
		if skip {
			skip = false
			f.Algorithm = p
			continue
		}
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		v, _, _ = strings.Cut(v, "=")
		switch k {
		case "Credential":
			f.Credential = v
		case "Signature":
			f.Signature = v
		case "SignedHeaders":
			f.SignedHeaders = v
		}
	}
	return f
}

// Scope is a credential split into its five elements.
type Scope struct {
	AccessKeyID, Date, Region, Service, Terminator string
}

// String is the scope without the key: DATE/REGION/SERVICE/TERMINATOR.
func (s Scope) String() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + s.Terminator
}

// ParseCredential splits AKID/DATE/REGION/SERVICE/aws4_request; trailing
// slashes are ignored, as AWS ignores them.
func ParseCredential(cred string) (Scope, bool) {
	c := strings.TrimRight(cred, "/")
	var parts [5]string
	for i := 0; i < 4; i++ {
		var ok bool
		parts[i], c, ok = strings.Cut(c, "/")
		if !ok {
			return Scope{}, false
		}
	}
	if strings.Contains(c, "/") {
		return Scope{}, false
	}
	parts[4] = c
	return Scope{parts[0], parts[1], parts[2], parts[3], parts[4]}, true
}

// IsRegion accepts region-like names only (lower-case letters, digits
// and '-'), since the region ends up in ARNs.
func IsRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
