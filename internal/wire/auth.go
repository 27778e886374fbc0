package wire

import (
	"net/http"
	"strings"

	"github.com/rivulet/rivulet/internal/kinesis"
)

// authenticate checks that the request carries a complete SigV4 signature,
// in the Authorization header or the query string, and returns the caller
// named by its credential scope. Signatures are not verified: the emulator
// trusts whoever calls it, but clients that sign badly are told so as AWS
// would tell them.
func authenticate(r *http.Request) (kinesis.Caller, *apiError) {
	authz := r.Header.Get("Authorization")
	var query map[string][]string
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	_, queryAuth := query["X-Amz-Algorithm"]

	switch {
	case authz != "" && queryAuth:
		return kinesis.Caller{}, messageError("InvalidSignatureException",
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	case authz == "" && !queryAuth:
		return kinesis.Caller{}, messageError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}

	var msg strings.Builder
	var credential string
	if authz != "" {
		params := authParams(authz)
		for _, p := range [...]struct{ name, value string }{
			{"Credential", params.credential}, {"Signature", params.signature}, {"SignedHeaders", params.signedHeaders},
		} {
			if p.value == "" {
				msg.WriteString("Authorization header requires '" + p.name + "' parameter. ")
			}
		}
		if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
			msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		if msg.Len() > 0 {
			msg.WriteString("Authorization=" + authz)
		}
		credential = params.credential
	} else {
		for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
			if first(query[p]) == "" {
				msg.WriteString("AWS query-string parameters must include '" + p + "'. ")
			}
		}
		if msg.Len() > 0 {
			msg.WriteString("Re-examine the query-string parameters.")
		}
		credential = first(query["X-Amz-Credential"])
	}
	if msg.Len() > 0 {
		return kinesis.Caller{}, messageError("IncompleteSignatureException", msg.String())
	}
	return callerFromCredential(credential), nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// authFields are the Authorization parameters AWS checks for.
type authFields struct{ credential, signature, signedHeaders string }

// authParams reads "ALGORITHM k=v, k=v ..." the way AWS's front end does:
// split on every comma and space, drop the first piece (the algorithm), and
// keep what follows each key's first '=' up to any second one; a later key
// wins. No map: this runs on every request.
func authParams(authz string) authFields {
	var f authFields
	// AWS drops the first piece only when the header does not start with
	// a separator.
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
			continue
		}
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		v, _, _ = strings.Cut(v, "=")
		switch k {
		case "Credential":
			f.credential = v
		case "Signature":
			f.signature = v
		case "SignedHeaders":
			f.signedHeaders = v
		}
	}
	return f
}

// callerFromCredential reads "AKID/DATE/REGION/SERVICE/aws4_request". A
// 12-digit access key id is taken as the account, as kinesis-mock does.
func callerFromCredential(cred string) kinesis.Caller {
	c := kinesis.DefaultCaller
	parts := strings.Split(cred, "/")
	if isAccountID(parts[0]) {
		c.Account = parts[0]
	}
	if len(parts) >= 3 && isRegion(parts[2]) {
		c.Region = parts[2]
	}
	return c
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRegion accepts region-like names only, since the region ends up in ARNs.
func isRegion(s string) bool {
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
