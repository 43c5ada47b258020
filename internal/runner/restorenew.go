package runner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
)

// errNotNew: the destination database, missing when the restore started,
// existed by the time it was to be created; nothing was changed, and the
// target is restored as into any existing database (verified first).
var errNotNew = errors.New("the destination database exists now")

// findNewDatabases marks the steps whose destination is a database that
// does not exist yet and whose engine can create it (engine.Creating):
// those are checked while they are restored instead of read twice. A
// destination that cannot be looked up keeps the verification pass; the
// restore itself then reports what is wrong with it.
func (r *Runner) findNewDatabases(ctx context.Context, plan []restoreStep, req RestoreRequest) {
	for i, p := range plan {
		cr, ok := p.engine.(engine.Creating)
		if !ok {
			continue
		}
		db, err := cr.RestoreDatabase(p.target, engine.RestoreOptions{IntoDatabase: req.IntoDatabase})
		if err != nil {
			continue
		}
		exists, err := cr.DatabaseExists(ctx, p.target, db)
		if err != nil {
			r.opts.Log.Debug("cannot tell whether the destination database exists: verifying first",
				"target", p.rec.Name, "database", db, "error", err)
			continue
		}
		if !exists {
			plan[i].newDB = db
		}
	}
}

// restoreNew restores a target into p.newDB, which did not exist, reading
// the backup once: the database is created when the first bytes have been
// decrypted (so a wrong identity touches nothing), the dump streams into
// the engine, and the pipeline's checks run as it goes: per chunk in format
// 2, per age chunk and, at the end of the stream, on the whole object's
// sizes and SHA-256 in format 1. Whatever fails, an integrity check, a
// missing chunk, the engine or a cancelled restore, the database this
// restore created is dropped again. errNotNew when it existed after all.
func (r *Runner) restoreNew(ctx context.Context, store storage.Store, m *manifest.Manifest, p restoreStep,
	ids []age.Identity, opts engine.RestoreOptions, plain func(io.Reader) io.Reader) error {
	cr := p.engine.(engine.Creating)
	db := p.newDB
	created := false
	err := r.readFrom(ctx, store, m, p.rec, ids, func(rd io.Reader) error {
		ok, err := cr.CreateDatabase(ctx, p.target, db, p.rec.Database)
		if err != nil {
			return err
		}
		if !ok {
			return errNotNew
		}
		created = true
		r.opts.Log.Info(fmt.Sprintf("verifying while restoring into new database %s", db),
			"backup", m.ID, "target", p.rec.Name, "database", db)
		// Created just now with the source's properties: nothing to compare.
		opts.IgnoreDatabaseProperties = true
		return p.engine.Restore(ctx, p.target, plain(rd), opts)
	})
	if !created {
		if errors.Is(err, errNotNew) {
			return errNotNew
		}
		return err
	}
	if err == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if derr := cr.DropDatabase(dctx, p.target, db); derr != nil {
		r.opts.Log.Error("dropping the database this failed restore created failed", "backup", m.ID,
			"target", p.rec.Name, "database", db, "error", derr)
		return fmt.Errorf("%w (dropping database %q, which this restore created, failed too: %v)", err, db, derr)
	}
	r.opts.Log.Info("dropped the database this failed restore created", "backup", m.ID, "target", p.rec.Name, "database", db)
	return fmt.Errorf("%w (database %q, which this restore created, was dropped again)", err, db)
}
