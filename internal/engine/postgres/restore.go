package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore creates the destination database when it is missing, refuses a
// destination that holds objects unless opts.Clean, and streams r into
// `pg_restore --exit-on-error`, so the first failing statement fails the
// restore. With opts.Clean pg_restore drops each object of the dump before
// creating it again (--clean --if-exists); objects that are not in the dump
// are left alone.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	db := c.database
	if opts.IntoDatabase != "" {
		db = opts.IntoDatabase
	}
	if err := c.restore(ctx, db, r, opts.Clean); err != nil {
		return tool.Redact(fmt.Errorf("restore into %s: %w", c.where(db), err), c.password)
	}
	return nil
}

func (c conn) restore(ctx context.Context, db string, r io.Reader, clean bool) error {
	restore, err := tool.Find(clientPackage, "pg_restore")
	if err != nil {
		return err
	}
	if err := c.prepare(ctx, db, clean); err != nil {
		return err
	}
	s, err := c.newSession()
	if err != nil {
		return err
	}
	defer s.close()
	args := []string{"--exit-on-error", "--no-password", "--dbname=" + c.conninfo(db)}
	if clean {
		args = append(args, "--clean", "--if-exists")
	}
	cmd := s.cmd(c, restore, args)
	cmd.Stdin = r
	return cmd.Run(ctx)
}
