package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/rivulet/rivulet/internal/config"
)

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noEnv := func(string) (string, bool) { return "", false }
	goEnv := func(k string) (string, bool) { return "1GiB", k == "GOMEMLIMIT" }
	for _, tc := range []struct {
		name  string
		limit int64
		env   func(string) (string, bool)
		start int64
		want  int64
	}{
		{"default", config.DefaultMemoryLimit, noEnv, math.MaxInt64, config.DefaultMemoryLimit},
		{"GOMEMLIMIT wins over the default", config.DefaultMemoryLimit, goEnv, 1 << 30, 1 << 30},
		{"the flag wins over GOMEMLIMIT", 512 << 20, goEnv, 1 << 30, 512 << 20},
		{"0 is no limit", 0, noEnv, 1 << 30, math.MaxInt64},
	} {
		debug.SetMemoryLimit(tc.start)
		setMemoryLimit(&config.Config{MemoryLimit: tc.limit}, tc.env)
		if got := debug.SetMemoryLimit(-1); got != tc.want {
			t.Errorf("%s: limit %d, want %d", tc.name, got, tc.want)
		}
	}
}
