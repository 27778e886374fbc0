package kinesis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/auth/policy"
)

// policyAuthorizer evaluates one identity policy for every caller, as the
// server's authorizer does for a credential's policies.
type policyAuthorizer struct {
	principal string
	identity  []*policy.Policy
}

func (a policyAuthorizer) Authorize(_ context.Context, c Caller, action, resource string, about Resource) error {
	req := policy.Request{Principal: a.principal, Account: c.Account, Action: action, Resource: resource}
	var res []*policy.Policy
	if about.Policy != "" {
		p, err := policy.Parse([]byte(about.Policy))
		if err != nil {
			return err
		}
		res = append(res, p)
	}
	r := policy.Evaluate(req, a.identity, res)
	if r.Decision == policy.Allow {
		return nil
	}
	return Errorf(ErrAccessDenied, "%s", policy.DeniedMessage(req, r))
}

func mustPolicy(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

func call(s *Service, ctx context.Context, op string, in any) (any, error) {
	return s.Operations()[op].Call(ctx, in)
}

func TestAuthorization(t *testing.T) {
	const alice = "arn:aws:iam::000000000000:user/alice"
	c := &clock{t: time.Now()}
	identity := mustPolicy(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["kinesis:Describe*","kinesis:List*","kinesis:CreateStream","kinesis:GetShardIterator","kinesis:GetRecords","kinesis:PutResourcePolicy","kinesis:GetResourcePolicy"],"Resource":"*"},
		{"Effect":"Allow","Action":"kinesis:PutRecord","Resource":"arn:aws:kinesis:*:*:stream/open-*"}]}`)
	s := New(openBackend(t), Config{CreateDelay: time.Second, ShardLimit: 10, Now: c.Now, Authorizer: policyAuthorizer{alice, []*policy.Policy{identity}}})
	t.Cleanup(s.Close)
	for _, name := range []string{"open-a", "closed-b"} {
		if _, err := call(s, ctx, "CreateStream", &api.CreateStreamInput{StreamName: &name, ShardCount: ptr(int64(1))}); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(time.Second)
	put := func(stream string) error {
		_, err := call(s, ctx, "PutRecord", &api.PutRecordInput{StreamName: &stream, PartitionKey: ptr("k"), Data: []byte("x")})
		return err
	}
	if err := put("open-a"); err != nil {
		t.Fatalf("allowed put: %v", err)
	}
	wantErr(t, put("closed-b"), ErrAccessDenied,
		"User: arn:aws:iam::000000000000:user/alice is not authorized to perform: kinesis:PutRecord on resource: arn:aws:kinesis:us-east-1:000000000000:stream/closed-b because no identity-based policy allows the kinesis:PutRecord action")
	_, err := call(s, ctx, "DeleteStream", &api.DeleteStreamInput{StreamName: ptr("open-a")})
	wantErr(t, err, ErrAccessDenied, "")
	_, err = call(s, ctx, "ListStreams", &api.ListStreamsInput{})
	if err != nil {
		t.Fatalf("ListStreams against *: %v", err)
	}

	// A resource policy on closed-b lets alice write there.
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/closed-b"
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kinesis:PutRecord","Resource":"` + arn + `"}]}`
	if _, err := call(s, ctx, "PutResourcePolicy", &api.PutResourcePolicyInput{ResourceARN: &arn, Policy: &doc}); err != nil {
		t.Fatal(err)
	}
	if err := put("closed-b"); err != nil {
		t.Fatalf("put allowed by the resource policy: %v", err)
	}
	got, err := call(s, ctx, "GetResourcePolicy", &api.GetResourcePolicyInput{ResourceARN: &arn})
	if err != nil || got.(*api.GetResourcePolicyOutput).Policy != doc {
		t.Fatalf("GetResourcePolicy: %+v %v", got, err)
	}
	// An explicit deny in the resource policy beats the identity's allow.
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kinesis:GetRecords","Resource":"*"}]}`
	openARN := "arn:aws:kinesis:us-east-1:000000000000:stream/open-a"
	if _, err := call(s, ctx, "PutResourcePolicy", &api.PutResourcePolicyInput{ResourceARN: &openARN, Policy: &deny}); err != nil {
		t.Fatal(err)
	}
	it, err := call(s, ctx, "GetShardIterator", &api.GetShardIteratorInput{StreamName: ptr("open-a"), ShardId: ptr("shardId-000000000000"), ShardIteratorType: ptr("TRIM_HORIZON")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = call(s, ctx, "GetRecords", &api.GetRecordsInput{ShardIterator: ptr(it.(*api.GetShardIteratorOutput).ShardIterator)})
	wantErr(t, err, ErrAccessDenied, "")
	if e := err.(*Error); !strings.Contains(e.Message, "explicit deny in a resource-based policy") {
		t.Errorf("deny message: %s", e.Message)
	}
	// DeleteResourcePolicy is not allowed to alice.
	_, err = call(s, ctx, "DeleteResourcePolicy", &api.DeleteResourcePolicyInput{ResourceARN: &openARN})
	wantErr(t, err, ErrAccessDenied, "")
}

func TestResourcePolicyValidation(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "p", 1)
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/p"
	got, err := s.GetResourcePolicy(ctx, &api.GetResourcePolicyInput{ResourceARN: &arn})
	if err != nil || got.Policy != "{}" {
		t.Fatalf("no policy: %+v %v", got, err)
	}
	for _, bad := range []string{`{`, `{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}`} {
		_, err := s.PutResourcePolicy(ctx, &api.PutResourcePolicyInput{ResourceARN: &arn, Policy: &bad})
		wantErr(t, err, ErrInvalidArgument, "")
	}
	big := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*","Sid":"` + strings.Repeat("x", maxPolicyBytes) + `"}]}`
	_, err = s.PutResourcePolicy(ctx, &api.PutResourcePolicyInput{ResourceARN: &arn, Policy: &big})
	wantErr(t, err, ErrLimitExceeded, "")
	_, err = s.PutResourcePolicy(ctx, &api.PutResourcePolicyInput{ResourceARN: ptr("arn:aws:kinesis:us-east-1:000000000000:stream/missing"),
		Policy: ptr(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`)})
	wantErr(t, err, ErrResourceNotFound, "")
	if _, err := s.DeleteResourcePolicy(ctx, &api.DeleteResourcePolicyInput{ResourceARN: &arn}); err != nil {
		t.Fatalf("deleting no policy: %v", err)
	}
}
