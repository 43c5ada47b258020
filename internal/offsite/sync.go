package offsite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// Select chooses, of the backups the primary has and the offsite copy
// lacks (pending, oldest first), those to copy; offsite are the backups
// already there. Nil copies every pending backup.
type Select func(pending, offsite []*manifest.Manifest) []*manifest.Manifest

// Report is what one Sync found and did.
type Report struct {
	// Copied are the backups copied by this run, oldest first.
	Copied []BackupCopy
	// Relabelled are backups whose offsite manifest was rewritten because
	// their user labels (pinned) changed on the primary.
	Relabelled []string
	// Waiting are the selected backups still not offsite after the run
	// (their copy failed, or the run was cancelled), oldest first.
	Waiting []*manifest.Manifest
	// Failed counts the copies that were tried and failed.
	Failed int
	// Offsite is how many backups the offsite copy holds after the run.
	Offsite int
}

// Bytes is what the run streamed.
func (r Report) Bytes() int64 {
	var n int64
	for _, c := range r.Copied {
		n += c.Bytes
	}
	return n
}

// Sync brings the offsite copy up to date, once Claim says it is this
// primary's copy (before that, nothing is written offsite): it copies each
// selected backup the offsite copy lacks, oldest first, and rewrites offsite manifests
// whose user labels differ from the primary's, so a pin keeps a backup
// offsite too. A failed copy does not stop the others; the error joins
// every failure. Listing errors of the primary (unreadable manifests) are
// reported, and the readable backups are still copied.
func (c Copier) Sync(ctx context.Context, sel Select) (Report, error) {
	var rep Report
	src, srcErr := c.Src.List(ctx)
	if src == nil && srcErr != nil {
		return rep, fmt.Errorf("listing the primary: %w", srcErr)
	}
	dst, err := c.Dst.List(ctx)
	if err != nil && len(catalog.Unreadable(err)) == 0 {
		return rep, fmt.Errorf("listing the offsite copy: %w", err)
	}
	// An offsite manifest that cannot be read is copied again: the copy
	// of the primary's replaces it.
	have := map[string]*manifest.Manifest{}
	for _, m := range dst {
		have[m.ID] = m
	}
	var pending, offsite, relabel []*manifest.Manifest
	errs := []error{listErr("the primary", srcErr)}
	for _, m := range src {
		o, ok := have[m.ID]
		if !ok {
			pending = append(pending, m)
			continue
		}
		offsite = append(offsite, o)
		if !slices.Equal(sortedLabels(o.Labels), sortedLabels(m.Labels)) {
			relabel = append(relabel, m)
		}
	}
	if sel != nil {
		pending = sel(pending, offsite)
	}
	rep.Offsite = len(dst)
	// Nothing is written offsite before the copy is known to be this
	// primary's: the selected backups wait, each counted as a failed copy.
	if err := c.Claim(ctx); err != nil {
		rep.Waiting, rep.Failed = pending, len(pending)
		return rep, errors.Join(append(errs, err)...)
	}
	for _, m := range relabel {
		if err := c.copyManifest(ctx, c.Src.Definition.Backup(m.ID)); err != nil {
			errs = append(errs, err)
		} else {
			rep.Relabelled = append(rep.Relabelled, m.ID)
		}
	}
	st := &run{} // the offsite chunks are listed once for every backup of the run
	for i, m := range pending {
		if ctx.Err() != nil {
			rep.Waiting = append(rep.Waiting, pending[i:]...)
			errs = append(errs, ctx.Err())
			break
		}
		res, err := c.copyBackup(ctx, m, st)
		if err != nil {
			rep.Waiting = append(rep.Waiting, m)
			rep.Failed++
			errs = append(errs, err)
			c.log().Warn("offsite copy failed; the next run retries it", "backup", m.ID, "error", err)
			continue
		}
		rep.Copied = append(rep.Copied, res)
		rep.Offsite++
		c.log().Info("backup copied offsite", "backup", m.ID, "bytes", res.Bytes, "chunks_copied", res.Chunks, "objects_reused", res.Reused)
	}
	return rep, errors.Join(errs...)
}

func listErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("listing %s: %w", what, err)
}

func sortedLabels(ls []string) []string {
	out := slices.Clone(ls)
	slices.Sort(out)
	return out
}

func (c Copier) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}
