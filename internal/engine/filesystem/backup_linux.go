package filesystem

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"

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
	prot := newProtection(t.Protected)
	if err := prot.checkInside(spec.Path); err != nil {
		return engine.Result{}, fmt.Errorf("backup of %s: %w", where, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rep := &report{log: e.log().With("target", t.Name(), "path", spec.Path)}
	items := make(chan []item, queued)
	r := &reader{ctx: ctx, ex: ex, prot: prot, rep: rep, out: items, links: map[fileID]string{}}
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

func releaseAll(items []item) {
	for _, it := range items {
		it.release()
	}
}
