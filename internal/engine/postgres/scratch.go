package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

var _ engine.Scratch = (*Engine)(nil)

// UseServer points the target's postgres block at a restore test's scratch
// server and its credentials.
func UseServer(t *v1alpha1.Target, s *v1alpha1.ScratchServer) {
	p := *t.Postgres
	p.Host, p.Port, p.User, p.PasswordSecretRef, p.SSLMode = s.Host, s.Port, s.User, s.PasswordSecretRef, s.SSLMode
	t.Postgres = &p
}

// MaxDatabaseName is PostgreSQL's NAMEDATALEN - 1.
func (*Engine) MaxDatabaseName() int { return 63 }

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
	pc, err := c.connect(ctx, db)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where(db), err)
	}
	defer pc.Close(context.WithoutCancel(ctx))
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // read only: nothing to keep
	rows, err := tx.Query(ctx, stmt, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return engine.ErrNoRows
	}
	vals, err := rows.Values()
	if err != nil {
		return err
	}
	if len(vals) == 0 {
		return engine.ErrNoRows
	}
	return engine.CheckResult(vals[0])
}

// DropDatabase drops db, forcing out connections (PostgreSQL 13 and later).
func (*Engine) DropDatabase(ctx context.Context, t engine.Target, db string) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	if err := c.dropCreated(ctx, db); err != nil {
		return tool.Redact(fmt.Errorf("dropping %s: %w", c.where(db), err), c.password)
	}
	return nil
}
