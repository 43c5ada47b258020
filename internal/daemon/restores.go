package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Restore records live in storage (catalog.Restore), so the API answers
// about a restore after the runner restarted. The daemon holding the lease
// is their only writer: it writes a record Running before the restore
// starts and final after it ends, marks Running records of an earlier
// process Failed, and keeps the newest keepRestores.
const (
	// keepRestores bounds the records kept in storage (and in memory).
	keepRestores = 50
	// recordTimeout bounds one round of record reads and writes.
	recordTimeout = 30 * time.Second
)

// ReasonRestarted is the error of a restore whose runner stopped without
// recording its end (killed, or its node lost).
const ReasonRestarted = "the runner restarted during the restore; the destination may be partly restored — see docs/engines.md"

// recentRestores are this process's records, oldest first. They answer
// before storage does, so a final record whose write failed is still told
// right while this process lives.
type recentRestores []catalog.Restore

func (rs *recentRestores) put(r catalog.Restore) {
	for i := range *rs {
		if (*rs)[i].ID == r.ID {
			(*rs)[i] = r
			return
		}
	}
	*rs = append(*rs, r)
	if len(*rs) > keepRestores {
		*rs = (*rs)[1:]
	}
}

func (rs recentRestores) get(id string) (catalog.Restore, bool) {
	for _, r := range rs {
		if r.ID == id {
			return r, true
		}
	}
	return catalog.Restore{}, false
}

// StartRestore starts a restore in the background. Like a backup, it needs
// the lease: only the lease holder writes restore records.
func (j *jobs) StartRestore(ctx context.Context, req runnerapi.RestoreRequest) (runnerapi.Restore, error) {
	if err := req.Validate(); err != nil {
		return runnerapi.Restore{}, err
	}
	if req.RequestKey != "" {
		j.keyMu.Lock()
		defer j.keyMu.Unlock()
		if r, ok := j.recentRestoreWithKey(req.RequestKey); ok {
			return apiRestore(r), nil
		}
	}
	leaderCtx, err := j.d.leader()
	if err != nil {
		return runnerapi.Restore{}, fmt.Errorf("%w: %v", runnerapi.ErrBusy, err)
	}
	if req.RequestKey != "" {
		if r, ok, err := j.storedRestoreWithKey(ctx, req.RequestKey); err != nil || ok {
			return apiRestore(r), err
		}
	}
	src, m, rreq, err := j.d.planRestore(ctx, req)
	if err != nil {
		return runnerapi.Restore{}, err
	}
	cat := j.d.runner.Catalog() // records stay with the primary
	if err := j.tryStart(); err != nil {
		return runnerapi.Restore{}, err
	}
	now := j.d.now()
	rec := catalog.Restore{ID: layout.NewID(now), BackupID: m.ID, Status: phase.Running, StartTime: now, RequestKey: req.RequestKey}
	// No record, no restore: a restore the API could lose track of after a
	// restart is one the caller cannot trust.
	if err := cat.PutRestore(ctx, rec); err != nil {
		j.finish()
		return runnerapi.Restore{}, err
	}
	j.remember(rec)
	rreq.Progress = progress.NewSet(restoredTargets(m, rreq.Target)...)
	j.setRestoring(rec.ID, rreq.Progress)
	go func() {
		defer j.finish()
		_, err := src.Restore(leaderCtx, rreq)
		if err != nil && leaderCtx.Err() != nil {
			err = fmt.Errorf("%w; the destination may be partly restored — see docs/engines.md", context.Cause(leaderCtx))
		}
		rec.EndTime, rec.Status = j.d.now(), phase.Completed
		switch {
		case errors.Is(err, engine.ErrPartiallyFailed) && leaderCtx.Err() == nil:
			// runner.Restore returns only partial failures once it has
			// restored every target; anything else ended it.
			rec.Status, rec.Error = phase.PartiallyFailed, err.Error()
			rec.SetFailedItems(engine.FailedItems(err))
		case err != nil:
			rec.Status, rec.Error = phase.Failed, err.Error()
		}
		// Stored before the API tells it, on a fresh context: an aborted
		// restore's end matters most. A failed write is retried by the tidy.
		fresh := context.WithoutCancel(leaderCtx)
		wctx, cancel := context.WithTimeout(fresh, recordTimeout)
		if werr := cat.PutRestore(wctx, rec); werr != nil {
			j.d.log.Error("writing a restore record", "restore", rec.ID, "error", werr)
		}
		cancel()
		j.remember(rec)
		j.d.metrics.RestoreFinished(err == nil)
		j.d.log.Info("restore finished", "restore", rec.ID, "backup", m.ID, "status", rec.Status)
		j.d.tidyRestores(fresh)
	}()
	return apiRestore(rec), nil
}

// Restore returns one restore record: this process's, else storage's.
func (j *jobs) Restore(ctx context.Context, id string) (runnerapi.Restore, error) {
	j.mu.Lock()
	r, ok := j.restores.get(id)
	j.mu.Unlock()
	if ok {
		out := apiRestore(r)
		if r.Status.InFlight() {
			out.Progress = j.restoreProgress(id)
		}
		return out, nil
	}
	r, err := j.d.runner.Catalog().GetRestore(ctx, id)
	if errors.Is(err, catalog.ErrNoRestore) {
		return runnerapi.Restore{}, fmt.Errorf("%w: restore %s", runnerapi.ErrNotFound, id)
	}
	if err != nil {
		return runnerapi.Restore{}, err
	}
	return apiRestore(r), nil
}

func (j *jobs) remember(r catalog.Restore) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.restores.put(r)
}

// tidyRestores brings storage in line while no restore of this process
// runs (at lease acquisition, and after each restore): this process's
// records are written as it knows them, Running records of an earlier
// process become Failed, and only the newest keepRestores are kept.
// Failures are logged; the next tidy tries again.
func (d *Daemon) tidyRestores(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	cat := d.runner.Catalog()
	stored, err := cat.ListRestores(ctx)
	if err != nil {
		d.log.Error("reading restore records", "error", err)
	}
	d.jobs.mu.Lock()
	mine := append(recentRestores(nil), d.jobs.restores...)
	d.jobs.mu.Unlock()
	for _, r := range stored {
		want, ok := mine.get(r.ID)
		switch {
		case ok && reflect.DeepEqual(want, r):
			continue
		case ok:
			r = want
		case r.Status == phase.Running:
			r.Status, r.Error, r.EndTime = phase.Failed, ReasonRestarted, d.now()
			d.log.Warn("a restore was interrupted by a restart: marked Failed", "restore", r.ID, "backup", r.BackupID)
		default:
			continue
		}
		if err := cat.PutRestore(ctx, r); err != nil {
			d.log.Error("writing a restore record", "restore", r.ID, "error", err)
		}
	}
	d.pruneRestores(ctx, stored)
}

// pruneRestores deletes all but the newest keepRestores records; stored is
// oldest first (a partial listing deletes less, never more).
func (d *Daemon) pruneRestores(ctx context.Context, stored []catalog.Restore) {
	for i := 0; i < len(stored)-keepRestores; i++ {
		if err := d.runner.Catalog().DeleteRestore(ctx, stored[i].ID); err != nil {
			d.log.Warn("pruning an old restore record", "restore", stored[i].ID, "error", err)
		}
	}
}

// planRestore resolves a restore request against the storage it reads:
// the runner reading it, the backup, and the runner's request. Errors
// wrap runnerapi.ErrInvalid when the request cannot be served.
func (d *Daemon) planRestore(ctx context.Context, req runnerapi.RestoreRequest) (*runner.Runner, *manifest.Manifest, runner.RestoreRequest, error) {
	var rreq runner.RestoreRequest
	src, err := d.source(req.From)
	if err != nil {
		return nil, nil, rreq, err
	}
	m, err := src.Catalog().Get(ctx, req.BackupID)
	if err != nil {
		if errors.Is(err, catalog.ErrNoBackup) || errors.Is(err, catalog.ErrLatestUnreadable) {
			err = fmt.Errorf("%w: %v", runnerapi.ErrInvalid, err)
		}
		return nil, nil, rreq, err
	}
	rreq = runner.RestoreRequest{BackupID: m.ID, Target: req.Target, IntoDatabase: req.IntoDatabase,
		Clean: req.Clean, IgnoreDatabaseProperties: req.IgnoreDatabaseProperties, Kubernetes: req.Kubernetes}
	if err := src.CheckRestore(m, rreq); err != nil {
		if errors.Is(err, runner.ErrRequest) {
			err = fmt.Errorf("%w: %v", runnerapi.ErrInvalid, err)
		}
		return nil, nil, rreq, err
	}
	return src, m, rreq, nil
}

// source is the runner that reads the storage a restore asks for.
func (d *Daemon) source(from string) (*runner.Runner, error) {
	switch from {
	case "", runnerapi.FromPrimary:
		return d.runner, nil
	case runnerapi.FromOffsite:
		if d.offsite == nil {
			return nil, fmt.Errorf("%w: %v", runnerapi.ErrInvalid, runner.ErrNoOffsite)
		}
		return d.offsite, nil
	}
	return nil, fmt.Errorf("%w: from %q", runnerapi.ErrInvalid, from)
}

// restoredTargets names the targets a restore of m restores.
func restoredTargets(m *manifest.Manifest, target string) []string {
	if target != "" {
		return []string{target}
	}
	var names []string
	for _, t := range m.Targets {
		names = append(names, t.Name)
	}
	return names
}

func apiRestore(r catalog.Restore) runnerapi.Restore {
	return runnerapi.Restore{ID: r.ID, BackupID: r.BackupID, Status: r.Status, StartTime: r.StartTime,
		EndTime: r.EndTime, Error: r.Error, FailedItems: r.FailedItems, FailedItemCount: r.FailedItemCount, RequestKey: r.RequestKey}
}
