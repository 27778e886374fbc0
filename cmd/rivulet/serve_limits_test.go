package main

import (
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/config"
)

// TestServerConfigLimits: the flags' "0 for none" becomes rivulet.Config's
// negative, and set values pass through.
func TestServerConfigLimits(t *testing.T) {
	cfg, err := config.Load([]string{"--read-header-timeout", "3s", "--read-body-timeout", "4s", "--read-body-min-rate", "1KiB", "--max-connections", "5"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := serverConfig(cfg, nil)
	if rc.ReadHeaderTimeout != 3*time.Second || rc.ReadBodyTimeout != 4*time.Second || rc.ReadBodyMinRate != 1024 || rc.MaxConnections != 5 {
		t.Errorf("got %v %v %d %d", rc.ReadHeaderTimeout, rc.ReadBodyTimeout, rc.ReadBodyMinRate, rc.MaxConnections)
	}
	cfg, err = config.Load([]string{"--read-body-timeout", "0", "--read-body-min-rate", "0", "--max-connections", "0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc = serverConfig(cfg, nil)
	if rc.ReadBodyTimeout >= 0 || rc.ReadBodyMinRate >= 0 || rc.MaxConnections >= 0 {
		t.Errorf("0 should turn the limits off: %v %d %d", rc.ReadBodyTimeout, rc.ReadBodyMinRate, rc.MaxConnections)
	}
}
