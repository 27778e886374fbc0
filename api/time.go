package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Time is a Kinesis timestamp. On the JSON wire it is epoch seconds with a
// fraction (never in exponent form); on the CBOR wire it is tag 1 wrapping an
// integer count of epoch milliseconds, which is what the Java SDK expects
// even though RFC 8949 says seconds.
type Time struct{ time.Time }

// NewTime truncates t to milliseconds, the wire precision.
func NewTime(t time.Time) *Time { return &Time{t.Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds with up to three decimals.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	var b []byte
	if ms < 0 {
		b, ms = append(b, '-'), -ms
	}
	sec, frac := ms/1000, ms%1000
	b = strconv.AppendInt(b, sec, 10)
	if frac != 0 {
		f := strconv.AppendInt([]byte{'.'}, 1000+frac, 10)
		f = append(f[:1], f[2:]...) // drop the leading 1 that kept the zeros
		b = append(b, bytes.TrimRight(f, "0")...)
	}
	return b, nil
}

// ErrTimeFormat is returned for a timestamp that is neither a number nor an
// ISO-8601 string.
var ErrTimeFormat = errors.New("api: bad timestamp")

// UnmarshalJSON accepts epoch seconds (integer or fraction) or an RFC 3339
// string, as the AWS SDKs may send either.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = p
			return nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return ErrTimeFormat
		}
		return t.setSeconds(f)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return ErrTimeFormat
	}
	return t.setSeconds(f)
}

// maxMillis bounds timestamps to what a JavaScript Date holds (year
// 275760), far beyond any real use and far from int64 overflow.
const maxMillis = 8.64e15

func (t *Time) setSeconds(f float64) error {
	ms := math.Round(f * 1000)
	if math.IsNaN(ms) || math.Abs(ms) > maxMillis {
		return ErrTimeFormat
	}
	t.Time = time.UnixMilli(int64(ms))
	return nil
}

func (t *Time) setMillis(ms int64) error {
	if ms > maxMillis || ms < -maxMillis {
		return ErrTimeFormat
	}
	t.Time = time.UnixMilli(ms)
	return nil
}

// MarshalCBOR writes tag 1 around integer epoch milliseconds.
func (t Time) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(cbor.Tag{Number: 1, Content: t.UnixMilli()})
}

// UnmarshalCBOR reads tag 1 around integer milliseconds (the Java SDK's
// convention) or around a float of seconds (RFC 8949), and also a bare number.
func (t *Time) UnmarshalCBOR(b []byte) error {
	var raw cbor.RawTag
	var content cbor.RawMessage = b
	if err := cbor.Unmarshal(b, &raw); err == nil {
		if raw.Number != 1 {
			return ErrTimeFormat
		}
		content = raw.Content
	}
	var v any
	if err := cbor.Unmarshal(content, &v); err != nil {
		return ErrTimeFormat
	}
	switch n := v.(type) {
	case uint64:
		if n > maxMillis {
			return ErrTimeFormat
		}
		return t.setMillis(int64(n))
	case int64:
		return t.setMillis(n)
	case float64:
		return t.setSeconds(n)
	}
	return ErrTimeFormat
}
