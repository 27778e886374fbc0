package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// FuzzFieldKey: any line and path give a valid partition key or an error.
func FuzzFieldKey(f *testing.F) {
	f.Add([]byte(`{"a":{"b":"k"}}`), "a.b")
	f.Add([]byte(`{"a":[1,{"b":true}]}`), "a.1.b")
	f.Add([]byte(`{"a":1e400}`), "a")
	f.Add([]byte(`[`), "0")
	f.Fuzz(func(t *testing.T, line []byte, path string) {
		k, err := fieldKey(line, splitField(path))
		if err == nil && (k == "" || utf8.RuneCountInString(k) > 256) {
			t.Fatalf("key %q from %q at %q", k, line, path)
		}
	})
}

// FuzzJSONData: whatever the data, the json format prints one line of JSON.
func FuzzJSONData(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2]}`, "plain", "\xff\xfe", "{\n}", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := jsonData(data)
		if !json.Valid(out) || strings.ContainsRune(string(out), '\n') {
			t.Fatalf("jsonData(%q) = %q", data, out)
		}
	})
}

// FuzzParseFrom: --from is a known position or an error, never a panic.
func FuzzParseFrom(f *testing.F) {
	for _, s := range []string{"latest", "TRIM_HORIZON", "-5m", "2026-01-02T03:04:05.123+02:00", "-9999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseFrom(s, time.Unix(1e9, 0))
		if err != nil {
			return
		}
		switch p.Type {
		case types.ShardIteratorTypeTrimHorizon, types.ShardIteratorTypeLatest, types.ShardIteratorTypeAtTimestamp:
		default:
			t.Fatalf("parseFrom(%q) = %+v", s, p)
		}
	})
}
