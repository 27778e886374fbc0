// Package item is DynamoDB's data model: attribute values, items, their
// JSON form on the wire ({"S":"x"}, {"N":"1"}, ...), comparison, sizes,
// and the canonical key bytes the lease-table service stores items under.
package item

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

// String is the type's wire name ("S", "NS", "BOOL", ...).
func (t Type) String() string { panic("TODO") }

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

// UnmarshalJSON decodes DynamoDB JSON, for example {"S":"a"} or
// {"M":{"x":{"N":"1"}}}, validating as DynamoDB does (numbers, empty and
// duplicate set elements, exactly one type key). Errors are *Error, or
// a *json.SyntaxError-like error for malformed JSON.
func (v *Value) UnmarshalJSON(b []byte) error { panic("TODO") }

// MarshalJSON encodes v as DynamoDB JSON (B and BS in base64).
func (v Value) MarshalJSON() ([]byte, error) { panic("TODO") }

// Str, Num, ... build values.
func Str(s string) Value          { return Value{Type: S, Str: s} }
func Bin(b []byte) Value          { return Value{Type: B, Bytes: b} }
func Bool(b bool) Value           { return Value{Type: BOOL, Bool: b} }
func Null() Value                 { return Value{Type: NULL} }
func Num(s string) (Value, error) { panic("TODO") } // canonical form; *Error if not a DynamoDB number

// Equal reports whether a and b are the same value (numbers by value,
// sets regardless of order).
func Equal(a, b Value) bool { panic("TODO") }

// Compare orders two scalars of one type (S, N or B) as DynamoDB does:
// strings and binaries by bytes, numbers by value. ok is false when the
// types differ or are not ordered.
func Compare(a, b Value) (c int, ok bool) { panic("TODO") }

// Size is the value's size as DynamoDB counts it toward the 400 KB item
// limit (name lengths are added by ItemSize).
func (v Value) Size() int { panic("TODO") }

// ItemSize is the item's size: each attribute name's length plus its
// value's Size.
func ItemSize(it Item) int { panic("TODO") }

// Clone returns a deep copy.
func (it Item) Clone() Item { panic("TODO") }

// Key returns the canonical key bytes of an item's primary key: the hash
// key value, then the range key value when rangeKey is not "". Equal keys
// (numbers by value) give equal bytes. The values must be S, N or B.
func Key(hash Value, rangeKey *Value) []byte { panic("TODO") }

// Encode and Decode are the stored form of an item (any self-describing
// encoding; DynamoDB JSON is fine).
func Encode(it Item) ([]byte, error) { panic("TODO") }
func Decode(b []byte) (Item, error)  { panic("TODO") }
