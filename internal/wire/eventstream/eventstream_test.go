package eventstream

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/smithy-go/eventstream"
	"github.com/fxamacker/cbor/v2"
)

func decodeAll(t *testing.T, b []byte) []eventstream.Message {
	t.Helper()
	var out []eventstream.Message
	r := bytes.NewReader(b)
	dec := eventstream.NewDecoder()
	for r.Len() > 0 {
		m, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		m.Payload = append([]byte(nil), m.Payload...)
		out = append(out, m)
	}
	return out
}

func header(m eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

type payload struct {
	Records []string `json:"Records"`
	Blob    []byte   `json:"Blob"`
	Note    string   `json:"Note,omitempty"`
}

func TestJSONEventsAndException(t *testing.T) {
	var buf bytes.Buffer
	flushes := 0
	w := NewWriter(&buf, func() error { flushes++; return nil }, "application/json") // not CBOR: JSON
	if w.ContentType() != JSON {
		t.Fatalf("content type %s", w.ContentType())
	}
	if err := w.Event("initial-response", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Event("SubscribeToShardEvent", payload{Blob: []byte{0, 1}, Note: "<&>"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Exception("ResourceInUseException", "taken over"); err != nil {
		t.Fatal(err)
	}
	if flushes != 3 {
		t.Fatalf("%d flushes for 3 messages", flushes)
	}
	msgs := decodeAll(t, buf.Bytes())
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := []struct{ mtype, etype, xtype, body string }{
		{"event", "initial-response", "", `{}`},
		{"event", "SubscribeToShardEvent", "", `{"Records":null,"Blob":"AAE=","Note":"<&>"}`},
		{"exception", "", "ResourceInUseException", `{"message":"taken over"}`},
	}
	for i, m := range msgs {
		w := want[i]
		if header(m, ":message-type") != w.mtype || header(m, ":event-type") != w.etype ||
			header(m, ":exception-type") != w.xtype || header(m, ":content-type") != JSON || string(m.Payload) != w.body {
			t.Errorf("message %d: headers %v payload %s", i, m.Headers, m.Payload)
		}
	}
}

func TestCBORPayloads(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil, CBOR)
	if err := w.Event("SubscribeToShardEvent", payload{Blob: []byte{7}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Exception("ResourceNotFoundException", "gone"); err != nil {
		t.Fatal(err)
	}
	msgs := decodeAll(t, buf.Bytes())
	var p map[string]any
	if err := cbor.Unmarshal(msgs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	// Nil lists are empty arrays in CBOR, and blobs are byte strings.
	if recs, ok := p["Records"].([]any); !ok || len(recs) != 0 || !bytes.Equal(p["Blob"].([]byte), []byte{7}) {
		t.Fatalf("CBOR payload %#v", p)
	}
	var e map[string]string
	if err := cbor.Unmarshal(msgs[1].Payload, &e); err != nil || e["message"] != "gone" || header(msgs[1], ":content-type") != CBOR {
		t.Fatalf("CBOR exception %v %v", e, err)
	}
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("boom")
	w := NewWriter(failWriter{boom}, nil, JSON)
	if err := w.Event("x", struct{}{}); !errors.Is(err, boom) {
		t.Fatalf("write error %v", err)
	}
	w = NewWriter(&bytes.Buffer{}, func() error { return boom }, JSON)
	if err := w.Exception("x", "y"); !errors.Is(err, boom) {
		t.Fatalf("flush error %v", err)
	}
	if err := w.Event("x", func() {}); err == nil {
		t.Fatal("an unencodable payload was accepted")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
