package filesystem

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func (r *reader) file(dirfd int, relDir, name string) error {
	rel := relDir + name
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENXIO) {
		// It was replaced by a link or a special file since it was listed.
		return r.entry(dirfd, relDir, dirent{name: name, typ: ^os.FileMode(0)})
	}
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("opening %s: %w", rel, err))
	}
	it := item{fd: fd}
	defer func() { it.release() }() // whatever was not handed over
	if err := unix.Fstat(fd, &it.st); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	st := &it.st
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return r.entry(dirfd, relDir, dirent{name: name, typ: ^os.FileMode(0)})
	}
	if r.prot.has(st) {
		r.rep.log.Warn("left out: the runner's own config", "entry", rel)
		return nil
	}
	if hdr := r.linkHeader(st, rel); hdr != nil {
		return r.sendHeader(hdr)
	}
	it.hdr = header(st, rel, tar.TypeReg)
	it.hdr.Size = st.Size
	r.addXattrs(it.hdr, fd, "", rel)
	markSparse(&it)
	if st.Size <= smallFile && !it.holes {
		if err := r.readSmall(&it, rel); err != nil {
			return err
		}
	}
	err = r.send(it)
	it = item{fd: -1}
	return err
}

// readSmall reads a small file whole and closes it, so the writer gets its
// content ready.
func (r *reader) readSmall(it *item, rel string) error {
	buf := smallBufs.Get().(*[]byte)
	it.data = buf
	data := (*buf)[:it.hdr.Size]
	n, short := 0, false
	for n < len(data) {
		k, err := unix.Pread(it.fd, data[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if k == 0 {
			clear(data[n:]) // it shrank: the header promised the size
			short = true
			break
		}
		n += k
	}
	var after unix.Stat_t
	if err := unix.Fstat(it.fd, &after); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	if short || changed(&it.st, &after) {
		r.rep.changedWhileRead(rel)
	}
	err := unix.Close(it.fd)
	it.fd = -1
	if err != nil {
		return fmt.Errorf("closing %s: %w", rel, err)
	}
	return nil
}

func (r *reader) symlink(dirfd int, rel, name string, st *unix.Stat_t) error {
	target, err := readlinkat(dirfd, name, st.Size)
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("reading link %s: %w", rel, err))
	}
	hdr := header(st, rel, tar.TypeSymlink)
	hdr.Linkname = target
	r.addXattrs(hdr, -1, procPath(dirfd, name), rel)
	return r.sendHeader(hdr)
}

func readlinkat(dirfd int, name string, size int64) (string, error) {
	n := max(int(size)+1, 256)
	for {
		buf := make([]byte, n)
		k, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if k < n {
			return string(buf[:k]), nil
		}
		n *= 2
	}
}

func (r *reader) special(dirfd int, rel, name string, st *unix.Stat_t) error {
	typ := byte(tar.TypeFifo)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = tar.TypeChar
	case unix.S_IFBLK:
		typ = tar.TypeBlock
	}
	hdr := header(st, rel, typ)
	if typ != tar.TypeFifo {
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	}
	r.addXattrs(hdr, -1, procPath(dirfd, name), rel)
	return r.sendHeader(hdr)
}

// procPath names an entry of an open directory for the path-only xattr
// calls: the kernel resolves the directory from the descriptor, and the l*
// calls do not follow the last component.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}
