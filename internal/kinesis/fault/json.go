package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/readfile"
)

// ruleJSON is a Rule on the wire: lower-case names, latency as a Go
// duration string ("250ms"), and a rate whose absence can be told apart
// from 0.
type ruleJSON struct {
	Op      string   `json:"op,omitempty"`
	Stream  string   `json:"stream,omitempty"`
	Error   string   `json:"error,omitempty"`
	Message string   `json:"message,omitempty"`
	Rate    *float64 `json:"rate,omitempty"`
	Every   int      `json:"every,omitempty"`
	Latency string   `json:"latency,omitempty"`
	Count   int      `json:"count,omitempty"`
	Entries bool     `json:"entries,omitempty"`
}

// MarshalJSON writes the form Parse reads.
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{Op: r.Op, Stream: r.Stream, Error: r.Error, Message: r.Message,
		Every: r.Every, Count: r.Count, Entries: r.Entries}
	if r.Rate > 0 {
		j.Rate = &r.Rate
	}
	if r.Latency > 0 {
		j.Latency = r.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads one rule strictly and validates it.
func (r *Rule) UnmarshalJSON(data []byte) error {
	var j ruleJSON
	if err := strictDecode(data, &j); err != nil {
		return err
	}
	out := Rule{Op: j.Op, Stream: j.Stream, Error: j.Error, Message: j.Message,
		Every: j.Every, Count: j.Count, Entries: j.Entries}
	if j.Rate != nil {
		if *j.Rate == 0 {
			return errors.New("rate 0 never fires: omit rate to fire on every matching call, or remove the rule")
		}
		out.Rate = *j.Rate
	}
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("latency %q is not a duration like 250ms or 2s", j.Latency)
		}
		out.Latency = d
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*r = out
	return nil
}

// Parse reads a JSON array of rules.
func Parse(data []byte) ([]Rule, error) {
	var raw []json.RawMessage
	if err := strictDecode(data, &raw); err != nil {
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
			return nil, errors.New("want a JSON array of rules, [ {...}, ... ], not a single object")
		}
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("want a JSON array of rules, not null")
	}
	rules := make([]Rule, len(raw))
	for i, m := range raw {
		if err := rules[i].UnmarshalJSON(m); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
	}
	return rules, nil
}

// ParseRule reads one rule, a JSON object.
func ParseRule(data []byte) (Rule, error) {
	var r Rule
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return r, errors.New("want one rule, a JSON object")
	}
	if err := r.UnmarshalJSON(data); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// maxFile bounds a rules file, so a wrong @path is not read whole.
const maxFile = 1 << 20

// Load reads the --faults setting: inline JSON, or @path of a file
// holding it. Empty means no rules.
func Load(v string) ([]Rule, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return Parse([]byte(v))
	}
	data, err := readfile.Limited(path, maxFile)
	if err != nil {
		return nil, fmt.Errorf("faults file: %w", err)
	}
	rules, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}

// strictDecode decodes exactly one JSON value with no unknown fields.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// jsonError rewords decoding errors without Go type names.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("%s: wrong type (JSON %s)", te.Field, te.Value)
		}
		return fmt.Errorf("wrong type (JSON %s)", te.Value)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("empty input")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s (fields: op, stream, error, message, rate, every, latency, count, entries)", f)
	}
	return err
}
