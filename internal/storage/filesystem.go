package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob/fileblob"
)

// openFilesystem stores objects as plain files, so `ls` and `age -d` work on
// them directly.
func openFilesystem(c Config) (*blobStore, error) {
	root, err := filepath.Abs(c.Filesystem.Path)
	if err != nil {
		return nil, fmt.Errorf("open filesystem storage %q: %w", c.Filesystem.Path, err)
	}
	desc := "file://" + filepath.ToSlash(filepath.Join(root, filepath.FromSlash(c.Prefix)))
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("open %s: %s is not a directory", desc, root)
	}
	bucket, err := fileblob.OpenBucket(root, &fileblob.Options{
		// Temp files next to their object: the final rename then never
		// crosses filesystems, which is what makes a Put atomic.
		NoTempDir: true,
		// No .attrs sidecars: an object is exactly one file, and there is no
		// second file to get out of step with it.
		Metadata: fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", desc, err)
	}
	dir := filepath.Join(root, filepath.FromSlash(c.Prefix))
	return &blobStore{
		bucket:      bucket,
		desc:        desc,
		partSize:    c.PartSize,
		concurrency: c.Concurrency,
		syncFile:    true,
		// The rename is durable only once its directory is synced.
		afterPut: func(key string) error {
			return syncDir(filepath.Dir(filepath.Join(dir, filepath.FromSlash(key))))
		},
		createExclusive: func(ctx context.Context, key string, data []byte) error {
			return createExclusiveFile(ctx, filepath.Join(dir, filepath.FromSlash(key)), data)
		},
		listFiles: func(ctx context.Context, prefix string, more func(string) bool, fn func(Object) error) error {
			return walkFiles(ctx, dir, prefix, more, fn)
		},
		// A writer killed before its cleanup leaves "<key>.<hex>.tmp" behind.
		hidden: func(key string) bool { return hiddenName(path.Base(key)) },
		sweepIncomplete: func(ctx context.Context, prefix string, before time.Time) ([]string, error) {
			return sweepTempFiles(ctx, dir, prefix, before)
		},
	}, nil
}

// sweepTempFiles removes temp files older than before under prefix, and the
// directories that are empty afterwards (a killed backup's directory).
func sweepTempFiles(ctx context.Context, dir, prefix string, before time.Time) ([]string, error) {
	// Prefix semantics as on S3: "a/b" matches "a/b/..." and "a/bc".
	start := filepath.Join(dir, filepath.FromSlash(prefix))
	if !strings.HasSuffix(prefix, "/") {
		start = filepath.Dir(start)
	}
	var removed []string
	var dirs []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.IsDir() {
			if p != start {
				dirs = append(dirs, p)
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if !hiddenName(e.Name()) || !strings.HasPrefix(filepath.ToSlash(rel), prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(before) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = append(removed, filepath.ToSlash(rel))
		return nil
	})
	// Deepest first; os.Remove refuses non-empty directories, which is the point.
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i])
	}
	return removed, err
}

// createExclusiveFile writes data to a temp file beside name and hard-links
// it to name. link(2) fails if name exists, atomically, so exactly one of
// several racing writers wins; and name appears complete or not at all.
// fileblob's own IfNotExist checks and renames in two steps, which races.
func createExclusiveFile(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	err = os.Link(tmp.Name(), name)
	if errors.Is(err, fs.ErrExist) {
		return ErrExists
	}
	if err != nil {
		// Some network and FUSE filesystems have no hard links. O_EXCL is
		// still exclusive there; only a reader racing the write could see
		// a short file.
		err = createExclusiveDirect(name, data)
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func createExclusiveDirect(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrExist) {
		return ErrExists
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}

// syncDir makes renames and links in dir survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
