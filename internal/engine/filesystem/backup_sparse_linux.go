package filesystem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// markSparse sets it.holes when the file open as it.fd has holes, and then
// marks its entry with the sparse comment, so that Restore makes them holes
// again.
func markSparse(it *item) {
	st := &it.st
	it.holes = st.Size > 0 && st.Blocks*512 < st.Size && hasHole(it.fd, st.Size)
	if it.holes {
		it.hdr.PAXRecords = withRecord(it.hdr.PAXRecords, "comment", sparseComment)
	}
}

// hasHole reports whether the file has a hole before its end.
func hasHole(fd int, size int64) bool {
	off, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
	return err == nil && off < size
}

// copyFile writes exactly size bytes of fd to the archive. Holes are written
// as zeros without reading them. A file that shrank is padded with zeros
// (short is then true): the header already promised size bytes.
func (wr *writer) copyFile(fd int, rel string, size int64, holes bool) (short bool, err error) {
	var off int64
	for off < size {
		if err := wr.ctx.Err(); err != nil {
			return false, err
		}
		end := size
		if holes {
			data, err := unix.Seek(fd, off, unix.SEEK_DATA)
			switch {
			case errors.Is(err, unix.ENXIO): // only a hole up to the end
				data = size
			case err != nil:
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			if data > off {
				if err := wr.zeros(min(data, size) - off); err != nil {
					return false, err
				}
				off = min(data, size)
				continue
			}
			hole, err := unix.Seek(fd, off, unix.SEEK_HOLE)
			if err != nil {
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			end = min(hole, size)
		}
		for off < end {
			want := min(int64(len(wr.buf)), end-off)
			n, err := unix.Pread(fd, wr.buf[:want], off)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			if n == 0 {
				return true, wr.zeros(size - off)
			}
			if _, err := wr.tw.Write(wr.buf[:n]); err != nil {
				return false, err
			}
			off += int64(n)
		}
	}
	return false, nil
}

var zeroBlock [64 << 10]byte

func (wr *writer) zeros(n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroBlock)))
		if _, err := wr.tw.Write(zeroBlock[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
