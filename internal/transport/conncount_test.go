package transport

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// waitConns polls Connections until listener shows want open
// connections.
func waitConns(t *testing.T, s *Server, listener string, want int64) {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for {
		got, ok := s.Connections()[listener]
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d open connections (listed %v), want %d; all: %v", listener, got, ok, want, s.Connections())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnections: a kept-alive client connection counts on its listener
// while open and no longer once closed, with the fast path or without,
// with the cap or without.
func TestConnections(t *testing.T) {
	for _, tc := range []struct {
		disable bool
		max     int
	}{{false, 0}, {true, 0}, {false, -1}} {
		t.Run(fmt.Sprintf("DisableFastPath=%v,MaxConnections=%d", tc.disable, tc.max), func(t *testing.T) {
			s := start(t, Config{
				TLSAddr: "127.0.0.1:0", TLSCert: testCert(t), AdminAddr: "127.0.0.1:0",
				DisableFastPath: tc.disable, MaxConnections: tc.max,
			}, protoHandler)
			for _, name := range []string{"plain", "TLS", "admin"} {
				waitConns(t, s, name, 0)
			}
			for _, l := range []struct {
				name, url string
				set       func(*http.Protocols)
			}{
				{"plain", "http://" + s.Addr().String() + "/", http1},
				{"plain", "http://" + s.Addr().String() + "/", h2c},
				{"TLS", "https://" + s.TLSAddr().String() + "/", h2},
				{"admin", "http://" + s.AdminAddr().String() + "/health", http1},
			} {
				c := client(t, l.set, &tls.Config{InsecureSkipVerify: true})
				if resp, body := get(t, c, http.MethodGet, l.url); resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", l.url, resp.StatusCode, body)
				}
				waitConns(t, s, l.name, 1) // kept alive
				c.Transport.(*http.Transport).CloseIdleConnections()
				waitConns(t, s, l.name, 0)
			}
		})
	}
}

// Before Start there are no listeners to count.
func TestConnectionsBeforeStart(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0"}, protoHandler, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Connections(); c != nil {
		t.Fatalf("Connections before Start = %v", c)
	}
}

// A connection refused by the cap is never counted: the count stays at
// the cap.
func TestConnectionsAtCap(t *testing.T) {
	s := start(t, Config{MaxConnections: 1}, protoHandler)
	c := client(t, http1, nil)
	if resp, _ := get(t, c, http.MethodGet, "http://"+s.Addr().String()+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitConns(t, s, "plain", 1)
	for range 3 {
		if b, err := tryRequest(s.Addr().String()); err == nil {
			t.Fatalf("connection over the cap served: %q", b)
		}
		if n := s.Connections()["plain"]; n != 1 {
			t.Fatalf("%d open connections counted at a cap of 1", n)
		}
	}
}
