package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

var _ engine.Scratch = (*Engine)(nil)

// UseServer points the target's mysql block at a restore test's scratch
// server and its credentials.
func UseServer(t *v1alpha1.Target, s *v1alpha1.ScratchServer) {
	m := *t.MySQL
	m.Host, m.Port, m.User, m.PasswordSecretRef = s.Host, s.Port, s.User, s.PasswordSecretRef
	t.MySQL = &m
}

// MaxDatabaseName is MariaDB's limit (64 characters; names here are ASCII).
func (*Engine) MaxDatabaseName() int { return maxName }

// Check runs stmt in db inside a read-only transaction, rolled back after.
func (*Engine) Check(ctx context.Context, t engine.Target, db, stmt string) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	if err := c.check(ctx, db, stmt); err != nil {
		return tool.Redact(err, c.password)
	}
	return nil
}

func (c conn) check(ctx context.Context, db, stmt string) error {
	pool, err := c.open()
	if err != nil {
		return err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: connecting: %w", c.where(db), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(db)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION READ ONLY"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the connection is closed next
	var v any
	err = conn.QueryRowContext(ctx, stmt).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return engine.ErrNoRows
	}
	if err != nil {
		return err
	}
	return engine.CheckResult(v)
}

// DropDatabase drops db if it exists.
func (*Engine) DropDatabase(ctx context.Context, t engine.Target, db string) error {
	return onServer(t, func(c conn, pool *sql.DB) error {
		if err := dropDatabase(ctx, pool, db); err != nil {
			return tool.Redact(fmt.Errorf("dropping %s: %w", c.where(db), err), c.password)
		}
		return nil
	})
}
