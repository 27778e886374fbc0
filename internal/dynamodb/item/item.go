// Package item is DynamoDB's data model: attribute values, items, their
// JSON form on the wire ({"S":"x"}, {"N":"1"}, ...), comparison, sizes,
// and the canonical key bytes the lease-table service stores items under.
package item

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Type is an attribute value's type, named as on the wire.
type Type uint8

// The ten DynamoDB types.
const (
	S Type = iota + 1
	N
	B
	BOOL
	NULL
	M
	L
	SS
	NS
	BS
)

var typeNames = [...]string{"", "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}

// String is the type's wire name ("S", "NS", "BOOL", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType returns the type whose wire name is s.
func ParseType(s string) (Type, bool) {
	for i := 1; i < len(typeNames); i++ {
		if typeNames[i] == s {
			return Type(i), true
		}
	}
	return 0, false
}

// Value is one AttributeValue. Type says which field holds it: S and N use
// Str (N holds the number's canonical text), B uses Bytes, BOOL uses Bool,
// NULL none, M uses Map, L uses List, SS and NS use Strs, BS uses Blobs.
type Value struct {
	Type  Type
	Str   string
	Bytes []byte
	Bool  bool
	Map   map[string]Value
	List  []Value
	Strs  []string
	Blobs [][]byte
}

// Item is one item: attribute name to value.
type Item map[string]Value

// Error is a value DynamoDB rejects. Message is DynamoDB's
// ValidationException text for it, for example
// "One or more parameter values were invalid: An number set  may not be empty".
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func errf(format string, a ...any) *Error { return &Error{Message: fmt.Sprintf(format, a...)} }

// MaxDepth is DynamoDB's limit on document nesting: an attribute's value
// is level 1, and no value may sit below level 32.
const MaxDepth = 32

// ErrDepth is DynamoDB's message for documents nested deeper than MaxDepth.
const ErrDepth = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"

// UnmarshalJSON decodes DynamoDB JSON, for example {"S":"a"} or
// {"M":{"x":{"N":"1"}}}, validating as DynamoDB does (numbers, empty and
// duplicate set elements, exactly one type key). Errors are *Error, or
// a *json.SyntaxError-like error for malformed JSON.
func (v *Value) UnmarshalJSON(b []byte) error {
	val, err := decodeValue(b, 0)
	if err != nil {
		return err
	}
	*v = val
	return nil
}

// SerializationError is a member of the wrong JSON shape, DynamoDB's
// SerializationException rather than a ValidationException.
type SerializationError struct{ Message string }

func (e *SerializationError) Error() string { return e.Message }

func serr(msg string) error { return &SerializationError{Message: msg} }

type member struct {
	key string
	raw json.RawMessage
}

// members splits a JSON object into its members in order (DynamoDB
// validates a value's type keys in the order sent).
func members(b []byte, what string) ([]member, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		if ok && delim == '[' {
			return nil, serr("Unrecognized collection type class com.amazonaws.dynamodb.v20120810." + what)
		}
		return nil, serr("Unexpected value type in payload")
	}
	var out []member
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, member{key, raw})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

const errEmpty = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"

// decodeValue decodes the value at depth (0 for an attribute's value).
func decodeValue(b []byte, depth int) (Value, error) {
	if depth >= MaxDepth {
		return Value{}, &Error{Message: ErrDepth}
	}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return Value{}, &Error{Message: errEmpty}
	}
	ms, err := members(b, "AttributeValue")
	if err != nil {
		return Value{}, err
	}
	// Shape errors (SerializationException) come before validation.
	vals := make([]Value, 0, 1)
	for _, m := range ms {
		t, ok := ParseType(m.key)
		if !ok || string(m.raw) == "null" {
			continue
		}
		v, err := decodeShape(t, m.raw, depth)
		if err != nil {
			return Value{}, err
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return Value{}, &Error{Message: errEmpty}
	}
	for i := range vals {
		if err := validate(&vals[i]); err != nil {
			return Value{}, err
		}
	}
	if len(vals) > 1 {
		return Value{}, &Error{Message: "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"}
	}
	return vals[0], nil
}

func decodeString(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", shapeErr(raw, "String")
	}
	return s, nil
}

func shapeErr(raw []byte, typ string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return serr("Unexpected end of input")
	}
	switch raw[0] {
	case '{':
		return serr("Start of structure or map found where not expected")
	case '[':
		return serr("Unrecognized collection type class java.lang." + typ)
	case 't':
		return serr("TRUE_VALUE cannot be converted to " + typ)
	case 'f':
		return serr("FALSE_VALUE cannot be converted to " + typ)
	case '"':
		return serr("STRING_VALUE cannot be converted to " + typ)
	}
	if bytes.ContainsAny(raw, ".eE") {
		return serr("DECIMAL_VALUE cannot be converted to " + typ)
	}
	return serr("NUMBER_VALUE cannot be converted to " + typ)
}

func decodeBlob(raw []byte) ([]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, serr("only base-64-encoded strings are convertible to bytes")
	}
	if len(s)%4 != 0 {
		return nil, serr(fmt.Sprintf("Base64 encoded length is expected a multiple of 4 bytes but found: %d", len(s)))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, serr("Invalid last non-pad Base64 character dectected")
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func decodeList(raw []byte) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '[' {
		if len(t) > 0 && t[0] == '{' {
			return nil, serr("Start of structure or map found where not expected")
		}
		return nil, serr("Unexpected field type")
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	return l, nil
}

// decodeShape decodes the member for type t without DynamoDB's value
// validation (that is validate's job, run after every member decoded).
func decodeShape(t Type, raw []byte, depth int) (Value, error) {
	v := Value{Type: t}
	var err error
	switch t {
	case S, N:
		v.Str, err = decodeString(raw)
	case B:
		v.Bytes, err = decodeBlob(raw)
	case BOOL, NULL:
		var b bool
		if e := json.Unmarshal(raw, &b); e != nil {
			return v, shapeErr(raw, "Boolean")
		}
		v.Bool = b
	case SS, NS:
		l, e := decodeList(raw)
		if e != nil {
			return v, e
		}
		v.Strs = make([]string, 0, len(l))
		for _, r := range l {
			s, e := decodeString(r)
			if e != nil {
				return v, e
			}
			v.Strs = append(v.Strs, s)
		}
	case BS:
		l, e := decodeList(raw)
		if e != nil {
			return v, e
		}
		v.Blobs = make([][]byte, 0, len(l))
		for _, r := range l {
			b, e := decodeBlob(r)
			if e != nil {
				return v, e
			}
			v.Blobs = append(v.Blobs, b)
		}
	case L:
		l, e := decodeList(raw)
		if e != nil {
			return v, e
		}
		v.List = make([]Value, 0, len(l))
		for _, r := range l {
			x, e := decodeValue(r, depth+1)
			if e != nil {
				return v, e
			}
			v.List = append(v.List, x)
		}
	case M:
		t := bytes.TrimSpace(raw)
		if len(t) > 0 && t[0] == '[' {
			return v, serr("Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>")
		}
		ms, e := members(raw, "AttributeValue")
		if e != nil {
			return v, e
		}
		v.Map = make(map[string]Value, len(ms))
		for _, m := range ms {
			x, e := decodeValue(m.raw, depth+1)
			if e != nil {
				return v, e
			}
			v.Map[m.key] = x
		}
	}
	return v, err
}

// validate applies DynamoDB's checks to one decoded member (nested
// values were validated when decoded) and canonicalizes numbers.
func validate(v *Value) error {
	switch v.Type {
	case N:
		c, err := Num(v.Str)
		if err != nil {
			return err
		}
		v.Str = c.Str
	case NULL:
		if !v.Bool {
			return &Error{Message: "One or more parameter values were invalid: Null attribute value types must have the value of true"}
		}
		v.Bool = false
	case SS:
		if len(v.Strs) == 0 {
			return &Error{Message: "One or more parameter values were invalid: An string set  may not be empty"}
		}
		if hasDup(v.Strs) {
			return errf("One or more parameter values were invalid: Input collection [%s] contains duplicates.", strings.Join(v.Strs, ", "))
		}
	case NS:
		if len(v.Strs) == 0 {
			return &Error{Message: "One or more parameter values were invalid: An number set  may not be empty"}
		}
		for i, s := range v.Strs {
			c, err := Num(s)
			if err != nil {
				return err
			}
			v.Strs[i] = c.Str
		}
		if hasDup(v.Strs) {
			return &Error{Message: "Input collection contains duplicates"}
		}
	case BS:
		if len(v.Blobs) == 0 {
			return &Error{Message: "One or more parameter values were invalid: Binary sets should not be empty"}
		}
		seen := make(map[string]bool, len(v.Blobs))
		dup := false
		for _, b := range v.Blobs {
			if seen[string(b)] {
				dup = true
			}
			seen[string(b)] = true
		}
		if dup {
			enc := make([]string, len(v.Blobs))
			for i, b := range v.Blobs {
				enc[i] = base64.StdEncoding.EncodeToString(b)
			}
			return errf("One or more parameter values were invalid: Input collection [%s]of type BS contains duplicates.", strings.Join(enc, ", "))
		}
	}
	return nil
}

func hasDup(ss []string) bool {
	if len(ss) < 2 {
		return false
	}
	seen := make(map[string]struct{}, len(ss))
	for _, s := range ss {
		if _, ok := seen[s]; ok {
			return true
		}
		seen[s] = struct{}{}
	}
	return false
}

// MarshalJSON encodes v as DynamoDB JSON (B and BS in base64).
func (v Value) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := v.appendJSON(&buf, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}

func (v Value) appendJSON(buf *bytes.Buffer, depth int) error {
	if depth > 2*MaxDepth+8 {
		return &Error{Message: ErrDepth}
	}
	buf.WriteString(`{"`)
	buf.WriteString(v.Type.String())
	buf.WriteString(`":`)
	switch v.Type {
	case S, N:
		writeString(buf, v.Str)
	case B:
		writeString(buf, base64.StdEncoding.EncodeToString(v.Bytes))
	case BOOL:
		if v.Bool {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case NULL:
		buf.WriteString("true")
	case SS, NS:
		buf.WriteByte('[')
		for i, s := range v.Strs {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, s)
		}
		buf.WriteByte(']')
	case BS:
		buf.WriteByte('[')
		for i, b := range v.Blobs {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, base64.StdEncoding.EncodeToString(b))
		}
		buf.WriteByte(']')
	case L:
		buf.WriteByte('[')
		for i, x := range v.List {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := x.appendJSON(buf, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case M:
		keys := make([]string, 0, len(v.Map))
		for k := range v.Map {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			if err := v.Map[k].appendJSON(buf, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("item: cannot encode value of %v", v.Type)
	}
	buf.WriteByte('}')
	return nil
}

// Str, Num, ... build values.
func Str(s string) Value { return Value{Type: S, Str: s} }
func Bin(b []byte) Value { return Value{Type: B, Bytes: b} }
func Bool(b bool) Value  { return Value{Type: BOOL, Bool: b} }
func Null() Value        { return Value{Type: NULL} }

// Num returns the number s in canonical form; *Error if not a DynamoDB number.
func Num(s string) (Value, error) {
	d, err := parseDec(s)
	if err != nil {
		return Value{}, err
	}
	if err := d.check(); err != nil {
		return Value{}, err
	}
	return Value{Type: N, Str: d.String()}, nil
}

// Equal reports whether a and b are the same value (numbers by value,
// sets regardless of order).
func Equal(a, b Value) bool {
	return equal(a, b, 0)
}

func equal(a, b Value, depth int) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type {
	case S:
		return a.Str == b.Str
	case N:
		return numEqual(a.Str, b.Str)
	case B:
		return bytes.Equal(a.Bytes, b.Bytes)
	case BOOL:
		return a.Bool == b.Bool
	case NULL:
		return true
	case SS:
		return sameSet(a.Strs, b.Strs, func(s string) string { return s })
	case NS:
		return sameSet(a.Strs, b.Strs, canonNum)
	case BS:
		as := make([]string, len(a.Blobs))
		for i, x := range a.Blobs {
			as[i] = string(x)
		}
		bs := make([]string, len(b.Blobs))
		for i, x := range b.Blobs {
			bs[i] = string(x)
		}
		return sameSet(as, bs, func(s string) string { return s })
	case L:
		if len(a.List) != len(b.List) || depth > 4*MaxDepth {
			return false
		}
		for i := range a.List {
			if !equal(a.List[i], b.List[i], depth+1) {
				return false
			}
		}
		return true
	case M:
		if len(a.Map) != len(b.Map) || depth > 4*MaxDepth {
			return false
		}
		for k, x := range a.Map {
			y, ok := b.Map[k]
			if !ok || !equal(x, y, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func numEqual(a, b string) bool {
	if a == b {
		return true
	}
	c, ok := compareNum(a, b)
	return ok && c == 0
}

// canonNum is s's canonical text, or s itself when it is not a number.
func canonNum(s string) string {
	d, err := parseDec(s)
	if err != nil {
		return s
	}
	return d.String()
}

func sameSet(a, b []string, canon func(string) string) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[string]int, len(a))
	for _, s := range a {
		m[canon(s)]++
	}
	for _, s := range b {
		k := canon(s)
		if m[k] == 0 {
			return false
		}
		m[k]--
	}
	return true
}

// Compare orders two scalars of one type (S, N or B) as DynamoDB does:
// strings and binaries by bytes, numbers by value. ok is false when the
// types differ or are not ordered.
func Compare(a, b Value) (c int, ok bool) {
	if a.Type != b.Type {
		return 0, false
	}
	switch a.Type {
	case S:
		return strings.Compare(a.Str, b.Str), true
	case B:
		return bytes.Compare(a.Bytes, b.Bytes), true
	case N:
		return compareNum(a.Str, b.Str)
	}
	return 0, false
}

// Size is the value's size as DynamoDB counts it toward the 400 KB item
// limit (name lengths are added by ItemSize).
func (v Value) Size() int {
	return v.size(0)
}

func (v Value) size(depth int) int {
	if depth > 4*MaxDepth {
		return 0
	}
	switch v.Type {
	case S:
		return len(v.Str)
	case B:
		return len(v.Bytes)
	case N:
		return numSize(v.Str)
	case SS:
		n := 0
		for _, s := range v.Strs {
			n += len(s)
		}
		return n
	case NS:
		n := 0
		for _, s := range v.Strs {
			n += numSize(s)
		}
		return n
	case BS:
		n := 0
		for _, b := range v.Blobs {
			n += len(b)
		}
		return n
	case NULL, BOOL:
		return 1
	case L:
		n := 3
		for _, x := range v.List {
			n += 1 + x.size(depth+1)
		}
		return n
	case M:
		n := 3 + len(v.Map)
		for k, x := range v.Map {
			n += len(k) + x.size(depth+1)
		}
		return n
	}
	return 0
}

// numSize is a number's size as DynamoDB measures it: 1 byte, plus the
// significant digits left of the point and right of it, each half packed
// two to a byte and rounded up, plus 1 byte if negative.
func numSize(s string) int {
	d, err := parseDec(s)
	if err != nil {
		return len(s)
	}
	nd := len(d.digits)
	if nd == 0 {
		return 1
	}
	var intDigits, fracDigits int
	switch {
	case d.exp <= 0: // pure fraction: its leading zeros do not count
		fracDigits = nd
	case d.exp >= nd: // integer: its trailing zeros do not count
		intDigits = nd
	default: // straddles the point: interior zeros count
		intDigits, fracDigits = d.exp, nd-d.exp
	}
	n := 1 + (intDigits+1)/2 + (fracDigits+1)/2
	if d.neg {
		n++
	}
	return n
}

// ItemSize is the item's size: each attribute name's length plus its
// value's Size.
func ItemSize(it Item) int {
	n := 0
	for k, v := range it {
		n += len(k) + v.Size()
	}
	return n
}

// Clone returns a deep copy.
func (it Item) Clone() Item {
	if it == nil {
		return nil
	}
	out := make(Item, len(it))
	for k, v := range it {
		out[k] = v.Clone()
	}
	return out
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	out := v
	if v.Bytes != nil {
		out.Bytes = append([]byte{}, v.Bytes...)
	}
	if v.Strs != nil {
		out.Strs = append([]string{}, v.Strs...)
	}
	if v.Blobs != nil {
		out.Blobs = make([][]byte, len(v.Blobs))
		for i, b := range v.Blobs {
			out.Blobs[i] = append([]byte{}, b...)
		}
	}
	if v.List != nil {
		out.List = make([]Value, len(v.List))
		for i, x := range v.List {
			out.List[i] = x.Clone()
		}
	}
	if v.Map != nil {
		out.Map = make(map[string]Value, len(v.Map))
		for k, x := range v.Map {
			out.Map[k] = x.Clone()
		}
	}
	return out
}

// Key returns the canonical key bytes of an item's primary key: the hash
// key value, then the range key value when rangeKey is not "". Equal keys
// (numbers by value) give equal bytes. The values must be S, N or B.
func Key(hash Value, rangeKey *Value) []byte {
	b := appendKeyPart(nil, hash)
	if rangeKey != nil {
		b = appendKeyPart(b, *rangeKey)
	}
	return b
}

// appendKeyPart writes type, length and content, so no two keys collide.
func appendKeyPart(b []byte, v Value) []byte {
	b = append(b, byte(v.Type))
	var content []byte
	switch v.Type {
	case S:
		content = []byte(v.Str)
	case N:
		content = []byte(canonNum(v.Str))
	case B:
		content = v.Bytes
	default:
		content, _ = v.MarshalJSON()
	}
	b = binary.AppendUvarint(b, uint64(len(content)))
	return append(b, content...)
}

// Encode and Decode are the stored form of an item (any self-describing
// encoding; DynamoDB JSON is fine).
func Encode(it Item) ([]byte, error) {
	return Value{Type: M, Map: it}.MarshalJSON()
}

// Decode reads what Encode wrote. Stored items were validated when they
// were written, so this takes one reflective pass instead of re-running
// the request checks.
func Decode(b []byte) (Item, error) {
	var w map[string]*stored
	if err := json.Unmarshal(b, &struct {
		M *map[string]*stored
	}{&w}); err != nil {
		return nil, fmt.Errorf("item: stored item: %w", err)
	}
	if w == nil {
		return nil, errors.New("item: stored item is not a map")
	}
	it := make(Item, len(w))
	for k, x := range w {
		v, err := x.value(0)
		if err != nil {
			return nil, err
		}
		it[k] = v
	}
	return it, nil
}

// stored is one value of the stored form.
type stored struct {
	S    *string
	N    *string
	B    []byte
	BOOL *bool
	NULL *bool
	M    map[string]*stored
	L    []*stored
	SS   []string
	NS   []string
	BS   [][]byte
}

func (x *stored) value(depth int) (Value, error) {
	if x == nil || depth >= MaxDepth {
		return Value{}, errors.New("item: stored value is empty or too deep")
	}
	switch {
	case x.S != nil:
		return Value{Type: S, Str: *x.S}, nil
	case x.N != nil:
		return Value{Type: N, Str: *x.N}, nil
	case x.B != nil:
		return Value{Type: B, Bytes: x.B}, nil
	case x.BOOL != nil:
		return Value{Type: BOOL, Bool: *x.BOOL}, nil
	case x.NULL != nil:
		return Value{Type: NULL}, nil
	case x.SS != nil:
		return Value{Type: SS, Strs: x.SS}, nil
	case x.NS != nil:
		return Value{Type: NS, Strs: x.NS}, nil
	case x.BS != nil:
		return Value{Type: BS, Blobs: x.BS}, nil
	case x.L != nil:
		v := Value{Type: L, List: make([]Value, len(x.L))}
		for i, e := range x.L {
			var err error
			if v.List[i], err = e.value(depth + 1); err != nil {
				return Value{}, err
			}
		}
		return v, nil
	case x.M != nil:
		v := Value{Type: M, Map: make(map[string]Value, len(x.M))}
		for k, e := range x.M {
			ev, err := e.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			v.Map[k] = ev
		}
		return v, nil
	}
	return Value{}, errors.New("item: stored value has no type")
}
