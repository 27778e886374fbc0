package expr

import (
	"strings"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// Condition.Key and the legacy parameters.

const invalid = "One or more parameter values were invalid: "

// keyCond is one key attribute's condition in legacy form.
type keyCond struct {
	op   string // EQ LT LE GT GE BETWEEN BEGINS_WITH
	vals []item.Value
}

// Key splits a KeyConditionExpression for a table (or index) whose key is
// hashName and, if not "", rangeName: the hash key's required value, and
// the condition on the range key (nil if none). Errors are DynamoDB's
// ("Query condition missed key schema element: x", ...).
func (c *Condition) Key(hashName, rangeName string) (hash item.Value, rng *Condition, err error) {
	return c.KeyTyped(hashName, "", rangeName, "")
}

// KeyTyped is Key that also checks the condition's values against the key
// attributes' types ("S", "N" or "B"; "" skips the check), at the point
// where DynamoDB does.
func (c *Condition) KeyTyped(hashName, hashType, rangeName, rangeType string) (hash item.Value, rng *Condition, err error) {
	if c == nil || c.root == nil {
		return hash, nil, verr("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	conds := map[string]*keyCond{}
	var order []string
	if c.legacyKey != nil {
		conds, order = c.legacyKey, c.legacyOrder
	} else if msg := checkKeyExpr(c.root, conds, &order, 0); msg != "" {
		return hash, nil, verr(msg)
	}
	for _, name := range order {
		k := conds[name]
		if msg := checkCond(k.op, k.vals); msg != "" {
			return hash, nil, verr(msg)
		}
	}
	if len(conds) != 1 && len(conds) != 2 {
		return hash, nil, verr("Conditions can be of length 1 or 2 only")
	}
	// The key schema, hash key first, each check in DynamoDB's order.
	type keyAttr struct {
		name, typ string
		isHash    bool
	}
	attrs := []keyAttr{{hashName, hashType, true}}
	if rangeName != "" {
		attrs = append(attrs, keyAttr{rangeName, rangeType, false})
	}
	for _, a := range attrs {
		if a.isHash && rangeName == "" && len(conds) > 1 {
			return hash, nil, verr("Query key condition not supported")
		}
		k, ok := conds[a.name]
		if !ok {
			if a.isHash || len(conds) > 1 {
				return hash, nil, verr("Query condition missed key schema element: " + a.name)
			}
			continue
		}
		if !indexable(k.op) {
			return hash, nil, verr("Attempted conditional constraint is not an indexable operation")
		}
		if a.typ != "" {
			for _, v := range k.vals {
				if v.Type.String() != a.typ {
					return hash, nil, verr(invalid + "Condition parameter type does not match schema type")
				}
			}
		}
		if a.isHash && k.op != "EQ" {
			return hash, nil, verr("Query key condition not supported")
		}
	}
	hash = conds[hashName].vals[0]
	if r, ok := conds[rangeName]; ok && rangeName != "" {
		rng = &Condition{root: legacyNode(rangeName, r.op, r.vals)}
	}
	return hash, rng, nil
}

func indexable(op string) bool {
	switch op {
	case "NULL", "NOT_NULL", "NE", "CONTAINS", "NOT_CONTAINS", "IN":
		return false
	}
	return true
}

var flip = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
var legacyToCmp = map[string]string{"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
var cmpToLegacy = map[string]string{"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}

// checkKeyExpr turns a key condition into per-attribute conditions with
// DynamoDB's messages for what a key condition cannot contain.
func checkKeyExpr(n *node, conds map[string]*keyCond, order *[]string, depth int) string {
	if depth > maxEvalDepth {
		return "KeyConditionExpressions cannot contain nested operations"
	}
	switch n.kind {
	case kOr:
		return "Invalid operator used in KeyConditionExpression: OR"
	case kNot:
		return "Invalid operator used in KeyConditionExpression: NOT"
	case kIn:
		return "Invalid operator used in KeyConditionExpression: IN"
	case kCmp:
		if n.op == "<>" {
			return "Invalid operator used in KeyConditionExpression: <>"
		}
	case kFunc:
		switch n.op {
		case "attribute_exists", "attribute_not_exists", "attribute_type", "contains":
			return "Invalid operator used in KeyConditionExpression: " + n.op
		case "size":
			return "KeyConditionExpressions cannot contain nested operations"
		case "begins_with":
			if len(n.args) == 0 || n.args[0].kind != kPath {
				return "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"
			}
		}
	case kBetween:
		if n.args[0].kind != kPath {
			return "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
		}
	}
	var name string
	ix := 0
	var vals []item.Value
	for i, a := range n.args {
		switch a.kind {
		case kPath:
			if name != "" {
				return "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
			}
			if len(a.path) > 1 {
				return "KeyConditionExpressions cannot have conditions on nested attributes"
			}
			name, ix = a.path[0].name, i
		case kValue:
			vals = append(vals, a.val)
		default:
			if msg := checkKeyExpr(a, conds, order, depth+1); msg != "" {
				return msg
			}
		}
	}
	if n.kind == kAnd {
		return ""
	}
	if name == "" {
		return "Invalid condition in KeyConditionExpression: No key attribute specified"
	}
	if conds[name] != nil {
		return "KeyConditionExpressions must only contain one condition per key"
	}
	k := &keyCond{vals: vals}
	switch n.kind {
	case kCmp:
		op := n.op
		if ix != 0 {
			op = flip[op]
		}
		k.op = cmpToLegacy[op]
	case kBetween:
		k.op = "BETWEEN"
	case kFunc:
		k.op = "BEGINS_WITH"
	}
	conds[name] = k
	*order = append(*order, name)
	return ""
}

var argCounts = map[string][2]int{
	"NULL": {0, 0}, "NOT_NULL": {0, 0}, "EQ": {1, 1}, "NE": {1, 1}, "LE": {1, 1}, "LT": {1, 1},
	"GE": {1, 1}, "GT": {1, 1}, "CONTAINS": {1, 1}, "NOT_CONTAINS": {1, 1}, "BEGINS_WITH": {1, 1},
	"IN": {1, 1 << 30}, "BETWEEN": {2, 2},
}

var argTypes = map[string]string{
	"EQ": "S N B SS NS BS", "NE": "S N B SS NS BS", "LE": "S N B", "LT": "S N B", "GE": "S N B",
	"GT": "S N B", "CONTAINS": "S N B", "NOT_CONTAINS": "S N B", "BEGINS_WITH": "S B", "IN": "S N B",
	"BETWEEN": "S N B",
}

const errBetweenRange = "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"

// checkCond validates one legacy condition (ScanFilter, QueryFilter,
// KeyConditions entry) as DynamoDB does.
func checkCond(op string, vals []item.Value) string {
	cnt, ok := argCounts[op]
	if !ok {
		return ""
	}
	if len(vals) < cnt[0] || len(vals) > cnt[1] {
		return invalid + "Invalid number of argument(s) for the " + op + " ComparisonOperator"
	}
	for i := 1; i < len(vals); i++ {
		if vals[i].Type != vals[0].Type {
			return invalid + "AttributeValues inside AttributeValueList must be of same type"
		}
	}
	for _, v := range vals {
		if !typeIn(v.Type, argTypes[op]) {
			return invalid + "ComparisonOperator " + op + " is not valid for " + v.Type.String() + " AttributeValue type"
		}
	}
	if op == "BETWEEN" {
		if c, ok := item.Compare(vals[0], vals[1]); ok && c > 0 {
			return errBetweenRange
		}
	}
	return ""
}

func typeIn(t item.Type, list string) bool {
	for _, f := range strings.Fields(list) {
		if f == t.String() {
			return true
		}
	}
	return false
}

// legacyNode is the expression tree of one legacy condition on attr.
func legacyNode(attr, op string, vals []item.Value) *node {
	p := &node{kind: kPath, path: path{{name: attr}}}
	args := []*node{p}
	for _, v := range vals {
		args = append(args, &node{kind: kValue, val: v})
	}
	// Callers validate the argument count first; this only keeps a
	// mistake from panicking, and fails closed.
	if cnt, ok := argCounts[op]; !ok || len(vals) < cnt[0] {
		return &node{kind: kNot, args: []*node{{kind: kTrue}}}
	}
	switch op {
	case "EQ", "NE", "LE", "LT", "GE", "GT":
		return &node{kind: kCmp, op: legacyToCmp[op], args: args[:2]}
	case "NULL":
		return &node{kind: kFunc, op: "attribute_not_exists", args: args[:1]}
	case "NOT_NULL":
		return &node{kind: kFunc, op: "attribute_exists", args: args[:1]}
	case "CONTAINS":
		return &node{kind: kFunc, op: "contains", args: args[:2]}
	case "NOT_CONTAINS":
		return &node{kind: kNot, args: []*node{{kind: kFunc, op: "contains", args: args[:2]}}}
	case "BEGINS_WITH":
		return &node{kind: kFunc, op: "begins_with", args: args[:2]}
	case "IN":
		return &node{kind: kIn, args: args}
	case "BETWEEN":
		return &node{kind: kBetween, args: args[:3]}
	}
	return &node{kind: kNot, args: []*node{{kind: kTrue}}}
}

func checkConditionalOperator(op string) (kind, error) {
	switch op {
	case "", "AND":
		return kAnd, nil
	case "OR":
		return kOr, nil
	}
	return 0, verr("1 validation error detected: Value '" + op + "' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]")
}

func checkOperatorEnum(op, where string) error {
	if _, ok := argCounts[op]; ok {
		return nil
	}
	return verr("1 validation error detected: Value '" + op + "' at '" + where + "' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]")
}

// Expected is one entry of the legacy Expected parameter.
type Expected struct {
	Value              *item.Value
	Exists             *bool
	ComparisonOperator string
	AttributeValueList []item.Value
}

// FromExpected converts Expected, joined by ConditionalOperator ("AND"
// when ""), with DynamoDB's validation of the legacy form.
func FromExpected(exp map[string]Expected, conditionalOperator string) (*Condition, error) {
	join, err := checkConditionalOperator(conditionalOperator)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(exp)
	for _, k := range keys {
		if op := exp[k].ComparisonOperator; op != "" {
			if err := checkOperatorEnum(op, "expected."+k+".member.comparisonOperator"); err != nil {
				return nil, err
			}
		}
	}
	root := &node{kind: join}
	for _, k := range keys {
		e := exp[k]
		n, msg := expectedNode(k, e)
		if msg != "" {
			return nil, verr(msg)
		}
		root.args = append(root.args, n)
	}
	if len(root.args) == 1 {
		return &Condition{root: root.args[0]}, nil
	}
	if len(root.args) == 0 {
		root = &node{kind: kTrue}
	}
	return &Condition{root: root}, nil
}

func expectedNode(k string, e Expected) (*node, string) {
	if e.AttributeValueList != nil && e.Value != nil {
		return nil, invalid + "Value and AttributeValueList cannot be used together for Attribute: " + k
	}
	if e.ComparisonOperator != "" {
		op := e.ComparisonOperator
		if e.Exists != nil {
			return nil, invalid + "Exists and ComparisonOperator cannot be used together for Attribute: " + k
		}
		if op != "NULL" && op != "NOT_NULL" && e.AttributeValueList == nil && e.Value == nil {
			return nil, invalid + "Value or AttributeValueList must be used with ComparisonOperator: " + op + " for Attribute: " + k
		}
		vals := e.AttributeValueList
		if e.Value != nil {
			vals = []item.Value{*e.Value}
		}
		cnt := argCounts[op]
		if len(vals) < cnt[0] || len(vals) > cnt[1] {
			return nil, invalid + "Invalid number of argument(s) for the " + op + " ComparisonOperator"
		}
		if msg := checkCond(op, vals); msg != "" {
			return nil, msg
		}
		return legacyNode(k, op, vals), ""
	}
	if e.AttributeValueList != nil {
		return nil, invalid + "AttributeValueList can only be used with a ComparisonOperator for Attribute: " + k
	}
	exists := e.Exists == nil || *e.Exists
	if exists && e.Value == nil {
		s := "null"
		if e.Exists != nil {
			s = "true"
		}
		return nil, invalid + "Value must be provided when Exists is " + s + " for Attribute: " + k
	}
	if !exists && e.Value != nil {
		return nil, invalid + "Value cannot be used when Exists is false for Attribute: " + k
	}
	if !exists {
		return legacyNode(k, "NULL", nil), ""
	}
	return legacyNode(k, "EQ", []item.Value{*e.Value}), ""
}

// AttributeUpdate is one entry of the legacy AttributeUpdates parameter.
type AttributeUpdate struct {
	Value  *item.Value
	Action string // PUT (default), DELETE or ADD
}

// FromAttributeUpdates converts AttributeUpdates.
func FromAttributeUpdates(m map[string]AttributeUpdate) (*Update, error) {
	keys := sortedKeys(m)
	for _, k := range keys {
		switch m[k].Action {
		case "", "PUT", "DELETE", "ADD":
		default:
			return nil, verr("1 validation error detected: Value '" + m[k].Action + "' at 'attributeUpdates." + k + ".member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]")
		}
	}
	acts := make([]action, 0, len(keys))
	for _, k := range keys {
		u := m[k]
		if u.Value == nil && u.Action != "DELETE" {
			return nil, verr(invalid + "Only DELETE action is allowed when no attribute value is specified")
		}
		a := action{path: path{{name: k}}, legacy: true, val: &node{kind: kValue}}
		if u.Value != nil {
			a.val.val = *u.Value
		}
		switch u.Action {
		case "", "PUT":
			a.kind = aSet
		case "DELETE":
			a.kind = aDelete
			if u.Value == nil {
				break
			}
			if t := u.Value.Type; t != item.SS && t != item.NS && t != item.BS {
				return nil, verr(invalid + "DELETE action with value is not supported for the type " + t.String())
			}
		case "ADD":
			a.kind = aAdd
			switch u.Value.Type {
			case item.L, item.SS, item.NS, item.BS, item.N:
			default:
				return nil, verr(invalid + "ADD action is not supported for the type " + u.Value.Type.String())
			}
		}
		acts = append(acts, a)
	}
	return newUpdate(acts), nil
}

// Cond is one entry of ScanFilter, QueryFilter or KeyConditions.
type Cond struct {
	ComparisonOperator string
	AttributeValueList []item.Value
}

// FromConditions converts ScanFilter, QueryFilter or KeyConditions,
// joined by ConditionalOperator ("AND" when "").
func FromConditions(m map[string]Cond, conditionalOperator string) (*Condition, error) {
	join, err := checkConditionalOperator(conditionalOperator)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(m)
	for _, k := range keys {
		if err := checkOperatorEnum(m[k].ComparisonOperator, "scanFilter."+k+".member.comparisonOperator"); err != nil {
			return nil, err
		}
	}
	root := &node{kind: join}
	c := &Condition{legacyKey: map[string]*keyCond{}}
	for _, k := range keys {
		e := m[k]
		if msg := checkCond(e.ComparisonOperator, e.AttributeValueList); msg != "" {
			return nil, verr(msg)
		}
		root.args = append(root.args, legacyNode(k, e.ComparisonOperator, e.AttributeValueList))
		c.legacyKey[k] = &keyCond{op: e.ComparisonOperator, vals: e.AttributeValueList}
		c.legacyOrder = append(c.legacyOrder, k)
	}
	switch len(root.args) {
	case 0:
		root = &node{kind: kTrue}
	case 1:
		root = root.args[0]
	}
	c.root = root
	return c, nil
}
