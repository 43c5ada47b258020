package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/manifest"
)

var _ engine.Creating = (*Engine)(nil)

// errDatabaseExists is ER_DB_CREATE_EXISTS: CREATE DATABASE of an existing
// name.
const errDatabaseExists = 1007

// RestoreDatabase is opts.IntoDatabase, or the target's database.
func (*Engine) RestoreDatabase(t engine.Target, opts engine.RestoreOptions) (string, error) {
	c, err := resolve(t)
	if err != nil {
		return "", err
	}
	return opts.DestinationDatabase(c.database), nil
}

// DatabaseExists looks db up in information_schema, as Restore does before
// it creates a missing destination.
func (*Engine) DatabaseExists(ctx context.Context, t engine.Target, db string) (bool, error) {
	exists := false
	err := onServer(t, func(c conn, pool *sql.DB) error {
		_, err := schemaProperties(ctx, pool, db)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return tool.Redact(fmt.Errorf("%s: connecting: %w", c.where(db), err), c.password)
		}
		exists = true
		return nil
	})
	return exists, err
}

// CreateDatabase creates db with p's character set and collation, as a
// restore creates a missing destination, marked unfinished where the server
// keeps the mark (engine.Unfinished, unfinished.go).
func (*Engine) CreateDatabase(ctx context.Context, t engine.Target, db string, p *manifest.DatabaseProperties) (bool, error) {
	created := false
	err := onServer(t, func(c conn, pool *sql.DB) error {
		marks, err := keepsMark(ctx, pool)
		if err != nil {
			return tool.Redact(fmt.Errorf("%s: connecting: %w", c.where(db), err), c.password)
		}
		comment := ""
		if marks {
			comment = unfinishedMark
		}
		err = createDatabase(ctx, pool, db, p, comment)
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && myErr.Number == errDatabaseExists {
			return nil
		}
		if err != nil {
			return tool.Redact(fmt.Errorf("%s: %w", c.where(db), err), c.password)
		}
		created = true
		return nil
	})
	return created, err
}

// onServer resolves t and runs f with a connection pool to its server,
// closed when f returns.
func onServer(t engine.Target, f func(c conn, pool *sql.DB) error) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	pool, err := c.open()
	if err != nil {
		return err
	}
	defer pool.Close()
	return f(c, pool)
}
