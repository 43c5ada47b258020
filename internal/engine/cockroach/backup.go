package cockroach

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// latestFile is what BACKUP INTO writes last at the collection's root over
// HTTP: the path of the newest backup. RESTORE FROM LATEST reads it.
const latestFile = "LATEST"

// Backup runs BACKUP into a push session and streams the files CockroachDB
// pushes to w as one tar archive. It fails when BACKUP fails, when writing
// to w fails (then CockroachDB's PUTs fail too), and when the archive lacks
// the LATEST file a restore starts from.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	c, err := resolve(t)
	if err != nil {
		return engine.Result{}, err
	}
	secrets := []string{c.password}
	res, err := e.backup(ctx, c, w, &secrets)
	if err != nil {
		return engine.Result{}, tool.Redact(fmt.Errorf("backup of %s: %w", c.where(c.database), err), secrets...)
	}
	return res, nil
}

// backup adds the session token to secrets as soon as it exists.
func (e *Engine) backup(ctx context.Context, c conn, w io.Writer, secrets *[]string) (engine.Result, error) {
	var listen standalone
	if e.Push == nil {
		var err error
		if listen, err = listenAddress(c.endpointURL); err != nil {
			return engine.Result{}, err
		}
	}
	pc, err := c.connect(ctx, c.database)
	if err != nil {
		return engine.Result{}, err
	}
	defer pc.Close(context.WithoutCancel(ctx))
	version, err := serverVersion(ctx, pc)
	if err != nil {
		return engine.Result{}, err
	}

	sink := pushendpoint.NewTarSink(w, pushendpoint.TarSinkOptions{TempDir: e.TempDir})
	s, err := e.openSession(ctx, listen, "cockroach backup of "+c.target, sink)
	if err != nil {
		return engine.Result{}, err
	}
	defer s.close()
	*secrets = append(*secrets, s.token)
	stmt, err := backupStatement(c.database, s.url)
	if err != nil {
		return engine.Result{}, err
	}
	_, execErr := pc.Exec(ctx, stmt)
	s.close() // CockroachDB is done pushing: nothing may touch the sink now

	switch {
	case sink.Err() != nil:
		// The stream broke: CockroachDB's PUTs failed because of it.
		return engine.Result{}, fmt.Errorf("writing the backup stream: %w", sink.Err())
	case ctx.Err() != nil:
		return engine.Result{}, ctx.Err()
	case execErr != nil:
		return engine.Result{}, fmt.Errorf("BACKUP failed: %w", execErr)
	case s.Err() != nil:
		return engine.Result{}, fmt.Errorf("BACKUP succeeded, but storing a file it pushed failed: %w", s.Err())
	}
	if _, err := sink.Open(latestFile); err != nil && !errors.Is(err, pushendpoint.ErrGone) {
		return engine.Result{}, fmt.Errorf("BACKUP succeeded but pushed no %s file (%d files): the archive could not be restored",
			latestFile, sink.Stats().Files)
	}
	if err := sink.Close(); err != nil {
		return engine.Result{}, fmt.Errorf("writing the backup stream: %w", err)
	}
	return engine.Result{ServerVersion: version, ToolVersion: toolVersion()}, nil
}
