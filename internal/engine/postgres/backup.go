package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// Backup streams `pg_dump --format=custom --compress=0` of the target's
// database to w. The server is asked for its version first, which also
// turns wrong credentials into a clear error before any byte is written.
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
	dump, err := findClient("pg_dump")
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
	s, err := c.newSession()
	if err != nil {
		return engine.Result{}, err
	}
	defer s.close()
	cmd := s.cmd(c, dump, []string{
		"--format=custom", "--compress=0", "--no-password",
		"--dbname=" + c.conninfo(c.database),
	})
	cmd.Stdout = w
	if err := cmd.Run(ctx); err != nil {
		return engine.Result{}, err
	}
	return res, nil
}

// describe returns the server_version the server reports at connection
// time, and the properties of the target's database, which a restore needs
// to create it again as it was.
func (c conn) describe(ctx context.Context) (string, *manifest.DatabaseProperties, error) {
	pc, err := c.connect(ctx, c.database)
	if err != nil {
		return "", nil, err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	props, err := databaseProperties(ctx, pc, c.database)
	if err != nil {
		return "", nil, err
	}
	return pc.PgConn().ParameterStatus("server_version"), props, nil
}
