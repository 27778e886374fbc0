package transport

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCert(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet
	now := time.Now()
	cert, created, err := LoadOrCreateCert(dataDir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("first call did not report a new certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", leaf.PublicKey)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate not valid for %s: %v", host, err)
		}
	}
	if got := len(leaf.DNSNames) + len(leaf.IPAddresses); got != 3 {
		t.Errorf("%d SANs, want 3: %v %v", got, leaf.DNSNames, leaf.IPAddresses)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now}); err != nil {
		t.Errorf("self-signed certificate does not verify against itself: %v", err)
	}
	keyInfo, err := os.Stat(filepath.Join(dataDir, CertDir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := keyInfo.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}

	// A restart reuses it.
	again, created, err := LoadOrCreateCert(dataDir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if created || !bytes.Equal(again.Certificate[0], cert.Certificate[0]) {
		t.Error("restart did not reuse the stored certificate")
	}

	// Near expiry it is replaced.
	renewed, created, err := LoadOrCreateCert(dataDir, leaf.NotAfter.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !created || bytes.Equal(renewed.Certificate[0], cert.Certificate[0]) {
		t.Error("expiring certificate was not replaced")
	}
	left, _ := filepath.Glob(filepath.Join(dataDir, CertDir, ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLoadOrCreateCertBroken(t *testing.T) {
	t.Run("cert without key", func(t *testing.T) {
		dataDir := t.TempDir()
		if _, _, err := LoadOrCreateCert(dataDir, time.Now()); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dataDir, CertDir, KeyFileName))
		_, _, err := LoadOrCreateCert(dataDir, time.Now())
		if err == nil || !strings.Contains(err.Error(), "has no key") {
			t.Errorf("got %v, want a missing-key error", err)
		}
	})
	t.Run("lone key is replaced", func(t *testing.T) {
		dataDir := t.TempDir()
		if _, _, err := LoadOrCreateCert(dataDir, time.Now()); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dataDir, CertDir, CertFileName))
		if _, created, err := LoadOrCreateCert(dataDir, time.Now()); err != nil || !created {
			t.Errorf("got created=%v err=%v, want a new pair", created, err)
		}
	})
	t.Run("garbage is not overwritten", func(t *testing.T) {
		dataDir := t.TempDir()
		if _, _, err := LoadOrCreateCert(dataDir, time.Now()); err != nil {
			t.Fatal(err)
		}
		certFile := filepath.Join(dataDir, CertDir, CertFileName)
		os.WriteFile(certFile, []byte("not pem"), 0o644)
		if _, _, err := LoadOrCreateCert(dataDir, time.Now()); err == nil {
			t.Error("garbage certificate accepted")
		}
		if b, _ := os.ReadFile(certFile); string(b) != "not pem" {
			t.Error("garbage certificate was overwritten")
		}
	})
	t.Run("data dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		if _, _, err := LoadOrCreateCert(f, time.Now()); err == nil {
			t.Error("no error with a file as data directory")
		}
	})
}

func TestSelfSignedCertIsUnique(t *testing.T) {
	a, _, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := SelfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("two certificates are identical")
	}
	if a.Leaf == nil || len(a.Leaf.IPAddresses) != 2 || !a.Leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("leaf SANs: %+v", a.Leaf)
	}
}
