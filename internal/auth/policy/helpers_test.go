package policy

import (
	"strings"
	"testing"
)

const (
	acct      = "123456789012"
	otherAcct = "210987654321"
	alice     = "arn:aws:iam::123456789012:user/alice"
	bob       = "arn:aws:iam::123456789012:user/bob"
	mallory   = "arn:aws:iam::210987654321:user/mallory"
	session   = "arn:aws:sts::123456789012:assumed-role/Reader/app-1"
	roleARN   = "arn:aws:iam::123456789012:role/Reader"
	orders    = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
	consumer  = "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c1:1700000000"
)

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func parseAll(t testing.TB, docs []string) []*Policy {
	t.Helper()
	out := make([]*Policy, 0, len(docs))
	for _, d := range docs {
		out = append(out, mustParse(t, d))
	}
	return out
}

// ctx builds a request context from "key=v1,v2" pairs; "key=" is a key
// present with no values.
func ctx(pairs ...string) map[string][]string {
	m := make(map[string][]string, len(pairs))
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		if v == "" {
			m[k] = []string{}
			continue
		}
		m[k] = strings.Split(v, ",")
	}
	return m
}

// evalCase is one request against identity and resource policies.
type evalCase struct {
	name     string
	identity []string
	resource []string
	req      Request
	want     Decision
	source   string // checked when not empty
	sid      string // checked when not empty
}

func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(tc.req, parseAll(t, tc.identity), parseAll(t, tc.resource))
			if got.Decision != tc.want {
				t.Fatalf("decision = %v (%+v), want %v", got.Decision, got, tc.want)
			}
			if tc.source != "" && got.Source != tc.source {
				t.Errorf("source = %q, want %q", got.Source, tc.source)
			}
			if tc.sid != "" && got.Sid != tc.sid {
				t.Errorf("sid = %q, want %q", got.Sid, tc.sid)
			}
			if got.Decision == ImplicitDeny && (got.Source != "" || got.Sid != "") {
				t.Errorf("implicit deny carries source %q sid %q", got.Source, got.Sid)
			}
		})
	}
}
