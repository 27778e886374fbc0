package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Coral, DynamoDB's front end, deserializes a whole request into typed
// attribute values before any validation, so a value of the wrong JSON
// type is a SerializationException even when other parameters are also
// wrong. checkRawValues repeats that pass over the raw attribute values
// of a decoded input.

// notValues are json.RawMessage fields that hold no attribute value.
var notValues = map[string]bool{"OnDemandThroughput": true, "WarmThroughput": true, "ReplicaUpdates": true}

func checkRawValues(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkRawValues(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if notValues[t.Field(i).Name] || !t.Field(i).IsExported() && !t.Field(i).Anonymous {
				continue
			}
			if err := checkRawValues(v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.Type().Elem() == reflect.TypeFor[json.RawMessage]() {
			for _, k := range v.MapKeys() {
				if err := coralValue(v.MapIndex(k).Bytes()); err != nil {
					return err
				}
			}
			return nil
		}
		for _, k := range v.MapKeys() {
			if err := checkRawValues(v.MapIndex(k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			if v.Len() == 0 {
				return nil
			}
			return coralValue(v.Bytes())
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkRawValues(v.Index(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonKind is the kind of a JSON text: 'o'bject, 'a'rray, 's'tring,
// 'n'umber, 'd'ecimal, 't'rue, 'f'alse or 'z' for null.
func jsonKind(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 'z'
	}
	switch b[0] {
	case '{':
		return 'o'
	case '[':
		return 'a'
	case '"':
		return 's'
	case 't':
		return 't'
	case 'f':
		return 'f'
	case 'n':
		return 'z'
	}
	if bytes.ContainsAny(b, ".eE") {
		return 'd'
	}
	return 'n'
}

func serial(msg string) error { return &Error{Kind: ErrSerialization, Message: msg} }

// scalarAs checks a JSON scalar converts to Coral's type typ.
func scalarAs(b []byte, typ string) error {
	k := jsonKind(b)
	switch k {
	case 'z':
		return nil
	case 'o':
		return serial("Start of structure or map found where not expected")
	case 'a':
		if typ == "Blob" {
			return serial("Unrecognized collection type class java.nio.ByteBuffer")
		}
		return serial("Unrecognized collection type class java.lang." + typ)
	}
	switch typ {
	case "String":
		switch k {
		case 'n':
			return serial("NUMBER_VALUE cannot be converted to String")
		case 'd':
			return serial("DECIMAL_VALUE cannot be converted to String")
		case 't':
			return serial("TRUE_VALUE cannot be converted to String")
		case 'f':
			return serial("FALSE_VALUE cannot be converted to String")
		}
	case "Blob":
		if k != 's' {
			return serial("only base-64-encoded strings are convertible to bytes")
		}
		var s string
		_ = json.Unmarshal(b, &s)
		if len(s)%4 != 0 {
			return serial(fmt.Sprintf("Base64 encoded length is expected a multiple of 4 bytes but found: %d", len(s)))
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
			return serial("Invalid last non-pad Base64 character dectected")
		}
	case "Boolean":
		switch k {
		case 'n':
			return serial("NUMBER_VALUE cannot be converted to Boolean")
		case 'd':
			return serial("DECIMAL_VALUE cannot be converted to Boolean")
		case 's':
			var s string
			_ = json.Unmarshal(b, &s)
			switch strings.ToUpper(s) {
			case "TRUE", "1", "YES", "FALSE", "0", "NO":
			default:
				return serial("Unexpected token received from parser")
			}
		}
	}
	return nil
}

func listOf(b []byte, each func([]byte) error) error {
	switch jsonKind(b) {
	case 'z':
		return nil
	case 'o':
		return serial("Start of structure or map found where not expected")
	case 'a':
	default:
		return serial("Unexpected field type")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return serial("")
	}
	for _, e := range elems {
		if err := each(e); err != nil {
			return err
		}
	}
	return nil
}

// coralValue checks one attribute value's JSON types.
func coralValue(b []byte) error {
	switch jsonKind(b) {
	case 'z':
		return nil
	case 'a':
		return serial("Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue")
	case 'o':
	default:
		return serial("Unexpected value type in payload")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return serial("")
	}
	for _, typ := range []string{"S", "B", "N", "BOOL", "NULL", "BS", "NS", "SS", "L", "M"} {
		raw, ok := m[typ]
		if !ok {
			continue
		}
		var err error
		switch typ {
		case "S", "N":
			err = scalarAs(raw, "String")
		case "B":
			err = scalarAs(raw, "Blob")
		case "BOOL", "NULL":
			err = scalarAs(raw, "Boolean")
		case "SS", "NS":
			err = listOf(raw, func(e []byte) error { return scalarAs(e, "String") })
		case "BS":
			err = listOf(raw, func(e []byte) error { return scalarAs(e, "Blob") })
		case "L":
			err = listOf(raw, coralValue)
		case "M":
			switch jsonKind(raw) {
			case 'z':
			case 'o':
				var mm map[string]json.RawMessage
				if json.Unmarshal(raw, &mm) != nil {
					return serial("")
				}
				for _, k := range sortedKeys(mm) {
					if err = coralValue(mm[k]); err != nil {
						break
					}
				}
			case 'a':
				err = serial("Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>")
			default:
				err = serial("Unexpected field type")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// coerceBools rewrites BOOL and NULL members given as strings ("true",
// "yes", "1", ...) to JSON booleans, as Coral converts them; ok is false
// when nothing needed it.
func coerceBools(b []byte) (json.RawMessage, bool) {
	if jsonKind(b) != 'o' {
		return b, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b, false
	}
	changed := false
	for _, typ := range []string{"BOOL", "NULL"} {
		raw, ok := m[typ]
		if !ok || jsonKind(raw) != 's' {
			continue
		}
		var s string
		_ = json.Unmarshal(raw, &s)
		switch strings.ToUpper(s) {
		case "TRUE", "1", "YES":
			m[typ], changed = json.RawMessage("true"), true
		case "FALSE", "0", "NO":
			m[typ], changed = json.RawMessage("false"), true
		}
	}
	if raw, ok := m["M"]; ok && jsonKind(raw) == 'o' {
		var mm map[string]json.RawMessage
		if json.Unmarshal(raw, &mm) == nil {
			sub := false
			for k, v := range mm {
				if nv, ok := coerceBools(v); ok {
					mm[k], sub = nv, true
				}
			}
			if sub {
				m["M"], _ = json.Marshal(mm)
				changed = true
			}
		}
	}
	if raw, ok := m["L"]; ok && jsonKind(raw) == 'a' {
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) == nil {
			sub := false
			for i, v := range l {
				if nv, ok := coerceBools(v); ok {
					l[i], sub = nv, true
				}
			}
			if sub {
				m["L"], _ = json.Marshal(l)
				changed = true
			}
		}
	}
	if !changed {
		return b, false
	}
	out, err := json.Marshal(m)
	if err != nil {
		return b, false
	}
	return out, true
}

// pathHeads are the top-level attribute names an expression refers to,
// with #placeholders resolved: function names, keywords and :values are
// not paths, nor are the parts after a dot.
func pathHeads(text string, names map[string]string) map[string]bool {
	heads := map[string]bool{}
	afterDot := false
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ':' || c == '#' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' ||
				text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			tok := text[i:j]
			k := j
			for k < len(text) && text[k] == ' ' {
				k++
			}
			isFunc := k < len(text) && text[k] == '('
			if c != ':' && !afterDot && !isFunc {
				switch strings.ToUpper(tok) {
				case "AND", "OR", "NOT", "BETWEEN", "IN":
				default:
					if c == '#' {
						tok = names[tok]
					}
					heads[tok] = true
				}
			}
			afterDot = false
			i = j
		case c == '.':
			afterDot = true
			i++
		case c == '[':
			for i < len(text) && text[i] != ']' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == ']':
			i++
		default:
			afterDot = false
			i++
		}
	}
	return heads
}
