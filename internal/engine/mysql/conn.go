package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/coffer-dev/coffer/internal/engine"
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

// serverVersion asks the server for VERSION().
func (c conn) serverVersion(ctx context.Context) (string, error) {
	db, err := c.open()
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return "", fmt.Errorf("connecting: %w", err)
	}
	return v, nil
}

// optionFile is the [client] group the tools read with
// --defaults-extra-file: everything needed to connect, secrets included.
func (c conn) optionFile() []byte {
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "host=%s\n", optionValue(c.host))
	fmt.Fprintf(&b, "port=%d\n", c.port)
	b.WriteString("protocol=TCP\n")
	fmt.Fprintf(&b, "user=%s\n", optionValue(c.user))
	if c.password != "" {
		fmt.Fprintf(&b, "password=%s\n", optionValue(c.password))
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
