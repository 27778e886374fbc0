package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// isTerminal decides whether progress bars are drawn on w: only on a
// terminal, so that redirected or captured output stays as it was. Tests
// replace it to force either answer.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	// /dev/null is a character device too.
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

const (
	barWidth = 24
	// barEvery is how often a bar is redrawn at most.
	barEvery = 250 * time.Millisecond
	// eraseLine returns to the start of the line and clears it.
	eraseLine = "\r\033[K"
)

// writeBar writes "[#####.....] " for fraction (0..1) done.
func writeBar(b *strings.Builder, fraction float64) {
	fill := int(min(max(fraction, 0), 1) * barWidth)
	fmt.Fprintf(b, "[%s%s] ", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill))
}

// byteBar draws put's progress through input of a known size: bytes
// read, redrawn in place at most every barEvery, and a last time with a
// line ending by finish. A nil *byteBar draws nothing. It is used from one
// goroutine.
type byteBar struct {
	w     io.Writer
	total int64
	read  int64
	began time.Time
	drawn time.Time
	now   func() time.Time
}

func newByteBar(w io.Writer, total int64) *byteBar {
	b := &byteBar{w: w, total: total, now: time.Now}
	b.began = b.now()
	b.draw(false)
	return b
}

func (b *byteBar) add(n int) {
	if b == nil || n <= 0 {
		return
	}
	b.read += int64(n)
	if b.now().Sub(b.drawn) >= barEvery {
		b.draw(false)
	}
}

// finish draws the final state and ends the line, so that what is
// printed next starts on its own.
func (b *byteBar) finish() {
	if b == nil {
		return
	}
	b.draw(true)
}

// clear erases the bar, for a message to take its line; the next
// update draws it again below the message.
func (b *byteBar) clear() {
	if b == nil {
		return
	}
	io.WriteString(b.w, eraseLine)
	b.drawn = time.Time{}
}

func (b *byteBar) draw(last bool) {
	now := b.now()
	b.drawn = now
	var s strings.Builder
	s.WriteString(eraseLine + "put   ")
	fraction := 1.0
	if b.total > 0 {
		fraction = float64(b.read) / float64(b.total)
	}
	writeBar(&s, fraction)
	fmt.Fprintf(&s, "%3.0f%% %9s / %-9s", fraction*100, formatBytes(b.read), formatBytes(b.total))
	if secs := now.Sub(b.began).Seconds(); secs > 0 {
		fmt.Fprintf(&s, " %8.1f MB/s %6.1fs", float64(b.read)/1e6/secs, secs)
	}
	if last {
		s.WriteString("\n")
	}
	io.WriteString(b.w, s.String())
}

// barReader counts what is read through it on a bar.
type barReader struct {
	r   io.Reader
	bar *byteBar
}

func (r barReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.bar.add(n)
	return n, err
}

// formatBytes writes n in decimal units, as the MB/s figures are.
func formatBytes(n int64) string {
	switch {
	case n < 1e3:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	}
}

// inputSize is how many bytes put will read from srcs, known only when
// every source is a regular file: a named one, or standard input
// redirected from one (from its current offset). A pipe or a terminal
// has no size, and no bar.
func inputSize(e *env, srcs []string) (int64, bool) {
	var total int64
	for _, src := range srcs {
		if src != "-" {
			fi, err := os.Stat(src)
			if err != nil || !fi.Mode().IsRegular() {
				return 0, false
			}
			total += fi.Size()
			continue
		}
		var in io.Reader = os.Stdin
		if e.stdin != nil {
			in = e.stdin
		}
		f, ok := in.(*os.File)
		if !ok {
			return 0, false
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		total += max(fi.Size()-off, 0)
	}
	return total, true
}
