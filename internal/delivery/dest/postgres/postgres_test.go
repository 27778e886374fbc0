package postgres

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet/internal/delivery/dest"
	"github.com/rivulet/rivulet/internal/delivery/dest/local"
	"github.com/rivulet/rivulet/internal/testpg"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const bucket = "staging"

// env is a real server, a real object store, and a connection to check
// what got loaded.
type env struct {
	srv     *testpg.Server
	objects *local.Store
	db      *pgx.Conn
	n       int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testpg.Start(t)
	objects, err := local.New(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return &env{srv: srv, objects: objects, db: db}
}

func (e *env) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := e.db.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) sink(t *testing.T, table, columns, options string) *Sink {
	t.Helper()
	s, err := New(t.Context(), Config{
		JDBCURL:     e.srv.JDBCURL(),
		Username:    e.srv.User,
		Password:    e.srv.Password,
		Table:       table,
		Columns:     columns,
		CopyOptions: options,
		Objects:     e.objects,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stage stores data as the engine would before a load.
func (e *env) stage(t *testing.T, data []byte) dest.Batch {
	t.Helper()
	e.n++
	key := fmt.Sprintf("2024/05/06/07/batch-%d", e.n)
	if err := e.objects.Put(t.Context(), bucket, key, data); err != nil {
		t.Fatal(err)
	}
	return dest.Batch{ID: fmt.Sprintf("b%d", e.n), Staged: &dest.ObjectRef{Bucket: bucket, Key: key}}
}

// rows reads a query's result as text, NULL as "<nil>".
func (e *env) rows(t *testing.T, sql string) [][]string {
	t.Helper()
	rows, err := e.db.Query(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "<nil>"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantRows(t *testing.T, got [][]string, want ...[]string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows\n got %q\nwant %q", got, want)
	}
}

func wantFailure(t *testing.T, err error, code, inMessage string) {
	t.Helper()
	var f *dest.Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want *dest.Failure", err, err)
	}
	if f.Code != code {
		t.Errorf("code %q, want %q (message %q)", f.Code, code, f.Message)
	}
	if errors.Is(err, dest.ErrPermanent) {
		t.Errorf("failure is permanent; Redshift loads are retried")
	}
	if !strings.Contains(f.Message, inMessage) {
		t.Errorf("message %q lacks %q", f.Message, inMessage)
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoad(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE events (id int, name text, score numeric, note varchar(20))`)
	e.exec(t, `CREATE SCHEMA sales`)
	e.exec(t, `CREATE TABLE sales."Orders" (id int PRIMARY KEY, item text, qty int, meta jsonb, ok boolean, "Mixed" text)`)

	t.Run("pipe delimited default", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "events", "", "")
		b := e.stage(t, []byte("1|alice|1.5|x\n2|bob|\\N|\n3||2|a,b \"q\"\r\n"))
		if err := s.Send(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		// An empty field is "" in a character column, NULL in others.
		wantRows(t, e.rows(t, `SELECT id, name, score::text, note FROM events ORDER BY id`),
			[]string{"1", "alice", "1.5", "x"},
			[]string{"2", "bob", "<nil>", ""},
			[]string{"3", "", "2", `a,b "q"`})
	})

	t.Run("delimiter and column subset", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "public.events", "name, ID", `DELIMITER AS '\t' NULL AS 'nil'`)
		if err := s.Send(t.Context(), e.stage(t, []byte("carol\t7\nnil\t8\n"))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id, name, score::text FROM events ORDER BY id`),
			[]string{"7", "carol", "<nil>"},
			[]string{"8", "<nil>", "<nil>"})
	})

	t.Run("CSV", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "events", "id,name,note", `CSV IGNOREHEADER 1 NULL AS 'NULL'`)
		data := "id,name,note\n" +
			"1,\"comma, inside\",\"two\nlines\"\n" +
			"2,\"say \"\"hi\"\"\",NULL\n" +
			"3,\"\",\n" +
			"4,\"NULL\",plain\n"
		if err := s.Send(t.Context(), e.stage(t, []byte(data))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id, name, note FROM events ORDER BY id`),
			[]string{"1", "comma, inside", "two\nlines"},
			[]string{"2", `say "hi"`, "<nil>"},
			[]string{"3", "", ""},
			[]string{"4", "NULL", "plain"})
	})

	t.Run("CSV with QUOTE and DELIMITER", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "events", "id,name", `FORMAT AS CSV QUOTE AS '%' DELIMITER ';'`)
		if err := s.Send(t.Context(), e.stage(t, []byte("1;%a;b%%c%\n2;\"x\"\n"))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id, name FROM events ORDER BY id`),
			[]string{"1", "a;b%c"},
			[]string{"2", `"x"`})
	})

	t.Run("JSON auto", func(t *testing.T) {
		s := e.sink(t, `sales."Orders"`, "", `JSON 'auto' TIMEFORMAT 'auto' DATEFORMAT AS 'auto'`)
		// Records concatenated as Firehose writes them, without delimiters.
		data := `{"id":1,"ITEM":"apple","qty":3,"meta":{"a":[1,2]},"ok":true,"mixed":"m","extra":"ignored"}` +
			`{"id":2,"item":null,"qty":"4"}` + "\n" +
			`{"Id":3,"item":"","qty":null,"meta":"str","ok":false}`
		if err := s.Send(t.Context(), e.stage(t, []byte(data))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id, item, qty, meta::text, ok, "Mixed" FROM sales."Orders" ORDER BY id`),
			[]string{"1", "apple", "3", `{"a": [1, 2]}`, "true", "m"},
			[]string{"2", "<nil>", "4", "<nil>", "<nil>", "<nil>"},
			[]string{"3", "", "<nil>", `"str"`, "false", "<nil>"})
	})

	t.Run("GZIP", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "events", "id,name", "GZIP DELIMITER ','")
		if err := s.Send(t.Context(), e.stage(t, gz(t, []byte("10,ten\n11,eleven\n")))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id, name FROM events ORDER BY id`),
			[]string{"10", "ten"}, []string{"11", "eleven"})

		sj := e.sink(t, "events", "id,name", "JSON 'auto' GZIP")
		if err := sj.Send(t.Context(), e.stage(t, gz(t, []byte(`{"id":12,"name":"twelve"}`)))); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, "events"); n != 3 {
			t.Fatalf("%d rows, want 3", n)
		}
		// Not gzip at all: the batch fails.
		wantFailure(t, s.Send(t.Context(), e.stage(t, []byte("13,x\n"))), CodeDataLoadFailed, "GZIP")
	})

	t.Run("bad row rolls the batch back", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s := e.sink(t, "events", "", "")
		if err := s.Send(t.Context(), e.stage(t, []byte("1|kept|1|a\n"))); err != nil {
			t.Fatal(err)
		}
		before := e.count(t, "events")
		err := s.Send(t.Context(), e.stage(t, []byte("2|ok|1|a\n3|ok|1|a\n4|bad|not-a-number|a\n5|ok|1|a\n")))
		wantFailure(t, err, CodeDataLoadFailed, "invalid input syntax for type numeric")
		if after := e.count(t, "events"); after != before {
			t.Fatalf("%d rows after a failed batch, %d before", after, before)
		}
		// A row with a field too many fails before COPY, the same way.
		err = s.Send(t.Context(), e.stage(t, []byte("6|ok|1|a\n7|ok|1|a|extra\n")))
		wantFailure(t, err, CodeDataLoadFailed, "row 2 has 5 fields")
		if after := e.count(t, "events"); after != before {
			t.Fatalf("%d rows after a failed batch, %d before", after, before)
		}
		// A constraint broken by the last row undoes the earlier ones.
		sj := e.sink(t, `sales."Orders"`, "id,item", "JSON 'auto'")
		before = e.count(t, `sales."Orders"`)
		err = sj.Send(t.Context(), e.stage(t, []byte(`{"id":100,"item":"a"}{"id":101}{"id":100}`)))
		wantFailure(t, err, CodeDataLoadFailed, "duplicate key")
		if after := e.count(t, `sales."Orders"`); after != before {
			t.Fatalf("%d rows after a failed batch, %d before", after, before)
		}
		// The same sink goes on loading.
		if err := s.Send(t.Context(), e.stage(t, []byte("8|after|1|a\n"))); err != nil {
			t.Fatalf("load after a failure: %v", err)
		}
		if n := e.count(t, "events"); n != 2 {
			t.Fatalf("%d rows, want 2", n)
		}
	})

	t.Run("named failures", func(t *testing.T) {
		wantFailure(t, e.sink(t, "nosuch", "", "").Send(t.Context(), e.stage(t, []byte("1\n"))),
			CodeTableNotFound, "does not exist")
		wantFailure(t, e.sink(t, "events", "id,nosuch", "").Send(t.Context(), e.stage(t, []byte("1|2\n"))),
			CodeColumnNotFound, "nosuch")
		err := e.sink(t, "events", "", "").Send(t.Context(), dest.Batch{Staged: &dest.ObjectRef{Bucket: bucket, Key: "missing"}})
		wantFailure(t, err, CodeMissingS3File, "missing")

		s, err := New(t.Context(), Config{JDBCURL: e.srv.JDBCURL(), Username: e.srv.User, Password: "wrong",
			Table: "events", Objects: e.objects})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wantFailure(t, s.Send(t.Context(), e.stage(t, []byte("1|a|1|a\n"))), CodeAuthenticationFailed, "password")
	})

	t.Run("plain postgres URL and jdbc user parameter", func(t *testing.T) {
		e.exec(t, `TRUNCATE events`)
		s, err := New(t.Context(), Config{JDBCURL: e.srv.URL, Table: "events", Columns: "id", Objects: e.objects})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Send(t.Context(), e.stage(t, []byte("21\n"))); err != nil {
			t.Fatal(err)
		}
		jdbc := e.srv.JDBCURL() + "?user=" + e.srv.User + "&password=" + e.srv.Password + "&loginTimeout=5&tcpKeepAlive=true"
		s2, err := New(t.Context(), Config{JDBCURL: jdbc, Table: "events", Columns: "id", Objects: e.objects})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if err := s2.Send(t.Context(), e.stage(t, []byte("22\n"))); err != nil {
			t.Fatal(err)
		}
		wantRows(t, e.rows(t, `SELECT id FROM events ORDER BY id`), []string{"21"}, []string{"22"})
	})
}

func TestStoppedServerIsRetryable(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (a int)`)
	s := e.sink(t, "t", "", "")
	if err := s.Send(t.Context(), e.stage(t, []byte("1\n"))); err != nil {
		t.Fatal(err)
	}
	e.db.Close(t.Context())
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// The kept connection is dead, then connecting fails.
	for range 2 {
		wantFailure(t, s.Send(t.Context(), e.stage(t, []byte("2\n"))), CodeConnectionFailed, "")
	}

	// Nothing listens at all.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s2, err := New(t.Context(), Config{JDBCURL: "jdbc:redshift://" + addr + "/dev", Username: "u", Password: "p",
		Table: "t", Objects: e.objects})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wantFailure(t, s2.Send(t.Context(), e.stage(t, []byte("3\n"))), CodeConnectionFailed, "")
}

func TestSendAfterCloseFails(t *testing.T) {
	s, err := New(t.Context(), Config{JDBCURL: "postgres://u:p@127.0.0.1:1/db", Table: "t", Objects: mapStore{"b/k": []byte("1\n")}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Send(t.Context(), dest.Batch{Staged: &dest.ObjectRef{Bucket: "b", Key: "k"}}); !errors.Is(err, dest.ErrPermanent) {
		t.Fatalf("Send after Close: %v", err)
	}
}

type mapStore map[string][]byte

func (m mapStore) Put(_ context.Context, b, k string, body []byte) error {
	m[b+"/"+k] = bytes.Clone(body) // the engine reuses body
	return nil
}

func (m mapStore) Get(_ context.Context, b, k string) ([]byte, error) {
	v, ok := m[b+"/"+k]
	if !ok {
		return nil, dest.ErrNotFound
	}
	return v, nil
}

func (m mapStore) List(context.Context, string, string) ([]string, error) { return nil, nil }
