package policy

import (
	"strconv"
	"strings"
	"time"
)

// Request is what a caller asks to do, as policies see it.
type Request struct {
	Principal string              // caller's principal ARN, e.g. arn:aws:iam::123456789012:user/alice; "" for anonymous
	Account   string              // caller's account id; taken from Principal when empty
	Action    string              // "kinesis:PutRecord"
	Resource  string              // the resource ARN, or "*"
	Context   map[string][]string // condition keys, matched case-insensitively by name
}

// Decision is the outcome of Evaluate. The zero value is ImplicitDeny,
// so a forgotten assignment can never allow.
type Decision int

const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Sources of a deciding statement, for Result.Source.
const (
	SourceIdentity = "identity"
	SourceResource = "resource"
)

// Result is a decision and the statement that made it.
type Result struct {
	Decision Decision
	// Where the deciding statement was: "identity" or "resource" ("" for implicit deny)
	Source string
	Sid    string
}

// Evaluate applies AWS's logic for one account: an explicit Deny in any
// policy wins; else an Allow in an identity policy, or in a resource
// policy whose Principal matches the caller, allows; else implicit deny.
// Principal elements in identity policies are ignored (the policy's
// owner is the principal); a resource-policy statement without one
// applies to nobody. Nil policies are skipped.
func Evaluate(req Request, identity, resource []*Policy) Result {
	var e evalCtx // on the stack: Evaluate runs for every request
	e.init(req)
	var allow Result
	for _, p := range identity {
		if p == nil {
			continue
		}
		for i := range p.stmts {
			s := &p.stmts[i]
			if !s.deny && allow.Decision == Allow {
				continue // one Allow is enough; only a Deny can change it
			}
			if !s.applies(&e, false) {
				continue
			}
			if s.deny {
				return Result{Decision: ExplicitDeny, Source: SourceIdentity, Sid: s.sid}
			}
			allow = Result{Decision: Allow, Source: SourceIdentity, Sid: s.sid}
		}
	}
	for _, p := range resource {
		if p == nil {
			continue
		}
		for i := range p.stmts {
			s := &p.stmts[i]
			if !s.deny && allow.Decision == Allow {
				continue
			}
			if !s.applies(&e, true) {
				continue
			}
			if s.deny {
				return Result{Decision: ExplicitDeny, Source: SourceResource, Sid: s.sid}
			}
			allow = Result{Decision: Allow, Source: SourceResource, Sid: s.sid}
		}
	}
	return allow // zero value is ImplicitDeny
}

// DeniedMessage renders AccessDeniedException's message as AWS words it;
// "" for an Allow.
func DeniedMessage(req Request, r Result) string {
	who := req.Principal
	if who == "" {
		who = "anonymous"
	}
	res := req.Resource
	if res == "" {
		res = "*"
	}
	head := "User: " + who + " is not authorized to perform: " + req.Action + " on resource: " + res
	switch r.Decision {
	case Allow:
		return ""
	case ExplicitDeny:
		if r.Source == SourceResource {
			return head + " with an explicit deny in a resource-based policy"
		}
		return head + " with an explicit deny in an identity-based policy"
	}
	return head + " because no identity-based policy allows the " + req.Action + " action"
}

// caller is the request's principal, taken apart once per Evaluate.
type caller struct {
	arn       string
	partition string
	account   string
	roleName  string // for assumed-role sessions: the role they came from
}

type evalCtx struct {
	req    Request // a copy: a pointer would move the caller's to the heap
	action string  // lower-cased up front only when not ASCII
	folded bool    // action was lower-cased: match it with glob
	who    caller
	now    time.Time
}

func (e *evalCtx) init(req Request) {
	e.req = req
	e.action = req.Action
	if !isASCII(e.action) {
		e.action, e.folded = strings.ToLower(e.action), true
	}
	e.who.arn = req.Principal
	e.who.account = req.Account
	if part, svc, _, acct, res, ok := arnParts(req.Principal); ok {
		e.who.partition = part
		if e.who.account == "" {
			e.who.account = acct
		}
		if svc == "sts" && strings.HasPrefix(res, "assumed-role/") {
			name, _, _ := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
			e.who.roleName = name
		}
	}
	if e.who.partition == "" {
		e.who.partition = "aws"
	}
}

// lookup returns a condition key's values. Key names compare without
// case (AWS: "Condition key names are not case-sensitive"); a few global
// keys AWS always sets are derived from the request when absent.
func (e *evalCtx) lookup(key string) []string {
	var out []string
	found := false
	for k, v := range e.req.Context {
		if !strings.EqualFold(k, key) {
			continue
		}
		if !found {
			out, found = v, true
		} else {
			out = append(out[:len(out):len(out)], v...)
		}
	}
	if found {
		return out
	}
	switch {
	case strings.EqualFold(key, "aws:PrincipalArn"):
		if e.who.arn != "" {
			return []string{e.principalARN()}
		}
	case strings.EqualFold(key, "aws:PrincipalAccount"):
		if e.who.account != "" {
			return []string{e.who.account}
		}
	case strings.EqualFold(key, "aws:CurrentTime"):
		return []string{e.clock().Format(time.RFC3339)}
	case strings.EqualFold(key, "aws:EpochTime"):
		return []string{strconv.FormatInt(e.clock().Unix(), 10)}
	}
	return nil
}

func (e *evalCtx) clock() time.Time {
	if e.now.IsZero() {
		e.now = time.Now().UTC()
	}
	return e.now
}

// principalARN is aws:PrincipalArn: for a role session AWS gives the
// role's ARN, not the session's. A role path cannot be recovered from
// the session ARN, so callers with pathed roles should set the key.
func (e *evalCtx) principalARN() string {
	if e.who.roleName != "" {
		return "arn:" + e.who.partition + ":iam::" + e.who.account + ":role/" + e.who.roleName
	}
	return e.who.arn
}

func (s *statement) applies(e *evalCtx, resourcePolicy bool) bool {
	if resourcePolicy {
		if s.principal == nil {
			return false
		}
		if s.notPrincipal {
			if s.principal.excepts(&e.who) {
				return false
			}
		} else if !s.principal.matches(&e.who) {
			return false
		}
	}
	if s.matchesAction(e) == s.notAction {
		return false
	}
	if s.matchesResource(e.req.Resource) == s.notResource {
		return false
	}
	for i := range s.conds {
		if !s.conds[i].eval(e) {
			return false
		}
	}
	return true
}

// matchesAction compares case-insensitively: patterns are lower-cased
// at parse time, and an ASCII action is folded as it is read so the
// common case does not allocate.
func (s *statement) matchesAction(e *evalCtx) bool {
	for _, a := range s.actions {
		if e.folded && globOrEqual(a, e.action) || !e.folded && globFold(a, e.action) {
			return true
		}
	}
	return false
}

// matchesResource globs the whole ARN: '*' spans '/' and ':', which is
// how AWS describes wildcard expansion in Resource, so ".../stream/*"
// also covers every stream's consumers (".../stream/S/consumer/C:T").
func (s *statement) matchesResource(resource string) bool {
	for _, r := range s.resources {
		if globOrEqual(r, resource) {
			return true
		}
	}
	return false
}

// matches is the Principal test: "*" is anyone, an account (id or
// :root ARN) is any principal of it, a role ARN also covers that role's
// sessions, anything else must equal the caller's ARN.
func (ps *principals) matches(c *caller) bool {
	if ps.any {
		return true
	}
	if c.arn == "" {
		return false
	}
	for _, p := range ps.aws {
		if acct, ok := accountOf(p); ok {
			if acct == c.account {
				return true
			}
			continue
		}
		if p == c.arn || c.roleName != "" && isRoleOf(p, c) {
			return true
		}
	}
	return false
}

// excepts is the NotPrincipal test. AWS checks the caller's account,
// then its role, then itself, and a layer missing from the list denies
// the whole chain; so a caller escapes a Deny only if every layer of it
// is listed. (Listing an account does not except its other users.)
func (ps *principals) excepts(c *caller) bool {
	if ps.any {
		return true
	}
	if c.arn == "" {
		return false
	}
	accountListed, roleListed, selfListed := false, c.roleName == "", false
	for _, p := range ps.aws {
		if acct, ok := accountOf(p); ok {
			if acct == c.account {
				accountListed = true
			}
			continue
		}
		if p == c.arn {
			selfListed = true
		}
		if c.roleName != "" && isRoleOf(p, c) {
			roleListed = true
		}
	}
	if _, ok := accountOf(c.arn); ok {
		selfListed = accountListed // the caller is the account's root
	}
	return accountListed && roleListed && selfListed
}

// accountOf recognizes the two account forms: "123456789012" and
// "arn:aws:iam::123456789012:root".
func accountOf(p string) (string, bool) {
	if isAccountID(p) {
		return p, true
	}
	if _, svc, _, acct, res, ok := arnParts(p); ok && svc == "iam" && res == "root" {
		return acct, true
	}
	return "", false
}

// isRoleOf reports whether p is the IAM role that caller c's session
// was assumed from. Session ARNs carry no role path, so the role's
// name (its last path element) and account decide.
func isRoleOf(p string, c *caller) bool {
	_, svc, _, acct, res, ok := arnParts(p)
	if !ok || svc != "iam" || acct != c.account || !strings.HasPrefix(res, "role/") {
		return false
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	return name == c.roleName
}
