package cloudwatch

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// A response is written from a small tree, so that one description of
// each output serves the three protocols: obj (a structure, members in
// order), list, entries (a map) and the scalars string, float64 and
// time.Time.
type (
	field struct {
		name string
		v    any
	}
	obj     []field
	list    []any
	entries []field
)

// xmlNamespace is the awsQuery responses' namespace.
const xmlNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

// encodeJSON writes t as AWS JSON 1.0: timestamps are epoch seconds.
func encodeJSON(t obj) []byte {
	var b bytes.Buffer
	writeJSON(&b, t)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case obj:
		writeJSONFields(b, v)
	case entries:
		writeJSONFields(b, v)
	case list:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	case float64:
		b.WriteString(jsonFloat(v))
	case time.Time:
		b.WriteString(epochSeconds(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	}
}

func writeJSONFields(b *bytes.Buffer, fs []field) {
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, f.name)
		b.WriteByte(':')
		writeJSON(b, f.v)
	}
	b.WriteByte('}')
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// jsonFloat is a JSON number; values are finite (expressions drop the
// rest), but a stray one is written as 0 rather than as invalid JSON.
func jsonFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func epochSeconds(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
}

var cborEnc = func() cbor.EncMode {
	m, err := cbor.EncOptions{Sort: cbor.SortBytewiseLexical}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// encodeCBOR writes t for Smithy RPC v2 CBOR: timestamps are tag 1 with
// float64 epoch seconds, doubles float64.
func encodeCBOR(t obj) ([]byte, error) {
	return cborEnc.Marshal(cborValue(t))
}

func cborValue(v any) any {
	switch v := v.(type) {
	case obj:
		return cborMap(v)
	case entries:
		return cborMap(v)
	case list:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cborValue(e)
		}
		return out
	case time.Time:
		return cbor.Tag{Number: 1, Content: float64(v.UnixMilli()) / 1000}
	}
	return v
}

func cborMap(fs []field) map[string]any {
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		m[f.name] = cborValue(f.v)
	}
	return m
}

// encodeXML writes an awsQuery response: <OpResponse><OpResult>t
// </OpResult><ResponseMetadata/></OpResponse>.
func encodeXML(op, requestID string, t obj) []byte {
	var b bytes.Buffer
	b.WriteString(`<` + op + `Response xmlns="` + xmlNamespace + `">` + "\n")
	b.WriteString("  <" + op + "Result>\n")
	for _, f := range t {
		writeXML(&b, f.name, f.v, 4)
	}
	b.WriteString("  </" + op + "Result>\n")
	b.WriteString("  <ResponseMetadata>\n    <RequestId>" + requestID + "</RequestId>\n  </ResponseMetadata>\n")
	b.WriteString("</" + op + "Response>\n")
	return b.Bytes()
}

func writeXML(b *bytes.Buffer, name string, v any, indent int) {
	pad := func(n int) {
		for range n {
			b.WriteByte(' ')
		}
	}
	pad(indent)
	switch v := v.(type) {
	case obj:
		b.WriteString("<" + name + ">\n")
		for _, f := range v {
			writeXML(b, f.name, f.v, indent+2)
		}
		pad(indent)
		b.WriteString("</" + name + ">\n")
	case list:
		if len(v) == 0 {
			b.WriteString("<" + name + "/>\n")
			return
		}
		b.WriteString("<" + name + ">\n")
		for _, e := range v {
			writeXML(b, "member", e, indent+2)
		}
		pad(indent)
		b.WriteString("</" + name + ">\n")
	case entries:
		b.WriteString("<" + name + ">\n")
		for _, f := range v {
			pad(indent + 2)
			b.WriteString("<entry>\n")
			writeXML(b, "key", f.name, indent+4)
			writeXML(b, "value", f.v, indent+4)
			pad(indent + 2)
			b.WriteString("</entry>\n")
		}
		pad(indent)
		b.WriteString("</" + name + ">\n")
	default:
		b.WriteString("<" + name + ">")
		b.WriteString(xmlScalar(v))
		b.WriteString("</" + name + ">\n")
	}
}

func xmlScalar(v any) string {
	switch v := v.(type) {
	case string:
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(v)) // writes to a buffer cannot fail
		return b.String()
	case float64:
		return xmlFloat(v)
	case time.Time:
		return v.UTC().Format("2006-01-02T15:04:05.999Z")
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// xmlFloat writes a double as CloudWatch's Java front end does: whole
// numbers keep a ".0".
func xmlFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if a := math.Abs(f); a >= 1e7 || (a != 0 && a < 1e-3) {
		s = strconv.FormatFloat(f, 'E', -1, 64)
		s = javaExponent(s)
	} else if f == math.Trunc(f) {
		s += ".0"
	}
	return s
}

// javaExponent turns Go's "1.5E+07" into Java's "1.5E7" ("1.0E7" for a
// whole mantissa).
func javaExponent(s string) string {
	mant, exp, _ := bytes.Cut([]byte(s), []byte("E"))
	if !bytes.Contains(mant, []byte(".")) {
		mant = append(mant, ".0"...)
	}
	e := string(exp)
	if len(e) > 0 && e[0] == '+' {
		e = e[1:]
	}
	neg := len(e) > 0 && e[0] == '-'
	if neg {
		e = e[1:]
	}
	for len(e) > 1 && e[0] == '0' {
		e = e[1:]
	}
	if neg {
		e = "-" + e
	}
	return string(mant) + "E" + e
}

// errorXML is an awsQuery error response.
func errorXML(typ, code, msg, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + xmlNamespace + `">` + "\n  <Error>\n")
	b.WriteString("    <Type>" + typ + "</Type>\n")
	b.WriteString("    <Code>" + xmlScalar(code) + "</Code>\n")
	b.WriteString("    <Message>" + xmlScalar(msg) + "</Message>\n")
	b.WriteString("  </Error>\n  <RequestId>" + requestID + "</RequestId>\n</ErrorResponse>\n")
	return b.Bytes()
}
