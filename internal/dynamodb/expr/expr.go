// Package expr parses and evaluates DynamoDB expressions (condition,
// filter, key condition, update, projection) and turns the legacy
// parameters (Expected, AttributeUpdates, ScanFilter, QueryFilter,
// KeyConditions, AttributesToGet) into the same trees, so the service
// evaluates one form. Every error is an *item.Error carrying DynamoDB's
// ValidationException message.
package expr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// Input is a request's expressions, each nil when the request did not
// carry it, with its ExpressionAttributeNames and -Values (nil if absent).
type Input struct {
	Condition    *string // ConditionExpression
	Update       *string // UpdateExpression
	Projection   *string // ProjectionExpression
	Filter       *string // FilterExpression
	KeyCondition *string // KeyConditionExpression
	Names        map[string]string
	Values       map[string]item.Value
}

// Compiled holds Input's expressions parsed, with every #name and :value
// substituted; nil where the input had none.
type Compiled struct {
	Condition    *Condition
	Update       *Update
	Projection   *Projection
	Filter       *Condition
	KeyCondition *Condition
}

type compileCtx struct {
	names      map[string]string
	values     map[string]item.Value
	usedNames  map[string]bool
	usedValues map[string]bool
}

func verr(msg string) error { return &item.Error{Message: msg} }

// validKey reports whether k is prefix followed by [0-9a-zA-Z_]+.
func validKey(k string, prefix byte) bool {
	if len(k) < 2 || k[0] != prefix {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isIdentPart(k[i]) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Compile parses every expression of in and checks placeholders the way
// DynamoDB does: undefined names and values, names or values no
// expression uses, empty maps, syntax errors, reserved words used as
// names, functions in the wrong place.
func Compile(in Input) (*Compiled, error) {
	c := &compileCtx{
		names:      in.Names,
		values:     in.Values,
		usedNames:  map[string]bool{},
		usedValues: map[string]bool{},
	}
	if in.Names != nil {
		if len(in.Names) == 0 {
			return nil, verr("ExpressionAttributeNames must not be empty")
		}
		for _, k := range sortedKeys(in.Names) {
			if !validKey(k, '#') {
				return nil, verr(`ExpressionAttributeNames contains invalid key: Syntax error; key: "` + k + `"`)
			}
		}
	}
	if in.Values != nil {
		if len(in.Values) == 0 {
			return nil, verr("ExpressionAttributeValues must not be empty")
		}
		for _, k := range sortedKeys(in.Values) {
			if !validKey(k, ':') {
				return nil, verr(`ExpressionAttributeValues contains invalid key: Syntax error; key: "` + k + `"`)
			}
		}
	}
	out := &Compiled{}
	var err error
	if in.Update != nil {
		if out.Update, err = compileUpdate(*in.Update, c); err != nil {
			return nil, err
		}
	}
	if in.Condition != nil {
		if out.Condition, err = compileCondition("ConditionExpression", *in.Condition, c); err != nil {
			return nil, err
		}
	}
	if in.KeyCondition != nil {
		if out.KeyCondition, err = compileCondition("KeyConditionExpression", *in.KeyCondition, c); err != nil {
			return nil, err
		}
	}
	if in.Filter != nil {
		if out.Filter, err = compileCondition("FilterExpression", *in.Filter, c); err != nil {
			return nil, err
		}
	}
	if in.Projection != nil {
		if out.Projection, err = compileProjection(*in.Projection, c); err != nil {
			return nil, err
		}
	}
	if unused := unusedKeys(in.Names, c.usedNames); unused != "" {
		return nil, verr("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + unused + "}")
	}
	if unused := unusedKeys(in.Values, c.usedValues); unused != "" {
		return nil, verr("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + unused + "}")
	}
	return out, nil
}

func unusedKeys[V any](m map[string]V, used map[string]bool) string {
	var out []string
	for _, k := range sortedKeys(m) {
		if !used[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

// precheck applies the checks made before parsing: empty and too long.
func precheck(what, s string) error {
	if s == "" {
		return verr("Invalid " + what + ": The expression can not be empty;")
	}
	if len(s) > MaxExpressionSize {
		return verr(fmt.Sprintf("Invalid %s: Expression size has exceeded the maximum allowed size; expression size: %d", what, len(s)))
	}
	return nil
}

func checkOps(what string, p *parser) error {
	if p.ops > MaxOperators {
		return verr(fmt.Sprintf("Invalid %s: The expression contains too many operators; operator count: %d", what, p.ops))
	}
	return nil
}

func compileCondition(what, s string, c *compileCtx) (*Condition, error) {
	if err := precheck(what, s); err != nil {
		return nil, err
	}
	p := newParser(s, c, false)
	n, msg := parse(p, p.parseCondition)
	if msg != "" {
		return nil, verr("Invalid " + what + ": " + msg)
	}
	if err := checkOps(what, p); err != nil {
		return nil, err
	}
	if m := p.conditionResult(); m != "" {
		return nil, verr("Invalid " + what + ": " + m)
	}
	return &Condition{root: n}, nil
}

func compileUpdate(s string, c *compileCtx) (*Update, error) {
	const what = "UpdateExpression"
	if err := precheck(what, s); err != nil {
		return nil, err
	}
	p := newParser(s, c, true)
	acts, msg := parse(p, p.parseUpdate)
	if msg != "" {
		return nil, verr("Invalid " + what + ": " + msg)
	}
	if err := checkOps(what, p); err != nil {
		return nil, err
	}
	if m := p.updateResult(); m != "" {
		return nil, verr("Invalid " + what + ": " + m)
	}
	return newUpdate(acts), nil
}

func compileProjection(s string, c *compileCtx) (*Projection, error) {
	const what = "ProjectionExpression"
	if err := precheck(what, s); err != nil {
		return nil, err
	}
	p := newParser(s, c, false)
	paths, msg := parse(p, p.parseProjection)
	if msg != "" {
		return nil, verr("Invalid " + what + ": " + msg)
	}
	if m := p.projectionResult(); m != "" {
		return nil, verr("Invalid " + what + ": " + m)
	}
	return &Projection{paths: paths}, nil
}

// Condition is a parsed condition, filter or key condition.
type Condition struct {
	root *node
	// From KeyConditions: the per-attribute conditions, for Key.
	legacyKey   map[string]*keyCond
	legacyOrder []string
}

// Eval reports whether it holds for it (a nil or empty item means "no
// item": attribute_not_exists holds, comparisons fail).
func (c *Condition) Eval(it item.Item) (bool, error) {
	if c == nil || c.root == nil {
		return true, nil
	}
	return evalCond(c.root, it, 0), nil
}

// Update is a parsed update.
type Update struct {
	acts  []action
	paths []string
}

func newUpdate(acts []action) *Update {
	seen := map[string]bool{}
	var ps []string
	for _, a := range acts {
		if n := a.path[0].name; !seen[n] {
			seen[n] = true
			ps = append(ps, n)
		}
	}
	sort.Strings(ps)
	return &Update{acts: acts, paths: ps}
}

// Paths are the top-level attribute names the update writes or removes,
// sorted: the service refuses updates of key attributes and computes
// UPDATED_OLD and UPDATED_NEW from them.
func (u *Update) Paths() []string {
	if u == nil {
		return nil
	}
	return append([]string(nil), u.paths...)
}

// Updated projects exactly the document paths the update writes or
// removes, which is what DynamoDB returns for UPDATED_OLD and UPDATED_NEW
// ("SET a.b = :v" returns a with only b, not all of a).
func (u *Update) Updated() *Projection {
	p := &Projection{}
	if u == nil {
		return p
	}
	for _, a := range u.acts {
		p.paths = append(p.paths, a.path)
	}
	return p
}

// Projection is a parsed ProjectionExpression or AttributesToGet.
type Projection struct {
	paths []path
}

// FromAttributesToGet converts AttributesToGet.
func FromAttributesToGet(names []string) *Projection {
	p := &Projection{}
	for _, n := range names {
		p.paths = append(p.paths, path{{name: n}})
	}
	return p
}
