package natsstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/rivulet/rivulet/internal/testpki"
)

// nodePKI writes a CA and one certificate per node for routes: a node
// both dials and accepts routes, so its certificate serves as server and
// as client (testpki's are one or the other). It returns the CA file
// and each node's certificate and key files.
func nodePKI(t *testing.T, nodes int) (ca string, certs, keys []string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rivulet route CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca = write("ca.pem", "CERTIFICATE", caDER)
	for i := range nodes {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: fmt.Sprintf("node%d", i)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, write(fmt.Sprintf("node%d.pem", i), "CERTIFICATE", der))
		keys = append(keys, write(fmt.Sprintf("node%d-key.pem", i), "EC PRIVATE KEY", kder))
	}
	return ca, certs, keys
}

func freeRoutePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// TestClusterTLSRoutes forms a three-node cluster over mutual-TLS routes
// and checks that a node whose certificate another CA signed is kept out.
func TestClusterTLSRoutes(t *testing.T) {
	ca, certs, keys := nodePKI(t, 3)
	ports := freeRoutePorts(t, 4)
	var routes []string
	for _, p := range ports[:3] {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	stores := make([]*Store, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range stores {
		cfg := Config{
			DataDir: t.TempDir(),
			Cluster: Cluster{
				Name: "tls", Node: fmt.Sprintf("n%d", i),
				Listen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
				Wait: 90 * time.Second,
			},
			ListenAuth: ServerAuth{TLSCertFile: certs[i], TLSKeyFile: keys[i], TLSCAFile: ca},
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stores[i], errs[i] = Open(ctx, cfg)
		})
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("node n%d: Open: %v", i, errs[i])
		}
	}

	// The route listener speaks TLS to a node's certificate.
	pair, err := tls.LoadX509KeyPair(certs[0], keys[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: hangTimeout}, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS to the route listener: %v", err)
	}
	conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	checkPeers := func() {
		t.Helper()
		for i, s := range stores {
			st, err := s.ClusterStatus(ctx)
			if err != nil {
				t.Fatalf("n%d: ClusterStatus: %v", i, err)
			}
			var want []string
			for j := range stores {
				if j != i {
					want = append(want, fmt.Sprintf("n%d", j))
				}
			}
			if !slices.Equal(st.Peers, want) {
				t.Fatalf("n%d: peers %v, want %v", i, st.Peers, want)
			}
		}
	}
	checkPeers()
	rev, err := stores[0].PutValue(ctx, "tls-check", []byte("one"), 0)
	if err != nil {
		t.Fatalf("PutValue: %v", err)
	}
	readAll := func(want string) {
		t.Helper()
		for i, s := range stores {
			// A replica may answer a moment after the leader acknowledged.
			deadline := time.Now().Add(hangTimeout)
			for {
				v, _, err := s.GetValue(ctx, "tls-check")
				if err == nil && string(v) == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("n%d: GetValue = %q, %v; want %q", i, v, err, want)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	readAll("one")

	// A fourth node with a certificate of another CA, trusting only that
	// CA, is refused by every node: it never joins, and its Open fails
	// within its Wait.
	oca, ocerts, okeys := nodePKI(t, 1)
	octx, ocancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer ocancel()
	s4, err := Open(octx, Config{
		DataDir: t.TempDir(),
		Cluster: Cluster{
			Name: "tls", Node: "intruder",
			Listen: fmt.Sprintf("127.0.0.1:%d", ports[3]), Routes: routes,
			Wait: 10 * time.Second,
		},
		ListenAuth: ServerAuth{TLSCertFile: ocerts[0], TLSKeyFile: okeys[0], TLSCAFile: oca},
	})
	if err == nil {
		s4.Close()
		t.Fatal("a node with another CA's certificate joined the cluster")
	}
	t.Logf("intruder refused: %v", err)
	if octx.Err() != nil {
		t.Fatalf("Open of the intruder outlived its context: %v", err)
	}

	// The cluster is as it was.
	checkPeers()
	if _, err := stores[1].PutValue(ctx, "tls-check", []byte("two"), rev); err != nil {
		t.Fatalf("PutValue after the intruder: %v", err)
	}
	readAll("two")
}

// TestClusterTLSConfig checks the refusals: half a TLS setting, and a
// route listener beyond loopback with neither a password nor mutual TLS.
func TestClusterTLSConfig(t *testing.T) {
	pki := testpki.New(t)
	c := Cluster{Name: "c", Node: "a", Listen: "10.0.0.1:6222"}
	for _, tc := range []struct {
		auth ServerAuth
		want string // "" means accepted
	}{
		{ServerAuth{}, "without authentication"},
		{ServerAuth{User: "u", Password: "p"}, ""},
		{ServerAuth{AllowAnonymous: true}, ""},
		{ServerAuth{TLSCertFile: pki.ServerCert, TLSKeyFile: pki.ServerKey, TLSCAFile: pki.CA}, ""},
		{ServerAuth{TLSCertFile: pki.ServerCert, TLSKeyFile: pki.ServerKey}, "needs the CA"},
		{ServerAuth{TLSCAFile: pki.CA}, "needs a certificate and key"},
	} {
		var opts server.Options
		err := c.apply(&opts, tc.auth)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.auth, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want one saying %q", tc.auth, err, tc.want)
		case tc.want == "" && (tc.auth.TLSCAFile != "") != (opts.Cluster.TLSConfig != nil):
			t.Errorf("%+v: route TLS config %v", tc.auth, opts.Cluster.TLSConfig)
		}
	}
}
