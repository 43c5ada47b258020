package filesystem

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// errProtected: a target or destination overlaps what the runner must never
// read or write (engine.Target.Protected).
var errProtected = errors.New("that is the runner's own config or Secret mount: no target may read it or restore into it")

// protection is what a walk must leave out, by inode, so that no other
// name for it (a symbolic link, a bind mount, "/etc/../etc") gets through.
type protection map[fileID]string

// newProtection stats each path, following links; a path that does not
// exist protects nothing.
func newProtection(paths []string) protection {
	p := protection{}
	for _, path := range paths {
		var st unix.Stat_t
		if unix.Stat(path, &st) == nil {
			p[fileID{dev: st.Dev, ino: st.Ino}] = path
		}
	}
	return p
}

// has reports whether st is a protected file or directory.
func (p protection) has(st *unix.Stat_t) bool {
	_, ok := p[fileID{dev: st.Dev, ino: st.Ino}]
	return ok
}

// checkInside refuses a path that is protected or lies inside a protected
// directory: it and each of its ancestors, with links resolved, are
// compared by inode.
func (p protection) checkInside(path string) error {
	if len(p) == 0 {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		if unix.Stat(dir, &st) == nil && p.has(&st) {
			return fmt.Errorf("%s is inside %s, and %w", path, p[fileID{dev: st.Dev, ino: st.Ino}], errProtected)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// checkContains refuses a directory that holds a protected path (a clean
// restore into it would delete the config).
func (p protection) checkContains(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for _, path := range p {
		real := path
		if r, err := filepath.EvalSymlinks(path); err == nil {
			real = r
		}
		if rel, err := filepath.Rel(abs, real); err == nil && rel != ".." && !filepath.IsAbs(rel) && !startsWithDotDot(rel) {
			return fmt.Errorf("%s holds %s, and %w", dir, path, errProtected)
		}
	}
	return nil
}

func startsWithDotDot(rel string) bool {
	return len(rel) >= 3 && rel[:3] == ".."+string(filepath.Separator)
}
