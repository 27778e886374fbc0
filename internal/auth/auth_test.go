package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	k, err := Parse([]byte(`{"credentials": [
		{"accessKeyId": "AKIAALICE", "secretAccessKey": "s1", "account": "123456789012",
		 "principal": "arn:aws:iam::123456789012:user/alice",
		 "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
		{"accessKeyId": "ASIATEMP", "secretAccessKey": "s2", "sessionToken": "tok", "expiration": "2030-01-02T15:04:05Z",
		 "account": "210987654321", "principal": "arn:aws:sts::210987654321:assumed-role/R/S"},
		{"accessKeyId": "111111111111", "secretAccessKey": "x", "account": "111111111111"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 {
		t.Fatalf("%d keys", k.Len())
	}
	a, ok := k.Lookup("AKIAALICE")
	if !ok || a.SecretAccessKey != "s1" || a.ARN != "arn:aws:iam::123456789012:user/alice" || len(a.Policies) != 1 ||
		!strings.Contains(string(a.Policies[0]), `"kinesis:*"`) {
		t.Fatalf("alice %+v", a)
	}
	tmp, _ := k.Lookup("ASIATEMP")
	exp := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	if tmp.SessionToken != "tok" || !tmp.Expiration.Equal(exp) || tmp.Expired(exp.Add(-time.Second)) || !tmp.Expired(exp) {
		t.Fatalf("temp %+v", tmp)
	}
	if root, _ := k.Lookup("111111111111"); root.ARN != "arn:aws:iam::111111111111:root" || root.Expired(time.Now()) {
		t.Fatalf("default principal %+v", root)
	}
	if _, ok := k.Lookup("nobody"); ok {
		t.Fatal("unknown key found")
	}
	var none *Keyring
	if _, ok := none.Lookup("AKIAALICE"); ok || none.Len() != 0 {
		t.Fatal("nil keyring finds keys")
	}
}

func TestParseErrors(t *testing.T) {
	entry := func(fields string) string {
		return `{"credentials": [{"accessKeyId": "AK", "secretAccessKey": "s", ` + fields + `}]}`
	}
	for _, tc := range []struct{ in, want string }{
		{`{`, "not valid JSON"},
		{"{\n \"credentials\": [}", "line 2 column 18"},
		{`{}`, `no "credentials" array`},
		{`{"credential": []}`, `unknown field "credential"`},
		{`{"credentials": []} {}`, "unexpected data after the JSON object"},
		{`{"credentials": [{"secretAccessKey": "s", "account": "123456789012"}]}`, "credentials[0]: accessKeyId is required"},
		{`{"credentials": [{"accessKeyId": "a/b", "secretAccessKey": "s", "account": "123456789012"}]}`, `credentials[0] (accessKeyId "a/b"): accessKeyId must be printable ASCII`},
		{`{"credentials": [{"accessKeyId": "AK", "account": "123456789012"}]}`, `credentials[0] (accessKeyId "AK"): secretAccessKey is required`},
		{entry(`"account": "1234"`), `credentials[0] (accessKeyId "AK"): account "1234" is not 12 digits`},
		{entry(`"secretKey": "x"`), `credentials[0]: json: unknown field "secretKey"`},
		{entry(`"account": "123456789012", "expiration": "tomorrow"`), `credentials[0] (accessKeyId "AK"): expiration "tomorrow" is not an RFC 3339 time`},
		{entry(`"account": "123456789012", "principal": "alice"`), `principal "alice" is not an IAM or STS ARN`},
		{entry(`"account": "123456789012", "principal": "arn:aws:iam::999999999999:user/a"`), `is in account 999999999999, not in account 123456789012`},
		{entry(`"account": "123456789012", "policies": ["Allow"]`), `credentials[0] (accessKeyId "AK"): policies[0] is not a JSON object`},
		{entry(`"account": 123456789012`), `credentials[0]: json: cannot unmarshal number`},
		{`{"credentials": [{"accessKeyId": "AK", "secretAccessKey": "s", "account": "123456789012"},
			{"accessKeyId": "AK", "secretAccessKey": "t", "account": "123456789012"}]}`, `credentials[1] (accessKeyId "AK"): accessKeyId is already used by credentials[0]`},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(path, []byte(`{"credentials": [{"accessKeyId": "AK", "secretAccessKey": "s", "account": "123456789012"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadFile(path); err != nil || k.Len() != 1 {
		t.Fatalf("%v %v", k, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "credentials file: open") {
		t.Fatalf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"credentials": [{}]}`), 0o600)
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "credentials file "+bad+": credentials[0]: accessKeyId is required") {
		t.Fatalf("bad file: %v", err)
	}
}
