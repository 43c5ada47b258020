package mysql

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore creates the destination database when it is missing (with the
// source's character set and collation when opts.Database has them),
// refuses a destination that holds objects unless opts.Clean or whose
// properties differ from the source's unless opts.IgnoreDatabaseProperties,
// and pipes r into the mariadb client, which stops at the first failing
// statement. The dump drops each of its objects before creating it (DROP
// ... IF EXISTS), so with opts.Clean those are replaced; objects that are
// not in the dump are left alone, as with PostgreSQL.
//
// MariaDB commits every DDL statement on its own, so a restore cannot be
// one transaction. Instead a failure is undone where that is possible, and
// an occupied destination is only touched once the restore has succeeded
// in full in a scratch database (see rehearse): a database the restore
// created is dropped again, an empty one is emptied again.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	db := opts.DestinationDatabase(c.database)
	if err := e.restore(ctx, c, db, r, opts); err != nil {
		return tool.Redact(fmt.Errorf("restore into %s: %w", c.where(db), err), c.password)
	}
	return nil
}

var _ engine.Atomic = (*Engine)(nil)

// RestoresAtomically is true: a restore that fails, its input included,
// drops the database it created, empties again one that was empty, and
// replaces what an occupied one holds only after the whole dump restored
// in a scratch database (rehearse).
func (*Engine) RestoresAtomically(engine.Target, engine.RestoreOptions) bool { return true }

func (e *Engine) restore(ctx context.Context, c conn, db string, r io.Reader, opts engine.RestoreOptions) error {
	client, err := tool.Find(clientPackage, "mariadb", "mysql")
	if err != nil {
		return err
	}
	pool, err := c.open()
	if err != nil {
		return err
	}
	defer pool.Close()
	dest, err := c.prepare(ctx, pool, db, opts)
	if err != nil {
		return err
	}
	switch dest {
	case created:
		return undoing(ctx, c.apply(ctx, client, db, r),
			fmt.Sprintf("database %q, which this restore created, was dropped again", db),
			fmt.Sprintf("dropping database %q, which this restore created", db),
			func(ctx context.Context) error { return dropDatabase(ctx, pool, db) })
	case empty:
		return undoing(ctx, c.apply(ctx, client, db, r),
			fmt.Sprintf("database %q, empty before, was emptied again", db),
			fmt.Sprintf("emptying database %q again", db),
			func(ctx context.Context) error { return emptyDatabase(ctx, pool, db) })
	}
	return e.rehearse(ctx, c, pool, client, db, r)
}

// apply pipes r into the client, connected to db.
func (c conn) apply(ctx context.Context, client, db string, r io.Reader) error {
	s, err := c.newSession(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	// --binary-mode: the dump is replayed byte for byte (no \r\n
	// translation, NUL allowed); DELIMITER still works.
	cmd := s.cmd(c, client, []string{
		"--batch", "--binary-mode", "--default-character-set=utf8mb4", maxPacket,
		"--database=" + db,
	})
	cmd.Stdin = r
	cmd.Stdout = io.Discard
	return cmd.Run(ctx)
}
