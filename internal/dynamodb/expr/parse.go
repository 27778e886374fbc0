package expr

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

type pathElem struct {
	name    string
	index   int
	isIndex bool
}

type path []pathElem

// String is DynamoDB's rendering in messages: [a, b, [1]].
func (p path) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		if e.isIndex {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		} else {
			b.WriteString(e.name)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func (p path) equal(q path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

type kind uint8

const (
	kPath    kind = iota + 1
	kValue        // literal (from :placeholder or legacy value)
	kFunc         // function call, name in op
	kCmp          // comparator in op
	kBetween      // args: x, lo, hi
	kIn           // args: x, candidates...
	kAnd          // args: conditions
	kOr
	kNot
	kTrue  // no condition at all
	kArith // + or - in op (update SET)
)

type node struct {
	kind   kind
	op     string
	path   path
	val    item.Value
	args   []*node
	parens int // parentheses directly around this node
	end    int // index of the token after the node
}

// isCond reports whether n is a condition syntactically (functions are
// both; their misuse is a semantic error).
func (n *node) isCond() bool {
	switch n.kind {
	case kCmp, kBetween, kIn, kAnd, kOr, kNot, kFunc, kTrue:
		return true
	}
	return false
}

func (n *node) isOperand() bool {
	switch n.kind {
	case kPath, kValue, kFunc, kArith:
		return true
	}
	return false
}

// syntaxError aborts parsing (via panic, recovered in parse).
type syntaxError struct{ msg string }

// errSlots records the first error of each kind; which kind wins is
// decided at the end, in DynamoDB's order for the expression type.
type errSlots map[string]string

func (e errSlots) set(slot, msg string) {
	if _, ok := e[slot]; !ok {
		e[slot] = msg
	}
}

func (e errSlots) first(order ...string) string {
	for _, s := range order {
		if m, ok := e[s]; ok {
			return m
		}
	}
	return ""
}

// DynamoDB's expression limits.
const (
	MaxExpressionSize = 4096 // bytes of one expression
	MaxOperators      = 300  // operators and functions in one expression
	MaxInOperands     = 100  // candidates of one IN
)

type parser struct {
	src        string
	toks       []token
	i          int
	names      map[string]string
	values     map[string]item.Value
	usedNames  map[string]bool
	usedValues map[string]bool
	errs       errSlots
	ops        int
	update     bool // update grammar: separate name/value slots
	sections   map[string]bool
	paths      []path
}

func newParser(src string, c *compileCtx, update bool) *parser {
	return &parser{
		src:        src,
		toks:       lex(src),
		names:      c.names,
		values:     c.values,
		usedNames:  c.usedNames,
		usedValues: c.usedValues,
		errs:       errSlots{},
		update:     update,
	}
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// fail reports a syntax error at token index i in DynamoDB's format.
func (p *parser) fail(i int) {
	if i >= len(p.toks) {
		i = len(p.toks) - 1
	}
	t := p.toks[i]
	text := t.text
	if t.kind == tEOF {
		text = "<EOF>"
	}
	lo := i - 1
	if lo < 0 {
		lo = 0
	}
	hi := i + 1
	if hi > len(p.toks)-1 {
		hi = len(p.toks) - 1
	}
	if p.toks[hi].kind == tEOF && hi > 0 {
		hi--
	}
	near := ""
	if hi >= lo && len(p.toks) > 1 {
		near = p.src[p.toks[lo].pos:p.toks[hi].end]
	}
	// Quoted raw, as DynamoDB does: no escaping inside the quotes.
	panic(&syntaxError{`Syntax error; token: "` + text + `", near: "` + near + `"`})
}

func (p *parser) expectPunct(s string) {
	t := p.peek()
	if t.kind != tPunct || t.text != s {
		p.fail(p.i)
	}
	p.next()
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func isKeyword(t token, kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) countOp() {
	p.ops++
}

// parse runs f, turning a syntax error panic into its message.
func parse[T any](p *parser, f func() T) (res T, msg string) {
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*syntaxError)
			if !ok {
				panic(r)
			}
			msg = se.msg
		}
	}()
	return f(), ""
}

func (p *parser) resolveName(t token) string {
	n, ok := p.names[t.text]
	if !ok {
		slot := "attrNameVal"
		if p.update {
			slot = "attrName"
		}
		p.errs.set(slot, "An expression attribute name used in the document path is not defined; attribute name: "+t.text)
		return t.text
	}
	p.usedNames[t.text] = true
	return n
}

func (p *parser) resolveValue(t token) item.Value {
	v, ok := p.values[t.text]
	if !ok {
		slot := "attrNameVal"
		if p.update {
			slot = "attrVal"
		}
		p.errs.set(slot, "An expression attribute value used in expression is not defined; attribute value: "+t.text)
		return item.Value{}
	}
	p.usedValues[t.text] = true
	return v
}

var (
	updateKeywords    = [...]string{"SET", "REMOVE", "ADD", "DELETE"}
	conditionKeywords = [...]string{"BETWEEN", "IN", "AND", "OR", "NOT"}
)

// isGrammarKeyword reports whether t is a keyword of the current grammar,
// which can never be a bare attribute name there.
func (p *parser) isGrammarKeyword(t token) bool {
	if t.kind != tIdent || len(t.text) > 7 {
		return false
	}
	kws := conditionKeywords[:]
	if p.update {
		kws = updateKeywords[:]
	}
	for _, k := range kws {
		if strings.EqualFold(t.text, k) {
			return true
		}
	}
	return false
}

func (p *parser) parsePathElem() pathElem {
	t := p.peek()
	switch {
	case t.kind == tName:
		p.next()
		return pathElem{name: p.resolveName(t)}
	case t.kind == tIdent && !p.isGrammarKeyword(t):
		p.next()
		if isReserved(t.text) {
			p.errs.set("reserved", "Attribute name is a reserved keyword; reserved keyword: "+t.text)
		}
		return pathElem{name: t.text}
	}
	p.fail(p.i)
	return pathElem{}
}

func (p *parser) parsePath() path {
	pa := path{p.parsePathElem()}
	for {
		switch {
		case p.isPunct("."):
			p.next()
			pa = append(pa, p.parsePathElem())
		case p.isPunct("["):
			p.next()
			t := p.peek()
			if t.kind != tNum {
				p.fail(p.i)
			}
			p.next()
			idx, err := strconv.Atoi(t.text)
			if err != nil || idx > 1<<30 {
				idx = 1 << 30 // beyond any list; behaves as out of range
			}
			p.expectPunct("]")
			pa = append(pa, pathElem{index: idx, isIndex: true})
		default:
			return pa
		}
	}
}

// ---- conditions ----

func (p *parser) parseCondition() *node {
	n := p.parseOr()
	if p.peek().kind != tEOF {
		p.fail(p.i)
	}
	p.asCondition(n)
	p.checkMisusedSize(n)
	return n
}

// asCondition checks that n stands where a condition is expected.
func (p *parser) asCondition(n *node) {
	if !n.isCond() {
		p.fail(n.end)
	}
}

// checkMisusedSize reports size() standing as a condition. DynamoDB runs
// this check when it builds an AND, OR or NOT node, after parsing all of
// the node's operands, so a misused function inside them wins.
func (p *parser) checkMisusedSize(n *node) {
	if n.kind == kFunc && n.op == "size" {
		p.errs.set("misusedFunction", "The function is not allowed to be used this way in an expression; function: size")
	}
}

// asOperand checks that n stands where an operand is expected.
func (p *parser) asOperand(n *node) {
	if !n.isOperand() {
		p.fail(n.end)
	}
}

// parseOr and parseAnd read a whole chain before checking its members,
// as DynamoDB's right-recursive grammar does.
func (p *parser) parseOr() *node { return p.parseChain("OR", kOr, p.parseAnd) }

func (p *parser) parseAnd() *node { return p.parseChain("AND", kAnd, p.parseNot) }

func (p *parser) parseChain(keyword string, k kind, operand func() *node) *node {
	l := operand()
	if !isKeyword(p.peek(), keyword) {
		return l
	}
	args := []*node{l}
	for isKeyword(p.peek(), keyword) {
		p.asCondition(args[len(args)-1])
		p.next()
		p.countOp()
		args = append(args, operand())
	}
	p.asCondition(args[len(args)-1])
	for _, a := range args {
		p.checkMisusedSize(a)
	}
	return &node{kind: k, args: args, end: p.i}
}

func (p *parser) parseNot() *node {
	if isKeyword(p.peek(), "NOT") {
		p.next()
		p.countOp()
		x := p.parseNot()
		p.asCondition(x)
		p.checkMisusedSize(x)
		return &node{kind: kNot, args: []*node{x}, end: p.i}
	}
	return p.parseComparison()
}

var comparators = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *parser) parseComparison() *node {
	l := p.parseAtom()
	t := p.peek()
	switch {
	case t.kind == tPunct && comparators[t.text]:
		p.asOperand(l)
		p.next()
		p.countOp()
		r := p.parseAtom()
		p.asOperand(r)
		n := &node{kind: kCmp, op: t.text, args: []*node{l, r}, end: p.i}
		p.checkMisusedFunction(n.args)
		p.checkDistinct(t.text, n.args)
		p.leafDone()
		return n
	case isKeyword(t, "BETWEEN"):
		p.asOperand(l)
		p.next()
		p.countOp()
		lo := p.parseAtom()
		p.asOperand(lo)
		if !isKeyword(p.peek(), "AND") {
			p.fail(p.i)
		}
		p.next()
		hi := p.parseAtom()
		p.asOperand(hi)
		n := &node{kind: kBetween, args: []*node{l, lo, hi}, end: p.i}
		p.checkMisusedFunction(n.args)
		p.checkBetween(lo, hi)
		p.leafDone()
		return n
	case isKeyword(t, "IN"):
		p.asOperand(l)
		p.next()
		p.countOp()
		p.expectPunct("(")
		args := []*node{l}
		for {
			a := p.parseAtom()
			p.asOperand(a)
			args = append(args, a)
			if p.isPunct(",") {
				p.next()
				continue
			}
			break
		}
		p.expectPunct(")")
		n := &node{kind: kIn, args: args, end: p.i}
		p.checkMisusedFunction(args)
		if len(args)-1 > MaxInOperands {
			p.errs.set("function", fmt.Sprintf("The IN operator is provided with too many operands; number of operands: %d", len(args)-1))
		}
		p.leafDone()
		return n
	}
	if l.kind == kFunc && l.parens == 0 {
		p.leafDone()
	}
	return l
}

// leafDone fixes the "condition" error from the first finished leaf, as
// DynamoDB reports the first condition's problem in this order.
func (p *parser) leafDone() {
	if _, ok := p.errs["condition"]; ok {
		return
	}
	if m := p.errs.first("attrNameVal", "operand", "distinct", "function"); m != "" {
		p.errs["condition"] = m
	}
}

func (p *parser) parseAtom() *node {
	t := p.peek()
	switch {
	case t.kind == tPunct && t.text == "(":
		p.next()
		var inner *node
		if p.update {
			inner = p.parseSetValue()
		} else {
			inner = p.parseOr()
		}
		p.expectPunct(")")
		inner.parens++
		if inner.parens >= 2 {
			p.errs.set("parens", "The expression has redundant parentheses;")
		}
		inner.end = p.i
		return inner
	case t.kind == tValue:
		p.next()
		return &node{kind: kValue, val: p.resolveValue(t), end: p.i}
	case t.kind == tIdent && !p.isGrammarKeyword(t) && p.toks[p.i+1].kind == tPunct && p.toks[p.i+1].text == "(":
		return p.parseFunction()
	case t.kind == tName || t.kind == tIdent && !p.isGrammarKeyword(t):
		pa := p.parsePath()
		return &node{kind: kPath, path: pa, end: p.i}
	}
	p.fail(p.i)
	return nil
}

func (p *parser) parseFunction() *node {
	name := p.next().text
	p.expectPunct("(")
	p.countOp()
	var args []*node
	if !p.isPunct(")") {
		for {
			a := p.parseAtom()
			p.asOperand(a)
			args = append(args, a)
			if p.isPunct(",") {
				p.next()
				continue
			}
			break
		}
	}
	p.expectPunct(")")
	n := &node{kind: kFunc, op: name, args: args, end: p.i}
	if p.update {
		p.checkUpdateFunction(n)
	} else {
		p.checkMisusedFunction(args)
		p.checkFunction(n)
	}
	return n
}

func (p *parser) checkMisusedFunction(args []*node) {
	for _, a := range args {
		if a.kind == kFunc && a.op != "size" {
			p.errs.set("misusedFunction", "The function is not allowed to be used this way in an expression; function: "+a.op)
			return
		}
	}
}

func (p *parser) checkDistinct(op string, args []*node) {
	if len(args) != 2 || args[0].kind != kPath || args[1].kind != kPath || !args[0].path.equal(args[1].path) {
		return
	}
	p.errs.set("distinct", "The first operand must be distinct from the remaining operands for this operator or function; operator: "+
		op+", first operand: "+args[0].path.String())
}

// staticType is an operand's type when known from the request alone.
func staticType(n *node) string {
	switch n.kind {
	case kValue:
		if n.val.Type == 0 {
			return ""
		}
		return n.val.Type.String()
	case kFunc:
		switch n.op {
		case "size":
			return "N"
		case "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains":
			return "BOOL"
		}
	}
	return ""
}

func immediateType(n *node) string {
	if n.kind == kValue && n.val.Type != 0 {
		return n.val.Type.String()
	}
	return ""
}

var condFuncs = map[string]int{
	"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
	"begins_with": 2, "contains": 2, "size": 1,
}

func (p *parser) checkFunction(n *node) {
	if _, ok := p.errs["unknownFunction"]; ok {
		return
	}
	want, ok := condFuncs[n.op]
	if !ok {
		p.errs.set("unknownFunction", "Invalid function name; function: "+n.op)
		return
	}
	if _, ok := p.errs["operand"]; ok {
		return
	}
	if want != len(n.args) {
		p.errs.set("operand", fmt.Sprintf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", n.op, len(n.args)))
		return
	}
	p.checkDistinct(n.op, n.args)
	if _, ok := p.errs["function"]; ok {
		return
	}
	bad := func(typ string) {
		p.errs.set("function", "Incorrect operand type for operator or function; operator or function: "+n.op+", operand type: "+typ)
	}
	switch n.op {
	case "attribute_exists", "attribute_not_exists":
		if n.args[0].kind != kPath {
			p.errs.set("function", "Operator or function requires a document path; operator or function: "+n.op)
		}
	case "begins_with":
		for _, a := range n.args {
			if t := staticType(a); t != "" && t != "S" && t != "B" {
				bad(t)
				return
			}
		}
	case "attribute_type":
		t := staticType(n.args[1])
		if t != "S" {
			if t == "" {
				t = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
			}
			bad(t)
			return
		}
		if n.args[1].kind != kValue {
			return
		}
		if _, ok := item.ParseType(n.args[1].val.Str); !ok {
			p.errs.set("function", "Invalid attribute type name found; type: "+n.args[1].val.Str+", valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
		}
	case "size":
		switch t := staticType(n.args[0]); t {
		case "N", "BOOL", "NULL":
			bad(t)
		}
	}
}

// avString renders a BETWEEN bound's value in messages: scalars as their
// text, sets as their elements joined by commas (as dynalite does).
func avString(v item.Value) string {
	switch v.Type {
	case item.S, item.N:
		return v.Str
	case item.B:
		return base64.StdEncoding.EncodeToString(v.Bytes)
	case item.SS, item.NS:
		return strings.Join(v.Strs, ",")
	case item.BS:
		parts := make([]string, len(v.Blobs))
		for i, b := range v.Blobs {
			parts[i] = base64.StdEncoding.EncodeToString(b)
		}
		return strings.Join(parts, ",")
	case item.BOOL:
		return strconv.FormatBool(v.Bool)
	case item.NULL:
		return "true"
	case item.L:
		return strings.TrimSuffix(strings.Repeat("[object Object],", len(v.List)), ",")
	}
	return "[object Object]"
}

func (p *parser) checkBetween(lo, hi *node) {
	if _, ok := p.errs["function"]; ok {
		return
	}
	t1, t2 := immediateType(lo), immediateType(hi)
	if t1 == "" || t2 == "" {
		return
	}
	desc := "lower bound operand: AttributeValue: {" + t1 + ":" + avString(lo.val) + "}, upper bound operand: AttributeValue: {" + t2 + ":" + avString(hi.val) + "}"
	if t1 != t2 {
		p.errs.set("function", "The BETWEEN operator requires same data type for lower and upper bounds; "+desc)
	} else if c, ok := item.Compare(lo.val, hi.val); ok && c > 0 {
		p.errs.set("function", "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "+desc)
	}
}

func (p *parser) conditionResult() string {
	return p.errs.first("parens", "unknownFunction", "misusedFunction", "reserved", "condition")
}

// ---- updates ----

type actionKind uint8

const (
	aSet actionKind = iota + 1
	aRemove
	aAdd
	aDelete
)

type action struct {
	kind   actionKind
	path   path
	val    *node
	legacy bool // AttributeUpdates semantics and messages
}

var sectionNames = map[string]actionKind{"SET": aSet, "REMOVE": aRemove, "ADD": aAdd, "DELETE": aDelete}

func (p *parser) sectionKeyword(t token) (actionKind, bool) {
	if t.kind != tIdent {
		return 0, false
	}
	k, ok := sectionNames[strings.ToUpper(t.text)]
	return k, ok
}

func (p *parser) parseUpdate() []action {
	var acts []action
	p.sections = map[string]bool{}
	for {
		t := p.peek()
		k, ok := p.sectionKeyword(t)
		if !ok {
			p.fail(p.i)
		}
		p.next()
		for {
			acts = append(acts, p.parseAction(k))
			if p.isPunct(",") {
				p.next()
				continue
			}
			break
		}
		upper := strings.ToUpper(t.text)
		if p.sections[upper] {
			p.errs.set("section", `The "`+upper+`" section can only be used once in an update expression;`)
		}
		p.sections[upper] = true
		if p.peek().kind == tEOF {
			return acts
		}
	}
}

func (p *parser) parseAction(k actionKind) action {
	pa := p.parsePath()
	a := action{kind: k, path: pa}
	switch k {
	case aSet:
		p.expectPunct("=")
		a.val = p.parseSetValue()
		p.asOperand(a.val)
	case aAdd, aDelete:
		t := p.peek()
		if t.kind != tValue {
			p.fail(p.i)
		}
		p.next()
		a.val = &node{kind: kValue, val: p.resolveValue(t), end: p.i}
	}
	p.checkPath(pa)
	if k == aAdd || k == aDelete {
		p.checkOperator(k, a.val)
	}
	return a
}

func (p *parser) checkPath(pa path) {
	if _, ok := p.errs["pathOverlap"]; ok {
		return
	}
	for _, q := range p.paths {
		if p.checkPaths(q, pa) {
			return
		}
	}
	p.paths = append(p.paths, pa)
}

// checkPaths records an overlap or conflict between a and b; true when
// an overlap was recorded.
func (p *parser) checkPaths(a, b path) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].isIndex != b[i].isIndex {
			p.errs.set("pathConflict", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: "+a.String()+", path two: "+b.String())
			return false
		}
		if a[i] != b[i] {
			return false
		}
	}
	p.errs.set("pathOverlap", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: "+a.String()+", path two: "+b.String())
	return true
}

var typeWords = map[string]string{"S": "STRING", "N": "NUMBER", "B": "BINARY", "NULL": "NULL", "BOOL": "BOOLEAN", "L": "LIST", "M": "MAP"}

func (p *parser) checkOperator(k actionKind, v *node) {
	if _, ok := p.errs["operand"]; ok {
		return
	}
	t := immediateType(v)
	op := "ADD"
	if k == aDelete {
		op = "DELETE"
	}
	if w, ok := typeWords[t]; ok && !(k == aAdd && t == "N") {
		p.errs.set("operand", "Incorrect operand type for operator or function; operator: "+op+", operand type: "+w)
	}
}

func (p *parser) parseSetValue() *node {
	l := p.parseAtom()
	t := p.peek()
	if t.kind == tPunct && (t.text == "+" || t.text == "-") {
		p.asOperand(l)
		p.next()
		p.countOp()
		r := p.parseAtom()
		p.asOperand(r)
		n := &node{kind: kArith, op: t.text, args: []*node{l, r}, end: p.i}
		p.checkUpdateFunction(n)
		return n
	}
	return l
}

var updateFuncs = map[string]int{"if_not_exists": 2, "list_append": 2, "+": 2, "-": 2}

func (p *parser) checkUpdateFunction(n *node) {
	if _, ok := p.errs["unknownFunction"]; ok {
		return
	}
	want, ok := updateFuncs[n.op]
	if !ok {
		p.errs.set("unknownFunction", "Invalid function name; function: "+n.op)
		return
	}
	if _, ok := p.errs["function"]; ok {
		return
	}
	if want != len(n.args) {
		p.errs.set("function", fmt.Sprintf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", n.op, len(n.args)))
		return
	}
	need := "N"
	switch n.op {
	case "if_not_exists":
		if n.args[0].kind != kPath {
			p.errs.set("function", "Operator or function requires a document path; operator or function: if_not_exists")
		}
		return
	case "list_append":
		need = "L"
	}
	for _, a := range n.args {
		if t := immediateType(a); t != "" && t != need {
			p.errs.set("function", "Incorrect operand type for operator or function; operator or function: "+n.op+", operand type: "+t)
			return
		}
	}
}

func (p *parser) updateResult() string {
	return p.errs.first("reserved", "unknownFunction", "section", "attrName", "attrVal", "pathOverlap", "pathConflict", "operand", "function")
}

// ---- projections ----

func (p *parser) parseProjection() []path {
	var out []path
	for {
		pa := p.parsePath()
		p.checkPath(pa)
		out = append(out, pa)
		if p.isPunct(",") {
			p.next()
			continue
		}
		break
	}
	if p.peek().kind != tEOF {
		p.fail(p.i)
	}
	return out
}

func (p *parser) projectionResult() string {
	return p.errs.first("reserved", "attrNameVal", "pathOverlap", "pathConflict")
}
