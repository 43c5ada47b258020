package filesystem

import (
	"archive/tar"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// stagingPrefix names the directory a restore extracts into, inside its
// destination, before it replaces what the destination held.
const stagingPrefix = ".coffer-restore-"

// swapIn replaces the entries old of dest by those of stage (a directory
// inside dest), gives dest the archive root's metadata, and removes stage.
// Everything was extracted and checked before: what can still fail here
// is the filesystem itself.
func swapIn(dest, stage string, old []string, top *tar.Header, log *slog.Logger) error {
	for _, name := range old {
		// RemoveAll works with unlinkat below an open directory and does
		// not follow symbolic links.
		if err := os.RemoveAll(filepath.Join(dest, name)); err != nil {
			return fmt.Errorf("removing %s from the destination: %w", name, err)
		}
	}
	names, err := dirNames(stage)
	if err != nil {
		return fmt.Errorf("listing the staging directory: %w", err)
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dest, name)); err != nil {
			return fmt.Errorf("moving %s into the destination: %w", name, err)
		}
	}
	if err := os.Remove(stage); err != nil {
		return fmt.Errorf("removing the staging directory: %w", err)
	}
	fd, err := unix.Open(dest, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the destination: %w", err)
	}
	defer unix.Close(fd)
	if top != nil {
		x := &extractor{asRoot: os.Geteuid() == 0, log: log}
		if err := x.fileMeta(fd, top); err != nil {
			return fmt.Errorf("the destination's own metadata: %w", err)
		}
	}
	return unix.Fsync(fd)
}
