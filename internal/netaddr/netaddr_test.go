package netaddr

import "testing"

func TestIsLoopback(t *testing.T) {
	for in, want := range map[string]bool{
		"127.0.0.1:4568":       true,
		"127.1.2.3:1":          true,
		"localhost:4568":       true,
		"LocalHost:1":          true,
		"[::1]:4568":           true,
		"[::ffff:127.0.0.1]:1": true,
		":4568":                false,
		"0.0.0.0:4568":         false,
		"[::]:4568":            false,
		"10.0.0.5:4568":        false,
		"example.com:4568":     false,
		"localhost.evil:1":     false,
		"127.0.0.1":            false, // no port
	} {
		if got := IsLoopback(in); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", in, got, want)
		}
	}
	if !IsLoopbackHost("[::1]") || !IsLoopbackHost("::1") || IsLoopbackHost("") {
		t.Error("IsLoopbackHost brackets or empty")
	}
}
