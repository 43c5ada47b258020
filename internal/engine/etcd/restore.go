package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/coffer-dev/coffer/internal/engine"
)

// errNoPath: a snapshot is restored into a file; there is no "own
// location" to default to, since a running cluster cannot take a snapshot
// back through its API.
var errNoPath = errors.New("an etcd snapshot is restored into a file: give its path (--into-path), " +
	"then restore each member's data directory with `etcdutl snapshot restore` (docs/engines.md)")

// Restore writes the snapshot read from r to the file opts.IntoPath, with
// mode 0600 (it holds every key of the cluster). An existing non-empty file
// is ErrNotEmpty unless opts.Clean. The snapshot goes to a temporary file
// next to the destination first, is checked against its trailing SHA-256,
// synced, and only then renamed over the destination: a failed restore
// leaves the destination as it was. The cluster is not contacted.
func (e *Engine) Restore(ctx context.Context, t engine.Target, r io.Reader, opts engine.RestoreOptions) error {
	if t.Spec.Etcd == nil {
		return fmt.Errorf("target %q has no etcd block", t.Name())
	}
	if opts.IntoPath == "" {
		return fmt.Errorf("restore of target %q (etcd): %w", t.Name(), errNoPath)
	}
	if err := restoreFile(ctx, opts.IntoPath, r, opts.Clean); err != nil {
		return fmt.Errorf("restore of target %q (etcd) into %s: %w", t.Name(), opts.IntoPath, err)
	}
	return nil
}

func restoreFile(ctx context.Context, path string, r io.Reader, clean bool) (err error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case info.IsDir():
		return errors.New("the destination is a directory; give the path of the snapshot file to write")
	case !info.Mode().IsRegular():
		return errors.New("the destination is not a regular file")
	case info.Size() > 0 && !clean:
		return fmt.Errorf("the file holds %d bytes: %w", info.Size(), engine.ErrNotEmpty)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".coffer-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp already uses 0600; be explicit, the mode is the point.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	sum := newChecksum()
	out := &writeErr{w: tmp}
	if _, err := io.Copy(io.MultiWriter(out, sum), &ctxReader{ctx: ctx, r: r}); err != nil {
		if out.err != nil {
			return fmt.Errorf("writing %s: %w", tmp.Name(), err)
		}
		return fmt.Errorf("reading the snapshot: %w", err)
	}
	if err := sum.verify(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
