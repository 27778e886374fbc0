package main

import (
	"testing"

	"github.com/rivulet/rivulet/internal/config"
)

// TestServerConfigMaxStorage: --max-storage reaches rivulet.Config as is.
func TestServerConfigMaxStorage(t *testing.T) {
	for _, v := range []struct {
		flag string
		want int64
	}{{"0", 0}, {"64MiB", 64 << 20}} {
		cfg, err := config.Load([]string{"--max-storage", v.flag}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := serverConfig(cfg, nil).MaxStorage; got != v.want {
			t.Errorf("--max-storage %s: %d, want %d", v.flag, got, v.want)
		}
	}
}
