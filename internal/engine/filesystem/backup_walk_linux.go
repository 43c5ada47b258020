package filesystem

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// reader walks one tree. It opens every entry relative to its parent
// directory's descriptor and without following symbolic links, so a tree
// that changes under it cannot make it read outside the tree.
type reader struct {
	ctx   context.Context
	ex    excluder
	prot  protection
	rep   *report
	out   chan<- []item
	links map[fileID]string
	batch []item
}

// send queues an entry for the writer; they go in batches, which spares
// a wake-up of the writer per entry.
func (r *reader) send(it item) error {
	r.batch = append(r.batch, it)
	if len(r.batch) < batch {
		return nil
	}
	return r.flush()
}

func (r *reader) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	b := r.batch
	r.batch = make([]item, 0, batch)
	select {
	case r.out <- b:
		return nil
	case <-r.ctx.Done():
		releaseAll(b)
		return r.ctx.Err()
	}
}

func (r *reader) sendHeader(hdr *tar.Header) error {
	return r.send(item{hdr: hdr, fd: -1})
}

func (r *reader) archive(root string) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", root, err)
	}
	hdr := header(&st, "./", tar.TypeDir)
	r.addXattrs(hdr, fd, "", "./")
	if err := r.sendHeader(hdr); err != nil {
		return err
	}
	return r.dir(fd, "")
}

// dir archives what the open directory fd holds; rel is its path in the
// archive ("" for the root, otherwise with a trailing slash).
func (r *reader) dir(fd int, rel string) error {
	names, err := readDir(fd)
	if err != nil {
		return fmt.Errorf("listing %s: %w", displayName(rel), err)
	}
	for _, ent := range names {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.entry(fd, rel, ent); err != nil {
			return err
		}
	}
	return nil
}

// dirent is a directory entry with the type the directory reported.
type dirent struct {
	name string
	typ  os.FileMode // os.ModeType bits; ^0 when unknown
}

// readDir lists fd in name order. It reads through a duplicate, since
// os.File closes its descriptor.
func readDir(fd int) ([]dirent, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "")
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirent, len(ents))
	for i, e := range ents {
		out[i] = dirent{name: e.Name(), typ: e.Type()}
	}
	slices.SortFunc(out, func(x, y dirent) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

func (r *reader) entry(dirfd int, relDir string, ent dirent) error {
	rel := relDir + ent.name
	if ent.typ.IsRegular() {
		if r.ex.excluded(rel, false) {
			return nil
		}
		return r.file(dirfd, relDir, ent.name)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, ent.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return r.vanishedOr(rel, fmt.Errorf("stat %s: %w", rel, err))
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if r.ex.excluded(rel, isDir) {
		return nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return r.file(dirfd, relDir, ent.name)
	case unix.S_IFDIR:
		return r.subdir(dirfd, rel, ent.name)
	case unix.S_IFLNK:
		return r.symlink(dirfd, rel, ent.name, &st)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		return r.special(dirfd, rel, ent.name, &st)
	default: // a socket: tar has no type for it
		r.rep.log.Warn("socket skipped: tar cannot hold it", "entry", rel)
		return nil
	}
}

func (r *reader) subdir(dirfd int, rel, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("opening %s: %w", rel, err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	if r.prot.has(&st) {
		r.rep.log.Warn("left out: the runner's own config or Secret mount", "entry", rel)
		return nil
	}
	hdr := header(&st, rel+"/", tar.TypeDir)
	r.addXattrs(hdr, fd, "", rel)
	if err := r.sendHeader(hdr); err != nil {
		return err
	}
	return r.dir(fd, rel+"/")
}

func displayName(rel string) string {
	if rel == "" {
		return "."
	}
	return path.Clean(rel)
}
