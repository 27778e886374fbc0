package expr

import (
	"bytes"
	"sort"
	"strings"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// maxEvalDepth bounds recursion on trees built by the legacy converters
// or nested parentheses; parsed trees are already bounded by the 4 KB limit.
const maxEvalDepth = 10000

// lookup resolves a document path in it.
func lookup(it item.Item, p path) (item.Value, bool) {
	if len(p) == 0 || p[0].isIndex || it == nil {
		return item.Value{}, false
	}
	v, ok := it[p[0].name]
	if !ok {
		return item.Value{}, false
	}
	for _, e := range p[1:] {
		if e.isIndex {
			if v.Type != item.L || e.index >= len(v.List) {
				return item.Value{}, false
			}
			v = v.List[e.index]
		} else {
			if v.Type != item.M {
				return item.Value{}, false
			}
			if v, ok = v.Map[e.name]; !ok {
				return item.Value{}, false
			}
		}
	}
	return v, true
}

// operand resolves a condition operand: path, value or size().
func operand(n *node, it item.Item) (item.Value, bool) {
	switch n.kind {
	case kPath:
		return lookup(it, n.path)
	case kValue:
		return n.val, n.val.Type != 0
	case kFunc:
		if n.op == "size" && len(n.args) == 1 {
			v, ok := operand(n.args[0], it)
			if !ok {
				return item.Value{}, false
			}
			var sz int
			switch v.Type {
			case item.S:
				sz = utf16Len(v.Str)
			case item.B:
				sz = len(v.Bytes)
			case item.SS, item.NS:
				sz = len(v.Strs)
			case item.BS:
				sz = len(v.Blobs)
			case item.L:
				sz = len(v.List)
			case item.M:
				sz = len(v.Map)
			default:
				return item.Value{}, false
			}
			nv, _ := item.Num(itoa(sz))
			return nv, true
		}
	}
	return item.Value{}, false
}

// utf16Len is a string's length in UTF-16 code units, which is what
// DynamoDB's size() reports for strings.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	if i == 0 {
		return "0"
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

func evalCond(n *node, it item.Item, depth int) bool {
	if depth > maxEvalDepth {
		return false
	}
	switch n.kind {
	case kTrue:
		return true
	case kAnd:
		for _, a := range n.args {
			if !evalCond(a, it, depth+1) {
				return false
			}
		}
		return true
	case kOr:
		for _, a := range n.args {
			if evalCond(a, it, depth+1) {
				return true
			}
		}
		return false
	case kNot:
		return !evalCond(n.args[0], it, depth+1)
	case kCmp:
		l, lok := operand(n.args[0], it)
		r, rok := operand(n.args[1], it)
		if n.op == "<>" {
			if !lok && !rok {
				return false
			}
			return !(lok && rok && item.Equal(l, r))
		}
		if !lok || !rok {
			return false
		}
		if n.op == "=" {
			return item.Equal(l, r)
		}
		c, ok := item.Compare(l, r)
		if !ok {
			return false
		}
		switch n.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		}
	case kBetween:
		x, ok1 := operand(n.args[0], it)
		lo, ok2 := operand(n.args[1], it)
		hi, ok3 := operand(n.args[2], it)
		if !ok1 || !ok2 || !ok3 {
			return false
		}
		c1, ok1 := item.Compare(x, lo)
		c2, ok2 := item.Compare(x, hi)
		return ok1 && ok2 && c1 >= 0 && c2 <= 0
	case kIn:
		x, ok := operand(n.args[0], it)
		if !ok {
			return false
		}
		for _, a := range n.args[1:] {
			if v, ok := operand(a, it); ok && item.Equal(x, v) {
				return true
			}
		}
		return false
	case kFunc:
		return evalFunc(n, it)
	}
	return false
}

func evalFunc(n *node, it item.Item) bool {
	switch n.op {
	case "attribute_exists", "attribute_not_exists":
		if len(n.args) != 1 || n.args[0].kind != kPath {
			return false
		}
		_, ok := lookup(it, n.args[0].path)
		return ok == (n.op == "attribute_exists")
	}
	if len(n.args) != 2 {
		return false
	}
	a, ok1 := operand(n.args[0], it)
	b, ok2 := operand(n.args[1], it)
	if !ok1 || !ok2 {
		return false
	}
	switch n.op {
	case "attribute_type":
		return b.Type == item.S && a.Type.String() == b.Str
	case "begins_with":
		switch {
		case a.Type == item.S && b.Type == item.S:
			return strings.HasPrefix(a.Str, b.Str)
		case a.Type == item.B && b.Type == item.B:
			return bytes.HasPrefix(a.Bytes, b.Bytes)
		}
	case "contains":
		return contains(a, b)
	}
	return false
}

func contains(a, b item.Value) bool {
	switch a.Type {
	case item.S:
		return b.Type == item.S && strings.Contains(a.Str, b.Str)
	case item.B:
		return b.Type == item.B && bytes.Contains(a.Bytes, b.Bytes)
	case item.SS:
		if b.Type != item.S {
			return false
		}
		for _, s := range a.Strs {
			if s == b.Str {
				return true
			}
		}
	case item.NS:
		if b.Type != item.N {
			return false
		}
		for _, s := range a.Strs {
			if item.Equal(item.Value{Type: item.N, Str: s}, b) {
				return true
			}
		}
	case item.BS:
		if b.Type != item.B {
			return false
		}
		for _, x := range a.Blobs {
			if bytes.Equal(x, b.Bytes) {
				return true
			}
		}
	case item.L:
		for _, x := range a.List {
			if item.Equal(x, b) {
				return true
			}
		}
	}
	return false
}

// ---- updates ----

const (
	errNoAttr       = "The provided expression refers to an attribute that does not exist in the item"
	errOperandType  = "An operand in the update expression has an incorrect data type"
	errInvalidPath  = "The document path provided in the update expression is invalid for update"
	errLegacyTypeMM = "Type mismatch for attribute to update"
)

// setValue computes a SET right-hand side against the original item.
func setValue(n *node, it item.Item) (item.Value, error) {
	switch n.kind {
	case kPath:
		v, ok := lookup(it, n.path)
		if !ok {
			return item.Value{}, verr(errNoAttr)
		}
		return v, nil
	case kValue:
		return n.val, nil
	case kArith:
		a, err := setValue(n.args[0], it)
		if err != nil {
			return a, err
		}
		if a.Type != item.N {
			return a, verr(errOperandType)
		}
		b, err := setValue(n.args[1], it)
		if err != nil {
			return b, err
		}
		if b.Type != item.N {
			return b, verr(errOperandType)
		}
		return item.AddNum(a.Str, b.Str, n.op == "-")
	case kFunc:
		switch n.op {
		case "if_not_exists":
			if v, ok := lookup(it, n.args[0].path); ok {
				return v, nil
			}
			return setValue(n.args[1], it)
		case "list_append":
			a, err := setValue(n.args[0], it)
			if err != nil {
				return a, err
			}
			if a.Type != item.L {
				return a, verr(errOperandType)
			}
			b, err := setValue(n.args[1], it)
			if err != nil {
				return b, err
			}
			if b.Type != item.L {
				return b, verr(errOperandType)
			}
			l := make([]item.Value, 0, len(a.List)+len(b.List))
			l = append(append(l, a.List...), b.List...)
			return item.Value{Type: item.L, List: l}, nil
		}
	}
	return item.Value{}, verr(errOperandType)
}

// edit is what modify does at a path's last element.
type edit func(old item.Value, exists bool) (nv item.Value, keep bool, err error)

// modify applies e at path p below parent, a map or list value.
func modify(parent *item.Value, p path, e edit) error {
	el := p[0]
	if len(p) == 1 {
		switch {
		case el.isIndex && parent.Type == item.L:
			exists := el.index < len(parent.List)
			var old item.Value
			if exists {
				old = parent.List[el.index]
			}
			nv, keep, err := e(old, exists)
			if err != nil {
				return err
			}
			switch {
			case keep && exists:
				parent.List[el.index] = nv
			case keep:
				parent.List = append(parent.List, nv)
			case exists:
				parent.List = append(parent.List[:el.index:el.index], parent.List[el.index+1:]...)
			}
			return nil
		case !el.isIndex && parent.Type == item.M:
			old, exists := parent.Map[el.name]
			nv, keep, err := e(old, exists)
			if err != nil {
				return err
			}
			if keep {
				parent.Map[el.name] = nv
			} else {
				delete(parent.Map, el.name)
			}
			return nil
		}
		return verr(errInvalidPath)
	}
	switch {
	case el.isIndex && parent.Type == item.L && el.index < len(parent.List):
		return modify(&parent.List[el.index], p[1:], e)
	case !el.isIndex && parent.Type == item.M:
		child, ok := parent.Map[el.name]
		if !ok {
			return verr(errInvalidPath)
		}
		if err := modify(&child, p[1:], e); err != nil {
			return err
		}
		parent.Map[el.name] = child
		return nil
	}
	return verr(errInvalidPath)
}

func comparePaths(a, b path) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.isIndex && y.isIndex:
			if x.index != y.index {
				if x.index < y.index {
					return -1
				}
				return 1
			}
		case x.isIndex != y.isIndex:
			if x.isIndex {
				return -1
			}
			return 1
		default:
			if c := strings.Compare(x.name, y.name); c != 0 {
				return c
			}
		}
	}
	return len(a) - len(b)
}

// Apply returns a copy of it with the update applied (it may be nil: an
// upsert), or DynamoDB's error for an impossible update (a missing
// list_append operand, ADD on a string, a path into a missing map, ...).
func (u *Update) Apply(it item.Item) (item.Item, error) {
	// SET values see the item as it was before the update.
	vals := make([]item.Value, len(u.acts))
	for i, a := range u.acts {
		if a.kind == aSet && !a.legacy {
			v, err := setValue(a.val, it)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
	}
	out := it.Clone()
	if out == nil {
		out = item.Item{}
	}
	root := item.Value{Type: item.M, Map: out}
	// List element removals use the original indexes: run them last,
	// highest path first.
	var removes []path
	for i, a := range u.acts {
		var e edit
		switch a.kind {
		case aSet:
			v := vals[i]
			if a.legacy {
				v = a.val.val
			}
			// A copy: the result must share nothing with the input or the request.
			v = v.Clone()
			e = func(item.Value, bool) (item.Value, bool, error) { return v, true, nil }
		case aRemove:
			if !a.legacy && a.path[len(a.path)-1].isIndex {
				// Check the path now, so errors come in order; remove later.
				keep := func(old item.Value, exists bool) (item.Value, bool, error) { return old, exists, nil }
				if err := modify(&root, a.path, keep); err != nil {
					return nil, err
				}
				removes = append(removes, a.path)
				continue
			}
			e = func(item.Value, bool) (item.Value, bool, error) { return item.Value{}, false, nil }
		case aAdd:
			e = addEdit(a)
		case aDelete:
			e = deleteEdit(a)
		}
		if err := modify(&root, a.path, e); err != nil {
			return nil, err
		}
	}
	sort.Slice(removes, func(i, j int) bool { return comparePaths(removes[i], removes[j]) > 0 })
	for _, p := range removes {
		if err := modify(&root, p, func(item.Value, bool) (item.Value, bool, error) { return item.Value{}, false, nil }); err != nil {
			return nil, err
		}
	}
	// Values set into nested paths can nest deeper than DynamoDB allows.
	for _, name := range u.paths {
		if v, ok := out[name]; ok && tooDeep(v, 0) {
			return nil, verr(item.ErrDepth)
		}
	}
	return out, nil
}

// tooDeep applies item.MaxDepth; depth is 0 for an attribute's value.
func tooDeep(v item.Value, depth int) bool {
	if depth >= item.MaxDepth {
		return true
	}
	switch v.Type {
	case item.L:
		for _, x := range v.List {
			if tooDeep(x, depth+1) {
				return true
			}
		}
	case item.M:
		for _, x := range v.Map {
			if tooDeep(x, depth+1) {
				return true
			}
		}
	}
	return false
}

func addEdit(a action) edit {
	v := a.val.val
	mismatch := errOperandType
	if a.legacy {
		mismatch = errLegacyTypeMM
	}
	return func(old item.Value, exists bool) (item.Value, bool, error) {
		if !exists {
			if v.Type == item.N {
				n, err := item.AddNum("0", v.Str, false)
				return n, err == nil, err
			}
			return v.Clone(), true, nil
		}
		if old.Type != v.Type {
			return old, true, verr(mismatch)
		}
		switch v.Type {
		case item.N:
			n, err := item.AddNum(old.Str, v.Str, false)
			return n, err == nil, err
		case item.SS, item.NS:
			out := old.Clone()
			for _, s := range v.Strs {
				if !hasStr(out, s) {
					out.Strs = append(out.Strs, s)
				}
			}
			return out, true, nil
		case item.BS:
			out := old.Clone()
			for _, b := range v.Blobs {
				if !hasBlob(out.Blobs, b) {
					out.Blobs = append(out.Blobs, append([]byte(nil), b...))
				}
			}
			return out, true, nil
		case item.L:
			out := old.Clone()
			for _, x := range v.List {
				out.List = append(out.List, x.Clone())
			}
			return out, true, nil
		}
		return old, true, verr(mismatch)
	}
}

func hasStr(set item.Value, s string) bool {
	for _, x := range set.Strs {
		if x == s || set.Type == item.NS && item.Equal(item.Value{Type: item.N, Str: x}, item.Value{Type: item.N, Str: s}) {
			return true
		}
	}
	return false
}

func hasBlob(set [][]byte, b []byte) bool {
	for _, x := range set {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

func deleteEdit(a action) edit {
	v := a.val.val
	mismatch := errOperandType
	if a.legacy {
		mismatch = errLegacyTypeMM
	}
	return func(old item.Value, exists bool) (item.Value, bool, error) {
		if !exists {
			return old, false, nil
		}
		if a.legacy && v.Type == 0 {
			return old, false, nil // DELETE without a value drops the attribute
		}
		if old.Type != v.Type {
			return old, true, verr(mismatch)
		}
		out := item.Value{Type: old.Type}
		switch old.Type {
		case item.SS, item.NS:
			for _, s := range old.Strs {
				if !hasStr(v, s) {
					out.Strs = append(out.Strs, s)
				}
			}
			return out, len(out.Strs) > 0, nil
		case item.BS:
			for _, b := range old.Blobs {
				if !hasBlob(v.Blobs, b) {
					out.Blobs = append(out.Blobs, b)
				}
			}
			return out, len(out.Blobs) > 0, nil
		}
		return old, true, verr(mismatch)
	}
}

// ---- projections ----

type projNode struct {
	val   *item.Value
	m     map[string]*projNode
	l     map[int]*projNode
	order []int
}

// Apply returns the projected copy of it.
func (p *Projection) Apply(it item.Item) item.Item {
	if p == nil {
		return it.Clone()
	}
	out := item.Item{}
	if it == nil {
		return out
	}
	root := &projNode{m: map[string]*projNode{}}
	for _, pa := range p.paths {
		v, ok := lookup(it, pa)
		if !ok {
			continue
		}
		cur := root
		for i, e := range pa {
			var nx *projNode
			if e.isIndex {
				if cur.l == nil {
					cur.l = map[int]*projNode{}
				}
				if nx = cur.l[e.index]; nx == nil {
					nx = &projNode{}
					cur.l[e.index] = nx
					cur.order = append(cur.order, e.index)
				}
			} else {
				if cur.m == nil {
					cur.m = map[string]*projNode{}
				}
				if nx = cur.m[e.name]; nx == nil {
					nx = &projNode{}
					cur.m[e.name] = nx
				}
			}
			if i == len(pa)-1 {
				c := v.Clone()
				nx.val = &c
			}
			cur = nx
		}
	}
	for k, n := range root.m {
		out[k] = n.build()
	}
	return out
}

func (n *projNode) build() item.Value {
	if n.val != nil {
		return *n.val
	}
	if n.l != nil {
		sort.Ints(n.order)
		v := item.Value{Type: item.L, List: make([]item.Value, 0, len(n.order))}
		for _, i := range n.order {
			v.List = append(v.List, n.l[i].build())
		}
		return v
	}
	v := item.Value{Type: item.M, Map: make(map[string]item.Value, len(n.m))}
	for k, c := range n.m {
		v.Map[k] = c.build()
	}
	return v
}
