package filesystem

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// errEscape marks an archive entry that would land outside the destination.
var errEscape = errors.New("entry would be written outside the destination")

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
