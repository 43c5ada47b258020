package filesystem

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// Counter counts the entries of a tar archive written into it, as the
// archive streams past (manifest.Contents). It reads the archive the way
// a restore does, with archive/tar, in a goroutine fed through a pipe, so
// it needs no memory beyond archive/tar's and holds nothing back: a Write
// returns when the counter has consumed the bytes. A malformed archive
// does not fail the writes; Finish reports it.
type Counter struct {
	pw   *io.PipeWriter
	done chan struct{}
	c    manifest.Contents
	err  error
}

var _ engine.ArchiveCounter = (*Counter)(nil)

// NewCounter starts a counter; Finish or Abort must be called.
func NewCounter() *Counter {
	pr, pw := io.Pipe()
	c := &Counter{pw: pw, done: make(chan struct{})}
	go c.run(pr)
	return c
}

// NewCounter counts a dump of this engine: a tar archive.
func (*Engine) NewCounter() engine.ArchiveCounter { return NewCounter() }

// errAborted ends a counter whose dump failed.
var errAborted = errors.New("the dump was abandoned")

func (c *Counter) run(pr *io.PipeReader) {
	defer close(c.done)
	err := c.read(tar.NewReader(pr))
	if err != nil {
		_ = pr.CloseWithError(err)
	} else {
		_, _ = io.Copy(io.Discard, pr) // the padding after the end-of-archive blocks
	}
	c.err = err
}

func (c *Counter) read(tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("counting the archive's entries: %w", err)
		}
		c.add(hdr)
	}
}

func (c *Counter) add(hdr *tar.Header) {
	switch hdr.Typeflag {
	case tar.TypeReg:
		c.c.Files++
		c.c.Bytes += hdr.Size
	case tar.TypeLink: // the engine writes hard links of regular files only
		c.c.Files++
	case tar.TypeDir:
		if p := path.Clean(hdr.Name); p != "." && p != "/" {
			c.c.Directories++
		}
	case tar.TypeSymlink:
		c.c.Symlinks++
	case tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
		c.c.Special++
	}
}

// Write hands p to the counting goroutine and always reports success: the
// dump must not fail because counting did.
func (c *Counter) Write(p []byte) (int, error) {
	_, _ = c.pw.Write(p) // fails only once counting stopped on an error Finish reports
	return len(p), nil
}

// Finish ends the archive and returns its counts, or why they could not be
// had (a malformed or truncated archive).
func (c *Counter) Finish() (manifest.Contents, error) {
	_ = c.pw.Close()
	<-c.done
	return c.c, c.err
}

// Abort stops counting a dump that failed.
func (c *Counter) Abort() {
	_ = c.pw.CloseWithError(errAborted)
	<-c.done
}
