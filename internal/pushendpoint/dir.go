package pushendpoint

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Dir is the Files of a restore session: it serves the files of a
// directory, read-only. Names cannot leave the directory (os.Root).
type Dir struct {
	root *os.Root
}

var _ Files = (*Dir)(nil)

// OpenDir serves the directory at path. Close it after the session.
func OpenDir(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root}, nil
}

// Put refuses: a restore only reads.
func (d *Dir) Put(context.Context, string, io.Reader, int64) error { return ErrReadOnly }

// Delete refuses: a restore only reads.
func (d *Dir) Delete(string) error { return ErrReadOnly }

// Open opens a regular file of the directory.
func (d *Dir) Open(name string) (File, error) {
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, fs.ErrNotExist
	}
	return &osFile{File: f, modTime: info.ModTime()}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.root.Close() }

type osFile struct {
	*os.File
	modTime time.Time
}

func (f *osFile) ModTime() time.Time { return f.modTime }

// ExtractTar writes the files of a TarSink archive read from r into the
// directory dir, and returns how many entries it wrote. Only regular files
// and directories are accepted, with clean relative names; a later entry
// replaces an earlier one of the same name. Files are 0600, directories
// 0700. After the archive's end, the rest of r is read and discarded, so a
// reader that verifies its stream at EOF gets to do it.
func ExtractTar(ctx context.Context, r io.Reader, dir string) (int, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	r = &ctxReader{ctx: ctx, r: r}
	tr := tar.NewReader(r)
	n := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("reading the archive: %w", err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		if (name == "." || name == "") && hdr.Typeflag == tar.TypeDir {
			continue // the top directory of `tar -C dir -c .`
		}
		if !fs.ValidPath(name) || name == "." {
			return n, fmt.Errorf("archive entry %q: not a clean relative path", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o700); err != nil {
				return n, err
			}
		case tar.TypeReg:
			if err := extractFile(root, name, tr); err != nil {
				return n, err
			}
		default:
			return n, fmt.Errorf("archive entry %q is of type %q: a push archive holds only files and directories", hdr.Name, hdr.Typeflag)
		}
		n++
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return n, fmt.Errorf("reading after the archive's end: %w", err)
	}
	return n, nil
}

func extractFile(root *os.Root, name string, r io.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return fmt.Errorf("extracting %s: %w", name, err)
	}
	return f.Close()
}

// ctxReader stops reading once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
