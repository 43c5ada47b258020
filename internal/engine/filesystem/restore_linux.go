package filesystem

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/internal/engine"
)

// shownEntries is how many entries an ErrNotEmpty message lists.
const shownEntries = 5

// Restore extracts the archive in r into opts.IntoPath, or the target's own
// path. The destination must be missing or empty unless opts.Clean, which
// removes what it holds first. A restore that fails part way leaves what it
// extracted so far.
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

func (e *Engine) restore(ctx context.Context, t engine.Target, dest string, r io.Reader, clean bool) error {
	if dest == "" {
		return errors.New("no destination path")
	}
	if err := prepare(dest, clean); err != nil {
		return err
	}
	root, err := unix.Open(dest, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the destination: %w", err)
	}
	x := &extractor{
		ctx: ctx, root: root, asRoot: os.Geteuid() == 0, files: map[string]bool{},
		log: e.log().With("target", t.Name(), "destination", dest),
		buf: make([]byte, readBufSize),
	}
	defer x.close()
	if err := x.extract(tar.NewReader(r)); err != nil {
		return err
	}
	return x.finishDirs()
}

// prepare makes dest an empty directory: created when missing, refused when
// it holds entries unless clean, and then emptied.
// A symbolic link to a directory is followed: the target's path may be one.
func prepare(dest string, clean bool) error {
	fi, err := os.Stat(dest)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dest, 0o700); err != nil {
			return fmt.Errorf("creating the destination: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dest)
	}
	f, err := os.Open(dest)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("listing the destination: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	if !clean {
		shown := names[:min(len(names), shownEntries)]
		return fmt.Errorf("directory %s holds %d entries (%s): %w", dest, len(names), strings.Join(shown, ", "), engine.ErrNotEmpty)
	}
	for _, name := range names {
		// RemoveAll works with unlinkat below an open directory and does
		// not follow symbolic links.
		if err := os.RemoveAll(filepath.Join(dest, name)); err != nil {
			return fmt.Errorf("cleaning the destination: %w", err)
		}
	}
	return nil
}
