package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// dbRehearsal restores a database target into a scratch database on its
// scratch server, runs the user's checks there, and drops it.
type dbRehearsal struct {
	r       *Runner
	target  engine.Target // pointed at the scratch server
	engine  engine.Engine
	scratch engine.Scratch
	checks  []string
	source  *manifest.DatabaseProperties
}

// planDatabase prepares a database target's rehearsal, recording its
// scratch server and database.
func (r *Runner) planDatabase(rt v1alpha1.RestoreTestTarget, mt manifest.Target, db string, out *catalog.RestoreTestTarget) (rehearsal, error) {
	t, eng, scr, err := r.scratchTarget(rt)
	if err != nil {
		return nil, err
	}
	if len(db) > scr.MaxDatabaseName() {
		return nil, fmt.Errorf("scratch database name %q is too long for %s", db, eng.Name())
	}
	out.Server, out.Database = scratchServer(eng, t), db
	return &dbRehearsal{r: r, target: t, engine: eng, scratch: scr, checks: rt.Checks, source: mt.Database}, nil
}

// scratchTarget is the config's target pointed at the restore test's
// server (its own server when the test names none).
func (r *Runner) scratchTarget(rt v1alpha1.RestoreTestTarget) (engine.Target, engine.Engine, engine.Scratch, error) {
	t, ok := r.cfg.Target(rt.Name)
	if !ok {
		return t, nil, nil, fmt.Errorf("target %q is not in %s", rt.Name, r.cfg.Path)
	}
	entry, ok := all.RestoreTestable(&t.Spec)
	if !ok || entry.RestoreTest != all.RestoreTestDatabase {
		return t, nil, nil, fmt.Errorf("target %q is not a database target restore tests can use", rt.Name)
	}
	t.Spec = *t.Spec.DeepCopy()
	if rt.Server != nil {
		entry.UseServer(&t.Spec, rt.Server)
	}
	eng, err := r.opts.Engine(t.Spec)
	if err != nil {
		return t, nil, nil, err
	}
	scr, ok := eng.(engine.Scratch)
	if !ok {
		return t, nil, nil, fmt.Errorf("target %q: engine %s cannot create scratch databases", rt.Name, eng.Name())
	}
	return t, eng, scr, nil
}

// scratchServer names the server of a scratch target for records and
// messages: the engine's source identity without its database.
func scratchServer(eng engine.Engine, t engine.Target) string {
	id := eng.Source(t).Identity
	if i := strings.LastIndex(id, "/"); i > 0 {
		return id[:i]
	}
	return id
}

// run restores into the scratch database, reading the backup once: the
// runner creates the database and checks the backup while it is restored
// (restoreNew), so a corrupt backup fails the test and leaves no database.
// A database that exists with the scratch name already is no one's this
// test may touch: the test fails, and neither restores into it nor drops
// it. Then the checks run, each one's result recorded.
func (d *dbRehearsal) run(ctx context.Context, read func(pipeline.ConsumeFunc) error, out *catalog.RestoreTestTarget) error {
	nd := newDatabase{engine: d.scratch, target: d.target, name: out.Database, source: d.source}
	opts := engine.RestoreOptions{Database: d.source, IgnoreDatabaseProperties: true, IgnoreOwnership: true}
	log := d.r.opts.Log.With("target", out.Name, "server", out.Server)
	made, err := d.r.restoreNew(ctx, log, nd, read, func(rd io.Reader, db string, many bool) error {
		opts.IntoDatabase, opts.ManyTransactions, opts.NewDatabase = db, many, true
		return d.engine.Restore(ctx, d.target, rd, opts)
	}, func() {})
	out.Created = made
	if !made {
		out.Dropped = true // nothing this test made is there to remove
	}
	if errors.Is(err, errNotNew) {
		return fmt.Errorf("scratch database %q exists on %s already: the restore test neither restores into it nor drops it", out.Database, out.Server)
	}
	if err != nil {
		return fmt.Errorf("restoring into scratch database %q: %w", out.Database, err)
	}
	var errs []error
	for _, stmt := range d.checks {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := d.scratch.Check(cctx, d.target, out.Database, stmt)
		cancel()
		res := catalog.CheckResult{SQL: stmt, Passed: err == nil}
		if err != nil {
			res.Error = err.Error()
			errs = append(errs, fmt.Errorf("check %q: %w", stmt, err))
		}
		out.Checks = append(out.Checks, res)
	}
	return errors.Join(errs...)
}

// cleanup drops the scratch database, even when ctx has ended.
func (d *dbRehearsal) cleanup(ctx context.Context, out *catalog.RestoreTestTarget) bool {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := d.scratch.DropDatabase(dctx, d.target, out.Database); err != nil {
		d.r.opts.Log.Error("dropping a scratch database failed; the next restore test tries again",
			"database", out.Database, "server", out.Server, "error", err)
		return false
	}
	return true
}

// cleanDatabase drops one leftover scratch database and reports whether
// the record changed.
func (r *Runner) cleanDatabase(ctx context.Context, id string, t *catalog.RestoreTestTarget) bool {
	log := r.opts.Log.With("restore_test", id, "database", t.Database, "server", t.Server)
	target, eng, scr, err := r.scratchTarget(r.configuredTest(t.Name))
	if err != nil {
		log.Warn("cannot drop a leftover scratch database: its target is gone from the config; drop it by hand", "error", err)
		return false
	}
	if now := scratchServer(eng, target); now != t.Server {
		log.Warn("not dropping a leftover scratch database: the target's scratch server changed; drop it by hand", "now", now)
		return false
	}
	dctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	if err := scr.DropDatabase(dctx, target, t.Database); err != nil {
		log.Error("dropping a leftover scratch database failed; the next run tries again", "error", err)
		return false
	}
	log.Info("dropped a scratch database a stopped restore test left")
	t.Dropped = true
	return true
}
