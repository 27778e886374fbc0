// Package postgres loads batches into PostgreSQL the way Firehose loads
// Redshift: the batch is staged as an object first, then read back and
// loaded with one COPY in one transaction, so a failed load leaves no rows.
package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rivulet/rivulet/internal/delivery/dest"
)

// Error codes, named after Firehose's Redshift delivery errors. Only
// ConnectionFailed and AuthenticationFailed are confirmed by AWS's public
// material; the others follow the same naming.
const (
	CodeConnectionFailed      = "Redshift.ConnectionFailed"
	CodeAuthenticationFailed  = "Redshift.AuthenticationFailed"
	CodeDatabaseNotFound      = "Redshift.DatabaseNotFound"
	CodeTableNotFound         = "Redshift.TableNotFound"
	CodeColumnNotFound        = "Redshift.ColumnNotFound"
	CodeSyntaxError           = "Redshift.SyntaxError"
	CodeInsufficientPrivilege = "Redshift.InsufficientPrivilege"
	CodeReadOnlyCluster       = "Redshift.ReadOnlyCluster"
	CodeDiskFull              = "Redshift.DiskFull"
	CodeDataLoadFailed        = "Redshift.DataLoadFailed"
	CodeMissingS3File         = "Redshift.MissingS3File"
)

// connectTimeout bounds connecting when the URL does not say.
const connectTimeout = 20 * time.Second

// Config configures a Sink.
type Config struct {
	// JDBCURL is ClusterJDBCURL: jdbc:postgresql://host:port/db?...,
	// jdbc:redshift://host:port/db, or a postgres:// URL.
	JDBCURL  string
	Username string
	Password string
	// Table is CopyCommand.DataTableName, may be schema-qualified.
	Table string
	// Columns is CopyCommand.DataTableColumns, comma separated; empty
	// means all columns in table order.
	Columns string
	// CopyOptions is CopyCommand.CopyOptions (Redshift syntax).
	CopyOptions string
	// Objects holds the staged batches.
	Objects dest.ObjectStore
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Sink loads staged batches. It keeps one connection, made on first use
// and remade after a failure; Sends are serialised on it.
type Sink struct {
	connCfg *pgx.ConnConfig
	table   pgx.Identifier
	columns []string
	opts    copyOptions
	objects dest.ObjectStore
	log     *slog.Logger

	mu     sync.Mutex
	conn   *pgx.Conn
	closed bool
}

var _ dest.Sink = (*Sink)(nil)

// New checks cfg and makes a Sink. It does not connect: a database that
// is down now is a delivery failure later, not a configuration error.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	_ = ctx // nothing blocks yet; kept for the contract
	if cfg.Objects == nil {
		return nil, errors.New("postgres: Config.Objects is nil")
	}
	table, err := parseTable(cfg.Table)
	if err != nil {
		return nil, err
	}
	cols, err := parseColumns(cfg.Columns)
	if err != nil {
		return nil, err
	}
	opts, err := parseCopyOptions(cfg.CopyOptions)
	if err != nil {
		return nil, err
	}
	connCfg, err := ParseJDBCURL(cfg.JDBCURL, cfg.Username, cfg.Password)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Sink{connCfg: connCfg, table: table, columns: cols, opts: opts, objects: cfg.Objects, log: log}, nil
}

// ParseJDBCURL turns a ClusterJDBCURL into a pgx configuration. JDBC
// parameters other than user, password, ssl and sslmode are ignored;
// username and password, when set, win over the URL's.
func ParseJDBCURL(raw, username, password string) (*pgx.ConnConfig, error) {
	lower := strings.ToLower(raw)
	var cfg *pgx.ConnConfig
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		c, err := pgx.ParseConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("postgres: URL: %w", err)
		}
		cfg = c
	case strings.HasPrefix(lower, "jdbc:postgresql://"), strings.HasPrefix(lower, "jdbc:redshift://"):
		u, err := url.Parse(raw[len("jdbc:"):])
		if err != nil {
			return nil, fmt.Errorf("postgres: ClusterJDBCURL: %w", err)
		}
		if u.Hostname() == "" {
			return nil, fmt.Errorf("postgres: ClusterJDBCURL %q has no host", raw)
		}
		port := 5432
		if strings.EqualFold(u.Scheme, "redshift") {
			port = 5439
		}
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("postgres: ClusterJDBCURL %q: bad port", raw)
			}
			port = n
		}
		db := strings.TrimPrefix(u.Path, "/")
		if db == "" || strings.Contains(db, "/") {
			return nil, fmt.Errorf("postgres: ClusterJDBCURL %q: want jdbc:postgresql://host:port/database", raw)
		}
		q := u.Query()
		sslmode := q.Get("sslmode")
		switch {
		case sslmode != "":
		case strings.EqualFold(q.Get("ssl"), "true"):
			sslmode = "require"
		default:
			sslmode = "prefer"
		}
		switch sslmode {
		case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		default:
			return nil, fmt.Errorf("postgres: ClusterJDBCURL %q: unknown sslmode %q", raw, sslmode)
		}
		// Build a URL pgx understands from the parts, so JDBC-only
		// parameters never reach the server as runtime settings.
		pgURL := &url.URL{
			Scheme:   "postgres",
			Host:     net.JoinHostPort(u.Hostname(), strconv.Itoa(port)),
			Path:     "/" + db,
			RawQuery: url.Values{"sslmode": {sslmode}}.Encode(),
		}
		c, err := pgx.ParseConfig(pgURL.String())
		if err != nil {
			return nil, fmt.Errorf("postgres: ClusterJDBCURL %q: %w", raw, err)
		}
		if v := q.Get("user"); v != "" {
			c.User = v
		}
		if v := q.Get("password"); v != "" {
			c.Password = v
		}
		cfg = c
	default:
		return nil, fmt.Errorf("postgres: ClusterJDBCURL %q: want jdbc:postgresql://, jdbc:redshift:// or postgres://", raw)
	}
	if username != "" {
		cfg.User = username
	}
	if password != "" {
		cfg.Password = password
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "rivulet-firehose"
	}
	return cfg, nil
}

// Send loads the staged object named by b.Staged with one COPY in one
// transaction. Every failure is retryable, as Firehose retries Redshift
// loads for the whole retry duration.
func (s *Sink) Send(ctx context.Context, b dest.Batch) error {
	if b.Staged == nil {
		return &dest.Failure{Code: CodeMissingS3File, Message: "the batch was not staged", Err: dest.ErrPermanent}
	}
	data, err := s.objects.Get(ctx, b.Staged.Bucket, b.Staged.Key)
	if err != nil {
		return &dest.Failure{Code: CodeMissingS3File, Message: fmt.Sprintf("reading staged object %s/%s: %v", b.Staged.Bucket, b.Staged.Key, err), Err: err}
	}
	in, err := decode(s.opts, data)
	if err != nil {
		return &dest.Failure{Code: CodeDataLoadFailed, Message: fmt.Sprintf("staged object %s/%s: %v", b.Staged.Bucket, b.Staged.Key, err)}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &dest.Failure{Code: CodeConnectionFailed, Message: "sink is closed", Err: dest.ErrPermanent}
	}
	if s.conn == nil || s.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, s.connCfg)
		if err != nil {
			return failure(err)
		}
		s.conn = conn
	}
	err = s.load(ctx, in)
	if err != nil && !isServerError(err) {
		// The connection's state is unknown: start afresh next time.
		s.log.Warn("postgres sink: dropping connection after failure", "table", s.table.Sanitize(), "err", err)
		s.dropConn()
	}
	if err != nil {
		return failure(err)
	}
	return nil
}

func (s *Sink) load(ctx context.Context, in parsed) error {
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing

	cols, err := describe(ctx, tx, s.table, s.columns)
	if err != nil {
		return err
	}
	csv, err := render(in, cols)
	if err != nil {
		return err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = pgx.Identifier{c.name}.Sanitize()
	}
	stmt := fmt.Sprintf("COPY %s (%s) FROM STDIN WITH (FORMAT csv)", s.table.Sanitize(), strings.Join(names, ", "))
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(csv), stmt); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// column is a target column and whether an empty field loads as an empty
// string (character types) or NULL (everything else), as in Redshift.
type column struct {
	name      string
	character bool
	json      bool // json or jsonb: a JSON 'auto' value goes in as JSON
}

// Type OIDs of PostgreSQL's character types.
const (
	oidChar    = 18
	oidName    = 19
	oidText    = 25
	oidBPChar  = 1042
	oidVarchar = 1043
	oidJSON    = 114
	oidJSONB   = 3802
)

// describe reads the target columns' names and types from the table.
func describe(ctx context.Context, tx pgx.Tx, table pgx.Identifier, names []string) ([]column, error) {
	sel := "*"
	if len(names) > 0 {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = pgx.Identifier{n}.Sanitize()
		}
		sel = strings.Join(q, ", ")
	}
	rows, err := tx.Query(ctx, "SELECT "+sel+" FROM "+table.Sanitize()+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	fds := rows.FieldDescriptions()
	cols := make([]column, len(fds))
	for i, fd := range fds {
		switch fd.DataTypeOID {
		case oidChar, oidName, oidText, oidBPChar, oidVarchar:
			cols[i].character = true
		case oidJSON, oidJSONB:
			cols[i].json = true
		}
		cols[i].name = fd.Name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return cols, nil
}

// loadError is a problem with the batch's data found before COPY.
type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

// render writes the rows as PostgreSQL CSV: every value quoted, NULL as
// an unquoted empty field, so the two never mix.
func render(in parsed, cols []column) ([]byte, error) {
	var b bytes.Buffer
	write := func(i int, f field) {
		if i > 0 {
			b.WriteByte(',')
		}
		v := f.s
		switch {
		case f.null:
			return
		case cols[i].json && f.raw != "":
			v = f.raw
		case f.empty && !cols[i].character:
			return
		}
		b.WriteByte('"')
		for j := 0; j < len(v); j++ {
			if v[j] == '"' {
				b.WriteByte('"')
			}
			b.WriteByte(v[j])
		}
		b.WriteByte('"')
	}
	if in.objects != nil {
		for _, obj := range in.objects {
			for i, c := range cols {
				f, ok := obj[strings.ToLower(c.name)]
				if !ok {
					f = field{null: true}
				}
				write(i, f)
			}
			b.WriteByte('\n')
		}
		return b.Bytes(), nil
	}
	for n, row := range in.rows {
		if len(row) != len(cols) {
			return nil, &loadError{fmt.Sprintf("row %d has %d fields, but %d columns are loaded", n+1, len(row), len(cols))}
		}
		for i, f := range row {
			write(i, f)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// isServerError says the server refused a statement on a healthy
// connection, which the rollback has already cleaned up.
func isServerError(err error) bool {
	var pgErr *pgconn.PgError
	var le *loadError
	return errors.As(err, &pgErr) && !connClass(pgErr.Code) || errors.As(err, &le)
}

func connClass(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P")
}

// failure names an error as Firehose's Redshift errors do.
func failure(err error) *dest.Failure {
	var le *loadError
	if errors.As(err, &le) {
		return &dest.Failure{Code: CodeDataLoadFailed, Message: le.msg}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return &dest.Failure{Code: CodeConnectionFailed, Message: err.Error(), Err: err}
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += ". " + pgErr.Detail
	}
	if pgErr.Where != "" {
		msg += " (" + pgErr.Where + ")"
	}
	msg += " [SQLSTATE " + pgErr.Code + "]"
	f := &dest.Failure{Message: msg, Err: err}
	switch c := pgErr.Code; {
	case c == "28P01" || c == "28000":
		f.Code = CodeAuthenticationFailed
	case c == "3D000":
		f.Code = CodeDatabaseNotFound
	case c == "42P01" || c == "3F000":
		f.Code = CodeTableNotFound
	case c == "42703":
		f.Code = CodeColumnNotFound
	case c == "42601":
		f.Code = CodeSyntaxError
	case c == "42501":
		f.Code = CodeInsufficientPrivilege
	case c == "25006":
		f.Code = CodeReadOnlyCluster
	case c == "53100":
		f.Code = CodeDiskFull
	case connClass(c) || c == "53300":
		f.Code = CodeConnectionFailed
	default:
		f.Code = CodeDataLoadFailed
	}
	return f
}

func (s *Sink) dropConn() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.conn.Close(ctx)
	s.conn = nil
}

// Close closes the connection; Send fails afterwards.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.dropConn()
	return nil
}
