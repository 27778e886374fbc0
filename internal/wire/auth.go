package wire

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
)

// authenticate finds the caller of r, whose body is body. With a verifier
// the signature is checked and the caller is its principal's account, in
// the credential scope's region. Without one (auth none) a complete SigV4
// signature is required but not checked: the credential scope names the
// caller, and clients that sign badly are still told so as AWS would.
func (h *Handler) authenticate(r *http.Request, body []byte) (kinesis.Caller, *apiError) {
	c, err := Authenticate(r, body, h.verifier)
	if err != nil {
		return kinesis.Caller{}, authError(err)
	}
	c.Service = h.internal
	return c, nil
}

// Authenticate is the caller of a SigV4-signed request, as described
// above; v nil means auth none. Errors are *sigv4.Error. The lease-table
// API's handler shares it, so both APIs name callers alike.
func Authenticate(r *http.Request, body []byte, v *sigv4.Verifier) (kinesis.Caller, error) {
	sig, err := sigv4.Parse(r)
	if err != nil {
		return kinesis.Caller{}, err
	}
	if v == nil {
		return callerFromCredential(sig.Credential), nil
	}
	id, err := v.Check(r, body, &sig)
	if err != nil {
		return kinesis.Caller{}, err
	}
	return kinesis.Caller{
		Account:         id.Principal.Account,
		Region:          id.Region,
		Principal:       id.Principal,
		SourceIP:        sourceIP(r.RemoteAddr),
		SecureTransport: r.TLS != nil,
	}, nil
}

func authError(err error) *apiError {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		return internalFailure()
	}
	return &apiError{status: e.Status, typ: e.Type, msg: e.Message, msgKey: "message"}
}

// sourceIP is the address part of host:port.
func sourceIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// authFields are the Authorization parameters AWS checks for.
type authFields struct{ credential, signature, signedHeaders string }

// authParams reads the Authorization header as sigv4.ParseAuthorization
// does (its fuzz test lives here).
func authParams(authz string) authFields {
	f := sigv4.ParseAuthorization(authz)
	return authFields{credential: f.Credential, signature: f.Signature, signedHeaders: f.SignedHeaders}
}

// callerFromCredential reads "AKID/DATE/REGION/SERVICE/aws4_request". A
// 12-digit access key id is taken as the account, as kinesis-mock does.
func callerFromCredential(cred string) kinesis.Caller {
	c := kinesis.DefaultCaller
	parts := strings.Split(cred, "/")
	if auth.IsAccountID(parts[0]) {
		c.Account = parts[0]
	}
	if len(parts) >= 3 && sigv4.IsRegion(parts[2]) {
		c.Region = parts[2]
	}
	return c
}
