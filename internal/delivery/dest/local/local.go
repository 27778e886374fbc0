// Package local is an object store in a local directory: each bucket is a
// directory under the root and each key a file path below it. It is
// Rivulet's extension destination, used for S3 buckets when no S3 endpoint
// is configured.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

// TempPrefix starts the name of a file being written. List skips such files
// and keys may not have a segment starting with it.
const TempPrefix = ".rivulet-tmp-"

// StaleAfter is how old a temp file must be for New to remove it: older
// ones were left by a crashed writer, younger ones may still be written.
const StaleAfter = time.Hour

// writeChunk bounds how much Put writes between context checks.
const writeChunk = 1 << 20

// Store is a dest.ObjectStore on a local directory tree.
type Store struct {
	root string
	sync bool
}

// Options are New's settings.
type Options struct {
	// Sync fsyncs each object and the directories that gain an entry
	// before Put returns, so an object survives power loss. Without it an
	// object survives the process's death (a kill -9) but, like the
	// buffer log under the server's default sync mode, not an operating
	// system crash: Rivulet sets it with --sync=always.
	Sync bool
}

var _ dest.ObjectStore = (*Store)(nil)

// New opens (creating if needed) the store rooted at root and removes stale
// temp files left below it.
func New(root string, o Options) (*Store, error) {
	if root == "" {
		return nil, errors.New("local: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local: root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local: root: %w", err)
	}
	s := &Store{root: abs, sync: o.Sync}
	s.removeStale(time.Now().Add(-StaleAfter))
	return s, nil
}

// Root is the directory holding the buckets.
func (s *Store) Root() string { return s.root }

// Path is the file that holds bucket/key.
func (s *Store) Path(bucket, key string) (string, error) {
	if err := ValidBucket(bucket); err != nil {
		return "", err
	}
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, bucket, filepath.FromSlash(key)), nil
}

func (s *Store) removeStale(before time.Time) {
	_ = filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(before) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			slog.Warn("local: removing stale temp file", "path", p, "err", err)
		}
		return nil
	})
}

// Put writes body to a temp file beside the target, syncs it (with
// Options.Sync) and renames it into place, so a reader or a crash sees the
// old object or the new one.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte) error {
	p, err := s.Path(bucket, key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.put(ctx, p, body); err != nil {
		return fmt.Errorf("local: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, p string, body []byte) (err error) {
	dir := filepath.Dir(p)
	if err := s.mkdirs(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600; objects are as readable as any file
	// (a PostgreSQL server may read a staged batch).
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	for rest := body; len(rest) > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(rest), writeChunk)
		if _, err := f.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if s.sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
			return fmt.Errorf("the key is a prefix of other objects: %w", err)
		}
		return err
	}
	return s.syncDir(dir)
}

// mkdirs creates dir and its missing parents below the root, syncing each
// parent that gains an entry so the new object's path survives a crash.
func (s *Store) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	rel, err := filepath.Rel(s.root, dir)
	if err != nil {
		return err
	}
	cur := s.root
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, seg)
		err := os.Mkdir(cur, 0o755)
		switch {
		case err == nil:
			if err := s.syncDir(parent); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			fi, serr := os.Stat(cur)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				r, _ := filepath.Rel(s.root, cur)
				return fmt.Errorf("%q is an object, so it cannot be a prefix", filepath.ToSlash(r))
			}
		default:
			return err
		}
	}
	return nil
}

func (s *Store) syncDir(dir string) error {
	if !s.sync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get reads bucket/key; an error wrapping dest.ErrNotFound when absent.
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	p, err := s.Path(bucket, key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, fmt.Errorf("local: get %s/%s: %w", bucket, key, dest.ErrNotFound)
		}
		return nil, fmt.Errorf("local: get %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("local: get %s/%s: %w", bucket, key, err)
	}
	if !fi.Mode().IsRegular() {
		// A directory is a prefix, not an object.
		return nil, fmt.Errorf("local: get %s/%s: %w", bucket, key, dest.ErrNotFound)
	}
	// Objects are replaced by rename, never written in place, so the open
	// file keeps the size it had.
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("local: get %s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// List returns the keys in bucket that start with prefix, sorted bytewise
// as S3 sorts them. A missing bucket is an error wrapping dest.ErrNotFound.
func (s *Store) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := ValidBucket(bucket); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bdir := filepath.Join(s.root, bucket)
	if fi, err := os.Stat(bdir); err != nil || !fi.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("local: list %s: bucket: %w", bucket, dest.ErrNotFound)
		}
		return nil, fmt.Errorf("local: list %s: %w", bucket, err)
	}
	// Walk only below the prefix's last whole directory.
	start := bdir
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if ValidKey(prefix[:i]) != nil {
			return nil, nil // no valid key lies below it
		}
		start = filepath.Join(bdir, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	n := 0
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err != nil {
			// A missing start means no keys; entries may vanish mid-walk.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return err
		}
		if p == bdir {
			return nil
		}
		rel, err := filepath.Rel(bdir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p == start || strings.HasPrefix(rel+"/", prefix) || strings.HasPrefix(prefix, rel+"/") {
				return nil
			}
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), TempPrefix) && strings.HasPrefix(rel, prefix) {
			keys = append(keys, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local: list %s/%s: %w", bucket, prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// ValidBucket checks a bucket name against S3's rules for general purpose
// buckets, which also keep it a single safe directory name.
func ValidBucket(name string) error {
	bad := func(why string) error { return fmt.Errorf("local: invalid bucket name %q: %s", name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("only lowercase letters, digits, '.' and '-' are allowed")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("must begin and end with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("must not contain two adjacent periods")
	}
	if isIPv4(name) {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("must not start with " + p)
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return bad("must not end with " + sfx)
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

// MaxKeyLen is S3's limit on a key's length in bytes.
const MaxKeyLen = 1024

// maxSegment is the longest file name most file systems allow.
const maxSegment = 255

// ValidKey checks that key is an S3 key this store can hold as a relative
// path: UTF-8, no NUL, no empty, "." or ".." segment (so no leading,
// trailing or doubled "/"), and no segment that looks like a temp file.
func ValidKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("local: invalid key %q: %s", key, why) }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.IndexByte(key, 0) >= 0:
		return bad("contains NUL")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("empty path segment (leading, trailing or doubled '/')")
		case seg == "." || seg == "..":
			return bad("'.' and '..' segments are not allowed")
		case len(seg) > maxSegment:
			return bad(fmt.Sprintf("a path segment is longer than %d bytes", maxSegment))
		case strings.HasPrefix(seg, TempPrefix):
			return bad("a path segment starts with " + TempPrefix)
		}
	}
	return nil
}
