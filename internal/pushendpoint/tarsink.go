package pushendpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"
)

// TarSinkOptions bound what a TarSink holds. The zero value means the
// defaults.
type TarSinkOptions struct {
	// MemoryPerFile is how much of a file pushed without Content-Length
	// is held in memory (default 4 MiB); the rest goes to a temporary file.
	MemoryPerFile int64
	// Spooling is how many such files are read at once (default 4); more
	// PUTs wait, their bodies unread, until one is written to the stream.
	Spooling int
	// TempDir holds the temporary files ("" is os.TempDir()).
	TempDir string
	// KeepSize and KeepTotal: files up to KeepSize (default 1 MiB) stay
	// readable for the rest of the session, up to KeepTotal in all
	// (default 16 MiB): the pusher may read back what it wrote (CockroachDB
	// reads its checkpoints and LATEST file). Larger files are streamed on
	// and forgotten; reading one answers ErrGone.
	KeepSize, KeepTotal int64
}

const (
	defaultMemoryPerFile = 4 << 20
	defaultSpooling      = 4
	defaultKeepSize      = 1 << 20
	defaultKeepTotal     = 16 << 20
)

// TarSink is the Files of a backup session: every file pushed is written to
// one PAX tar stream, as a regular file (mode 0600, modification time = when
// it arrived) named by its path in the session, in the order the files
// complete. Nothing else is in the archive.
//
// A file with a Content-Length is streamed straight into the archive while
// it arrives; files pushed concurrently wait for it. A file without one (all
// of CockroachDB's) is spooled first, since a tar header carries the size:
// memory use is at most Spooling×MemoryPerFile plus KeepTotal, and the disk
// holds at most Spooling files at once, each as large as the largest file
// pushed.
//
// A file pushed twice is in the archive twice, the later copy last: tar
// extraction keeps the last (ExtractTar does). A file deleted after it was
// streamed stays in the archive (counted in TarStats.Stale): the archive
// cannot take back what it wrote.
//
// When writing to the stream fails, or a pushed file ends before its
// Content-Length, the archive is broken: every later Put fails, and so does
// Close.
type TarSink struct {
	opts  TarSinkOptions
	slots chan struct{}

	// tarMu serialises the archive's entries.
	tarMu sync.Mutex
	tw    *tar.Writer
	out   *recordingWriter

	mu        sync.Mutex
	err       error
	closed    bool
	kept      map[string]keptFile
	keptBytes int64
	streamed  map[string]bool
	stats     TarStats
}

// TarStats counts what a TarSink wrote.
type TarStats struct {
	// Files is the number of entries written, Bytes their total size.
	Files int
	Bytes int64
	// Stale counts files deleted after they were streamed.
	Stale int
}

type keptFile struct {
	data    []byte
	modTime time.Time
}

var _ Files = (*TarSink)(nil)

// NewTarSink returns a sink that writes the tar stream to w.
func NewTarSink(w io.Writer, opts TarSinkOptions) *TarSink {
	if opts.MemoryPerFile <= 0 {
		opts.MemoryPerFile = defaultMemoryPerFile
	}
	if opts.Spooling <= 0 {
		opts.Spooling = defaultSpooling
	}
	if opts.KeepSize <= 0 {
		opts.KeepSize = defaultKeepSize
	}
	if opts.KeepTotal <= 0 {
		opts.KeepTotal = defaultKeepTotal
	}
	out := &recordingWriter{w: w}
	return &TarSink{
		opts:     opts,
		slots:    make(chan struct{}, opts.Spooling),
		tw:       tar.NewWriter(out),
		out:      out,
		kept:     map[string]keptFile{},
		streamed: map[string]bool{},
	}
}

// errSinkClosed: a PUT after the backup ended.
var errSinkClosed = errors.New("the backup stream is closed")

// Put writes the file to the archive.
func (s *TarSink) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := s.usable(); err != nil {
		return err
	}
	if size >= 0 {
		return s.putSized(name, r, size)
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	sp := &spool{limit: s.opts.MemoryPerFile, dir: s.opts.TempDir}
	defer sp.close()
	if err := sp.fill(r); err != nil {
		return fmt.Errorf("receiving %s: %w", name, err)
	}
	content, err := sp.content()
	if err != nil {
		return err
	}
	var keep []byte
	if data, ok := sp.inMemory(); ok && int64(len(data)) <= s.opts.KeepSize {
		keep = data
	}
	return s.entry(name, content, sp.size, keep)
}

// putSized streams a file of known size into the archive as it arrives.
func (s *TarSink) putSized(name string, r io.Reader, size int64) error {
	var keep *bytes.Buffer
	if size <= s.opts.KeepSize {
		keep = &bytes.Buffer{}
		r = io.TeeReader(r, keep)
	}
	if err := s.entry(name, r, size, nil); err != nil {
		return err
	}
	if keep != nil {
		s.keep(name, keep.Bytes(), time.Now())
	}
	return nil
}

// entry writes one archive entry of size bytes read from r, and keeps data
// for reading when it is set.
func (s *TarSink) entry(name string, r io.Reader, size int64, data []byte) error {
	s.tarMu.Lock()
	defer s.tarMu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	now := time.Now()
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     size,
		Mode:     0o600,
		ModTime:  now,
		Format:   tar.FormatPAX,
	}
	if err := s.tw.WriteHeader(hdr); err != nil {
		return s.broken(fmt.Errorf("writing the archive: %w", err))
	}
	n, err := io.Copy(s.tw, io.LimitReader(r, size))
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	switch {
	case s.out.err != nil:
		return s.broken(fmt.Errorf("writing %s to the archive: %w", name, s.out.err))
	case err != nil:
		// Half an entry is in the stream: nothing can follow it.
		return s.broken(fmt.Errorf("%s broke off after %d of its %d bytes, inside the archive: %w", name, n, size, err))
	}
	if err := s.tw.Flush(); err != nil {
		return s.broken(fmt.Errorf("writing the archive: %w", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Files++
	s.stats.Bytes += size
	s.streamed[name] = true
	s.forgetLocked(name)
	if data != nil {
		s.keepLocked(name, data, now)
	}
	return nil
}

// keep makes data readable as name, within the limits.
func (s *TarSink) keep(name string, data []byte, modTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepLocked(name, data, modTime)
}

func (s *TarSink) keepLocked(name string, data []byte, modTime time.Time) {
	s.forgetLocked(name)
	if s.keptBytes+int64(len(data)) > s.opts.KeepTotal {
		return
	}
	s.kept[name] = keptFile{data: data, modTime: modTime}
	s.keptBytes += int64(len(data))
}

func (s *TarSink) forgetLocked(name string) {
	if k, ok := s.kept[name]; ok {
		s.keptBytes -= int64(len(k.data))
		delete(s.kept, name)
	}
}

// usable is the error that stops further writes, if any.
func (s *TarSink) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errSinkClosed
	}
	return nil
}

// broken records that the archive cannot be continued.
func (s *TarSink) broken(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	return err
}

// Open reads a kept file back.
func (s *TarSink) Open(name string) (File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.kept[name]; ok {
		return &memFile{Reader: bytes.NewReader(k.data), modTime: k.modTime}, nil
	}
	if s.streamed[name] {
		return nil, ErrGone
	}
	return nil, fs.ErrNotExist
}

// Delete forgets a file. One already streamed stays in the archive.
func (s *TarSink) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.streamed[name] {
		return fs.ErrNotExist
	}
	delete(s.streamed, name)
	s.forgetLocked(name)
	s.stats.Stale++
	return nil
}

// Close ends the archive. It fails when the archive is broken. Close the
// session first, so that no Put runs any more.
func (s *TarSink) Close() error {
	s.tarMu.Lock()
	defer s.tarMu.Unlock()
	if err := s.usable(); err != nil {
		if errors.Is(err, errSinkClosed) {
			return nil
		}
		return err
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if err := s.tw.Close(); err != nil {
		return s.broken(fmt.Errorf("ending the archive: %w", err))
	}
	return nil
}

// Err is the error that broke the archive, if any.
func (s *TarSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stats counts what was written so far.
func (s *TarSink) Stats() TarStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// recordingWriter keeps the first error of the writer it wraps, to tell the
// stream's failures from the pusher's.
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// memFile is a kept file, open for reading.
type memFile struct {
	*bytes.Reader
	modTime time.Time
}

func (f *memFile) Close() error       { return nil }
func (f *memFile) ModTime() time.Time { return f.modTime }
