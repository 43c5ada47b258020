package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/retention"
)

// DefaultOrphanGrace is how old a backup directory without a manifest must be
// before the sweeper removes it: far longer than any upload.
const DefaultOrphanGrace = retention.DefaultSweepGrace

// PruneReport is what Prune decided and did.
type PruneReport struct {
	Plan retention.Result
	// Swept are orphaned objects (no manifest, older than the grace).
	Swept []string
	// SweptChunks are format 2 chunks no backup references any more, stored
	// longer ago than the grace.
	SweptChunks []string
	// DryRun: nothing was deleted.
	DryRun bool
}

// Policy is the definition's retention policy for the storage the runner
// reads: the offsite copy has its own keep-counts (offsite.go).
func (r *Runner) Policy() retention.Policy {
	if r.From() == v1alpha1.FromOffsite {
		return r.offsitePolicy()
	}
	p := retention.Policy{Location: r.cfg.Location()}
	if rt := r.cfg.Definition.Spec.Retention; rt != nil {
		p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly, p.Manual = rt.Hourly, rt.Daily, rt.Weekly, rt.Monthly, rt.Yearly, rt.Manual
	}
	return p
}

// Prune applies retention now: it deletes the backups that hold no label any
// more (manifest first, then objects), failure records beyond the newest few,
// and orphaned objects older than grace. Any error while listing means zero
// deletions.
func (r *Runner) Prune(ctx context.Context, dryRun bool, grace, inFlight time.Duration) (*PruneReport, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	ms, failures, listErr := r.listing(ctx)
	listing := retention.Listing{Err: listErr}
	for _, m := range ms {
		listing.Backups = append(listing.Backups, retentionBackup(m))
	}
	for _, f := range failures {
		listing.Backups = append(listing.Backups, retention.Backup{ID: f.ID, Start: f.StartTime, Status: phase.Failed})
	}
	policy := r.Policy()
	policy.InFlightWindow = inFlight
	var held map[string]bool
	if r.offsite != nil && listErr == nil {
		// Never delete on the primary what the offsite copy still needs;
		// when that is unknown, delete nothing.
		if held, listErr = r.notYetOffsite(ctx, ms, inFlight); listErr != nil {
			listing.Err = listErr
		}
	}
	rep := &PruneReport{Plan: retention.Plan(listing, policy, r.opts.Now()), DryRun: dryRun}
	holdForOffsite(&rep.Plan, held)
	if listErr != nil {
		return rep, fmt.Errorf("not pruning: the listing is incomplete: %w", listErr)
	}
	var errs []error
	if !dryRun {
		for _, d := range rep.Plan.Delete {
			errs = append(errs, r.deleteDecided(ctx, d))
		}
	}
	swept, err := r.sweep(ctx, ms, dryRun, grace)
	rep.Swept = swept
	errs = append(errs, err)
	planned := map[string]bool{}
	for _, d := range rep.Plan.Delete {
		planned[d.ID] = true
	}
	if grace <= 0 {
		grace = DefaultOrphanGrace
	}
	chunks, err := r.sweepChunks(ctx, dryRun, grace, planned)
	rep.SweptChunks = chunks
	errs = append(errs, err)
	return rep, errors.Join(errs...)
}

func (r *Runner) deleteDecided(ctx context.Context, d retention.Decision) error {
	log := r.opts.Log.With("backup", d.ID, "reason", fmt.Sprint(d.Reasons))
	var err error
	if d.Status == phase.Failed {
		err = r.catalog.DeleteFailure(ctx, d.ID)
	} else {
		err = r.catalog.DeleteBackup(ctx, d.ID)
	}
	if err != nil {
		log.Error("retention could not delete", "error", err)
		return err
	}
	log.Info("retention deleted backup")
	return nil
}

// listing reads committed backups and failure records; an error means the
// view may be incomplete.
func (r *Runner) listing(ctx context.Context) ([]*manifest.Manifest, []catalogFailure, error) {
	ms, err := r.catalog.List(ctx)
	fs, ferr := r.catalog.ListFailures(ctx)
	return ms, fs, errors.Join(err, ferr)
}

func (r *Runner) sweep(ctx context.Context, committed []*manifest.Manifest, dryRun bool, grace time.Duration) ([]string, error) {
	dir := r.catalog.Definition.Dir()
	// The sweep looks at backup directories only (not the chunks beside
	// them, which chunked.Sweep handles).
	objs, err := r.catalog.BackupObjects(ctx)
	in := retention.SweepInput{Err: err, Committed: map[string]bool{}, Now: r.opts.Now(), Grace: grace}
	for _, o := range objs {
		in.Objects = append(in.Objects, retention.StoredObject{Key: layout.Parse(o.Key), ModTime: o.ModTime})
	}
	for _, m := range committed {
		in.Committed[m.ID] = true
	}
	if err != nil {
		return nil, fmt.Errorf("not sweeping: %w", err)
	}
	plan := retention.PlanSweep(in)
	if dryRun {
		return plan.Delete, nil
	}
	if grace <= 0 {
		grace = DefaultOrphanGrace
	}
	incomplete, ierr := r.store.SweepIncomplete(ctx, dir, r.opts.Now().Add(-grace))
	for _, key := range incomplete {
		r.opts.Log.Info("removed an interrupted upload", "object", key)
	}
	errs := []error{ierr}
	for _, key := range plan.Delete {
		if err := r.store.Delete(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("sweeping %s: %w", key, err))
			continue
		}
		r.opts.Log.Info("swept orphaned object", "object", key)
	}
	return append(plan.Delete, incomplete...), errors.Join(errs...)
}
