// Package testbin builds a Go command once per test binary, for tests
// that run it as a process (test/e2e, test/cluster).
package testbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is one command to build: a package of this module ("./cmd/…")
// or of a module it requires.
type Binary struct {
	Pkg  string // what `go build` builds, from the module root
	Name string // the file's name
	Race bool   // build with -race
	// Env names an environment variable that gives a prebuilt binary
	// instead; empty means none.
	Env string

	once sync.Once
	dir  string
	path string
	err  error
}

// Path builds the binary on first use and returns its path; a failed
// build fails t.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *Binary) build() {
	if p := os.Getenv(b.Env); b.Env != "" && p != "" {
		b.path, b.err = filepath.Abs(p)
		return
	}
	root, err := ModuleRoot()
	if err != nil {
		b.err = err
		return
	}
	if b.dir, err = os.MkdirTemp("", "rivulet-test-bin-"); err != nil {
		b.err = err
		return
	}
	b.path = filepath.Join(b.dir, b.Name)
	args := []string{"build", "-o", b.path}
	if b.Race {
		args = append(args, "-race")
	}
	args = append(args, b.Pkg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Remove deletes what Path built; TestMain calls it.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// ModuleRoot finds the directory holding go.mod above the working one.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
