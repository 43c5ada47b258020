package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"

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
			continue
		}
		if u, ok := p.engine.(engine.Unfinished); ok {
			if unfinished, err := u.IsUnfinished(ctx, p.target, db); err == nil && unfinished {
				r.opts.Log.Info("the destination database is what an interrupted restore left unfinished: it is dropped and restored anew",
					"target", p.rec.Name, "database", db)
				plan[i].newDB, plan[i].unfinished = db, true
			}
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
	// staged restores under a staging name (stagingName) and renames the
	// database to name once the restore and its checks succeeded, where the
	// engine can (engine.Renaming): a restore killed halfway then leaves no
	// half-filled database under the name asked for. A restore test's
	// scratch database is a throwaway name already.
	staged bool
	// unfinished: name exists, left unfinished by an interrupted restore
	// (engine.Unfinished); it is dropped before the database is created
	// again, once the first bytes have been decrypted.
	unfinished bool
}

// restoreNew restores into nd, which did not exist, reading the backup once
// through read (twice when the engine's one transaction ran out of locks:
// again, in many transactions, after calling again): the database is
// created when the first bytes have been decrypted (so a wrong identity
// touches nothing), restore streams the dump
// into the engine (into the database it is given: nd's, or its staging
// name), and read's checks run as it goes: per chunk in format 2, per age
// chunk and, at the end of the stream, on the whole object's sizes and
// SHA-256 in format 1. Whatever fails, an integrity check, a missing chunk,
// the engine, the rename or a cancelled restore, the database this call
// created is dropped again. errNotNew, having changed nothing, when nd
// existed after all. made reports whether a database may be there because
// of this call: CREATE DATABASE was sent and did not find it existing (a
// failed one may still have created it: a cancelled restore's, say). So
// made is false when nothing of this call's can be on the server.
func (r *Runner) restoreNew(ctx context.Context, log *slog.Logger, nd newDatabase,
	read func(pipeline.ConsumeFunc) error, restore restoreInto, again func()) (made bool, err error) {
	made, err = r.restoreNewOnce(ctx, log, nd, read, restore, false)
	if !errors.Is(err, engine.ErrLockTable) {
		return made, err
	}
	log.Warn("the dump holds more objects than one transaction can lock on this server: restoring again, in many transactions, "+
		"into a new database dropped if it fails", "database", nd.name, "error", err)
	again()
	again2, err := r.restoreNewOnce(ctx, log, nd, read, restore, true)
	return made || again2, err
}

// restoreInto restores rd into database db, which this restore created;
// many lets the engine restore it in many transactions
// (engine.RestoreOptions.ManyTransactions).
type restoreInto func(rd io.Reader, db string, many bool) error

// restoreNewOnce is one restoreNew, into a database restored in one
// transaction or, if many, in many.
func (r *Runner) restoreNewOnce(ctx context.Context, log *slog.Logger, nd newDatabase,
	read func(pipeline.ConsumeFunc) error, restore restoreInto, many bool) (made bool, err error) {
	into := nd.name
	renamer, staged := nd.engine.(engine.Renaming)
	if staged = staged && nd.staged; staged {
		if into, err = stagingName(nd.name, nd.engine.MaxDatabaseName()); err != nil {
			return false, err
		}
	}
	created := false
	err = read(func(rd io.Reader) error {
		if staged {
			// The staging name is this call's own; the name asked for
			// must still be free.
			exists, err := nd.engine.DatabaseExists(ctx, nd.target, nd.name)
			if err != nil {
				return err
			}
			if exists {
				return errNotNew
			}
		}
		if staged {
			dropLeftovers(ctx, log, nd, renamer)
		}
		if nd.unfinished {
			if err := dropUnfinished(ctx, log, nd); err != nil {
				return err
			}
		}
		made = true
		ok, err := nd.engine.CreateDatabase(ctx, nd.target, into, nd.source)
		if err != nil {
			return err
		}
		if !ok {
			made = false
			return errNotNew
		}
		created = true
		msg := fmt.Sprintf("verifying while restoring into new database %s", nd.name)
		if staged {
			msg += fmt.Sprintf(" (as %s until the restore is complete)", into)
		}
		log.Info(msg, "database", nd.name)
		return restore(rd, into, many)
	})
	if err == nil && staged {
		err = renamer.RenameDatabase(ctx, nd.target, into, nd.name)
		if errors.Is(err, engine.ErrDatabaseExists) {
			err = fmt.Errorf("database %q was created by someone else while this restore ran, so the restored copy could not take its name: %w", nd.name, err)
		}
	}
	if u, marks := nd.engine.(engine.Unfinished); err == nil && created && marks {
		err = u.FinishDatabase(ctx, nd.target, into) // failing, the database is dropped: marked, it would be taken for a leftover
	}
	if !created || err == nil {
		return made, err
	}
	return made, r.dropNew(ctx, log, nd, into, err)
}

// stagingSuffix ends a staging database's name, before its random part.
const stagingSuffix = "_coffer_restoring_"

// stagingName is a new name for the database that becomes db once a restore
// succeeded: db's first bytes (a name has at most limit), a suffix that says
// what it is, and a random part, so two restores never share one.
func stagingName(db string, limit int) (string, error) {
	var b [stagingRandom / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("naming the staging database: %w", err)
	}
	return stagingPrefix(db, limit) + hex.EncodeToString(b[:]), nil
}

// stagingRandom is how many hex digits end a staging name.
const stagingRandom = 8

// stagingPrefix is what every staging name for db, at most limit bytes,
// starts with: as much of db as fits, in whole characters.
func stagingPrefix(db string, limit int) string {
	prefix := db
	for len(prefix)+len(stagingSuffix)+stagingRandom > limit || !utf8.ValidString(prefix) {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + stagingSuffix
}

// dropLeftovers drops the staging databases of earlier restores into nd
// that no one is connected to: what a restore killed halfway left (a
// partly restored copy, which can be as large as the database), so that
// restoring again does not need room for two. One in use, by a restore
// running now, is left alone; failing to drop one is logged, not fatal.
func dropLeftovers(ctx context.Context, log *slog.Logger, nd newDatabase, renamer engine.Renaming) {
	dropped, err := renamer.DropIdle(ctx, nd.target, stagingPrefix(nd.name, nd.engine.MaxDatabaseName()), stagingRandom)
	for _, name := range dropped {
		log.Info("dropped the staging database an interrupted restore left", "database", name)
	}
	if err != nil {
		log.Warn("could not drop the staging databases interrupted restores left", "database", nd.name, "error", err)
	}
}

// dropUnfinished drops nd, which an interrupted restore left unfinished
// (engine.Unfinished). errNotNew when it is not dropped: a session uses it,
// or it is no longer marked.
func dropUnfinished(ctx context.Context, log *slog.Logger, nd newDatabase) error {
	dropped, err := nd.engine.(engine.Unfinished).DropUnfinished(ctx, nd.target, nd.name)
	if err != nil {
		return err
	}
	if !dropped {
		return errNotNew
	}
	log.Info("dropped the database an interrupted restore left unfinished", "database", nd.name)
	return nil
}

// dropNew drops into, the database a failed restoreNew created (nd's, or
// its staging name), even when ctx has ended, and says so in the restore's
// error.
func (r *Runner) dropNew(ctx context.Context, log *slog.Logger, nd newDatabase, into string, err error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	what := fmt.Sprintf("database %q, which this restore created", into)
	if into != nd.name {
		what = fmt.Sprintf("database %q, which this restore created to become %q", into, nd.name)
	}
	if derr := nd.engine.DropDatabase(dctx, nd.target, into); derr != nil {
		log.Error("dropping the database this failed restore created failed", "database", into, "error", derr)
		return fmt.Errorf("%w (dropping %s failed too: %v)", err, what, derr)
	}
	log.Info("dropped the database this failed restore created", "database", into)
	return fmt.Errorf("%w (%s, was dropped again)", err, what)
}
