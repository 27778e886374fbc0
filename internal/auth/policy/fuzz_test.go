package policy

import (
	"strings"
	"testing"
)

const denyEverything = `{"Statement":{"Sid":"DenyAll","Effect":"Deny","Action":"*","Resource":"*"}}`
const denyEveryoneRes = `{"Statement":{"Sid":"DenyAllRes","Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}`

var fuzzRequests = []Request{
	{Principal: alice, Action: "kinesis:PutRecord", Resource: orders},
	{Principal: session, Action: "kinesis:SubscribeToShard", Resource: consumer,
		Context: map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "aws:SecureTransport": {"true"}, "aws:TagKeys": {"a", "b"}}},
	{Action: "kinesis:ListStreams", Resource: "*"},
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		allowAll, denyPut, resAllowAlice, resDenyAll,
		`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["kinesis:Get*"],"NotResource":"arn:aws:kinesis:*:*:stream/a"}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/bob","123456789012"]},"Action":"kinesis:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLikeIfExists":{"aws:a":["x*"]},"ForAllValues:StringNotEquals":{"aws:TagKeys":["a"]},"NumericLessThan":{"s3:n":1e2},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"},"Bool":{"aws:SecureTransport":true},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"ArnLike":{"aws:SourceArn":"arn:aws:*"},"Null":{"aws:x":"false"},"BinaryEquals":{"k:b":"AA=="}}}}`,
		`{"Statement":[]}`, `[`, `{"Statement":{"Effect":"allow"}}`, `{"a":1,"a":2}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	deny := mustParse(f, denyEverything)
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			var pe *Error
			if pe, _ = err.(*Error); pe == nil || pe.Message == "" {
				t.Fatalf("error %T %v is not a *Error with a message", err, err)
			}
			return
		}
		_ = p.ValidateIdentity()
		_ = p.ValidateResource()
		for _, req := range fuzzRequests {
			for _, r := range []Result{
				Evaluate(req, []*Policy{p}, nil),
				Evaluate(req, nil, []*Policy{p}),
				Evaluate(req, []*Policy{p}, []*Policy{p}),
			} {
				if (DeniedMessage(req, r) == "") != (r.Decision == Allow) {
					t.Fatalf("DeniedMessage/decision mismatch: %+v", r)
				}
			}
			if r := Evaluate(req, []*Policy{p, deny}, []*Policy{p}); r.Decision != ExplicitDeny {
				t.Fatalf("Deny * did not win: %+v", r)
			}
		}
	})
}

// fuzzPolicies cover every operator family on keys FuzzEvaluate sets.
var fuzzPolicyDocs = []string{
	allowAll, denyPut, resAllowAlice, resDenyAll,
	`{"Statement":[{"Effect":"Allow","Action":"kinesis:Get*","Resource":"arn:aws:kinesis:*:123456789012:stream/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"Bool":{"aws:SecureTransport":"true"}}},
		{"Effect":"Deny","NotAction":"kinesis:Describe*","NotResource":"arn:aws:kinesis:*:*:stream/public*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"192.168.0.0/16"}}}]}`,
	`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/Reader"]},"Action":"*","Resource":"*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","b?"]},"ForAnyValue:StringNotEquals":{"k:set":["x"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericGreaterThanEquals":{"k:num":"-3.5"}}}}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::123456789012:user/bob","123456789012"]},"Action":"kinesis:Put*","Resource":"*","Condition":{"ArnNotLike":{"aws:SourceArn":"arn:aws:kinesis:*:*:stream/*"},"Null":{"k:gone":"true"},"StringEqualsIgnoreCase":{"k:s":["Abc","DEF"]},"BinaryEquals":{"k:bin":"AAEC"}}}}`,
}

// negationPairs are operators whose positive and negated forms must
// disagree whenever the key is present.
var negationPairs = [][2]string{
	{"StringEquals", "StringNotEquals"},
	{"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"},
	{"StringLike", "StringNotLike"},
	{"NumericEquals", "NumericNotEquals"},
	{"DateEquals", "DateNotEquals"},
	{"IpAddress", "NotIpAddress"},
	{"ArnLike", "ArnNotLike"},
}

func FuzzEvaluate(f *testing.F) {
	f.Add(alice, "", "kinesis:PutRecord", orders, "10.1.2.3", "true", "2024-01-01T00:00:00Z", "a1,b2", "x", "5")
	f.Add(session, acct, "kinesis:GetRecords", consumer, "::ffff:10.0.0.1", "TRUE", "1700000000", "", "", "")
	f.Add("", "", "KINESIS:*", "*", "junk", "maybe", "later", ",,", "1e400", "AAEC")
	f.Add(bob, otherAcct, "kinesis:PutRecords", "arn:aws:kinesis:us-east-1:1:stream/public-x", "192.168.1.1", "false", "2031-01-01", "c", "x,y", "-3.5")

	identity := parseAll(f, fuzzPolicyDocs)
	resource := parseAll(f, fuzzPolicyDocs)
	denyID := mustParse(f, denyEverything)
	denyRes := mustParse(f, denyEveryoneRes)
	allow := mustParse(f, allowAll)
	var pairs [][2]*Policy
	for _, np := range negationPairs {
		for _, vals := range []string{`"10"`, `["10.0.0.0/8","x"]`, `"arn:aws:kinesis:*:*:stream/*"`, `"2024-01-01T00:00:00Z"`, `["a*","?"]`} {
			mk := func(op string) *Policy {
				doc := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"` + op + `":{"k:v":` + vals + `}}}}`
				p, err := Parse([]byte(doc))
				if err != nil {
					return nil // not every value suits every family
				}
				return p
			}
			pos, neg := mk(np[0]), mk(np[1])
			if pos != nil && neg != nil {
				pairs = append(pairs, [2]*Policy{pos, neg})
			}
		}
	}

	f.Fuzz(func(t *testing.T, principal, account, action, resource_, ip, tls, now, tags, set, v string) {
		req := Request{
			Principal: principal, Account: account, Action: action, Resource: resource_,
			Context: map[string][]string{
				"aws:SourceIp":        {ip},
				"AWS:SecureTransport": {tls},
				"aws:currenttime":     {now},
				"aws:TagKeys":         strings.Split(tags, ","),
				"k:set":               strings.Split(set, ","),
				"k:num":               {v},
				"k:s":                 {v},
				"k:bin":               {v},
				"k:v":                 {v},
			},
		}
		r1 := Evaluate(req, identity, resource)
		if r2 := Evaluate(req, identity, resource); r1 != r2 {
			t.Fatalf("not deterministic: %+v vs %+v", r1, r2)
		}
		if (DeniedMessage(req, r1) == "") != (r1.Decision == Allow) {
			t.Fatalf("DeniedMessage/decision mismatch: %+v", r1)
		}
		if r := Evaluate(req, append(identity[:len(identity):len(identity)], denyID), resource); r.Decision != ExplicitDeny {
			t.Fatalf("identity Deny * did not win: %+v", r)
		}
		if r := Evaluate(req, identity, append(resource[:len(resource):len(resource)], denyRes)); r.Decision != ExplicitDeny {
			t.Fatalf("resource Deny * did not win: %+v", r)
		}
		// Adding an Allow never removes an explicit deny and always lifts
		// an implicit one.
		r3 := Evaluate(req, append(identity[:len(identity):len(identity)], allow), resource)
		switch {
		case r1.Decision == ExplicitDeny && r3 != r1:
			t.Fatalf("allow changed an explicit deny: %+v -> %+v", r1, r3)
		case r1.Decision != ExplicitDeny && r3.Decision != Allow:
			t.Fatalf("allow-all did not allow: %+v -> %+v", r1, r3)
		}
		// With the key present, an operator and its negation disagree.
		for _, pr := range pairs {
			a := Evaluate(req, []*Policy{pr[0]}, nil).Decision == Allow
			b := Evaluate(req, []*Policy{pr[1]}, nil).Decision == Allow
			if a == b {
				t.Fatalf("operator and negation agree (%v) for k:v=%q", a, v)
			}
		}
	})
}
