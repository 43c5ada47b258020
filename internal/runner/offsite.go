package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/offsite"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/storage"
)

// ErrNoOffsite: the storage names no offsite copy.
var ErrNoOffsite = errors.New("the BackupStorage has no spec.offsite")

// ReasonNotOffsite keeps a backup on the primary that the offsite copy
// still lacks and would keep.
const ReasonNotOffsite = "not yet copied offsite"

func openStore(ctx context.Context, cfg *config.Config, from string) (storage.Store, error) {
	var sc storage.Config
	var err error
	switch from {
	case "", v1alpha1.FromPrimary:
		sc, err = cfg.StorageConfig()
	case v1alpha1.FromOffsite:
		if !cfg.HasOffsite() {
			return nil, fmt.Errorf("%w: %s has no offsite copy to read", ErrNoOffsite, cfg.Path)
		}
		sc, err = cfg.OffsiteStorageConfig()
	default:
		return nil, fmt.Errorf("%w: from %q: must be %s or %s", ErrRequest, from, v1alpha1.FromPrimary, v1alpha1.FromOffsite)
	}
	if err != nil {
		return nil, err
	}
	store, err := storage.Open(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("opening storage %q (%s): %w", cfg.Storage.Name, fromName(from), err)
	}
	return store, nil
}

func fromName(from string) string {
	if from == "" {
		return v1alpha1.FromPrimary
	}
	return from
}

// From is the storage the runner reads: primary or offsite.
func (r *Runner) From() string { return fromName(r.opts.From) }

// HasOffsite reports whether the runner reads the primary and copies to an
// offsite copy.
func (r *Runner) HasOffsite() bool { return r.offsite != nil }

// offsitePolicy is the offsite copy's retention: its own keep-counts when
// the definition sets retention.offsite, else the primary's.
func (r *Runner) offsitePolicy() retention.Policy {
	p := retention.Policy{Location: r.cfg.Location()}
	rt := r.cfg.Definition.Spec.Retention
	switch {
	case rt == nil:
	case rt.Offsite != nil:
		o := rt.Offsite
		p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly, p.Manual = o.Hourly, o.Daily, o.Weekly, o.Monthly, o.Yearly, o.Manual
	default:
		p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly, p.Manual = rt.Hourly, rt.Daily, rt.Weekly, rt.Monthly, rt.Yearly, rt.Manual
	}
	return p
}

// wantOffsite chooses the pending backups worth copying: those the offsite
// retention would keep if they were there, judged over the offsite backups
// and the pending ones together. So an offsite copy that keeps only daily
// backups is sent only the daily ones.
func (r *Runner) wantOffsite(inFlight time.Duration) offsite.Select {
	return func(pending, there []*manifest.Manifest) []*manifest.Manifest {
		var l retention.Listing
		for _, m := range append(append([]*manifest.Manifest(nil), there...), pending...) {
			l.Backups = append(l.Backups, retentionBackup(m))
		}
		p := r.offsitePolicy()
		p.InFlightWindow = inFlight
		keep := map[string]bool{}
		for _, d := range retention.Plan(l, p, r.opts.Now()).Keep {
			keep[d.ID] = true
		}
		var out []*manifest.Manifest
		for _, m := range pending {
			if keep[m.ID] {
				out = append(out, m)
			}
		}
		return out
	}
}

// CopyOffsite copies the backups the offsite copy lacks and would keep
// (docs/offsite.md). The caller holds the definition's lease. An offsite
// copy that belongs to another primary storage is refused with an error
// wrapping offsite.ErrForeignOffsite: the caller must then not apply the
// offsite retention either.
func (r *Runner) CopyOffsite(ctx context.Context, inFlight time.Duration) (offsite.Report, error) {
	if r.offsite == nil {
		return offsite.Report{}, ErrNoOffsite
	}
	c := offsite.Copier{Src: r.catalog, Dst: *r.offsite, Log: r.opts.Log.With("offsite", r.offsite.Store.Describe())}
	return c.Sync(ctx, r.wantOffsite(inFlight))
}

// notYetOffsite are the backups retention of the primary must keep: those
// the offsite copy lacks and would keep. When the offsite copy cannot be
// listed, every backup counts as not copied, so nothing is deleted.
func (r *Runner) notYetOffsite(ctx context.Context, ms []*manifest.Manifest, inFlight time.Duration) (map[string]bool, error) {
	there, err := r.offsite.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the offsite copy: %w", err)
	}
	have := map[string]bool{}
	for _, m := range there {
		have[m.ID] = true
	}
	var pending []*manifest.Manifest
	for _, m := range ms {
		if !have[m.ID] {
			pending = append(pending, m)
		}
	}
	held := map[string]bool{}
	for _, m := range r.wantOffsite(inFlight)(pending, there) {
		held[m.ID] = true
	}
	return held, nil
}

// holdForOffsite moves the planned deletions the offsite copy still needs
// to the kept backups.
func holdForOffsite(plan *retention.Result, held map[string]bool) {
	del := plan.Delete[:0]
	for _, d := range plan.Delete {
		if held[d.ID] && d.Status == phase.Completed {
			d.Keep, d.Reasons = true, []string{ReasonNotOffsite}
			plan.Keep = append(plan.Keep, d)
			continue
		}
		del = append(del, d)
	}
	plan.Delete = del
}
