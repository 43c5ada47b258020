package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

const (
	defaultPort    = 3306
	connectTimeout = 30 * time.Second
)

// conn is a target's connection settings with the password resolved.
type conn struct {
	target   string
	host     string
	port     int
	user     string
	password string
	database string
}

func resolve(t engine.Target) (conn, error) {
	spec := t.Spec.MySQL
	if spec == nil {
		return conn{}, fmt.Errorf("target %q has no mysql block", t.Name())
	}
	password, err := t.Secrets.Value(spec.PasswordSecretRef)
	if err != nil {
		return conn{}, fmt.Errorf("target %q: password: %w", t.Name(), err)
	}
	c := conn{target: t.Name(), host: spec.Host, port: spec.Port, user: spec.User,
		password: password, database: spec.Database}
	if c.port == 0 {
		c.port = defaultPort
	}
	return c, nil
}

// where names the target and one of its server's databases for messages.
func (c conn) where(db string) string {
	return fmt.Sprintf("target %q (mysql %s:%d/%s)", c.target, c.host, c.port, db)
}

// open returns a one-connection pool to the server, without a default
// database. Like the tools (protocol=TCP in the option file) it always uses
// TCP, so "localhost" means the same to both.
func (c conn) open() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = c.user
	cfg.Passwd = c.password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(c.host, strconv.Itoa(c.port))
	cfg.Timeout = connectTimeout
	cfg.Logger = &mysql.NopLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db, nil
}

// describe asks the server for VERSION() and for the target database's
// character set and collation, which a restore needs to create it again as
// it was.
func (c conn) describe(ctx context.Context) (string, *manifest.DatabaseProperties, error) {
	pool, err := c.open()
	if err != nil {
		return "", nil, err
	}
	defer pool.Close()
	var v string
	if err := pool.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", nil, fmt.Errorf("connecting: %w", err)
	}
	props, err := schemaProperties(ctx, pool, c.database)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("database %q does not exist, or the user may not see it", c.database)
	}
	if err != nil {
		return "", nil, fmt.Errorf("reading the properties of database %q: %w", c.database, err)
	}
	return v, props, nil
}

// optionFile is the [client] group the tools read with
// --defaults-extra-file: everything needed to connect, secrets included.
// plain turns TLS off, for a server that has none (serverOffersTLS);
// "loose-" lets clients without the option (mysqldump 8) ignore it.
func (c conn) optionFile(plain bool) []byte {
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "host=%s\n", optionValue(c.host))
	fmt.Fprintf(&b, "port=%d\n", c.port)
	b.WriteString("protocol=TCP\n")
	fmt.Fprintf(&b, "user=%s\n", optionValue(c.user))
	if c.password != "" {
		fmt.Fprintf(&b, "password=%s\n", optionValue(c.password))
	}
	if plain {
		b.WriteString("loose-skip-ssl\n")
	}
	return []byte(b.String())
}

// optionValue double-quotes v with the escapes option files understand, so
// '#', quotes, spaces at either end and line breaks survive.
func optionValue(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

// quoteIdent quotes a database name for SQL.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
