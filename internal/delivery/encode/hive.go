package encode

import (
	"fmt"
	"strconv"
	"strings"
)

// kind is a Hive column type.
type kind int

const (
	kTinyint kind = iota
	kSmallint
	kInt
	kBigint
	kFloat
	kDouble
	kDecimal
	kString
	kVarchar
	kChar
	kBoolean
	kTimestamp
	kDate
	kBinary
	kArray
	kMap
	kStruct
)

// hiveType is a parsed Hive type such as struct<id:bigint,tags:array<string>>.
type hiveType struct {
	kind      kind
	precision int // decimal
	scale     int // decimal
	length    int // varchar, char
	elem      *hiveType
	key, val  *hiveType
	fields    []hiveField
}

type hiveField struct {
	name string // lower case: Hive column names are case-insensitive
	typ  *hiveType
}

// Limits that keep a hostile schema from exhausting Parquet's 255 levels or
// the memory of the writer.
const (
	maxSchemaLen   = 64 << 10
	maxSchemaDepth = 32
	maxColumns     = 4096
)

var primitiveNames = map[string]kind{
	"tinyint":   kTinyint,
	"smallint":  kSmallint,
	"int":       kInt,
	"integer":   kInt,
	"bigint":    kBigint,
	"float":     kFloat,
	"double":    kDouble,
	"decimal":   kDecimal,
	"numeric":   kDecimal,
	"string":    kString,
	"varchar":   kVarchar,
	"char":      kChar,
	"boolean":   kBoolean,
	"timestamp": kTimestamp,
	"date":      kDate,
	"binary":    kBinary,
}

func (t *hiveType) String() string {
	switch t.kind {
	case kTinyint:
		return "tinyint"
	case kSmallint:
		return "smallint"
	case kInt:
		return "int"
	case kBigint:
		return "bigint"
	case kFloat:
		return "float"
	case kDouble:
		return "double"
	case kDecimal:
		return fmt.Sprintf("decimal(%d,%d)", t.precision, t.scale)
	case kString:
		return "string"
	case kVarchar:
		return fmt.Sprintf("varchar(%d)", t.length)
	case kChar:
		return fmt.Sprintf("char(%d)", t.length)
	case kBoolean:
		return "boolean"
	case kTimestamp:
		return "timestamp"
	case kDate:
		return "date"
	case kBinary:
		return "binary"
	case kArray:
		return "array<" + t.elem.String() + ">"
	case kMap:
		return "map<" + t.key.String() + "," + t.val.String() + ">"
	case kStruct:
		var b strings.Builder
		b.WriteString("struct<")
		for i, f := range t.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteName(f.name) + ":" + f.typ.String())
		}
		b.WriteByte('>')
		return b.String()
	}
	return "?"
}

// quoteName backquotes a field name that is not a plain identifier.
func quoteName(name string) string {
	for i := 0; i < len(name); i++ {
		if !isIdent(name[i]) {
			return "`" + name + "`"
		}
	}
	return name
}

func (t *hiveType) primitive() bool { return t.kind < kArray }

// parseSchema parses a Hive struct type string: the whole table schema.
func parseSchema(s string) (*hiveType, error) {
	if len(s) > maxSchemaLen {
		return nil, fmt.Errorf("the schema is longer than %d characters", maxSchemaLen)
	}
	p := &typeParser{s: s}
	p.skipSpace()
	if !p.peekWord("struct") {
		return nil, errNotStruct
	}
	t, err := p.parseType(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q after the type", p.rest())
	}
	if t.kind != kStruct {
		return nil, errNotStruct
	}
	return t, nil
}

var errNotStruct = fmt.Errorf("the schema is not a struct<...> type")

type typeParser struct {
	s       string
	pos     int
	columns int
}

func (p *typeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at character %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *typeParser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// word reads an identifier.
func (p *typeParser) word() string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) && isIdent(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *typeParser) peekWord(w string) bool {
	save := p.pos
	got := strings.ToLower(p.word())
	p.pos = save
	return got == w
}

func (p *typeParser) expect(c byte) error {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return p.errorf("expected %q, found the end of the schema", string(c))
	}
	if p.s[p.pos] != c {
		return p.errorf("expected %q, found %q", string(c), p.rest())
	}
	p.pos++
	return nil
}

func (p *typeParser) accept(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *typeParser) number() (int, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if start == p.pos {
		return 0, p.errorf("expected a number, found %q", p.rest())
	}
	n, err := strconv.Atoi(p.s[start:p.pos])
	if err != nil || n > 1<<20 {
		return 0, p.errorf("number %q is too large", p.s[start:p.pos])
	}
	return n, nil
}

func (p *typeParser) parseType(depth int) (*hiveType, error) {
	if depth > maxSchemaDepth {
		return nil, p.errorf("types are nested more than %d deep", maxSchemaDepth)
	}
	start := p.pos
	name := strings.ToLower(p.word())
	if name == "" {
		if p.pos >= len(p.s) {
			return nil, p.errorf("expected a type, found the end of the schema")
		}
		return nil, p.errorf("expected a type, found %q", p.rest())
	}
	switch name {
	case "array":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		elem, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect('>'); err != nil {
			return nil, err
		}
		return &hiveType{kind: kArray, elem: elem}, nil
	case "map":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		keyAt := p.pos
		key, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if !key.primitive() {
			p.pos = keyAt
			return nil, p.errorf("a map key must be a primitive type, not %s", key)
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		val, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect('>'); err != nil {
			return nil, err
		}
		return &hiveType{kind: kMap, key: key, val: val}, nil
	case "struct":
		return p.parseStruct(depth)
	case "uniontype":
		p.pos = start
		return nil, p.errorf("uniontype is not supported")
	}
	k, ok := primitiveNames[name]
	if !ok {
		p.pos = start
		return nil, p.errorf("unknown type %q", name)
	}
	p.columns++
	if p.columns > maxColumns {
		return nil, p.errorf("the schema has more than %d columns", maxColumns)
	}
	t := &hiveType{kind: k}
	switch k {
	case kDecimal:
		t.precision, t.scale = 10, 0 // Hive's default
		if p.accept('(') {
			var err error
			if t.precision, err = p.number(); err != nil {
				return nil, err
			}
			t.scale = 0
			if p.accept(',') {
				if t.scale, err = p.number(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(')'); err != nil {
				return nil, err
			}
		}
		if t.precision < 1 || t.precision > 38 {
			return nil, p.errorf("decimal precision must be between 1 and 38, not %d", t.precision)
		}
		if t.scale > t.precision {
			return nil, p.errorf("decimal scale %d is larger than its precision %d", t.scale, t.precision)
		}
	case kVarchar, kChar:
		if err := p.expect('('); err != nil {
			return nil, err
		}
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		limit := 65535
		if k == kChar {
			limit = 255
		}
		if n < 1 || n > limit {
			return nil, p.errorf("%s length must be between 1 and %d, not %d", name, limit, n)
		}
		t.length = n
	}
	return t, nil
}

func (p *typeParser) parseStruct(depth int) (*hiveType, error) {
	if err := p.expect('<'); err != nil {
		return nil, err
	}
	t := &hiveType{kind: kStruct}
	seen := map[string]bool{}
	if p.accept('>') {
		return nil, p.errorf("a struct needs at least one field")
	}
	for {
		p.skipSpace()
		at := p.pos
		name, err := p.fieldName()
		if err != nil {
			return nil, err
		}
		name = strings.ToLower(name)
		if seen[name] {
			p.pos = at
			return nil, p.errorf("field %q appears twice", name)
		}
		seen[name] = true
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		ft, err := p.parseType(depth + 1)
		if err != nil {
			return nil, err
		}
		t.fields = append(t.fields, hiveField{name: name, typ: ft})
		if p.accept('>') {
			return t, nil
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
	}
}

// fieldName reads a plain or `backquoted` field name.
func (p *typeParser) fieldName() (string, error) {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '`' {
		end := strings.IndexByte(p.s[p.pos+1:], '`')
		if end < 0 {
			return "", p.errorf("unterminated `quoted` field name")
		}
		name := p.s[p.pos+1 : p.pos+1+end]
		if name == "" {
			return "", p.errorf("empty field name")
		}
		p.pos += end + 2
		return name, nil
	}
	name := p.word()
	if name == "" {
		if p.pos >= len(p.s) {
			return "", p.errorf("expected a field name, found the end of the schema")
		}
		return "", p.errorf("expected a field name, found %q", p.rest())
	}
	return name, nil
}
