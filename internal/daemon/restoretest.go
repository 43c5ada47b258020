package daemon

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// restoreTestLoop runs restore tests on spec.restoreTest.schedule. When
// the lease is won, and before each test, it drops the scratch databases
// earlier runs left (their records say which).
func (p *proving) restoreTestLoop(ctx context.Context) {
	d := p.d
	s, err := scheduler.New(d.cfg.Definition.Spec.RestoreTest.Schedule, d.cfg.Location(), d.opts.Clock)
	if err != nil { // validated at load
		d.log.Error("invalid restore test schedule", "error", err)
		return
	}
	recs := p.cleanRestoreTests(ctx)
	var last time.Time
	if len(recs) > 0 {
		last = recs[len(recs)-1].StartTime
	}
	p.seedRestoreTests(recs)
	s.Run(ctx, last, func(ctx context.Context, _ time.Time) {
		p.cleanRestoreTests(ctx)
		p.restoreTestRun(ctx)
	})
}

// cleanRestoreTests drops what stopped restore tests left and returns the
// records, oldest first.
func (p *proving) cleanRestoreTests(ctx context.Context) []catalog.RestoreTest {
	d := p.d
	cat := d.runner.Catalog()
	recs, err := cat.ListRestoreTests(ctx)
	if err != nil {
		d.log.Error("reading restore test records", "error", err)
	}
	if err := d.runner.CleanRestoreTests(ctx, recs, func(r catalog.RestoreTest) error { return cat.PutRestoreTest(ctx, r) }); err != nil {
		d.log.Error("recording the cleanup of scratch databases", "error", err)
	}
	if recs, err = cat.ListRestoreTests(ctx); err == nil {
		for i := 0; i < len(recs)-keepProvingRecords; i++ {
			if err := cat.DeleteRestoreTest(ctx, recs[i].ID); err != nil {
				d.log.Warn("pruning an old restore test record", "restore_test", recs[i].ID, "error", err)
			}
		}
	}
	return recs
}

// restoreTestRun runs one restore test and records it.
func (p *proving) restoreTestRun(ctx context.Context) {
	d := p.d
	cat := d.runner.Catalog()
	id := layout.NewID(d.now())
	d.log.Info("restore test started", "restore_test", id)
	save := func(r catalog.RestoreTest) error {
		p.setRestoreTest(r)
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		return cat.PutRestoreTest(wctx, r)
	}
	rec, err := d.runner.RestoreTest(ctx, id, save)
	passed := rec.Status == catalog.RestoreTestPassed
	d.pmetrics.RestoreTestFinished(rec.EndTime, passed, rec.BackupStart)
	for _, t := range rec.Targets {
		if t.RestoreSeconds > 0 {
			d.pmetrics.RestoreTestDuration(t.Name, time.Duration(t.RestoreSeconds*float64(time.Second)))
		}
	}
	if err != nil {
		d.log.Error("restore test failed", "restore_test", id, "backup", rec.BackupID, "error", err)
		return
	}
	d.log.Info("restore test passed: the backup is proven restorable", "restore_test", id, "backup", rec.BackupID,
		"duration", rec.EndTime.Sub(rec.StartTime).Round(time.Millisecond))
}

// seedRestoreTests shows the stored records after a restart: the newest
// test, and which backups passing tests proved.
func (p *proving) seedRestoreTests(recs []catalog.RestoreTest) {
	for _, r := range recs {
		if r.Status == catalog.RestoreTestPassed {
			p.d.pmetrics.SeedProven(r.EndTime, r.BackupStart)
		}
		p.setRestoreTest(r)
	}
}

func (p *proving) setRestoreTest(r catalog.RestoreTest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := apiRestoreTest(r)
	p.restoreTest.Last = &last
	if r.Status == catalog.RestoreTestPassed {
		p.restoreTest.ProvenBackupID, p.restoreTest.ProvenTime = r.BackupID, r.EndTime
		p.provenAt[r.BackupID] = r.EndTime
	}
}

func apiRestoreTest(r catalog.RestoreTest) runnerapi.RestoreTest {
	out := runnerapi.RestoreTest{ID: r.ID, BackupID: r.BackupID, Status: string(r.Status), StartTime: r.StartTime,
		EndTime: r.EndTime, Error: r.Error, Targets: []runnerapi.RestoreTestTarget{}}
	for _, t := range r.Targets {
		at := runnerapi.RestoreTestTarget{Name: t.Name, Server: t.Server, Database: t.Database, Directory: t.Directory,
			Dropped: t.Dropped, RestoreSeconds: t.RestoreSeconds, Error: t.Error}
		for _, c := range t.Checks {
			at.Checks = append(at.Checks, runnerapi.CheckResult(c))
		}
		for _, c := range t.Counts {
			at.Counts = append(at.Counts, runnerapi.CountResult(c))
		}
		out.Targets = append(out.Targets, at)
	}
	return out
}
