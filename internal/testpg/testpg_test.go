package testpg

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStartServesAndStops(t *testing.T) {
	s := Start(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	var db, usr string
	if err := conn.QueryRow(ctx, "SELECT current_database(), current_user").Scan(&db, &usr); err != nil {
		t.Fatal(err)
	}
	if db != s.Database || usr != s.User {
		t.Fatalf("connected to %s as %s, want %s as %s", db, usr, s.Database, s.User)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (a int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// A wrong password is refused: TCP needs the password.
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong"
	if c, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		c.Close(ctx)
		t.Fatal("connected with a wrong password")
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if c, err := pgx.Connect(context.Background(), s.URL); err == nil {
		c.Close(ctx)
		t.Fatal("connected after Stop")
	}
	// The process is gone, not just deaf.
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err == nil || !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("postgres process still there: %v", err)
	}
}

func TestJDBCURL(t *testing.T) {
	s := &Server{Host: "127.0.0.1", Port: 5555, Database: "d"}
	if got, want := s.JDBCURL(), "jdbc:postgresql://127.0.0.1:5555/d"; got != want {
		t.Fatalf("JDBCURL = %q, want %q", got, want)
	}
}

func TestBinDir(t *testing.T) {
	d, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if !isExec(d + "/pg_ctl") {
		t.Fatalf("%s has no pg_ctl", d)
	}
}
