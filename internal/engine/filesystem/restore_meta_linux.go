package filesystem

import (
	"archive/tar"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
