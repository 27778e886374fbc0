package postgres

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestParseCopyOptions(t *testing.T) {
	tests := []struct {
		in   string
		want copyOptions
	}{
		{"", copyOptions{format: formatText, delim: '|', null: `\N`}},
		{"delimiter ','", copyOptions{format: formatText, delim: ',', null: `\N`}},
		{`DELIMITER AS '\t' NULL AS ''`, copyOptions{format: formatText, delim: '\t', null: ""}},
		{`DELIMITER '\174'`, copyOptions{format: formatText, delim: '|', null: `\N`}},
		{"CSV", copyOptions{format: formatCSV, delim: ',', quote: '"', null: `\N`}},
		{"csv quote as '%' delimiter ';' ignoreheader 2 gzip", copyOptions{format: formatCSV, delim: ';', quote: '%', null: `\N`, gzip: true, ignoreHeader: 2}},
		{"QUOTE ''''  CSV", copyOptions{format: formatCSV, delim: ',', quote: '\'', null: `\N`}},
		{"FORMAT AS CSV", copyOptions{format: formatCSV, delim: ',', quote: '"', null: `\N`}},
		{"JSON 'auto'", copyOptions{format: formatJSON, null: `\N`}},
		{"json as 'auto ignorecase' GZIP TIMEFORMAT 'auto' DATEFORMAT AS 'AUTO'", copyOptions{format: formatJSON, null: `\N`, gzip: true}},
		{"FORMAT AS JSON 'auto'", copyOptions{format: formatJSON, null: `\N`}},
		{"IGNOREHEADER AS 1", copyOptions{format: formatText, delim: '|', null: `\N`, ignoreHeader: 1}},
	}
	for _, tt := range tests {
		got, err := parseCopyOptions(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCopyOptionsRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"MAXERROR 10", "MAXERROR is not supported"},
		{"JSON 's3://bucket/jsonpaths.json'", "only JSON 'auto'"},
		{"JSON", "needs a quoted value"},
		{"CSV JSON 'auto'", "conflicts"},
		{"DELIMITER ',' JSON 'auto'", "do not apply to JSON"},
		{"QUOTE '%'", "QUOTE needs CSV"},
		{"CSV QUOTE ','", "must differ"},
		{"DELIMITER 'ab'", "one ASCII character"},
		{"DELIMITER ','  DELIMITER ';'", "twice"},
		{"IGNOREHEADER x", "row count"},
		{"IGNOREHEADER -1", "unexpected character"},
		{"TIMEFORMAT 'YYYY-MM-DD'", "only 'auto'"},
		{"DELIMITER '|", "unterminated"},
		{"GZIP;", "unexpected character"},
		{"'auto'", "unexpected quoted value"},
		{"FORMAT AS PARQUET", "not supported"},
		{"NULL AS 'a\nb'", "newline"},
	}
	for _, tt := range tests {
		_, err := parseCopyOptions(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one about %q", tt.in, err, tt.want)
		}
	}
}

func TestValidateCopy(t *testing.T) {
	ok := []struct{ table, cols, opts string }{
		{"events", "", ""},
		{"public.events", "a, b,c", "CSV"},
		{`"My Schema"."Odd.Table"`, `"Mixed Case", plain`, "JSON 'auto'"},
	}
	for _, tt := range ok {
		if err := ValidateCopy(tt.table, tt.cols, tt.opts); err != nil {
			t.Errorf("ValidateCopy(%q, %q, %q): %v", tt.table, tt.cols, tt.opts, err)
		}
	}
	bad := []struct{ table, cols, opts, want string }{
		{"", "", "", "DataTableName"},
		{"a.b.c.d", "", "", "DataTableName"},
		{"bad name", "", "", "DataTableName"},
		{`"open`, "", "", "unterminated"},
		{"t", "a,,b", "", "empty identifier"},
		{"t", "a,A", "", "twice"},
		{"t", "", "FILLRECORD", "not supported"},
		{"1t", "", "", "digit"},
	}
	for _, tt := range bad {
		err := ValidateCopy(tt.table, tt.cols, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidateCopy(%q, %q, %q): %v, want an error about %q", tt.table, tt.cols, tt.opts, err, tt.want)
		}
	}
	id, err := parseTable(`Sales."Big ""Orders"""`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(id, pgx.Identifier{"sales", `Big "Orders"`}) || id.Sanitize() != `"sales"."Big ""Orders"""` {
		t.Fatalf("parseTable = %q (%s)", id, id.Sanitize())
	}
}

func TestParseJDBCURL(t *testing.T) {
	tests := []struct {
		url, user, pass string
		host            string
		port            uint16
		db, wantUser    string
		tls             bool
	}{
		{"jdbc:redshift://cluster.example.com:5439/dev", "u", "p", "cluster.example.com", 5439, "dev", "u", true},
		{"jdbc:redshift://cluster.example.com/dev", "u", "p", "cluster.example.com", 5439, "dev", "u", true},
		{"jdbc:postgresql://127.0.0.1:6543/db?ssl=false&sslmode=disable&loginTimeout=3", "u", "p", "127.0.0.1", 6543, "db", "u", false},
		{"jdbc:postgresql://[::1]/db?user=url&password=pw&sslmode=disable", "", "", "::1", 5432, "db", "url", false},
		{"postgres://a:b@h:7/x?sslmode=disable", "", "", "h", 7, "x", "a", false},
		{"postgres://a:b@h:7/x?sslmode=disable", "over", "ride", "h", 7, "x", "over", false},
	}
	for _, tt := range tests {
		c, err := ParseJDBCURL(tt.url, tt.user, tt.pass)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if c.Host != tt.host || c.Port != tt.port || c.Database != tt.db || c.User != tt.wantUser || (c.TLSConfig != nil) != tt.tls {
			t.Errorf("%s: host %s port %d db %s user %s tls %v", tt.url, c.Host, c.Port, c.Database, c.User, c.TLSConfig != nil)
		}
		if c.ConnectTimeout <= 0 || c.ConnectTimeout > time.Minute {
			t.Errorf("%s: connect timeout %v", tt.url, c.ConnectTimeout)
		}
		if _, ok := c.RuntimeParams["loginTimeout"]; ok {
			t.Errorf("%s: a JDBC parameter reached the server: %v", tt.url, c.RuntimeParams)
		}
	}
	for _, bad := range []string{"", "mysql://h/db", "jdbc:postgresql://h:99999/db", "jdbc:postgresql:///db",
		"jdbc:postgresql://h", "jdbc:postgresql://h/db?sslmode=sometimes", "jdbc:redshift://h/a/b"} {
		if _, err := ParseJDBCURL(bad, "u", "p"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeAndRender(t *testing.T) {
	cols := []column{{name: "a", character: true}, {name: "b"}, {name: "c", json: true}}
	tests := []struct {
		opts, data, want string
	}{
		{"", "x|1|{}\n|\\N|\n\n", "\"x\",\"1\",\"{}\"\n\"\",,\n"},
		{"CSV NULL AS 'N'", "\"a\"\"b\",,\"\"\r\nN,\"2\",N", "\"a\"\"b\",,\"\"\n,\"2\",\n"},
		{"JSON 'auto'", `{"A":"s","b":1.50,"c":"str"} {"c":[1, {"x":null}]}`, "\"s\",\"1.50\",\"\"\"str\"\"\"\n,,\"[1,{\"\"x\"\":null}]\"\n"},
		{"IGNOREHEADER 2", "h1\nh2\nv|2|3\n", "\"v\",\"2\",\"3\"\n"},
	}
	for _, tt := range tests {
		o, err := parseCopyOptions(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		in, err := decode(o, []byte(tt.data))
		if err != nil {
			t.Errorf("%s %q: %v", tt.opts, tt.data, err)
			continue
		}
		got, err := render(in, cols)
		if err != nil {
			t.Errorf("%s %q: %v", tt.opts, tt.data, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s %q:\n got %q\nwant %q", tt.opts, tt.data, got, tt.want)
		}
	}
	for _, bad := range []struct{ opts, data string }{
		{"CSV", "\"open"},
		{"CSV", "\"a\"b,c"},
		{"JSON 'auto'", "[1,2]"},
		{"JSON 'auto'", `{"a":1} {`},
		{"GZIP", "plain"},
	} {
		o, _ := parseCopyOptions(bad.opts)
		if _, err := decode(o, []byte(bad.data)); err == nil {
			t.Errorf("%s %q decoded", bad.opts, bad.data)
		}
	}
}

func FuzzCopyOptions(f *testing.F) {
	for _, s := range []string{"", "CSV QUOTE AS '%' DELIMITER ';'", "JSON 'auto' GZIP", `NULL AS '\N' IGNOREHEADER 1`, `DELIMITER '\011'`, "FORMAT AS JSON 'auto ignorecase'"} {
		f.Add("public.t", "a,b", s)
	}
	f.Add(`"a""b".c`, `"x,y", z`, "TIMEFORMAT 'auto'")
	f.Fuzz(func(t *testing.T, table, cols, opts string) {
		err := ValidateCopy(table, cols, opts)
		if err != nil {
			return
		}
		// What validates must also make a sink.
		if _, err := New(t.Context(), Config{JDBCURL: "postgres://u@h/d", Table: table, Columns: cols, CopyOptions: opts, Objects: mapStore{}}); err != nil {
			t.Fatalf("ValidateCopy passed but New failed: %v", err)
		}
		id, _ := parseTable(table)
		_ = id.Sanitize()
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("", []byte("1|a|\\N\n2||x\n"))
	f.Add("CSV IGNOREHEADER 1", []byte("h\n\"a,b\",\"c\"\"d\"\r\n,x\n"))
	f.Add("JSON 'auto'", []byte(`{"a":1,"B":"x","c":{"d":[1]}}{"a":null}`))
	f.Add("CSV QUOTE '''' DELIMITER '\\t'", []byte("'a\tb'\tc\n"))
	f.Fuzz(func(t *testing.T, opts string, data []byte) {
		o, err := parseCopyOptions(opts)
		if err != nil {
			return
		}
		in, err := decode(o, data)
		if err != nil {
			return
		}
		cols := []column{{name: "a", character: true}, {name: "b"}, {name: "c", json: true}}
		out, err := render(in, cols)
		if err != nil {
			return
		}
		// Every rendered row must read back as three CSV fields.
		rows, err := decodeCSV(out, copyOptions{format: formatCSV, delim: ',', quote: '"', null: "\x00none"})
		if err != nil {
			t.Fatalf("rendered CSV does not parse: %v\n%q", err, out)
		}
		n := len(in.rows) + len(in.objects)
		if len(rows) != n {
			t.Fatalf("%d rows rendered from %d", len(rows), n)
		}
		for _, r := range rows {
			if len(r) != len(cols) {
				t.Fatalf("rendered row has %d fields: %q", len(r), out)
			}
		}
	})
}

func FuzzJDBCURL(f *testing.F) {
	f.Add("jdbc:redshift://h.example.com:5439/dev")
	f.Add("jdbc:postgresql://127.0.0.1/db?ssl=true&user=x")
	f.Add("postgres://u:p@h/d?sslmode=disable")
	f.Fuzz(func(t *testing.T, u string) {
		c, err := ParseJDBCURL(u, "u", "p")
		if err == nil && (c.Host == "" || c.User != "u") {
			t.Fatalf("%q: host %q user %q", u, c.Host, c.User)
		}
	})
}
