package policy

import "testing"

// Examples from AWS's IAM documentation, rewritten for Kinesis where the
// original used another service; each group cites its page.

func TestDocEvaluationLogic(t *testing.T) {
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
	// ("Example identity-based and resource-based policy evaluation"):
	// the user may use streams named after him, is denied any stream
	// with "log" in its name, and the stream's own policy also names him.
	carlos := "arn:aws:iam::123456789012:user/carlos"
	identity := `{"Version":"2012-10-17","Statement":[
		{"Sid":"ListRead","Effect":"Allow","Action":["kinesis:ListStreams","kinesis:DescribeLimits"],"Resource":"*"},
		{"Sid":"Self","Effect":"Allow","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:123456789012:stream/carlos*"},
		{"Sid":"DenyLogs","Effect":"Deny","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:*:stream/*log*"}]}`
	streamPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::123456789012:user/carlos"},"Action":"kinesis:*",
		"Resource":"arn:aws:kinesis:us-east-1:123456789012:stream/carlos"}]}`
	put := func(stream string) Request {
		return Request{Principal: carlos, Action: "kinesis:PutRecord", Resource: "arn:aws:kinesis:us-east-1:123456789012:stream/" + stream}
	}
	runEvalCases(t, []evalCase{
		{name: "deny in identity policy wins", identity: []string{identity}, resource: []string{streamPolicy},
			req: put("carlos-logs"), want: ExplicitDeny, source: SourceIdentity, sid: "DenyLogs"},
		{name: "both allow", identity: []string{identity}, resource: []string{streamPolicy},
			req: put("carlos"), want: Allow, source: SourceIdentity, sid: "Self"},
		{name: "resource policy alone is enough in one account", resource: []string{streamPolicy},
			req: put("carlos"), want: Allow, source: SourceResource},
		{name: "identity policy alone is enough", identity: []string{identity},
			req: put("carlos"), want: Allow},
		{name: "neither allows", identity: []string{identity}, resource: []string{streamPolicy},
			req: put("other"), want: ImplicitDeny},
		{name: "resource * action", identity: []string{identity},
			req: Request{Principal: carlos, Action: "kinesis:ListStreams", Resource: "*"}, want: Allow, sid: "ListRead"},
	})

	// Same page ("The difference between explicit and implicit denies"):
	// Get*/List* allowed, anything ending in Report explicitly denied,
	// everything else implicitly denied.
	getList := `{"Version":"2012-10-17","Statement":[
		{"Sid":"AllowGetList","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"},
		{"Sid":"DenyReports","Effect":"Deny","Action":"iam:*Report","Resource":"*"}]}`
	iam := func(action string) Request { return Request{Principal: alice, Action: action, Resource: "*"} }
	runEvalCases(t, []evalCase{
		{name: "Get allowed", identity: []string{getList}, req: iam("iam:GetUser"), want: Allow, sid: "AllowGetList"},
		{name: "other implicitly denied", identity: []string{getList}, req: iam("iam:CreatePolicy"), want: ImplicitDeny},
		{name: "report explicitly denied", identity: []string{getList}, req: iam("iam:GetOrganizationsAccessReport"),
			want: ExplicitDeny, sid: "DenyReports"},
		{name: "report denied even when another policy allows", identity: []string{getList,
			`{"Statement":{"Effect":"Allow","Action":"iam:GenerateCredentialReport","Resource":"*"}}`},
			req: iam("iam:GenerateCredentialReport"), want: ExplicitDeny},
	})
}

func TestDocNotActionNotResource(t *testing.T) {
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
	allButIAM := `{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`
	// Deny everything but IAM unless signed in with MFA (BoolIfExists:
	// a missing key counts as a match, so the deny applies).
	mfa := `{"Statement":{"Sid":"DenyAllUsersNotUsingMFA","Effect":"Deny","NotAction":"iam:*","Resource":"*",
		"Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}}`
	// NotAction with a scoped Resource only covers that resource.
	allButDelete := `{"Statement":{"Effect":"Allow","NotAction":"kinesis:DeleteStream","Resource":"arn:aws:kinesis:*:*:stream/*"}}`
	req := func(action, res string, c map[string][]string) Request {
		return Request{Principal: alice, Action: action, Resource: res, Context: c}
	}
	runEvalCases(t, []evalCase{
		{name: "NotAction allows unlisted", identity: []string{allButIAM}, req: req("kinesis:PutRecord", orders, nil), want: Allow},
		{name: "NotAction skips listed", identity: []string{allButIAM}, req: req("iam:CreateUser", "*", nil), want: ImplicitDeny},
		{name: "NotAction is case-insensitive", identity: []string{allButIAM}, req: req("IAM:CreateUser", "*", nil), want: ImplicitDeny},
		{name: "MFA key missing denies", identity: []string{allButIAM, mfa}, req: req("kinesis:PutRecord", orders, nil),
			want: ExplicitDeny, sid: "DenyAllUsersNotUsingMFA"},
		{name: "MFA false denies", identity: []string{allButIAM, mfa},
			req: req("kinesis:PutRecord", orders, ctx("aws:MultiFactorAuthPresent=false")), want: ExplicitDeny},
		{name: "MFA true passes", identity: []string{allButIAM, mfa},
			req: req("kinesis:PutRecord", orders, ctx("aws:MultiFactorAuthPresent=TRUE")), want: Allow},
		{name: "MFA deny skips IAM actions", identity: []string{mfa}, req: req("iam:GetUser", "*", nil), want: ImplicitDeny},
		{name: "scoped NotAction allows on streams", identity: []string{allButDelete}, req: req("kinesis:PutRecord", orders, nil), want: Allow},
		{name: "scoped NotAction skips listed action", identity: []string{allButDelete}, req: req("kinesis:DeleteStream", orders, nil), want: ImplicitDeny},
		{name: "scoped NotAction does not reach *", identity: []string{allButDelete}, req: req("kinesis:ListStreams", "*", nil), want: ImplicitDeny},
	})

	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
	// Deny every stream except the payroll ones; a separate Allow grants.
	payroll := `{"Statement":[
		{"Sid":"OnlyPayroll","Effect":"Deny","Action":"kinesis:*","NotResource":[
			"arn:aws:kinesis:us-east-1:123456789012:stream/payroll","arn:aws:kinesis:us-east-1:123456789012:stream/payroll-*"]},
		{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	stream := func(n string) string { return "arn:aws:kinesis:us-east-1:123456789012:stream/" + n }
	runEvalCases(t, []evalCase{
		{name: "listed resource allowed", identity: []string{payroll}, req: req("kinesis:GetRecords", stream("payroll"), nil), want: Allow},
		{name: "listed pattern allowed", identity: []string{payroll}, req: req("kinesis:GetRecords", stream("payroll-2024"), nil), want: Allow},
		{name: "unlisted denied", identity: []string{payroll}, req: req("kinesis:GetRecords", stream("orders"), nil),
			want: ExplicitDeny, sid: "OnlyPayroll"},
		{name: "other service untouched", identity: []string{payroll}, req: req("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k", nil), want: Allow},
	})
}

func TestDocConditionOperators(t *testing.T) {
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
	allow := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*","Condition":` + cond + `}}`
	}
	with := func(c map[string][]string) Request {
		return Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders, Context: c}
	}
	tag := allow(`{"StringEquals":{"aws:PrincipalTag/job-category":"iamuser-admin"}}`)
	maxKeys := allow(`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`)
	issued := allow(`{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}`)
	sourceIP := allow(`{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}`)
	instance := allow(`{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`)
	noToken := allow(`{"Null":{"aws:TokenIssueTime":"true"}}`)
	tlsOnly := `{"Statement":[{"Sid":"BooleanExample","Effect":"Deny","Action":"kinesis:*","Resource":"*",
		"Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`
	runEvalCases(t, []evalCase{
		{name: "StringEquals match", identity: []string{tag}, req: with(ctx("aws:PrincipalTag/job-category=iamuser-admin")), want: Allow},
		{name: "StringEquals is case-sensitive", identity: []string{tag}, req: with(ctx("aws:PrincipalTag/job-category=IAMUser-Admin")), want: ImplicitDeny},
		{name: "StringEquals missing key", identity: []string{tag}, req: with(nil), want: ImplicitDeny},
		{name: "Numeric <= 10", identity: []string{maxKeys}, req: with(ctx("s3:max-keys=10")), want: Allow},
		{name: "Numeric > 10", identity: []string{maxKeys}, req: with(ctx("s3:max-keys=10.5")), want: ImplicitDeny},
		{name: "Date after", identity: []string{issued}, req: with(ctx("aws:TokenIssueTime=2020-06-01T00:00:00Z")), want: Allow},
		{name: "Date before", identity: []string{issued}, req: with(ctx("aws:TokenIssueTime=2019-12-31T23:59:59Z")), want: ImplicitDeny},
		{name: "Date key missing (long-term keys)", identity: []string{issued}, req: with(nil), want: ImplicitDeny},
		{name: "Bool deny over plain HTTP", identity: []string{tlsOnly}, req: with(ctx("aws:SecureTransport=false")), want: ExplicitDeny, sid: "BooleanExample"},
		{name: "Bool TLS allowed", identity: []string{tlsOnly}, req: with(ctx("aws:SecureTransport=true")), want: Allow},
		{name: "IPv4 in range", identity: []string{sourceIP}, req: with(ctx("aws:SourceIp=203.0.113.77")), want: Allow},
		{name: "IPv4 out of range", identity: []string{sourceIP}, req: with(ctx("aws:SourceIp=203.0.114.1")), want: ImplicitDeny},
		{name: "IPv6 in range", identity: []string{sourceIP}, req: with(ctx("aws:SourceIp=2001:db8:1234:5678::9")), want: Allow},
		{name: "IPv4-mapped IPv6 request", identity: []string{sourceIP}, req: with(ctx("aws:SourceIp=::ffff:203.0.113.9")), want: Allow},
		{name: "IfExists missing key", identity: []string{instance}, req: with(nil), want: Allow},
		{name: "IfExists present and matching", identity: []string{instance}, req: with(ctx("ec2:InstanceType=t2.micro")), want: Allow},
		{name: "IfExists present not matching", identity: []string{instance}, req: with(ctx("ec2:InstanceType=c5.large")), want: ImplicitDeny},
		{name: "Null true and key absent", identity: []string{noToken}, req: with(nil), want: Allow},
		{name: "Null true and key present", identity: []string{noToken}, req: with(ctx("aws:TokenIssueTime=2020-01-01T00:00:00Z")), want: ImplicitDeny},
	})

	// Same page, ARN operators: ArnLike matches colon-separated parts one
	// by one, StringLike the whole string.
	pattern := "arn:aws:someservice:*:111122223333:finance/*"
	value := "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
	strLike := allow(`{"StringLike":{"aws:SourceArn":"` + pattern + `"}}`)
	arnLikeP := allow(`{"ArnLike":{"aws:SourceArn":"` + pattern + `"}}`)
	runEvalCases(t, []evalCase{
		{name: "StringLike spans colons", identity: []string{strLike}, req: with(ctx("aws:SourceArn=" + value)), want: Allow},
		{name: "ArnLike does not", identity: []string{arnLikeP}, req: with(ctx("aws:SourceArn=" + value)), want: ImplicitDeny},
		{name: "ArnLike proper match", identity: []string{arnLikeP},
			req: with(ctx("aws:SourceArn=arn:aws:someservice:us-east-2:111122223333:finance/q1/doc.txt")), want: Allow},
	})
}

func TestDocMultiValueConditions(t *testing.T) {
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
	// (ForAllValues: every request value must match some policy value;
	// ForAnyValue: one pair must match; an empty set makes ForAllValues
	// true and ForAnyValue false.)
	onlySome := `{"Statement":{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*",
		"Condition":{"ForAllValues:StringLike":{"dynamodb:requestedAttributes":["PostDateTime","Message","Tags"]}}}}`
	denySome := `{"Statement":[{"Effect":"Deny","Action":"dynamodb:PutItem","Resource":"*",
		"Condition":{"ForAnyValue:StringLike":{"dynamodb:requestedAttributes":["ID","PostDateTime"]}}},
		{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"*"}]}`
	req := func(action string, c map[string][]string) Request {
		return Request{Principal: alice, Action: action, Resource: "*", Context: c}
	}
	runEvalCases(t, []evalCase{
		{name: "ForAllValues subset", identity: []string{onlySome}, req: req("dynamodb:GetItem", ctx("dynamodb:requestedAttributes=PostDateTime,Message")), want: Allow},
		{name: "ForAllValues extra value", identity: []string{onlySome}, req: req("dynamodb:GetItem", ctx("dynamodb:requestedAttributes=PostDateTime,UserName")), want: ImplicitDeny},
		{name: "ForAllValues missing key", identity: []string{onlySome}, req: req("dynamodb:GetItem", nil), want: Allow},
		{name: "ForAllValues empty set", identity: []string{onlySome}, req: req("dynamodb:GetItem", ctx("dynamodb:requestedAttributes=")), want: Allow},
		{name: "ForAnyValue one match denies", identity: []string{denySome}, req: req("dynamodb:PutItem", ctx("dynamodb:requestedAttributes=UserName,Message,PostDateTime")), want: ExplicitDeny},
		{name: "ForAnyValue no match", identity: []string{denySome}, req: req("dynamodb:PutItem", ctx("dynamodb:requestedAttributes=UserName")), want: Allow},
		{name: "ForAnyValue empty set", identity: []string{denySome}, req: req("dynamodb:PutItem", ctx("dynamodb:requestedAttributes=")), want: Allow},
	})

	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html
	// Deny tagging unless every tag key starts with key1; the table there
	// lists these four outcomes.
	tagRule := `{"Statement":[{"Sid":"DenyRestrictedTags","Effect":"Deny","Action":["kinesis:AddTagsToStream"],"Resource":["*"],
		"Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}},
		{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`
	tagReq := func(c map[string][]string) Request {
		return Request{Principal: alice, Action: "kinesis:AddTagsToStream", Resource: orders, Context: c}
	}
	runEvalCases(t, []evalCase{
		{name: "key1:legal not denied", identity: []string{tagRule}, req: tagReq(ctx("aws:TagKeys=key1:legal")), want: Allow},
		{name: "key1:hr key1:personnel not denied", identity: []string{tagRule}, req: tagReq(ctx("aws:TagKeys=key1:hr,key1:personnel")), want: Allow},
		{name: "key2:audit denied", identity: []string{tagRule}, req: tagReq(ctx("aws:TagKeys=key2:audit")), want: ExplicitDeny},
		{name: "no TagKeys denied", identity: []string{tagRule}, req: tagReq(nil), want: ExplicitDeny},
	})

	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
	// Operators and keys are ANDed, values ORed, and a negated operator's
	// values NORed.
	multi := `{"Statement":{"Effect":"Allow","Action":"kinesis:*","Resource":"*","Condition":{
		"StringEquals":{"aws:PrincipalTag/department":["finance","hr"],"aws:PrincipalTag/role":["audit","security"]},
		"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::123456789012:user/*"]},
		"StringNotEquals":{"aws:ResourceTag/environment":["production","prod-backup"]}}}}`
	mreq := func(c map[string][]string) Request {
		return Request{Principal: alice, Action: "kinesis:PutRecord", Resource: orders, Context: c}
	}
	runEvalCases(t, []evalCase{
		{name: "all keys match", identity: []string{multi}, req: mreq(ctx("aws:PrincipalTag/department=hr", "aws:PrincipalTag/role=audit", "aws:ResourceTag/environment=qa")), want: Allow},
		{name: "second value of a key", identity: []string{multi}, req: mreq(ctx("aws:PrincipalTag/department=finance", "aws:PrincipalTag/role=security")), want: Allow},
		{name: "one key fails", identity: []string{multi}, req: mreq(ctx("aws:PrincipalTag/department=hr", "aws:PrincipalTag/role=dev")), want: ImplicitDeny},
		{name: "NOR: first negated value", identity: []string{multi}, req: mreq(ctx("aws:PrincipalTag/department=hr", "aws:PrincipalTag/role=audit", "aws:ResourceTag/environment=production")), want: ImplicitDeny},
		{name: "NOR: second negated value", identity: []string{multi}, req: mreq(ctx("aws:PrincipalTag/department=hr", "aws:PrincipalTag/role=audit", "aws:ResourceTag/environment=prod-backup")), want: ImplicitDeny},
		{name: "ArnLike on derived PrincipalArn", identity: []string{multi},
			req: Request{Principal: session, Action: "kinesis:PutRecord", Resource: orders, Context: ctx("aws:PrincipalTag/department=hr", "aws:PrincipalTag/role=audit")}, want: ImplicitDeny},
	})
}

func TestDocPrincipals(t *testing.T) {
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
	res := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + principal + `,"Action":"kinesis:*","Resource":"` + orders + `"}}`
	}
	put := func(who string) Request {
		return Request{Principal: who, Action: "kinesis:PutRecord", Resource: orders}
	}
	runEvalCases(t, []evalCase{
		{name: "star", resource: []string{res(`"*"`)}, req: put(mallory), want: Allow, source: SourceResource},
		{name: "AWS star", resource: []string{res(`{"AWS":"*"}`)}, req: put(mallory), want: Allow},
		{name: "star matches anonymous", resource: []string{res(`"*"`)}, req: put(""), want: Allow},
		{name: "account id", resource: []string{res(`{"AWS":"123456789012"}`)}, req: put(alice), want: Allow},
		{name: "account root ARN covers its users", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, req: put(bob), want: Allow},
		{name: "account root ARN covers its role sessions", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:root"}`)}, req: put(session), want: Allow},
		{name: "other account", resource: []string{res(`{"AWS":"123456789012"}`)}, req: put(mallory), want: ImplicitDeny},
		{name: "account from Request.Account", resource: []string{res(`{"AWS":"123456789012"}`)},
			req: Request{Principal: "AIDAEXAMPLEUSERID0001", Account: acct, Action: "kinesis:PutRecord", Resource: orders}, want: Allow},
		{name: "account never matches anonymous", resource: []string{res(`{"AWS":"123456789012"}`)}, req: put(""), want: ImplicitDeny},
		{name: "user ARN exact", resource: []string{res(`{"AWS":["arn:aws:iam::123456789012:user/alice"]}`)}, req: put(alice), want: Allow},
		{name: "user ARN other user", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:user/alice"}`)}, req: put(bob), want: ImplicitDeny},
		{name: "user ARN is case-sensitive", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:user/Alice"}`)}, req: put(alice), want: ImplicitDeny},
		{name: "role ARN covers its sessions", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:role/Reader"}`)}, req: put(session), want: Allow},
		{name: "pathed role ARN covers its sessions", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:role/team/Reader"}`)}, req: put(session), want: Allow},
		{name: "other role", resource: []string{res(`{"AWS":"arn:aws:iam::123456789012:role/Writer"}`)}, req: put(session), want: ImplicitDeny},
		{name: "session ARN exact", resource: []string{res(`{"AWS":"` + session + `"}`)}, req: put(session), want: Allow},
		{name: "other session", resource: []string{res(`{"AWS":"arn:aws:sts::123456789012:assumed-role/Reader/app-2"}`)}, req: put(session), want: ImplicitDeny},
		{name: "service principal never matches", resource: []string{res(`{"Service":"lambda.amazonaws.com"}`)}, req: put(alice), want: ImplicitDeny},
		{name: "one of several", resource: []string{res(`{"AWS":["210987654321","arn:aws:iam::123456789012:user/bob"],"Service":"x.amazonaws.com"}`)}, req: put(bob), want: Allow},
	})

	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
	// Deny everyone except Bob; the account must be listed too, or Bob's
	// account (and so Bob) is denied.
	exceptBob := `{"Statement":[{"Sid":"ExceptBob","Effect":"Deny","NotPrincipal":{"AWS":[
		"arn:aws:iam::123456789012:user/bob","arn:aws:iam::123456789012:root"]},"Action":"kinesis:*","Resource":"` + orders + `"},
		{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`
	bobOnly := `{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"kinesis:*","Resource":"*"}}`
	exceptApp := `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["` + session + `","` + roleARN + `","123456789012"]},"Action":"kinesis:*","Resource":"*"},
		{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`
	runEvalCases(t, []evalCase{
		{name: "Bob excepted", resource: []string{exceptBob}, req: put(bob), want: Allow},
		{name: "Alice denied though her account is listed", resource: []string{exceptBob}, req: put(alice), want: ExplicitDeny, sid: "ExceptBob"},
		{name: "other account denied", resource: []string{exceptBob}, req: put(mallory), want: ExplicitDeny},
		{name: "anonymous denied", resource: []string{exceptBob}, req: put(""), want: ExplicitDeny},
		{name: "Bob without his account listed is denied", resource: []string{bobOnly}, req: put(bob), want: ExplicitDeny},
		{name: "session with role and account listed excepted", resource: []string{exceptApp}, req: put(session), want: Allow},
		{name: "other session of the role denied", resource: []string{exceptApp},
			req: put("arn:aws:sts::123456789012:assumed-role/Reader/app-2"), want: ExplicitDeny},
	})
}
