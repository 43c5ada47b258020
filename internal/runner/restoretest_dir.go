package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
)

// dirRehearsal restores a filesystem target (a path or a volume) into a
// scratch directory on the runner, compares what it holds with the counts
// the backup recorded, and removes it.
type dirRehearsal struct {
	r      *Runner
	target engine.Target
	engine engine.Engine
	// want is nil for backups written before counts were recorded.
	want *manifest.Contents
}

// planDirectory prepares a filesystem target's rehearsal, recording its
// scratch directory.
func (r *Runner) planDirectory(rt v1alpha1.RestoreTestTarget, t engine.Target, mt manifest.Target, scratch string, out *catalog.RestoreTestTarget) (rehearsal, error) {
	parent, err := scratchParent(rt)
	if err != nil {
		return nil, err
	}
	eng, err := r.opts.Engine(t.Spec)
	if err != nil {
		return nil, err
	}
	out.Directory = filepath.Join(parent, scratch)
	return &dirRehearsal{r: r, target: t, engine: eng, want: mt.Contents}, nil
}

// scratchParent is the absolute directory a target's scratch directories
// are created in.
func scratchParent(rt v1alpha1.RestoreTestTarget) (string, error) {
	dir := rt.ScratchDirectory
	if dir == "" {
		dir = os.TempDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("target %q: scratch directory %q: %w", rt.Name, dir, err)
	}
	return abs, nil
}

// run creates the scratch directory (it must not exist), restores into it
// and compares the counts.
func (d *dirRehearsal) run(ctx context.Context, read func(pipeline.ConsumeFunc) error, out *catalog.RestoreTestTarget) error {
	if err := os.Mkdir(out.Directory, 0o700); err != nil {
		out.Dropped = true // nothing this test made is there to remove
		return fmt.Errorf("creating the scratch directory: %w", err)
	}
	out.Created = true
	err := read(func(rd io.Reader) error {
		return d.engine.Restore(ctx, d.target, rd, engine.RestoreOptions{IntoPath: out.Directory})
	})
	if err != nil {
		return fmt.Errorf("restoring into scratch directory %s: %w", out.Directory, err)
	}
	if d.want == nil {
		d.r.opts.Log.Warn("the backup recorded no counts (written by an older Coffer): only a complete restore was checked",
			"target", out.Name)
		return nil
	}
	got, err := filesystem.CountTree(out.Directory)
	if err != nil {
		return err
	}
	out.Counts = []catalog.CountResult{
		{What: "files", Backup: d.want.Files, Restored: got.Files},
		{What: "directories", Backup: d.want.Directories, Restored: got.Directories},
		{What: "symlinks", Backup: d.want.Symlinks, Restored: got.Symlinks},
		{What: "bytes", Backup: d.want.Bytes, Restored: got.Bytes},
	}
	return countsDiffer(out.Counts)
}

// countsDiffer names every count whose restored value differs from the
// backup's.
func countsDiffer(counts []catalog.CountResult) error {
	var errs []error
	for _, c := range counts {
		if c.Backup != c.Restored {
			errs = append(errs, fmt.Errorf("%s: the backup recorded %d, the restore produced %d", c.What, c.Backup, c.Restored))
		}
	}
	return errors.Join(errs...)
}

// cleanup removes the scratch directory, whatever it holds.
func (d *dirRehearsal) cleanup(_ context.Context, out *catalog.RestoreTestTarget) bool {
	if err := removeScratchDir(out.Directory); err != nil {
		d.r.opts.Log.Error("removing a scratch directory failed; the next restore test tries again",
			"directory", out.Directory, "error", err)
		return false
	}
	return true
}

// removeScratchDir removes dir and everything under it. A restored tree
// may hold directories without write or search permission (as backed
// up): those are made accessible first. Symbolic links are never
// followed.
func removeScratchDir(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700) // before WalkDir reads it
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// cleanDirectory removes one leftover scratch directory and reports
// whether the record changed: only a directory named with the scratch
// prefix, in the directory the target's scratch directories go to now.
func (r *Runner) cleanDirectory(id string, t *catalog.RestoreTestTarget) bool {
	log := r.opts.Log.With("restore_test", id, "directory", t.Directory)
	parent, err := scratchParent(r.configuredTest(t.Name))
	if err != nil || !filepath.IsAbs(t.Directory) || filepath.Dir(t.Directory) != parent ||
		!strings.HasPrefix(filepath.Base(t.Directory), ScratchPrefix) {
		log.Warn("not removing a leftover scratch directory: it is not in the target's scratch directory now; remove it by hand", "now", parent)
		return false
	}
	if err := removeScratchDir(t.Directory); err != nil {
		log.Error("removing a leftover scratch directory failed; the next run tries again", "error", err)
		return false
	}
	log.Info("removed a scratch directory a stopped restore test left")
	t.Dropped = true
	return true
}
