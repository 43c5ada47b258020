package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// walkFiles calls fn for each file under dir whose key (its slash-separated
// path below dir) begins with prefix, in the byte order of keys, as object
// stores list them, up to the first key more (when not nil) refuses. It asks
// more about a directory's key ("…/chunks/") before reading the directory,
// and stops there if refused, without reading it. One pass over the tree,
// one lstat per file: fileblob's listing walks the tree from its start again
// for every page of 1,000, and opens (tries to) a metadata file beside every
// file it passes.
func walkFiles(ctx context.Context, dir, prefix string, more func(string) bool, fn func(Object) error) error {
	w := treeWalk{dir: dir, prefix: prefix, more: more, fn: fn}
	err := w.walk(ctx, prefix[:strings.LastIndex(prefix, "/")+1])
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

var errStopped = errors.New("listing stopped")

type treeWalk struct {
	dir, prefix string
	more        func(string) bool
	fn          func(Object) error
}

// walk walks the directory of keys beginning with rel ("" or ending in "/").
// A file or directory removed while it is walked is passed over.
func (w *treeWalk) walk(ctx context.Context, rel string) error {
	dir, prefix := w.dir, w.prefix
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// Nothing under the prefix; where a file stands in for a
		// directory, an object store would list nothing either.
		return nil
	case rel != "" && errors.Is(err, fs.ErrPermission):
		// Passed over as fileblob does: a volume's lost+found, say, which
		// only root may read, holds no object of Coffer's.
		return nil
	}
	if err != nil {
		return err
	}
	// A directory's keys sort as its name with "/": "a-b" before "a/b".
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := rel + e.Name()
		if e.IsDir() {
			key += "/"
		}
		inPrefix := strings.HasPrefix(key, prefix)
		if inPrefix && w.more != nil && !w.more(key) {
			return errStopped
		}
		if e.IsDir() {
			if inPrefix || strings.HasPrefix(prefix, key) {
				if err := w.walk(ctx, key); err != nil {
					return err
				}
			}
			continue
		}
		if !inPrefix {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := w.fn(Object{Key: key, Size: info.Size(), ModTime: info.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

func sortName(e fs.DirEntry) string {
	if e.IsDir() {
		return e.Name() + "/"
	}
	return e.Name()
}
