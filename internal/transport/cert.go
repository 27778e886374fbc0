package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Where LoadOrCreateCert keeps the self-signed certificate, inside the data
// directory.
const (
	CertDir      = "tls"
	CertFileName = "cert.pem"
	KeyFileName  = "key.pem"
)

// certValidity is short enough for clients that cap self-signed lifetimes
// (825 days); an expiring certificate is replaced on start.
const certValidity = 825 * 24 * time.Hour

// SelfSignedCert makes an ECDSA P-256 certificate for localhost, 127.0.0.1
// and ::1, and returns it with its PEM encodings.
func SelfSignedCert(now time.Time) (cert tls.Certificate, certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "rivulet self-signed", Organization: []string{"rivulet"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err == nil && cert.Leaf == nil { // GODEBUG x509keypairleaf=0
		cert.Leaf, err = x509.ParseCertificate(der)
	}
	return cert, certPEM, keyPEM, err
}

// LoadOrCreateCert returns the self-signed certificate kept in
// dataDir/tls, creating it on first use and replacing it when it expires
// within a day. created says whether a new one was written. A pair that
// exists but does not load is an error, not silently replaced.
func LoadOrCreateCert(dataDir string, now time.Time) (cert tls.Certificate, created bool, err error) {
	dir := filepath.Join(dataDir, CertDir)
	certFile, keyFile := filepath.Join(dir, CertFileName), filepath.Join(dir, KeyFileName)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	switch {
	case err == nil:
		if cert.Leaf == nil {
			if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return tls.Certificate{}, false, fmt.Errorf("parse TLS certificate %s: %w", certFile, err)
			}
		}
		if now.Add(24 * time.Hour).Before(cert.Leaf.NotAfter) {
			return cert, false, nil
		}
	case errors.Is(err, fs.ErrNotExist):
		// First start, or a start interrupted between the two writes; the
		// key is written first, so a lone key is harmless to replace.
		if _, cerr := os.Stat(certFile); cerr == nil {
			return tls.Certificate{}, false, fmt.Errorf("TLS certificate %s has no key %s", certFile, keyFile)
		}
	default:
		return tls.Certificate{}, false, fmt.Errorf("load TLS certificate from %s: %w", dir, err)
	}
	cert, certPEM, keyPEM, err := SelfSignedCert(now)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("generate TLS certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return tls.Certificate{}, false, err
	}
	return cert, true, nil
}

// writeFileAtomic writes via a synced temporary file and a rename, so a
// crash never leaves a half-written file under the final name.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
