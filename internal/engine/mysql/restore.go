package mysql

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// Restore creates the destination database when it is missing, refuses a
// destination that holds objects unless opts.Clean, and pipes r into the
// mariadb client, which stops at the first failing statement. The dump
// drops each of its objects before creating it (DROP ... IF EXISTS), so with
// opts.Clean those are replaced; objects that are not in the dump are left
// alone, as with PostgreSQL.
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
	client, err := tool.Find(clientPackage, "mariadb", "mysql")
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
