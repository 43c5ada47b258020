//go:build linux

package filesystem_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// harness runs the suite on directory trees in the test's temporary
// directory.
type harness struct{}

func (harness) Engine() engine.Engine     { return filesystem.New() }
func (harness) Tools() []string           { return nil }
func (harness) Traits() enginetest.Traits { return enginetest.Traits{Local: true} }

func fsTarget(name, path string, excludes ...string) engine.Target {
	return engine.Target{
		Spec:      v1alpha1.Target{Name: name, Filesystem: &v1alpha1.FilesystemTarget{Path: path, Excludes: excludes}},
		Namespace: "enginetest",
	}
}

func (harness) NewTarget(t *testing.T) engine.Target {
	dir := tempDir(t)
	fillTree(t, dir)
	return fsTarget("fs-main", dir)
}

func (harness) NewDestination(t *testing.T, _ engine.Target, create bool) engine.RestoreOptions {
	base := tempDir(t)
	if create {
		return engine.RestoreOptions{IntoPath: base}
	}
	return engine.RestoreOptions{IntoPath: filepath.Join(base, "new", "tree")}
}

func (harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	dir := dest.IntoPath
	if dir == "" {
		dir = target.Spec.Filesystem.Path
	}
	return fingerprint(t, dir, true)
}

// Mutate changes content, a mode, a time and an attribute in place.
func (harness) Mutate(t *testing.T, _ engine.Target, dest engine.RestoreOptions) {
	dir := dest.IntoPath
	must(t, os.WriteFile(filepath.Join(dir, "bytes.bin"), []byte("mutated"), 0o644))
	must(t, os.Chmod(filepath.Join(dir, "empty"), 0o640))
	must(t, os.Chtimes(filepath.Join(dir, "a_large.bin"), time.Time{}, time.Unix(1, 0)))
	must(t, os.Remove(filepath.Join(dir, "links", "sym_rel")))
	must(t, os.Symlink("elsewhere", filepath.Join(dir, "links", "sym_rel")))
}

// tempDir is a t.TempDir that can be removed even when the test left
// read-only directories in it.
func tempDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return dir
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	asRoot = os.Geteuid() == 0
	when   = time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
)

// fillTree writes the variety a restore must reproduce.
func fillTree(t *testing.T, dir string) {
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	large := make([]byte, 3<<20)
	_, _ = mrand.NewChaCha8([32]byte{7}).Read(large)
	must(t, os.WriteFile(p("a_large.bin"), large, 0o644))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	must(t, os.WriteFile(p("bytes.bin"), all, 0o600))
	must(t, os.WriteFile(p("empty"), nil, 0o644))
	must(t, os.Mkdir(p("empty_dir"), 0o750))

	odd := p("Grüße 世界 🎉", "quote ' double \" back\\slash\ttab\nnewline.txt")
	must(t, os.MkdirAll(filepath.Dir(odd), 0o755))
	must(t, os.WriteFile(odd, []byte("odd name\n"), 0o644))
	long := p(strings.Repeat("d", 200), strings.Repeat("e", 200), strings.Repeat("f", 250))
	must(t, os.MkdirAll(filepath.Dir(long), 0o755))
	must(t, os.WriteFile(long, []byte("long path"), 0o644))

	must(t, os.Mkdir(p("links"), 0o755))
	must(t, os.WriteFile(p("links", "hard1"), []byte("shared inode"), 0o644))
	must(t, os.Link(p("links", "hard1"), p("links", "hard2")))
	must(t, os.Link(p("links", "hard1"), p("empty_dir2_hard3")))
	must(t, os.Symlink("../bytes.bin", p("links", "sym_rel")))
	must(t, os.Symlink("/etc/hostname", p("links", "sym_abs")))
	must(t, os.Symlink("nowhere", p("links", "dangling")))
	must(t, os.Symlink(".", p("links", "self")))

	must(t, os.Mkdir(p("modes"), 0o755))
	for name, mode := range map[string]os.FileMode{"setuid": 0o755 | os.ModeSetuid, "setgid": 0o750 | os.ModeSetgid, "readonly": 0o444} {
		must(t, os.WriteFile(p("modes", name), []byte(name), 0o600))
		must(t, os.Chmod(p("modes", name), mode))
	}
	must(t, os.Mkdir(p("modes", "sticky"), 0o700))
	must(t, os.Chmod(p("modes", "sticky"), 0o777|os.ModeSticky))
	must(t, os.Mkdir(p("modes", "locked"), 0o700))
	must(t, os.WriteFile(p("modes", "locked", "inside"), []byte("in a read-only directory"), 0o644))
	must(t, unix.Mkfifo(p("modes", "fifo"), 0o640))

	// A 16 MiB file with two blocks of data: the rest is holes.
	f, err := os.Create(p("sparse.img"))
	must(t, err)
	_, err = f.WriteAt([]byte("start"), 0)
	must(t, err)
	_, err = f.WriteAt([]byte("middle"), 8<<20)
	must(t, err)
	must(t, f.Truncate(16<<20))
	must(t, f.Close())

	if err := unix.Setxattr(p("bytes.bin"), "user.coffer", []byte("\x00bin\xffary"), 0); err == nil {
		must(t, unix.Setxattr(p("empty_dir"), "user.dir", []byte("on a directory"), 0))
	} else if !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	}
	if asRoot {
		must(t, os.Lchown(p("bytes.bin"), 1234, 5678))
		must(t, os.Lchown(p("links", "sym_rel"), 4321, 8765))
		must(t, os.Lchown(p("empty_dir"), 99, 98))
		must(t, unix.Mknod(p("modes", "null"), unix.S_IFCHR|0o640, int(unix.Mkdev(1, 3))))
	}

	// Times last: filling a directory changes its own.
	must(t, os.Chtimes(p("a_large.bin"), time.Time{}, when))
	must(t, os.Chtimes(p("empty"), time.Time{}, time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC)))
	must(t, os.Chtimes(p("bytes.bin"), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)))
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(when.UnixNano() + 17)}
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, p("links", "sym_abs"), ts, unix.AT_SYMLINK_NOFOLLOW))
	must(t, os.Chtimes(p("empty_dir"), time.Time{}, when.Add(time.Hour)))
	must(t, os.Chmod(p("modes", "locked"), 0o555))
	must(t, os.Chtimes(p("modes"), time.Time{}, when.Add(2*time.Hour)))
	must(t, os.Chtimes(dir, time.Time{}, when.Add(3*time.Hour)))
}

// fingerprint describes every entry below dir, and dir itself: type, mode,
// owner, time, size, content, link target, attributes, device, which
// entries share an inode, and (when holes) whether a file has holes.
func fingerprint(t *testing.T, dir string, holes bool) string {
	var lines []string
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%q type=%o mode=%o owner=%d:%d mtime=%d.%09d", rel, st.Mode&unix.S_IFMT, st.Mode&0o7777,
			st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			content, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(content)
			line += fmt.Sprintf(" size=%d sha256=%s", st.Size, hex.EncodeToString(sum[:8]))
			if holes && hasHole(t, p, st.Size) {
				line += " holes"
			}
			if st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" target=%q", target)
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" dev=%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		line += xattrs(p)
		lines = append(lines, line)
		return nil
	})
	must(t, err)
	for _, names := range inodes {
		slices.Sort(names)
		lines = append(lines, fmt.Sprintf("same inode: %q", names))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func hasHole(t *testing.T, p string, size int64) bool {
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
	return err == nil && off < size
}

func xattrs(p string) string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return ""
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	slices.Sort(names)
	var out string
	for _, name := range names {
		v := make([]byte, 4096)
		k, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			out += fmt.Sprintf(" xattr %s: %v", name, err)
			continue
		}
		out += fmt.Sprintf(" xattr %s=%q", name, v[:k])
	}
	return out
}

type syscallStat struct{ size, blocks int64 }

func (s *syscallStat) of(t *testing.T, p string) {
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	s.size, s.blocks = st.Size, st.Blocks
}
