package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func TestTimeJSON(t *testing.T) {
	for ms, want := range map[int64]string{
		1506440188749: "1506440188.749",
		1506440188700: "1506440188.7",
		1506440188000: "1506440188",
		1506440188001: "1506440188.001",
		0:             "0",
		-1500:         "-1.5",
		-250:          "-0.25",
	} {
		got, err := json.Marshal(Time{time.UnixMilli(ms)})
		if err != nil || string(got) != want {
			t.Errorf("%d: got %s want %s", ms, got, want)
		}
		var back Time
		if err := json.Unmarshal(got, &back); err != nil || back.UnixMilli() != ms {
			t.Errorf("%d: round trip gave %d %v", ms, back.UnixMilli(), err)
		}
	}
	// Exponent form is never written, even for large values.
	b, _ := json.Marshal(Time{time.UnixMilli(9999999999999)})
	if bytes.ContainsAny(b, "eE") {
		t.Fatalf("exponent in %s", b)
	}
	var tm Time
	if err := json.Unmarshal([]byte(`"2017-09-26T15:36:28.749Z"`), &tm); err != nil || tm.UnixMilli() != 1506440188749 {
		t.Fatalf("RFC 3339: %v %v", tm, err)
	}
	if err := json.Unmarshal([]byte(`"soon"`), &tm); err == nil {
		t.Fatal("bad string accepted")
	}
}

func TestTimeCBOR(t *testing.T) {
	b, err := cbor.Marshal(Time{time.UnixMilli(1506440188749)})
	if err != nil {
		t.Fatal(err)
	}
	// c1 = tag 1, 1b = uint64 follows: integer milliseconds, not seconds.
	if want := []byte{0xc1, 0x1b, 0, 0, 0x01, 0x5e, 0xbe, 0xd5, 0x13, 0x4d}; !bytes.Equal(b, want) {
		t.Fatalf("got %x want %x", b, want)
	}
	var back Time
	if err := cbor.Unmarshal(b, &back); err != nil || back.UnixMilli() != 1506440188749 {
		t.Fatalf("round trip %v %v", back, err)
	}
	// A float inside tag 1 follows RFC 8949: seconds.
	f, _ := cbor.Marshal(cbor.Tag{Number: 1, Content: 1506440188.5})
	if err := cbor.Unmarshal(f, &back); err != nil || back.UnixMilli() != 1506440188500 {
		t.Fatalf("float seconds: %v %v", back.UnixMilli(), err)
	}
	bad, _ := cbor.Marshal(cbor.Tag{Number: 0, Content: "2017"})
	if err := cbor.Unmarshal(bad, &back); err == nil {
		t.Fatal("tag 0 accepted")
	}
}

func FuzzTimeJSON(f *testing.F) {
	for _, s := range []string{"1506440188.749", "0", "-1", `"2017-09-26T15:36:28.749Z"`, "1e3", "NaN", `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm Time
		if tm.UnmarshalJSON(b) != nil {
			return
		}
		out, err := json.Marshal(tm)
		if err != nil || strings.ContainsAny(string(out), "eE") {
			t.Fatalf("%q re-encoded as %s (%v)", b, out, err)
		}
	})
}

func FuzzTimeCBOR(f *testing.F) {
	for _, v := range []any{cbor.Tag{Number: 1, Content: 1}, cbor.Tag{Number: 1, Content: 1.5}, 7, "x", cbor.Tag{Number: 2, Content: 1}} {
		b, _ := cbor.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm Time
		if tm.UnmarshalCBOR(b) != nil {
			return
		}
		enc, err := cbor.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		var back Time
		if err := cbor.Unmarshal(enc, &back); err != nil || back.UnixMilli() != tm.UnixMilli() {
			t.Fatalf("round trip of %x: %v", b, err)
		}
	})
}
