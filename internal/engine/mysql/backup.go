package mysql

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// maxPacket lets single rows up to this size through the client tools; the
// server's max_allowed_packet still applies on restore.
const maxPacket = "--max-allowed-packet=1G"

// Backup streams a mariadb-dump of the target's database to w. The server
// is asked for its version first, which also turns wrong credentials into a
// clear error before any byte is written.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	c, err := resolve(t)
	if err != nil {
		return engine.Result{}, err
	}
	res, err := c.backup(ctx, w)
	if err != nil {
		return engine.Result{}, tool.Redact(fmt.Errorf("backup of %s: %w", c.where(c.database), err), c.password)
	}
	return res, nil
}

func (c conn) backup(ctx context.Context, w io.Writer) (engine.Result, error) {
	dump, err := tool.Find(clientPackage, "mariadb-dump", "mysqldump")
	if err != nil {
		return engine.Result{}, err
	}
	var res engine.Result
	if res.ServerVersion, res.Database, err = c.describe(ctx); err != nil {
		return engine.Result{}, err
	}
	if res.ToolVersion, err = tool.Version(ctx, dump); err != nil {
		return engine.Result{}, err
	}
	s, err := c.newSession(ctx)
	if err != nil {
		return engine.Result{}, err
	}
	defer s.close()
	cmd := s.cmd(c, dump, []string{
		"--single-transaction", "--quick", "--routines", "--triggers", "--events",
		"--hex-blob", "--default-character-set=utf8mb4", "--no-tablespaces", maxPacket,
		"--", c.database,
	})
	cmd.Stdout = w
	if err := cmd.Run(ctx); err != nil {
		return engine.Result{}, err
	}
	return res, nil
}
