package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var validJSONCases = []string{
	``, ` `, `{}`, ` { } `, `[]`, `[ ]`, `{"a":1}`, `{"a" : [1, 2.5, -0, 1e9, 1E+2, 1e-2]}`, `"x"`, `1`, `-`, `01`, `1.`, `.1`, `1e`,
	`true`, `false`, `null`, `tru`, `nul`, `nulll`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a":1 "b":2}`,
	`[1 2]`, `{]`, `[}`, `[[[]]]`, `[[[]]`, `{"a":{"b":{"c":[]}}}`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\u00g0"`, `"\x"`, `"\`,
	`"abc`, "\"a\x01b\"", "\"\x7f\"", "\"\xff\xfe\"", `"12345678\"12345678"`, `"1234567\\"`, `{"Data":"QUJDREVGR0hJSktMTU5PUA=="}`,
	"{\"a\":1}\n", "{\"a\":1}x", `{"a":1}{}`, "\t[\r\n1\r\n]\t", `{"a":tRue}`, `-01`, `-0.0e0`, `1.5e+`, `[-]`, `{"":""}`,
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range validJSONCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// encoding/json refuses nesting deeper than 10000; so must validJSON.
func TestValidJSONDepthLimit(t *testing.T) {
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"k":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			b := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d %q: validJSON %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
}

// Every byte value at every offset of a string's 8-byte word.
func TestValidJSONStringBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			s := bytes.Repeat([]byte{'A'}, 17)
			s[pos] = byte(c)
			b := append(append([]byte{'"'}, s...), '"')
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Fatalf("byte %#x at %d: validJSON %v, json.Valid %v", c, pos, got, want)
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	body := []byte(`{"StreamName":"s","Records":[` + strings.Repeat(`{"PartitionKey":"pk-1","Data":"`+strings.Repeat("QUJD", 342)+`"},`, 499) + `{"PartitionKey":"pk","Data":"QUJD"}]}`)
	for _, impl := range []struct {
		name string
		fn   func([]byte) bool
	}{{"encoding-json", json.Valid}, {"validJSON", validJSON}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !impl.fn(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func TestPlainASCII(t *testing.T) {
	for c := 0; c < 256; c++ {
		for n := 1; n < 20; n++ {
			for pos := 0; pos < n; pos++ {
				b := bytes.Repeat([]byte{'A'}, n)
				b[pos] = byte(c)
				want := c != '\\' && c < 0x80
				if got := plainASCII(b); got != want {
					t.Fatalf("byte %#x at %d of %d: plainASCII %v, want %v", c, pos, n, got, want)
				}
			}
		}
	}
	if !plainASCII(nil) {
		t.Fatal("empty text is plain")
	}
}
