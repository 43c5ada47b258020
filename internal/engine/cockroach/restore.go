package cockroach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// cleanupTimeout bounds dropping the scratch database after a restore.
const cleanupTimeout = 2 * time.Minute

// Restore checks the destination, reads the whole archive into a private
// temporary directory, and runs RESTORE against a read-only push session
// serving that directory. The database restored is the target's database,
// under the name opts.IntoDatabase when set.
//
// A destination holding tables is ErrNotEmpty unless opts.Clean. An
// existing destination is replaced only after the restore succeeded under
// a scratch name (see replace), and nothing is dropped before the archive
// has been read completely. CockroachDB has no database-level encoding or
// collation: opts.Database is nil for its backups and not consulted.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	into := c.database
	if opts.IntoDatabase != "" {
		into = opts.IntoDatabase
	}
	secrets := []string{c.password}
	if err := e.restore(ctx, c, r, into, opts.Clean, &secrets); err != nil {
		return tool.Redact(fmt.Errorf("restore into %s: %w", c.where(into), err), secrets...)
	}
	return nil
}

func (e *Engine) restore(ctx context.Context, c conn, r io.Reader, into string, clean bool, secrets *[]string) error {
	var listen standalone
	if e.Push == nil {
		var err error
		if listen, err = listenAddress(c.endpointURL); err != nil {
			return err
		}
	}
	pc, err := c.connect(ctx, maintenanceDB)
	if err != nil {
		return err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	exists, err := c.checkDestination(ctx, pc, into, clean)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp(e.TempDir, "coffer-cockroach-")
	if err != nil {
		return fmt.Errorf("directory for the backup's files: %w", err)
	}
	defer os.RemoveAll(dir)
	n, err := pushendpoint.ExtractTar(ctx, r, dir)
	if err != nil {
		return fmt.Errorf("reading the backup: %w", err)
	}
	if info, err := os.Stat(filepath.Join(dir, latestFile)); err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("the archive (%d entries) has no %s file: not a CockroachDB backup collection", n, latestFile)
	}

	files, err := pushendpoint.OpenDir(dir)
	if err != nil {
		return err
	}
	defer files.Close()
	s, err := e.openSession(ctx, listen, "cockroach restore of "+c.target, files)
	if err != nil {
		return err
	}
	defer s.close()
	*secrets = append(*secrets, s.token)
	if !exists {
		// CockroachDB removes what a failed RESTORE job restored, the
		// database it was creating included.
		return c.restoreInto(ctx, pc, s.url, into)
	}
	return e.replace(ctx, c, pc, s.url, into)
}

// replace restores over the existing database into, which RESTORE cannot
// do: it must be dropped first. So that a backup which does not restore
// never costs the destination, the restore is rehearsed first under a
// scratch name; only when that succeeded is into dropped and restored
// again. Should that second RESTORE fail, the scratch database, a complete
// restore, is kept and named in the error.
func (e *Engine) replace(ctx context.Context, c conn, pc *pgx.Conn, url, into string) error {
	scratch := scratchName(into)
	if err := c.restoreInto(ctx, pc, url, scratch); err != nil {
		return fmt.Errorf("rehearsing the restore in scratch database %q failed, %q was not touched: %w", scratch, into, err)
	}
	if err := c.drop(ctx, pc, into); err != nil {
		return fmt.Errorf("the restore succeeded in scratch database %q, which is kept for you, but %w", scratch, err)
	}
	if err := c.restoreInto(ctx, pc, url, into); err != nil {
		return fmt.Errorf("the restore succeeded in scratch database %q, but after %q was dropped restoring it again failed, "+
			"so %q does not exist now; %q holds the complete restore and is kept for you: %w", scratch, into, into, scratch, err)
	}
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := c.drop(cleanup, pc, scratch); err != nil {
		e.log().Warn("restore succeeded, but dropping its scratch database failed: drop it by hand",
			"database", scratch, "error", err)
	}
	return nil
}

// restoreInto runs RESTORE of the target's database, from the collection
// served at url, under the name into.
func (c conn) restoreInto(ctx context.Context, pc *pgx.Conn, url, into string) error {
	stmt, err := restoreStatement(c.database, url, into)
	if err != nil {
		return err
	}
	_, err = pc.Exec(ctx, stmt)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("RESTORE failed: %w", err)
	}
	return nil
}

func (c conn) drop(ctx context.Context, pc *pgx.Conn, db string) error {
	stmt, err := dropStatement(db)
	if err != nil {
		return err
	}
	if _, err := pc.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("dropping database %q failed: %w", db, err)
	}
	return nil
}

// scratchName is a fresh name for rehearsing a restore into db.
func scratchName(db string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return db + "_coffer_" + hex.EncodeToString(b)
}

// checkDestination reports whether database into exists, and refuses one
// that holds tables, views or sequences unless clean.
func (c conn) checkDestination(ctx context.Context, pc *pgx.Conn, into string, clean bool) (bool, error) {
	var n int
	err := pc.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", into).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking for database %q: %w", into, err)
	}
	if n == 0 || clean {
		return n > 0, nil
	}
	// information_schema shows the current database: ask from inside it.
	dc, err := c.connect(ctx, into)
	if err != nil {
		return false, fmt.Errorf("looking into database %q: %w", into, err)
	}
	defer dc.Close(context.WithoutCancel(ctx))
	var tables int
	err = dc.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_catalog = $1 AND table_schema NOT IN ('information_schema', 'pg_catalog', 'crdb_internal', 'pg_extension')`,
		into).Scan(&tables)
	if err != nil {
		return false, fmt.Errorf("listing the tables of database %q: %w", into, err)
	}
	if tables > 0 {
		return false, fmt.Errorf("database %q holds %d tables, views or sequences: %w", into, tables, engine.ErrNotEmpty)
	}
	return true, nil
}
