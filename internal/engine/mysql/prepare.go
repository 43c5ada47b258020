package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
)

// shownObjects is how many objects an ErrNotEmpty message lists.
const shownObjects = 5

// prepare makes db ready to receive a dump: created when missing, and
// otherwise checked for objects, which only opts.Clean may overwrite.
func (c conn) prepare(ctx context.Context, db string, clean bool) error {
	pool, err := c.open()
	if err != nil {
		return err
	}
	defer pool.Close()
	var found string
	err = pool.QueryRowContext(ctx,
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&found)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := pool.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(db)); err != nil {
			return fmt.Errorf("creating database %q: %w", db, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("connecting: %w", err)
	case clean:
		return nil
	}
	objects, err := userObjects(ctx, pool, db)
	if err != nil {
		return err
	}
	if len(objects) > 0 {
		shown := objects[:min(len(objects), shownObjects)]
		return fmt.Errorf("database %q holds %d objects (%s): %w",
			db, len(objects), strings.Join(shown, ", "), engine.ErrNotEmpty)
	}
	return nil
}

const userObjectsSQL = `
SELECT CONCAT(LOWER(TABLE_TYPE), ' ', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?
UNION ALL
SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
UNION ALL
SELECT CONCAT('event ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?
ORDER BY 1`

// userObjects lists the tables, views, sequences, routines and events of db
// (triggers belong to tables).
func userObjects(ctx context.Context, pool *sql.DB, db string) ([]string, error) {
	rows, err := pool.QueryContext(ctx, userObjectsSQL, db, db, db)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing objects: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	return names, nil
}
