package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/coffer-dev/coffer/internal/engine"
)

// defaultFile is the name Redis loads from its directory by default.
const defaultFile = "dump.rdb"

var errNoPath = errors.New("a Redis restore writes an RDB file and needs its path (IntoPath); " +
	"it does not load into a running server")

// Restore writes the snapshot in r to the RDB file opts.IntoPath (dump.rdb
// in it, when it is a directory), for a server to load at start. The file
// is written beside its destination, checked, synced and renamed into
// place, so a failed restore leaves no partial file. An existing non-empty
// file is only replaced with opts.Clean.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	c, err := resolve(t)
	if err != nil {
		return err
	}
	if opts.IntoPath == "" {
		return fmt.Errorf("restore of %s: %w", c.where(), errNoPath)
	}
	path := rdbPath(opts.IntoPath)
	if err := writeRDB(ctx, path, r, opts.Clean); err != nil {
		return fmt.Errorf("restore of target %q into %s: %w", t.Name(), path, err)
	}
	return nil
}

func rdbPath(into string) string {
	if fi, err := os.Stat(into); err == nil && fi.IsDir() {
		return filepath.Join(into, defaultFile)
	}
	return into
}

func writeRDB(ctx context.Context, path string, r io.Reader, clean bool) (err error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && !clean {
		return fmt.Errorf("%s holds %d bytes: %w", path, fi.Size(), engine.ErrNotEmpty)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".coffer-restore-*.rdb")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	check := &rdbCheck{w: f}
	buf := make([]byte, chunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := check.Write(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading the snapshot: %w", rerr)
		}
	}
	if err := check.finish(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
