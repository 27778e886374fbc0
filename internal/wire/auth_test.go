package wire

import (
	"strings"
	"testing"
)

// authParamsMap is the plain reading of the Authorization header that
// authParams must agree with: split on commas and spaces, drop the
// algorithm, map every key to the text after its first '='.
func authParamsMap(authz string) map[string]string {
	pieces := strings.FieldsFunc(authz, func(r rune) bool { return r == ',' || r == ' ' })
	if len(pieces) > 0 && authz[0] != ',' && authz[0] != ' ' {
		pieces = pieces[1:]
	}
	params := map[string]string{}
	for _, p := range pieces {
		kv := strings.Split(strings.TrimSpace(p), "=")
		v := ""
		if len(kv) > 1 {
			v = kv[1]
		}
		params[kv[0]] = v
	}
	return params
}

func FuzzAuthParams(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		", Credential=a Signature=b=c,SignedHeaders=",
		" Credential=x",
		"Credential=first Credential=second",
		"AWS4 \tCredential=t\t,Signature==x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authz string) {
		got := authParams(authz)
		want := authParamsMap(authz)
		if got.credential != want["Credential"] || got.signature != want["Signature"] || got.signedHeaders != want["SignedHeaders"] {
			t.Fatalf("%q: got %+v, want %q", authz, got, want)
		}
	})
}
