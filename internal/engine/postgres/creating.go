package postgres

import (
	"context"
	"errors"
	"fmt"

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

// DatabaseExists connects to db: the server's "does not exist" means it
// does not; any other failure is an error.
func (*Engine) DatabaseExists(ctx context.Context, t engine.Target, db string) (bool, error) {
	c, err := resolve(t)
	if err != nil {
		return false, err
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
// fails when to exists or when anyone is connected to from.
func (*Engine) RenameDatabase(ctx context.Context, t engine.Target, from, to string) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	pc, err := c.connectMaintenance(ctx)
	if err != nil {
		return err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	_, err = pc.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{from}.Sanitize()+" RENAME TO "+pgx.Identifier{to}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeDuplicateDatabase {
		return fmt.Errorf("renaming database %q to %q: %w", from, to, engine.ErrDatabaseExists)
	}
	if err != nil {
		return tool.Redact(fmt.Errorf("renaming database %q to %q: %w", from, to, err), c.password)
	}
	return nil
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
	pc, err := c.connectMaintenance(ctx)
	if err != nil {
		return nil, err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	rows, err := pc.Query(ctx, idleDatabasesSQL, prefix, digits)
	if err != nil {
		return nil, fmt.Errorf("listing databases named %s…: %w", prefix, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing databases named %s…: %w", prefix, err)
	}
	var dropped []string
	for _, name := range names {
		if _, err := pc.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, fmt.Errorf("dropping database %q: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}

// connectMaintenance connects to the maintenance database, where databases
// are renamed and dropped; its error names the server, without the password.
func (c conn) connectMaintenance(ctx context.Context) (*pgx.Conn, error) {
	pc, err := c.connect(ctx, maintenanceDB)
	if err != nil {
		return nil, tool.Redact(fmt.Errorf("%s: %w", c.where(maintenanceDB), err), c.password)
	}
	return pc, nil
}
