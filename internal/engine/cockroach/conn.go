package cockroach

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/pgwire"
)

const (
	defaultPort = 26257
	// maintenanceDB is where a restore connects: the destination may not
	// exist yet, or be dropped. CockroachDB creates it in every cluster.
	maintenanceDB = "defaultdb"
)

// conn is a target's settings with the password resolved.
type conn struct {
	target      string
	host        string
	port        int
	user        string
	password    string
	sslMode     string
	database    string
	endpointURL string
}

func resolve(t engine.Target) (conn, error) {
	spec := t.Spec.Cockroach
	if spec == nil {
		return conn{}, fmt.Errorf("target %q has no cockroach block", t.Name())
	}
	password, err := t.Secrets.Value(spec.PasswordSecretRef)
	if err != nil {
		return conn{}, fmt.Errorf("target %q: password: %w", t.Name(), err)
	}
	c := conn{target: t.Name(), host: spec.Host, port: spec.Port, user: spec.User,
		password: password, sslMode: spec.SSLMode, database: spec.Database, endpointURL: spec.EndpointURL}
	if c.port == 0 {
		c.port = defaultPort
	}
	return c, nil
}

// where names the target and one of its cluster's databases for messages.
func (c conn) where(db string) string {
	return fmt.Sprintf("target %q (cockroach %s:%d/%s)", c.target, c.host, c.port, db)
}

// connect opens a connection to db. The password is set on the parsed
// configuration, never in a connection string that could end up in a
// message. Statements go over the simple protocol: BACKUP and RESTORE
// take no placeholders, and the few queries with values have them
// interpolated, quoted, by pgx.
func (c conn) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	e := pgwire.Endpoint{Host: c.host, Port: c.port, User: c.user, Password: c.password, SSLMode: c.sslMode}
	return e.Connect(ctx, db, true)
}

// serverVersion is what version() says: "CockroachDB CCL v24.1.0 (...)".
func serverVersion(ctx context.Context, pc *pgx.Conn) (string, error) {
	var v string
	if err := pc.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", fmt.Errorf("asking for the server version: %w", err)
	}
	return v, nil
}
