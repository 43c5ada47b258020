package filesystem

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/internal/engine"
)

// shownEntries is how many entries an ErrNotEmpty message lists.
const shownEntries = 5

// Restore extracts the archive in r into opts.IntoPath, or the target's own
// path. The destination must be missing or empty unless opts.Clean, which
// replaces what it holds. A restore that fails while extracting leaves the
// destination as it was (see restore).
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	spec := t.Spec.Filesystem
	if spec == nil {
		return fmt.Errorf("target %q has no filesystem block", t.Name())
	}
	dest := spec.Path
	if opts.IntoPath != "" {
		dest = opts.IntoPath
	}
	prot := newProtection(t.Protected)
	if err := prot.checkInside(dest); err != nil {
		return fmt.Errorf("restore of target %q: %w", t.Name(), err)
	}
	if err := prot.checkContains(dest); err != nil {
		return fmt.Errorf("restore of target %q: %w", t.Name(), err)
	}
	if err := e.restore(ctx, t, dest, r, opts.Clean); err != nil {
		return fmt.Errorf("restore of target %q into %s: %w", t.Name(), dest, err)
	}
	return nil
}

var _ engine.Atomic = (*Engine)(nil)

// RestoresAtomically is true: a restore that fails while extracting, its
// input failing included, removes its staging directory and leaves the
// destination as it was (restore). What can still fail after the whole
// archive was extracted is moving it in, and the error then says so.
func (*Engine) RestoresAtomically(engine.Target, engine.RestoreOptions) bool { return true }

// restore extracts into a staging directory inside dest, and only when the
// whole archive is on disk replaces what dest held (with clean) by it, so
// a restore that fails while extracting leaves dest as it found it. The
// staging directory lives inside dest because dest may be a mount point
// (a volume), where a sibling would be another filesystem.
func (e *Engine) restore(ctx context.Context, t engine.Target, dest string, r io.Reader, clean bool) error {
	if dest == "" {
		return errors.New("no destination path")
	}
	created, old, err := prepare(dest, clean)
	if err != nil {
		return err
	}
	var was unix.Stat_t
	_ = unix.Stat(dest, &was)
	stage, err := os.MkdirTemp(dest, stagingPrefix)
	if err != nil {
		return fmt.Errorf("creating the staging directory: %w", err)
	}
	top, err := e.extractInto(ctx, t, stage, dest, r)
	if err != nil {
		_ = os.RemoveAll(stage)
		if created {
			_ = os.Remove(dest)
		} else {
			// The staging directory came and went: dest's times as they were.
			_ = unix.UtimesNano(dest, []unix.Timespec{was.Atim, was.Mtim})
		}
		return err
	}
	if err := swapIn(dest, stage, old, top, e.log()); err != nil {
		return fmt.Errorf("%w (the destination may be partly replaced; the complete restore is in %s)", err, stage)
	}
	return nil
}

// extractInto extracts the archive into stage and returns the header of
// the archive's root, whose metadata belongs to dest.
func (e *Engine) extractInto(ctx context.Context, t engine.Target, stage, dest string, r io.Reader) (*tar.Header, error) {
	root, err := unix.Open(stage, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the staging directory: %w", err)
	}
	x := &extractor{
		ctx: ctx, root: root, asRoot: os.Geteuid() == 0, files: map[string]bool{},
		log: e.log().With("target", t.Name(), "destination", dest),
		buf: make([]byte, readBufSize),
	}
	defer x.close()
	if err := x.extract(tar.NewReader(r)); err != nil {
		return nil, err
	}
	top := x.top
	x.top = nil // applied to dest once the entries are there
	if err := x.finishDirs(); err != nil {
		return nil, err
	}
	return top, nil
}

// prepare makes sure dest is a directory that may receive the restore:
// created when missing (created is true), refused when it holds entries
// unless clean. It returns the entries dest holds, which the restore
// replaces once it has extracted everything.
// A symbolic link to a directory is followed: the target's path may be one.
func prepare(dest string, clean bool) (created bool, old []string, err error) {
	fi, err := os.Stat(dest)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dest, 0o700); err != nil {
			return false, nil, fmt.Errorf("creating the destination: %w", err)
		}
		return true, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	if !fi.IsDir() {
		return false, nil, fmt.Errorf("%s is not a directory", dest)
	}
	names, err := dirNames(dest)
	if err != nil {
		return false, nil, fmt.Errorf("listing the destination: %w", err)
	}
	if len(names) > 0 && !clean {
		shown := names[:min(len(names), shownEntries)]
		return false, nil, fmt.Errorf("directory %s holds %d entries (%s): %w", dest, len(names), strings.Join(shown, ", "), engine.ErrNotEmpty)
	}
	return false, names, nil
}

func dirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
