// Package pgwire is what the engines that speak the PostgreSQL wire
// protocol (postgres, cockroach) share: a libpq keyword/value connection
// string without the password, and a pgx connection with the password set
// on the parsed configuration, so it can never end up in a message or an
// argument.
package pgwire

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// connectTimeout (seconds) bounds connecting to a host that does not answer.
const connectTimeout = 30

// Endpoint is a server and a user; Password never appears in Conninfo.
type Endpoint struct {
	Host     string
	Port     int
	User     string
	Password string
	SSLMode  string
}

// Conninfo is a libpq keyword/value string for db, without the password.
// Every value is quoted, so a database name can hold any character.
func (e Endpoint) Conninfo(db string) string {
	kv := []string{
		"host=" + Quote(e.Host),
		"port=" + strconv.Itoa(e.Port),
		"user=" + Quote(e.User),
		"dbname=" + Quote(db),
		"connect_timeout=" + strconv.Itoa(connectTimeout),
	}
	if e.SSLMode != "" {
		kv = append(kv, "sslmode="+Quote(e.SSLMode))
	}
	return strings.Join(kv, " ")
}

// Connect opens a connection to db as application "coffer". With simple,
// statements go over the simple protocol (for statements that take no
// placeholders, such as CockroachDB's BACKUP).
func (e Endpoint) Connect(ctx context.Context, db string, simple bool) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(e.Conninfo(db) + " application_name=coffer")
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	cfg.Password = e.Password
	if simple {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return pc, nil
}

// Quote quotes a conninfo value the way libpq (and pgx) parse it.
func Quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}
