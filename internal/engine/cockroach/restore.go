package cockroach

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// Restore checks the destination, reads the whole archive into a private
// temporary directory, drops the destination when it exists (empty, or
// opts.Clean), and runs RESTORE against a read-only push session serving
// that directory. The database restored is the target's database, under the
// name opts.IntoDatabase when set.
//
// A destination holding tables is ErrNotEmpty unless opts.Clean. Nothing is
// dropped before the archive has been read completely.
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

	if exists {
		stmt, err := dropStatement(into)
		if err != nil {
			return err
		}
		if _, err := pc.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("dropping database %q before restoring it: %w", into, err)
		}
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
	stmt, err := restoreStatement(c.database, s.url, into)
	if err != nil {
		return err
	}
	_, err = pc.Exec(ctx, stmt)
	s.close()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("RESTORE failed: %w", err)
	}
	return nil
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
