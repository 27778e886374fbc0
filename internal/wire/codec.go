package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// format is the body encoding of a request and its response.
type format int

const (
	formatJSON format = iota // also used before the content type is known
	formatCBOR
)

func (f format) contentType() string {
	if f == formatCBOR {
		return ContentTypeCBOR
	}
	return ContentTypeJSON
}

var (
	// Nil slices go out as empty arrays: the Java SDK reads CBOR and does
	// not expect null lists.
	cborEnc = mustEncMode(cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty})
	cborDec = mustDecMode(cbor.DecOptions{})
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

// rawValue is one undecoded JSON or CBOR value. It aliases the request body
// instead of copying it: json.Unmarshal and cbor.Unmarshal hand unmarshalers
// sub-slices of their input, and the body is never modified, so large blobs
// are not copied at every level of nesting.
type rawValue []byte

func (r *rawValue) UnmarshalJSON(b []byte) error { *r = b; return nil }
func (r *rawValue) UnmarshalCBOR(b []byte) error { *r = b; return nil }

// top parses the body's outer object, checking the whole body is well formed.
func (f format) top(body []byte) (map[string]rawValue, bool) {
	var m map[string]rawValue
	if f == formatCBOR {
		// The decoder skips tags around the body (such as the self-describe
		// tag); null decodes without error, so a nil map means "not a map".
		if cborDec.Unmarshal(body, &m) != nil || m == nil {
			return nil, false
		}
		return m, true
	}
	b := trimJSONSpace(body)
	if len(b) == 0 || b[0] != '{' || !validJSON(b) {
		return nil, false
	}
	m, err := splitObject(b)
	return m, err == nil
}

// decode fills in, a pointer to an input struct, from the parsed body.
func (f format) decode(top map[string]rawValue, in any) error {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return errBadInput
	}
	d := decoder{c: jsonCodec{}}
	if f == formatCBOR {
		d.c = cborCodec{}
	}
	return d.structure(top, v.Elem())
}

// encode renders an operation's output; a nil output is an empty object.
func (f format) encode(out any) ([]byte, error) {
	if out == nil || isNilPointer(out) {
		if f == formatCBOR {
			return []byte{0xa0}, nil
		}
		return []byte("{}"), nil
	}
	if f == formatCBOR {
		return cborEnc.Marshal(out)
	}
	if b, ok := appendHotJSON(out); ok {
		return b, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

func trimJSONSpace(b []byte) []byte {
	return b[skipSpace(b, 0):] // bytes.TrimLeft builds its cutset on every call
}

// DecodeJSON decodes an AWS JSON request body into in, a pointer to an
// input struct, as this package decodes Kinesis requests: in one pass,
// members case-sensitive, blobs canonical base64, and AWS's Java front
// end's SerializationException messages. The Firehose API's PutRecord and
// PutRecordBatch use it: encoding/json (a validity pass, then Unmarshal)
// was a quarter of their CPU. A failure is a *DecodeError.
func DecodeJSON(body []byte, in any) error {
	top, ok := formatJSON.top(body)
	if !ok {
		return &DecodeError{}
	}
	if err := formatJSON.decode(top, in); err != nil {
		if ae, ok := errors.AsType[*apiError](err); ok {
			return &DecodeError{Message: ae.msg}
		}
		return err
	}
	return nil
}

// DecodeError is a body that does not decode: AWS answers
// SerializationException, with Message when it is not "".
type DecodeError struct{ Message string }

func (e *DecodeError) Error() string { return "SerializationException: " + e.Message }
