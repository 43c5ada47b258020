package filesystem

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// holeBlock is the granularity at which Restore turns zeros back into
// holes in a file that was sparse.
const holeBlock = 4 << 10

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
