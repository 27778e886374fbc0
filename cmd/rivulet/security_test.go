package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/testpki"
)

// serveReady runs `rivulet serve args` in-process until it logs "rivulet
// ready" and returns that line's fields and a stop that ends it and
// returns its exit code. If serve exits first, serveReady returns nil and
// the exit code through stop.
func serveReady(t *testing.T, vars map[string]string, args ...string) (ready map[string]any, stop func() int, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e, _, errb := testEnv(vars)
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, append([]string{"serve", "--log-format", "json"}, args...)) }()
	code := -1
	stop = func() int {
		cancel()
		if code < 0 {
			select {
			case code = <-done:
			case <-time.After(hangTimeout):
				t.Fatalf("serve did not stop:\n%s", errb)
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(hangTimeout); ; {
		for _, line := range strings.Split(errb.String(), "\n") {
			if strings.Contains(line, `"rivulet ready"`) {
				if err := json.Unmarshal([]byte(line), &ready); err != nil {
					t.Fatalf("ready line %q: %v", line, err)
				}
				return ready, stop, errb
			}
		}
		select {
		case code = <-done:
			return nil, stop, errb
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready line:\n%s", errb)
		}
	}
}

// TestServeAdminAddrTaken: with the default --admin-addr taken, serve
// fails and says which flag to change.
func TestServeAdminAddrTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	// Taken by this listener, or already by someone else: either way taken.
	if l, err := net.Listen("tcp", "127.0.0.1:4568"); err == nil {
		defer l.Close()
	}
	ready, stop, errb := serveReady(t, nil, "--in-memory", "--addr", "127.0.0.1:0")
	if ready != nil {
		t.Fatalf("serve started with its admin address taken: %v", ready)
	}
	if code := stop(); code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"127.0.0.1:4568 (admin)", "--admin-addr HOST:PORT", "--admin-addr=off"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb)
		}
	}
}

// TestServeAdminOff: --admin-addr=off starts no admin listener.
func TestServeAdminOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ready, stop, errb := serveReady(t, nil, "--in-memory", "--addr", "127.0.0.1:0", "--admin-addr=off")
	if ready == nil {
		t.Fatalf("serve did not start:\n%s", errb)
	}
	if _, ok := ready["admin_addr"]; ok {
		t.Errorf("ready line names an admin address: %v", ready)
	}
	if code := stop(); code != exitOK {
		t.Errorf("exit code %d", code)
	}
}

// TestNATSUserPassword: an embedded NATS that requires a user and
// password refuses a second server and the tools without them, with a
// message that names the flags, and serves them with them.
func TestNATSUserPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded NATS servers")
	}
	srv, err := rivulet.Start(context.Background(), rivulet.Config{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0",
		NATSAuth: rivulet.NATSAuth{User: "rivulet", Password: "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url := srv.NATSURL()
	refused := []string{"requires authentication and none was given", "--nats-user and --nats-password"}

	ready, stop, errb := serveReady(t, nil, "--in-memory", "--addr", "127.0.0.1:0", "--admin-addr=off", "--nats-url", url)
	if ready != nil {
		t.Fatal("a second server started without credentials")
	}
	if code := stop(); code != exitFailure {
		t.Errorf("serve without credentials: exit %d", code)
	}
	for _, want := range refused {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("serve without credentials: stderr lacks %q:\n%s", want, errb)
		}
	}
	ready, stop, errb = serveReady(t, map[string]string{"RIVULET_NATS_PASSWORD": "s3cret"},
		"--in-memory", "--addr", "127.0.0.1:0", "--admin-addr=off", "--nats-url", url, "--nats-user", "rivulet")
	if ready == nil {
		t.Fatalf("serve with credentials did not start:\n%s", errb)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve with credentials: exit %d\n%s", code, errb)
	}

	for _, cmd := range [][]string{{"check", "--nats-url", url}, {"recover", "--nats-url", url}, {"backup", "--nats-url", url, "--to", t.TempDir()}} {
		code, _, stderr := runCmd(t, "", cmd...)
		if code != exitFailure || !strings.Contains(stderr, refused[0]) || !strings.Contains(stderr, refused[1]) {
			t.Errorf("%s without credentials: exit %d, stderr %q", cmd[0], code, stderr)
		}
		e, out, errb := testEnv(map[string]string{"RIVULET_NATS_PASSWORD": "s3cret"})
		if code := run(context.Background(), e, append(cmd, "--nats-user", "rivulet")); code != exitOK {
			t.Errorf("%s with credentials: exit %d\n%s%s", cmd[0], code, out, errb)
		}
	}
}

// TestNATSTokenAndTLS: a token over TLS; the tools must trust the CA.
func TestNATSTokenAndTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	pki := testpki.New(t)
	srv, err := rivulet.Start(context.Background(), rivulet.Config{DataDir: t.TempDir(), NATSListen: "127.0.0.1:0",
		NATSAuth: rivulet.NATSAuth{Token: "t0ken", TLSCertFile: pki.ServerCert, TLSKeyFile: pki.ServerKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url := srv.NATSURL()
	if !strings.HasPrefix(url, "tls://") {
		t.Errorf("NATSURL %q with TLS", url)
	}
	code, _, stderr := runCmd(t, "", "check", "--nats-url", url, "--nats-token", "t0ken")
	if code != exitFailure || !strings.Contains(stderr, "--nats-tls-ca") {
		t.Errorf("check without the CA: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "", "check", "--nats-url", url, "--nats-tls-ca", pki.CA)
	if code != exitFailure || !strings.Contains(stderr, "--nats-token") {
		t.Errorf("check without the token: exit %d, stderr %q", code, stderr)
	}
	if code, out, stderr := runCmd(t, "", "check", "--nats-url", url, "--nats-token", "t0ken", "--nats-tls-ca", pki.CA); code != exitOK {
		t.Errorf("check with token and CA: exit %d\n%s%s", code, out, stderr)
	}
	ready, stop, errb := serveReady(t, map[string]string{"RIVULET_NATS_TOKEN": "t0ken", "RIVULET_NATS_TLS_CA": pki.CA},
		"--in-memory", "--addr", "127.0.0.1:0", "--admin-addr=off", "--nats-url", url)
	if ready == nil {
		t.Fatalf("serve with token and CA did not start:\n%s", errb)
	}
	stop()
}

func TestNATSClientFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--data-dir", "x", "--nats-user", "u"}, "need --nats-url"},
		{[]string{"backup", "--nats-url", "nats://127.0.0.1:1", "--to", "x", "--nats-user", "u"}, "--nats-user and --nats-password must be given together"},
		{[]string{"recover", "--nats-url", "nats://127.0.0.1:1", "--nats-token", "t", "--nats-creds", "c"}, "give one of"},
		{[]string{"restore", "--from", "x", "--nats-url", "nats://127.0.0.1:1", "--nats-tls-cert", "c"}, "--nats-tls-cert and --nats-tls-key"},
		{[]string{"serve", "--nats-listen", "0.0.0.0:4222"}, "--nats-allow-anonymous"},
		{[]string{"serve", "--nats-token", "t"}, "apply to --nats-listen or --nats-url"},
	} {
		code, _, stderr := runCmd(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	for _, c := range []string{"backup", "restore", "check", "recover"} {
		if _, out, _ := runCmd(t, "", c, "--help"); !strings.Contains(out, "--nats-creds") || !strings.Contains(out, "--nats-tls-ca") {
			t.Errorf("%s --help lacks the NATS authentication flags:\n%s", c, out)
		}
	}
}
