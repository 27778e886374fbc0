package authz

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/kinesis"
)

func principal(t *testing.T, policies ...string) *auth.Principal {
	t.Helper()
	entries := `{"credentials": [{"accessKeyId": "AKIAX", "secretAccessKey": "s", "account": "123456789012",
		"principal": "arn:aws:iam::123456789012:user/x", "policies": [` + strings.Join(policies, ",") + `]}]}`
	k, err := auth.Parse([]byte(entries))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := k.Lookup("AKIAX")
	return p
}

func denied(err error) bool {
	var e *kinesis.Error
	return errors.As(err, &e) && errors.Is(err, kinesis.ErrAccessDenied)
}

func TestConditions(t *testing.T) {
	a := New()
	ctx := context.Background()
	p := principal(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"pay"}}},
		{"Effect":"Allow","Action":"kinesis:GetRecords","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	const arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	for _, tc := range []struct {
		name   string
		c      kinesis.Caller
		action string
		about  kinesis.Resource
		allow  bool
	}{
		{"tag matches", kinesis.Caller{Principal: p}, "kinesis:PutRecord", kinesis.Resource{Tags: map[string]string{"team": "pay"}}, true},
		{"tag differs", kinesis.Caller{Principal: p}, "kinesis:PutRecord", kinesis.Resource{Tags: map[string]string{"team": "ops"}}, false},
		{"no tags", kinesis.Caller{Principal: p}, "kinesis:PutRecord", kinesis.Resource{}, false},
		{"TLS from 10/8", kinesis.Caller{Principal: p, SecureTransport: true, SourceIP: "10.1.2.3"}, "kinesis:GetRecords", kinesis.Resource{}, true},
		{"plain from 10/8", kinesis.Caller{Principal: p, SourceIP: "10.1.2.3"}, "kinesis:GetRecords", kinesis.Resource{}, false},
		{"TLS from elsewhere", kinesis.Caller{Principal: p, SecureTransport: true, SourceIP: "192.0.2.1"}, "kinesis:GetRecords", kinesis.Resource{}, false},
		{"no principal", kinesis.Caller{}, "kinesis:PutRecord", kinesis.Resource{Tags: map[string]string{"team": "pay"}}, false},
	} {
		err := a.Authorize(ctx, tc.c, tc.action, arn, tc.about)
		if tc.allow && err != nil || !tc.allow && !denied(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestResourcePolicyCache(t *testing.T) {
	a := New()
	p := principal(t)
	doc := func(i int) string {
		return `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `","Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:PutRecord","Resource":"*"}]}`
	}
	for i := 0; i < 3*maxCached; i++ {
		if err := a.Authorize(context.Background(), kinesis.Caller{Principal: p}, "kinesis:PutRecord", "*", kinesis.Resource{Policy: doc(i)}); err != nil {
			t.Fatalf("allowed by the resource policy: %v", err)
		}
	}
	if n := len(a.resource); n > maxCached {
		t.Fatalf("%d parsed policies kept", n)
	}
}

// TestCrossAccount: a key may reach another account's stream only when
// the stream's resource policy allows it too.
func TestCrossAccount(t *testing.T) {
	a := New()
	p := principal(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`)
	const other = "arn:aws:kinesis:us-east-1:210987654321:stream/orders"
	c := kinesis.Caller{Principal: p}
	err := a.Authorize(context.Background(), c, "kinesis:PutRecord", other, kinesis.Resource{})
	want := "User: arn:aws:iam::123456789012:user/x is not authorized to perform: kinesis:PutRecord on resource: " + other +
		" because no resource-based policy allows the kinesis:PutRecord action"
	var e *kinesis.Error
	if !errors.As(err, &e) || e.Message != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kinesis:PutRecord","Resource":"` + other + `"}]}`
	if err := a.Authorize(context.Background(), c, "kinesis:PutRecord", other, kinesis.Resource{Policy: grant}); err != nil {
		t.Fatalf("granted by the resource policy: %v", err)
	}
	// The resource policy alone is not enough: the identity must allow too.
	none := principal(t)
	if err := a.Authorize(context.Background(), kinesis.Caller{Principal: none}, "kinesis:PutRecord", other, kinesis.Resource{Policy: grant}); !denied(err) {
		t.Fatalf("identity without an allow: %v", err)
	}
	// Within its own account the identity's allow is enough.
	if err := a.Authorize(context.Background(), c, "kinesis:PutRecord", "arn:aws:kinesis:us-east-1:123456789012:stream/mine", kinesis.Resource{}); err != nil {
		t.Fatal(err)
	}
}

// Rivulet's own in-process calls (the delivery engine reading a Kinesis
// source) are allowed; the same call without a principal from a listener
// is not.
func TestServiceCaller(t *testing.T) {
	a := New()
	ctx := context.Background()
	arn := "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	if err := a.Authorize(ctx, kinesis.Caller{Account: "123456789012", Service: true}, "kinesis:GetRecords", arn, kinesis.Resource{}); err != nil {
		t.Fatalf("service caller: %v", err)
	}
	if err := a.Authorize(ctx, kinesis.Caller{Account: "123456789012"}, "kinesis:GetRecords", arn, kinesis.Resource{}); !denied(err) {
		t.Fatalf("caller without a principal: %v, want AccessDenied", err)
	}
}
