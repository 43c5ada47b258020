package filesystem

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coffer-dev/coffer/internal/engine"
)

const (
	// readBufSize is the buffer through which large files are copied.
	readBufSize = 1 << 20
	// smallFile is the largest file the reader reads whole ahead of the
	// writer.
	smallFile = 32 << 10
	// batch entries go from the reader to the writer at once, and up to
	// queued batches wait: memory stays under (queued+2)*batch*smallFile.
	batch  = 32
	queued = 8
	// outBufSize batches the many small header writes of small files.
	outBufSize = 256 << 10
	// shownPaths is how many paths a summary warning lists.
	shownPaths = 20
)

// Backup streams a PAX tar archive of the target's directory to w.
//
// Two goroutines share the work, so that system calls and archive
// formatting overlap: a reader walks the tree, stats entries and reads
// small files whole, and the writer (the caller's goroutine) formats the
// headers, copies large files and writes to w.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	spec := t.Spec.Filesystem
	if spec == nil {
		return engine.Result{}, fmt.Errorf("target %q has no filesystem block", t.Name())
	}
	where := fmt.Sprintf("target %q (filesystem %s)", t.Name(), spec.Path)
	ex, err := newExcluder(spec.Excludes)
	if err != nil {
		return engine.Result{}, fmt.Errorf("backup of %s: %w", where, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rep := &report{log: e.log().With("target", t.Name(), "path", spec.Path)}
	items := make(chan []item, queued)
	r := &reader{ctx: ctx, ex: ex, rep: rep, out: items, links: map[fileID]string{}}
	var readErr error
	go func() {
		defer close(items)
		readErr = r.archive(spec.Path)
		if readErr == nil {
			readErr = r.flush()
		} else {
			releaseAll(r.batch)
		}
	}()

	out := bufio.NewWriterSize(w, outBufSize)
	wr := &writer{ctx: ctx, tw: tar.NewWriter(out), rep: rep, buf: make([]byte, readBufSize)}
	err = wr.run(items)
	if err != nil {
		cancel()
		for b := range items { // let the reader finish, and release what it queued
			releaseAll(b)
		}
	}
	if err == nil {
		err = readErr // set before items was closed
	}
	if err == nil {
		err = wr.tw.Close()
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		return engine.Result{}, fmt.Errorf("backup of %s: %w", where, err)
	}
	rep.summarize()
	return engine.Result{ToolVersion: toolVersion()}, nil
}

// fileID identifies an inode, to find the other names of a hard link.
type fileID struct{ dev, ino uint64 }

// item is one archive entry, passed from the reader to the writer.
type item struct {
	hdr *tar.Header
	// data is the whole content of a small file, in a pooled buffer.
	data *[]byte
	// fd is an open large file the writer copies and closes; -1 otherwise.
	fd int
	// st is the large file's stat before reading, holes whether it has any.
	st    unix.Stat_t
	holes bool
}

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

// release gives back what an item holds, when it will not be written.
func (it item) release() {
	if it.data != nil {
		smallBufs.Put(it.data)
	}
	if it.fd >= 0 {
		_ = unix.Close(it.fd)
	}
}

// report collects the entries that changed or vanished under the backup.
type report struct {
	log               *slog.Logger
	mu                sync.Mutex
	changed, vanished []string
}

func (r *report) changedWhileRead(rel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, rel)
	r.log.Warn("file changed while it was read: its copy may mix old and new content", "entry", rel)
}

func (r *report) vanishedEntry(rel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vanished = append(r.vanished, rel)
	r.log.Warn("entry vanished while the tree was read: left out", "entry", rel)
}

// summarize repeats, once, what changed under the backup.
func (r *report) summarize() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.changed) > 0 {
		r.log.Warn("the backup holds files that changed while they were read",
			"count", len(r.changed), "entries", r.changed[:min(len(r.changed), shownPaths)])
	}
	if len(r.vanished) > 0 {
		r.log.Warn("entries vanished while the tree was read and are not in the backup",
			"count", len(r.vanished), "entries", r.vanished[:min(len(r.vanished), shownPaths)])
	}
}

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

func releaseAll(items []item) {
	for _, it := range items {
		it.release()
	}
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

func changed(before, after *unix.Stat_t) bool {
	return after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim
}

// reader walks one tree. It opens every entry relative to its parent
// directory's descriptor and without following symbolic links, so a tree
// that changes under it cannot make it read outside the tree.
type reader struct {
	ctx   context.Context
	ex    excluder
	rep   *report
	out   chan<- []item
	links map[fileID]string
	batch []item
}

// send queues an entry for the writer; they go in batches, which spares
// a wake-up of the writer per entry.
func (r *reader) send(it item) error {
	r.batch = append(r.batch, it)
	if len(r.batch) < batch {
		return nil
	}
	return r.flush()
}

func (r *reader) flush() error {
	if len(r.batch) == 0 {
		return nil
	}
	b := r.batch
	r.batch = make([]item, 0, batch)
	select {
	case r.out <- b:
		return nil
	case <-r.ctx.Done():
		releaseAll(b)
		return r.ctx.Err()
	}
}

func (r *reader) sendHeader(hdr *tar.Header) error {
	return r.send(item{hdr: hdr, fd: -1})
}

func (r *reader) archive(root string) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", root, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", root, err)
	}
	hdr := header(&st, "./", tar.TypeDir)
	r.addXattrs(hdr, fd, "", "./")
	if err := r.sendHeader(hdr); err != nil {
		return err
	}
	return r.dir(fd, "")
}

// dir archives what the open directory fd holds; rel is its path in the
// archive ("" for the root, otherwise with a trailing slash).
func (r *reader) dir(fd int, rel string) error {
	names, err := readDir(fd)
	if err != nil {
		return fmt.Errorf("listing %s: %w", displayName(rel), err)
	}
	for _, ent := range names {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.entry(fd, rel, ent); err != nil {
			return err
		}
	}
	return nil
}

// dirent is a directory entry with the type the directory reported.
type dirent struct {
	name string
	typ  os.FileMode // os.ModeType bits; ^0 when unknown
}

// readDir lists fd in name order. It reads through a duplicate, since
// os.File closes its descriptor.
func readDir(fd int) ([]dirent, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "")
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirent, len(ents))
	for i, e := range ents {
		out[i] = dirent{name: e.Name(), typ: e.Type()}
	}
	slices.SortFunc(out, func(x, y dirent) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

func (r *reader) entry(dirfd int, relDir string, ent dirent) error {
	rel := relDir + ent.name
	if ent.typ.IsRegular() {
		if r.ex.excluded(rel, false) {
			return nil
		}
		return r.file(dirfd, relDir, ent.name)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, ent.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return r.vanishedOr(rel, fmt.Errorf("stat %s: %w", rel, err))
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if r.ex.excluded(rel, isDir) {
		return nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return r.file(dirfd, relDir, ent.name)
	case unix.S_IFDIR:
		return r.subdir(dirfd, rel, ent.name)
	case unix.S_IFLNK:
		return r.symlink(dirfd, rel, ent.name, &st)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		return r.special(dirfd, rel, ent.name, &st)
	default: // a socket: tar has no type for it
		r.rep.log.Warn("socket skipped: tar cannot hold it", "entry", rel)
		return nil
	}
}

func (r *reader) subdir(dirfd int, rel, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("opening %s: %w", rel, err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	hdr := header(&st, rel+"/", tar.TypeDir)
	r.addXattrs(hdr, fd, "", rel)
	if err := r.sendHeader(hdr); err != nil {
		return err
	}
	return r.dir(fd, rel+"/")
}

func (r *reader) file(dirfd int, relDir, name string) error {
	rel := relDir + name
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENXIO) {
		// It was replaced by a link or a special file since it was listed.
		return r.entry(dirfd, relDir, dirent{name: name, typ: ^os.FileMode(0)})
	}
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("opening %s: %w", rel, err))
	}
	it := item{fd: fd}
	defer func() { it.release() }() // whatever was not handed over
	if err := unix.Fstat(fd, &it.st); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	st := &it.st
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return r.entry(dirfd, relDir, dirent{name: name, typ: ^os.FileMode(0)})
	}
	if st.Nlink > 1 {
		id := fileID{dev: st.Dev, ino: st.Ino}
		if first, ok := r.links[id]; ok {
			hdr := header(st, rel, tar.TypeLink)
			hdr.Linkname = first
			return r.sendHeader(hdr)
		}
		r.links[id] = rel
	}
	it.hdr = header(st, rel, tar.TypeReg)
	it.hdr.Size = st.Size
	r.addXattrs(it.hdr, fd, "", rel)
	it.holes = st.Size > 0 && st.Blocks*512 < st.Size && hasHole(fd, st.Size)
	if it.holes {
		it.hdr.PAXRecords = withRecord(it.hdr.PAXRecords, "comment", sparseComment)
	}
	if st.Size <= smallFile && !it.holes {
		if err := r.readSmall(&it, rel); err != nil {
			return err
		}
	}
	err = r.send(it)
	it = item{fd: -1}
	return err
}

// readSmall reads a small file whole and closes it, so the writer gets its
// content ready.
func (r *reader) readSmall(it *item, rel string) error {
	buf := smallBufs.Get().(*[]byte)
	it.data = buf
	data := (*buf)[:it.hdr.Size]
	n, short := 0, false
	for n < len(data) {
		k, err := unix.Pread(it.fd, data[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if k == 0 {
			clear(data[n:]) // it shrank: the header promised the size
			short = true
			break
		}
		n += k
	}
	var after unix.Stat_t
	if err := unix.Fstat(it.fd, &after); err != nil {
		return fmt.Errorf("stat %s: %w", rel, err)
	}
	if short || changed(&it.st, &after) {
		r.rep.changedWhileRead(rel)
	}
	err := unix.Close(it.fd)
	it.fd = -1
	if err != nil {
		return fmt.Errorf("closing %s: %w", rel, err)
	}
	return nil
}

// hasHole reports whether the file has a hole before its end.
func hasHole(fd int, size int64) bool {
	off, err := unix.Seek(fd, 0, unix.SEEK_HOLE)
	return err == nil && off < size
}

// copyFile writes exactly size bytes of fd to the archive. Holes are written
// as zeros without reading them. A file that shrank is padded with zeros
// (short is then true): the header already promised size bytes.
func (wr *writer) copyFile(fd int, rel string, size int64, holes bool) (short bool, err error) {
	var off int64
	for off < size {
		if err := wr.ctx.Err(); err != nil {
			return false, err
		}
		end := size
		if holes {
			data, err := unix.Seek(fd, off, unix.SEEK_DATA)
			switch {
			case errors.Is(err, unix.ENXIO): // only a hole up to the end
				data = size
			case err != nil:
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			if data > off {
				if err := wr.zeros(min(data, size) - off); err != nil {
					return false, err
				}
				off = min(data, size)
				continue
			}
			hole, err := unix.Seek(fd, off, unix.SEEK_HOLE)
			if err != nil {
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			end = min(hole, size)
		}
		for off < end {
			want := min(int64(len(wr.buf)), end-off)
			n, err := unix.Pread(fd, wr.buf[:want], off)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return false, fmt.Errorf("reading %s: %w", rel, err)
			}
			if n == 0 {
				return true, wr.zeros(size - off)
			}
			if _, err := wr.tw.Write(wr.buf[:n]); err != nil {
				return false, err
			}
			off += int64(n)
		}
	}
	return false, nil
}

var zeroBlock [64 << 10]byte

func (wr *writer) zeros(n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroBlock)))
		if _, err := wr.tw.Write(zeroBlock[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (r *reader) symlink(dirfd int, rel, name string, st *unix.Stat_t) error {
	target, err := readlinkat(dirfd, name, st.Size)
	if err != nil {
		return r.vanishedOr(rel, fmt.Errorf("reading link %s: %w", rel, err))
	}
	hdr := header(st, rel, tar.TypeSymlink)
	hdr.Linkname = target
	r.addXattrs(hdr, -1, procPath(dirfd, name), rel)
	return r.sendHeader(hdr)
}

func readlinkat(dirfd int, name string, size int64) (string, error) {
	n := max(int(size)+1, 256)
	for {
		buf := make([]byte, n)
		k, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if k < n {
			return string(buf[:k]), nil
		}
		n *= 2
	}
}

func (r *reader) special(dirfd int, rel, name string, st *unix.Stat_t) error {
	typ := byte(tar.TypeFifo)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = tar.TypeChar
	case unix.S_IFBLK:
		typ = tar.TypeBlock
	}
	hdr := header(st, rel, typ)
	if typ != tar.TypeFifo {
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	}
	r.addXattrs(hdr, -1, procPath(dirfd, name), rel)
	return r.sendHeader(hdr)
}

// procPath names an entry of an open directory for the path-only xattr
// calls: the kernel resolves the directory from the descriptor, and the l*
// calls do not follow the last component.
func procPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

func header(st *unix.Stat_t, name string, typ byte) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(st.Mode & 0o7777),
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Format:   tar.FormatPAX,
	}
}

func withRecord(records map[string]string, k, v string) map[string]string {
	if records == nil {
		records = map[string]string{}
	}
	records[k] = v
	return records
}

// addXattrs adds the extended attributes of fd (or, when fd is -1, of the
// entry at path) as SCHILY.xattr records. A filesystem without them is
// normal; any other failure is a warning, not a reason to lose the file.
func (r *reader) addXattrs(hdr *tar.Header, fd int, path, rel string) {
	names, err := listXattrs(fd, path)
	if err != nil {
		if !errors.Is(err, unix.ENOTSUP) {
			r.rep.log.Warn("extended attributes not readable: entry archived without them", "entry", rel, "error", err)
		}
		return
	}
	for _, name := range names {
		value, err := getXattr(fd, path, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			r.rep.log.Warn("extended attribute not readable: entry archived without it", "entry", rel, "attribute", name, "error", err)
			continue
		}
		hdr.PAXRecords = withRecord(hdr.PAXRecords, "SCHILY.xattr."+name, string(value))
	}
}

func listXattrs(fd int, path string) ([]string, error) {
	list := func(buf []byte) (int, error) {
		if fd >= 0 {
			return unix.Flistxattr(fd, buf)
		}
		return unix.Llistxattr(path, buf)
	}
	var buf [1024]byte
	n, err := list(buf[:])
	raw := buf[:]
	for errors.Is(err, unix.ERANGE) {
		if n, err = list(nil); err != nil {
			return nil, err
		}
		raw = make([]byte, n*2)
		n, err = list(raw)
	}
	if err != nil || n == 0 {
		return nil, err
	}
	var names []string
	for _, name := range strings.Split(string(raw[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func getXattr(fd int, path, name string) ([]byte, error) {
	get := func(buf []byte) (int, error) {
		if fd >= 0 {
			return unix.Fgetxattr(fd, name, buf)
		}
		return unix.Lgetxattr(path, name, buf)
	}
	buf := make([]byte, 256)
	for {
		n, err := get(buf)
		if errors.Is(err, unix.ERANGE) {
			if n, err = get(nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n*2)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// vanishedOr turns "no such file" into a warning: the entry was deleted
// after its directory was listed, and the archive is of a tree without it.
func (r *reader) vanishedOr(rel string, err error) error {
	if errors.Is(err, unix.ENOENT) {
		r.rep.vanishedEntry(rel)
		return nil
	}
	return err
}

func displayName(rel string) string {
	if rel == "" {
		return "."
	}
	return path.Clean(rel)
}
