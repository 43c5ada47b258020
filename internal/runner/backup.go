package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/progress"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// cleanupTimeout bounds the removal of a failed backup's objects, which runs
// even when the backup's own context was cancelled.
const cleanupTimeout = 2 * time.Minute

// FailedError is the error of a backup set that failed; ID names the attempt.
type FailedError struct {
	ID  string
	Err error
}

func (e *FailedError) Error() string { return fmt.Sprintf("backup %s failed: %v", e.ID, e.Err) }

func (e *FailedError) Unwrap() error { return e.Err }

// BackupRequest says how a backup set is started. The zero value is an
// on-demand backup taken now.
type BackupRequest struct {
	// ID and Start are chosen by a caller that announces the id before the
	// backup ends (the daemon); empty means a new id, now.
	ID    string
	Start time.Time
	// Scheduled: started by the cron schedule. Every other backup is on
	// demand, recorded as manual and kept by retention's manual rule.
	Scheduled bool
	// Pinned commits the backup with the pinned label, so retention keeps it
	// until the label is removed.
	Pinned bool
	// RequestKey is recorded in the manifest or the failure record, so the
	// daemon can tell a repeated request (runnerapi.BackupRequest).
	RequestKey string
	// Progress, when set, counts each target's bytes while it runs (the
	// daemon shows it in its API); it must hold the config's targets.
	Progress *progress.Set
}

// Trigger is what the manifest records about how the backup started.
func (q BackupRequest) Trigger() manifest.Trigger {
	if q.Scheduled {
		return manifest.TriggerSchedule
	}
	return manifest.TriggerManual
}

// Backup takes one backup set: every target starts together, and the set is
// committed (its manifest written) only if every target succeeded. On
// failure the objects already written are removed, nothing is listed, and
// the error is a *FailedError.
func (r *Runner) Backup(ctx context.Context, req BackupRequest) (*manifest.Manifest, error) {
	if req.Start.IsZero() {
		req.Start = r.opts.Now().UTC()
	}
	if req.ID == "" {
		req.ID = layout.NewID(req.Start)
	}
	id := req.ID
	recipients, err := r.cfg.Recipients()
	if err != nil {
		return nil, &FailedError{ID: id, Err: err}
	}
	targets := r.cfg.Targets()
	engines := make([]engine.Engine, len(targets))
	for i, t := range targets {
		if engines[i], err = r.opts.Engine(t.Spec); err != nil {
			return nil, &FailedError{ID: id, Err: fmt.Errorf("target %q: %w", t.Name(), err)}
		}
	}
	log := r.opts.Log.With("backup", id, "namespace", r.cfg.Namespace(), "definition", r.cfg.Name())
	log.Info("backup started", "targets", len(targets))

	popts := r.opts.Pipeline
	popts.Recipients = recipients
	if c := r.cfg.Storage.Spec.Compression; c != nil && popts.Level == zframe.Fastest {
		if popts.Level, err = zframe.ParseLevel(c.Level); err != nil {
			return nil, &FailedError{ID: id, Err: fmt.Errorf("spec.compression.level: %w", err)}
		}
	}
	r.chunkMu.RLock()
	defer r.chunkMu.RUnlock()
	run, err := r.startChunkRun(ctx, len(recipients) > 0)
	if err != nil {
		return nil, &FailedError{ID: id, Err: err}
	}
	results, errs := r.backupTargets(ctx, log, id, targets, engines, popts, run, req.Progress)
	err = rootCauses(errs)
	if err == nil {
		m := r.newManifest(req, results, len(recipients) > 0)
		if run != nil {
			m.FormatVersion, m.Chunking = manifest.FormatChunked, r.chunking(run, len(recipients) > 0)
			err = r.confirmChunks(ctx, m)
		}
		if err == nil {
			err = r.catalog.Commit(ctx, m)
		}
		if err == nil {
			log.Info("backup completed", "trigger", m.Trigger, "labels", fmt.Sprint(m.Labels), "duration", m.EndTime.Sub(m.StartTime).Round(time.Millisecond), "skew", time.Duration(m.StartSkew))
			return m, nil
		}
	}
	if cause := context.Cause(ctx); ctx.Err() != nil && cause != ctx.Err() {
		err = fmt.Errorf("%v: %w", cause, err) // why it was cancelled: the daemon's drain, a lost lease
	}
	r.cleanupFailed(ctx, log, req, targets, errs, err)
	return nil, &FailedError{ID: id, Err: err}
}

// cleanupFailed removes a failed set's objects and, in daemon mode, records
// the failure. It runs on a fresh context: the backup's own may be cancelled.
func (r *Runner) cleanupFailed(ctx context.Context, log *slog.Logger, req BackupRequest, targets []engine.Target, errs []error, err error) {
	id := req.ID
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if cerr := r.catalog.DeleteObjects(cctx, id); cerr != nil {
		log.Warn("could not remove the failed backup's objects; the orphan sweeper will", "error", cerr)
	}
	log.Error("backup failed", "error", err)
	if !r.opts.RecordFailures {
		return
	}
	f := catalog.Failure{ID: id, StartTime: req.Start, EndTime: r.opts.Now().UTC(), Error: err.Error(), RequestKey: req.RequestKey}
	for i, t := range targets {
		ft := catalog.FailureTarget{Name: t.Name()}
		if i < len(errs) && errs[i] != nil {
			ft.Error = errs[i].Error()
		}
		f.Targets = append(f.Targets, ft)
	}
	if ferr := r.catalog.RecordFailure(cctx, f); ferr != nil {
		log.Warn("could not record the failure", "error", ferr)
	}
}

// backupTargets runs all targets at once; the first failure cancels the rest,
// since the set cannot complete any more.
func (r *Runner) backupTargets(ctx context.Context, log *slog.Logger, id string, targets []engine.Target, engines []engine.Engine, popts pipeline.Options, run *chunkRun, prog *progress.Set) ([]manifest.Target, []error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]manifest.Target, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := prog.Target(targets[i].Name())
			tp.Start(r.opts.Now())
			results[i], errs[i] = r.backupTarget(ctx, log, id, targets[i], engines[i], popts, run, tp)
			tp.End(errs[i])
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return results, errs
}

// rootCauses joins the targets' errors, leaving out the cancellations that
// another target's failure caused, so the message names what went wrong.
func rootCauses(errs []error) error {
	var causes, cancelled []error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			cancelled = append(cancelled, err)
		default:
			causes = append(causes, err)
		}
	}
	if len(causes) == 0 {
		return errors.Join(cancelled...)
	}
	return errors.Join(causes...)
}

func (r *Runner) backupTarget(ctx context.Context, log *slog.Logger, id string, t engine.Target, eng engine.Engine, popts pipeline.Options, run *chunkRun, tp *progress.Target) (manifest.Target, error) {
	key := r.catalog.Definition.Backup(id).ObjectKey(t.Name(), eng.Extension(), len(popts.Recipients) > 0)
	src := eng.Source(t)
	rec := manifest.Target{Name: t.Name(), Engine: eng.Name(), Object: key, StartTime: r.opts.Now().UTC(), Source: &src}
	log = log.With("target", t.Name(), "engine", eng.Name())
	log.Info("target started")
	if run != nil {
		res, err := r.backupChunked(ctx, run, t, eng, popts, &rec, tp)
		if err != nil {
			return rec, fmt.Errorf("target %q: %w", t.Name(), err)
		}
		rec.EndTime = r.opts.Now().UTC()
		rec.ServerVersion, rec.ToolVersion, rec.Database = res.ServerVersion, res.ToolVersion, res.Database
		log.Info("target stored", "chunks", len(rec.Chunks), "dump_bytes", rec.PlainSize, "stored_bytes", rec.Size,
			"duration", rec.EndTime.Sub(rec.StartTime).Round(time.Millisecond))
		return rec, nil
	}
	var res engine.Result
	var counter engine.ArchiveCounter
	sums, err := pipeline.Backup(ctx, countStored(r.store, tp), key, popts, func(ctx context.Context, w io.Writer) error {
		w = tp.PlainWriter(w)
		if c, ok := eng.(engine.Counting); ok {
			counter = c.NewCounter()
			w = io.MultiWriter(w, counter)
		}
		var err error
		res, err = eng.Backup(ctx, t, w)
		return err
	})
	if err != nil {
		if counter != nil {
			counter.Abort()
		}
		return rec, fmt.Errorf("target %q: %w", t.Name(), err)
	}
	if counter != nil {
		rec.Contents = finishCount(log, counter)
	}
	rec.EndTime = r.opts.Now().UTC()
	rec.Size, rec.SHA256, rec.PlainSize, rec.PlainSHA256 = sums.Size, sums.SHA256, sums.PlainSize, sums.PlainSHA256
	rec.ServerVersion, rec.ToolVersion, rec.Database = res.ServerVersion, res.ToolVersion, res.Database
	log.Info("target stored", "object", key, "dump_bytes", sums.PlainSize, "stored_bytes", sums.Size,
		"duration", rec.EndTime.Sub(rec.StartTime).Round(time.Millisecond))
	return rec, nil
}

func (r *Runner) newManifest(req BackupRequest, targets []manifest.Target, encrypted bool) *manifest.Manifest {
	m := &manifest.Manifest{
		FormatVersion: manifest.FormatVersion, ID: req.ID, Namespace: r.cfg.Namespace(), Definition: r.cfg.Name(),
		Status: phase.Completed, StartTime: req.Start, EndTime: r.opts.Now().UTC(), Labels: []string{},
		Trigger: req.Trigger(), RequestKey: req.RequestKey, Compression: "zstd", Tools: manifest.Tools{Coffer: r.opts.Version}, Targets: targets,
	}
	if req.Pinned {
		m.Labels = []string{retention.LabelPinned}
	}
	if encrypted {
		m.Encryption = &manifest.Encryption{Type: "age", Recipients: r.cfg.Storage.Spec.Encryption.Recipients}
	}
	first, last := targets[0].StartTime, targets[0].StartTime
	for _, t := range targets[1:] {
		if t.StartTime.Before(first) {
			first = t.StartTime
		}
		if t.StartTime.After(last) {
			last = t.StartTime
		}
	}
	m.StartSkew = manifest.Duration(last.Sub(first))
	return m
}

// finishCount returns an archive's counts for the manifest, or nil (and a
// warning) when the archive could not be counted: the backup itself is
// whole, only a restore test cannot compare counts with it.
func finishCount(log *slog.Logger, c engine.ArchiveCounter) *manifest.Contents {
	n, err := c.Finish()
	if err != nil {
		log.Warn("the archive's entries could not be counted: a restore test will not compare counts", "error", err)
		return nil
	}
	return &n
}
