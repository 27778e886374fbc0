package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// forceTerminal makes isTerminal answer yes for the test's duration.
func forceTerminal(t *testing.T, yes bool) {
	t.Helper()
	old := isTerminal
	isTerminal = func(io.Writer) bool { return yes }
	t.Cleanup(func() { isTerminal = old })
}

func TestByteBar(t *testing.T) {
	var b strings.Builder
	clock := time.Unix(1000, 0)
	bar := &byteBar{w: &b, total: 2000, now: func() time.Time { return clock }}
	bar.began = clock
	bar.draw(false)
	bar.add(1000)
	if got := b.String(); strings.Count(got, eraseLine) != 1 || !strings.Contains(got, "put   [........................]   0%       0 B / 2.0 kB") {
		t.Fatalf("start: %q", got)
	}
	clock = clock.Add(barEvery) // time to redraw
	bar.add(1)
	bar.add(1) // too soon: not drawn
	if got := b.String(); strings.Count(got, eraseLine) != 2 || !strings.Contains(got, eraseLine+"put   [############............]  50%") {
		t.Fatalf("after half: %q", got)
	}
	bar.clear() // a message takes the line; the next update redraws
	bar.add(998)
	bar.finish()
	got := b.String()
	if !strings.HasSuffix(got, eraseLine+"put   [########################] 100%    2.0 kB / 2.0 kB         0.0 MB/s    0.2s\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("end: %q", got)
	}
	var nilBar *byteBar // no bar: every method is a no-op
	nilBar.add(1)
	nilBar.clear()
	nilBar.finish()
	if formatBytes(999) != "999 B" || formatBytes(1500) != "1.5 kB" || formatBytes(2_500_000) != "2.5 MB" || formatBytes(3_210_000_000) != "3.21 GB" {
		t.Fatal("formatBytes")
	}
}

var putSummary = regexp.MustCompile(`^rivulet put: ([0-9,]+) records put, 0 failed \([0-9,]+ lines read; [^)]*\) in [^\n]*\n$`)

// rivulet put --file draws a bar of the bytes read on a terminal, and
// writes only its summary otherwise; piped input has no size and no bar.
func TestPutProgress(t *testing.T) {
	url, kc := kinesisServer(t)
	createStream(t, kc, "p", 2)
	dir := t.TempDir()
	var files []string
	var size int64
	for i := range 2 {
		var b strings.Builder
		for j := range 1000 {
			fmt.Fprintf(&b, "file %d line %d of some progress test data\n", i, j)
		}
		name := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
		size += int64(b.Len())
	}
	args := []string{"put", "--endpoint", url, "--stream", "p", "--file", files[0], "--file", files[1]}

	t.Run("terminal", func(t *testing.T) {
		forceTerminal(t, true)
		code, _, stderr := runCmd(t, "", args...)
		if code != exitOK {
			t.Fatalf("put: %d %s", code, stderr)
		}
		full := fmt.Sprintf("%sput   [########################] 100%% %9s / %-9s", eraseLine, formatBytes(size), formatBytes(size))
		i := strings.Index(stderr, full)
		if !strings.HasPrefix(stderr, eraseLine+"put   [") || i < 0 {
			t.Fatalf("no full bar %q in %q", full, stderr)
		}
		// The bar's last line ends before the summary.
		rest := stderr[strings.Index(stderr[i:], "\n")+i+1:]
		if m := putSummary.FindStringSubmatch(rest); m == nil || m[1] != "2,000" {
			t.Fatalf("after the bar: %q", rest)
		}
	})
	t.Run("not a terminal", func(t *testing.T) {
		forceTerminal(t, false)
		code, _, stderr := runCmd(t, "", args...)
		if m := putSummary.FindStringSubmatch(stderr); code != exitOK || m == nil || m[1] != "2,000" {
			t.Fatalf("put: %d %q", code, stderr)
		}
	})
	t.Run("pipe", func(t *testing.T) {
		forceTerminal(t, true)
		code, _, stderr := runCmd(t, "a\nb\n", "put", "--endpoint", url, "--stream", "p")
		if m := putSummary.FindStringSubmatch(stderr); code != exitOK || m == nil || m[1] != "2" {
			t.Fatalf("put: %d %q", code, stderr)
		}
	})
	t.Run("stdin from a file", func(t *testing.T) {
		forceTerminal(t, true)
		f, err := os.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// Something read the first line already: the bar counts the rest.
		first := int64(len("file 0 line 0 of some progress test data\n"))
		if _, err := f.Seek(first, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		e, _, errb := testEnv(nil)
		e.stdin = f
		code := run(context.Background(), e, []string{"put", "--endpoint", url, "--stream", "p"})
		stderr := errb.String()
		rest := formatBytes(fi.Size() - first)
		if code != exitOK || !strings.Contains(stderr, fmt.Sprintf("] 100%% %9s / %-9s", rest, rest)) || !strings.Contains(stderr, "rivulet put: 999 records put") {
			t.Fatalf("put: %d %q", code, stderr)
		}
	})
}

// rivulet bench draws a bar on a terminal with --progress auto and stays
// quiet without one; --progress lines prints lines anywhere, --progress
// none nothing.
func TestBenchProgress(t *testing.T) {
	url, _ := kinesisServer(t)
	bench := func(extra ...string) string {
		t.Helper()
		args := append([]string{"bench", "--endpoint", url, "--stream", "bp", "--shards", "1", "--mode", "write", "--workers", "1",
			"--records", "100", "--batch-size", "10", "--record-size", "10", "--output", "json"}, extra...)
		code, _, stderr := runCmd(t, "", args...)
		if code != exitOK {
			t.Fatalf("bench: %d %s", code, stderr)
		}
		return stderr
	}
	forceTerminal(t, true)
	if got := bench(); !strings.Contains(got, eraseLine+"write [########################] 100%") || !strings.HasSuffix(got, "\n") {
		t.Fatalf("terminal: %q", got)
	}
	if got := bench("--progress", "none"); got != "" {
		t.Fatalf("--progress none: %q", got)
	}
	forceTerminal(t, false)
	if got := bench(); got != "" {
		t.Fatalf("not a terminal: %q, want nothing", got)
	}
	if got := bench("--progress", "lines"); strings.Contains(got, "\r") || strings.Contains(got, "[") || !strings.Contains(got, "write 100%") {
		t.Fatalf("--progress lines: %q", got)
	}
}

// isTerminal's real answer: no for a buffer, a regular file or the null
// device.
func TestIsTerminal(t *testing.T) {
	if isTerminal(&strings.Builder{}) {
		t.Error("a buffer is a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is a terminal")
	}
}
