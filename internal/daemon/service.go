package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// jobs runs one backup or restore at a time and remembers what the API
// shows about them. It implements runnerapi.Service.
type jobs struct {
	d *Daemon

	mu      sync.Mutex
	running *runnerapi.Backup // the backup in flight, if any
	// progress counts the bytes of the backup or restore in flight
	// (progressOf names which); one job runs at a time.
	progress   *progress.Set
	progressOf string
	restores   recentRestores // this process's restores, newest last
	busy       bool
	stopping   bool // set once by stop: no new job starts
	// keyMu serialises requests with a request key (requestkey.go).
	keyMu sync.Mutex
	wg    sync.WaitGroup
}

var _ runnerapi.Service = (*jobs)(nil)

func newJobs(d *Daemon) *jobs {
	return &jobs{d: d}
}

// tryStart marks the daemon busy. It fails, wrapping runnerapi.ErrBusy,
// while a backup or restore runs or once the daemon is stopping.
func (j *jobs) tryStart() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopping {
		return errStopping
	}
	if j.busy {
		return runnerapi.ErrBusy
	}
	j.busy = true
	j.wg.Add(1)
	return nil
}

func (j *jobs) finish() {
	j.mu.Lock()
	j.busy = false
	j.running = nil
	j.progress, j.progressOf = nil, ""
	j.mu.Unlock()
	j.wg.Done()
}

// stop refuses every later tryStart, so waiting on wg after it is safe; it
// reports whether a job is running.
func (j *jobs) stop() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stopping = true
	return j.busy
}

// Backups lists committed backups, failure records and the backup in flight.
func (j *jobs) Backups(ctx context.Context) ([]runnerapi.Backup, error) {
	listed, err := j.d.runner.Backups(ctx)
	if err != nil && listed == nil {
		return nil, err
	}
	failures, ferr := j.d.runner.Catalog().ListFailures(ctx)
	out := make([]runnerapi.Backup, 0, len(listed)+len(failures)+1)
	for _, l := range listed {
		b := runnerapi.BackupFromManifest(l.Manifest)
		b.Labels = l.Labels
		j.d.proving.annotate(&b)
		out = append(out, b)
	}
	for _, f := range failures {
		out = append(out, backupFromFailure(f))
	}
	if b, ok := j.inFlight(""); ok {
		out = append(out, b)
	}
	sortBackups(out)
	return out, errors.Join(err, ferr)
}

// Backup returns one backup, failure or the backup in flight.
func (j *jobs) Backup(ctx context.Context, id string) (runnerapi.Backup, error) {
	if b, ok := j.inFlight(id); ok {
		return b, nil
	}
	all, err := j.Backups(ctx)
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	if err != nil {
		return runnerapi.Backup{}, err
	}
	return runnerapi.Backup{}, fmt.Errorf("%w: backup %s", runnerapi.ErrNotFound, id)
}

// TriggerBackup starts an on-demand backup now, in the background.
func (j *jobs) TriggerBackup(ctx context.Context, req runnerapi.BackupRequest) (runnerapi.Backup, error) {
	if err := req.Validate(); err != nil {
		return runnerapi.Backup{}, err
	}
	return j.d.startBackup(ctx, runner.BackupRequest{Pinned: req.Pinned, RequestKey: req.RequestKey}, "api")
}

// SetLabel changes a user label under the daemon's lease: the change is
// refused while another runner may be pruning, and cancelled if the lease
// is lost on the way.
func (j *jobs) SetLabel(ctx context.Context, id, label string, set bool) (runnerapi.Backup, error) {
	if id != "latest" && !layout.ValidID(id) {
		return runnerapi.Backup{}, fmt.Errorf("%w: backup %s", runnerapi.ErrNotFound, id)
	}
	leaderCtx, err := j.d.leader()
	if err != nil {
		return runnerapi.Backup{}, fmt.Errorf("%w: %v", runnerapi.ErrBusy, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(leaderCtx, cancel)()
	add, remove := []string{label}, []string(nil)
	if !set {
		add, remove = nil, add
	}
	m, err := j.d.runner.Label(ctx, id, add, remove)
	switch {
	case errors.Is(err, catalog.ErrNoBackup):
		return runnerapi.Backup{}, fmt.Errorf("%w: %v", runnerapi.ErrNotFound, err)
	case errors.Is(err, runner.ErrBadLabel):
		return runnerapi.Backup{}, fmt.Errorf("%w: %v", runnerapi.ErrInvalid, err)
	case err != nil:
		return runnerapi.Backup{}, err
	}
	return j.Backup(ctx, m.ID)
}

// Status is what proves the backups (GET /v1/status).
func (j *jobs) Status(ctx context.Context) (runnerapi.RunnerStatus, error) {
	return j.d.proving.Status(ctx)
}

// VolumePushes lists volume targets waiting for their reader pod.
func (j *jobs) VolumePushes(context.Context) ([]runnerapi.VolumePush, error) {
	if j.d.volumes == nil {
		return nil, nil
	}
	items := j.d.volumes.List()
	id := j.runningID()
	for i := range items {
		items[i].BackupID = id // one backup runs at a time
	}
	return items, nil
}

func backupFromFailure(f catalog.Failure) runnerapi.Backup {
	return runnerapi.Backup{ID: f.ID, Status: phase.Failed, StartTime: f.StartTime, EndTime: f.EndTime, Error: f.Error, RequestKey: f.RequestKey}
}

// setRunning shows b as the backup in flight, its bytes counted by prog.
func (j *jobs) setRunning(b *runnerapi.Backup, prog *progress.Set) {
	j.mu.Lock()
	j.running = b
	j.progress, j.progressOf = prog, b.ID
	j.mu.Unlock()
}

// setRestoring counts the bytes of restore id with prog.
func (j *jobs) setRestoring(id string, prog *progress.Set) {
	j.mu.Lock()
	j.progress, j.progressOf = prog, id
	j.mu.Unlock()
}

// inFlight returns the backup in flight with its progress now, if there is
// one and id is its id or empty.
func (j *jobs) inFlight(id string) (runnerapi.Backup, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running == nil || (id != "" && j.running.ID != id) {
		return runnerapi.Backup{}, false
	}
	b := *j.running
	if j.progressOf == b.ID {
		b.Progress = runnerapi.ProgressOf(j.progress.Snapshot())
	}
	return b, true
}

// restoreProgress is the progress of restore id while it runs; nil after.
func (j *jobs) restoreProgress(id string) []runnerapi.TargetProgress {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.progressOf != id {
		return nil
	}
	return runnerapi.ProgressOf(j.progress.Snapshot())
}

func sortBackups(bs []runnerapi.Backup) {
	sort.SliceStable(bs, func(i, j int) bool {
		if !bs[i].StartTime.Equal(bs[j].StartTime) {
			return bs[i].StartTime.Before(bs[j].StartTime)
		}
		return bs[i].ID < bs[j].ID
	})
}

// runningID is the id of the backup in flight, or "".
func (j *jobs) runningID() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running == nil {
		return ""
	}
	return j.running.ID
}
