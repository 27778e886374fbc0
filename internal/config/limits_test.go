package config

import (
	"testing"
	"time"
)

// TestConnectionLimits: the time limits and the connection cap come from
// flags, the environment and the file, and 0 turns off all but the head's.
func TestConnectionLimits(t *testing.T) {
	file := writeFile(t, "read-body-timeout = 1m\nmax-connections = 7\n")
	c, err := Load([]string{"--config", file, "--read-header-timeout", "2s", "--read-body-min-rate", "1MiB"},
		envMap(map[string]string{"RIVULET_MAX_CONNECTIONS": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadHeaderTimeout != 2*time.Second || c.ReadBodyTimeout != time.Minute || c.ReadBodyMinRate != 1<<20 || c.MaxConnections != 9 {
		t.Errorf("got head %v body %v rate %d max %d", c.ReadHeaderTimeout, c.ReadBodyTimeout, c.ReadBodyMinRate, c.MaxConnections)
	}
	c, err = Load([]string{"--read-body-timeout", "0", "--read-body-min-rate", "0", "--max-connections", "0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadBodyTimeout != 0 || c.ReadBodyMinRate != 0 || c.MaxConnections != 0 {
		t.Errorf("0 not kept: body %v rate %d max %d", c.ReadBodyTimeout, c.ReadBodyMinRate, c.MaxConnections)
	}
}
