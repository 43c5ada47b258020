package filesystem

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/internal/engine"
)

const (
	// holeBlock is the granularity at which Restore turns zeros back into
	// holes in a file that was sparse.
	holeBlock = 4 << 10
	// shownEntries is how many entries an ErrNotEmpty message lists.
	shownEntries = 5
)

// errEscape marks an archive entry that would land outside the destination.
var errEscape = errors.New("entry would be written outside the destination")

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

// extractor writes entries below root. Each entry's parent directory is
// reached from root one component at a time with O_NOFOLLOW, so neither a
// symbolic link from the archive nor one planted meanwhile can lead outside.
// The descriptors of the directories on the current path are kept open:
// entries come in directory order, so most entries reuse them.
type extractor struct {
	ctx    context.Context
	root   int
	asRoot bool
	log    *slog.Logger
	buf    []byte

	open  []openDir       // the directories of the last entry's path
	files map[string]bool // regular files extracted: hard-link targets
	dirs  []*tar.Header   // applied last, deepest first
	top   *tar.Header     // the archive's root entry
}

type openDir struct {
	name string
	fd   int
}

func (x *extractor) close() {
	for _, d := range x.open {
		_ = unix.Close(d.fd)
	}
	x.open = nil
	_ = unix.Close(x.root)
}

func (x *extractor) extract(tr *tar.Reader) error {
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// clean splits an entry name into its components, refusing anything that
// is not a plain relative path.
func clean(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("absolute name: %w", errEscape)
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return nil, fmt.Errorf("name holds \"..\": %w", errEscape)
		default:
			parts = append(parts, p)
		}
	}
	return parts, nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	parts, err := clean(hdr.Name)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the archive's root is not a directory")
		}
		x.top = hdr
		return nil
	}
	parent, err := x.parent(parts[:len(parts)-1])
	if err != nil {
		return err
	}
	name := parts[len(parts)-1]
	rel := strings.Join(parts, "/")
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := mkdirat(parent, name); err != nil {
			return err
		}
		hdr.Name = rel
		x.dirs = append(x.dirs, hdr)
		return nil
	case tar.TypeReg, tar.TypeRegA:
		if err := x.file(parent, name, hdr, r); err != nil {
			return err
		}
		x.files[rel] = true
		return nil
	case tar.TypeLink:
		return x.hardlink(parent, name, hdr)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, name); err != nil {
			return err
		}
		return x.meta(parent, name, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return x.special(parent, name, hdr)
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
}

// parent returns a descriptor of the directory dirs (relative to root),
// creating missing directories (0700; an entry of their own may follow).
func (x *extractor) parent(dirs []string) (int, error) {
	keep := 0
	for keep < len(x.open) && keep < len(dirs) && x.open[keep].name == dirs[keep] {
		keep++
	}
	for _, d := range x.open[keep:] {
		_ = unix.Close(d.fd)
	}
	x.open = x.open[:keep]
	for _, name := range dirs[keep:] {
		at := x.root
		if len(x.open) > 0 {
			at = x.open[len(x.open)-1].fd
		}
		fd, err := openDirAt(at, name, true)
		if err != nil {
			return -1, err
		}
		x.open = append(x.open, openDir{name: name, fd: fd})
	}
	if len(x.open) == 0 {
		return x.root, nil
	}
	return x.open[len(x.open)-1].fd, nil
}

// openDirAt opens the directory name below at without following a link,
// creating it first when create is set and it is missing.
func openDirAt(at int, name string, create bool) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(at, name, flags, 0)
	if errors.Is(err, unix.ENOENT) && create {
		if err := mkdirat(at, name); err != nil {
			return -1, err
		}
		fd, err = unix.Openat(at, name, flags, 0)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("%q is not a directory (a symbolic link?): %w", name, errEscape)
	}
	return fd, err
}

// mkdirat creates the directory name below at, or accepts the directory
// that is there; anything else in its place is an error.
func mkdirat(at int, name string) error {
	err := unix.Mkdirat(at, name, 0o700)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(at, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%q exists and is not a directory: %w", name, errEscape)
	}
	return nil
}

// openPath opens the directory dirs below root without the cache: for the
// target of a hard link, while the cache holds the link's own parent.
func (x *extractor) openPath(dirs []string) (int, error) {
	fd, err := unix.Dup(x.root)
	if err != nil {
		return -1, err
	}
	for _, name := range dirs {
		next, err := openDirAt(fd, name, false)
		_ = unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func (x *extractor) file(parent int, name string, hdr *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if hdr.PAXRecords["comment"] == sparseComment {
		err = x.writeSparse(fd, r, hdr.Size)
	} else {
		err = x.write(fd, r)
	}
	if err != nil {
		return err
	}
	return x.fileMeta(fd, hdr)
}

// fileMeta sets what the content write would undo, in the order that keeps
// each: the owner (chown clears set-id bits and capabilities), attributes
// (before the mode, which may forbid writing them), the mode, the time.
func (x *extractor) fileMeta(fd int, hdr *tar.Header) error {
	if err := x.owner(fd, hdr); err != nil {
		return err
	}
	x.xattrs(fd, "", hdr)
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	return futimens(fd, hdr)
}

func (x *extractor) write(fd int, r io.Reader) error {
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, x.buf)
		if n > 0 {
			if err := writeAll(fd, x.buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading the archive: %w", rerr)
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

var zeroHole [holeBlock]byte

// writeSparse writes the content of a file that had holes, seeking over
// every all-zero block so that it becomes a hole again.
func (x *extractor) writeSparse(fd int, r io.Reader, size int64) error {
	var off int64
	for off < size {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, x.buf)
		chunk := x.buf[:n]
		for len(chunk) > 0 {
			k := min(len(chunk), holeBlock)
			if !bytes.Equal(chunk[:k], zeroHole[:k]) {
				// Extend the run of data blocks as far as it goes.
				for k < len(chunk) {
					next := min(len(chunk)-k, holeBlock)
					if bytes.Equal(chunk[k:k+next], zeroHole[:next]) {
						break
					}
					k += next
				}
				if err := pwriteAll(fd, chunk[:k], off); err != nil {
					return err
				}
			}
			chunk, off = chunk[k:], off+int64(k)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading the archive: %w", rerr)
		}
	}
	return unix.Ftruncate(fd, size)
}

func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func (x *extractor) hardlink(parent int, name string, hdr *tar.Header) error {
	target, err := clean(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if !x.files[strings.Join(target, "/")] {
		return fmt.Errorf("hard link to %q, which is not a file restored from this archive: %w", hdr.Linkname, errEscape)
	}
	dir, err := x.openPath(target[:len(target)-1])
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	return unix.Linkat(dir, target[len(target)-1], parent, name, 0)
}

func (x *extractor) special(parent int, name string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if mode != unix.S_IFIFO && !x.asRoot {
		x.log.Warn("device node skipped: creating it needs root", "entry", hdr.Name)
		return nil
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(parent, name, mode|0o600, int(dev)); err != nil {
		return err
	}
	if err := x.meta(parent, name, hdr); err != nil {
		return err
	}
	return unix.Fchmodat(parent, name, uint32(hdr.Mode&0o7777), 0)
}

// meta sets owner, attributes and time of a symbolic link or special file
// through its parent, without following it.
func (x *extractor) meta(parent int, name string, hdr *tar.Header) error {
	if x.asRoot {
		if err := unix.Fchownat(parent, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	x.xattrs(-1, procPath(parent, name), hdr)
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, mtime(hdr)}
	return unix.UtimesNanoAt(parent, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (x *extractor) owner(fd int, hdr *tar.Header) error {
	if !x.asRoot {
		return nil
	}
	return unix.Fchown(fd, hdr.Uid, hdr.Gid)
}

// xattrs restores SCHILY.xattr records. A destination that cannot hold one
// (no support, or a namespace only root may write) is a warning.
func (x *extractor) xattrs(fd int, path string, hdr *tar.Header) {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, name, []byte(v), 0)
		} else {
			err = unix.Lsetxattr(path, name, []byte(v), 0)
		}
		if err != nil {
			x.log.Warn("extended attribute not restored", "entry", hdr.Name, "attribute", name, "error", err)
		}
	}
}

// finishDirs applies the directories' metadata, deepest first, after their
// content: writing into a directory changes its time, and a read-only
// directory could not have been filled.
func (x *extractor) finishDirs() error {
	for _, d := range x.open {
		_ = unix.Close(d.fd)
	}
	x.open = nil
	for i := len(x.dirs) - 1; i >= 0; i-- {
		hdr := x.dirs[i]
		parts, _ := clean(hdr.Name)
		fd, err := x.openPath(parts)
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		err = x.fileMeta(fd, hdr)
		_ = unix.Close(fd)
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	if x.top != nil {
		if err := x.fileMeta(x.root, x.top); err != nil {
			return fmt.Errorf("the destination's own metadata: %w", err)
		}
	}
	return nil
}

func mtime(hdr *tar.Header) unix.Timespec {
	return unix.Timespec{Sec: hdr.ModTime.Unix(), Nsec: int64(hdr.ModTime.Nanosecond())}
}

// futimens sets the modification time of an open file (utimensat with a
// NULL path), and leaves its access time as it is.
func futimens(fd int, hdr *tar.Header) error {
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, mtime(hdr)}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
