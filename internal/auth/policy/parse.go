package policy

import (
	"fmt"
	"strings"
)

// Error is a policy document that Parse (or a Validate method) refuses.
// Message is AWS's wording for the problem where it is known (IAM's
// MalformedPolicyDocument texts); Detail says where and what, because
// several of AWS's messages ("Syntax errors in policy.") name neither.
type Error struct {
	Message string
	Detail  string
}

func (e *Error) Error() string {
	switch {
	case e.Detail == "":
		return e.Message
	case strings.HasSuffix(e.Message, "."):
		return e.Message + " " + e.Detail
	}
	// Some of AWS's texts lack a final period.
	return e.Message + ": " + e.Detail
}

// AWS's texts, as IAM returns them for MalformedPolicyDocument.
const (
	msgSyntax          = "Syntax errors in policy."
	msgLegacy          = "The policy failed legacy parsing"
	msgNoActions       = "Policy statement must contain actions."
	msgNoResources     = "Policy statement must contain resources."
	msgVendor          = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon        = "Actions/Condition can contain only one colon."
	msgSidUnique       = "Statement IDs (SID) in a single policy must be unique."
	msgNoPrincipal     = "Policy document should not specify a principal."
	msgMissingPrinc    = "Missing required field Principal"
	msgResourceVendor  = "Resource vendor must be fully qualified and cannot contain regexes."
	msgInvalidPrincipl = "Invalid principal in policy:"
)

func syntaxErr(detail string) *Error { return &Error{Message: msgSyntax, Detail: detail} }

// Policy is a parsed, validated policy document. It is immutable, so
// one Policy may be evaluated from many goroutines at once.
type Policy struct {
	version string
	id      string
	stmts   []statement
}

type statement struct {
	sid          string
	deny         bool
	principal    *principals // nil when the statement names none
	notPrincipal bool
	actions      []string // lower-cased patterns
	notAction    bool
	resources    []string
	notResource  bool
	conds        []condition
}

// principals is the Principal/NotPrincipal element. Only "AWS" entries
// can match a caller here; Service, Federated and CanonicalUser entries
// are accepted but never match, since Kinesis callers are AWS principals.
type principals struct {
	any bool // "*" or {"AWS": "*"}
	aws []string
}

// Version returns the policy's Version element ("" when absent).
func (p *Policy) Version() string { return p.version }

// ID returns the policy's Id element ("" when absent).
func (p *Policy) ID() string { return p.id }

// Parse reads a JSON policy document. It never panics; a document it
// refuses yields an *Error. Size limits are the caller's: Parse only
// bounds nesting depth.
func Parse(doc []byte) (*Policy, error) {
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if root.kind != kObject {
		return nil, syntaxErr("The policy must be a JSON object.")
	}
	p := &Policy{}
	var stmtNode *node
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "Version":
			if v.kind != kString || (v.str != "2012-10-17" && v.str != "2008-10-17") {
				return nil, syntaxErr(`Version must be "2012-10-17" or "2008-10-17".`)
			}
			p.version = v.str
		case "Id":
			if v.kind != kString {
				return nil, syntaxErr("Id must be a string.")
			}
			p.id = v.str
		case "Statement":
			stmtNode = v
		default:
			return nil, syntaxErr(fmt.Sprintf("Unknown element %q.", k))
		}
	}
	if stmtNode == nil {
		return nil, syntaxErr("Missing required element Statement.")
	}
	var list []*node
	switch stmtNode.kind {
	case kObject:
		list = []*node{stmtNode}
	case kArray:
		list = stmtNode.items
	default:
		return nil, syntaxErr("Statement must be an object or a list of objects.")
	}
	if len(list) == 0 {
		return nil, syntaxErr("Statement must not be empty.")
	}
	p.stmts = make([]statement, 0, len(list))
	sids := make(map[string]struct{}, len(list))
	for i, n := range list {
		s, err := parseStatement(n, i)
		if err != nil {
			return nil, err
		}
		if s.sid != "" {
			if _, dup := sids[s.sid]; dup {
				return nil, &Error{Message: msgSidUnique, Detail: fmt.Sprintf("Sid %q is repeated.", s.sid)}
			}
			sids[s.sid] = struct{}{}
		}
		p.stmts = append(p.stmts, s)
	}
	return p, nil
}

func parseStatement(n *node, idx int) (statement, error) {
	var s statement
	where := func(format string, a ...any) string {
		return fmt.Sprintf("Statement %d: ", idx+1) + fmt.Sprintf(format, a...)
	}
	if n.kind != kObject {
		return s, syntaxErr(where("must be an object, not %s.", n.kind))
	}
	var effect, action, notAction, resource, notResource, principal, notPrincipal, cond *node
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "Sid":
			if v.kind != kString {
				return s, syntaxErr(where("Sid must be a string."))
			}
			s.sid = v.str
		case "Effect":
			effect = v
		case "Action":
			action = v
		case "NotAction":
			notAction = v
		case "Resource":
			resource = v
		case "NotResource":
			notResource = v
		case "Principal":
			principal = v
		case "NotPrincipal":
			notPrincipal = v
		case "Condition":
			cond = v
		default:
			return s, syntaxErr(where("unknown element %q.", k))
		}
	}
	switch {
	case action != nil && notAction != nil:
		return s, syntaxErr(where("Action and NotAction cannot both be present."))
	case resource != nil && notResource != nil:
		return s, syntaxErr(where("Resource and NotResource cannot both be present."))
	case principal != nil && notPrincipal != nil:
		return s, syntaxErr(where("Principal and NotPrincipal cannot both be present."))
	}

	// Effect: IAM tells a wrongly cased "allow" apart from nonsense.
	if effect == nil {
		return s, syntaxErr(where("missing required field Effect."))
	}
	if effect.kind != kString {
		return s, syntaxErr(where(`Effect must be "Allow" or "Deny".`))
	}
	switch effect.str {
	case "Allow":
	case "Deny":
		s.deny = true
	default:
		if strings.EqualFold(effect.str, "allow") || strings.EqualFold(effect.str, "deny") {
			return s, &Error{Message: msgLegacy, Detail: where(`Effect %q must be spelled "Allow" or "Deny".`, effect.str)}
		}
		return s, syntaxErr(where(`Effect %q must be "Allow" or "Deny".`, effect.str))
	}

	if principal != nil || notPrincipal != nil {
		pn := principal
		if pn == nil {
			pn = notPrincipal
			s.notPrincipal = true
		}
		ps, err := parsePrincipal(pn, where)
		if err != nil {
			return s, err
		}
		s.principal = ps
	}

	if cond != nil {
		conds, err := parseConditions(cond, where)
		if err != nil {
			return s, err
		}
		s.conds = conds
	}

	// Actions.
	an := action
	if an == nil {
		an = notAction
		s.notAction = an != nil
	}
	name := "Action"
	if s.notAction {
		name = "NotAction"
	}
	actions, err := stringList(an, name, where)
	if err != nil {
		return s, err
	}
	if len(actions) == 0 {
		return s, &Error{Message: msgNoActions, Detail: where("it has no Action or NotAction.")}
	}
	for _, a := range actions {
		if err := checkAction(a); err != nil {
			err.Detail = where("%q is not a valid action.", a)
			return s, err
		}
		s.actions = append(s.actions, strings.ToLower(a))
	}

	// Resources.
	rn := resource
	if rn == nil {
		rn = notResource
		s.notResource = rn != nil
	}
	name = "Resource"
	if s.notResource {
		name = "NotResource"
	}
	resources, err := stringList(rn, name, where)
	if err != nil {
		return s, err
	}
	if len(resources) == 0 {
		return s, &Error{Message: msgNoResources, Detail: where("it has no Resource or NotResource.")}
	}
	for _, r := range resources {
		if err := checkResource(r); err != nil {
			return s, err
		}
	}
	s.resources = resources
	return s, nil
}

// stringList reads an element that is a string or a list of strings.
// A missing element is an empty list.
func stringList(n *node, name string, where func(string, ...any) string) ([]string, error) {
	if n == nil {
		return nil, nil
	}
	switch n.kind {
	case kString:
		return []string{n.str}, nil
	case kArray:
		out := make([]string, 0, len(n.items))
		for _, it := range n.items {
			if it.kind != kString {
				return nil, syntaxErr(where("%s entries must be strings, not %s.", name, it.kind))
			}
			out = append(out, it.str)
		}
		return out, nil
	}
	return nil, syntaxErr(where("%s must be a string or a list of strings, not %s.", name, n.kind))
}

// checkAction applies IAM's rule: "*" or vendor:action, one colon, and a
// vendor of letters, digits, '-' and '.' (or "*").
func checkAction(a string) *Error {
	if a == "*" {
		return nil
	}
	vendor, rest, ok := strings.Cut(a, ":")
	if !ok {
		return &Error{Message: msgVendor}
	}
	if strings.Contains(rest, ":") {
		return &Error{Message: msgOneColon}
	}
	if vendor == "*" {
		return nil
	}
	if vendor == "" {
		return &Error{Message: msgVendor}
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return &Error{Message: fmt.Sprintf("Vendor %s is not valid", vendor)}
		}
	}
	return nil
}

// checkResource accepts "*" or an ARN whose service part is literal.
func checkResource(r string) *Error {
	if r == "*" {
		return nil
	}
	parts := strings.SplitN(r, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return &Error{Message: fmt.Sprintf(`Resource %s must be in ARN format or "*".`, r)}
	}
	if parts[2] == "" || hasWildcard(parts[2]) {
		return &Error{Message: msgResourceVendor, Detail: fmt.Sprintf("Resource %q.", r)}
	}
	return nil
}

func parsePrincipal(n *node, where func(string, ...any) string) (*principals, error) {
	ps := &principals{}
	if n.kind == kString {
		if n.str != "*" {
			return nil, syntaxErr(where(`a Principal string must be "*"; name principals as {"AWS": ...}.`))
		}
		ps.any = true
		return ps, nil
	}
	if n.kind != kObject || len(n.keys) == 0 {
		return nil, syntaxErr(where(`Principal must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}.`))
	}
	for i, k := range n.keys {
		vals, err := stringList(n.vals[i], "Principal "+k, where)
		if err != nil {
			return nil, err
		}
		if len(vals) == 0 {
			return nil, syntaxErr(where("Principal %s must not be empty.", k))
		}
		switch k {
		case "AWS":
			for _, v := range vals {
				if v == "*" {
					ps.any = true
					continue
				}
				if !validAWSPrincipal(v) {
					return nil, &Error{Message: fmt.Sprintf("%s %q:%q", msgInvalidPrincipl, "AWS", v)}
				}
				ps.aws = append(ps.aws, v)
			}
		case "Service", "Federated", "CanonicalUser":
			// Accepted so such policies parse; they never match a caller.
		default:
			return nil, syntaxErr(where("unknown principal type %q.", k))
		}
	}
	return ps, nil
}

// validAWSPrincipal accepts an account id, an IAM or STS ARN, or an IAM
// unique id (what AWS shows once the named principal is deleted).
func validAWSPrincipal(v string) bool {
	// AWS: "You cannot use a wildcard to match part of a principal name or ARN."
	if hasWildcard(v) {
		return false
	}
	if isAccountID(v) {
		return true
	}
	if _, svc, _, acct, res, ok := arnParts(v); ok {
		return (svc == "iam" || svc == "sts") && isAccountID(acct) && res != ""
	}
	if len(v) >= 16 && len(v) <= 128 && v[0] == 'A' {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return false
}

func parseConditions(n *node, where func(string, ...any) string) ([]condition, error) {
	if n.kind != kObject {
		return nil, syntaxErr(where("Condition must be an object."))
	}
	var out []condition
	for i, opName := range n.keys {
		body := n.vals[i]
		if body.kind != kObject {
			return nil, syntaxErr(where("Condition %s must map keys to values.", opName))
		}
		op, set, ifExists, ok := parseOperator(opName)
		if !ok {
			// IAM lets an unknown operator with no keys through.
			if len(body.keys) == 0 {
				continue
			}
			return nil, syntaxErr(where("unknown condition operator %q.", opName))
		}
		for j, key := range body.keys {
			if !strings.Contains(key, ":") {
				return nil, &Error{Message: msgVendor, Detail: where("condition key %q has no vendor prefix.", key)}
			}
			vals, err := conditionValues(body.vals[j], opName, key, where)
			if err != nil {
				return nil, err
			}
			c := condition{op: op, opName: opName, set: set, ifExists: ifExists, key: key}
			if err := c.compileValues(vals); err != nil {
				err.Detail = where("%s", err.Detail)
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// conditionValues reads a condition value: a string, number or boolean,
// or a list of them.
func conditionValues(n *node, op, key string, where func(string, ...any) string) ([]string, error) {
	scalar := func(v *node) (string, bool) {
		switch v.kind {
		case kString, kNumber, kBool:
			return v.str, true
		}
		return "", false
	}
	if n.kind == kArray {
		out := make([]string, 0, len(n.items))
		for _, it := range n.items {
			s, ok := scalar(it)
			if !ok {
				return nil, syntaxErr(where("Condition %s: values for %s must be strings, numbers or booleans.", op, key))
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, ok := scalar(n)
	if !ok {
		return nil, syntaxErr(where("Condition %s: values for %s must be strings, numbers or booleans.", op, key))
	}
	return []string{s}, nil
}

// ValidateIdentity applies the rules IAM adds for identity-based
// policies: no Principal or NotPrincipal.
func (p *Policy) ValidateIdentity() error {
	for i, s := range p.stmts {
		if s.principal != nil {
			return &Error{Message: msgNoPrincipal, Detail: fmt.Sprintf("Statement %d names one.", i+1)}
		}
	}
	return nil
}

// ValidateResource applies the rule for resource-based policies: every
// statement names a Principal or NotPrincipal.
func (p *Policy) ValidateResource() error {
	for i, s := range p.stmts {
		if s.principal == nil {
			return &Error{Message: msgMissingPrinc, Detail: fmt.Sprintf("Statement %d names none.", i+1)}
		}
	}
	return nil
}
