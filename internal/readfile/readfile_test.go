package readfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLimited(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Limited(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	if _, err := Limited(p, 4); err == nil || !strings.Contains(err.Error(), "larger than 4 bytes") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := Limited(filepath.Join(dir, "missing"), 4); !os.IsNotExist(err) {
		t.Fatalf("missing: %v", err)
	}
}
