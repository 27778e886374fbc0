package kinesis

import "reflect"

// streamFields reads StreamName and StreamARN from any api input struct
// (nil where it has none). Fault rules, rate limits and authorization use
// it, off the fast path when none of them is configured.
func streamFields(in any) (name, arn *string) {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, nil
	}
	v = v.Elem()
	field := func(n string) *string {
		f := v.FieldByName(n)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
			return nil
		}
		s, _ := f.Interface().(*string)
		return s
	}
	return field("StreamName"), field("StreamARN")
}

// streamByReflection reads StreamName or, failing that, the name in
// StreamARN from any api input struct.
func streamByReflection(in any) string {
	name, arn := streamFields(in)
	if name != nil {
		return *name
	}
	if arn != nil {
		if k, ok := parseStreamARN(*arn); ok {
			return k.Name
		}
	}
	return ""
}
