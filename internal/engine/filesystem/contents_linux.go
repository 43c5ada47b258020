package filesystem

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/internal/manifest"
)

// CountTree counts what the tree under dir holds, as Counter counts an
// archive of it: every regular file's name, directories below dir,
// symbolic links, special files, and the content bytes of each regular
// file's inode once. Symbolic links are not followed. A restore test
// compares it with the counts its backup recorded.
func CountTree(dir string) (manifest.Contents, error) {
	var c manifest.Contents
	seen := map[fileID]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			c.Directories++
		case unix.S_IFREG:
			c.Files++
			if id := (fileID{dev: st.Dev, ino: st.Ino}); !seen[id] {
				seen[id] = true
				c.Bytes += st.Size
			}
		case unix.S_IFLNK:
			c.Symlinks++
		case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
			c.Special++
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("counting the tree under %s: %w", dir, err)
	}
	return c, nil
}
