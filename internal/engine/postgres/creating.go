package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/manifest"
)

var (
	_ engine.Creating = (*Engine)(nil)
	_ engine.Renaming = (*Engine)(nil)
)

// sqlstate duplicate_database: CREATE DATABASE of an existing name.
const codeDuplicateDatabase = "42P04"

// RestoreDatabase is opts.IntoDatabase, or the target's database.
func (*Engine) RestoreDatabase(t engine.Target, opts engine.RestoreOptions) (string, error) {
	c, err := resolve(t)
	if err != nil {
		return "", err
	}
	return opts.DestinationDatabase(c.database), nil
}

// DatabaseExists looks db up in the server's catalog, through the
// maintenance database; where that cannot be connected to (a user allowed
// only into their own database), it connects to db, whose "does not exist"
// means it does not. Any other failure is an error.
func (*Engine) DatabaseExists(ctx context.Context, t engine.Target, db string) (bool, error) {
	c, err := resolve(t)
	if err != nil {
		return false, err
	}
	var exists bool
	lookup := func(pc *pgx.Conn) error {
		return pc.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists)
	}
	var connErr *connectError
	switch err := c.withMaintenance(ctx, lookup); {
	case err == nil:
		return exists, nil
	case !errors.As(err, &connErr):
		return false, tool.Redact(fmt.Errorf("%s: looking the database up: %w", c.where(db), err), c.password)
	}
	pc, err := c.connect(ctx, db)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeNoDatabase {
		return false, nil
	}
	if err != nil {
		return false, tool.Redact(fmt.Errorf("%s: %w", c.where(db), err), c.password)
	}
	_ = pc.Close(context.WithoutCancel(ctx))
	return true, nil
}

// CreateDatabase creates db from template0 with p's encoding and locale, as
// a restore creates a missing destination.
func (*Engine) CreateDatabase(ctx context.Context, t engine.Target, db string, p *manifest.DatabaseProperties) (bool, error) {
	c, err := resolve(t)
	if err != nil {
		return false, err
	}
	if restore, err := findClient("pg_restore"); err == nil {
		probeMajor(restore) // a database is created to be restored into: pg_restore's version is asked meanwhile
	}
	created, _, err := c.createDatabase(ctx, db, p)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeDuplicateDatabase {
		return false, nil
	}
	if err != nil {
		return false, tool.Redact(fmt.Errorf("%s: %w", c.where(db), err), c.password)
	}
	return created, nil
}

// RenameDatabase renames from to to (ALTER DATABASE ... RENAME TO), which
// fails when to exists or when anyone is connected to from. It first waits
// for the sessions of from to end (a restore's pg_restore has just
// disconnected, and its server process may still be exiting): the server
// would otherwise find it there and sleep 100 ms before looking again.
func (*Engine) RenameDatabase(ctx context.Context, t engine.Target, from, to string) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	err = c.withMaintenance(ctx, func(pc *pgx.Conn) error {
		if err := waitUnused(ctx, pc, from); err != nil {
			return err
		}
		_, err := pc.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{from}.Sanitize()+" RENAME TO "+pgx.Identifier{to}.Sanitize())
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeDuplicateDatabase {
		return fmt.Errorf("renaming database %q to %q: %w", from, to, engine.ErrDatabaseExists)
	}
	if err != nil {
		return tool.Redact(fmt.Errorf("renaming database %q to %q: %w", from, to, err), c.password)
	}
	return nil
}

// unusedWait bounds waitUnused: past it, the statement that needs the
// database to itself runs anyway and fails, after the server's own wait,
// if someone is still there.
const unusedWait = time.Second

// waitUnused waits, for up to unusedWait, until no session but pc's is
// connected to db.
func waitUnused(ctx context.Context, pc *pgx.Conn, db string) error {
	deadline := time.Now().Add(unusedWait)
	for {
		var used bool
		err := pc.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid())", db).Scan(&used)
		if err != nil {
			return fmt.Errorf("asking who uses database %q: %w", db, err)
		}
		if !used || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// idleDatabasesSQL lists the databases named $1 followed by exactly $2
// lowercase hex digits that no session is connected to.
const idleDatabasesSQL = `SELECT datname FROM pg_database d
WHERE left(datname, length($1)) = $1
  AND substr(datname, length($1) + 1) ~ ('^[0-9a-f]{' || $2::int || '}$')
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
ORDER BY datname`

// DropIdle drops the databases named prefix and digits hex digits that no
// session is connected to, without forcing anyone out: one a session
// connects to meanwhile makes DROP DATABASE fail, and is left.
func (*Engine) DropIdle(ctx context.Context, t engine.Target, prefix string, digits int) ([]string, error) {
	c, err := resolve(t)
	if err != nil {
		return nil, err
	}
	var dropped []string
	err = c.withMaintenance(ctx, func(pc *pgx.Conn) error {
		rows, err := pc.Query(ctx, idleDatabasesSQL, prefix, digits)
		if err != nil {
			return fmt.Errorf("listing databases named %s…: %w", prefix, err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("listing databases named %s…: %w", prefix, err)
		}
		for _, name := range names {
			if _, err := pc.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
				return fmt.Errorf("dropping database %q: %w", name, err)
			}
			dropped = append(dropped, name)
		}
		return nil
	})
	return dropped, err
}

// connectError is a failure to connect, as opposed to one of a statement.
type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// connectMaintenance connects to the maintenance database, where databases
// are created, renamed and dropped; its error (a *connectError) names the
// server, without the password.
func (c conn) connectMaintenance(ctx context.Context) (*pgx.Conn, error) {
	pc, err := c.connect(ctx, maintenanceDB)
	if err != nil {
		return nil, &connectError{tool.Redact(fmt.Errorf("%s: %w", c.where(maintenanceDB), err), c.password)}
	}
	return pc, nil
}
