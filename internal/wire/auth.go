package wire

import (
	"net/http"
	"strings"

	"github.com/rivulet/rivulet/internal/service"
)

// authenticate checks that the request carries a complete SigV4 signature,
// in the Authorization header or the query string, and returns the caller
// named by its credential scope. Signatures are not verified: the emulator
// trusts whoever calls it, but clients that sign badly are told so as AWS
// would tell them.
func authenticate(r *http.Request) (service.Caller, *apiError) {
	authz := r.Header.Get("Authorization")
	var query map[string][]string
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	_, queryAuth := query["X-Amz-Algorithm"]

	switch {
	case authz != "" && queryAuth:
		return service.Caller{}, messageError("InvalidSignatureException",
			"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	case authz == "" && !queryAuth:
		return service.Caller{}, messageError("MissingAuthenticationTokenException", "Missing Authentication Token")
	}

	var msg strings.Builder
	var credential string
	if authz != "" {
		params := authParams(authz)
		for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
			if params[p] == "" {
				msg.WriteString("Authorization header requires '" + p + "' parameter. ")
			}
		}
		if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
			msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		if msg.Len() > 0 {
			msg.WriteString("Authorization=" + authz)
		}
		credential = params["Credential"]
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
		return service.Caller{}, messageError("IncompleteSignatureException", msg.String())
	}
	return callerFromCredential(credential), nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// authParams reads "ALGORITHM k=v, k=v ..." the way AWS's front end does:
// split on every comma and space, drop the first piece (the algorithm), and
// keep what follows each key's first '='.
func authParams(authz string) map[string]string {
	pieces := strings.FieldsFunc(authz, func(r rune) bool { return r == ',' || r == ' ' })
	// FieldsFunc drops empty pieces; AWS drops the first piece even when the
	// header starts with a separator, which leaves the first real one.
	if len(pieces) > 0 && authz[0] != ',' && authz[0] != ' ' {
		pieces = pieces[1:]
	}
	params := make(map[string]string, len(pieces))
	for _, p := range pieces {
		kv := strings.Split(strings.TrimSpace(p), "=")
		v := ""
		if len(kv) > 1 {
			v = kv[1]
		}
		params[kv[0]] = v
	}
	return params
}

// callerFromCredential reads "AKID/DATE/REGION/SERVICE/aws4_request". A
// 12-digit access key id is taken as the account, as kinesis-mock does.
func callerFromCredential(cred string) service.Caller {
	c := service.DefaultCaller
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
