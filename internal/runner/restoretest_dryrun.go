package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// maxListedProblems bounds the refused objects and mismatches a restore
// test's error names; the log has them all.
const maxListedProblems = 10

// dryRunRehearsal restores a kubernetes target as a server-side dry run
// and counts its per-object results against the backup's index. It
// creates nothing, so there is nothing to clean up.
type dryRunRehearsal struct {
	target engine.Target
	dry    engine.DryRunner
}

// planDryRun prepares a kubernetes target's rehearsal, recording the
// server it asks.
func (r *Runner) planDryRun(t engine.Target, out *catalog.RestoreTestTarget) (rehearsal, error) {
	eng, err := r.opts.Engine(t.Spec)
	if err != nil {
		return nil, err
	}
	dry, ok := eng.(engine.DryRunner)
	if !ok {
		return nil, fmt.Errorf("target %q: engine %s cannot restore as a dry run", t.Name(), eng.Name())
	}
	out.Server = eng.Source(t).Identity
	return &dryRunRehearsal{target: t, dry: dry}, nil
}

func (d *dryRunRehearsal) run(ctx context.Context, read func(pipeline.ConsumeFunc) error, out *catalog.RestoreTestTarget) error {
	var res engine.DryRunResult
	err := read(func(rd io.Reader) error {
		var err error
		res, err = d.dry.DryRunRestore(ctx, d.target, rd)
		return err
	})
	if err != nil {
		return err
	}
	out.Counts = []catalog.CountResult{
		{What: "objects in the archive", Backup: int64(res.Indexed), Restored: int64(res.Read)},
		{What: "objects the server accepted", Backup: int64(res.Read), Restored: int64(res.Accepted + res.Unchecked)},
	}
	var errs []error
	if len(res.Mismatches) > 0 {
		errs = append(errs, fmt.Errorf("the archive does not hold what its index lists: %s", listed(res.Mismatches)))
	}
	if len(res.Failed) > 0 {
		errs = append(errs, fmt.Errorf("the server refused %d of %d objects: %s", len(res.Failed), res.Read, listed(res.Failed)))
	}
	if len(errs) == 0 {
		errs = append(errs, countsDiffer(out.Counts))
	}
	return errors.Join(errs...)
}

// cleanup: a dry run leaves nothing behind.
func (*dryRunRehearsal) cleanup(context.Context, *catalog.RestoreTestTarget) bool { return true }

func listed(items []string) string {
	if len(items) <= maxListedProblems {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:maxListedProblems], "; ") + fmt.Sprintf("; and %d more (see the log)", len(items)-maxListedProblems)
}
