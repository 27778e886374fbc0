//go:build linux

package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatch reports, through inotify, the files that appear under a tree:
// moved into place (the local store's rename), linked (versitygw's
// O_TMPFILE), created or closed after writing.
type dirWatch struct {
	fd   int
	dirs map[int32]string
	buf  []byte
}

const watchMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_ONLYDIR

// newDirWatch watches root, made if missing, until the benchmark ends.
func newDirWatch(b *testing.B, root string) *dirWatch {
	b.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		b.Fatal(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	w := &dirWatch{fd: fd, dirs: map[int32]string{}, buf: make([]byte, 64<<10)}
	b.Cleanup(func() { unix.Close(fd) })
	if err := w.add(root); err != nil {
		b.Fatal(err)
	}
	return w
}

// add watches dir and every directory below it. A directory made before
// its watch is found by the walk; its files by the next full scan.
func (w *dirWatch) add(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		wd, err := unix.InotifyAddWatch(w.fd, p, watchMask)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return fmt.Errorf("inotify %s: %w", p, err)
		}
		w.dirs[int32(wd)] = p
		return nil
	})
}

// drain takes the events so far, before a full scan counts the files:
// only new directories are acted on (watched).
func (w *dirWatch) drain() error { return w.apply(nil, 0) }

// apply waits up to wait for events, watches the directories they name
// and counts the files with t, unless t is nil.
func (w *dirWatch) apply(t *tally, wait time.Duration) error {
	if wait > 0 {
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(wait.Milliseconds())); err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
	}
	for {
		n, err := unix.Read(w.fd, w.buf)
		if errors.Is(err, unix.EAGAIN) || n == 0 {
			return nil
		} else if err != nil {
			return err
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			name := strings.TrimRight(string(w.buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			dir, ok := w.dirs[ev.Wd]
			if !ok || name == "" || strings.HasPrefix(name, ".") {
				continue
			}
			p := filepath.Join(dir, name)
			if ev.Mask&unix.IN_ISDIR != 0 {
				if err := w.add(p); err != nil {
					return err
				}
				continue
			}
			if t == nil {
				continue
			}
			if err := t.count1(p); err != nil {
				return err
			}
		}
	}
}
