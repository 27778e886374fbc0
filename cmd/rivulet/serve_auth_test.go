package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeAuthErrors: authentication settings that cannot work, and an
// unauthenticated server on a reachable address, are usage errors that
// say what to do.
func TestServeAuthErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"credentials": [{"accessKeyId": "AK", "secretAccessKey": "s"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rivulet.conf")
	if err := os.WriteFile(conf, []byte("addr = 0.0.0.0:4567\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"exposed", []string{"serve", "--addr", "0.0.0.0:4567"},
			nil, "--addr 0.0.0.0:4567 is reachable from other hosts and --auth is not set"},
		{"exposed all interfaces", []string{"serve", "--addr", ":4567", "--tls-port", "4568"},
			nil, "--addr :4567 (and --tls-port 4568) is reachable from other hosts"},
		{"exposed by env", []string{"serve"}, map[string]string{"RIVULET_ADDR": "192.0.2.1:4567"},
			"Use --auth=sigv4 --credentials FILE to require signed requests (docs/SECURITY.md), or --auth=none to serve without authentication on purpose"},
		{"exposed by file", []string{"serve", "--config", conf}, nil, "--addr 0.0.0.0:4567 is reachable"},
		{"credentials without sigv4", []string{"serve", "--credentials", bad}, nil, "--credentials is used only with --auth=sigv4"},
		{"bad credentials", []string{"serve", "--auth=sigv4", "--credentials", bad},
			nil, `invalid --credentials: credentials file ` + bad + `: credentials[0] (accessKeyId "AK"): account is required`},
		{"missing credentials", []string{"serve", "--auth=sigv4", "--credentials", bad + ".nope"}, nil, "invalid --credentials: credentials file: open"},
		{"unknown mode", []string{"serve", "--auth", "iam"}, nil, `invalid --auth: "iam" is not one of none, sigv4`},
		{"unknown mode by env", []string{"serve"}, map[string]string{"RIVULET_AUTH": "open"}, `invalid RIVULET_AUTH: "open"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, errb := testEnv(tc.env)
			if code := run(context.Background(), e, tc.args); code != exitUsage {
				t.Errorf("exit code %d, want %d\n%s", code, exitUsage, errb)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errb)
			}
		})
	}
}
