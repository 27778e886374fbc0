package kinesis

import (
	"reflect"

	"github.com/rivulet/rivulet/internal/store"
)

// streamByReflection reads StreamName or, failing that, the name in
// StreamARN from any api input struct. Only fault rules and rate limits
// use it, off the fast path when neither is configured.
func streamByReflection(in any) string {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	v = v.Elem()
	if f := v.FieldByName("StreamName"); f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() {
		if name, ok := f.Elem().Interface().(string); ok {
			return name
		}
	}
	if f := v.FieldByName("StreamARN"); f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() {
		if arn, ok := f.Elem().Interface().(string); ok {
			if k, ok := parseStreamARN(arn); ok {
				return k.Name
			}
		}
	}
	return ""
}

// streamKeyByReflection resolves any api input's StreamARN or, failing
// that, its StreamName in the caller's namespace. Only authorization uses
// it, and only when --auth asks for it.
func streamKeyByReflection(c Caller, in any) (store.StreamKey, bool) {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return store.StreamKey{}, false
	}
	v = v.Elem()
	if f := v.FieldByName("StreamARN"); f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() {
		if arn, ok := f.Elem().Interface().(string); ok {
			return parseStreamARN(arn)
		}
	}
	if f := v.FieldByName("StreamName"); f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() {
		if name, ok := f.Elem().Interface().(string); ok && name != "" {
			return store.StreamKey{Account: c.Account, Region: c.Region, Name: name}, true
		}
	}
	return store.StreamKey{}, false
}
