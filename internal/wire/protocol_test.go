package wire

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/kinesis"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

const (
	xmlAccessDenied = "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n"
	jsonUnknown     = `{"__type":"UnknownOperationException"}`
	jsonSerial      = `{"__type":"SerializationException"}`
	coralUnknown    = `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`
	coralSerial     = `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`
	listStreams     = TargetPrefix + ".ListStreams"
)

// The CBOR bodies kinesalite sends, byte for byte.
var (
	cborUnknown = mustHex("bf665f5f747970657819" + hex.EncodeToString([]byte("UnknownOperationException")) + "ff")
	cborSerial  = mustHex("bf665f5f7479706576" + hex.EncodeToString([]byte("SerializationException")) + "ff")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestProtocolErrors follows kinesalite's connection tests, which were
// checked against AWS.
func TestProtocolErrors(t *testing.T) {
	h, _, _ := testHandler(t)
	noAuth := func(target, ct string) map[string]string {
		return map[string]string{"X-Amz-Target": target, "Content-Type": ct}
	}
	withAuth := func(target, ct, authz string, extra ...string) map[string]string {
		m := map[string]string{"X-Amz-Target": target, "Content-Type": ct, "Authorization": authz}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	incompleteX := "Authorization header requires 'Credential' parameter. " +
		"Authorization header requires 'Signature' parameter. " +
		"Authorization header requires 'SignedHeaders' parameter. " +
		"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
		"Authorization=X"
	allQuery := "AWS query-string parameters must include 'X-Amz-Algorithm'. " +
		"AWS query-string parameters must include 'X-Amz-Credential'. " +
		"AWS query-string parameters must include 'X-Amz-Signature'. " +
		"AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
		"AWS query-string parameters must include 'X-Amz-Date'. " +
		"Re-examine the query-string parameters."

	tests := []struct {
		name      string
		method    string
		path      string
		headers   map[string]string
		body      string
		status    int
		ct        string // "" means no Content-Type header
		want      []byte
		errorType string
	}{
		{"GET", "GET", "/", nil, "", 403, "", []byte(xmlAccessDenied), ""},
		{"PUT", "PUT", "/", nil, "", 403, "", []byte(xmlAccessDenied), ""},
		{"DELETE", "DELETE", "/", nil, "", 403, "", []byte(xmlAccessDenied), ""},
		{"GET signed", "GET", "/", signed(listStreams, ContentTypeJSON), "", 403, "", []byte(xmlAccessDenied), ""},
		{"POST nothing", "POST", "/", nil, "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty json-1.0", "POST", "/", noAuth("", "application/x-amz-json-1.0"), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty random type", "POST", "/", noAuth("", "application/x-amz-json-1.1asdf"), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty random target", "POST", "/", noAuth("Whatever", ""), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty empty action", "POST", "/", noAuth(TargetPrefix+".", ""), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty random action", "POST", "/", noAuth(TargetPrefix+".Whatever", ""), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty incomplete action", "POST", "/", noAuth(TargetPrefix+".ListStream", ""), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty no type", "POST", "/", noAuth(listStreams, ""), "", 400, ContentTypeCBOR, cborSerial, "SerializationException"},
		{"POST empty plain json", "POST", "/", noAuth("", "application/json"), "", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"POST empty plain json target", "POST", "/", noAuth(listStreams, "application/json"), "", 400, ContentTypeCBOR, cborSerial, "SerializationException"},
		{"POST empty cbor target", "POST", "/", noAuth(listStreams, ContentTypeCBOR), "", 400, ContentTypeCBOR, cborSerial, "SerializationException"},
		{"body no type", "POST", "/", nil, "{}", 403, "", []byte(xmlAccessDenied), ""},
		{"body no type bad target", "POST", "/", noAuth("Whatever", ""), "{}", 403, "", []byte(xmlAccessDenied), ""},
		{"body no type target", "POST", "/", noAuth(listStreams, ""), "{}", 404, "", []byte("<UnknownOperationException/>\n"), ""},
		{"body json-1.0 target", "POST", "/", noAuth(listStreams, "application/x-amz-json-1.0"), "{}", 404, "", []byte("<UnknownOperationException/>\n"), ""},
		{"json no target", "POST", "/", noAuth("", ContentTypeJSON), "", 400, ContentTypeJSON, []byte(jsonUnknown), "UnknownOperationException"},
		{"json no body", "POST", "/", noAuth(listStreams, ContentTypeJSON), "", 400, ContentTypeJSON, []byte(jsonSerial), "SerializationException"},
		{"json not json", "POST", "/", noAuth(listStreams, ContentTypeJSON), "hello", 400, ContentTypeJSON, []byte(jsonSerial), "SerializationException"},
		{"json null", "POST", "/", noAuth(listStreams, ContentTypeJSON), "null", 400, ContentTypeJSON, []byte(jsonSerial), "SerializationException"},
		{"json trailing", "POST", "/", noAuth(listStreams, ContentTypeJSON), "{} {}", 400, ContentTypeJSON, []byte(jsonSerial), "SerializationException"},
		{"json not json bad target", "POST", "/", noAuth("Whatever", ContentTypeJSON), "hello", 400, ContentTypeJSON, []byte(jsonSerial), "SerializationException"},
		{"json bad target", "POST", "/", noAuth(TargetPrefix+".Whatever", ContentTypeJSON), "{}", 400, ContentTypeJSON, []byte(jsonUnknown), "UnknownOperationException"},
		{"json bad service", "POST", "/", noAuth("Kinesis_20131203.ListStreams", ContentTypeJSON), "{}", 400, ContentTypeJSON, []byte(jsonUnknown), "UnknownOperationException"},
		{"plain json", "POST", "/", noAuth(listStreams, "application/json"), "{}", 404, "application/json", []byte(coralUnknown), ""},
		{"plain json no target", "POST", "/", noAuth("", "application/json"), "{}", 404, "application/json", []byte(coralUnknown), ""},
		{"plain json not json", "POST", "/", noAuth(listStreams, "application/json"), "hello", 404, "application/json", []byte(coralSerial), ""},
		{"plain json spaces", "POST", "/", noAuth(listStreams, "     application/json     ;"), "hello", 404, "application/json", []byte(coralSerial), ""},
		{"no auth", "POST", "/", noAuth(listStreams, ContentTypeJSON), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`), "MissingAuthenticationTokenException"},
		{"no auth type with spaces", "POST", "/", noAuth(listStreams, "   application/x-amz-json-1.1   ;whatever"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`), "MissingAuthenticationTokenException"},
		{"auth X", "POST", "/", withAuth(listStreams, ContentTypeJSON, "X"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"` + incompleteX + `"}`), "IncompleteSignatureException"},
		{"auth X and near query", "POST", "/?X-Amz-Algorith", withAuth(listStreams, ContentTypeJSON, "X"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"` + incompleteX + `"}`), "IncompleteSignatureException"},
		{"query without algorithm", "POST", "/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d", noAuth(listStreams, ContentTypeJSON), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`), "MissingAuthenticationTokenException"},
		{"header and query", "POST", "/?X-Amz-Algorithm", withAuth(listStreams, ContentTypeJSON, "X"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"InvalidSignatureException","message":"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}`), "InvalidSignatureException"},
		{"header spaces", "POST", "/", withAuth(listStreams, ContentTypeJSON, "AWS4- Signature=b Credential=a", "Date", "a"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a"}`), "IncompleteSignatureException"},
		{"header comma", "POST", "/", withAuth(listStreams, ContentTypeJSON, "AWS4- Signature=b,Credential=a", "Date", "a"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b,Credential=a"}`), "IncompleteSignatureException"},
		{"header comma space", "POST", "/", withAuth(listStreams, ContentTypeJSON, "AWS4- Signature=b, Credential=a", "Date", "a"), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b, Credential=a"}`), "IncompleteSignatureException"},
		{"empty algorithm query", "POST", "/?X-Amz-Algorithm", noAuth(listStreams, ContentTypeJSON), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"` + allQuery + `"}`), "IncompleteSignatureException"},
		{"query missing signed headers", "POST", "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d", noAuth(listStreams, ContentTypeJSON), "{}", 400, ContentTypeJSON,
			[]byte(`{"__type":"IncompleteSignatureException","message":"AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."}`), "IncompleteSignatureException"},
		{"cbor not cbor", "POST", "/", noAuth(listStreams, ContentTypeCBOR), "\xff\xff", 400, ContentTypeCBOR, cborSerial, "SerializationException"},
		{"cbor not a map", "POST", "/", noAuth(listStreams, ContentTypeCBOR), "\x80", 400, ContentTypeCBOR, cborSerial, "SerializationException"},
		{"cbor bad target", "POST", "/", noAuth(TargetPrefix+".Whatever", ContentTypeCBOR), "\xa0", 400, ContentTypeCBOR, cborUnknown, "UnknownOperationException"},
		{"cbor no auth", "POST", "/", noAuth(listStreams, ContentTypeCBOR), "\xa0", 400, ContentTypeCBOR,
			mustHex("bf665f5f747970657823" + hex.EncodeToString([]byte("MissingAuthenticationTokenException")) +
				"676d657373616765781c" + hex.EncodeToString([]byte("Missing Authentication Token")) + "ff"),
			"MissingAuthenticationTokenException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			path := tc.path
			r := serve(t, h, tc.method, path, tc.headers, body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d", r.status, tc.status)
			}
			if !bytes.Equal(r.body, tc.want) {
				t.Errorf("body\n%q\nwant\n%q", r.body, tc.want)
			}
			if ct, ok := r.header["Content-Type"]; tc.ct == "" && ok && len(ct) > 0 {
				t.Errorf("Content-Type %q, want none", ct)
			} else if tc.ct != "" && r.header.Get("Content-Type") != tc.ct {
				t.Errorf("Content-Type %q, want %q", r.header.Get("Content-Type"), tc.ct)
			}
			if got := r.get(headerErrorType); got != tc.errorType {
				t.Errorf("x-amzn-ErrorType %q, want %q", got, tc.errorType)
			}
			if id := r.get(headerRequestID); !uuidRE.MatchString(id) {
				t.Errorf("x-amzn-RequestId %q is not a UUID", id)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	h, _, _ := testHandler(t)
	a := callJSON(t, h, "ListStreams", "{}")
	b := callJSON(t, h, "ListStreams", "{}")
	if a.get(headerRequestID) == b.get(headerRequestID) {
		t.Fatalf("two requests share id %s", a.get(headerRequestID))
	}
	if _, ok := a.header[headerRequestID]; !ok {
		t.Fatalf("request id header not spelt %s: %v", headerRequestID, a.header)
	}
}

func TestBodyTooLarge(t *testing.T) {
	rec := &recorder{}
	h := New(fakeOps(rec), Options{MaxBodyBytes: 64})
	big := `{"StreamName":"` + string(bytes.Repeat([]byte("a"), 100)) + `"}`
	r := serve(t, h, "POST", "/", signed(listStreams, ContentTypeJSON), []byte(big))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", r.status)
	}
	if len(r.body) != 0 || !uuidRE.MatchString(r.get(headerRequestID)) {
		t.Fatalf("body %q, id %q", r.body, r.get(headerRequestID))
	}
	// Without a Content-Length the limit still applies while reading.
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(big)))
	for k, v := range signed(listStreams, ContentTypeJSON) {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d, want 413", w.Code)
	}
	// At the limit is fine.
	ok := `{"StreamName":"` + string(bytes.Repeat([]byte("a"), 64-17)) + `"}`
	if len(ok) != 64 {
		t.Fatalf("bad fixture length %d", len(ok))
	}
	if r := serve(t, h, "POST", "/", signed(listStreams, ContentTypeJSON), []byte(ok)); r.status != 200 {
		t.Fatalf("status %d at the limit: %s", r.status, r.body)
	}
	if DefaultMaxBodyBytes < (10<<20)*4/3+500*256*12 {
		t.Fatalf("default cap %d below the largest legal PutRecords", DefaultMaxBodyBytes)
	}
}

func TestCORS(t *testing.T) {
	h, _, _ := testHandler(t)
	r := serve(t, h, "OPTIONS", "/", map[string]string{
		"Origin": "http://x", "Access-Control-Request-Headers": "a, b", "Access-Control-Request-Method": "POST",
	}, nil)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Headers") != "a, b" || r.header.Get("Access-Control-Allow-Methods") != "POST" ||
		r.header.Get("Access-Control-Max-Age") != "172800" || len(r.body) != 0 {
		t.Fatalf("preflight: %d %v %q", r.status, r.header, r.body)
	}
	hdr := signed(listStreams, ContentTypeJSON)
	hdr["Origin"] = "http://x"
	r = serve(t, h, "POST", "/", hdr, []byte("{}"))
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!contains(r.header.Get("Access-Control-Expose-Headers"), "x-amzn-RequestId") {
		t.Fatalf("cors post: %d %v", r.status, r.header)
	}
	// OPTIONS without Origin is just another non-POST.
	if r := serve(t, h, "OPTIONS", "/", nil, nil); r.status != 403 {
		t.Fatalf("OPTIONS without origin: %d", r.status)
	}
}

type streamOutput struct{}

func (streamOutput) Respond(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("events for " + kinesis.CallerFrom(r.Context()).Region))
}

func TestResponder(t *testing.T) {
	ops := map[string]kinesis.Operation{"SubscribeToShard": kinesis.Op("SubscribeToShard",
		func(context.Context, *api.ListStreamsInput) (*streamOutput, error) { return &streamOutput{}, nil })}
	h := New(ops, Options{})
	r := serve(t, h, "POST", "/", signed(TargetPrefix+".SubscribeToShard", ContentTypeJSON), []byte("{}"))
	if r.status != 200 || string(r.body) != "events for us-west-2" ||
		r.header.Get("Content-Type") != "application/vnd.amazon.eventstream" || !uuidRE.MatchString(r.get(headerRequestID)) {
		t.Fatalf("%d %v %q", r.status, r.header, r.body)
	}
}

func TestHEAD(t *testing.T) {
	h, _, _ := testHandler(t)
	r := serve(t, h, "HEAD", "/", nil, nil)
	if r.status != 403 || len(r.body) != 0 {
		t.Fatalf("%d %q", r.status, r.body)
	}
}
