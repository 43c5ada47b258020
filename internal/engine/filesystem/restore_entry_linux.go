package filesystem

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"
)

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
