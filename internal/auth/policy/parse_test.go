package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	docs := []string{
		// One statement as an object, Version and Id optional.
		`{"Statement":{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"*"}}`,
		`{"Version":"2008-10-17","Id":"x","Statement":[{"Effect":"Deny","NotAction":["kinesis:Get*"],"NotResource":"arn:aws:kinesis:*:*:stream/a"}]}`,
		// Blocks in any order, Sid with spaces (some resource policies allow them).
		`{"Statement":[{"Resource":["*"],"Action":"*","Effect":"Allow","Sid":"A b"}],"Version":"2012-10-17"}`,
		// Principal forms.
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:sts::123456789012:assumed-role/R/S","AIDAJQABLZS4A3QDU576Q"]},"Action":"kinesis:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"],"Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a5"},"Action":"kinesis:*","Resource":"*"}}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws-cn:iam::123456789012:user/bob"},"Action":"kinesis:*","Resource":"*"}}`,
		// Every operator family, with IfExists and set operators.
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringEquals":{"aws:a":"x"},"StringNotEqualsIfExists":{"aws:b":["x","y"]},
			"ForAnyValue:StringLike":{"aws:TagKeys":"a*"},"ForAllValues:StringNotLikeIfExists":{"aws:TagKeys":["b*"]},
			"NumericLessThan":{"s3:max-keys":10},"NumericGreaterThanEquals":{"s3:n":"-1.5e2"},
			"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"DateLessThanEquals":{"aws:EpochTime":1700000000},
			"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"k:b":"AAEC"},
			"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32","192.0.2.1"]},"NotIpAddressIfExists":{"aws:SourceIp":"::1"},
			"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*:*:stream/*"},"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::1:role/x"},
			"Null":{"aws:TokenIssueTime":"true"},
			"StringEquals ":{}}}}`,
		// A tag key may itself contain colons.
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/aws:cloudformation:stack-name":"s"}}}}`,
	}
	for _, d := range docs {
		if _, err := Parse([]byte(d)); err != nil {
			t.Errorf("Parse(%s): %v", d, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	stmt := func(body string) string { return `{"Version":"2012-10-17","Statement":{` + body + `}}` }
	ok := `"Effect":"Allow","Action":"kinesis:*","Resource":"*"`
	cases := []struct {
		name, doc string
		message   string // Error.Message, exactly
		detail    string // substring of Error.Detail, when set
	}{
		{"not JSON", `{"Statement":`, msgSyntax, "ends early"},
		{"bad JSON", `{"Statement":[}`, msgSyntax, "offset"},
		{"trailing data", `{"Statement":{` + ok + `}} {}`, msgSyntax, "after"},
		{"not an object", `[]`, msgSyntax, "JSON object"},
		{"empty", ``, msgSyntax, ""},
		{"no Statement", `{"Version":"2012-10-17"}`, msgSyntax, "Statement"},
		{"empty Statement", `{"Statement":[]}`, msgSyntax, "empty"},
		{"Statement wrong type", `{"Statement":"x"}`, msgSyntax, "Statement"},
		{"statement not object", `{"Statement":["x"]}`, msgSyntax, "Statement 1"},
		{"bad Version", `{"Version":"2020-01-01","Statement":{` + ok + `}}`, msgSyntax, "Version"},
		{"Version number", `{"Version":2012,"Statement":{` + ok + `}}`, msgSyntax, "Version"},
		{"unknown top element", `{"Statment":{}}`, msgSyntax, "Statment"},
		{"duplicate key", `{"Statement":{` + ok + `,"Effect":"Deny"}}`, msgSyntax, "Duplicate"},
		{"unknown statement element", stmt(ok + `,"Condtion":{}`), msgSyntax, "Condtion"},
		{"lower-case element", stmt(`"effect":"Allow","Action":"a:b","Resource":"*"`), msgSyntax, "effect"},
		{"missing Effect", stmt(`"Action":"a:b","Resource":"*"`), msgSyntax, "Effect"},
		{"bad Effect", stmt(`"Effect":"Permit","Action":"a:b","Resource":"*"`), msgSyntax, "Permit"},
		{"Effect wrong case", stmt(`"Effect":"allow","Action":"a:b","Resource":"*"`), msgLegacy, "allow"},
		{"Effect not string", stmt(`"Effect":true,"Action":"a:b","Resource":"*"`), msgSyntax, "Effect"},
		{"missing Action", stmt(`"Effect":"Allow","Resource":"*"`), msgNoActions, ""},
		{"empty Action list", stmt(`"Effect":"Allow","Action":[],"Resource":"*"`), msgNoActions, ""},
		{"Action and NotAction", stmt(ok + `,"NotAction":"a:b"`), msgSyntax, "NotAction"},
		{"Action wrong type", stmt(`"Effect":"Allow","Action":{"a":"b"},"Resource":"*"`), msgSyntax, "Action"},
		{"Action list of numbers", stmt(`"Effect":"Allow","Action":[1],"Resource":"*"`), msgSyntax, "Action"},
		{"Action without vendor", stmt(`"Effect":"Allow","Action":"PutRecord","Resource":"*"`), msgVendor, "PutRecord"},
		{"Action empty", stmt(`"Effect":"Allow","Action":"","Resource":"*"`), msgVendor, ""},
		{"Action two colons", stmt(`"Effect":"Allow","Action":"kinesis:a:b","Resource":"*"`), msgOneColon, ""},
		{"Action bad vendor", stmt(`"Effect":"Allow","Action":"kin*:Get","Resource":"*"`), "Vendor kin* is not valid", ""},
		{"missing Resource", stmt(`"Effect":"Allow","Action":"a:b"`), msgNoResources, ""},
		{"Resource and NotResource", stmt(ok + `,"NotResource":"*"`), msgSyntax, "NotResource"},
		{"Resource not ARN", stmt(`"Effect":"Allow","Action":"a:b","Resource":"orders"`), `Resource orders must be in ARN format or "*".`, ""},
		{"Resource wildcard vendor", stmt(`"Effect":"Allow","Action":"a:b","Resource":"arn:aws:*:us-east-1:1:x"`), msgResourceVendor, ""},
		{"Resource number", stmt(`"Effect":"Allow","Action":"a:b","Resource":5`), msgSyntax, "Resource"},
		{"duplicate Sid", `{"Statement":[{"Sid":"A",` + ok + `},{"Sid":"A",` + ok + `}]}`, msgSidUnique, "A"},
		{"Sid not string", stmt(`"Sid":1,` + ok), msgSyntax, "Sid"},
		{"Principal and NotPrincipal", stmt(ok + `,"Principal":"*","NotPrincipal":"*"`), msgSyntax, "NotPrincipal"},
		{"Principal bad string", stmt(ok + `,"Principal":"arn:aws:iam::123456789012:root"`), msgSyntax, "Principal"},
		{"Principal empty object", stmt(ok + `,"Principal":{}`), msgSyntax, "Principal"},
		{"Principal unknown type", stmt(ok + `,"Principal":{"IAM":"x"}`), msgSyntax, "IAM"},
		{"Principal empty list", stmt(ok + `,"Principal":{"AWS":[]}`), msgSyntax, "empty"},
		{"Principal bad AWS value", stmt(ok + `,"Principal":{"AWS":"alice"}`), `Invalid principal in policy: "AWS":"alice"`, ""},
		{"Principal partial wildcard", stmt(ok + `,"Principal":{"AWS":"arn:aws:iam::*:root"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::*:root"`, ""},
		{"Principal wildcard name", stmt(ok + `,"Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/*"]}`), `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*"`, ""},
		{"Condition not object", stmt(ok + `,"Condition":[]`), msgSyntax, "Condition"},
		{"Condition body not object", stmt(ok + `,"Condition":{"StringEquals":"x"}`), msgSyntax, "StringEquals"},
		{"unknown operator", stmt(ok + `,"Condition":{"StringEqualz":{"aws:a":"x"}}`), msgSyntax, "StringEqualz"},
		{"unknown set operator", stmt(ok + `,"Condition":{"ForSomeValues:StringEquals":{"aws:a":"x"}}`), msgSyntax, "ForSomeValues"},
		{"Null IfExists", stmt(ok + `,"Condition":{"NullIfExists":{"aws:a":"true"}}`), msgSyntax, "NullIfExists"},
		{"Null with set operator", stmt(ok + `,"Condition":{"ForAllValues:Null":{"aws:a":"true"}}`), msgSyntax, "Null"},
		{"IfExists alone", stmt(ok + `,"Condition":{"IfExists":{"aws:a":"true"}}`), msgSyntax, "IfExists"},
		{"key without vendor", stmt(ok + `,"Condition":{"StringEquals":{"SourceIp":"x"}}`), msgVendor, "SourceIp"},
		{"value object", stmt(ok + `,"Condition":{"StringEquals":{"aws:a":{"b":1}}}`), msgSyntax, "aws:a"},
		{"value null", stmt(ok + `,"Condition":{"StringEquals":{"aws:a":null}}`), msgSyntax, "aws:a"},
		{"nested list", stmt(ok + `,"Condition":{"StringEquals":{"aws:a":[["x"]]}}`), msgSyntax, "aws:a"},
		{"bad number", stmt(ok + `,"Condition":{"NumericEquals":{"s3:n":"ten"}}`), msgSyntax, "ten"},
		{"bad date", stmt(ok + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}`), msgSyntax, "tomorrow"},
		{"bad bool", stmt(ok + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), msgSyntax, "yes"},
		{"bad null", stmt(ok + `,"Condition":{"Null":{"aws:a":"maybe"}}`), msgSyntax, "maybe"},
		{"bad ip", stmt(ok + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), msgSyntax, "10.0.0.0/33"},
		{"bad base64", stmt(ok + `,"Condition":{"BinaryEquals":{"k:b":"%%%"}}`), msgSyntax, "%%%"},
		{"too deep", `{"Statement":{` + ok + `,"Condition":{"StringEquals":{"aws:a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}}`, msgSyntax, "deeply"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.doc))
			if err == nil {
				t.Fatalf("Parse accepted %s", c.doc)
			}
			if p != nil {
				t.Errorf("Parse returned a policy with an error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if pe.Message != c.message {
				t.Errorf("Message = %q, want %q (detail %q)", pe.Message, c.message, pe.Detail)
			}
			if c.detail != "" && !strings.Contains(pe.Detail, c.detail) {
				t.Errorf("Detail = %q, want it to mention %q", pe.Detail, c.detail)
			}
			if !strings.HasPrefix(err.Error(), pe.Message) {
				t.Errorf("Error() = %q does not start with the message", err.Error())
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{Message: msgSyntax}, "Syntax errors in policy."},
		{Error{Message: msgSyntax, Detail: "Statement 1: x."}, "Syntax errors in policy. Statement 1: x."},
		{Error{Message: msgLegacy, Detail: "Statement 1: x."}, "The policy failed legacy parsing: Statement 1: x."},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestParseLargeInputs(t *testing.T) {
	// Deep nesting is refused without recursing all the way down.
	deep := strings.Repeat("[", 1_000_000)
	if _, err := Parse([]byte(deep)); err == nil {
		t.Fatal("deep nesting accepted")
	}
	// Many statements and keys parse fine.
	var b strings.Builder
	b.WriteString(`{"Statement":[`)
	for i := 0; i < 2000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Effect":"Allow","Action":"kinesis:Get*","Resource":"arn:aws:kinesis:*:*:stream/s","Condition":{"StringEquals":{"aws:a":"x","aws:b":"y","aws:c":"z","aws:d":"1","aws:e":"2","aws:f":"3","aws:g":"4","aws:h":"5","aws:i":"6","aws:a":"dup"}}}`)
	}
	b.WriteString(`]}`)
	if _, err := Parse([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "Duplicate") {
		t.Fatalf("duplicate key in a large object: %v", err)
	}
}

func TestValidateIdentityAndResource(t *testing.T) {
	withP := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"a:b","Resource":"*"}]}`)
	withoutP := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*"}]}`)
	withNotP := mustParse(t, `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"a:b","Resource":"*"}]}`)
	if err := withP.ValidateIdentity(); err == nil || err.(*Error).Message != msgNoPrincipal {
		t.Errorf("ValidateIdentity with Principal: %v", err)
	}
	if err := withNotP.ValidateIdentity(); err == nil {
		t.Errorf("ValidateIdentity with NotPrincipal accepted")
	}
	if err := withoutP.ValidateIdentity(); err != nil {
		t.Errorf("ValidateIdentity: %v", err)
	}
	if err := withoutP.ValidateResource(); err == nil || err.(*Error).Message != msgMissingPrinc {
		t.Errorf("ValidateResource without Principal: %v", err)
	}
	if err := withP.ValidateResource(); err != nil {
		t.Errorf("ValidateResource: %v", err)
	}
	if err := withNotP.ValidateResource(); err != nil {
		t.Errorf("ValidateResource with NotPrincipal: %v", err)
	}
	p := mustParse(t, `{"Version":"2012-10-17","Id":"pol-1","Statement":{"Effect":"Allow","Action":"a:b","Resource":"*"}}`)
	if p.Version() != "2012-10-17" || p.ID() != "pol-1" {
		t.Errorf("Version/ID = %q/%q", p.Version(), p.ID())
	}
}

func TestParseDecimalAndDate(t *testing.T) {
	eq := []struct{ a, b string }{{"10", "10.000"}, {"1e3", "1000"}, {"-0", "0"}, {".5", "0.50"}, {"+7", "7"}, {"1.5e-1", "0.15"}, {"007", "7"}}
	for _, c := range eq {
		a, ok1 := parseDecimal(c.a)
		b, ok2 := parseDecimal(c.b)
		if !ok1 || !ok2 || cmpDecimal(a, b) != 0 {
			t.Errorf("%s != %s", c.a, c.b)
		}
	}
	lt := []struct{ a, b string }{{"-2", "-1.5"}, {"0.1", "0.11"}, {"9", "10"}, {"-10", "9"}, {"9007199254740992", "9007199254740993"}}
	for _, c := range lt {
		a, _ := parseDecimal(c.a)
		b, _ := parseDecimal(c.b)
		if cmpDecimal(a, b) >= 0 || cmpDecimal(b, a) <= 0 {
			t.Errorf("%s !< %s", c.a, c.b)
		}
	}
	for _, bad := range []string{"", "-", ".", "1e", "1e401", "0x10", "1_000", "Inf", "NaN", "1.2.3", " 1"} {
		if _, ok := parseDecimal(bad); ok {
			t.Errorf("parseDecimal(%q) accepted", bad)
		}
	}
	for _, good := range []string{"2020-01-01T00:00:01Z", "2020-01-01T00:00:01.5+02:00", "2020-01-01T00:00Z", "2020-01-01T00:00:01", "2020-01-01", "2020-01", "20130930T231548Z", "1700000000", "1700000000.25"} {
		if _, ok := parseDate(good); !ok {
			t.Errorf("parseDate(%q) refused", good)
		}
	}
	for _, bad := range []string{"", "2020-13-01", "tomorrow", "99999999999999999999", "1.2.3"} {
		if _, ok := parseDate(bad); ok {
			t.Errorf("parseDate(%q) accepted", bad)
		}
	}
}
