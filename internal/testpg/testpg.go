// Package testpg runs a real, throwaway PostgreSQL server from Debian's
// postgresql package for the tests of the Firehose PostgreSQL sink.
// scripts/install-clients.sh installs it.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// startTimeout bounds how long a server may take to accept
	// connections; only a broken install reaches it.
	startTimeout = 2 * time.Minute
	// stopTimeout bounds a fast shutdown before SIGKILL.
	stopTimeout = time.Minute
	installHint = "run scripts/install-clients.sh"
)

// Server is a running PostgreSQL server, owned by one test.
type Server struct {
	// URL is postgres://User:Password@127.0.0.1:Port/Database.
	URL      string
	Host     string
	Port     int
	User     string
	Password string
	Database string

	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	stopMu  sync.Mutex
}

// JDBCURL is the server as Firehose's ClusterJDBCURL names a cluster.
func (s *Server) JDBCURL() string {
	return fmt.Sprintf("jdbc:postgresql://%s:%d/%s", s.Host, s.Port, s.Database)
}

// account is the OS user the server runs as when the test runs as root.
type account struct {
	uid, gid uint32
}

// BinDir is the bin directory of the newest PostgreSQL under
// /usr/lib/postgresql that has initdb and postgres.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type cand struct {
		dir string
		ver float64
	}
	var cands []cand
	for _, d := range dirs {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		if err != nil {
			continue
		}
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			cands = append(cands, cand{d, v})
		}
	}
	if len(cands) == 0 {
		return "", errors.New("testpg: no PostgreSQL server under /usr/lib/postgresql/*/bin: " + installHint)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].ver > cands[j].ver })
	return cands[0].dir, nil
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start initialises a cluster in tb.TempDir and runs it on 127.0.0.1 and
// a free port, with user and database "rivulet"; tb's cleanup stops it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := BinDir()
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	owner, err := serverAccount(dir)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		Host:     "127.0.0.1",
		User:     "rivulet",
		Password: randomHex(12),
		Database: "rivulet",
		logPath:  filepath.Join(dir, "postgres.log"),
	}
	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.Mkdir(sock, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	if owner != nil {
		for _, p := range []string{dir, sock, pwfile} {
			if err := os.Chown(p, int(owner.uid), int(owner.gid)); err != nil {
				tb.Fatal(err)
			}
		}
	}

	// --no-sync and the settings below trade durability for start time.
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", s.User, "--pwfile", pwfile,
		"--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256",
		"-E", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	prepare(initdb, owner, false)
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("testpg: initdb: %v\n%s", err, out)
	}

	// A port probed free may be taken before postgres binds it: retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		lastErr = s.run(bin, data, sock, dir, port, owner)
		if lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		tb.Fatal(lastErr)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})

	s.URL = (&url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(s.User, s.Password),
		Host:   net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:   "/" + s.Database,
	}).String()
	if err := s.createDatabase(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// run starts postgres on port and waits until it accepts connections.
func (s *Server) run(bin, data, sock, dir string, port int, owner *account) error {
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+sock,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=30",
		"-c", "logging_collector=off",
	)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	prepare(cmd, owner, true)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testpg: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.Port = cmd, exited, port

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		err := s.ping(ctx, "postgres")
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("testpg: postgres exited: %s", s.logTail())
		case <-ctx.Done():
			_ = s.Stop()
			return fmt.Errorf("testpg: postgres did not accept connections (%v): %s", err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) connConfig(db string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port = s.Host, uint16(s.Port)
	cfg.User, cfg.Password, cfg.Database = s.User, s.Password, db
	cfg.TLSConfig, cfg.Fallbacks = nil, nil
	cfg.ConnectTimeout = 5 * time.Second
	return cfg, nil
}

func (s *Server) ping(ctx context.Context, db string) error {
	cfg, err := s.connConfig(db)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (s *Server) createDatabase() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cfg, err := s.connConfig("postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("testpg: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.Database}.Sanitize()); err != nil {
		return fmt.Errorf("testpg: create database: %w", err)
	}
	return nil
}

// Stop shuts the server down fast (SIGINT: roll back open transactions,
// close connections) and waits for it; safe to call more than once.
func (s *Server) Stop() error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("testpg: postgres ignored a fast shutdown: %s", s.logTail())
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return strings.TrimSpace(string(b))
}

// serverAccount is nil unless the test runs as root, where PostgreSQL must
// run as the 'postgres' OS user; that user must then reach dir.
func serverAccount(dir string) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("testpg: running as root needs the 'postgres' OS user (%v): %s", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("testpg: odd ids for user postgres: %s:%s", u.Uid, u.Gid)
	}
	if err := traversable(dir); err != nil {
		return nil, err
	}
	return &account{uid: uint32(uid), gid: uint32(gid)}, nil
}

// traversable lets others search dir's ancestors: the ones the test
// created under the temp root get o+x, the others must already have it.
func traversable(dir string) error {
	root, err := filepath.Abs(os.TempDir())
	if err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if d == root || !strings.HasPrefix(d, root+string(filepath.Separator)) {
				return fmt.Errorf("testpg: user postgres cannot reach %s (%s is not searchable by others); set TMPDIR elsewhere", dir, d)
			}
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				return err
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
