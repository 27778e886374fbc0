package wire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/rivulet/rivulet/api"
)

// Decoding walks the body against the input struct's Go types, so that a
// value of the wrong type gets the message AWS's Java front end gives
// (SerializationException, e.g. "class java.lang.Boolean can not be
// converted to an String"). As on AWS: member names are case-sensitive,
// unknown members are ignored, null means absent, integers are floored and
// saturated to the Java Integer range, and blobs must be canonical base64.

var errBadInput = errors.New("wire: operation input is not a non-nil pointer")

// shape is the AWS shape type a Go type stands for.
type shape int

const (
	shapeOther shape = iota
	shapeString
	shapeBoolean
	shapeInteger
	shapeDouble
	shapeBlob
	shapeTimestamp
	shapeList
	shapeMap
	shapeStructure
)

// kind is the type of a value on the wire.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindBytes // CBOR byte string
	kindArray
	kindObject
	kindTag   // CBOR tag
	kindOther // CBOR simple values with no JSON counterpart
)

// javaClass is how AWS's messages name a wire value's type.
func (k kind) javaClass() string {
	switch k {
	case kindBool:
		return "java.lang.Boolean"
	case kindNumber:
		return "com.amazon.coral.value.json.numbers.TruncatingBigNumber"
	case kindString:
		return "java.lang.String"
	default:
		return "java.nio.HeapByteBuffer"
	}
}

var (
	timeType  = reflect.TypeFor[api.Time]()
	bytesType = reflect.TypeFor[[]byte]()
)

func shapeOf(t reflect.Type) shape {
	switch {
	case t == timeType:
		return shapeTimestamp
	case t == bytesType:
		return shapeBlob
	}
	switch t.Kind() {
	case reflect.String:
		return shapeString
	case reflect.Bool:
		return shapeBoolean
	// Every integer input member of Kinesis is an Integer shape (no Long
	// appears in an input), so all Go integers decode as Java Integers.
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return shapeInteger
	case reflect.Float32, reflect.Float64:
		return shapeDouble
	case reflect.Slice:
		return shapeList
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			return shapeMap
		}
	case reflect.Struct:
		return shapeStructure
	}
	return shapeOther
}

// mismatch returns AWS's message when a wire value of kind k cannot stand
// for shape s, or "" when it can.
func mismatch(s shape, k kind) string {
	switch k {
	case kindArray:
		if s == shapeList {
			return ""
		}
		return "Start of list found where not expected"
	case kindObject:
		if s == shapeMap || s == shapeStructure {
			return ""
		}
		return "Start of structure or map found where not expected."
	}
	switch s {
	case shapeList:
		return "Expected list or null"
	case shapeMap:
		return "Expected map or null"
	case shapeStructure:
		return "Expected null"
	case shapeString:
		if k == kindString {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to an String"
	case shapeBoolean:
		if k == kindBool {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to an Boolean"
	case shapeInteger:
		if k == kindNumber {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to an Integer"
	case shapeDouble:
		if k == kindNumber {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to an Double"
	case shapeBlob:
		if k == kindString || k == kindBytes {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to a Blob"
	case shapeTimestamp:
		if k == kindNumber || k == kindTag {
			return ""
		}
		return "class " + k.javaClass() + " can not be converted to milliseconds since epoch"
	}
	return ""
}

// codec reads scalar and container values of one wire format.
type codec interface {
	kind(raw []byte) kind
	object(raw []byte) (map[string]rawValue, error)
	array(raw []byte) ([]rawValue, error)
	str(raw []byte) (string, error)
	// blob returns a byte string as is, or a text string for base64 checks.
	blob(raw []byte) (b []byte, text []byte, err error)
	integer(raw []byte) (int64, error) // floored and saturated to int64
	float(raw []byte) (float64, error)
	time(raw []byte, t *api.Time) error
	untag(raw []byte) ([]byte, error)
	native(raw []byte, v any) error
}

type decoder struct{ c codec }

func (d decoder) value(raw []byte, v reflect.Value) error {
	k := d.c.kind(raw)
	if k == kindNull {
		return nil
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if err := d.value(raw, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	s := shapeOf(t)
	if k == kindTag && s != shapeTimestamp {
		content, err := d.c.untag(raw)
		if err != nil {
			return serializationError("")
		}
		return d.value(content, v)
	}
	if k == kindOther {
		return serializationError("")
	}
	if s == shapeBoolean && k == kindString {
		str, err := d.c.str(raw)
		if err != nil {
			return serializationError("")
		}
		return serializationError("'" + strings.ToUpper(str) + "' can not be converted to an Boolean")
	}
	if msg := mismatch(s, k); msg != "" {
		return serializationError(msg)
	}

	switch s {
	case shapeString:
		str, err := d.c.str(raw)
		if err != nil {
			return serializationError("")
		}
		v.SetString(str)
	case shapeBoolean:
		b := trimJSONSpace(raw)
		v.SetBool(b[0] == 't' || b[0] == 0xf5)
	case shapeInteger:
		n, err := d.c.integer(raw)
		if err != nil {
			return serializationError("")
		}
		setInteger(v, max(min(n, math.MaxInt32), math.MinInt32))
	case shapeDouble:
		f, err := d.c.float(raw)
		if err != nil {
			return serializationError("")
		}
		v.SetFloat(f)
	case shapeBlob:
		b, text, err := d.c.blob(raw)
		if err != nil {
			return serializationError("")
		}
		if text != nil {
			if b, err = decodeBase64(text); err != nil {
				return err
			}
		}
		v.SetBytes(b)
	case shapeTimestamp:
		if err := d.c.time(raw, v.Addr().Interface().(*api.Time)); err != nil {
			return serializationError("")
		}
	case shapeList:
		items, err := d.c.array(raw)
		if err != nil {
			return serializationError("")
		}
		list := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			if err := d.value(item, list.Index(i)); err != nil {
				return err
			}
		}
		v.Set(list)
	case shapeMap:
		members, err := d.c.object(raw)
		if err != nil {
			return serializationError("")
		}
		m := reflect.MakeMapWithSize(t, len(members))
		// Sorted, so that the first bad value is always the one reported.
		for _, key := range slices.Sorted(maps.Keys(members)) {
			elem := reflect.New(t.Elem()).Elem()
			if err := d.value(members[key], elem); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
		}
		v.Set(m)
	case shapeStructure:
		members, err := d.c.object(raw)
		if err != nil {
			return serializationError("")
		}
		return d.structure(members, v)
	default:
		if err := d.c.native(raw, v.Addr().Interface()); err != nil {
			return serializationError("")
		}
	}
	return nil
}

func (d decoder) structure(members map[string]rawValue, v reflect.Value) error {
	for _, f := range fieldsOf(v.Type()) {
		raw, ok := members[f.name]
		if !ok {
			continue
		}
		if err := d.value(raw, v.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}

func setInteger(v reflect.Value, n int64) {
	if v.CanInt() {
		if v.OverflowInt(n) {
			n = saturate(n, v.Type().Bits())
		}
		v.SetInt(n)
		return
	}
	if n < 0 {
		n = 0
	}
	u := uint64(n)
	if v.OverflowUint(u) {
		u = 1<<v.Type().Bits() - 1
	}
	v.SetUint(u)
}

func saturate(n int64, bits int) int64 {
	hi := int64(1)<<(bits-1) - 1
	return max(min(n, hi), -hi-1)
}

type field struct {
	name  string
	index int
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists a struct's members by wire name (the json tag), in
// declaration order. Embedded fields are not used by the api package.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fs = append(fs, field{name: name, index: i})
	}
	fieldCache.Store(t, fs)
	return fs
}

// decodeBase64 applies AWS's checks, in AWS's order and words (including
// its misspelling of "detected").
func decodeBase64(text []byte) ([]byte, error) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	// Strict decoding accepts exactly canonical base64, except that it
	// skips line breaks; anything else takes the slow path for its message.
	n, err := base64.StdEncoding.Strict().Decode(out, text)
	if err == nil && n == len(out)-padding(text) && len(text)%4 == 0 {
		// Every character was decoded, so none was a skipped line break
		// (a cheaper test than searching the text for them).
		return out[:n], nil
	}
	if n := utf16Len(text); n%4 != 0 {
		return nil, serializationError("'" + string(text) + "' can not be converted to a Blob: " +
			"Base64 encoded length is expected a multiple of 4 bytes but found: " + strconv.Itoa(n))
	}
	for i, r := range string(text) {
		bad := !isBase64Char(r)
		if !bad && r == '=' && i+1 < len(text) && text[i+1] != '=' {
			bad = true
		}
		if bad {
			return nil, serializationError("'" + string(text) + "' can not be converted to a Blob: " +
				"Invalid Base64 character: '" + string(r) + "'")
		}
	}
	return nil, serializationError("'" + string(text) + "' can not be converted to a Blob: " +
		"Invalid last non-pad Base64 character dectected")
}

// padding counts the trailing '=' of base64 text.
func padding(text []byte) int {
	n := 0
	for n < 2 && n < len(text) && text[len(text)-1-n] == '=' {
		n++
	}
	return n
}

func isBase64Char(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' ||
		r == '+' || r == '/' || r == '='
}

// utf16Len is the length Java (and JavaScript) give a string.
func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// floorSaturate converts a float to int64 the way AWS reads an Integer:
// floored, and pinned to the range rather than wrapped.
func floorSaturate(f float64) (int64, error) {
	switch {
	case math.IsNaN(f):
		return 0, strconv.ErrSyntax
	case f >= math.MaxInt64:
		return math.MaxInt64, nil
	case f <= math.MinInt64:
		return math.MinInt64, nil
	}
	return int64(math.Floor(f)), nil
}

// jsonCodec reads AWS JSON 1.1 values.
type jsonCodec struct{}

func (jsonCodec) kind(raw []byte) kind {
	raw = trimJSONSpace(raw)
	if len(raw) == 0 {
		return kindNull
	}
	switch raw[0] {
	case 'n':
		return kindNull
	case 't', 'f':
		return kindBool
	case '"':
		return kindString
	case '[':
		return kindArray
	case '{':
		return kindObject
	}
	return kindNumber
}

func (jsonCodec) object(raw []byte) (map[string]rawValue, error) { return splitObject(raw) }

func (jsonCodec) array(raw []byte) ([]rawValue, error) { return splitArray(raw) }

func (jsonCodec) str(raw []byte) (string, error) { return jsonString(raw) }

func (c jsonCodec) blob(raw []byte) ([]byte, []byte, error) {
	raw = trimJSONSpace(raw)
	// Base64 text needs no unescaping; use it in place when plainly ASCII.
	inner := raw[1 : len(raw)-1]
	if plainASCII(inner) {
		return nil, inner, nil
	}
	s, err := c.str(raw)
	return nil, []byte(s), err
}

func (jsonCodec) integer(raw []byte) (int64, error) {
	s := string(trimJSONSpace(raw))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, err
	}
	return floorSaturate(f)
}

func (jsonCodec) float(raw []byte) (float64, error) {
	f, err := strconv.ParseFloat(string(trimJSONSpace(raw)), 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil
	}
	return f, err
}

func (jsonCodec) time(raw []byte, t *api.Time) error { return t.UnmarshalJSON(trimJSONSpace(raw)) }

func (jsonCodec) untag(raw []byte) ([]byte, error) { return raw, nil }

func (jsonCodec) native(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// CBOR major types.
const (
	cborMajorBytes = 2
	cborMajorText  = 3
	cborMajorArray = 4
	cborMajorMap   = 5
	cborMajorTag   = 6
	cborMajorOther = 7
)

// cborCodec reads AWS CBOR 1.1 values.
type cborCodec struct{}

func (cborCodec) kind(raw []byte) kind {
	if len(raw) == 0 {
		return kindNull
	}
	switch raw[0] >> 5 {
	case 0, 1:
		return kindNumber
	case cborMajorBytes:
		return kindBytes
	case cborMajorText:
		return kindString
	case cborMajorArray:
		return kindArray
	case cborMajorMap:
		return kindObject
	case cborMajorTag:
		return kindTag
	}
	switch raw[0] {
	case 0xf4, 0xf5:
		return kindBool
	case 0xf6, 0xf7: // null, undefined
		return kindNull
	case 0xf9, 0xfa, 0xfb:
		return kindNumber
	}
	return kindOther
}

func (cborCodec) object(raw []byte) (map[string]rawValue, error) {
	var m map[string]rawValue
	return m, cborDec.Unmarshal(raw, &m)
}

func (cborCodec) array(raw []byte) ([]rawValue, error) {
	var a []rawValue
	return a, cborDec.Unmarshal(raw, &a)
}

func (cborCodec) str(raw []byte) (string, error) {
	var s string
	return s, cborDec.Unmarshal(raw, &s)
}

func (c cborCodec) blob(raw []byte) ([]byte, []byte, error) {
	if raw[0]>>5 == cborMajorText {
		s, err := c.str(raw)
		return nil, []byte(s), err
	}
	b := []byte{}
	return b, nil, cborDec.Unmarshal(raw, &b)
}

func (cborCodec) integer(raw []byte) (int64, error) {
	var v any
	if err := cborDec.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case uint64:
		return int64(min(n, math.MaxInt64)), nil
	case int64:
		return n, nil
	case float64:
		return floorSaturate(n)
	case big.Int:
		return saturateBig(&n), nil
	case *big.Int:
		return saturateBig(n), nil
	}
	return 0, strconv.ErrSyntax
}

func saturateBig(n *big.Int) int64 {
	if n.IsInt64() {
		return n.Int64()
	}
	if n.Sign() < 0 {
		return math.MinInt64
	}
	return math.MaxInt64
}

func (cborCodec) float(raw []byte) (float64, error) {
	var f float64
	return f, cborDec.Unmarshal(raw, &f)
}

func (cborCodec) time(raw []byte, t *api.Time) error { return t.UnmarshalCBOR(raw) }

func (cborCodec) untag(raw []byte) ([]byte, error) {
	var t cbor.RawTag
	if err := cborDec.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	return t.Content, nil
}

func (cborCodec) native(raw []byte, v any) error { return cborDec.Unmarshal(raw, v) }
