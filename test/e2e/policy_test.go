package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

// The policy tests' keys, all in one account: an administrator allowed
// everything, a reader that may describe, list and get anything but may
// touch no stream named secret-*, a writer that may put records over TLS
// only, and a key with no policies at all.
const policyAccount = "123456789012"

var (
	adminKey = e2eKey{ID: "AKIAPOLICYADMIN", Secret: "admin-secret", Account: policyAccount,
		Principal: "arn:aws:iam::123456789012:user/admin"}
	readerKey = e2eKey{ID: "AKIAPOLICYREADER", Secret: "reader-secret", Account: policyAccount,
		Principal: "arn:aws:iam::123456789012:user/reader", Policies: []string{`{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Action": ["kinesis:Describe*", "kinesis:List*", "kinesis:Get*", "rivulet:AdminRead"], "Resource": "*"},
			{"Effect": "Deny", "Action": "kinesis:*", "Resource": "arn:aws:kinesis:*:*:stream/secret-*"}]}`}}
	tlsWriterKey = e2eKey{ID: "AKIAPOLICYTLS", Secret: "tls-secret", Account: policyAccount,
		Principal: "arn:aws:iam::123456789012:user/tls-writer", Policies: []string{`{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": "*",
			 "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}`}}
	noPolicyKey = e2eKey{ID: "AKIAPOLICYNONE", Secret: "none-secret", Account: policyAccount, Policies: []string{}}
)

// policyStreamARN is the ARN of a stream of the policy tests' account.
func policyStreamARN(name string) string {
	return "arn:aws:kinesis:" + region + ":" + policyAccount + ":stream/" + name
}

// denied is AccessDeniedException's message: why is "because no
// identity-based policy allows the ACTION action" or "with an explicit
// deny in an identity-based policy" (or "a resource-based policy").
func denied(principal, action, resource, why string) string {
	return "User: " + principal + " is not authorized to perform: " + action + " on resource: " + resource + " " + why
}

func noAllow(action string) string {
	return "because no identity-based policy allows the " + action + " action"
}

const (
	identityDeny = "with an explicit deny in an identity-based policy"
	resourceDeny = "with an explicit deny in a resource-based policy"
)

// policyServer is a server with the policy tests' keys, a TLS port and
// an admin listener, and the streams orders and secret-pay.
type policyServer struct {
	*server
	tlsPort   int
	adminAddr string
	admin     *kinesis.Client
}

func startPolicyServer(ctx context.Context, t *testing.T) *policyServer {
	t.Helper()
	p := &policyServer{tlsPort: freePort(t), adminAddr: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	creds := writeCredentials(t, []e2eKey{adminKey, readerKey, tlsWriterKey, noPolicyKey})
	p.server = startServer(t, serverOptions{extra: []string{"--auth=sigv4", "--credentials", creds,
		"--tls-port", strconv.Itoa(p.tlsPort), "--admin-addr", p.adminAddr}})
	p.admin = p.client(t, adminKey, false)
	for _, name := range []string{"orders", "secret-pay"} {
		createStream(ctx, t, p.admin, name, 1)
	}
	return p
}

func (p *policyServer) tlsEndpoint() string { return "https://localhost:" + strconv.Itoa(p.tlsPort) }

// caFile is the self-signed certificate the server made for --tls-port.
func (p *policyServer) caFile() string { return filepath.Join(p.dataDir, "tls", "cert.pem") }

// client is an aws-sdk-go-v2 client signing with key, over plain HTTP
// or TLS, that tries each call once.
func (p *policyServer) client(t *testing.T, key e2eKey, overTLS bool) *kinesis.Client {
	t.Helper()
	hc, endpoint := p.http, p.endpoint()
	if overTLS {
		pemBytes, err := os.ReadFile(p.caFile())
		if err != nil {
			t.Fatalf("generated certificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			t.Fatal("certificate is not PEM")
		}
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
			DialContext: (&net.Dialer{Timeout: hangTimeout}).DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		hc, endpoint = &http.Client{Transport: tr}, p.tlsEndpoint()
	}
	return kinesis.NewFromConfig(aws.Config{
		Region: region, HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}, nil
		}),
	}, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// allowReaderPut attaches to stream a resource policy that lets the reader
// put records, as the administrator.
func (p *policyServer) allowReaderPut(ctx context.Context, t *testing.T, stream string) string {
	t.Helper()
	arn := policyStreamARN(stream)
	doc := `{"Version": "2012-10-17", "Statement": [{"Sid": "ReaderMayPut", "Effect": "Allow",` +
		`"Principal": {"AWS": "` + readerKey.Principal + `"}, "Action": "kinesis:PutRecord", "Resource": "` + arn + `"}]}`
	if _, err := p.admin.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: &arn, Policy: &doc}); err != nil {
		t.Fatalf("PutResourcePolicy %s: %v", stream, err)
	}
	return doc
}

// policyCase is one call and what it must get: success, or
// AccessDeniedException with want as its message.
type policyCase struct {
	name   string
	key    e2eKey
	op     string // PutRecord or DescribeStreamSummary
	stream string
	tls    bool // over --tls-port
	want   string
}

// policyCall makes tc's call with one client and reports the error type
// and message, or ok.
type policyCall func(tc policyCase) (ok bool, typ, msg string)

// runPolicyCases runs the cases every client is tried with: before the
// streams have resource policies, and after the administrator let the
// reader put records into both (secret-pay's stays refused: an explicit
// deny wins over any allow).
func runPolicyCases(ctx context.Context, t *testing.T, p *policyServer, call policyCall) {
	t.Helper()
	reader, writer := readerKey.Principal, tlsWriterKey.Principal
	orders, secret := policyStreamARN("orders"), policyStreamARN("secret-pay")
	check := func(cases []policyCase) {
		t.Helper()
		for _, tc := range cases {
			ok, typ, msg := call(tc)
			switch {
			case tc.want == "" && !ok:
				t.Errorf("%s: %s: %s, want success", tc.name, typ, msg)
			case tc.want != "" && (ok || typ != "AccessDeniedException" || msg != tc.want):
				t.Errorf("%s: got ok=%v %s: %q\nwant AccessDeniedException: %q", tc.name, ok, typ, msg, tc.want)
			}
		}
	}
	check([]policyCase{
		{"reader puts", readerKey, "PutRecord", "orders", false,
			denied(reader, "kinesis:PutRecord", orders, noAllow("kinesis:PutRecord"))},
		{"reader describes", readerKey, "DescribeStreamSummary", "orders", false, ""},
		{"reader describes secret-*", readerKey, "DescribeStreamSummary", "secret-pay", false,
			denied(reader, "kinesis:DescribeStreamSummary", secret, identityDeny)},
		{"TLS-only writer over HTTP", tlsWriterKey, "PutRecord", "orders", false,
			denied(writer, "kinesis:PutRecord", orders, noAllow("kinesis:PutRecord"))},
		{"TLS-only writer over TLS", tlsWriterKey, "PutRecord", "orders", true, ""},
	})
	p.allowReaderPut(ctx, t, "orders")
	p.allowReaderPut(ctx, t, "secret-pay")
	check([]policyCase{
		{"reader puts, allowed by the stream", readerKey, "PutRecord", "orders", false, ""},
		{"reader puts into secret-*, allowed by the stream", readerKey, "PutRecord", "secret-pay", false,
			denied(reader, "kinesis:PutRecord", secret, identityDeny)},
	})
}

// params are tc's call's parameters, as the SDKs' JSON.
func (tc policyCase) params() string {
	if tc.op == "PutRecord" {
		return `{"StreamName": "` + tc.stream + `", "PartitionKey": "k", "Data": "x"}`
	}
	return `{"StreamName": "` + tc.stream + `"}`
}

func TestPolicyGoSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startPolicyServer(ctx, t)
	reader := p.client(t, readerKey, false)

	// With no resource policy, GetResourcePolicy answers "{}".
	orders := policyStreamARN("orders")
	got, err := reader.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: &orders})
	if err != nil || aws.ToString(got.Policy) != "{}" {
		t.Fatalf("GetResourcePolicy without a policy: %v %v", got, err)
	}

	runPolicyCases(ctx, t, p, func(tc policyCase) (bool, string, string) {
		c := p.client(t, tc.key, tc.tls)
		var err error
		switch tc.op {
		case "PutRecord":
			_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: &tc.stream, PartitionKey: aws.String("k"), Data: []byte("x")})
		case "DescribeStreamSummary":
			_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &tc.stream})
		}
		if err == nil {
			return true, "", ""
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var typed *types.AccessDeniedException
		if ae.ErrorCode() == "AccessDeniedException" && !errors.As(err, &typed) {
			t.Errorf("%s: the SDK did not make a *types.AccessDeniedException of %T", tc.name, err)
		}
		return false, ae.ErrorCode(), ae.ErrorMessage()
	})

	// The reader reads what it wrote (GetRecords is checked against the
	// stream its iterator names), and GetResourcePolicy shows the policy.
	var fromReader int
	for _, r := range readAll(ctx, t, reader, "orders") {
		if r.Data == "x" {
			fromReader++
		}
	}
	if fromReader != 2 { // the TLS writer's and the reader's
		t.Errorf("read %d records of the writers, want 2", fromReader)
	}
	got, err = reader.GetResourcePolicy(ctx, &kinesis.GetResourcePolicyInput{ResourceARN: &orders})
	if err != nil || !strings.Contains(aws.ToString(got.Policy), `"ReaderMayPut"`) {
		t.Fatalf("GetResourcePolicy: %v %v", got, err)
	}

	// Without its resource policy the reader may not put again.
	if _, err := p.admin.DeleteResourcePolicy(ctx, &kinesis.DeleteResourcePolicyInput{ResourceARN: &orders}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String("k"), Data: []byte("x")})
	wantAccessDenied(t, "after DeleteResourcePolicy", err,
		denied(readerKey.Principal, "kinesis:PutRecord", orders, noAllow("kinesis:PutRecord")))

	// A Deny in a stream's resource policy overrides the reader's own allow.
	createStream(ctx, t, p.admin, "audit", 1)
	audit := policyStreamARN("audit")
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "` + readerKey.Principal +
		`"}, "Action": "kinesis:Describe*", "Resource": "` + audit + `"}]}`
	if _, err := p.admin.PutResourcePolicy(ctx, &kinesis.PutResourcePolicyInput{ResourceARN: &audit, Policy: &doc}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("audit")})
	wantAccessDenied(t, "resource-policy deny", err, denied(readerKey.Principal, "kinesis:DescribeStreamSummary", audit, resourceDeny))

	// A key without policies may do nothing, not even list.
	_, err = p.client(t, noPolicyKey, false).ListStreams(ctx, &kinesis.ListStreamsInput{})
	wantAccessDenied(t, "no policies", err,
		denied("arn:aws:iam::123456789012:root", "kinesis:ListStreams", "*", noAllow("kinesis:ListStreams")))
	p.stop(t)
}

func wantAccessDenied(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != msg {
		t.Errorf("%s: got %v\nwant AccessDeniedException: %s", what, err, msg)
	}
}

// TestPolicyAWSCLI: Debian's AWS CLI v2 (2.9) predates the resource-policy
// operations, so runPolicyCases attaches the policies with the Go SDK;
// the CLI's put-record then succeeds.
func TestPolicyAWSCLI(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Fatalf("AWS CLI v2 is required at %s (apt-get install awscli; make test does it): %v", awsCLI, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startPolicyServer(ctx, t)
	runPolicyCases(ctx, t, p, func(tc policyCase) (bool, string, string) {
		args := []string{"kinesis", "describe-stream-summary", "--stream-name", tc.stream}
		if tc.op == "PutRecord" {
			// The CLI v2 takes --data as base64.
			args = []string{"kinesis", "put-record", "--stream-name", tc.stream, "--partition-key", "k", "--data", "eA=="}
		}
		endpoint := p.endpoint()
		if tc.tls {
			endpoint = p.tlsEndpoint()
		}
		args = append(args, "--endpoint-url", endpoint, "--output", "json")
		cmd := exec.CommandContext(ctx, awsCLI, args...)
		cmd.Env = append(authEnv(t, tc.key.ID, tc.key.Secret), "AWS_CA_BUNDLE="+p.caFile())
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = hangTimeout
		err := cmd.Run()
		if err == nil {
			return true, "", ""
		}
		// The CLI v2 exits 254 when the service answered with an error.
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 254 {
			t.Fatalf("%s: aws %s: %v\nstderr:\n%s", tc.name, strings.Join(args, " "), err, stderr.String())
		}
		msg, ok := cliError(stderr.String(), "AccessDeniedException", tc.op)
		if !ok {
			return false, "not AccessDeniedException", stderr.String()
		}
		return false, "AccessDeniedException", msg
	})
	p.stop(t)
}

func TestPolicyBoto3(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (apt-get install python3-boto3; make test does it): %v", debianPython, err)
	}
	testPolicyScript(t, debianPython, "boto3_auth.py", "AWS_CA_BUNDLE")
}

func TestPolicyJSSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required: %v", err)
	}
	testPolicyScript(t, node, "js_auth.mjs", "NODE_EXTRA_CA_CERTS")
}

// testPolicyScript runs the policy cases through a client script, which
// trusts the server's certificate through the environment variable caVar.
func testPolicyScript(t *testing.T, interpreter, script, caVar string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startPolicyServer(ctx, t)
	runPolicyCases(ctx, t, p, func(tc policyCase) (bool, string, string) {
		endpoint := p.endpoint()
		if tc.tls {
			endpoint = p.tlsEndpoint()
		}
		env := append(authEnv(t, tc.key.ID, tc.key.Secret), caVar+"="+p.caFile())
		r := runAuthScript(ctx, t, env, interpreter, filepath.Join("clients", script), "--endpoint", endpoint,
			"--key", tc.key.ID, "--secret", tc.key.Secret, "--call", tc.op, "--params", tc.params())
		return r.result(t, tc)
	})
	p.stop(t)
}

// result checks what a client script printed: the call's output on
// success, HTTP 400 with an error.
func (r clientResult) result(t *testing.T, tc policyCase) (bool, string, string) {
	t.Helper()
	if r.OK {
		var out map[string]any
		if err := json.Unmarshal(r.Output, &out); err != nil {
			t.Errorf("%s: output %s: %v", tc.name, r.Output, err)
		}
		key := "StreamDescriptionSummary"
		if tc.op == "PutRecord" {
			key = "SequenceNumber"
		}
		if out[key] == nil {
			t.Errorf("%s: output %s has no %s", tc.name, r.Output, key)
		}
		return true, "", ""
	}
	if r.Status != http.StatusBadRequest {
		t.Errorf("%s: HTTP %d, want 400", tc.name, r.Status)
	}
	return false, r.Error, r.Message
}

// TestPolicyAdminCurl signs requests to the admin listener with curl
// --aws-sigv4, as docs/SECURITY.md shows: reading needs
// rivulet:AdminRead, changing rivulet:AdminWrite.
func TestPolicyAdminCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if out, _ := exec.CommandContext(ctx, curl, "--help", "all").Output(); !strings.Contains(string(out), "--aws-sigv4") {
		t.Skip("this curl has no --aws-sigv4 (curl 7.75 or later)")
	}
	p := startPolicyServer(ctx, t)
	faults := "http://" + p.adminAddr + "/admin/faults"
	rule := `{"op":"PutRecord","error":"InternalFailure","every":3}`
	// curl prints the body, then the status on a line of its own.
	do := func(key *e2eKey, args ...string) (int, string) {
		t.Helper()
		argv := []string{"-sS", "--max-time", strconv.Itoa(int(hangTimeout.Seconds())), "-w", `\n%{http_code}`}
		if key != nil {
			argv = append(argv, "--aws-sigv4", "aws:amz:"+region+":rivulet", "--user", key.ID+":"+key.Secret)
		}
		cmd := exec.CommandContext(ctx, curl, append(argv, args...)...)
		cmd.WaitDelay = hangTimeout
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		i := strings.LastIndexByte(string(out), '\n')
		n, err := strconv.Atoi(string(out[i+1:]))
		if i < 0 || err != nil {
			t.Fatalf("curl %v printed no status: %s", args, out)
		}
		return n, string(out[:i])
	}
	post := []string{"-X", "POST", faults, "-H", "Content-Type: application/json", "-d", rule}
	wrong := adminKey
	wrong.Secret = "wrong"
	for _, tc := range []struct {
		name string
		key  *e2eKey
		args []string
		code int
		body string // in the answer
	}{
		{"unsigned", nil, []string{faults}, http.StatusForbidden, "Missing Authentication Token"},
		{"wrong secret", &wrong, []string{faults}, http.StatusForbidden, "The request signature we calculated does not match"},
		{"reader reads", &readerKey, []string{faults}, http.StatusOK, "[]"},
		{"reader changes", &readerKey, post, http.StatusForbidden,
			denied(readerKey.Principal, "rivulet:AdminWrite", "*", noAllow("rivulet:AdminWrite"))},
		{"writer without admin policies reads", &tlsWriterKey, []string{faults}, http.StatusForbidden,
			denied(tlsWriterKey.Principal, "rivulet:AdminRead", "*", noAllow("rivulet:AdminRead"))},
		{"admin changes", &adminKey, post, http.StatusOK, `"InternalFailure"`},
		{"reader sees the change", &readerKey, []string{faults}, http.StatusOK, `"InternalFailure"`},
		{"admin clears", &adminKey, []string{"-X", "DELETE", faults, "-H", "Content-Type: application/json"}, http.StatusOK, "[]"},
	} {
		code, body := do(tc.key, tc.args...)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %s\nwant %d with %q", tc.name, code, body, tc.code, tc.body)
		}
	}
	p.stop(t)
}
