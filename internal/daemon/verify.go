package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// verifyLoop runs scheduled verifications on spec.verify.schedule. A
// runner that was down catches up once, like the backup schedule.
func (p *proving) verifyLoop(ctx context.Context) {
	d := p.d
	s, err := scheduler.New(d.cfg.Definition.Spec.Verify.Schedule, d.cfg.Location(), d.opts.Clock)
	if err != nil { // validated at load
		d.log.Error("invalid verify schedule", "error", err)
		return
	}
	var last time.Time
	var cursor string
	recs, _ := d.runner.Catalog().ListVerifications(ctx)
	if len(recs) > 0 {
		newest := recs[len(recs)-1]
		last, cursor = newest.StartTime, newest.Cursor
		p.setVerify(newest)
	}
	s.Run(ctx, last, func(ctx context.Context, _ time.Time) {
		rec := p.verifyRun(ctx, cursor)
		if rec.Error == "" || rec.Cursor != "" {
			cursor = rec.Cursor
		}
	})
}

// verifyRun verifies the selected backups of the primary and, when asked,
// of the offsite copy, then records the run in storage, the metrics and
// the status.
func (p *proving) verifyRun(ctx context.Context, cursor string) catalog.Verification {
	d := p.d
	spec := d.cfg.Definition.Spec.Verify
	sel := runner.Selection{Newest: spec.Newest, Cursor: cursor}
	if spec.Budget != nil {
		sel.Budget = spec.Budget.Value()
	}
	start := d.now()
	rec := catalog.Verification{ID: layout.NewID(start), StartTime: start, Verified: map[string][]string{}}
	d.log.Info("scheduled verification started")
	rec.Cursor = p.verifyStorage(ctx, d.runner, sel, &rec)
	if spec.Offsite && d.offsite != nil {
		p.verifyStorage(ctx, d.offsite, sel, &rec)
	}
	rec.EndTime = d.now()
	ok := rec.Error == "" && len(rec.Problems) == 0
	d.pmetrics.VerifyFinished(rec.EndTime, ok)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := d.runner.Catalog().PutVerification(wctx, rec); err != nil {
		d.log.Error("writing the verification record", "error", err)
	}
	p.pruneVerifications(wctx)
	p.setVerify(rec)
	d.log.Info("scheduled verification finished", "backups", len(rec.Verified[runnerapi.FromPrimary]), "bytes", rec.Bytes,
		"problems", len(rec.Problems), "ok", ok)
	return rec
}

// verifyStorage verifies one storage's selection into rec and returns the
// cursor of the next rotating run.
func (p *proving) verifyStorage(ctx context.Context, r *runner.Runner, sel runner.Selection, rec *catalog.Verification) string {
	ms, err := r.Catalog().List(ctx)
	for _, u := range catalog.Unreadable(err) {
		rec.Problems = append(rec.Problems, catalog.ObjectProblem{Storage: r.From(), BackupID: u.ID, Target: "-",
			Object: r.Catalog().Definition.Backup(u.ID).ManifestKey(), Problem: metrics.ProblemCorrupt, Error: u.Error()})
	}
	if err != nil && ms == nil {
		rec.Error = joinMsg(rec.Error, fmt.Sprintf("%s: %v", r.From(), err))
		return sel.Cursor
	}
	chosen, cursor := sel.Select(ms)
	res, err := r.CheckBackups(ctx, chosen)
	if err != nil {
		rec.Error = joinMsg(rec.Error, fmt.Sprintf("%s: %v", r.From(), err))
	}
	rec.Verified[r.From()] = res.Verified
	rec.Bytes += res.Bytes
	rec.Problems = append(rec.Problems, res.Problems...)
	corrupt, missing := 0, 0
	for _, q := range res.Problems {
		if q.Problem == metrics.ProblemMissing {
			missing++
		} else {
			corrupt++
		}
	}
	p.d.pmetrics.VerifyRun(r.From(), res.Bytes, corrupt, missing)
	return cursor
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func (p *proving) setVerify(rec catalog.Verification) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.verify
	v.LastRunTime, v.Verified, v.Problems, v.Error = rec.EndTime, rec.Verified, apiProblems(rec.Problems), rec.Error
	if rec.Error == "" && len(rec.Problems) == 0 {
		v.LastSuccessTime = rec.EndTime
	}
}

func (p *proving) pruneVerifications(ctx context.Context) {
	cat := p.d.runner.Catalog()
	recs, err := cat.ListVerifications(ctx)
	if err != nil {
		return // a partial listing could drop the newest
	}
	for i := 0; i < len(recs)-keepProvingRecords; i++ {
		if err := cat.DeleteVerification(ctx, recs[i].ID); err != nil {
			p.d.log.Warn("pruning an old verification record", "verification", recs[i].ID, "error", err)
		}
	}
}
