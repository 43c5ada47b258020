package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
)

const (
	defaultPort = 5432
	// connectTimeout (seconds) bounds connecting to a host that does not answer.
	connectTimeout = 30
)

// conn is a target's connection settings with the password resolved.
type conn struct {
	target   string
	host     string
	port     int
	user     string
	password string
	sslMode  string
	database string
}

func resolve(t engine.Target) (conn, error) {
	spec := t.Spec.Postgres
	if spec == nil {
		return conn{}, fmt.Errorf("target %q has no postgres block", t.Name())
	}
	password, err := t.Secrets.Value(spec.PasswordSecretRef)
	if err != nil {
		return conn{}, fmt.Errorf("target %q: password: %w", t.Name(), err)
	}
	c := conn{target: t.Name(), host: spec.Host, port: spec.Port, user: spec.User,
		password: password, sslMode: spec.SSLMode, database: spec.Database}
	if c.port == 0 {
		c.port = defaultPort
	}
	return c, nil
}

// where names the target and one of its server's databases for messages.
func (c conn) where(db string) string {
	return fmt.Sprintf("target %q (postgres %s:%d/%s)", c.target, c.host, c.port, db)
}

// conninfo is a libpq keyword/value string for db, without the password:
// it is passed as --dbname, so a database name can hold any character.
func (c conn) conninfo(db string) string {
	kv := []string{
		"host=" + quote(c.host),
		"port=" + strconv.Itoa(c.port),
		"user=" + quote(c.user),
		"dbname=" + quote(db),
		"connect_timeout=" + strconv.Itoa(connectTimeout),
	}
	if c.sslMode != "" {
		kv = append(kv, "sslmode="+quote(c.sslMode))
	}
	return strings.Join(kv, " ")
}

// quote quotes a conninfo value the way libpq parses it.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

// connect opens a pgx connection to db. The password is set on the parsed
// config, never in a connection string that could end up in a message.
func (c conn) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(c.conninfo(db) + " application_name=coffer")
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	cfg.Password = c.password
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return pc, nil
}

// errPasswordNewline: libpq's password file is line-based.
var errPasswordNewline = errors.New("the password contains a line break, which libpq's password file cannot hold")

// pgpass is a password file line matching any connection: the file is
// written for one run of one tool, so it needs no other entries.
func pgpass(password string) ([]byte, error) {
	if strings.ContainsAny(password, "\r\n") {
		return nil, errPasswordNewline
	}
	r := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	return []byte("*:*:*:*:" + r.Replace(password) + "\n"), nil
}
