package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
)

// e2eKey is one entry of a credentials file.
type e2eKey struct {
	ID, Secret, Account, Token, Expiration string
	// Principal is the key's ARN; "" for the account's root.
	Principal string
	// Policies are the key's identity-based policies; nil allows it
	// everything (allowAll), an empty list nothing.
	Policies []string
}

// e2eKeys are the keys of every server E2E_AUTH=sigv4 starts: the tests'
// own key in the default account, and 12-digit keys, which under auth
// none select their account, as entries of that account.
var e2eKeys = []e2eKey{
	{ID: accessKeyID, Secret: secretAccessKey, Account: account},
	{ID: "111111111111", Secret: secretAccessKey, Account: "111111111111"},
	{ID: "222222222222", Secret: secretAccessKey, Account: "222222222222"},
	{ID: "123456789012", Secret: secretAccessKey, Account: "123456789012"},
}

const allowAll = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}`

// writeCredentials writes keys as a credentials file for --credentials;
// a key without Policies of its own is allowed everything.
func writeCredentials(t testing.TB, keys []e2eKey) string {
	t.Helper()
	type entry struct {
		AccessKeyID     string            `json:"accessKeyId"`
		SecretAccessKey string            `json:"secretAccessKey"`
		SessionToken    string            `json:"sessionToken,omitempty"`
		Expiration      string            `json:"expiration,omitempty"`
		Account         string            `json:"account"`
		Principal       string            `json:"principal,omitempty"`
		Policies        []json.RawMessage `json:"policies"`
	}
	var f struct {
		Credentials []entry `json:"credentials"`
	}
	for _, k := range keys {
		policies := []json.RawMessage{json.RawMessage(allowAll)}
		if k.Policies != nil {
			policies = []json.RawMessage{}
			for _, p := range k.Policies {
				policies = append(policies, json.RawMessage(p))
			}
		}
		f.Credentials = append(f.Credentials, entry{k.ID, k.Secret, k.Token, k.Expiration, k.Account, k.Principal, policies})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// authArgs are the flags E2E_AUTH=sigv4 adds to a server's, unless the
// test chose its own authentication.
func authArgs(t testing.TB, extra []string) []string {
	if os.Getenv("E2E_AUTH") != "sigv4" {
		return nil
	}
	for _, a := range extra {
		if a == "--auth" || strings.HasPrefix(a, "--auth=") {
			return nil
		}
	}
	return []string{"--auth=sigv4", "--credentials", writeCredentials(t, e2eKeys)}
}

// signRaw signs a hand-built request with the tests' key, as an SDK would.
func signRaw(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey},
		req, hex.EncodeToString(sum[:]), "kinesis", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
}

// AWS's messages for the failures every client is tried with.
const (
	mismatchPrefix = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key " +
		"and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'POST\n/\n"
	unknownKeyMsg = "The security token included in the request is invalid."
)

var expiredRE = regexp.MustCompile(`^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$`)

// authCase is one way of signing, right or wrong, and what AWS answers.
type authCase struct {
	name, key, secret string
	skew              time.Duration // the client's clock is this far off
	typ               string        // "" for success
	check             func(msg string) bool
}

var authCases = []authCase{
	{name: "right secret", key: accessKeyID, secret: secretAccessKey},
	{name: "wrong secret", key: accessKeyID, secret: "wrong", typ: "InvalidSignatureException",
		check: func(m string) bool { return strings.HasPrefix(m, mismatchPrefix) }},
	{name: "unknown key", key: "AKIAUNKNOWNKEY000000", secret: secretAccessKey, typ: "UnrecognizedClientException",
		check: func(m string) bool { return m == unknownKeyMsg }},
	{name: "clock 20 min behind", key: accessKeyID, secret: secretAccessKey, skew: -20 * time.Minute, typ: "InvalidSignatureException",
		check: expiredRE.MatchString},
}

// sigv4Server starts a server that checks signatures against keys.
func sigv4Server(t *testing.T, keys []e2eKey) *server {
	t.Helper()
	return startServer(t, serverOptions{extra: []string{"--auth=sigv4", "--credentials", writeCredentials(t, keys)}})
}

// skewedSigner signs as if the clock were off by skew.
type skewedSigner struct {
	*v4.Signer
	skew time.Duration
}

func (s skewedSigner) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, hash, service, region string, at time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.Signer.SignHTTP(ctx, c, r, hash, service, region, at.Add(s.skew), opts...)
}

func TestSigV4GoSDK(t *testing.T) {
	ctx := context.Background()
	keys := append([]e2eKey{
		{ID: "ASIATEMPORARY", Secret: "temporary", Account: "333333333333", Token: "session-token"},
		{ID: "ASIAEXPIRED", Secret: "expired", Account: "333333333333", Token: "old-token", Expiration: "2020-01-01T00:00:00Z"},
	}, e2eKeys...)
	s := sigv4Server(t, keys)
	client := func(key, secret, token string, skew time.Duration) *kinesis.Client {
		return kinesis.NewFromConfig(aws.Config{
			Region: region, HTTPClient: s.http, RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token}, nil
			}),
		}, func(o *kinesis.Options) {
			o.BaseEndpoint = aws.String(s.endpoint())
			o.HTTPSignerV4 = skewedSigner{v4.NewSigner(), skew}
		})
	}
	cases := append(authCases,
		authCase{name: "session token", key: "ASIATEMPORARY", secret: "temporary"},
		authCase{name: "an account as key", key: "444444444444", secret: secretAccessKey, typ: "UnrecognizedClientException",
			check: func(m string) bool { return m == unknownKeyMsg }},
	)
	for _, tc := range cases {
		token := ""
		if tc.key == "ASIATEMPORARY" {
			token = "session-token"
		}
		_, err := client(tc.key, tc.secret, token, tc.skew).ListStreams(ctx, &kinesis.ListStreamsInput{})
		checkAPIError(t, tc, err)
	}

	for _, tc := range []struct {
		name, key, secret, token, typ, msg string
	}{
		{"no token", "ASIATEMPORARY", "temporary", "", "UnrecognizedClientException", "The security token included in the request is invalid"},
		{"wrong token", "ASIATEMPORARY", "temporary", "other", "UnrecognizedClientException", "The security token included in the request is invalid"},
		{"expired", "ASIAEXPIRED", "expired", "old-token", "ExpiredTokenException", "The security token included in the request is expired"},
	} {
		_, err := client(tc.key, tc.secret, tc.token, 0).ListStreams(ctx, &kinesis.ListStreamsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.typ || ae.ErrorMessage() != tc.msg {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	// Each key works in its own account.
	temp := client("ASIATEMPORARY", "temporary", "session-token", 0)
	createStream(ctx, t, temp, "mine", 1)
	sum, err := temp.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("mine")})
	if err != nil || aws.ToString(sum.StreamDescriptionSummary.StreamARN) != "arn:aws:kinesis:us-east-1:333333333333:stream/mine" {
		t.Fatalf("%+v %v", sum, err)
	}
	if out, err := s.kinesis().ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil || len(out.StreamNames) != 0 {
		t.Fatalf("the default account sees %v (%v)", out, err)
	}
	s.stop(t)
}

func checkAPIError(t *testing.T, tc authCase, err error) {
	t.Helper()
	if tc.typ == "" {
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		return
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != tc.typ || !tc.check(ae.ErrorMessage()) {
		t.Errorf("%s: got %v, want %s", tc.name, err, tc.typ)
	}
}

// clientResult is what clients/js_auth.mjs and clients/boto3_auth.py print.
type clientResult struct {
	OK      bool     `json:"ok"`
	Streams []string `json:"streams"`
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Status  int      `json:"status"`
	// Output is the answer to --call.
	Output json.RawMessage `json:"output"`
}

func (r clientResult) check(t *testing.T, tc authCase, what string) {
	t.Helper()
	switch {
	case tc.typ == "" && !r.OK:
		t.Errorf("%s %s: %+v", what, tc.name, r)
	case tc.typ != "" && (r.Error != tc.typ || !tc.check(r.Message) || r.Status != 400):
		t.Errorf("%s %s: got %+v, want %s", what, tc.name, r, tc.typ)
	}
}

func runAuthScript(ctx context.Context, t *testing.T, env []string, name string, args ...string) clientResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = hangTimeout
	out, err := cmd.Output()
	var r clientResult
	if err != nil || json.Unmarshal(out, &r) != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, out, stderr)
	}
	return r
}

const fakeTime = "/usr/bin/faketime"

// withClock runs argv under libfaketime with the clock skew off, unless
// skew is 0.
func withClock(t *testing.T, skew time.Duration, argv ...string) []string {
	t.Helper()
	if skew == 0 {
		return argv
	}
	if _, err := os.Stat(fakeTime); err != nil {
		t.Fatalf("%s is required (apt-get install faketime; make test does it): %v", fakeTime, err)
	}
	return append([]string{fakeTime, "-f", fmt.Sprintf("%+ds", int(skew.Seconds()))}, argv...)
}

// authEnv is clientEnv with another key, and the monotonic clock left
// alone by libfaketime so timeouts still work.
func authEnv(t *testing.T, key, secret string) []string {
	env := append(clientEnv(t), "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_MAX_ATTEMPTS=1",
		"FAKETIME_DONT_FAKE_MONOTONIC=1")
	return env
}

func TestSigV4AWSCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sigv4Server(t, e2eKeys)
	awsJSON(ctx, t, s, nil, "kinesis", "create-stream", "--stream-name", "cli", "--shard-count", "1")
	for _, tc := range authCases {
		argv := withClock(t, tc.skew, awsCLI, "kinesis", "list-streams", "--endpoint-url", s.endpoint(), "--output", "json")
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = authEnv(t, tc.key, tc.secret)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = hangTimeout
		err := cmd.Run()
		if tc.typ == "" {
			if err != nil || !strings.Contains(stdout.String(), `"cli"`) {
				t.Errorf("%s: %v\n%s%s", tc.name, err, stdout.String(), stderr.String())
			}
			continue
		}
		got, ok := cliError(stderr.String(), tc.typ, "ListStreams")
		if err == nil || !ok || !tc.check(got) {
			t.Errorf("%s: %v\nstderr:\n%s", tc.name, err, stderr.String())
		}
	}
	s.stop(t)
}

// cliError finds the AWS CLI's report of an error of type typ from op,
// "An error occurred (TYPE) when calling the OP operation (reached max
// retries: N): MESSAGE", in its stderr, and returns the message.
func cliError(stderr, typ, op string) (string, bool) {
	prefix := "An error occurred (" + typ + ") when calling the " + op + " operation"
	_, rest, found := strings.Cut(strings.TrimSpace(stderr), prefix)
	if strings.HasPrefix(rest, " (reached max retries: ") {
		_, rest, _ = strings.Cut(rest, ")")
	}
	msg, ok := strings.CutPrefix(rest, ": ")
	return msg, found && ok
}

func TestSigV4Boto3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sigv4Server(t, e2eKeys)
	for i, tc := range authCases {
		args := []string{filepath.Join("clients", "boto3_auth.py"), "--endpoint", s.endpoint(), "--key", tc.key, "--secret", tc.secret,
			"--skew-seconds", fmt.Sprint(int(tc.skew.Seconds()))}
		if i == 0 {
			args = append(args, "--stream", "boto3")
		}
		r := runAuthScript(ctx, t, authEnv(t, tc.key, tc.secret), debianPython, args...)
		r.check(t, tc, "boto3")
	}
	s.stop(t)
}

// TestSigV4JSSDK signs over HTTP/2 (the SDK's default handler), where the
// host is the :authority pseudo-header.
func TestSigV4JSSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sigv4Server(t, e2eKeys)
	for i, tc := range authCases {
		argv := withClock(t, tc.skew, node, filepath.Join("clients", "js_auth.mjs"), "--endpoint", s.endpoint(),
			"--key", tc.key, "--secret", tc.secret)
		if i == 0 {
			argv = append(argv, "--stream", "js")
		}
		r := runAuthScript(ctx, t, authEnv(t, tc.key, tc.secret), argv[0], argv[1:]...)
		r.check(t, tc, "js")
		if i == 0 && (len(r.Streams) != 1 || r.Streams[0] != "js") {
			t.Errorf("js lists %v", r.Streams)
		}
	}
	s.stop(t)
}

// TestProtectedMode: a server on a non-loopback address without
// authentication refuses to start, and says why.
func TestProtectedMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rivuletBinary(t), "serve", "--addr", "0.0.0.0:0", "--in-memory")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIVULET_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 ||
		!strings.Contains(string(out), "--addr 0.0.0.0:0 is reachable from other hosts and --auth is not set") ||
		!strings.Contains(string(out), "--auth=sigv4 --credentials FILE") {
		t.Fatalf("%v\n%s", err, out)
	}
}
