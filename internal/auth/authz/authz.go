// Package authz decides requests with AWS's policy logic: the verified
// principal's identity policies, plus the resource's own policy, evaluated
// by internal/auth/policy. It serves the Kinesis API (kinesis.Authorizer)
// and the admin listener.
package authz

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/policy"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
	"github.com/rivulet/rivulet/internal/kinesis"
)

// Authorizer implements kinesis.Authorizer.
type Authorizer struct {
	mu       sync.Mutex
	resource map[string]*policy.Policy // parsed resource policies, by document
}

// New returns an Authorizer.
func New() *Authorizer { return &Authorizer{resource: make(map[string]*policy.Policy)} }

var _ kinesis.Authorizer = (*Authorizer)(nil)

// maxCached bounds the parsed resource policies kept; past it the cache
// starts over (policies are few and rarely change).
const maxCached = 1024

// Authorize implements kinesis.Authorizer.
func (a *Authorizer) Authorize(_ context.Context, c kinesis.Caller, action, resource string, about kinesis.Resource) error {
	if c.Service {
		return nil // Rivulet itself, never reachable from a listener
	}
	if c.Principal == nil {
		// Only a verified request has a principal; authorization without
		// authentication allows nothing.
		return kinesis.Errorf(kinesis.ErrAccessDenied, "The request was not signed by a known principal.")
	}
	req := request(c.Principal, c.SourceIP, c.SecureTransport, action, resource)
	for k, v := range about.Tags {
		req.Context["aws:ResourceTag/"+k] = []string{v}
	}
	var res []*policy.Policy
	if about.Policy != "" {
		p, err := a.parsed(about.Policy)
		if err != nil {
			// Stored policies were checked when they were put.
			return kinesis.Errorf(kinesis.ErrInternal, "The resource policy of %s cannot be read: %v", resource, err)
		}
		res = append(res, p)
	}
	r := policy.Evaluate(req, c.Principal.Identity, res)
	if r.Decision != policy.Allow {
		return kinesis.Errorf(kinesis.ErrAccessDenied, "%s", policy.DeniedMessage(req, r))
	}
	if acct := arnAccount(resource); acct != "" && acct != c.Principal.Account {
		// Across accounts both sides must allow, as on AWS: the caller's
		// identity policies and the resource's own policy.
		if policy.Evaluate(req, c.Principal.Identity, nil).Decision != policy.Allow {
			return kinesis.Errorf(kinesis.ErrAccessDenied, "%s", policy.DeniedMessage(req, policy.Result{}))
		}
		if policy.Evaluate(req, nil, res).Decision != policy.Allow {
			return kinesis.Errorf(kinesis.ErrAccessDenied, "%s because no resource-based policy allows the %s action",
				deniedHead(req), action)
		}
	}
	return nil
}

// arnAccount is the account field of an ARN, "" for "*" or a non-ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// deniedHead is the start of AccessDeniedException's message.
func deniedHead(req policy.Request) string {
	return "User: " + req.Principal + " is not authorized to perform: " + req.Action + " on resource: " + req.Resource
}

func request(p *auth.Principal, sourceIP string, secure bool, action, resource string) policy.Request {
	ctx := map[string][]string{
		"aws:SecureTransport": {strconv.FormatBool(secure)},
	}
	if sourceIP != "" {
		ctx["aws:SourceIp"] = []string{sourceIP}
	}
	return policy.Request{Principal: p.ARN, Account: p.Account, Action: action, Resource: resource, Context: ctx}
}

func (a *Authorizer) parsed(doc string) (*policy.Policy, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.resource[doc]; ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	if len(a.resource) >= maxCached {
		a.resource = make(map[string]*policy.Policy)
	}
	a.resource[doc] = p
	return p, nil
}

// maxAdminBody bounds an admin request body (fault rules are small).
const maxAdminBody = 1 << 20

// sourceIP is the address part of host:port.
func sourceIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// AdminError is the admin listener's answer to a refused request.
type AdminError struct {
	Status  int
	Message string
}

func (e *AdminError) Error() string   { return e.Message }
func (e *AdminError) HTTPStatus() int { return e.Status }

// Admin returns the admin listener's check under --auth=sigv4: a request
// must be signed for the service "rivulet" by a known key, whose identity
// policies allow rivulet:AdminRead (GET, HEAD) or rivulet:AdminWrite
// (anything else) on "*".
func Admin(v *sigv4.Verifier) func(*http.Request) error {
	return func(r *http.Request) error {
		// The body is signed, so it is read here and handed on again.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
		if err != nil || len(body) > maxAdminBody {
			return &AdminError{Status: http.StatusBadRequest, Message: "cannot read the request body"}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		id, err := v.Verify(r, body)
		if err != nil {
			return &AdminError{Status: http.StatusForbidden, Message: err.Error()}
		}
		action := "rivulet:AdminWrite"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			action = "rivulet:AdminRead"
		}
		req := request(id.Principal, sourceIP(r.RemoteAddr), r.TLS != nil, action, "*")
		res := policy.Evaluate(req, id.Principal.Identity, nil)
		if res.Decision != policy.Allow {
			return &AdminError{Status: http.StatusForbidden, Message: policy.DeniedMessage(req, res)}
		}
		return nil
	}
}
