package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

const (
	// maintenanceDB is where CREATE DATABASE runs.
	maintenanceDB = "postgres"
	// sqlstate invalid_catalog_name: the database does not exist.
	codeNoDatabase = "3D000"
	// shownObjects is how many objects an ErrNotEmpty message lists.
	shownObjects = 5
	// cleanupTimeout bounds undoing a failed restore.
	cleanupTimeout = 2 * time.Minute
	// v13 added DROP DATABASE ... WITH (FORCE).
	v13 = 130000
)

// prepare makes db ready to receive a dump, changing nothing unless it
// creates the database: a missing one is created with the source's
// properties (created is then true); an existing one is refused when it
// holds objects and opts.Clean is not set, or when its properties differ
// from opts.Database and opts.IgnoreDatabaseProperties is not set.
//
// It also returns the server's version (server_version_num), which the
// restore needs and would otherwise connect again to ask. A database the
// runner has just created for this restore (opts.NewDatabase) is not
// looked at: only the version is asked.
func (c conn) prepare(ctx context.Context, db string, opts engine.RestoreOptions) (created bool, serverNum int, err error) {
	if opts.NewDatabase {
		serverNum, err = c.serverVersion(ctx)
		return false, serverNum, err
	}
	pc, err := c.connect(ctx, db)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeNoDatabase {
		return c.createDatabase(ctx, db, opts.Database)
	}
	if err != nil {
		return false, 0, err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	if serverNum, err = versionNum(ctx, pc); err != nil {
		return false, 0, err
	}
	if !opts.Clean {
		objects, total, err := userObjects(ctx, pc)
		if err != nil {
			return false, 0, err
		}
		if total > 0 {
			return false, 0, fmt.Errorf("database %q holds %d objects (%s): %w",
				db, total, strings.Join(objects, ", "), engine.ErrNotEmpty)
		}
	}
	if opts.Database == nil || opts.IgnoreDatabaseProperties {
		return false, serverNum, nil
	}
	got, err := databaseProperties(ctx, pc, db)
	if err != nil {
		return false, 0, err
	}
	return false, serverNum, checkProperties(db, opts.Database, got)
}

// createDatabase creates db from template0 with the properties p (nil: the
// server's defaults). template0 because a custom dump is meant to be
// restored into a database without the local additions template1 may have,
// and because only template0 may be copied with another encoding or locale.
func (c conn) createDatabase(ctx context.Context, db string, p *manifest.DatabaseProperties) (created bool, serverNum int, err error) {
	err = c.withMaintenance(ctx, func(pc *pgx.Conn) error {
		if serverNum, err = versionNum(ctx, pc); err != nil {
			return err
		}
		options, err := createOptions(p, serverNum)
		if err != nil {
			return fmt.Errorf("creating database %q: %w", db, err)
		}
		if _, err := pc.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" TEMPLATE template0"+options); err != nil {
			return fmt.Errorf("creating database %q: %w", db, err)
		}
		return nil
	})
	var connErr *connectError
	if errors.As(err, &connErr) {
		return false, 0, fmt.Errorf("database %q does not exist, and connecting to %q to create it failed: %w", db, maintenanceDB, err)
	}
	if err != nil {
		return false, 0, err
	}
	return true, serverNum, nil
}

// serverVersion is the server's server_version_num, asked through the
// maintenance database.
func (c conn) serverVersion(ctx context.Context) (num int, err error) {
	err = c.withMaintenance(ctx, func(pc *pgx.Conn) error {
		num, err = versionNum(ctx, pc)
		return err
	})
	return num, err
}

// dropCreated drops db, which this restore created and failed to fill. It
// runs even when ctx has ended (a cancelled restore is a failed one), and
// forces out connections: pg_restore's may not have gone yet.
func (c conn) dropCreated(ctx context.Context, db string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	return c.withMaintenance(ctx, func(pc *pgx.Conn) error {
		num, err := versionNum(ctx, pc)
		if err != nil {
			return err
		}
		stmt := "DROP DATABASE IF EXISTS " + pgx.Identifier{db}.Sanitize()
		if num >= v13 {
			stmt += " WITH (FORCE)"
		}
		_, err = pc.Exec(ctx, stmt)
		return err
	})
}

// userObjectsSQL lists what a restore could collide with: relations,
// routines, standalone types and schemas outside the system schemas, except
// what extensions own (an extension in template1 is in every database).
const userObjectsSQL = `
WITH userns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%'
), ext AS (
  SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), objects AS (
  SELECT format('%s %I.%I', CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
           WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'table' END, n.nspname, c.relname) AS obj
  FROM pg_class c JOIN userns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_class'::regclass AND objid = c.oid)
  UNION ALL
  SELECT format('routine %I.%I', n.nspname, p.proname)
  FROM pg_proc p JOIN userns n ON n.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_proc'::regclass AND objid = p.oid)
  UNION ALL
  SELECT format('type %I.%I', n.nspname, t.typname)
  FROM pg_type t JOIN userns n ON n.oid = t.typnamespace
  WHERE (t.typtype IN ('e', 'd', 'r')
         OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
    AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_type'::regclass AND objid = t.oid)
  UNION ALL
  SELECT format('schema %I', n.nspname) FROM userns n
  WHERE n.nspname <> 'public'
    AND NOT EXISTS (SELECT 1 FROM ext WHERE classid = 'pg_namespace'::regclass AND objid = n.oid)
)
SELECT obj, count(*) OVER () FROM objects ORDER BY obj LIMIT $1`

// userObjects returns the first few user objects of the connected database
// and how many there are in all.
func userObjects(ctx context.Context, pc *pgx.Conn) ([]string, int, error) {
	rows, err := pc.Query(ctx, userObjectsSQL, shownObjects)
	if err != nil {
		return nil, 0, fmt.Errorf("listing objects: %w", err)
	}
	var names []string
	var total int
	for rows.Next() {
		var name string
		if err := rows.Scan(&name, &total); err != nil {
			return nil, 0, fmt.Errorf("listing objects: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing objects: %w", err)
	}
	return names, total, nil
}
