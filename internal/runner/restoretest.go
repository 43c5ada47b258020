package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// ScratchPrefix starts the name of every scratch database a restore test
// creates, so a database administrator can tell them apart; the cleanup of
// leftovers drops only names with this prefix that a record lists.
const ScratchPrefix = "coffer_rt_"

// checkTimeout bounds one check of a restore test.
const checkTimeout = 5 * time.Minute

// ErrRestoreTest marks a restore test that failed: a corrupt backup, a
// restore that failed, or a check that did not return true.
var ErrRestoreTest = errors.New("restore test failed")

// scratchTest is one target of a restore test, ready to run.
type scratchTest struct {
	rec     manifest.Target
	target  engine.Target // pointed at the scratch server
	engine  engine.Engine
	scratch engine.Scratch
	checks  []string
}

// ScratchName is the scratch database of target i in restore test id.
func ScratchName(id string, i int) string {
	return fmt.Sprintf("%s%s_%d", ScratchPrefix, strings.ToLower(strings.ReplaceAll(id, "-", "_")), i)
}

// scratchTarget is the config's target pointed at the restore test's
// server (its own server when the test names none).
func (r *Runner) scratchTarget(rt v1alpha1.RestoreTestTarget) (engine.Target, engine.Engine, engine.Scratch, error) {
	t, ok := r.cfg.Target(rt.Name)
	if !ok {
		return t, nil, nil, fmt.Errorf("target %q is not in %s", rt.Name, r.cfg.Path)
	}
	entry, ok := all.RestoreTestable(&t.Spec)
	if !ok {
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

// RestoreTest restores the newest backup's database targets into scratch
// databases, runs each target's checks and drops the scratch databases,
// always. Every object is verified before the first scratch database is
// created, so a corrupt backup fails without one; the record, naming each
// scratch database, is stored (through save) before any is created and
// after every step. The returned record is final; the error, when the
// test did not pass, wraps ErrRestoreTest.
func (r *Runner) RestoreTest(ctx context.Context, id string, save func(catalog.RestoreTest) error) (catalog.RestoreTest, error) {
	rec := catalog.RestoreTest{ID: id, Status: catalog.RestoreTestRunning, StartTime: r.opts.Now().UTC()}
	tests, m, ids, err := r.planRestoreTest(ctx, &rec)
	if err == nil {
		err = r.verifyTests(ctx, m, tests, ids)
	}
	if err != nil {
		return r.endRestoreTest(rec, err, save)
	}
	if err := save(rec); err != nil { // no record, no scratch database
		return r.endRestoreTest(rec, err, save)
	}
	var errs []error
	for i, st := range tests {
		err := r.runScratchTest(ctx, m, st, ids, &rec.Targets[i])
		rec.Targets[i].Dropped = r.dropScratch(ctx, st, &rec.Targets[i])
		if err != nil {
			rec.Targets[i].Error = err.Error()
			errs = append(errs, fmt.Errorf("target %q: %w", st.rec.Name, err))
		}
		if werr := save(rec); werr != nil {
			r.opts.Log.Warn("writing the restore test record", "restore_test", id, "error", werr)
		}
	}
	return r.endRestoreTest(rec, errors.Join(errs...), save)
}

func (r *Runner) endRestoreTest(rec catalog.RestoreTest, err error, save func(catalog.RestoreTest) error) (catalog.RestoreTest, error) {
	rec.EndTime, rec.Status = r.opts.Now().UTC(), catalog.RestoreTestPassed
	if err != nil {
		rec.Status, rec.Error = catalog.RestoreTestFailed, err.Error()
		err = fmt.Errorf("%w: %w", ErrRestoreTest, err)
	}
	if werr := save(rec); werr != nil {
		err = errors.Join(err, fmt.Errorf("writing the restore test record: %w", werr))
	}
	return rec, err
}

// planRestoreTest resolves the newest backup and, for each target to test,
// its scratch server and database, filling rec.
func (r *Runner) planRestoreTest(ctx context.Context, rec *catalog.RestoreTest) ([]scratchTest, *manifest.Manifest, []age.Identity, error) {
	m, err := r.catalog.Get(ctx, "latest")
	if err != nil {
		return nil, nil, nil, err
	}
	rec.BackupID, rec.BackupStart = m.ID, m.StartTime
	ids, err := r.cfg.Identities()
	if err != nil {
		return nil, m, nil, err
	}
	var tests []scratchTest
	for i, rt := range r.cfg.RestoreTestTargets() {
		mt, ok := m.Target(rt.Name)
		if !ok {
			return nil, m, nil, fmt.Errorf("backup %s has no target %q", m.ID, rt.Name)
		}
		t, eng, scr, err := r.scratchTarget(rt)
		if err != nil {
			return nil, m, nil, err
		}
		if eng.Name() != mt.Engine {
			return nil, m, nil, fmt.Errorf("target %q was backed up with engine %s but the config now says %s", rt.Name, mt.Engine, eng.Name())
		}
		db := ScratchName(rec.ID, i)
		if len(db) > scr.MaxDatabaseName() {
			return nil, m, nil, fmt.Errorf("scratch database name %q is too long for %s", db, eng.Name())
		}
		tests = append(tests, scratchTest{rec: mt, target: t, engine: eng, scratch: scr, checks: rt.Checks})
		rec.Targets = append(rec.Targets, catalog.RestoreTestTarget{Name: rt.Name, Server: scratchServer(eng, t), Database: db})
	}
	return tests, m, ids, nil
}

// verifyTests reads every object to test before any database is created.
func (r *Runner) verifyTests(ctx context.Context, m *manifest.Manifest, tests []scratchTest, ids []age.Identity) error {
	for _, st := range tests {
		if err := r.read(ctx, m, st.rec, ids, func(rd io.Reader) error { _, err := io.Copy(io.Discard, rd); return err }); err != nil {
			return fmt.Errorf("not restoring: %w", err)
		}
	}
	return nil
}

// runScratchTest restores one target into its scratch database and runs
// its checks, recording the restore's duration and each check's result.
func (r *Runner) runScratchTest(ctx context.Context, m *manifest.Manifest, st scratchTest, ids []age.Identity, out *catalog.RestoreTestTarget) error {
	start := r.opts.Now()
	out.Created = true
	err := r.read(ctx, m, st.rec, ids, func(rd io.Reader) error {
		return st.engine.Restore(ctx, st.target, rd, engine.RestoreOptions{IntoDatabase: out.Database,
			Database: st.rec.Database, IgnoreDatabaseProperties: true, IgnoreOwnership: true})
	})
	out.RestoreSeconds = r.opts.Now().Sub(start).Seconds()
	if err != nil {
		return fmt.Errorf("restoring into scratch database %q: %w", out.Database, err)
	}
	var errs []error
	for _, stmt := range st.checks {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := st.scratch.Check(cctx, st.target, out.Database, stmt)
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

// dropScratch drops a target's scratch database, even when ctx has ended,
// and reports whether it is gone.
func (r *Runner) dropScratch(ctx context.Context, st scratchTest, out *catalog.RestoreTestTarget) bool {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := st.scratch.DropDatabase(dctx, st.target, out.Database); err != nil {
		r.opts.Log.Error("dropping a scratch database failed; the next restore test tries again",
			"database", out.Database, "server", out.Server, "error", err)
		return false
	}
	return true
}

// ReasonRestoreTestInterrupted is the error of a restore test whose runner
// stopped before it ended.
const ReasonRestoreTestInterrupted = "the runner stopped during the restore test; its scratch databases were dropped by the next run"

// CleanRestoreTests drops the scratch databases earlier runs left behind:
// those a record lists that are not marked dropped — and only those, only
// with the scratch prefix, and only on the server the record names (a
// target whose server changed since is left alone, and logged). Records
// of tests that never ended are marked Failed. The caller must not pass
// the record of a test still running.
func (r *Runner) CleanRestoreTests(ctx context.Context, records []catalog.RestoreTest, save func(catalog.RestoreTest) error) error {
	var errs []error
	for _, rec := range records {
		changed := false
		for i := range rec.Targets {
			if r.cleanTarget(ctx, rec.ID, &rec.Targets[i]) {
				changed = true
			}
		}
		if rec.Status == catalog.RestoreTestRunning {
			rec.Status, rec.Error, rec.EndTime, changed = catalog.RestoreTestFailed, ReasonRestoreTestInterrupted, r.opts.Now().UTC(), true
		}
		if changed {
			errs = append(errs, save(rec))
		}
	}
	return errors.Join(errs...)
}

// cleanTarget drops one leftover scratch database and reports whether the
// record changed.
func (r *Runner) cleanTarget(ctx context.Context, id string, t *catalog.RestoreTestTarget) bool {
	if t.Dropped || !strings.HasPrefix(t.Database, ScratchPrefix) {
		return false
	}
	log := r.opts.Log.With("restore_test", id, "database", t.Database, "server", t.Server)
	var rt v1alpha1.RestoreTestTarget
	for _, c := range r.cfg.RestoreTestTargets() {
		if c.Name == t.Name {
			rt = c
		}
	}
	if rt.Name == "" {
		rt.Name = t.Name // no longer tested: its own server, if that is where it was
	}
	target, eng, scr, err := r.scratchTarget(rt)
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
