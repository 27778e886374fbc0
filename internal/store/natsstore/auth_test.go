package natsstore

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/rivulet/rivulet/internal/testpki"
)

// openErr opens a Store that the test expects to fail.
func openErr(t *testing.T, cfg Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err == nil {
		s.Close()
		return errors.New("opened")
	}
	return err
}

// sameSecret proves a second Store reads the first one's KV bucket.
func sameSecret(t *testing.T, a, b *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	sa, err := a.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sa, sb) {
		t.Fatal("the second Store sees another bucket")
	}
}

func TestListenUserPassword(t *testing.T) {
	owner := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0",
		ListenAuth: ServerAuth{User: "rivulet", Password: "s3cret"}})
	url := owner.ClientURL()

	err := openErr(t, Config{URL: url})
	if !errors.Is(err, nats.ErrAuthorization) || !strings.Contains(err.Error(), "requires authentication and none was given") {
		t.Errorf("no credentials: %v", err)
	}
	err = openErr(t, Config{URL: url, Auth: ClientAuth{User: "rivulet", Password: "wrong"}})
	if !errors.Is(err, nats.ErrAuthorization) || !strings.Contains(err.Error(), "credentials were refused") {
		t.Errorf("wrong password: %v", err)
	}
	err = openErr(t, Config{URL: url, Auth: ClientAuth{Token: "s3cret"}})
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("a token instead: %v", err)
	}
	sameSecret(t, owner, mustOpen(t, Config{URL: url, Auth: ClientAuth{User: "rivulet", Password: "s3cret"}}))
}

func TestListenToken(t *testing.T) {
	owner := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0", ListenAuth: ServerAuth{Token: "t0ken"}})
	url := owner.ClientURL()
	if err := openErr(t, Config{URL: url}); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("no token: %v", err)
	}
	if err := openErr(t, Config{URL: url, Auth: ClientAuth{Token: "other"}}); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("wrong token: %v", err)
	}
	sameSecret(t, owner, mustOpen(t, Config{URL: url, Auth: ClientAuth{Token: "t0ken"}}))
	// A Store attaching in-process presents it too.
	sameSecret(t, owner, mustOpen(t, Config{Server: owner.Server(), Auth: ClientAuth{Token: "t0ken"}}))
}

func TestListenTLS(t *testing.T) {
	pki := testpki.New(t)
	owner := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0", ListenAuth: ServerAuth{
		User: "rivulet", Password: "s3cret", TLSCertFile: pki.ServerCert, TLSKeyFile: pki.ServerKey}})
	_, hostport, _ := strings.Cut(owner.ClientURL(), "://")
	url := "nats://" + hostport
	creds := ClientAuth{User: "rivulet", Password: "s3cret"}

	// nats.go upgrades to TLS when the server asks, but cannot trust a
	// certificate from an unknown CA.
	var unknown x509.UnknownAuthorityError
	if err := openErr(t, Config{URL: url, Auth: creds}); !errors.As(err, &unknown) {
		t.Errorf("without the CA: %v", err)
	}
	creds.TLSCAFile = pki.CA
	sameSecret(t, owner, mustOpen(t, Config{URL: url, Auth: creds}))
	sameSecret(t, owner, mustOpen(t, Config{URL: "tls://" + hostport, Auth: creds}))
}

func TestListenClientCertificates(t *testing.T) {
	pki := testpki.New(t)
	owner := mustOpen(t, Config{InMemory: true, ListenAddr: "127.0.0.1:0", ListenAuth: ServerAuth{
		TLSCertFile: pki.ServerCert, TLSKeyFile: pki.ServerKey, TLSCAFile: pki.CA}})
	url := owner.ClientURL()
	if err := openErr(t, Config{URL: url, Auth: ClientAuth{TLSCAFile: pki.CA}}); err == nil || err.Error() == "opened" {
		t.Errorf("without a client certificate: %v", err)
	}
	sameSecret(t, owner, mustOpen(t, Config{URL: url, Auth: ClientAuth{
		TLSCAFile: pki.CA, TLSCertFile: pki.ClientCert, TLSKeyFile: pki.ClientKey}}))
}

func TestListenRefusesAnonymousBeyondLoopback(t *testing.T) {
	err := openErr(t, Config{InMemory: true, ListenAddr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "without authentication") || !strings.Contains(err.Error(), "allow anonymous") {
		t.Errorf("0.0.0.0 without authentication: %v", err)
	}
	for _, tc := range []struct {
		listen string
		auth   ServerAuth
		ok     bool
	}{
		{"127.0.0.1:4222", ServerAuth{}, true},
		{"localhost:4222", ServerAuth{}, true},
		{"[::1]:4222", ServerAuth{}, true},
		{":4222", ServerAuth{}, false},
		{"nats.internal:4222", ServerAuth{}, false},
		{"10.0.0.5:4222", ServerAuth{}, false},
		{"10.0.0.5:4222", ServerAuth{AllowAnonymous: true}, true},
		{"10.0.0.5:4222", ServerAuth{User: "u", Password: "p"}, true},
		{"10.0.0.5:4222", ServerAuth{Token: "t"}, true},
		{"10.0.0.5:4222", ServerAuth{TLSCertFile: "c", TLSKeyFile: "k", TLSCAFile: "ca"}, true},
		{"10.0.0.5:4222", ServerAuth{TLSCertFile: "c", TLSKeyFile: "k"}, false}, // TLS alone is not authentication
		{"127.0.0.1:4222", ServerAuth{User: "u"}, false},
		{"127.0.0.1:4222", ServerAuth{User: "u", Password: "p", Token: "t"}, false},
		{"127.0.0.1:4222", ServerAuth{TLSCAFile: "ca"}, false},
	} {
		if err := tc.auth.check(tc.listen); (err == nil) != tc.ok {
			t.Errorf("%s %+v: %v, want ok=%v", tc.listen, tc.auth, err, tc.ok)
		}
	}
}

func TestClientAuthOptions(t *testing.T) {
	for _, tc := range []struct {
		auth ClientAuth
		ok   bool
	}{
		{ClientAuth{}, true},
		{ClientAuth{CredsFile: "x.creds"}, true},
		{ClientAuth{User: "u", Password: "p", TLSCAFile: "ca.pem"}, true},
		{ClientAuth{CredsFile: "x.creds", Token: "t"}, false},
		{ClientAuth{User: "u", Password: "p", Token: "t"}, false},
		{ClientAuth{Password: "p"}, false},
		{ClientAuth{TLSCertFile: "c"}, false},
	} {
		if _, err := tc.auth.options(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.auth, err, tc.ok)
		}
	}
	// A missing credentials file is named.
	err := openErr(t, Config{URL: "nats://127.0.0.1:1", Auth: ClientAuth{CredsFile: filepath.Join(t.TempDir(), "none.creds")}})
	if err == nil || !strings.Contains(err.Error(), "none.creds") {
		t.Errorf("missing creds file: %v", err)
	}
}

// TestCredsFile: a NATS in operator mode takes a credentials file (user
// JWT and NKey seed) and nothing less.
func TestCredsFile(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	_, err = oc.Encode(okp)
	must(err)
	resolver := &server.MemAccResolver{}
	account := func(js bool) (nkeys.KeyPair, string) {
		akp, err := nkeys.CreateAccount()
		must(err)
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		ajwt, err := ac.Encode(okp)
		must(err)
		must(resolver.Store(apub, ajwt))
		return akp, apub
	}
	_, sysPub := account(false)
	akp, _ := account(true)
	ukp, err := nkeys.CreateUser()
	must(err)
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	must(err)
	seed, err := ukp.Seed()
	must(err)
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	must(err)
	credsFile := filepath.Join(t.TempDir(), "rivulet.creds")
	must(os.WriteFile(credsFile, creds, 0o600))

	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{oc}, AccountResolver: resolver, SystemAccount: sysPub,
	})
	must(err)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(hangTimeout) {
		t.Fatal("NATS did not start")
	}
	if err := openErr(t, Config{URL: ns.ClientURL()}); err == nil || err.Error() == "opened" {
		t.Errorf("no credentials: %v", err)
	}
	s := mustOpen(t, Config{URL: ns.ClientURL(), Auth: ClientAuth{CredsFile: credsFile}})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if _, err := s.Secret(ctx); err != nil {
		t.Fatal(err)
	}
}
