package config

import (
	"strings"
	"testing"
)

// TestMaxStorage: --max-storage takes sizes from a flag, the environment
// or the file; the default is 0 (JetStream's own), and bad sizes fail.
func TestMaxStorage(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil || c.MaxStorage != 0 {
		t.Fatalf("default: %d, %v", c.MaxStorage, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		file string
		want int64
	}{
		{args: []string{"--max-storage", "512MiB"}, want: 512 << 20},
		{env: map[string]string{"RIVULET_MAX_STORAGE": "2GiB"}, want: 2 << 30},
		{file: "max-storage = 1024\n", want: 1024},
		{args: []string{"--max-storage=0"}, env: map[string]string{"RIVULET_MAX_STORAGE": "1GiB"}, want: 0},
	} {
		args := tc.args
		if tc.file != "" {
			args = append([]string{"--config", writeFile(t, tc.file)}, args...)
		}
		c, err := Load(args, envMap(tc.env))
		if err != nil || c.MaxStorage != tc.want {
			t.Errorf("%v %v %q: %d, %v; want %d", tc.args, tc.env, tc.file, c.MaxStorage, err, tc.want)
		}
	}
	for _, v := range []string{"-1", "1TB", "lots"} {
		if _, err := Load([]string{"--max-storage", v}, nil); err == nil || !strings.Contains(err.Error(), "invalid --max-storage") {
			t.Errorf("--max-storage %q: %v, want an error", v, err)
		}
	}
}
