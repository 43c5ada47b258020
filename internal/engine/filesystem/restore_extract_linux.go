package filesystem

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/sys/unix"
)

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
	case tar.TypeReg: // archive/tar reports old "regular file" entries (TypeRegA) as TypeReg
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
