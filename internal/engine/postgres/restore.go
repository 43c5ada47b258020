package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore creates the destination database when it is missing (with the
// source's encoding and locale when opts.Database has them), refuses a
// destination that holds objects unless opts.Clean or whose properties
// differ from the source's unless opts.IgnoreDatabaseProperties, and streams
// r into `pg_restore --single-transaction --exit-on-error`.
//
// One transaction makes the restore all or nothing: the first failing
// statement, a broken stream or a lost connection rolls everything back, so
// an existing destination is left exactly as it was, and a database this
// restore created is dropped again. With opts.Clean pg_restore drops each
// object of the dump before creating it again (--clean --if-exists), in the
// same transaction; objects that are not in the dump are left alone.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	db := c.database
	if opts.IntoDatabase != "" {
		db = opts.IntoDatabase
	}
	if err := c.restore(ctx, db, r, opts); err != nil {
		return tool.Redact(fmt.Errorf("restore into %s: %w", c.where(db), err), c.password)
	}
	return nil
}

func (c conn) restore(ctx context.Context, db string, r io.Reader, opts engine.RestoreOptions) error {
	restore, err := tool.Find(clientPackage, "pg_restore")
	if err != nil {
		return err
	}
	created, err := c.prepare(ctx, db, opts)
	if err != nil {
		return err
	}
	err = c.pgRestore(ctx, restore, db, r, opts)
	if err == nil || !created {
		return err
	}
	if dropErr := c.dropCreated(ctx, db); dropErr != nil {
		return fmt.Errorf("%w (dropping database %q, which this restore created, failed too: %v)", err, db, dropErr)
	}
	return fmt.Errorf("%w (database %q, which this restore created, was dropped again)", err, db)
}

func (c conn) pgRestore(ctx context.Context, restore, db string, r io.Reader, opts engine.RestoreOptions) error {
	s, err := c.newSession()
	if err != nil {
		return err
	}
	defer s.close()
	args := []string{"--single-transaction", "--exit-on-error", "--no-password", "--dbname=" + c.conninfo(db)}
	if opts.Clean {
		args = append(args, "--clean", "--if-exists")
	}
	if opts.IgnoreOwnership {
		args = append(args, "--no-owner", "--no-privileges")
	}
	cmd := s.cmd(c, restore, args)
	cmd.Stdin = r
	return cmd.Run(ctx)
}
