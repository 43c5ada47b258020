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

// destination is what prepare found, or made, where the dump goes; it
// decides how a failed restore is undone.
type destination int

const (
	// created: the restore created the database; a failure drops it.
	created destination = iota
	// empty: the database existed without objects; a failure empties it.
	empty
	// occupied: the database holds objects that opts.Clean lets the dump
	// replace; the restore is rehearsed in a scratch database first.
	occupied
)

// prepare makes db ready to receive a dump, changing nothing unless it
// creates the database: a missing one is created with the source's
// character set and collation; an existing one is refused when it holds
// objects and opts.Clean is not set, or when its properties differ from
// opts.Database and opts.IgnoreDatabaseProperties is not set.
func (c conn) prepare(ctx context.Context, pool *sql.DB, db string, opts engine.RestoreOptions) (destination, error) {
	props, err := schemaProperties(ctx, pool, db)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return created, createDatabase(ctx, pool, db, opts.Database, "")
	case err != nil:
		return 0, fmt.Errorf("connecting: %w", err)
	}
	objects, err := userObjects(ctx, pool, db)
	if err != nil {
		return 0, err
	}
	if len(objects) > 0 && !opts.Clean {
		var shown []string
		for _, o := range objects[:min(len(objects), shownObjects)] {
			shown = append(shown, o.String())
		}
		return 0, fmt.Errorf("database %q holds %d objects (%s): %w",
			db, len(objects), strings.Join(shown, ", "), engine.ErrNotEmpty)
	}
	if opts.Database != nil && !opts.IgnoreDatabaseProperties {
		if err := checkProperties(db, opts.Database, props); err != nil {
			return 0, err
		}
	}
	if len(objects) == 0 {
		return empty, nil
	}
	return occupied, nil
}

// object is a table, view, sequence, routine or event of a database.
type object struct{ kind, name string }

func (o object) String() string { return o.kind + " " + o.name }

const userObjectsSQL = `
SELECT LOWER(TABLE_TYPE), TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?
UNION ALL
SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?
UNION ALL
SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?
ORDER BY 1, 2`

// userObjects lists the tables, views, sequences, routines and events of db
// (triggers belong to tables).
func userObjects(ctx context.Context, pool *sql.DB, db string) ([]object, error) {
	rows, err := pool.QueryContext(ctx, userObjectsSQL, db, db, db)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	defer rows.Close()
	var objects []object
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.kind, &o.name); err != nil {
			return nil, fmt.Errorf("listing objects: %w", err)
		}
		objects = append(objects, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	return objects, nil
}
