package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// schedule runs backups on the definition's cron schedule until ctx ends;
// each backup runs under jobCtx, so ending the schedule (a graceful stop)
// lets the backup in flight finish. A suspended definition or one without a
// schedule takes on-demand backups only.
func (d *Daemon) schedule(ctx, jobCtx context.Context) {
	spec := d.cfg.Definition.Spec
	if spec.Suspend || spec.Schedule == "" {
		d.log.Info("scheduling paused: on-demand backups only", "suspended", spec.Suspend, "schedule", spec.Schedule)
		<-ctx.Done()
		return
	}
	s, err := scheduler.New(spec.Schedule, d.cfg.Location(), d.opts.Clock)
	if err != nil { // validated at load; kept for safety
		d.log.Error("invalid schedule", "error", err)
		<-ctx.Done()
		return
	}
	s.OnNext = func(t time.Time) {
		d.metrics.SetNextRun(t)
		d.log.Debug("next backup scheduled", "at", t)
	}
	s.OnSkip = func(slot time.Time) {
		d.log.Warn("scheduled backup skipped: the previous one still runs", "slot", slot)
	}
	if d.opts.afterScheduledJob != nil {
		// After the job and the scheduler's own bookkeeping: the daemon and
		// the scheduler are both idle, so the next slot is not skipped.
		s.OnDone = func(time.Time) { d.opts.afterScheduledJob() }
	}
	s.Run(ctx, d.lastAttempt(ctx), func(_ context.Context, slot time.Time) {
		if err := d.jobs.tryStart(); err != nil {
			d.log.Warn("scheduled backup skipped", "slot", slot, "reason", err)
			return
		}
		defer d.jobs.finish()
		req, _ := d.newRequest(runner.BackupRequest{Scheduled: true})
		d.backupAndPrune(jobCtx, req)
	})
}

// lastAttempt is the start of the newest backup or failure, so a runner that
// was down knows whether it missed a slot.
func (d *Daemon) lastAttempt(ctx context.Context) time.Time {
	var last time.Time
	if ms, _ := d.runner.Catalog().List(ctx); len(ms) > 0 {
		last = ms[len(ms)-1].StartTime
	}
	if fs, _ := d.runner.Catalog().ListFailures(ctx); len(fs) > 0 && fs[len(fs)-1].StartTime.After(last) {
		last = fs[len(fs)-1].StartTime
	}
	return last
}

// newRequest gives req its id and start time and shows it as the backup in
// flight. The caller has reserved the daemon (jobs.tryStart).
func (d *Daemon) newRequest(req runner.BackupRequest) (runner.BackupRequest, runnerapi.Backup) {
	req.Start = d.now()
	req.ID = layout.NewID(req.Start)
	rec := &runnerapi.Backup{ID: req.ID, Status: phase.Running, StartTime: req.Start, Trigger: string(req.Trigger()), RequestKey: req.RequestKey}
	if req.Pinned {
		rec.Labels = []string{retention.LabelPinned}
	}
	req.Progress = progress.NewSet(d.targetNames()...)
	d.jobs.setRunning(rec, req.Progress)
	return req, *rec
}

// targetNames are the config's targets, which every backup set takes.
func (d *Daemon) targetNames() []string {
	var names []string
	for _, t := range d.cfg.Targets() {
		names = append(names, t.Name())
	}
	return names
}

// startBackup starts an on-demand backup in the background; a request
// whose key was seen returns the backup it started (requestkey.go).
func (d *Daemon) startBackup(ctx context.Context, req runner.BackupRequest, via string) (runnerapi.Backup, error) {
	key := req.RequestKey
	if key != "" {
		d.jobs.keyMu.Lock()
		defer d.jobs.keyMu.Unlock()
		if b, ok := d.jobs.runningWithKey(key); ok {
			return b, nil
		}
	}
	leaderCtx, err := d.leader()
	if err != nil {
		return runnerapi.Backup{}, fmt.Errorf("%w: %v", runnerapi.ErrBusy, err)
	}
	if key != "" {
		if b, ok, err := d.jobs.backupWithKey(ctx, key); err != nil || ok {
			if ok {
				d.log.Info("on-demand backup requested again: answered with the backup its request key started", "backup", b.ID, "requestKey", key)
			}
			return b, err
		}
	}
	if err := d.jobs.tryStart(); err != nil {
		return runnerapi.Backup{}, err
	}
	req, rec := d.newRequest(req)
	d.log.Info("on-demand backup requested", "backup", req.ID, "via", via, "pinned", req.Pinned, "requestKey", key)
	go func() {
		defer d.jobs.finish()
		d.backupAndPrune(leaderCtx, req)
	}()
	return rec, nil
}

// backupAndPrune takes one backup set, records metrics, and applies
// retention after a committed backup.
func (d *Daemon) backupAndPrune(ctx context.Context, req runner.BackupRequest) {
	m, err := d.runner.Backup(ctx, req)
	end := d.now()
	if err != nil {
		var fe *runner.FailedError
		if !errors.As(err, &fe) {
			d.log.Error("backup failed", "backup", req.ID, "error", err)
		}
		for _, t := range d.cfg.Targets() {
			d.metrics.BackupFailed(t.Name(), end)
		}
		d.metrics.BackupSetFailed(end)
		return
	}
	for _, t := range m.Targets {
		d.metrics.BackupSucceeded(t.Name, t.StartTime, t.EndTime, t.Size, t.PlainSize)
		d.metrics.TargetStored(m.FormatVersion, t)
	}
	d.metrics.BackupSetSucceeded(m.StartTime, m.EndTime)
	defer d.proving.kickOffsite() // after retention: the copy follows the commit
	rep, err := d.runner.Prune(ctx, false, d.opts.OrphanGrace, d.opts.InFlightWindow)
	if rep != nil {
		kept := map[string]int{}
		for _, k := range rep.Plan.Keep {
			for _, l := range k.Labels {
				kept[l]++
			}
		}
		d.metrics.RetentionApplied(kept, len(rep.Plan.Delete))
		d.metrics.OrphansSwept(len(rep.Swept))
	}
	if err != nil {
		d.log.Error("retention failed: nothing more deleted", "error", err)
	}
}
