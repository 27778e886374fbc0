// Package eventstream writes AWS event-stream responses
// (application/vnd.amazon.eventstream), the framing of Kinesis's
// streaming operations: each message is a binary frame with typed headers
// and a payload, here JSON or CBOR in the content type of the request.
package eventstream

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/aws/smithy-go/eventstream"
	"github.com/fxamacker/cbor/v2"
)

// ContentType is the HTTP content type of an event stream.
const ContentType = "application/vnd.amazon.eventstream"

// Payload content types, as the Kinesis wire protocol names them.
const (
	JSON = "application/x-amz-json-1.1"
	CBOR = "application/x-amz-cbor-1.1"
)

// Nil slices go out as empty arrays, as in the wire package: the Java SDK
// reads CBOR and does not expect null lists.
var cborEnc = func() cbor.EncMode {
	m, err := cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// Writer writes messages to one response. It is not safe for concurrent
// use.
type Writer struct {
	w     io.Writer
	flush func() error
	enc   *eventstream.Encoder
	ctype string
}

// NewWriter returns a writer whose payloads are encoded as contentType
// (JSON unless it is CBOR). flush, if not nil, runs after every message so
// that each reaches the client at once.
func NewWriter(w io.Writer, flush func() error, contentType string) *Writer {
	if contentType != CBOR {
		contentType = JSON
	}
	return &Writer{w: w, flush: flush, enc: eventstream.NewEncoder(), ctype: contentType}
}

// ContentType is the payload content type.
func (w *Writer) ContentType() string { return w.ctype }

// Event writes an event message of the given type with v as payload.
func (w *Writer) Event(eventType string, v any) error {
	payload, err := w.marshal(v)
	if err != nil {
		return err
	}
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.EventMessageType))
	m.Headers.Set(eventstream.EventTypeHeader, eventstream.StringValue(eventType))
	m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue(w.ctype))
	m.Payload = payload
	return w.write(m)
}

// Exception writes an exception message: the modeled error exceptionType
// with {"message": message} as payload. Clients end the stream on it.
func (w *Writer) Exception(exceptionType, message string) error {
	payload, err := w.marshal(map[string]string{"message": message})
	if err != nil {
		return err
	}
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.ExceptionMessageType))
	m.Headers.Set(eventstream.ExceptionTypeHeader, eventstream.StringValue(exceptionType))
	m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue(w.ctype))
	m.Payload = payload
	return w.write(m)
}

func (w *Writer) marshal(v any) ([]byte, error) {
	if w.ctype == CBOR {
		return cborEnc.Marshal(v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

func (w *Writer) write(m eventstream.Message) error {
	if err := w.enc.Encode(w.w, m); err != nil {
		return err
	}
	if w.flush != nil {
		return w.flush()
	}
	return nil
}
