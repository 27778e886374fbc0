package encode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// structNode is a Parquet group that keeps its fields in schema order
// (parquet.Group sorts them by name).
type structNode struct {
	parquet.Group
	fields []parquet.Field
}

func (n *structNode) Fields() []parquet.Field { return n.fields }

type namedField struct {
	parquet.Node
	name string
}

func (f *namedField) Name() string { return f.name }

// Value is only used by reflection-based writes, which Rivulet never does.
func (f *namedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }

func newStructNode(names []string, nodes []parquet.Node) *structNode {
	n := &structNode{Group: parquet.Group{}}
	for i, name := range names {
		n.Group[name] = nodes[i]
		n.fields = append(n.fields, &namedField{Node: nodes[i], name: name})
	}
	return n
}

// plan is a schema node with its Parquet column range and levels.
type plan struct {
	t        *hiveType
	name     string
	def      int // definition level when this node holds a value
	rep      int // repetition level of the innermost repeated ancestor
	col      int // leaf column index (primitives)
	first    int // leaf column range [first, last)
	last     int
	children []*plan // struct fields, list element, map key and value
}

// buildPlan lays out t; optional says whether t itself adds a definition
// level (every Hive value is nullable; map keys are not).
func buildPlan(t *hiveType, name string, parentDef, rep int, optional bool, next *int) (*plan, parquet.Node) {
	p := &plan{t: t, name: name, def: parentDef, rep: rep, first: *next}
	if optional {
		p.def++
	}
	var node parquet.Node
	switch t.kind {
	case kStruct:
		names := make([]string, len(t.fields))
		nodes := make([]parquet.Node, len(t.fields))
		for i, f := range t.fields {
			child, n := buildPlan(f.typ, f.name, p.def, rep, true, next)
			p.children = append(p.children, child)
			names[i], nodes[i] = f.name, n
		}
		node = newStructNode(names, nodes)
	case kArray:
		// optional list > repeated list > optional element
		child, n := buildPlan(t.elem, "element", p.def+1, rep+1, true, next)
		p.children = []*plan{child}
		node = parquet.List(n)
	case kMap:
		// optional map > repeated key_value > required key, optional value
		key, kn := buildPlan(t.key, "key", p.def+1, rep+1, false, next)
		val, vn := buildPlan(t.val, "value", p.def+1, rep+1, true, next)
		p.children = []*plan{key, val}
		node = parquet.Map(kn, vn)
	default:
		p.col = *next
		*next++
		node = leafNode(t)
	}
	p.last = *next
	if optional {
		node = parquet.Optional(node)
	}
	return p, node
}

func leafNode(t *hiveType) parquet.Node {
	switch t.kind {
	case kTinyint:
		return parquet.Int(8)
	case kSmallint:
		return parquet.Int(16)
	case kInt:
		return parquet.Leaf(parquet.Int32Type)
	case kBigint:
		return parquet.Leaf(parquet.Int64Type)
	case kFloat:
		return parquet.Leaf(parquet.FloatType)
	case kDouble:
		return parquet.Leaf(parquet.DoubleType)
	case kDecimal:
		switch {
		case t.precision <= 9:
			return parquet.Decimal(t.scale, t.precision, parquet.Int32Type)
		case t.precision <= 18:
			return parquet.Decimal(t.scale, t.precision, parquet.Int64Type)
		}
		return parquet.Decimal(t.scale, t.precision, parquet.FixedLenByteArrayType(decimalBytes(t.precision)))
	case kString, kVarchar, kChar:
		return parquet.String()
	case kBoolean:
		return parquet.Leaf(parquet.BooleanType)
	case kTimestamp:
		// Hive's Parquet writer, which Firehose uses, stores INT96.
		return parquet.Leaf(parquet.Int96Type)
	case kDate:
		return parquet.Date()
	case kBinary:
		return parquet.Leaf(parquet.ByteArrayType)
	}
	panic("encode: no leaf for " + t.String())
}

// decimalBytes is the smallest two's complement width holding precision
// decimal digits.
func decimalBytes(precision int) int {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	for n := 1; ; n++ {
		if limit.BitLen() <= 8*n-1 {
			return n
		}
	}
}

// reader holds the deserializer's key handling.
type reader struct {
	caseInsensitive bool
	dotsToUnder     bool
	mappings        map[string]string // column name -> JSON key, keys normalised
	hive            bool
	formats         []*jodaFormat
}

func (r *reader) normKey(k string) string {
	if r.dotsToUnder {
		k = strings.ReplaceAll(k, ".", "_")
	}
	if r.caseInsensitive {
		k = strings.ToLower(k)
	}
	return k
}

// shredder accumulates one record's column values.
type shredder struct {
	r    *reader
	cols [][]parquet.Value
}

func (s *shredder) null(p *plan, rep, def int) {
	for c := p.first; c < p.last; c++ {
		s.cols[c] = append(s.cols[c], parquet.NullValue().Level(rep, def, c))
	}
}

func isNull(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// shred writes v (raw JSON, nil when absent) for node p.
func (s *shredder) shred(p *plan, raw []byte, rep int, path string) error {
	if isNull(raw) {
		s.null(p, rep, p.def-1)
		return nil
	}
	raw = bytes.TrimSpace(raw)
	switch p.t.kind {
	case kStruct:
		if raw[0] != '{' {
			return fmt.Errorf("%s: expected a JSON object for %s", describe(path), p.t)
		}
		obj, err := s.fieldsOf(raw)
		if err != nil {
			return fmt.Errorf("%s: %v", describe(path), err)
		}
		for _, child := range p.children {
			key := child.name
			if m, ok := s.r.mappings[key]; ok {
				key = m
			}
			if err := s.shred(child, obj[key], rep, join(path, child.name)); err != nil {
				return err
			}
		}
		return nil
	case kArray:
		if raw[0] != '[' {
			return fmt.Errorf("%s: expected a JSON array for %s", describe(path), p.t)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return fmt.Errorf("%s: %v", describe(path), err)
		}
		if len(elems) == 0 {
			s.null(p, rep, p.def)
			return nil
		}
		elem := p.children[0]
		for i, e := range elems {
			r := rep
			if i > 0 {
				r = elem.rep
			}
			if err := s.shred(elem, e, r, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case kMap:
		if raw[0] != '{' {
			return fmt.Errorf("%s: expected a JSON object for %s", describe(path), p.t)
		}
		keys, vals, err := orderedObject(raw, nil)
		if err != nil {
			return fmt.Errorf("%s: %v", describe(path), err)
		}
		if len(keys) == 0 {
			s.null(p, rep, p.def)
			return nil
		}
		kp, vp := p.children[0], p.children[1]
		for i, k := range keys {
			r := rep
			if i > 0 {
				r = kp.rep
			}
			kv, err := leafValue(s.r, kp.t, []byte(strconv.Quote(k)))
			if err != nil {
				return fmt.Errorf("%s: map key %q: %v", describe(path), k, err)
			}
			if kv.IsNull() {
				return fmt.Errorf("%s: map key %q is empty", describe(path), k)
			}
			s.cols[kp.col] = append(s.cols[kp.col], kv.Level(r, kp.def, kp.col))
			if err := s.shred(vp, vals[i], r, path+"["+strconv.Quote(k)+"]"); err != nil {
				return err
			}
		}
		return nil
	}
	v, err := leafValue(s.r, p.t, raw)
	if err != nil {
		return fmt.Errorf("%s: %v", describe(path), err)
	}
	if v.IsNull() {
		s.cols[p.col] = append(s.cols[p.col], v.Level(rep, p.def-1, p.col))
		return nil
	}
	s.cols[p.col] = append(s.cols[p.col], v.Level(rep, p.def, p.col))
	return nil
}

func describe(path string) string { return "column " + strconv.Quote(path) }

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldsOf decodes a JSON object for matching against struct fields, with
// the deserializer's key normalisation; a repeated key keeps its last value.
func (s *shredder) fieldsOf(raw []byte) (map[string]json.RawMessage, error) {
	keys, vals, err := orderedObject(raw, s.r.normKey)
	if err != nil {
		return nil, err
	}
	m := make(map[string]json.RawMessage, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}

// orderedObject decodes a JSON object into its keys and values in order;
// a repeated key keeps its first position and last value.
func orderedObject(raw []byte, norm func(string) string) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var keys []string
	var vals []json.RawMessage
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("malformed JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if norm != nil {
			k = norm(k)
		}
		if i, ok := index[k]; ok {
			vals[i] = v
			continue
		}
		index[k] = len(keys)
		keys = append(keys, k)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, nil, err
	}
	return keys, vals, nil
}

// scalarText is the text of a JSON string or number; ok is false for
// other JSON values.
func scalarText(raw []byte) (text string, quoted, ok bool) {
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", false, false
		}
		return text, true, true
	case '{', '[', 't', 'f', 'n':
		return "", false, false
	}
	return string(raw), false, true
}

// leafValue converts a non-null JSON value to a Parquet value of type t.
// An empty string in a non-text column is null, as in the Hive SerDes.
func leafValue(r *reader, t *hiveType, raw []byte) (parquet.Value, error) {
	switch t.kind {
	case kString, kVarchar, kChar:
		var s string
		switch raw[0] {
		case '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				return parquet.Value{}, err
			}
		case '{', '[':
			// OpenX and Hive keep nested JSON as its text.
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return parquet.Value{}, err
			}
			s = b.String()
		default:
			s = string(raw)
		}
		if t.length > 0 && utf8.RuneCountInString(s) > t.length {
			s = string([]rune(s)[:t.length])
		}
		return parquet.ByteArrayValue([]byte(s)), nil
	case kBinary:
		s, quoted, ok := scalarText(raw)
		if !ok || !quoted {
			return parquet.Value{}, fmt.Errorf("expected a JSON string for binary")
		}
		return parquet.ByteArrayValue([]byte(s)), nil
	case kBoolean:
		switch string(raw) {
		case "true":
			return parquet.BooleanValue(true), nil
		case "false":
			return parquet.BooleanValue(false), nil
		}
		s, quoted, ok := scalarText(raw)
		if ok && quoted {
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				return parquet.BooleanValue(true), nil
			case "false":
				return parquet.BooleanValue(false), nil
			case "":
				return parquet.NullValue(), nil
			}
		}
		return parquet.Value{}, fmt.Errorf("cannot convert %s to boolean", clip(raw))
	}
	s, _, ok := scalarText(raw)
	if !ok {
		return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", clip(raw), t)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return parquet.NullValue(), nil
	}
	switch t.kind {
	case kTinyint, kSmallint, kInt, kBigint:
		n, err := parseInteger(s)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to %s", clip(raw), t)
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		switch t.kind {
		case kTinyint:
			lo, hi = math.MinInt8, math.MaxInt8
		case kSmallint:
			lo, hi = math.MinInt16, math.MaxInt16
		case kInt:
			lo, hi = math.MinInt32, math.MaxInt32
		}
		if n < lo || n > hi {
			return parquet.Value{}, fmt.Errorf("%s is out of range for %s", clip(raw), t)
		}
		if t.kind == kBigint {
			return parquet.Int64Value(n), nil
		}
		return parquet.Int32Value(int32(n)), nil
	case kFloat:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to float", clip(raw))
		}
		return parquet.FloatValue(float32(f)), nil
	case kDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return parquet.Value{}, fmt.Errorf("cannot convert %s to double", clip(raw))
		}
		return parquet.DoubleValue(f), nil
	case kDecimal:
		return decimalValue(t, s, raw)
	case kTimestamp:
		ts, ok := r.timestamp(s)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot parse %s as a timestamp", clip(raw))
		}
		return parquet.Int96Value(toInt96(ts)), nil
	case kDate:
		d, ok := parseDate(s)
		if !ok {
			return parquet.Value{}, fmt.Errorf("cannot parse %s as a date (yyyy-MM-dd)", clip(raw))
		}
		return parquet.Int32Value(d), nil
	}
	return parquet.Value{}, fmt.Errorf("unsupported type %s", t)
}

// clip shortens a value quoted in an error.
func clip(raw []byte) string {
	if len(raw) > 64 {
		return string(raw[:64]) + "..."
	}
	return string(raw)
}

func parseInteger(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(f), nil
}

// decimalValue rounds s half up to the column's scale, as Hive does.
func decimalValue(t *hiveType, s string, raw []byte) (parquet.Value, error) {
	bad := fmt.Errorf("cannot convert %s to %s", clip(raw), t)
	if len(s) > 128 {
		return parquet.Value{}, bad
	}
	// Bound the exponent: big.Rat would otherwise build huge numbers.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 100 || e < -100 {
			return parquet.Value{}, bad
		}
	}
	rat, ok := new(big.Rat).SetString(s)
	if !ok {
		return parquet.Value{}, bad
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.scale)), nil)
	rat.Mul(rat, new(big.Rat).SetInt(scale))
	num, den := rat.Num(), rat.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Half up, away from zero.
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.precision)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return parquet.Value{}, fmt.Errorf("%s does not fit %s", clip(raw), t)
	}
	switch {
	case t.precision <= 9:
		return parquet.Int32Value(int32(q.Int64())), nil
	case t.precision <= 18:
		return parquet.Int64Value(q.Int64()), nil
	}
	return parquet.FixedLenByteArrayValue(twosComplement(q, decimalBytes(t.precision))), nil
}

// twosComplement is q as an n-byte big-endian two's complement integer.
func twosComplement(q *big.Int, n int) []byte {
	v := new(big.Int).Set(q)
	if v.Sign() < 0 {
		v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	b := v.Bytes()
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

// julianEpoch is the Julian day number of 1970-01-01.
const julianEpoch = 2440588

// toInt96 encodes t as Hive/Impala INT96: nanoseconds of the day, then
// the Julian day.
func toInt96(t time.Time) deprecated.Int96 {
	secs := t.Unix()
	days := secs / 86400
	rem := secs % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	nanos := uint64(rem)*1e9 + uint64(t.Nanosecond())
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days + julianEpoch)}
}

func parseDate(s string) (int32, bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) < 1 || len(parts[2]) > 2 {
		return 0, false
	}
	var n [3]int
	for i, p := range parts {
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		n[i], _ = strconv.Atoi(p)
	}
	if n[0] < 1 || n[1] < 1 || n[1] > 12 || n[2] < 1 || n[2] > daysIn(n[0], n[1]) {
		return 0, false
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	return int32(t.Unix() / 86400), true
}

// timestamp parses a timestamp as the configured deserializer does.
func (r *reader) timestamp(s string) (time.Time, bool) {
	if !r.hive {
		if t, ok := sqlTimestamp(s, true); ok {
			return t, true
		}
		return epochNumber(s)
	}
	for _, f := range r.formats {
		if t, ok := f.parse(s); ok {
			return t, true
		}
	}
	// Hive's TimestampParser falls back to java.sql.Timestamp.valueOf.
	return sqlTimestamp(s, false)
}

// splitObjects splits a record into its concatenated JSON values.
func splitObjects(rec []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(rec))
	var out []json.RawMessage
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		if len(v) == 0 || v[0] != '{' {
			return nil, fmt.Errorf("not a JSON object: the record must hold one or more JSON objects (an array of objects is not accepted)")
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty record: no JSON object")
	}
	return out, nil
}
