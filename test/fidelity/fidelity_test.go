// Package fidelity pins AWS's exact responses, one case file per request,
// under testdata/cases. A case is added without code (docs/FIDELITY.md).
package fidelity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
)

// checkHeaders makes every response of every case (setup steps included)
// carry x-amzn-RequestId and x-amz-id-2 as AWS's do. The one switch.
const checkHeaders = true

// What every request is signed as: a 12-digit access key id, which names
// the account 000000000000 in every case's expectations.
const (
	accessKeyID     = "000000000000"
	secretAccessKey = "fidelity"
	region          = "us-east-1"
	targetPrefix    = "Kinesis_20131202."
	defaultType     = "application/x-amz-json-1.1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// caseFile is one file under testdata/cases.
type caseFile struct {
	Name   string          `json:"name"`
	Source json.RawMessage `json:"source"` // a string or a list; read by people
	Note   string          `json:"note,omitempty"`
	Setup  []step          `json:"setup,omitempty"`
	step
}

// step is one request and what AWS answers.
type step struct {
	// Operation is sent as X-Amz-Target Kinesis_20131202.<Operation>.
	Operation string `json:"operation,omitempty"`
	// Target, when set, is sent as X-Amz-Target verbatim (even "").
	Target *string `json:"target,omitempty"`
	// Method defaults to POST.
	Method string `json:"method,omitempty"`
	// Headers are added (and override the defaults). "Content-Type": ""
	// sends none.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the JSON request body; RawBody, when set, is sent verbatim
	// instead.
	Body    json.RawMessage `json:"body,omitempty"`
	RawBody *string         `json:"rawBody,omitempty"`
	// Unsigned sends no Authorization header.
	Unsigned bool `json:"unsigned,omitempty"`
	// Save keeps top-level string fields of the response (variable name to
	// field, e.g. {"token": "NextToken"}); later steps of the case write
	// ${token} anywhere in body or rawBody. For values no file can fix in
	// advance: tokens, sequence numbers, iterators.
	Save map[string]string `json:"save,omitempty"`

	Expect expect `json:"expect"`
}

// expect is the response. Status is required; the rest is checked when set.
type expect struct {
	Status int `json:"status"`
	// Type is the error's __type; "" with an error status means the body
	// must have no __type check (use TypeAbsent for "no message key").
	Type string `json:"type,omitempty"`
	// Message is the exact message ("message" or "Message" in the body);
	// MessageRegex a Go regexp matched against the whole message.
	Message      *string `json:"message,omitempty"`
	MessageRegex string  `json:"messageRegex,omitempty"`
	// NoMessage asserts the body carries no message at all.
	NoMessage bool `json:"noMessage,omitempty"`
	// MessageKey asserts which key holds the message ("message" or
	// "Message").
	MessageKey string `json:"messageKey,omitempty"`
	// ContentType asserts the response's Content-Type.
	ContentType string `json:"contentType,omitempty"`
	// RawBody asserts the exact response body; BodyContains a substring.
	RawBody      *string `json:"rawBody,omitempty"`
	BodyContains string  `json:"bodyContains,omitempty"`
	// JSON asserts fields of a JSON response by top-level key: each value
	// must equal the response's (compared as JSON).
	JSON map[string]json.RawMessage `json:"json,omitempty"`
}

func TestFidelity(t *testing.T) {
	cases := loadCases(t)
	if len(cases) == 0 {
		t.Fatal("no cases under testdata/cases")
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := rivulet.Start(ctx, rivulet.Config{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		srv.HTTPClient().CloseIdleConnections()
	})
	hc := srv.HTTPClient()
	endpoint := srv.Endpoint()
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.path, func(t *testing.T) {
				t.Parallel()
				vars := map[string]string{}
				for i, s := range c.Setup {
					run(t, hc, endpoint, fmt.Sprintf("setup %d (%s)", i+1, s.Operation), s, vars)
				}
				run(t, hc, endpoint, "request", c.step, vars)
			})
		}
	})
}

type loaded struct {
	path string
	caseFile
}

// loadCases reads and checks every case file, failing on one that is
// malformed rather than skipping it.
func loadCases(t *testing.T) []loaded {
	t.Helper()
	var out []loaded
	names := map[string]string{}
	root := filepath.Join("testdata", "cases")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var c caseFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := c.validate(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if prev, ok := names[c.Name]; ok {
			return fmt.Errorf("%s: name %q already used by %s", path, c.Name, prev)
		}
		names[c.Name] = path
		rel, _ := filepath.Rel(root, path)
		out = append(out, loaded{path: strings.TrimSuffix(filepath.ToSlash(rel), ".json"), caseFile: c})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func (c *caseFile) validate() error {
	if c.Name == "" {
		return fmt.Errorf("no name")
	}
	var src any
	if len(c.Source) == 0 || json.Unmarshal(c.Source, &src) != nil || src == "" {
		return fmt.Errorf("no source: every case says where its expectation comes from")
	}
	for i, s := range append(append([]step{}, c.Setup...), c.step) {
		if s.Expect.Status == 0 {
			return fmt.Errorf("step %d: no expect.status", i+1)
		}
		if s.Operation == "" && s.Target == nil {
			return fmt.Errorf("step %d: neither operation nor target", i+1)
		}
		if s.Expect.MessageRegex != "" {
			if _, err := regexp.Compile(s.Expect.MessageRegex); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
		}
	}
	return nil
}

// run sends one step and checks its response; a setup step that fails
// ends the case, since what follows would test nothing.
func run(t *testing.T, hc *http.Client, endpoint, label string, s step, vars map[string]string) {
	t.Helper()
	body := []byte(s.Body)
	if s.RawBody != nil {
		body = []byte(*s.RawBody)
	}
	body = expand(t, body, vars)
	method := s.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	req.Header.Set("Content-Type", defaultType)
	if s.Target != nil {
		req.Header.Set("X-Amz-Target", *s.Target)
	} else {
		req.Header.Set("X-Amz-Target", targetPrefix+s.Operation)
	}
	for k, v := range s.Headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	if !s.Unsigned {
		sum := sha256.Sum256(body)
		err := v4.NewSigner().SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey},
			req, hex.EncodeToString(sum[:]), "kinesis", region, time.Now())
		if err != nil {
			t.Fatalf("%s: sign: %v", label, err)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: reading the body: %v", label, err)
	}
	for _, p := range check(s.Expect, resp, raw) {
		t.Errorf("%s: %s\n\tresponse: %d %s %s", label, p, resp.StatusCode, resp.Header.Get("Content-Type"), clip(raw))
	}
	if label != "request" && resp.StatusCode != s.Expect.Status {
		t.FailNow()
	}
	if len(s.Save) > 0 {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		for name, field := range s.Save {
			v, ok := m[field].(string)
			if !ok {
				t.Fatalf("%s: no string %s in the response to save as %s", label, field, name)
			}
			vars[name] = v
		}
	}
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// expand replaces ${name} with a value saved by an earlier step. Saved
// values are tokens and decimal numbers, so they need no JSON escaping.
func expand(t *testing.T, body []byte, vars map[string]string) []byte {
	t.Helper()
	return varRE.ReplaceAllFunc(body, func(m []byte) []byte {
		v, ok := vars[string(varRE.FindSubmatch(m)[1])]
		if !ok {
			t.Fatalf("%s: no earlier step saved it", m)
		}
		return []byte(v)
	})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// check lists every way the response differs from e.
func check(e expect, resp *http.Response, raw []byte) []string {
	var bad []string
	if resp.StatusCode != e.Status {
		bad = append(bad, fmt.Sprintf("status %d, want %d", resp.StatusCode, e.Status))
	}
	if checkHeaders {
		if id := resp.Header.Get("x-amzn-RequestId"); !uuidRE.MatchString(strings.ToLower(id)) {
			bad = append(bad, fmt.Sprintf("x-amzn-RequestId %q is not a UUID", id))
		}
		id2 := resp.Header.Get("x-amz-id-2")
		if b, err := base64.StdEncoding.DecodeString(id2); err != nil || len(b) < 64 || len(b) > 80 {
			bad = append(bad, fmt.Sprintf("x-amz-id-2 %q is not base64 of 64-80 bytes", id2))
		}
	}
	if e.ContentType != "" && resp.Header.Get("Content-Type") != e.ContentType {
		bad = append(bad, fmt.Sprintf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), e.ContentType))
	}
	if e.RawBody != nil && string(raw) != *e.RawBody {
		bad = append(bad, fmt.Sprintf("body %q, want %q", raw, *e.RawBody))
	}
	if e.BodyContains != "" && !bytes.Contains(raw, []byte(e.BodyContains)) {
		bad = append(bad, fmt.Sprintf("body does not contain %q", e.BodyContains))
	}
	needJSON := e.Type != "" || e.Message != nil || e.MessageRegex != "" || e.NoMessage || e.MessageKey != "" || len(e.JSON) > 0
	if !needJSON {
		return bad
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-amz-cbor") {
		// Compared as JSON: the same keys and strings either way.
		var v map[string]any
		if err := cbor.Unmarshal(raw, &v); err != nil {
			return append(bad, fmt.Sprintf("body is not a CBOR map: %v", err))
		}
		raw, _ = json.Marshal(v)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return append(bad, fmt.Sprintf("body is not a JSON object: %v", err))
	}
	str := func(k string) (string, bool) {
		v, ok := m[k]
		if !ok {
			return "", false
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return string(v), true
		}
		return s, true
	}
	if e.Type != "" {
		if got, _ := str("__type"); got != e.Type {
			bad = append(bad, fmt.Sprintf("__type %q, want %q", got, e.Type))
		}
	}
	msgKey := "message"
	msg, hasMsg := str("message")
	if !hasMsg {
		if msg, hasMsg = str("Message"); hasMsg {
			msgKey = "Message"
		}
	}
	if e.NoMessage && hasMsg {
		bad = append(bad, fmt.Sprintf("%s %q, want none", msgKey, msg))
	}
	if e.MessageKey != "" && (!hasMsg || msgKey != e.MessageKey) {
		bad = append(bad, fmt.Sprintf("message key %q (present %v), want %q", msgKey, hasMsg, e.MessageKey))
	}
	if e.Message != nil && (!hasMsg || msg != *e.Message) {
		bad = append(bad, fmt.Sprintf("message %q, want %q", msg, *e.Message))
	}
	if e.MessageRegex != "" && !regexp.MustCompile("^(?:"+e.MessageRegex+")$").MatchString(msg) {
		bad = append(bad, fmt.Sprintf("message %q does not match %q", msg, e.MessageRegex))
	}
	for k, want := range e.JSON {
		got, ok := m[k]
		if !ok || !jsonEqual(got, want) {
			bad = append(bad, fmt.Sprintf("%s = %s, want %s", k, got, want))
		}
	}
	return bad
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}
