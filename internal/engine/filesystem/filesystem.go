// Package filesystem backs up a directory tree as a PAX tar stream and
// restores it, with nothing but Go's archive/tar and the kernel: no tool to
// install, no temporary file.
//
// The archive keeps what GNU tar keeps with --format=pax --xattrs
// --numeric-owner: modes with the set-id and sticky bits, numeric owners,
// modification times to the nanosecond, symbolic links, hard links (as tar
// hard-link entries), device nodes and FIFOs, and extended attributes as
// SCHILY.xattr.* records. Sockets cannot be archived and are skipped with a
// warning. Entries are written in name order, a directory before what it
// holds, so the same tree gives the same archive.
//
// Sparse files: the archive has no sparse entries (archive/tar cannot write
// them), so a hole travels as zeros, which zstd reduces to almost nothing.
// Holes are found with SEEK_HOLE/SEEK_DATA and never read from the disk. The
// entry of a file that has holes carries the PAX comment "coffer: sparse",
// and Restore turns the file's all-zero blocks back into holes.
//
// A live tree changes while it is read. A file that vanished between listing
// and reading is left out with a warning; a file whose size, modification or
// change time moved while it was read is kept, and logged as a warning that
// lists it: its copy may mix old and new content. A file that cannot be read
// (permission denied, I/O error) fails the backup, since a restore would
// silently lack it.
//
// Restore extracts into RestoreOptions.IntoPath, or the target's own path,
// which must be empty or missing unless Clean is set (Clean replaces what the
// directory holds, not the directory: it may be a mount point). No entry
// may leave the destination: absolute names and ".." are refused, and every
// directory on an entry's path is opened without following symbolic links,
// so a link in the archive cannot redirect a later entry. Owners are
// restored only when running as root.
package filesystem

import (
	"github.com/coffer-dev/coffer/internal/manifest"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/coffer-dev/coffer/internal/engine"
)

// Engine is the filesystem engine.
type Engine struct {
	// Log receives the warnings about files that vanished or changed while
	// they were read; nil means slog.Default().
	Log *slog.Logger
}

// New returns the filesystem engine, logging to slog.Default().
func New() *Engine { return &Engine{} }

var _ engine.Engine = (*Engine)(nil)

// Name is "filesystem", the key of the target block.
func (*Engine) Name() string { return "filesystem" }

// Extension is "tar": the dump is a PAX tar archive.
func (*Engine) Extension() string { return "tar" }

// Destinations: a restore may go into another directory.
func (*Engine) Destinations() []engine.Destination {
	return []engine.Destination{engine.DestinationPath}
}

// Source is the directory, or the PersistentVolumeClaim (namespace/name)
// when the target names one: the two are different kinds, so a backup of
// a runner's own directory can never be restored into a tenant's volume.
func (*Engine) Source(t engine.Target) manifest.Source {
	if pvc := t.Spec.Filesystem.PersistentVolumeClaim; pvc != "" {
		return manifest.Source{Kind: manifest.SourceVolume, Identity: t.Namespace + "/" + pvc}
	}
	return manifest.Source{Kind: manifest.SourcePath, Identity: filepath.Clean(t.Spec.Filesystem.Path)}
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// toolVersion describes the archiver for the manifest: the archive is
// written by Coffer itself.
func toolVersion() string {
	return "coffer archive/tar PAX (" + runtime.Version() + ")"
}

// sparseComment marks, in a PAX comment record, the entry of a file that
// had holes. A comment is the one PAX record every reader ignores silently.
const sparseComment = "coffer: sparse"
