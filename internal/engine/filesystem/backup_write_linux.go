package filesystem

import (
	"archive/tar"
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// writer turns items into the archive.
type writer struct {
	ctx context.Context
	tw  *tar.Writer
	rep *report
	buf []byte
}

func (wr *writer) run(items <-chan []item) error {
	for b := range items {
		for i, it := range b {
			if err := wr.write(it); err != nil {
				releaseAll(b[i+1:])
				return err
			}
		}
	}
	return wr.ctx.Err()
}

func (wr *writer) write(it item) error {
	defer it.release()
	if err := wr.tw.WriteHeader(it.hdr); err != nil {
		return err
	}
	switch {
	case it.data != nil:
		_, err := wr.tw.Write((*it.data)[:it.hdr.Size])
		return err
	case it.fd >= 0:
		return wr.copyLarge(it)
	}
	return nil
}

// copyLarge copies a large file and checks that it did not change meanwhile.
func (wr *writer) copyLarge(it item) error {
	rel := it.hdr.Name
	short, err := wr.copyFile(it.fd, rel, it.hdr.Size, it.holes)
	if err != nil {
		return err
	}
	var after unix.Stat_t
	if err := unix.Fstat(it.fd, &after); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	if short || changed(&it.st, &after) {
		wr.rep.changedWhileRead(rel)
	}
	return nil
}
