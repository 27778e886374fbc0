package policy

import (
	"strconv"
	"testing"
	"time"
)

const (
	allowAll      = `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	denyPut       = `{"Statement":{"Sid":"NoPut","Effect":"Deny","Action":"kinesis:PutRecord","Resource":"*"}}`
	resAllowAlice = `{"Statement":{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"kinesis:*","Resource":"*"}}`
	resDenyAll    = `{"Statement":{"Sid":"Lock","Effect":"Deny","Principal":"*","Action":"kinesis:Put*","Resource":"*"}}`
)

func TestExplicitDenyAcrossPolicyTypes(t *testing.T) {
	put := Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders}
	runEvalCases(t, []evalCase{
		{name: "no policies", req: put, want: ImplicitDeny},
		{name: "identity allow", identity: []string{allowAll}, req: put, want: Allow, source: SourceIdentity},
		{name: "resource allow", resource: []string{resAllowAlice}, req: put, want: Allow, source: SourceResource, sid: "Alice"},
		{name: "identity deny beats resource allow", identity: []string{denyPut}, resource: []string{resAllowAlice}, req: put,
			want: ExplicitDeny, source: SourceIdentity, sid: "NoPut"},
		{name: "resource deny beats identity allow", identity: []string{allowAll}, resource: []string{resDenyAll}, req: put,
			want: ExplicitDeny, source: SourceResource, sid: "Lock"},
		{name: "deny later in the same policy wins", identity: []string{`{"Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"kinesis:PutRecord","Resource":"*"}]}`},
			req: put, want: ExplicitDeny, sid: "D"},
		{name: "deny in a later policy wins", identity: []string{allowAll, allowAll, denyPut}, req: put, want: ExplicitDeny},
		{name: "identity deny reported before resource deny", identity: []string{denyPut}, resource: []string{resDenyAll}, req: put,
			want: ExplicitDeny, source: SourceIdentity},
		{name: "deny for another action", identity: []string{allowAll, denyPut},
			req: Request{Principal: alice, Action: "kinesis:GetRecords", Resource: orders}, want: Allow},
		{name: "resource allow for another principal", resource: []string{resAllowAlice},
			req: Request{Principal: bob, Action: "kinesis:PutRecord", Resource: orders}, want: ImplicitDeny},
		{name: "identity Principal element ignored", identity: []string{`{"Statement":{"Effect":"Allow","Principal":{"AWS":"999999999999"},"Action":"*","Resource":"*"}}`},
			req: put, want: Allow},
		{name: "resource statement without principal applies to nobody",
			resource: []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`}, req: put, want: ImplicitDeny},
	})

	// nil policies are skipped, not dereferenced.
	if got := Evaluate(put, []*Policy{nil}, []*Policy{nil}); got.Decision != ImplicitDeny {
		t.Fatalf("nil policies: %+v", got)
	}
}

func TestActionMatching(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"kinesis:PutRecord", "kinesis:PutRecord", true},
		{"kinesis:putrecord", "Kinesis:PUTRECORD", true},
		{"kinesis:PutRecord", "kinesis:PutRecords", false},
		{"kinesis:Put*", "kinesis:PutRecords", true},
		{"kinesis:Get*", "kinesis:PutRecord", false},
		{"kinesis:*", "kinesis:ListShards", true},
		{"kinesis:*", "kms:Decrypt", false},
		{"*", "kms:Decrypt", true},
		{"*:Describe*", "kinesis:DescribeStream", true},
		{"kinesis:PutRecord?", "kinesis:PutRecords", true},
		{"kinesis:PutRecord?", "kinesis:PutRecord", false},
		{"kinesis:*Stream*", "kinesis:DescribeStreamSummary", true},
		// Non-ASCII takes the strings.ToLower path; '?' is one character.
		{"x:caf?", "x:CAFÉ", true},
		{"x:café", "x:CAFÉ", true},
		{"x:caf??", "x:CAFÉ", false},
	}
	for _, c := range cases {
		p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"`+c.pattern+`","Resource":"*"}}`)
		got := Evaluate(Request{Principal: alice, Action: c.action, Resource: "*"}, []*Policy{p}, nil).Decision == Allow
		if got != c.want {
			t.Errorf("Action %q vs %q: got %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestResourceMatching(t *testing.T) {
	cases := []struct {
		pattern, resource string
		want              bool
	}{
		{"*", orders, true},
		{"*", "*", true},
		{orders, orders, true},
		{orders, "arn:aws:kinesis:us-east-1:123456789012:stream/Orders", false}, // case-sensitive
		{orders, consumer, false},
		// '*' spans '/' and ':', so a stream wildcard covers consumers.
		{"arn:aws:kinesis:us-east-1:123456789012:stream/*", consumer, true},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/*", consumer, true},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c1:*", consumer, true},
		{"arn:aws:kinesis:*:123456789012:stream/orders", orders, true},
		{"arn:aws:kinesis:*:210987654321:stream/orders", orders, false},
		{"arn:aws:kinesis:us-east-?:123456789012:stream/orders", orders, true},
		{"arn:aws:kinesis:*", orders, true},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/*", "*", false},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/ord*s", orders, true},
	}
	for _, c := range cases {
		p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"`+c.pattern+`"}}`)
		got := Evaluate(Request{Principal: alice, Action: "kinesis:GetRecords", Resource: c.resource}, []*Policy{p}, nil).Decision == Allow
		if got != c.want {
			t.Errorf("Resource %q vs %q: got %v, want %v", c.pattern, c.resource, got, c.want)
		}
	}
}

// condCase tests one Condition block against one request context.
type condCase struct {
	name string
	cond string
	ctx  map[string][]string
	want bool
}

func runCondCases(t *testing.T, cases []condCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+c.cond+`}}`)
			got := Evaluate(Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders, Context: c.ctx}, []*Policy{p}, nil).Decision == Allow
			if got != c.want {
				t.Fatalf("condition %s with %v: got %v, want %v", c.cond, c.ctx, got, c.want)
			}
		})
	}
}

func TestConditionStrings(t *testing.T) {
	runCondCases(t, []condCase{
		{"equals", `{"StringEquals":{"k:a":"x"}}`, ctx("k:a=x"), true},
		{"equals is literal", `{"StringEquals":{"k:a":"x*"}}`, ctx("k:a=xy"), false},
		{"equals ORs values", `{"StringEquals":{"k:a":["x","y"]}}`, ctx("k:a=y"), true},
		{"equals missing", `{"StringEquals":{"k:a":"x"}}`, nil, false},
		{"not equals", `{"StringNotEquals":{"k:a":"x"}}`, ctx("k:a=y"), true},
		{"not equals hit", `{"StringNotEquals":{"k:a":["x","y"]}}`, ctx("k:a=y"), false},
		{"not equals missing is true", `{"StringNotEquals":{"k:a":"x"}}`, nil, true},
		{"ignore case", `{"StringEqualsIgnoreCase":{"k:a":"JohnDoe"}}`, ctx("k:a=johndoe"), true},
		{"not ignore case", `{"StringNotEqualsIgnoreCase":{"k:a":"JohnDoe"}}`, ctx("k:a=JOHNDOE"), false},
		{"like", `{"StringLike":{"k:a":"home/*/x?"}}`, ctx("k:a=home/a/b/x1"), true},
		{"like case-sensitive", `{"StringLike":{"k:a":"Home/*"}}`, ctx("k:a=home/a"), false},
		{"not like", `{"StringNotLike":{"k:a":"key1*"}}`, ctx("k:a=key2"), true},
		{"not like missing", `{"StringNotLike":{"k:a":"key1*"}}`, nil, true},
		{"IfExists missing", `{"StringEqualsIfExists":{"k:a":"x"}}`, nil, true},
		{"IfExists present wrong", `{"StringEqualsIfExists":{"k:a":"x"}}`, ctx("k:a=y"), false},
		{"negated IfExists missing", `{"StringNotEqualsIfExists":{"k:a":"x"}}`, nil, true},
		{"negated IfExists present hit", `{"StringNotEqualsIfExists":{"k:a":"x"}}`, ctx("k:a=x"), false},
		{"key name case-insensitive", `{"StringEquals":{"AWS:ResourceTag/Env":"prod"}}`, ctx("aws:resourcetag/env=prod"), true},
		{"unknown key is missing", `{"StringEquals":{"acme:Unknown":"x"}}`, ctx("aws:SourceIp=1.2.3.4"), false},
		{"multi-valued request without set operator (any)", `{"StringEquals":{"k:a":"x"}}`, ctx("k:a=y,x"), true},
		{"multi-valued request, negated (none)", `{"StringNotEquals":{"k:a":"x"}}`, ctx("k:a=y,x"), false},
		{"keys ANDed", `{"StringEquals":{"k:a":"x","k:b":"y"}}`, ctx("k:a=x"), false},
		{"operators ANDed", `{"StringEquals":{"k:a":"x"},"StringLike":{"k:b":"y*"}}`, ctx("k:a=x", "k:b=yes"), true},
		{"empty condition", `{}`, nil, true},
		{"operator name case", `{"stringequals":{"k:a":"x"}}`, ctx("k:a=x"), true},
		{"number value", `{"StringEquals":{"k:a":10}}`, ctx("k:a=10"), true},
		{"empty value list never matches", `{"StringEquals":{"k:a":[]}}`, ctx("k:a=x"), false},
	})
}

func TestConditionNumeric(t *testing.T) {
	runCondCases(t, []condCase{
		{"equals decimal forms", `{"NumericEquals":{"k:n":"10"}}`, ctx("k:n=10.0"), true},
		{"equals exponent", `{"NumericEquals":{"k:n":1e3}}`, ctx("k:n=1000"), true},
		{"equals exact big", `{"NumericEquals":{"k:n":"9007199254740993"}}`, ctx("k:n=9007199254740992"), false},
		{"not equals", `{"NumericNotEquals":{"k:n":"5"}}`, ctx("k:n=6"), true},
		{"not equals missing", `{"NumericNotEquals":{"k:n":"5"}}`, nil, true},
		{"lt", `{"NumericLessThan":{"k:n":"-1.5"}}`, ctx("k:n=-2"), true},
		{"lt equal", `{"NumericLessThan":{"k:n":"3"}}`, ctx("k:n=3"), false},
		{"le", `{"NumericLessThanEquals":{"k:n":"3"}}`, ctx("k:n=3"), true},
		{"gt", `{"NumericGreaterThan":{"k:n":"0.1"}}`, ctx("k:n=0.11"), true},
		{"ge", `{"NumericGreaterThanEquals":{"k:n":"0"}}`, ctx("k:n=-0"), true},
		{"request not a number", `{"NumericLessThan":{"k:n":"3"}}`, ctx("k:n=abc"), false},
		{"missing", `{"NumericLessThan":{"k:n":"3"}}`, nil, false},
		{"IfExists missing", `{"NumericLessThanIfExists":{"k:n":"3"}}`, nil, true},
	})
}

func TestConditionDates(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	nowCtx := func(extra ...string) map[string][]string {
		return ctx(append([]string{"aws:CurrentTime=" + now.Format(time.RFC3339), "aws:EpochTime=" + strconv.FormatInt(now.Unix(), 10)}, extra...)...)
	}
	runCondCases(t, []condCase{
		{"lt RFC3339", `{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}`, nowCtx(), true},
		{"lt date only", `{"DateLessThan":{"aws:CurrentTime":"2024-05-01"}}`, nowCtx(), false},
		{"lt offset", `{"DateLessThan":{"aws:CurrentTime":"2024-05-01T13:00:01+01:00"}}`, nowCtx(), true},
		{"gt epoch policy value", `{"DateGreaterThan":{"aws:CurrentTime":"1700000000"}}`, nowCtx(), true},
		{"epoch key", `{"DateGreaterThanEquals":{"aws:EpochTime":"2024-05-01T12:00:00Z"}}`, nowCtx(), true},
		{"equals", `{"DateEquals":{"aws:CurrentTime":"2024-05-01T12:00:00.000Z"}}`, nowCtx(), true},
		{"not equals", `{"DateNotEquals":{"aws:CurrentTime":"2024-05-01T12:00:00Z"}}`, nowCtx(), false},
		{"le", `{"DateLessThanEquals":{"aws:CurrentTime":"2024-05-01T12:00:00Z"}}`, nowCtx(), true},
		{"compact form", `{"DateGreaterThan":{"k:t":"20130930T231548Z"}}`, ctx("k:t=2014-01-01T00:00:00Z"), true},
		{"request not a date", `{"DateLessThan":{"k:t":"2030-01-01"}}`, ctx("k:t=soon"), false},
		{"missing", `{"DateLessThan":{"k:t":"2030-01-01"}}`, nil, false},
		{"IfExists missing", `{"DateLessThanIfExists":{"k:t":"2030-01-01"}}`, nil, true},
	})

	// aws:CurrentTime and aws:EpochTime default to the clock, as AWS
	// always supplies them.
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
		"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z","aws:EpochTime":"1577836800"},
		"DateLessThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}}}`)
	if d := Evaluate(Request{Principal: alice, Action: "a:b", Resource: "*"}, []*Policy{p}, nil).Decision; d != Allow {
		t.Fatalf("default clock keys: %v", d)
	}
}

func TestConditionBoolBinaryNull(t *testing.T) {
	runCondCases(t, []condCase{
		{"bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport=true"), true},
		{"bool case-insensitive", `{"Bool":{"aws:SecureTransport":"True"}}`, ctx("aws:SecureTransport=TRUE"), true},
		{"bool JSON literal", `{"Bool":{"aws:SecureTransport":false}}`, ctx("aws:SecureTransport=false"), true},
		{"bool mismatch", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport=false"), false},
		{"bool request junk", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport=yes"), false},
		{"bool missing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"bool IfExists missing", `{"BoolIfExists":{"aws:SecureTransport":"false"}}`, nil, true},
		{"binary", `{"BinaryEquals":{"k:b":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx("k:b=QmluYXJ5VmFsdWVJbkJhc2U2NA=="), true},
		{"binary other", `{"BinaryEquals":{"k:b":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx("k:b=AAAA"), false},
		{"null true absent", `{"Null":{"k:a":"true"}}`, nil, true},
		{"null true present", `{"Null":{"k:a":"true"}}`, ctx("k:a=x"), false},
		{"null false present", `{"Null":{"k:a":"false"}}`, ctx("k:a=x"), true},
		{"null false absent", `{"Null":{"k:a":false}}`, nil, false},
		{"null empty set counts as absent", `{"Null":{"k:a":"true"}}`, ctx("k:a="), true},
	})
}

func TestConditionIP(t *testing.T) {
	runCondCases(t, []condCase{
		{"cidr", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctx("aws:SourceIp=10.1.2.3"), true},
		{"plain address is /32", `{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}`, ctx("aws:SourceIp=10.0.0.2"), false},
		{"plain address hit", `{"IpAddress":{"aws:SourceIp":"10.0.0.1"}}`, ctx("aws:SourceIp=10.0.0.1"), true},
		{"unmasked cidr", `{"IpAddress":{"aws:SourceIp":"203.0.113.7/24"}}`, ctx("aws:SourceIp=203.0.113.200"), true},
		{"ipv6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ctx("aws:SourceIp=2001:DB8:ffff::1"), true},
		{"v4 rule, v6 request", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ctx("aws:SourceIp=2001:db8::1"), false},
		{"mapped policy prefix", `{"IpAddress":{"aws:SourceIp":"::ffff:10.0.0.0/104"}}`, ctx("aws:SourceIp=10.9.9.9"), true},
		{"not ip", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, ctx("aws:SourceIp=8.8.8.8"), true},
		{"not ip hit", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, ctx("aws:SourceIp=192.168.1.1"), false},
		{"not ip missing", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, nil, true},
		{"request junk", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ctx("aws:SourceIp=localhost"), false},
		{"ip missing", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, nil, false},
	})
}

func TestConditionArn(t *testing.T) {
	runCondCases(t, []condCase{
		{"equals", `{"ArnEquals":{"aws:SourceArn":"` + orders + `"}}`, ctx("aws:SourceArn=" + orders), true},
		{"equals takes wildcards too", `{"ArnEquals":{"aws:SourceArn":"arn:aws:kinesis:*:123456789012:stream/*"}}`, ctx("aws:SourceArn=" + orders), true},
		{"like segment", `{"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*:123456789012:stream/*"}}`, ctx("aws:SourceArn=" + consumer), true},
		{"like wrong account", `{"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*:210987654321:*"}}`, ctx("aws:SourceArn=" + orders), false},
		{"like case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*:*:stream/Orders"}}`, ctx("aws:SourceArn=" + orders), false},
		{"short pattern", `{"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*"}}`, ctx("aws:SourceArn=" + orders), true},
		{"star", `{"ArnLike":{"aws:SourceArn":"*"}}`, ctx("aws:SourceArn=" + orders), true},
		{"not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:kinesis:*:*:*"}}`, ctx("aws:SourceArn=orders"), false},
		{"not like", `{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}`, nil, true}, // derived from Principal: a user
		{"not equals missing", `{"ArnNotEquals":{"aws:SourceArn":"` + orders + `"}}`, nil, true},
		{"PrincipalArn derived", `{"ArnEquals":{"aws:PrincipalArn":"` + alice + `"}}`, nil, true},
		{"PrincipalAccount derived", `{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}`, nil, true},
		{"context overrides derived", `{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}`, ctx("aws:PrincipalAccount=999999999999"), false},
	})

	// A role session's aws:PrincipalArn is the role, not the session.
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"`+roleARN+`"}}}}`)
	if d := Evaluate(Request{Principal: session, Action: "a:b", Resource: "*"}, []*Policy{p}, nil).Decision; d != Allow {
		t.Fatalf("session PrincipalArn: %v", d)
	}
}

func TestConditionSetOperators(t *testing.T) {
	runCondCases(t, []condCase{
		{"all: every value listed", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=a,b"), true},
		{"all: one unlisted", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=a,c"), false},
		{"all: missing", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, nil, true},
		{"all: empty", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys="), true},
		{"all negated", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=c,d"), true},
		{"all negated hit", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=c,b"), false},
		{"all negated missing", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":"a"}}`, nil, true},
		{"any: one listed", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=x,b"), true},
		{"any: none listed", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys=x,y"), false},
		{"any: missing", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, nil, false},
		{"any: empty", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys="), false},
		{"any negated", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys=a,z"), true},
		{"any negated missing", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}`, nil, false},
		{"any IfExists missing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}}`, nil, true},
		{"any IfExists present", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys=b"), false},
		{"all IfExists present", `{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*"]}}`, ctx("aws:TagKeys=ab,ac"), true},
		{"prefix case", `{"forallvalues:StringEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys=a"), true},
		{"any numeric", `{"ForAnyValue:NumericGreaterThan":{"k:n":"5"}}`, ctx("k:n=1,9"), true},
		{"all ip", `{"ForAllValues:IpAddress":{"k:ips":"10.0.0.0/8"}}`, ctx("k:ips=10.0.0.1,11.0.0.1"), false},
	})
}

func TestContextKeysMergeAcrossCase(t *testing.T) {
	// Two spellings of one key are one key with both values.
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}}`)
	req := Request{Principal: alice, Action: "a:b", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"a"}, "AWS:TAGKEYS": {"b"}}}
	if d := Evaluate(req, []*Policy{p}, nil).Decision; d != ImplicitDeny {
		t.Fatalf("got %v, want ImplicitDeny", d)
	}
}

func TestDeniedMessage(t *testing.T) {
	req := Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders}
	cases := []struct {
		r    Result
		want string
	}{
		{Result{Decision: ImplicitDeny}, "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:123456789012:stream/orders because no identity-based policy allows the kinesis:PutRecord action"},
		{Result{Decision: ExplicitDeny, Source: SourceIdentity}, "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:123456789012:stream/orders with an explicit deny in an identity-based policy"},
		{Result{Decision: ExplicitDeny, Source: SourceResource}, "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:123456789012:stream/orders with an explicit deny in a resource-based policy"},
		{Result{Decision: Allow, Source: SourceIdentity}, ""},
	}
	for _, c := range cases {
		if got := DeniedMessage(req, c.r); got != c.want {
			t.Errorf("DeniedMessage(%+v) =\n %q\nwant\n %q", c.r, got, c.want)
		}
	}
	// The reference's example, for a role session.
	got := DeniedMessage(Request{Principal: "arn:aws:sts::123456789012:assumed-role/R/S", Action: "kinesis:DescribeStreamSummary",
		Resource: "arn:aws:kinesis:us-east-2:123456789012:stream/X"}, Result{})
	want := "User: arn:aws:sts::123456789012:assumed-role/R/S is not authorized to perform: kinesis:DescribeStreamSummary on resource: arn:aws:kinesis:us-east-2:123456789012:stream/X because no identity-based policy allows the kinesis:DescribeStreamSummary action"
	if got != want {
		t.Errorf("got %q", got)
	}
	if got := DeniedMessage(Request{Action: "kinesis:ListStreams"}, Result{}); got != "User: anonymous is not authorized to perform: kinesis:ListStreams on resource: * because no identity-based policy allows the kinesis:ListStreams action" {
		t.Errorf("anonymous: %q", got)
	}
}

func TestDecisionString(t *testing.T) {
	if ImplicitDeny.String() != "ImplicitDeny" || Allow.String() != "Allow" || ExplicitDeny.String() != "ExplicitDeny" {
		t.Fatal("Decision.String")
	}
	var zero Result
	if zero.Decision != ImplicitDeny {
		t.Fatal("zero Decision must be ImplicitDeny")
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"a*b*c", "abbbc", true},
		{"a*b*c", "abcb", false},
		{"?", "é", true}, // one character, two bytes
		{"??", "é", false},
		{"é*", "été", true},
		{"*a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false},
		{"a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, c := range cases {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

// BenchmarkEvaluate is the per-request cost: it must stay allocation-free.
func BenchmarkEvaluate(b *testing.B) {
	id := mustParse(b, `{"Statement":[{"Effect":"Allow","Action":["kinesis:Get*","kinesis:PutRecord*"],
		"Resource":"arn:aws:kinesis:us-east-1:123456789012:stream/*",
		"Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
		{"Effect":"Deny","Action":"kinesis:Delete*","Resource":"*"}]}`)
	policies := []*Policy{id}
	req := Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders,
		Context: map[string][]string{"aws:SecureTransport": {"true"}, "aws:SourceIp": {"10.1.1.1"}}}
	b.ReportAllocs()
	for b.Loop() {
		if Evaluate(req, policies, nil).Decision != Allow {
			b.Fatal("not allowed")
		}
	}
}
