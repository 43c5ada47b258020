package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// errNotNew: the destination database, missing when the restore started,
// existed by the time it was to be created; nothing was changed, and the
// target is restored as into any existing database (verified first); a
// restore test's scratch database is left alone.
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

// newDatabase is a destination database that did not exist when the
// restore began, on a server whose engine can create it: a normal
// restore's new destination, or a restore test's scratch database.
type newDatabase struct {
	engine engine.Creating
	target engine.Target
	name   string
	// source are the backed-up database's properties it is created with.
	source *manifest.DatabaseProperties
}

// restoreNew restores into nd, which did not exist, reading the backup once
// through read: the database is created when the first bytes have been
// decrypted (so a wrong identity touches nothing), restore streams the dump
// into the engine, and read's checks run as it goes: per chunk in format 2,
// per age chunk and, at the end of the stream, on the whole object's sizes
// and SHA-256 in format 1. Whatever fails, an integrity check, a missing
// chunk, the engine or a cancelled restore, the database this call created
// is dropped again. errNotNew, having changed nothing, when it existed
// after all. made reports whether the database may be there because of
// this call: CREATE DATABASE was sent and did not find it existing (a
// failed one may still have created it: a cancelled restore's, say). So
// made is false when nothing of this call's can be on the server.
func (r *Runner) restoreNew(ctx context.Context, log *slog.Logger, nd newDatabase,
	read func(pipeline.ConsumeFunc) error, restore func(io.Reader) error) (made bool, err error) {
	created := false
	err = read(func(rd io.Reader) error {
		made = true
		ok, err := nd.engine.CreateDatabase(ctx, nd.target, nd.name, nd.source)
		if err != nil {
			return err
		}
		if !ok {
			made = false
			return errNotNew
		}
		created = true
		log.Info(fmt.Sprintf("verifying while restoring into new database %s", nd.name), "database", nd.name)
		return restore(rd)
	})
	if !created || err == nil {
		return made, err
	}
	return made, r.dropNew(ctx, log, nd, err)
}

// dropNew drops the database a failed restoreNew created, even when ctx
// has ended, and says so in the restore's error.
func (r *Runner) dropNew(ctx context.Context, log *slog.Logger, nd newDatabase, err error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if derr := nd.engine.DropDatabase(dctx, nd.target, nd.name); derr != nil {
		log.Error("dropping the database this failed restore created failed", "database", nd.name, "error", derr)
		return fmt.Errorf("%w (dropping database %q, which this restore created, failed too: %v)", err, nd.name, derr)
	}
	log.Info("dropped the database this failed restore created", "database", nd.name)
	return fmt.Errorf("%w (database %q, which this restore created, was dropped again)", err, nd.name)
}
