package runner

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/retention"
)

type catalogFailure = catalog.Failure

var userLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ErrBadLabel: a label that cannot be set by hand.
var ErrBadLabel = errors.New("invalid label")

// Label adds and removes user labels of a committed backup (id, or
// "latest"). A backup with a user label (pinned, by convention) is never
// deleted by retention. Time labels and "manual" are given by retention, not
// set. Callers hold the definition's lease; within this process, labelling
// and pruning exclude each other, so a prune that listed the backup before
// it was pinned cannot delete it after.
func (r *Runner) Label(ctx context.Context, id string, add, remove []string) (*manifest.Manifest, error) {
	for _, l := range append(slices.Clone(add), remove...) {
		if !userLabel.MatchString(l) {
			return nil, fmt.Errorf("%w %q: must be lower-case letters, digits and '-'", ErrBadLabel, l)
		}
		if retention.Reserved(l) {
			return nil, fmt.Errorf("%w %q: retention gives it, it cannot be set", ErrBadLabel, l)
		}
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	m, err := r.catalog.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	labels := slices.DeleteFunc(slices.Clone(m.Labels), func(l string) bool { return slices.Contains(remove, l) })
	for _, l := range add {
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	sort.Strings(labels)
	m.Labels = labels
	// Rewriting the manifest is atomic on every backend: readers see the old
	// or the new one, never a torn one.
	if err := r.catalog.Commit(ctx, m); err != nil {
		return nil, err
	}
	r.opts.Log.Info("labels changed", "backup", m.ID, "labels", fmt.Sprint(m.Labels))
	return m, nil
}

// Listed is a committed backup with the labels it holds now: the time labels
// retention gives it under the definition's policy, and its user labels.
type Listed struct {
	*manifest.Manifest
	Labels []string
}

// Backups lists committed backups, oldest first, with their labels. The
// error reports manifests that could not be read (the rest are returned).
func (r *Runner) Backups(ctx context.Context) ([]Listed, error) {
	ms, err := r.catalog.List(ctx)
	if ms == nil {
		return nil, err
	}
	listing := retention.Listing{}
	for _, m := range ms {
		listing.Backups = append(listing.Backups, retentionBackup(m))
	}
	held := map[string][]string{}
	plan := retention.Plan(listing, r.Policy(), r.opts.Now())
	for _, d := range append(plan.Keep, plan.Delete...) {
		held[d.ID] = d.Labels
	}
	out := make([]Listed, 0, len(ms))
	for _, m := range ms {
		labels := held[m.ID]
		if labels == nil {
			labels = []string{}
		}
		out = append(out, Listed{Manifest: m, Labels: labels})
	}
	return out, err
}

// retentionBackup is how retention sees a committed backup.
func retentionBackup(m *manifest.Manifest) retention.Backup {
	return retention.Backup{ID: m.ID, Start: m.StartTime, Status: phase.Completed, UserLabels: m.Labels, Manual: m.Manual()}
}
