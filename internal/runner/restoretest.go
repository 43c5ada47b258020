package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// ScratchPrefix starts the name of every scratch database and directory a
// restore test creates, so an administrator can tell them apart; the
// cleanup of leftovers removes only names with this prefix that a record
// lists.
const ScratchPrefix = "coffer_rt_"

// checkTimeout bounds one check of a restore test.
const checkTimeout = 5 * time.Minute

// ErrRestoreTest marks a restore test that failed: a corrupt backup, a
// restore that failed, or a check that did not return true.
var ErrRestoreTest = errors.New("restore test failed")

// scratchTest is one target of a restore test, ready to run.
type scratchTest struct {
	rec manifest.Target
	reh rehearsal
}

// rehearsal is how one target's backup is proven: restored into a scratch
// database, a scratch directory, or a server-side dry run.
type rehearsal interface {
	// run restores the object read passes it, checks what the restore
	// produced, and fills out's results.
	run(ctx context.Context, read func(pipeline.ConsumeFunc) error, out *catalog.RestoreTestTarget) error
	// cleanup removes what run created, also when ctx has ended, and
	// reports whether nothing of it is left.
	cleanup(ctx context.Context, out *catalog.RestoreTestTarget) bool
}

// ScratchName is the scratch database of target i in restore test id.
func ScratchName(id string, i int) string {
	return fmt.Sprintf("%s%s_%d", ScratchPrefix, strings.ToLower(strings.ReplaceAll(id, "-", "_")), i)
}

// RestoreTest restores the newest backup's tested targets — database
// targets into scratch databases, where each target's checks run;
// filesystem targets into scratch directories, whose counts must equal
// the backup's; kubernetes targets as a server-side dry run, whose
// results must account for every indexed object — and removes every
// scratch database and directory, always. Each target's backup is read
// once, checked while it streams into its scratch: a scratch database the
// runner creates is dropped when a check fails (restoreNew), a scratch
// directory is removed as always, and a dry run creates nothing.
// The record, naming each scratch, is stored (through save) before any is
// created and after every step. The returned record is final; the error,
// when the test did not pass, wraps ErrRestoreTest.
func (r *Runner) RestoreTest(ctx context.Context, id string, save func(catalog.RestoreTest) error) (catalog.RestoreTest, error) {
	rec := catalog.RestoreTest{ID: id, Status: catalog.RestoreTestRunning, StartTime: r.opts.Now().UTC()}
	tests, m, ids, err := r.planRestoreTest(ctx, &rec)
	if err != nil {
		return r.endRestoreTest(rec, err, save)
	}
	if err := save(rec); err != nil { // no record, no scratch database
		return r.endRestoreTest(rec, err, save)
	}
	var errs []error
	for i, st := range tests {
		out := &rec.Targets[i]
		read := func(consume pipeline.ConsumeFunc) error {
			start := r.opts.Now()
			defer func() { out.RestoreSeconds = r.opts.Now().Sub(start).Seconds() }()
			return r.read(ctx, m, st.rec, ids, consume)
		}
		err := st.reh.run(ctx, read, out)
		if out.Created {
			out.Dropped = st.reh.cleanup(ctx, out)
		}
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
		out := catalog.RestoreTestTarget{Name: rt.Name}
		reh, err := r.planTarget(rt, mt, ScratchName(rec.ID, i), &out)
		if err != nil {
			return nil, m, nil, err
		}
		tests = append(tests, scratchTest{rec: mt, reh: reh})
		rec.Targets = append(rec.Targets, out)
	}
	return tests, m, ids, nil
}

// planTarget prepares one target's rehearsal, by its engine's kind,
// recording in out where its scratch database or directory will be.
func (r *Runner) planTarget(rt v1alpha1.RestoreTestTarget, mt manifest.Target, scratch string, out *catalog.RestoreTestTarget) (rehearsal, error) {
	t, ok := r.cfg.Target(rt.Name)
	if !ok {
		return nil, fmt.Errorf("target %q is not in %s", rt.Name, r.cfg.Path)
	}
	entry, ok := all.RestoreTestable(&t.Spec)
	if !ok {
		return nil, fmt.Errorf("target %q is not a target restore tests can use", rt.Name)
	}
	if entry.Block != mt.Engine {
		return nil, fmt.Errorf("target %q was backed up with engine %s but the config now says %s", rt.Name, mt.Engine, entry.Block)
	}
	switch entry.RestoreTest {
	case all.RestoreTestDatabase:
		return r.planDatabase(rt, mt, scratch, out)
	case all.RestoreTestDirectory:
		return r.planDirectory(rt, t, mt, scratch, out)
	case all.RestoreTestDryRun:
		return r.planDryRun(t, out)
	}
	return nil, fmt.Errorf("target %q: restore tests of kind %q are not implemented", rt.Name, entry.RestoreTest)
}

// ReasonRestoreTestInterrupted is the error of a restore test whose runner
// stopped before it ended.
const ReasonRestoreTestInterrupted = "the runner stopped during the restore test; its scratch databases and directories were removed by the next run"

// CleanRestoreTests removes the scratch databases and directories earlier
// runs left behind: those a record lists that are not marked dropped — and
// only those, only with the scratch prefix, and only on the server (in the
// scratch directory) the record names (a target whose scratch server or
// directory changed since is left alone, and logged). Records
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

// cleanTarget removes one leftover scratch database or directory and
// reports whether the record changed.
func (r *Runner) cleanTarget(ctx context.Context, id string, t *catalog.RestoreTestTarget) bool {
	switch {
	case t.Dropped:
		return false
	case t.Directory != "":
		return r.cleanDirectory(id, t)
	case strings.HasPrefix(t.Database, ScratchPrefix):
		return r.cleanDatabase(ctx, id, t)
	}
	return false
}

// configuredTest is the restore test's config for a target; a target no
// longer tested gets the defaults (its own server, the temporary
// directory), which is where its scratch was if it had no override.
func (r *Runner) configuredTest(name string) v1alpha1.RestoreTestTarget {
	for _, c := range r.cfg.RestoreTestTargets() {
		if c.Name == name {
			return c
		}
	}
	return v1alpha1.RestoreTestTarget{Name: name}
}
