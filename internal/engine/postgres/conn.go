package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/pgwire"
)

const (
	defaultPort = 5432
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

// endpoint is the server as the shared wire-protocol helpers see it.
func (c conn) endpoint() pgwire.Endpoint {
	return pgwire.Endpoint{Host: c.host, Port: c.port, User: c.user, Password: c.password, SSLMode: c.sslMode}
}

// conninfo is a libpq keyword/value string for db, without the password:
// it is passed as --dbname, so a database name can hold any character.
func (c conn) conninfo(db string) string { return c.endpoint().Conninfo(db) }

// connect opens a pgx connection to db (the password on the parsed config).
func (c conn) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	return c.endpoint().Connect(ctx, db, false)
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
